"""Parameters validate themselves; levers follow their schedules; effects are drawn reproducibly."""

import dataclasses

import numpy as np
import pytest

from sim.model.agents.table import ColumnTable
from sim.model.params import BehaviourParams, ConfigError, RunConfig, StartState, describe
from sim.model.policy import (
    INSTRUMENTS,
    LEVERS,
    LeverEffects,
    Policy,
    PolicyLevers,
    calibrated_effects,
    effect_fields,
    effects_from_row,
    effects_row,
    free_effect_fields,
    frozen_2023,
    make_effects,
    sample_effects,
    scenario,
    with_calibrated_effects,
)
from sim.model.rng import Streams


@pytest.mark.parametrize(
    "cls, field, bad, words",
    [
        (PolicyLevers, "voucher_budget", -1.0, "policy.voucher_budget"),
        (PolicyLevers, "rd_subsidy_rate", 1.5, "[0, 1]"),
        (PolicyLevers, "incubators", 10.5, "whole number"),
        (PolicyLevers, "fund_size", "lots", "must be a number"),
        (PolicyLevers, "open_licensing", 1.2, "policy.open_licensing"),
        (PolicyLevers, "talents", -5, "policy.talents"),
        (BehaviourParams, "bunching_prob", 2.0, "params.bunching_prob"),
        (RunConfig, "end_year", 2036, "end_year"),
        (RunConfig, "end_year", 2016, "[2017, 2035]"),
        (StartState, "firms_start", 0, "firms_start"),
    ],
)
def test_bad_values_cannot_be_constructed(cls, field, bad, words):
    """Validation runs on construction (``__post_init__``): an invalid object cannot exist."""
    with pytest.raises(ConfigError) as err:
        cls(**{field: bad})
    assert words in str(err.value)
    with pytest.raises(ConfigError):
        dataclasses.replace(cls(), **{field: bad})


def test_minus_zero_is_zero():
    levers = PolicyLevers(voucher_budget=-0.0)
    assert levers.voucher_budget == 0.0 and str(levers.voucher_budget) == "0.0"


def test_lever_assignment_is_validated_and_takes_effect():
    """Changing a lever mid-run is not silently ignored: it is validated and used from its next call."""
    levers = PolicyLevers()
    policy = Policy(levers)
    levers.voucher_budget = 8.0
    assert policy.lever("voucher_budget", 2025) == 8.0
    with pytest.raises(ConfigError, match="policy.voucher_budget"):
        levers.voucher_budget = -1.0
    assert levers.voucher_budget == 8.0  # the bad value was refused, the old one kept
    with pytest.raises(AttributeError, match="no lever 'voucher_budgett'"):
        levers.voucher_budgett = 3.0


def test_every_field_documents_unit_range_and_source():
    for cls in (PolicyLevers, BehaviourParams, RunConfig, StartState):
        for row in describe(cls):
            assert row["unit"] and row["source"], (cls.__name__, row["name"])
            lo, hi = row["range"]
            assert lo <= row["default"] <= hi, (cls.__name__, row["name"])
            if row["prior"]:
                assert lo <= row["prior"][0] < row["prior"][1] <= hi, row["name"]
    assert len(BehaviourParams.calibrated_names()) >= 8


def test_every_effect_has_a_range_and_a_source():
    keys = [k for k, _ in effect_fields()]
    assert len(keys) == len(set(keys)) >= 30
    for key, f in effect_fields():
        lo, hi = f.metadata["range"]
        assert lo < hi and lo <= f.default <= hi, key
        assert f.metadata["unit"] and f.metadata["source"], key


def test_a_calibrated_effect_is_its_effect_declared_once_more_as_behaviour():
    """Each ``BehaviourParams`` field with ``effect`` metadata has that effect's range as its prior and its
    central value as its default, so an uncalibrated run (the defaults) runs the effect at its centre."""
    declared = dict(effect_fields())
    pairs = calibrated_effects()
    assert len(pairs) >= 6 and len(set(pairs.values())) == len(pairs)
    meta = {f.name: f for f in dataclasses.fields(BehaviourParams)}
    for key, name in pairs.items():
        assert meta[name].metadata["prior"] == declared[key].metadata["range"], name
        assert meta[name].default == declared[key].default, name
        assert name in BehaviourParams.calibrated_names()
    assert {k for k, _ in free_effect_fields()} == set(declared) - set(pairs)


def test_calibrated_effects_come_from_the_behaviour_parameters_and_the_rest_from_the_draw():
    drawn = sample_effects(3)
    params = BehaviourParams(incubator_takeup_boost=0.17, transfer_institution_deals=41.0)
    used = effects_row(with_calibrated_effects(drawn, params))
    before = effects_row(drawn)
    pairs = calibrated_effects()
    for key, value in used.items():
        expected = getattr(params, pairs[key]) if key in pairs else before[key]
        assert value == expected, key
    assert used["incubators.takeup_boost"] == 0.17 and before["incubators.takeup_boost"] != 0.17
    # a model takes them from its behaviour parameters whatever effects it is given
    from sim.model.model import InnovationModel

    model = InnovationModel(params=params, seed=1, scale=0.005, end_year=2017, effects=drawn)
    assert model.effects.incubators.takeup_boost == 0.17
    assert model.effects.tech_transfer_institutions.deals == 41.0
    assert model.effects.voucher_budget == drawn.voucher_budget


def test_fifteen_instruments_one_lever_each():
    assert len(INSTRUMENTS) == 15
    assert [f.name for f in dataclasses.fields(PolicyLevers)] == list(LEVERS)
    for name in (
        "key_tech_projects",
        "tech_credit",
        "talents",
        "open_licensing",
        "rd_coverage",
        "hte_cultivation",
    ):
        assert name in LEVERS
    for cls in INSTRUMENTS:
        assert cls.__module__.startswith("sim.model.policy."), cls  # one module per instrument
        assert cls.lever.history_source and cls.lever.plan_source


def test_registration_lines_name_the_classes_and_fields_carry_their_levers_declarations():
    """``_registered`` turns each ``"module.Class"`` line into its class, in order; each ``PolicyLevers``
    field carries its lever's declarations, which the explorer, the plots and the config checks read from the
    field (both run at import, so they are checked here by calling them)."""
    from sim.model.policy import _registered, key_tech_projects, vouchers

    assert _registered("vouchers.Vouchers", "key_tech_projects.KeyTechProjects") == (
        vouchers.Vouchers,
        key_tech_projects.KeyTechProjects,
    )
    by_name = {f.name: f for f in dataclasses.fields(PolicyLevers)}
    for name, lever in LEVERS.items():
        f = lever.field()
        assert f.default == by_name[name].default == lever.kind(lever.plan)
        assert (
            dict(f.metadata)
            == dict(by_name[name].metadata)
            == {
                "kind": lever.kind,
                "unit": lever.unit,
                "range": (lever.lo, lever.hi),
                "source": lever.plan_source,
                "history_source": lever.history_source,
                "section": lever.section,
                "build_up": lever.build_up,
                "level_2023": lever.history[2023],
            }
        )


def test_a_lever_without_its_full_history_is_refused_naming_the_years():
    from sim.model.policy.instrument import Lever

    def toy(history):
        return Lever(
            name="toy",
            kind=float,
            unit="u",
            lo=0,
            hi=1,
            plan=1.0,
            plan_source="s",
            history=history,
            history_source="s",
        )

    history = {y: 1.0 for y in range(2017, 2024) if y != 2020}
    with pytest.raises(ValueError, match=r"lever toy: no history for \[2020\]"):
        toy(history)
    assert toy({**history, 2020: 1.0}).level_2023 == 1.0


def test_history_path_and_build_up():
    plan = Policy(scenario("plan"))
    frozen = Policy(scenario("frozen_2023"))
    for name, lever in LEVERS.items():
        for y in range(2019, 2024):  # same history in every scenario
            assert plan.lever(name, y) == frozen.lever(name, y) == lever.history[y]
        assert frozen.lever(name, 2030) == lever.level_2023
    target = PolicyLevers().incubators
    path = [plan.lever("incubators", y) for y in (2023, 2024, 2025, 2026, 2030)]
    assert path[0] == LEVERS["incubators"].level_2023 and path[-2] == path[-1] == target
    assert path == sorted(path)
    assert plan.lever("voucher_budget", 2024) == PolicyLevers().voucher_budget  # flows act at once
    # a build-up share is not rounded to a whole number
    assert 0.02 < plan.lever("open_licensing", 2024) < plan.lever("open_licensing", 2025) < 0.2


def test_scenarios_and_unknown_name():
    assert scenario("frozen_2023").incubators == LEVERS["incubators"].level_2023
    assert scenario("frozen_2023").key_tech_projects == 0  # a new instrument is at 0 in 2023
    with pytest.raises(KeyError, match="unknown scenario"):
        scenario("nope")
    frozen_2023().validate()


def test_effects_sampled_per_seed_within_ranges_and_stable():
    a, b, c = sample_effects(1), sample_effects(1), sample_effects(2)
    assert a == b and a != c
    row = effects_row(a)
    for key, f in effect_fields():
        lo, hi = f.metadata["range"]
        assert lo <= row[key] <= hi
    assert effects_from_row(row) == a
    assert make_effects("central", None) == LeverEffects()
    with pytest.raises(ConfigError, match="^effects = 'wild': must be one of sampled, central$"):
        make_effects("wild", 1)
    with pytest.raises(ValueError, match="^sample_effects needs a seed$"):
        make_effects("sampled", None)
    with pytest.raises(ConfigError, match="unknown effect"):
        effects_from_row({"voucher_budget.nope": 1.0})
    # each effect from its own stream: the share of draws above the midpoint is about a half
    draws = np.array([list(effects_row(sample_effects(s)).values()) for s in range(200)])
    mids = np.array([sum(f.metadata["range"]) / 2 for _, f in effect_fields()])
    share = (draws > mids).mean(axis=0)
    assert ((share > 0.35) & (share < 0.65)).all()  # 200 draws: sd of a share is 0.035; 4 sd either side


def test_streams_are_named_and_reproducible():
    a, b = Streams(1), Streams(1)
    x = a["growth"].random(5)
    a["market"].random(100)  # using another stream does not shift this one
    np.testing.assert_array_equal(np.r_[x, a["growth"].random(3)], b["growth"].random(8))
    assert not np.allclose(Streams(1)["growth"].random(5), Streams(1)["market"].random(5))
    assert not np.allclose(Streams(1)["growth"].random(5), Streams(2)["growth"].random(5))
    with pytest.raises(ValueError):
        Streams(None)


def test_column_table_grows_and_keeps_rows():
    t = ColumnTable({"x": (np.float64, 0.0), "h": (np.int32, -1, 3)}, capacity=16)
    t.add_rows(10, x=np.arange(10.0))
    t.add_rows(30, x=1.0)
    assert t.n == 40 and t.capacity >= 40
    assert t.col("x")[:10].tolist() == list(range(10)) and (t.col("h") == -1).all()


def test_docs_levers_page_is_written_from_the_instruments():
    from pathlib import Path

    from sim.model.policy.catalogue import levers_markdown

    page = Path(__file__).resolve().parents[1] / "docs" / "levers.md"
    assert page.read_text(encoding="utf-8") == levers_markdown(), (
        "rerun: python -m sim.model.policy.catalogue > docs/levers.md"
    )
