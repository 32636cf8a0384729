"""The one evaluator: a ``ModelRun`` in, the run's ``Indicators`` out; the 2024-26 public cost defined once."""

from __future__ import annotations

import pickle

import mesa
import numpy as np
import pandas as pd
import pytest

from sim.model import InnovationModel
from sim.model.evaluate import (
    COST_YEARS,
    INSTRUMENT_COSTS,
    Indicators,
    ModelRun,
    evaluate,
    period_sum,
    release,
)
from sim.model.outcomes import HEADLINE, SPENDING
from sim.model.params import FIRST_YEAR
from sim.model.policy import sample_effects, scenario
from sim.pipeline import ensemble, report

SCALE = 0.02  # a few hundred firms: fast, every rule runs


@pytest.fixture(scope="module")
def run():
    return ModelRun(scenario("plan"), None, sample_effects(7), 3, SCALE)


@pytest.fixture(scope="module")
def out(run):
    return evaluate(run)


def test_the_annual_table_is_the_models_own(run, out):
    model = InnovationModel(run.levers, run.params, run.seed, run.end_year, run.scale, effects=run.effects)
    try:
        expected = model.run().annual_indicators()
    finally:
        release(model)
    pd.testing.assert_frame_equal(out.frame(), expected, check_exact=True)
    assert out.years.tolist() == list(range(FIRST_YEAR - 1, 2027))
    assert len(pickle.dumps(out)) < 10_000  # plain arrays: cheap to send back from a worker


def test_evaluate_releases_the_model():
    """Mesa 3.3.1 keeps every model in Agent._ids until released (mesa#3179)."""
    before = len(mesa.Agent._ids)
    evaluate(ModelRun(seed=1, scale=SCALE, end_year=2019))
    assert len(mesa.Agent._ids) == before


def test_values_in_a_year_and_a_selection(out):
    frame = out.frame()
    assert out.at(2026, HEADLINE).tolist() == frame.loc[2026, HEADLINE].tolist()
    sub = out.select(["T03", "T01"])
    assert sub.names == ("T03", "T01") and np.array_equal(
        sub.values, frame[["T03", "T01"]].to_numpy(), equal_nan=True
    )
    with pytest.raises(KeyError, match="no year 2030"):
        out.at(2030, HEADLINE)
    with pytest.raises(KeyError, match="no indicator \\['T99'\\]"):
        out.at(2026, ["T99"])


def test_public_cost_is_spending_summed_over_2024_to_2026(out):
    frame = out.frame()
    assert COST_YEARS == (2024, 2026)
    costs = out.costs()
    assert list(costs) == list(INSTRUMENT_COSTS.values())
    for spend, name in INSTRUMENT_COSTS.items():
        assert costs[name] == frame.loc[2024:2026, spend].sum()
    assert out.cost() == float(np.sum(list(costs.values())))
    np.testing.assert_allclose(out.cost(), frame.loc[2024:2026, "spend_total"].sum(), rtol=1e-12)
    assert out.cost() > 0


def test_a_run_that_ends_before_2024_has_no_cost():
    early = evaluate(ModelRun(seed=2, scale=SCALE, end_year=2023))
    assert np.isnan(early.cost()) and all(np.isnan(v) for v in early.costs().values())
    assert np.isnan(period_sum([2022, 2023], np.ones((2, 3)))).all()
    assert period_sum([2023, 2024, 2026, 2027], np.arange(8.0).reshape(4, 2)).tolist() == [6.0, 8.0]


def test_an_ensembles_cost_is_each_runs_cost():
    """``report.public_cost`` over an ensemble's tidy table gives, per replicate and instrument, the
    number ``Indicators.costs`` gives for that replicate's run (the same rule, bit for bit)."""
    plan = ensemble.plan_replicates(0, range(2), n_param_sets=1)
    results = ensemble.run_ensemble(scenario("plan"), plan, param_sets=[None], scale=SCALE, progress=False)
    for rep in plan:
        costs = evaluate(ensemble.replicate_run(scenario("plan"), None, rep, SCALE, 2026, "sampled")).costs()
        for spend, name in INSTRUMENT_COSTS.items():
            assert report.public_cost(results, spend)[rep.index] == costs[name], spend
    assert set(SPENDING) == set(INSTRUMENT_COSTS)


def test_indicators_from_a_table_round_trip():
    annual = pd.DataFrame({"T01": [1.0, 2.0], "x": [3, 4]}, index=pd.Index([2025, 2026], name="year"))
    ind = Indicators.of(annual)
    assert ind.names == ("T01", "x") and ind.values.dtype == float
    pd.testing.assert_frame_equal(ind.frame(), annual.astype(float))
