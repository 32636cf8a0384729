"""High-energy incubation carriers (高能级孵化载体; plan §4: about 30, T14).

Mechanics: carriers open to the lever's count each January (``sim/model/agents/carriers.py``,
``CAPACITY`` tenants each). Besides incubating, each pushes firms founded on advanced results
(先进成果直推: ``pushes`` a year, from its own stream) and its tenants grow faster than in a provincial
carrier (the provincial ``growth_boost`` times 1 + ``extra_boost``) and are weighted up by funds.

Cost: an operating grant per carrier and year (``GRANT_PER_CARRIER``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.agents.carriers import HIGH_ENERGY
from sim.model.agents.firms import ORIGIN_PUSHED
from sim.model.params import MONTHS
from sim.model.policy.instrument import START_YEAR, Instrument, Lever, effect

LEVER = Lever(
    name="high_energy_incubators",
    kind=int,
    unit="high-energy incubation carriers",
    lo=0,
    hi=500,
    plan=30,
    plan_source="plan §4: 培育建设30个左右高能级孵化载体 (T14)",
    history={2017: 0, 2018: 0, 2019: 0, 2020: 0, 2021: 0, 2022: 0, 2023: 0},
    history_source="the category is new in the plan (§4)",
    build_up=True,
    section="§4",
)

CAPACITY = 100.0  # tenant firms per high-energy carrier (assumption: about twice a provincial carrier)
GRANT_PER_CARRIER = 0.03  # 亿元 (300万) a year per carrier (assumption: platform-level support)


@dataclass(frozen=True)
class Effects:
    pushes: float = effect(
        10.0,
        3.0,
        20.0,
        "firms a year founded from results pushed by each carrier",
        "assumption: plan §4 先进成果直推; no count published",
    )
    extra_boost: float = effect(
        0.5,
        0.0,
        1.0,
        "extra growth boost relative to a provincial carrier (share)",
        "assumption: services, capital links and specialised labs (instruments.md §7: services matter)",
    )


class HighEnergyIncubators(Instrument):
    summary = "Carriers of 100 places push firms founded on advanced results and grow their tenants faster than provincial carriers."
    unit_costs = ("operating grant 300万 a carrier-year (assumption)",)
    lever = LEVER
    Effects = Effects
    primary_outcome = "T02"

    def start(self) -> None:
        self.model.incubators.build_tier(START_YEAR, HIGH_ENERGY, int(self.level(START_YEAR)), CAPACITY)

    def open_year(self, year: int) -> None:
        self.model.incubators.build_tier(year, HIGH_ENERGY, int(self.level(year)), CAPACITY)
        self.book(year, "operating grants", self.model.incubators.count(HIGH_ENERGY), GRANT_PER_CARRIER)

    def found_firms(self, month: int) -> np.ndarray:
        """Firms founded this month from pushed results (rows)."""
        m = self.model
        lam = m.incubators.count(HIGH_ENERGY) * self.effects.pushes / MONTHS * m.scale
        rng = self.rng()
        return m.firms.enter(month, int(rng.poisson(lam)), rng, origin=ORIGIN_PUSHED)

    def growth_boost(self, month: int) -> np.ndarray:
        """A tenant's growth boost (the carriers', set by ``incubators``) raised by ``extra_boost``."""
        carriers = self.model.incubators
        return carriers.tenant_boost(
            HIGH_ENERGY, carriers.tenant_growth_boost * (1.0 + self.effects.extra_boost)
        )

    def exit_factor(self, month: int) -> np.ndarray:
        carriers = self.model.incubators
        return np.where(carriers.tenants_of(HIGH_ENERGY), carriers.tenant_exit_factor, 1.0)
