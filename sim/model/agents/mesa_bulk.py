"""Every use of Mesa's internals, in one place: bulk ids, registration and removal of agents.

A full-scale run founds about 10^5 firms. Mesa 3.3.1 registers an agent one at a time
(``Agent.__init__``: an id from ``Agent._ids[model]``, then ``Model.register_agent``: a hard reference in
``model._agents`` and weak references in two ``AgentSet`` s), ~3 µs each. The functions here do the same
bookkeeping in bulk, through internals that are checked against Mesa's behaviour by
``tests/test_mesa_bulk.py``. They are used only with the version they were written for
(``SUPPORTED_MESA``); with any other version every function falls back to Mesa's public, per-agent API
(slower, same result), so an upgrade of Mesa cannot silently corrupt a model.
"""

from __future__ import annotations

import itertools
from weakref import ref

import mesa
import numpy as np
from mesa.agent import AgentSet

SUPPORTED_MESA = "3.3.1"
#: Whether the internals below are used (the installed Mesa is the one they were written for).
FAST = mesa.__version__ == SUPPORTED_MESA


def reserve_ids(model, k: int) -> np.ndarray:
    """``k`` consecutive unique ids from the model's id counter, as ``Agent.__init__`` would draw them
    (-1 with another Mesa: the agents then get Mesa's own ids when they are made)."""
    if not FAST:
        return np.full(k, -1, dtype=np.int64)
    counter = mesa.Agent._ids[model]
    return np.fromiter(itertools.islice(counter, k), dtype=np.int64, count=k)


def new_agents(model, cls: type, unique_ids, **columns) -> list:
    """Agents of ``cls`` with the given ``unique_ids``, each with attributes from ``columns`` (equal-length
    sequences), registered with ``model``: what ``cls(model)`` does for each, without its per-agent cost.

    ``cls`` must accept being built without its ``__init__`` (a view whose state lives elsewhere).
    """
    unique_ids = list(map(int, unique_ids))
    if not FAST:
        agents = []
        for i in range(len(unique_ids)):
            a = cls.__new__(cls)
            mesa.Agent.__init__(a, model)  # Mesa's own id and registration
            for name, values in columns.items():
                a.__dict__[name] = values[i]
            agents.append(a)
        return agents
    make = cls.__new__
    agents = [make(cls) for _ in unique_ids]
    names = list(columns)
    for i, (a, uid) in enumerate(zip(agents, unique_ids)):
        d = a.__dict__  # what Agent.__init__ sets, without its per-agent registration
        d["model"] = model
        d["unique_id"] = uid
        d["pos"] = None
        for name in names:
            d[name] = columns[name][i]
    register_many(model, agents)
    return agents


def register_many(model, agents: list) -> None:
    """Register many agents at once (what ``Model.register_agent`` does per agent), without
    ``WeakKeyDictionary.update``'s per-item Python loop (5x faster for 10^4 agents)."""
    if not agents:
        return
    if not FAST:
        for a in agents:
            model.register_agent(a)
        return
    model._agents.update(dict.fromkeys(agents))
    cls = type(agents[0])
    aset = model._agents_by_type.get(cls)
    # one weak reference per agent, shared by the two weak dictionaries: a reference without a callback
    # is reused by Python for the same object. The callbacks only tidy entries of agents that die without
    # being deregistered; these agents are always deregistered (``deregister_many``).
    refs = dict.fromkeys(map(ref, agents))
    if aset is None:
        model._agents_by_type[cls] = AgentSet(agents, random=model.random)
    else:
        aset._agents.data.update(refs)
    model._all_agents._agents.data.update(refs)


def deregister_many(model, agents: list) -> None:
    """Remove many agents of one type at once (what ``Agent.remove`` does per agent)."""
    if not agents:
        return
    if not FAST:
        for a in agents:
            model.deregister_agent(a)
        return
    by_type = model._agents_by_type[type(agents[0])]._agents.data
    all_agents = model._all_agents._agents.data
    hard = model._agents
    for a in agents:
        del hard[a]
        r = ref(a)
        del by_type[r]
        del all_agents[r]


def release(model) -> None:
    """Free a finished model: Mesa 3.3.1 keeps every model alive through ``Agent._ids`` (mesa#3179)."""
    mesa.Agent._ids.pop(model, None)
