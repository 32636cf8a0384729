"""The posterior file: loading, hash check, weighted draws; projections with it vs the mean-only switch."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from sim.calibration.abc import ParamSpace
from sim.calibration.calibrate import write_posterior_files
from sim.data.posterior import POSTERIOR_CSV, PosteriorError, load_posterior
from sim.model.params import BehaviourParams


@pytest.fixture()
def small_posterior(tmp_path):
    """Five sets inside the prior box, unequal weights (the last one weight 0)."""
    import pandas as pd

    space = ParamSpace.from_priors()
    u = np.random.default_rng(0).random((5, space.dim))
    frame = pd.DataFrame(space.values(u), columns=list(space.names))
    frame.insert(0, "param_set", range(5))
    frame["weight"] = [0.4, 0.3, 0.2, 0.1, 0.0]
    csv, _ = write_posterior_files(frame, tmp_path / "posterior.csv", {"seed": 9, "git": {"commit": "abc"}})
    return csv, frame


def test_posterior_loads_and_matches_its_hash(small_posterior):
    csv, frame = small_posterior
    post = load_posterior(csv)
    assert len(post) == 5
    assert post.names == [c for c in frame.columns if c not in ("param_set", "weight")]
    assert post.sha256 == json.loads(csv.with_suffix(".json").read_text())["posterior_csv"]["sha256"]
    d = post.describe()
    assert d["seed"] == 9 and d["sets"] == 5 and d["commit"] == "abc"
    assert all(isinstance(p, BehaviourParams) for p in post.param_sets())


def test_tampered_or_missing_files_are_refused(small_posterior, tmp_path):
    csv, _ = small_posterior
    bad = tmp_path / "tampered"
    bad.mkdir()
    shutil.copy(csv, bad / "posterior.csv")
    shutil.copy(csv.with_suffix(".json"), bad / "posterior.json")
    text = (bad / "posterior.csv").read_text()
    (bad / "posterior.csv").write_text(text.replace("0.4", "0.5", 1))  # one weight edited by hand
    with pytest.raises(PosteriorError, match="does not match its provenance"):
        load_posterior(bad / "posterior.csv")
    (bad / "posterior.json").unlink()
    with pytest.raises(PosteriorError, match="missing"):
        load_posterior(bad / "posterior.csv")
    with pytest.raises(PosteriorError, match="make calibrate"):
        load_posterior(tmp_path / "nowhere" / "posterior.csv")


def test_mean_and_draws_follow_the_weights(small_posterior):
    csv, frame = small_posterior
    post = load_posterior(csv)
    w = np.array([0.4, 0.3, 0.2, 0.1, 0.0])
    m = post.mean()
    assert m.bunching_prob == pytest.approx(float(frame["bunching_prob"] @ w))
    assert m.spinoff_share == BehaviourParams().spinoff_share  # not calibrated: default kept
    rng = np.random.default_rng(1)
    picks = post.pick(rng, size=4000)
    assert 4 not in picks  # weight 0: never drawn
    assert np.mean(picks == 0) == pytest.approx(0.4, abs=0.03)  # 3 standard errors at n = 4000
    assert post.draw(np.random.default_rng(2)) == post.draw(np.random.default_rng(2))
    with pytest.raises(ValueError):
        post.pick(None)


def test_committed_posterior_is_valid():
    if not POSTERIOR_CSV.is_file():
        pytest.skip("no committed posterior yet: run `make calibrate`")
    post = load_posterior()
    # >= 200 particles (the ABC's n_keep), merged into distinct sets with their counts as weights
    assert post.provenance["posterior"]["particles"] >= 200 and len(post) >= 100
    assert set(post.names) == set(BehaviourParams.calibrated_names())
    space = ParamSpace.from_priors(post.names)
    x = post.table.to_numpy()
    assert np.all(x >= space.lo) and np.all(x <= space.hi)  # inside the prior box
    assert post.ess > 20
    assert post.describe()["fit_targets_sha256"]


# --------------------------------------------------------------------------- projections
N_REPLICATES = 16
PROJECTION_SCALE = 0.1
HEADLINE = ("T01", "T02", "T03", "T04", "T05")


def _projections(post, mean_only: bool) -> dict[str, np.ndarray]:
    """T01-T05 in 2026 for replicates 0..N-1; replicate i draws its set (by weight) and seed from i."""
    from sim.model.evaluate import ModelRun, evaluate

    mean = post.mean()
    out = {k: [] for k in HEADLINE}
    for i in range(N_REPLICATES):
        pick, seed = np.random.SeedSequence([0, i]).spawn(2)
        params = mean if mean_only else post.draw(np.random.default_rng(pick))
        model_seed = int(seed.generate_state(1)[0])
        annual = evaluate(
            ModelRun(params=params, seed=model_seed, end_year=2026, scale=PROJECTION_SCALE)
        ).frame()
        for k in HEADLINE:
            out[k].append(float(annual.loc[2026, k]))
    return {k: np.array(v) for k, v in out.items()}


@pytest.mark.slow
def test_posterior_projections_differ_in_spread_not_in_centre():
    """Drawing a set per replicate widens the 2026 spread; the centre stays near the mean-only one.

    Same seeds in both arms (common random numbers). Spread: the posterior arm's sd exceeds
    the mean-only arm's for most headline indicators and in total. Centre: the medians differ
    by less than 0.75 of the posterior arm's sd (about 2 standard errors of a median of 16 draws,
    1.25 sd / 4, plus room for Jensen's gap: the mean set is not the median projection).
    """
    if not POSTERIOR_CSV.is_file():
        pytest.skip("no committed posterior yet: run `make calibrate`")
    post = load_posterior()
    drawn = _projections(post, mean_only=False)
    mean_only = _projections(post, mean_only=True)
    wider = 0
    ratio_sum = 0.0
    for k in HEADLINE:
        sd_post, sd_mean = drawn[k].std(ddof=1), mean_only[k].std(ddof=1)
        wider += sd_post > sd_mean
        ratio_sum += np.log(sd_post / sd_mean)
        gap = abs(np.median(drawn[k]) - np.median(mean_only[k]))
        assert gap < 0.75 * sd_post, (k, gap, sd_post)
    assert wider >= 4, "parameter uncertainty should widen the spread of most headline indicators"
    assert ratio_sum > 0
