"""Parameters validate themselves; levers follow their schedules; random streams are independent."""

import dataclasses

import mesa
import numpy as np
import pytest

from sim.model.agents.table import ColumnTable, deregister_many, register_many
from sim.model.params import BehaviourParams, ConfigError, PolicyLevers, RunConfig, StartState, describe
from sim.model.policy import BUILD_UP, HISTORY, Policy, frozen_2023, scenario
from sim.model.rng import Streams


@pytest.mark.parametrize(
    "obj, field, bad, words",
    [
        (PolicyLevers(), "voucher_budget", -1.0, "policy.voucher_budget"),
        (PolicyLevers(), "rd_subsidy_rate", 1.5, "[0, 1]"),
        (PolicyLevers(), "incubators", 10.5, "whole number"),
        (PolicyLevers(), "fund_size", "lots", "must be a number"),
        (BehaviourParams(), "bunching_prob", 2.0, "params.bunching_prob"),
        (RunConfig(), "end_year", 2036, "end_year"),
        (RunConfig(), "end_year", 2018, "[2019, 2035]"),
    ],
)
def test_bad_values_name_the_key_and_range(obj, field, bad, words):
    with pytest.raises(ConfigError, match=None) as err:
        dataclasses.replace(obj, **{field: bad}).validate()
    assert words in str(err.value)


def test_every_field_documents_unit_range_and_source():
    for cls in (PolicyLevers, BehaviourParams, RunConfig, StartState):
        for row in describe(cls):
            assert row["unit"] and row["source"], (cls.__name__, row["name"])
            lo, hi = row["range"]
            assert lo <= row["default"] <= hi, (cls.__name__, row["name"])
            if row["prior"]:
                assert lo <= row["prior"][0] < row["prior"][1] <= hi, row["name"]
    assert len(BehaviourParams.calibrated_names()) >= 8


def test_defaults_validate():
    PolicyLevers().validate()
    BehaviourParams().validate()
    frozen_2023().validate()


def test_history_path_and_build_up():
    plan = Policy(scenario("plan"))
    frozen = Policy(scenario("frozen_2023"))
    for name in HISTORY:
        for y in range(2019, 2024):  # same history in every scenario
            assert plan.lever(name, y) == frozen.lever(name, y) == HISTORY[name][y]
        assert frozen.lever(name, 2030) == HISTORY[name][2023]
    target = PolicyLevers().incubators
    path = [plan.lever("incubators", y) for y in (2023, 2024, 2025, 2026, 2030)]
    assert path[0] == HISTORY["incubators"][2023] and path[-2] == path[-1] == target
    assert path == sorted(path)
    assert plan.lever("voucher_budget", 2024) == PolicyLevers().voucher_budget  # flows act at once
    assert set(BUILD_UP) <= set(HISTORY)


def test_scenarios_and_unknown_name():
    assert scenario("frozen_2023").incubators == HISTORY["incubators"][2023]
    with pytest.raises(KeyError, match="unknown scenario"):
        scenario("nope")


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


def test_bulk_registration_matches_mesa():
    class Thing(mesa.Agent):
        pass

    m = mesa.Model(rng=0)
    one = Thing(m)
    many = []
    for _ in range(5):
        a = Thing.__new__(Thing)
        a.model, a.unique_id, a.pos = m, next(mesa.Agent._ids[m]), None
        many.append(a)
    register_many(m, many)
    assert len(m.agents_by_type[Thing]) == 6 and len(m.agents) == 6
    assert set(m.agents_by_type[Thing]) == {one, *many}
    deregister_many(m, many[:2])
    assert len(m.agents_by_type[Thing]) == 4 and len(m.agents) == 4 and many[0] not in m._agents
    mesa.Agent._ids.pop(m, None)
