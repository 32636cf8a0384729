"""Mesa's internals, used for speed in one module (``sim/model/agents/mesa_bulk.py``), checked against Mesa.

These tests fail when a Mesa release changes what the module relies on: the id counter, the model's
agent registries and the weak dictionaries inside ``AgentSet``. The module uses the internals only with
the version it was written for; with another it falls back to Mesa's public API (also tested here).
"""

from __future__ import annotations

import itertools
from weakref import WeakKeyDictionary

import mesa
import numpy as np
import pytest
from mesa.agent import AgentSet

from sim.model import InnovationModel
from sim.model.agents import mesa_bulk
from sim.model.agents.firms import Firm
from sim.model.evaluate import release


class Thing(mesa.Agent):
    pass


@pytest.fixture
def fresh_model():
    m = mesa.Model(rng=0)
    yield m
    mesa_bulk.release(m)


def test_the_internals_are_where_the_module_expects_them(fresh_model):
    m = fresh_model
    assert mesa.__version__ == mesa_bulk.SUPPORTED_MESA, (
        f"Mesa {mesa.__version__}: check sim/model/agents/mesa_bulk.py against it, then update SUPPORTED_MESA"
    )
    assert mesa_bulk.FAST
    assert isinstance(mesa.Agent._ids[m], itertools.count)
    assert isinstance(m._agents, dict) and isinstance(m._agents_by_type, dict)
    assert isinstance(m._all_agents, AgentSet) and isinstance(m._all_agents._agents, WeakKeyDictionary)
    one = Thing(m)
    assert m._agents_by_type[Thing]._agents.data and isinstance(m._all_agents._agents.data, dict)
    assert one in m._agents


def test_reserved_ids_are_those_agent_init_would_draw(fresh_model):
    m = fresh_model
    a = Thing(m)
    ids = mesa_bulk.reserve_ids(m, 3)
    b = Thing(m)
    assert ids.tolist() == [a.unique_id + 1, a.unique_id + 2, a.unique_id + 3]
    assert b.unique_id == a.unique_id + 4


@pytest.mark.parametrize("fast", [True, False], ids=["internals", "public API"])
def test_bulk_registration_matches_mesa(fresh_model, monkeypatch, fast):
    monkeypatch.setattr(mesa_bulk, "FAST", fast)
    m = fresh_model
    one = Thing(m)
    many = mesa_bulk.new_agents(m, Thing, mesa_bulk.reserve_ids(m, 5), label=list("abcde"))
    assert len(m.agents_by_type[Thing]) == 6 and len(m.agents) == 6
    assert set(m.agents_by_type[Thing]) == {one, *many}
    assert [a.label for a in many] == list("abcde") and len({a.unique_id for a in [one, *many]}) == 6
    mesa_bulk.deregister_many(m, many[:2])
    assert len(m.agents_by_type[Thing]) == 4 and len(m.agents) == 4 and many[0] not in m._agents
    many[2].remove()  # Mesa's own removal still works on a bulk-made agent
    assert len(m.agents) == 3


def test_firm_agents_follow_the_live_firms():
    """Views are made when someone looks; a firm's id is fixed at its founding; exits leave the model."""
    model = InnovationModel(seed=2, scale=0.02, end_year=2020)
    t = model.firms.table
    for _ in range(6):
        model.step()
    firms = model.agents_by_type[Firm]
    live = np.flatnonzero(t.alive[: t.n])
    assert sorted(f.row for f in firms) == live.tolist()
    assert {f.unique_id for f in firms} == set(t.uid[live].tolist())
    first = {f.row: f.unique_id for f in firms}
    for _ in range(12):
        model.step()
    again = model.agents_by_type[Firm]
    live = np.flatnonzero(t.alive[: t.n])
    assert sorted(f.row for f in again) == live.tolist()
    assert all(first[f.row] == f.unique_id for f in again if f.row in first)  # ids never change
    assert len(model.agents) == sum(len(s) for s in model.agents_by_type.values())
    victim = next(iter(again))
    victim.remove()
    assert not t.alive[victim.row] and victim not in model.agents_by_type[Firm]
    assert len(model.agents_by_type[Firm]) == int(t.alive[: t.n].sum())
    release(model)
