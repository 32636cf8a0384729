"""``sim.ema``: the model as an EMA Workbench ``Model``, declared from the project and run by the one evaluator."""

from __future__ import annotations

import warnings
from dataclasses import fields

import numpy as np
import pytest

from sim.model.evaluate import COST, INSTRUMENT_COSTS, ModelRun, evaluate
from sim.model.outcomes import HEADLINE, TARGETS
from sim.model.params import BehaviourParams, ConfigError
from sim.model.policy import PolicyLevers, effects_from_row, free_effect_fields

ema_workbench = pytest.importorskip("ema_workbench", reason="ema_workbench is in the studies extra")
from sim import ema  # noqa: E402

SCALE = 0.02  # a few hundred firms: every rule runs, a run takes a fraction of a second
NO_VOUCHERS, MANY_VOUCHERS = 0.0, 20.0  # voucher_budget, 亿元 a year


def test_levers_uncertainties_and_outcomes_come_from_the_declarations():
    model = ema.ema_model(scale=SCALE)
    levers = {p.name: p for p in model.levers}
    assert list(levers) == [f.name for f in fields(PolicyLevers)]
    for f in fields(PolicyLevers):
        p = levers[f.name]
        kind = ema_workbench.IntegerParameter if f.metadata["kind"] is int else ema_workbench.RealParameter
        assert isinstance(p, kind), f.name
        assert (p.lower_bound, p.upper_bound) == tuple(f.metadata["range"]) and p.default == f.default
    unc = {p.name: p for p in model.uncertainties}
    for name in BehaviourParams.calibrated_names():
        meta = next(f for f in fields(BehaviourParams) if f.name == name).metadata
        assert (unc[name].lower_bound, unc[name].upper_bound) == meta["prior"]
    for key, f in free_effect_fields():
        p = unc[key.replace(".", "__")]
        assert p.variable_name == [key] and (p.lower_bound, p.upper_bound) == f.metadata["range"]
    assert set(unc) == {
        *BehaviourParams.calibrated_names(),
        *(k.replace(".", "__") for k, _ in free_effect_fields()),
        "seed",
    }
    names = [o.name for o in model.outcomes]
    assert names == [
        *HEADLINE,
        *(f"{t}_reached" for t in HEADLINE),
        "all_reached",
        COST,
        *INSTRUMENT_COSTS.values(),
    ]
    kinds = {o.name: o.kind for o in model.outcomes}
    assert kinds[COST] == ema_workbench.ScalarOutcome.MINIMIZE
    assert all(kinds[t] == ema_workbench.ScalarOutcome.MAXIMIZE for t in HEADLINE)  # objectives for optimize
    central = ema.ema_model(scale=SCALE, effects="central")
    assert {p.name for p in central.uncertainties} == {*BehaviourParams.calibrated_names(), "seed"}


def test_posterior_particles_draw_sets_by_weight():
    assert ema.posterior_particles([1 / 3, 2 / 3]).tolist() == [0, 1, 1]
    uneven = np.sqrt(np.arange(1.0, 50.0))  # no whole number of particles matches these weights
    share = np.bincount(ema.posterior_particles(uneven, 1000), minlength=49) / 1000
    assert np.abs(share - uneven / uneven.sum()).max() <= 1 / 1000
    with pytest.raises(ValueError, match="non-negative"):
        ema.posterior_particles([0.5, -0.5])

    from sim.pipeline.ensemble import load_param_sets

    sets = load_param_sets("default")
    if sets.weights is None:
        pytest.skip("no calibrated posterior")
    model = ema.ema_model(scale=SCALE, behaviour="posterior")
    particle = next(p for p in model.uncertainties if p.name == "particle")
    table = model.function.param_sets
    assert particle.upper_bound == len(table) - 1
    index = ema.posterior_particles(sets.weights)
    assert len(index) == len(table) and all(t == sets.sets[k] for t, k in zip(table, index))
    counts = np.bincount(index, minlength=len(sets))
    np.testing.assert_array_equal(
        counts, np.round(np.asarray(sets.weights) * len(table))
    )  # ABC: counts / 300
    assert model.function.run(particle=5, seed=1).params is table[5]


@pytest.fixture(scope="module")
def experiment():
    """3 scenarios x 2 policies (no vouchers, many vouchers), run by EMA's own ``perform_experiments``."""
    model = ema.ema_model(scale=SCALE)
    policies = [
        ema_workbench.Policy("none", voucher_budget=NO_VOUCHERS),
        ema_workbench.Policy("many", voucher_budget=MANY_VOUCHERS),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # EMA's notes on its optional back-ends
        experiments, outcomes = ema_workbench.perform_experiments(model, scenarios=3, policies=policies)
    return model, experiments, outcomes


def test_a_small_experiment_gives_finite_outcomes_of_the_right_shape(experiment):
    model, experiments, outcomes = experiment
    assert len(experiments) == 6
    assert set(outcomes) == {o.name for o in model.outcomes}
    for name, values in outcomes.items():
        assert values.shape == (6,) and np.all(np.isfinite(values)), name
    for tid in HEADLINE:  # reach is the plan's 突破 (exceed) on the 2026 value
        np.testing.assert_array_equal(outcomes[f"{tid}_reached"], outcomes[tid] > TARGETS[tid].target)
    parts = np.sum([outcomes[c] for c in INSTRUMENT_COSTS.values()], axis=0)
    np.testing.assert_allclose(outcomes[COST], parts, rtol=1e-12)


def test_policies_share_each_scenario_and_the_voucher_lever_moves_voucher_spending(experiment):
    """Paired seeds: each scenario (its seed, effects and behaviour) is run under both policies. Vouchers
    cost nothing in 2024-26 with a zero budget and something with 20 亿元 a year, in every scenario."""
    _, experiments, outcomes = experiment
    none = (experiments["policy"] == "none").to_numpy()
    many = (experiments["policy"] == "many").to_numpy()
    inputs = [c for c in experiments.columns if c not in ("policy", "voucher_budget")]
    assert (
        experiments[none][inputs]
        .reset_index(drop=True)
        .equals(experiments[many][inputs].reset_index(drop=True))
    )
    assert experiments["seed"].nunique() == 3
    spent = outcomes["cost_voucher_budget"]
    assert np.all(spent[none] == 0) and np.all(spent[many] > 0)
    assert np.all(outcomes[COST][many] > outcomes[COST][none])


def test_an_experiment_is_the_one_evaluator_run_and_the_seed_matters(experiment):
    """Re-running a row of ``experiments`` gives its outcomes bit for bit, as ``evaluate`` of the same
    ``ModelRun`` does; another seed changes the outcomes."""
    model, experiments, outcomes = experiment
    row = experiments.drop(columns=["scenario", "policy", "model"]).iloc[4].to_dict()
    again = model.function(**row)
    assert all(again[k] == outcomes[k][4] for k in outcomes)
    effects = {k: row[k.replace(".", "__")] for k, _ in free_effect_fields()}
    params = {n: row[n] for n in BehaviourParams.calibrated_names()}
    direct = evaluate(
        ModelRun(
            PolicyLevers(voucher_budget=MANY_VOUCHERS),
            BehaviourParams(**params),
            effects_from_row(effects),
            int(row["seed"]),
            SCALE,
        )
    )
    assert direct.at(2026, HEADLINE).tolist() == [again[t] for t in HEADLINE]
    other = model.function(**{**row, "seed": int(row["seed"]) + 1})
    assert any(other[t] != again[t] for t in HEADLINE)


def test_bad_options_and_inputs_are_refused_naming_them():
    with pytest.raises(ConfigError, match="behaviour = 'wild': must be one of prior, posterior"):
        ema.ema_model(behaviour="wild")
    with pytest.raises(ConfigError, match="end_year = 2025: must be a whole number >= 2026"):
        ema.ema_model(end_year=2025)
    with pytest.raises(ConfigError, match="scale"):
        ema.ema_model(scale=0)
    function = ema.ema_model(scale=SCALE).function
    with pytest.raises(ConfigError, match=r"unknown input\(s\) \['vouchre_budget'\]"):
        function.run(vouchre_budget=1.0)
    with pytest.raises(ConfigError, match=r"policy.voucher_budget = 99.0: allowed range is \[0, 50\]"):
        function.run(voucher_budget=99.0)
