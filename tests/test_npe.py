"""The ABC-NPE comparison (``sim.calibration.npe``): its training set is the calibration's prior-box runs, NPE
recovers a known posterior, and bad input gets one line."""

from __future__ import annotations

import dataclasses
import gzip

import numpy as np
import pandas as pd
import pytest

from sim.calibration import npe
from sim.calibration.abc import ParamSpace
from sim.calibration.targets import OUTPUT_INDICATORS, OUTPUT_YEARS, FitTargets, outputs_from_annual


def fake_calibration(folder, space: ParamSpace, targets: FitTargets, rng) -> dict:
    """A calibration folder of 2 history-matching waves of 6 runs, a design round of 5 and an MCMC round of 4."""
    labels = targets.labels(fitted_only=True)
    k = len(labels)
    hm = {}
    for w in range(2):
        hm[f"u{w}"] = rng.random((6, space.dim))
        hm[f"log_sim{w}"] = rng.normal(size=(6, k))
    hm["log_sim1"][2, 0] = np.nan  # a failed run
    np.savez(folder / "history_matching.npz", labels=np.array(labels), nroy=rng.random((3, space.dim)), **hm)
    n = 9
    values = space.values(rng.random((n, space.dim)))
    runs = pd.DataFrame(values, columns=list(space.names))
    runs.insert(0, "round", [0] * 5 + [1] * 4)
    runs["distance"] = rng.random(n)
    with gzip.open(folder / "abc_runs.csv.gz", "wt") as fh:
        runs.to_csv(fh, index=False)
    outputs = rng.uniform(1.0, 2.0, size=(n, len(OUTPUT_INDICATORS), len(OUTPUT_YEARS)))
    outputs[3] = -1.0  # a design run with non-positive outputs: no log summary
    np.savez(folder / "abc_outputs.npz", outputs=outputs, pilot=outputs[:3], kept=np.arange(3))
    (folder / "posterior.csv").write_text("x\n1\n")
    (folder / "posterior.json").write_text("{}")
    (folder / "fit_summary.json").write_text("{}")
    return {"hm": hm, "values": values, "outputs": outputs}


def test_the_training_set_is_the_history_matching_waves_and_the_design_round(tmp_path):
    space, targets = ParamSpace.from_priors(), FitTargets.default()
    made = fake_calibration(tmp_path, space, targets, np.random.default_rng(0))
    theta, x, counts = npe.training_set(tmp_path, space, targets)
    # 12 wave runs less 1 failed, 5 design runs less 1 non-positive; the 4 MCMC runs are not proposals of the prior
    assert theta.shape == (15, space.dim) and x.shape == (15, int(targets.fitted.sum()))
    assert counts == {
        "history_matching_waves": 2,
        "history_matching_runs": 12,
        "design_runs": 5,
        "failed_or_nonpositive": 2,
        "training_runs": 15,
        "calibration_runs": 9 + 12 + 3,
    }
    np.testing.assert_array_equal(theta[:6], made["hm"]["u0"])
    np.testing.assert_allclose(theta[11:], space.unit(made["values"][[0, 1, 2, 4]]))
    design_x = np.log(targets.simulated(made["outputs"][[0, 1, 2, 4]])[:, targets.fitted])
    np.testing.assert_allclose(x[11:], design_x)
    assert (theta >= 0).all() and (theta <= 1).all()


def test_a_folder_of_other_data_points_or_files_is_refused(tmp_path):
    space, targets = ParamSpace.from_priors(), FitTargets.default()
    with pytest.raises(npe.InputError, match="history_matching.npz"):
        npe.training_set(tmp_path, space, targets)
    fake_calibration(tmp_path, space, targets, np.random.default_rng(0))
    older = FitTargets.default(through_year=2021)  # a backtest origin's points
    with pytest.raises(npe.InputError, match="fitted data points"):
        npe.training_set(tmp_path, space, older)


def test_width_ratios_are_one_for_the_prior_and_zero_for_a_point():
    space = ParamSpace.from_priors()
    rng = np.random.default_rng(1)
    prior = npe.width_ratios(space, rng.random((20000, space.dim)), np.ones(20000))
    assert prior.between(0.97, 1.03).all()  # sd of 20,000 uniforms: within 1 % of 1/sqrt(12)
    point = npe.width_ratios(space, np.full((10, space.dim), 0.3), np.ones(10))
    assert np.allclose(point, 0.0)
    # weights count: a set of weight 0 does not widen the posterior
    two = np.r_[np.full((1, space.dim), 0.2), np.full((1, space.dim), 0.8)]
    assert np.allclose(npe.width_ratios(space, two, np.array([1.0, 0.0])), 0.0)


def test_npe_recovers_a_known_posterior():
    """θ ~ U(0, 1)², x = θ + N(0, 0.05²): at x = (0.3, 0.7) the posterior is, to within the prior's edges (6 sd
    away), N(x, 0.05²). 3,000 simulations, a small flow: the posterior mean within 0.02 of x (0.4 sd: the flow's
    error, not sampling, dominates at 2,000 draws) and the sd within 30 % of 0.05."""
    pytest.importorskip("sbi")
    rng = np.random.default_rng(2)
    theta = rng.random((3000, 2))
    x = theta + rng.normal(0.0, 0.05, theta.shape)
    posterior = npe.train_npe(theta, x, seed=0, estimator="maf", max_num_epochs=200)
    draws = npe.sample_npe(posterior, np.array([0.3, 0.7]), 2000, seed=0)
    assert np.abs(draws.mean(axis=0) - [0.3, 0.7]).max() < 0.02
    assert np.all(np.abs(draws.std(axis=0) / 0.05 - 1) < 0.3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{missing}"], "no such folder"),
        (["{folder}", "--draws", "5"], "--draws = 5: allowed range is >= 20"),
        (["{folder}", "--jobs", "0"], "--jobs = 0: allowed range is >= 1"),
        (["{folder}", "--extra", "-1"], "--extra = -1: allowed range is >= 0"),
        (["{folder}", "--noise-runs", "5"], "--noise-runs = 5: allowed range is 0 or >= 20"),
        (["{folder}"], "history_matching.npz"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, args, message):
    folder = tmp_path / "cal"
    folder.mkdir()
    argv = [a.format(folder=folder, missing=tmp_path / "nope") for a in args]
    assert npe.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not list(folder.iterdir())


def test_central_effects_runs_differ_from_drawn_effects_runs_only_through_the_effects():
    """The band-width split's first source: a run with the lever effects at their centre is the evaluator's run
    with ``effects=None``; the calibration's own runs draw the effects from the seed, so the two differ."""
    from sim.calibration.abc import SimTask, simulate
    from sim.model.evaluate import ModelRun, evaluate
    from sim.model.params import BehaviourParams

    task = SimTask(BehaviourParams(), seed=4, scale=0.02, end_year=2019)
    central, err = simulate(dataclasses.replace(task, central_effects=True))
    assert err is None
    ref = evaluate(ModelRun(None, task.params, None, task.seed, task.scale, task.end_year)).frame()
    targets = FitTargets.default()
    np.testing.assert_array_equal(central, outputs_from_annual(ref))
    drawn, _ = simulate(task)
    assert not np.array_equal(np.nan_to_num(central), np.nan_to_num(drawn))
    assert targets.simulated(central).shape == (len(targets),)
