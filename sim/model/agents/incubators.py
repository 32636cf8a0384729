"""Incubation carriers (maker spaces, incubators, science parks, high-energy carriers).

Each carrier is a Mesa agent with a capacity and a tier. Admission and
graduation run vectorised over the firm table each month (``IncubationSystem``);
carriers are added as the ``incubators`` and ``high_energy_incubators``
levers build up.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.model.sampling import weighted_rows

PROVINCIAL, HIGH_ENERGY = 0, 1
TAKEUP_BOOST = 0.10  # assumption: carriers push tenants to register as tech SMEs (+10 pp take-up)


class Incubator(mesa.Agent):
    """A provincial-level incubation carrier."""

    def __init__(self, model, tier: int, capacity: float, opened_year: int):
        super().__init__(model)
        self.tier = tier
        self.capacity = capacity  # tenant firms, at the model's scale
        self.opened_year = opened_year
        self.tenants = 0

    @property
    def free(self) -> float:
        return max(0.0, self.capacity - self.tenants)


class IncubationSystem:
    """All carriers: their agents, the capacity arrays, and the monthly admission rule."""

    def __init__(self, model):
        self.model = model
        self.agents: list[Incubator] = []
        self.capacity = np.zeros(0)
        self.high_energy_mask = np.zeros(0, dtype=np.int8)

    def build_to(self, year: int, provincial: int, high_energy: int) -> None:
        """Open (or close, last-opened first) carriers so the counts match the lever levels."""
        s, scale = self.model.start, self.model.scale
        for tier, target, cap in ((PROVINCIAL, provincial, s.incubator_capacity),
                                  (HIGH_ENERGY, high_energy, s.high_energy_capacity)):
            mine = [a for a in self.agents if a.tier == tier]
            for _ in range(int(target) - len(mine)):
                self.agents.append(Incubator(self.model, tier, cap * scale, year))
            for a in mine[int(target):][::-1] if len(mine) > target else []:
                self._close(a)
        self.capacity = np.array([a.capacity for a in self.agents])
        self.high_energy_mask = np.array([a.tier == HIGH_ENERGY for a in self.agents], dtype=np.int8)

    def _close(self, agent: Incubator) -> None:
        idx = self.agents.index(agent)
        t = self.model.firms.table
        inc = t.col("incubator")
        inc[inc == idx] = -1
        inc[inc > idx] -= 1
        self.agents.pop(idx)
        agent.remove()

    def step_month(self, month: int, newborn_rows: np.ndarray, rng) -> None:
        """Graduate tenants, then admit this month's new firms into free places."""
        t, s = self.model.firms.table, self.model.start
        n = t.n
        inc = t.incubator[:n]
        inside = np.flatnonzero(inc >= 0)
        stay = month - t.incubated_since[inside]
        leaves = (stay >= s.max_incubation_months) | (rng.random(inside.size) < s.graduation_rate / 12)
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

    def pushed_births(self, rng) -> int:
        """Firms founded a month from results pushed by high-energy carriers (at model scale)."""
        s = self.model.start
        lam = self.high_energy_mask.sum() * s.high_energy_pushes / 12 * self.model.scale
        return int(rng.poisson(lam))
