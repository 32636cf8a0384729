"""Incubation carriers (maker spaces, incubators, science parks, high-energy carriers).

Each carrier is a Mesa agent with a capacity and a tier. Admission and graduation run vectorised over
the firm table each month (``IncubationSystem.step_month``); carriers open and close as their
instruments' levers build up (``sim/model/policy/incubators.py``, ``high_energy_incubators.py``),
which also own what incubation does to tenants.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.model.params import MONTHS
from sim.model.sampling import weighted_rows

PROVINCIAL, HIGH_ENERGY = 0, 1
MAX_INCUBATION_MONTHS = 48  # mechanisms.md §5.2: cap ~48 months (unverified)
GRADUATION_RATE = 0.2  # tenants graduating a year: mechanisms.md §5.2 / P22, 0.15-0.25


class Incubator(mesa.Agent):
    """An incubation carrier."""

    def __init__(self, model, tier: int, capacity: float, opened_year: int):
        super().__init__(model)
        self.tier = tier
        self.capacity = capacity  # tenant firms, at the model's scale
        self.opened_year = opened_year
        self.tenants = 0


class IncubationSystem:
    """All carriers: their agents, the capacity arrays, and the monthly admission rule."""

    def __init__(self, model):
        self.model = model
        self.agents: list[Incubator] = []
        self.capacity = np.zeros(0)
        self.tier = np.zeros(0, dtype=np.int8)
        self._version = 0  # bumped whenever carriers or tenants change
        # what incubation does to a provincial carrier's tenant (set by the incubators instrument; other
        # tiers scale it): extra log growth a year and the exit-hazard multiplier. No effect until set.
        self.tenant_growth_boost = 0.0
        self.tenant_exit_factor = 1.0
        self._tier_key = None
        self._tier_cache = np.zeros(0, dtype=np.int8)

    def count(self, tier: int) -> int:
        return int((self.tier == tier).sum())

    def build_tier(self, year: int, tier: int, target: int, capacity: float) -> int:
        """Open (or close, last-opened first) carriers of ``tier`` to ``target``; returns how many opened."""
        mine = [a for a in self.agents if a.tier == tier]
        opened = max(0, int(target) - len(mine))
        for _ in range(opened):
            self.agents.append(Incubator(self.model, tier, capacity * self.model.scale, year))
        for a in mine[int(target) :][::-1]:
            self._close(a)
        self.capacity = np.array([a.capacity for a in self.agents])
        self.tier = np.array([a.tier for a in self.agents], dtype=np.int8)
        self._version += 1
        return opened

    def _close(self, agent: Incubator) -> None:
        idx = self.agents.index(agent)
        inc = self.model.firms.table.col("incubator")
        inc[inc == idx] = -1
        inc[inc > idx] -= 1
        self.agents.pop(idx)
        agent.remove()

    def tier_of_firms(self) -> np.ndarray:
        """Each firm row's carrier tier, -1 when not incubated (cached until tenants or carriers change)."""
        n = self.model.firms.table.n
        key = (self.model.month, n, self._version)
        if self._tier_key != key:
            inc = self.model.firms.table.col("incubator")
            self._tier_cache = np.append(self.tier, -1)[inc]  # row -1 (not incubated) reads the appended -1
            self._tier_key = key
        return self._tier_cache

    def tenants_of(self, tier: int) -> np.ndarray:
        return self.tier_of_firms() == tier

    def set_tenant_effects(self, growth_boost: float, exit_factor: float) -> None:
        self.tenant_growth_boost = growth_boost
        self.tenant_exit_factor = exit_factor

    def tenant_boost(self, tier: int, boost: float) -> np.ndarray:
        return boost * self.tenants_of(tier)

    def step_month(self, month: int, newborn_rows: np.ndarray, rng) -> None:
        """Graduate tenants, then admit this month's new firms into free places."""
        t = self.model.firms.table
        n = t.n
        inc = t.incubator[:n]
        inside = np.flatnonzero(inc >= 0)
        stay = month - t.incubated_since[inside]
        leaves = (stay >= MAX_INCUBATION_MONTHS) | (rng.random(inside.size) < GRADUATION_RATE / MONTHS)
        inc[inside[leaves]] = -1
        tenants = np.bincount(inc[inc >= 0], minlength=len(self.agents)).astype(float)
        free = np.maximum(self.capacity - tenants, 0.0)
        total_free = free.sum()
        if newborn_rows.size and total_free >= 1:
            k = int(min(newborn_rows.size, np.floor(total_free)))
            chosen = newborn_rows[:k]  # entrants arrive in random order
            where = rng.permutation(weighted_rows(np.cumsum(free), k, rng))
            t.incubator[chosen] = where
            t.incubated_since[chosen] = month
            tenants += np.bincount(where, minlength=len(self.agents))
        for a, c in zip(self.agents, tenants.tolist()):
            a.tenants = c
        self._version += 1
