"""Every policy instrument: its direction of effect, its cost ledger, and history left untouched.

Runs are paired: the same seeds and the same (central) lever effects, so a difference between two
runs comes from the lever. Scale 0.05 (about 1,500 firms in 2018) keeps the suite fast.
"""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from sim.model import InnovationModel
from sim.model.evaluate import ModelRun, evaluate, release
from sim.model.outcomes import OUTCOMES
from sim.model.policy import INSTRUMENTS, LEVERS, PolicyLevers, tech_credit, vouchers

SCALE = 0.05
SEEDS = (0, 1, 2)
#: A lever value well past the plan (within its range), so the effect stands out of the noise.
HIGH = {
    "voucher_budget": 40.0,
    "rd_subsidy_rate": 0.5,
    "fund_size": 1500.0,  # 3x the plan; at 6x (3,000) T03 fell ~3% below the no-fund runs: not monotone there
    "incubators": 1500,
    "high_energy_incubators": 300,
    "poc_centres": 400,
    "tech_transfer_institutions": 500,
    "roadshows_per_year": 3000,
    "reform_units": 350,
    "key_tech_projects": 1500,
    "tech_credit": 2000.0,
    "talents": 10000,
    "open_licensing": 1.0,
    "rd_coverage": 1.0,
    "hte_cultivation": 30000,
}
OUTCOME_COLUMNS = [k for k, o in OUTCOMES.items() if o.kind != "cost"]


def with_lever(name: str, value) -> PolicyLevers:
    return replace(PolicyLevers(), **{name: LEVERS[name].kind(value)})


def run(levers, seed: int, end_year: int = 2026) -> pd.DataFrame:
    return evaluate(ModelRun(levers=levers, seed=seed, scale=SCALE, end_year=end_year)).frame()


@pytest.fixture(scope="module")
def plan_runs():
    return {seed: run(PolicyLevers(), seed) for seed in SEEDS}


def test_high_values_are_valid_and_cover_every_lever():
    assert set(HIGH) == set(LEVERS)
    for name, value in HIGH.items():
        with_lever(name, value)  # validates


@pytest.mark.slow
@pytest.mark.parametrize("cls", INSTRUMENTS, ids=lambda cls: cls.name)
def test_more_of_the_lever_never_lowers_its_outcome(cls):
    """Paired over 3 seeds: the mean 2026 primary outcome with the lever far past the plan is not below
    the one with the lever at 0. Tolerance: 1% of the level (the seed noise of a paired difference at
    scale 0.05 is well under that for outcomes the lever does not touch)."""
    name, outcome = cls.lever.name, cls.primary_outcome
    diffs, levels = [], []
    for seed in SEEDS:
        low = run(with_lever(name, 0), seed).loc[2026, outcome]
        high = run(with_lever(name, HIGH[name]), seed).loc[2026, outcome]
        diffs.append(high - low)
        levels.append(abs(low))
    assert np.mean(diffs) >= -0.01 * np.mean(levels), (name, outcome, diffs)


@pytest.mark.parametrize("cls", INSTRUMENTS, ids=lambda cls: cls.name)
def test_the_2023_level_changes_a_2026_indicator(cls, plan_runs):
    """The lever held at its 2023 level (0 where it is new) instead of the plan changes at least one 2026
    outcome of the same replicate (spending aside): the lever is wired to what agents do."""
    lever = cls.lever
    seed = SEEDS[0]
    held = run(with_lever(lever.name, lever.level_2023), seed)
    plan = plan_runs[seed]
    assert getattr(PolicyLevers(), lever.name) != lever.level_2023
    changed = [
        k for k in OUTCOME_COLUMNS if not np.isclose(held.loc[2026, k], plan.loc[2026, k], equal_nan=True)
    ]
    assert changed, lever.name


@pytest.mark.parametrize("cls", INSTRUMENTS, ids=lambda cls: cls.name)
def test_the_lever_at_zero_costs_nothing_and_history_is_untouched(cls, plan_runs):
    name = cls.lever.name
    seed = SEEDS[1]
    zero = run(with_lever(name, 0), seed)
    plan = plan_runs[seed]
    assert zero.loc[2026, f"spend_{cls.name}"] == 0.0
    pd.testing.assert_frame_equal(zero.loc[:2023], plan.loc[:2023], check_exact=True)


@pytest.fixture(scope="module")
def plan_model():
    m = InnovationModel(seed=3, scale=SCALE, end_year=2026)
    m.run()
    yield m
    release(m)


def test_ledger_rows_are_quantity_times_unit_cost(plan_model):
    rows = plan_model.policy.ledger.records()
    assert {r["instrument"] for r in rows if r["year"] == 2026} == {cls.name for cls in INSTRUMENTS} - {
        "open_licensing"
    } | {"open_licensing"}
    for r in rows:
        assert r["amount_100m"] == pytest.approx(r["quantity"] * r["unit_cost_100m"]), r
        assert r["quantity"] >= 0 and r["unit_cost_100m"] >= 0


def test_ledger_quantities_match_the_agents(plan_model):
    """Quantities are real-scale counts of what the instruments did, checked against the agents."""
    m = plan_model
    led = m.policy.ledger
    from sim.model.agents.carriers import HIGH_ENERGY, PROVINCIAL

    assert led.quantity(2026, "incubators", "operating grants") == m.incubators.count(PROVINCIAL) == 481
    assert (
        led.quantity(2026, "high_energy_incubators", "operating grants")
        == m.incubators.count(HIGH_ENERGY)
        == 30
    )
    assert (
        led.quantity(2026, "tech_transfer_institutions", "institutions supported")
        == len(m.intermediaries.ttis)
        == 50
    )
    assert led.quantity(2026, "roadshows_per_year", "events") == m.intermediaries.roadshows.events == 200
    assert (
        led.quantity(2026, "reform_units", "units covered") == m.institutions.totals()["units_covered"] == 300
    )
    assert led.quantity(2026, "poc_centres", "validated projects") == sum(
        c.validated for c in m.intermediaries.pocs
    )


def test_budgets_are_spent_at_real_scale(plan_model):
    """Vouchers: the budget is issued at the model's scale and booked at real scale, so redeemed vouchers
    cost about REDEEM x budget (Poisson noise at scale 0.05 is about 15% of a year's 2亿; allow 40%).
    Credit: the fiscal cost is FISCAL_COST_SHARE of the volume lent."""
    spend = plan_model.policy.spending(2026)
    budget = PolicyLevers().voucher_budget
    assert 0.6 * vouchers.REDEEM * budget < spend["voucher_budget"] < 1.4 * vouchers.REDEEM * budget
    credit = PolicyLevers().tech_credit * tech_credit.FISCAL_COST_SHARE
    assert 0.5 * credit < spend["tech_credit"] < 1.6 * credit
    assert spend["voucher_budget"] <= budget


def test_effects_reach_the_run():
    """A model built with drawn effects uses them: more voucher additionality, more technologies bought.

    Read on the buyers (``tech_bought``: +1,900 of ~8,000 at this lever, run-to-run sd ~250), not on
    T01_service, whose voucher part (about +30亿) is within one run's noise of the whole market (~150亿 at
    scale 0.05): a one-seed T01 comparison flips with any change to the random path."""
    from sim.model.policy import LeverEffects
    from sim.model.policy import vouchers as v

    low = LeverEffects(voucher_budget=v.Effects(additionality=0.5, registered_share=0.3))
    high = LeverEffects(voucher_budget=v.Effects(additionality=0.8, registered_share=0.6))
    levers = with_lever("voucher_budget", 40.0)
    bought = []
    for effects in (low, high):
        m = InnovationModel(levers=levers, seed=4, scale=SCALE, effects=effects)
        try:
            m.run()
            bought.append(int(m.firms.table.col("tech_bought").sum()))
        finally:
            release(m)
    assert bought[1] > 1.1 * bought[0]
