"""Ensembles: replicate seeding, common random numbers, process pool, summary schema."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from sim.data.posterior import PROJECTION_ONLY
from sim.model.outcomes import HEADLINE, TARGETS
from sim.model.params import FIRST_YEAR, REGISTRY_FIRST_YEAR, BehaviourParams
from sim.model.policy import scenario
from sim.pipeline import ensemble, report

SCALE = 0.03  # a few hundred firms: fast, still exercises every rule


@pytest.fixture(scope="module")
def plan_results():
    plan = ensemble.plan_replicates(0, range(4))
    return ensemble.run_ensemble(scenario("plan"), plan, scale=SCALE, jobs=1, progress=False)


# --------------------------------------------------------------------------- seeding
def test_replicate_draws_depend_only_on_seed_and_index():
    whole = ensemble.plan_replicates(7, range(10), n_param_sets=5)
    block = ensemble.plan_replicates(7, range(4, 8), n_param_sets=5)
    assert block == whole[4:8]  # a run split into blocks is the same ensemble
    assert len({r.seed for r in whole}) == 10
    assert [r.seed for r in ensemble.plan_replicates(8, range(10), 5)] != [r.seed for r in whole]


def test_model_seed_does_not_depend_on_the_number_of_parameter_sets():
    one = ensemble.plan_replicates(0, range(20), n_param_sets=1)
    many = ensemble.plan_replicates(0, range(20), n_param_sets=50)
    assert [r.seed for r in one] == [r.seed for r in many]
    assert {r.param_set for r in one} == {0}
    assert len({r.param_set for r in many}) > 5 and max(r.param_set for r in many) < 50


def test_seeds_fit_int64():
    plan = ensemble.plan_replicates(2**40, range(1000))
    assert all(0 <= r.seed < 2**63 for r in plan)


def test_effects_table_records_the_calibrated_effects_a_run_used():
    """``effects.csv``: the drawn effects, except the calibrated ones, which come from each replicate's set."""
    from sim.model.params import BehaviourParams
    from sim.model.policy import calibrated_effects

    sets = [BehaviourParams(incubator_growth_boost=0.01), BehaviourParams(incubator_growth_boost=0.11)]
    plan = ensemble.plan_replicates(3, range(6), n_param_sets=2)
    table = ensemble.effects_table(plan, "sampled", sets).set_index(["replicate", "effect"])["value"]
    drawn = ensemble.effects_table(plan, "sampled").set_index(["replicate", "effect"])["value"]
    for rep in plan:
        assert table[(rep.index, "incubators.growth_boost")] == sets[rep.param_set].incubator_growth_boost
        assert (
            table[(rep.index, "voucher_budget.additionality")]
            == drawn[(rep.index, "voucher_budget.additionality")]
        )
    differs = table != drawn
    assert set(differs[differs].index.get_level_values("effect")) <= set(calibrated_effects())


# --------------------------------------------------------------------------- running
def test_tidy_columns(plan_results):
    assert list(plan_results.columns) == ensemble.COLUMNS
    assert sorted(plan_results["replicate"].unique()) == [0, 1, 2, 3]
    assert set(HEADLINE) <= set(plan_results["indicator"])
    years = sorted(plan_results["year"].unique())
    assert years[0] <= 2019 and years[-1] == 2026
    per = plan_results.groupby(["replicate", "indicator"]).size()
    assert per.nunique() == 1  # every replicate has every year of every indicator


def test_same_replicate_same_numbers_different_replicates_differ(plan_results):
    again = ensemble.run_ensemble(
        scenario("plan"), ensemble.plan_replicates(0, range(2, 3)), scale=SCALE, jobs=1, progress=False
    )
    pd.testing.assert_frame_equal(
        plan_results[plan_results["replicate"] == 2].reset_index(drop=True), again.reset_index(drop=True)
    )
    t01 = plan_results[(plan_results["indicator"] == "T01") & (plan_results["year"] == 2026)]["value"]
    assert t01.nunique() > 1


def test_process_pool_gives_the_same_results(plan_results):
    pooled = ensemble.run_ensemble(
        scenario("plan"), ensemble.plan_replicates(0, range(4)), scale=SCALE, jobs=2, progress=False
    )
    pd.testing.assert_frame_equal(plan_results, pooled)


def test_common_random_numbers_across_scenarios(plan_results):
    """A lever that acts from 2024 leaves 2019-2023 of every replicate untouched."""
    frozen = ensemble.run_ensemble(
        scenario("frozen_2023"), ensemble.plan_replicates(0, range(4)), scale=SCALE, jobs=1, progress=False
    )
    key = ["replicate", "year", "indicator"]
    both = plan_results.merge(frozen, on=key, suffixes=("_plan", "_frozen"))
    assert (both["seed_plan"] == both["seed_frozen"]).all()
    hist = both[(both["year"] <= 2023) & both["indicator"].isin(HEADLINE)]
    np.testing.assert_allclose(hist["value_plan"], hist["value_frozen"], equal_nan=True)
    late = both[(both["year"] == 2026) & (both["indicator"] == "T01")]
    assert not np.allclose(late["value_plan"], late["value_frozen"])


def test_parameter_sets_are_used(tmp_path):
    base = BehaviourParams()
    sets = [base, replace(base, contract_rate=2 * base.contract_rate)]
    plan = [ensemble.Replicate(0, 123, 0, 7), ensemble.Replicate(1, 123, 1, 7)]
    res = ensemble.run_ensemble(scenario("plan"), plan, param_sets=sets, scale=SCALE, progress=False)
    t01 = res[(res["indicator"] == "T01") & (res["year"] == 2026)].set_index("param_set")["value"]
    assert t01[1] > t01[0]  # twice the contract rate, same seed: more turnover


def test_load_param_sets_without_a_posterior():
    none = ensemble.load_param_sets("none")
    assert none.sets == [BehaviourParams()] and none.weights is None
    assert none.note.startswith(ensemble.UNCALIBRATED) and not none.calibrated
    fixed = ensemble.load_param_sets("none", replace(BehaviourParams(), patent_lapse=0.05))
    assert fixed.sets[0].patent_lapse == 0.05
    default = ensemble.load_param_sets("default")
    assert len(default) >= 1 and default.note and default.calibrated


def _write_posterior(folder, frame):
    """A posterior as ``python -m sim.calibrate`` writes it: csv plus json with the csv's sha256."""
    import hashlib

    csv = folder / "posterior.csv"
    frame.to_csv(csv, index=False)
    digest = hashlib.sha256(csv.read_bytes()).hexdigest()
    (folder / "posterior.json").write_text(
        json.dumps({"posterior_csv": {"file": csv.name, "sha256": digest}})
    )
    return csv


def test_load_param_sets_from_a_posterior(tmp_path):
    pytest.importorskip("sim.data.posterior")
    csv = _write_posterior(
        tmp_path,
        pd.DataFrame(
            {"param_set": [0, 1, 2], "bunching_prob": [0.15, 0.25, 0.30], "weight": [0.2, 0.3, 0.5]}
        ),
    )
    ps = ensemble.load_param_sets(str(csv), replace(BehaviourParams(), patent_lapse=0.05))
    k = ensemble.PROJECTION_DRAWS  # each set k times, its projection-only parameters drawn from their priors
    assert [s.bunching_prob for s in ps.sets] == [0.15] * k + [0.25] * k + [0.30] * k
    assert ps.weights == pytest.approx([0.2 / k] * k + [0.3 / k] * k + [0.5 / k] * k)
    for name in PROJECTION_ONLY:
        lo, hi = BehaviourParams.__dataclass_fields__[name].metadata["prior"]
        drawn = [getattr(s, name) for s in ps.sets]
        assert all(lo <= v <= hi for v in drawn) and len(set(drawn)) == len(drawn), name
    again = ensemble.load_param_sets(str(csv), replace(BehaviourParams(), patent_lapse=0.05))
    assert again.sets == ps.sets  # a fixed seed: the same posterior gives the same sets
    # a projection-only parameter fixed by override is not drawn
    fixed = ensemble.load_param_sets(str(csv), replace(BehaviourParams(), national_growth_longrun=0.1))
    assert {s.national_growth_longrun for s in fixed.sets} == {0.1}
    assert all(s.patent_lapse == 0.05 for s in ps.sets)  # an override fixes that parameter in every set
    assert "patent_lapse" in ps.note and ps.info["sha256"]
    # replicates pick sets by weight
    plan = ensemble.plan_replicates(0, range(2000), len(ps), ps.weights)
    share = np.bincount([r.param_set // k for r in plan], minlength=3) / 2000  # set of each draw
    assert share == pytest.approx([0.2, 0.3, 0.5], abs=0.04)
    # an edited csv is refused, with a message
    csv.write_text(csv.read_text().replace("0.15", "0.16"))
    with pytest.raises(ensemble.PosteriorUnavailable, match="provenance"):
        ensemble.load_param_sets(str(csv))


@pytest.mark.parametrize("jobs", [1, 2])
def test_failed_replicate_is_named(jobs):
    """A replicate that fails in this process or in a worker is named with its seed and parameter set."""
    base = BehaviourParams()
    broken = "not a parameter set"  # the model fails on it, in whichever process runs the replicate
    plan = ensemble.plan_replicates(0, range(3), n_param_sets=1)
    plan[1] = replace(plan[1], param_set=1)
    with pytest.raises(RuntimeError) as info:
        ensemble.run_ensemble(
            scenario("plan"),
            plan,
            param_sets=[base, broken],
            scale=SCALE,
            end_year=2020,
            jobs=jobs,
            progress=False,
        )
    r = plan[1]
    assert str(info.value).startswith(f"replicate 1 (seed {r.seed}, parameter set 1) failed: AttributeError")


# --------------------------------------------------------------------------- summary
def test_wilson_interval():
    lo, hi = report.wilson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-3)
    lo, hi = report.wilson(5, 10)
    assert (lo, hi) == (pytest.approx(0.2366, abs=1e-3), pytest.approx(0.7634, abs=1e-3))
    lo, hi = report.wilson(100, 200)  # 200 replicates: +-0.07 at p = 0.5 (the precision)
    assert hi - 0.5 == pytest.approx(0.068, abs=2e-3)


def _config(**kw):
    base = {
        "scenario": "plan",
        "policy": {**scenario("plan").__dict__},
        "replicates": 4,
        "seed": 0,
        "end_year": 2026,
        "scale": SCALE,
        "jobs": 1,
        "replicate_block": 0,
        "posterior": "none",
        "first_replicate": 0,
        "params": BehaviourParams().__dict__,
    }
    base.update(kw)
    return base


def test_summary_schema(plan_results):
    s = report.summarise(
        plan_results, config=_config(), fingerprint="abc", posterior=ensemble.load_param_sets("none")
    )
    json.dumps(s, allow_nan=False)
    assert (s["scenario"], s["replicates"], s["seed"]) == ("plan", 4, 0)
    assert set(HEADLINE) <= set(s["indicators"])
    units = {"T01": "亿元", "T02": "firms", "T03": "firms", "T04": "patents", "T05": "percent"}
    for tid in HEADLINE:
        ind = s["indicators"][tid]
        assert set(ind) == {"name", "unit", "target", "target_year", "by_year", "p_reach", "p_reach_ci95"}
        assert ind["unit"] == units[tid] and ind["target"] == TARGETS[tid].target
        assert list(ind["by_year"]) == [str(y) for y in range(FIRST_YEAR, 2027)]
        for year, stats in ind["by_year"].items():
            assert set(stats) == {"mean", "p05", "p50", "p95"}
            if tid == "T02" and int(year) < REGISTRY_FIRST_YEAR:  # no registry yet: no value
                assert set(stats.values()) == {None}
                continue
            assert stats["p05"] <= stats["p50"] <= stats["p95"]
        assert 0.0 <= ind["p_reach"] <= 1.0
        lo, hi = ind["p_reach_ci95"]
        assert 0.0 <= lo <= ind["p_reach"] <= hi <= 1.0
    t05 = s["indicators"]["T05"]["by_year"]["2026"]["p50"]
    assert 1.0 < t05 < 100.0  # percent, not a share
    assert "provenance" in s and "fingerprint" not in s["indicators"]
    assert s["levers_changed"] == {}


def test_p_reach_is_the_share_above_the_target():
    """The plan's targets are to exceed (突破) a level: a value equal to the target does not reach it."""
    rows = [
        {"replicate": r, "seed": r, "param_set": 0, "year": 2026, "indicator": tid, "value": v}
        for tid in HEADLINE
        for r, v in enumerate([TARGETS[tid].target - 1, TARGETS[tid].target, TARGETS[tid].target + 1, 0])
    ]
    s = report.summarise(pd.DataFrame(rows), config=_config(), fingerprint="x")
    assert all(s["indicators"][t]["p_reach"] == 0.25 for t in HEADLINE)
    table = report.targets_table(s)
    assert "| > 6,000 (2026) |" in table and ">=" not in table and "value > target" in table


def test_summary_statistics_of_a_hand_built_table():
    """by_year holds the mean, 5th, 50th and 95th percentiles (linear interpolation, numpy's default).

    101 replicates with values 0, 1, ..., 99 and 1000: sorted, the q-quantile is the value at
    position 100 q, so p05 = 5, p50 = 50, p95 = 95; the mean is (4950 + 1000) / 101 (the outlier
    pulls it away from the median). A replicate with NaN is left out.
    """
    values = [*range(100), 1000, float("nan")]
    rows = [
        {"replicate": r, "seed": r, "param_set": 0, "year": year, "indicator": tid, "value": v}
        for tid in HEADLINE
        for year in (2025, 2026)
        for r, v in enumerate(values)
    ]
    s = report.summarise(pd.DataFrame(rows), config=_config(), fingerprint="x")
    for tid in HEADLINE:
        for year in ("2025", "2026"):
            stats = s["indicators"][tid]["by_year"][year]
            assert stats == {"mean": 5950 / 101, "p05": 5.0, "p50": 50.0, "p95": 95.0}, (tid, year, stats)
    table = report.targets_table(s)
    assert "| 50.0 % | 5.0 % – 95.0 % |" in table  # T05: median, then the 90 % interval p05 – p95


def test_no_p_reach_when_the_target_year_is_not_simulated():
    rows = [
        {"replicate": 0, "seed": 0, "param_set": 0, "year": 2025, "indicator": tid, "value": 1.0}
        for tid in HEADLINE
    ]
    s = report.summarise(pd.DataFrame(rows), config=_config(end_year=2025), fingerprint="x")
    assert s["indicators"]["T01"]["p_reach"] is None
    assert "n/a" in report.targets_table(s)


def test_targets_table_has_a_row_per_headline_target(plan_results):
    s = report.summarise(
        plan_results,
        config=_config(policy={**scenario("plan").__dict__, "voucher_budget": 3.0}),
        fingerprint="x",
    )
    table = report.targets_table(s)
    rows = [ln for ln in table.splitlines() if ln.startswith("| T")]
    assert [r.split()[1] for r in rows] == HEADLINE
    assert "voucher_budget=3.0" in table


# --------------------------------------------------------------------------- defaults and the tidy table
def test_python_entry_points_default_to_the_calibrated_posterior():
    """``run_ensemble(levers, plan_replicates(seed, indices))`` is what ``python -m sim`` runs
    (posterior=default: sets drawn by weight), not the uncalibrated defaults."""
    posterior = ensemble.load_param_sets("default")
    assert len(posterior) > 1, "the committed posterior has several sets"
    plan = ensemble.plan_replicates(0, range(3))
    assert plan == ensemble.plan_replicates(0, range(3), len(posterior), posterior.weights)
    kw = dict(scale=SCALE, end_year=2021, progress=False)
    by_default = ensemble.run_ensemble(scenario("plan"), plan, **kw)
    explicit = ensemble.run_ensemble(scenario("plan"), plan, param_sets=posterior, **kw)
    pd.testing.assert_frame_equal(by_default, explicit)
    uncalibrated = ensemble.run_ensemble(
        scenario("plan"), plan, param_sets=[BehaviourParams()] * len(posterior), **kw
    )
    assert not np.allclose(by_default["value"], uncalibrated["value"], equal_nan=True)
    # a count of replicates draws sets by the posterior's weights too
    counted = ensemble.run_ensemble(scenario("plan"), 3, seed=0, **kw)
    pd.testing.assert_frame_equal(counted, by_default)


def test_tidy_table_equals_a_per_replicate_melt(plan_results):
    """The table built once from arrays has the rows, order and types of melting each replicate's table."""
    from sim.model.evaluate import ModelRun, evaluate

    posterior = ensemble.load_param_sets("default")
    parts = []
    for rep in ensemble.plan_replicates(0, range(4)):
        run = ModelRun(
            scenario("plan"), posterior.sets[rep.param_set], ensemble.replicate_effects(rep), rep.seed, SCALE
        )
        annual = evaluate(run).frame()
        long = annual.reset_index().melt(id_vars="year", var_name="indicator", value_name="value")
        long.insert(0, "param_set", rep.param_set)
        long.insert(0, "seed", rep.seed)
        long.insert(0, "replicate", rep.index)
        parts.append(long[ensemble.COLUMNS])
    expected = pd.concat(parts, ignore_index=True)
    expected["year"] = expected["year"].astype("int64")
    pd.testing.assert_frame_equal(plan_results, expected)


def test_reach_all_counts_replicates_that_exceed_every_target():
    """Three replicates: r0 exceeds all five targets, r1 all but T03 (equal to it: not exceeded), r2 none.

    P(all five) = 1/3, not the product of the single P(reach) (2/3 each for four targets, 1/3 for T03).
    A fourth replicate with a NaN value is left out.
    """
    above = {tid: TARGETS[tid].target * 1.01 for tid in HEADLINE}
    values = [
        above,
        {**above, "T03": TARGETS["T03"].target},
        {tid: 0.0 for tid in HEADLINE},
        {**above, "T05": float("nan")},
    ]
    rows = [
        {"replicate": r, "seed": r, "param_set": 0, "year": year, "indicator": tid, "value": v[tid]}
        for r, v in enumerate(values)
        for tid in HEADLINE
        for year in (2025, 2026)
    ]
    results = pd.DataFrame(rows)
    got = report.reach_all(results)
    assert got["n"] == 3 and got["p_reach"] == pytest.approx(1 / 3)
    assert got["p_reach_ci95"] == pytest.approx(list(report.wilson(1, 3)))
    assert got["targets"] == list(HEADLINE)
    # the NaN is in T05 only: for T01 and T02 that replicate counts (and reaches both)
    assert report.reach_all(results, ["T01", "T02"])["p_reach"] == pytest.approx(3 / 4)
    assert report.reached_all(results).to_dict() == {0: True, 1: False, 2: False}
    no_2026 = report.reach_all(results[results["year"] < 2026])
    assert no_2026["p_reach"] is None and no_2026["n"] == 0


def test_reach_all_of_an_ensemble_is_at_most_each_single_reach(plan_results):
    p_all = report.reach_all(plan_results)["p_reach"]
    singles = [report.indicator_summary(plan_results, tid, 2026)["p_reach"] for tid in HEADLINE]
    assert p_all <= min(singles)


def test_public_cost_sums_2024_to_2026_per_replicate():
    """Replicate r spends r + 1 (亿元) on vouchers in every year 2019-2026: its cost is 3 (r + 1)."""
    rows = [
        {"replicate": r, "seed": r, "param_set": 0, "year": y, "indicator": col, "value": float(r + 1)}
        for r in range(3)
        for y in range(2019, 2027)
        for col in ("spend_voucher_budget", "spend_total")
    ]
    results = pd.DataFrame(rows)
    assert report.public_cost(results).to_dict() == {0: 3.0, 1: 6.0, 2: 9.0}
    assert report.public_cost(results, "spend_voucher_budget").equals(
        report.public_cost(results).rename("spend_voucher_budget")
    )
    s = report.spending_summary(results)
    assert s["total"]["total_2024_2026"]["p50"] == 6.0 and s["cost_years"] == [2024, 2026]
    assert s["instruments"]["voucher_budget"]["total_2024_2026"]["p50"] == 6.0
    before = report.public_cost(results[results["year"] <= 2023])
    assert before.isna().all() and len(before) == 3


def test_projection_only_parameters_move_nothing_before_2024_and_the_projection_after():
    """The premise of drawing them from their priors: every 2017-2023 output is bit-identical whatever their
    values (same seed), while the 2026 turnover moves with them (they are wired to the projection)."""
    from sim.model.evaluate import ModelRun, evaluate
    from sim.model.policy import central_effects

    meta = BehaviourParams.__dataclass_fields__
    low = replace(BehaviourParams(), **{n: meta[n].metadata["prior"][0] for n in PROJECTION_ONLY})
    high = replace(BehaviourParams(), **{n: meta[n].metadata["prior"][1] for n in PROJECTION_ONLY})
    a, b = (evaluate(ModelRun(None, p, central_effects(), 5, 0.03, 2026)).frame() for p in (low, high))
    pd.testing.assert_frame_equal(a.loc[:2023], b.loc[:2023], check_exact=True)
    assert b.loc[2026, "T01"] > 1.2 * a.loc[2026, "T01"]  # long-run national growth 0.076 vs 0.20 a year
