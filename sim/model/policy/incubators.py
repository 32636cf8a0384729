"""Provincial-level incubation carriers: maker spaces, incubators, university science parks (plan §4).

Mechanics: each January carriers open (or close, newest first) to the lever's count; each month new
firms are admitted into free places (``sim/model/agents/carriers.py``: capacity ``CAPACITY`` tenants,
graduation, a 48-month cap). Tenants grow faster (``growth_boost``), exit at ``exit_factor`` times the
usual hazard, are pushed to register as tech SMEs (``takeup_boost``) and are more visible to funds.
The evidence is weak: services matter, space alone does not (instruments.md §7), so the ranges start
at zero.

Cost: an operating grant per carrier and year (``GRANT_PER_CARRIER``) and a one-off subsidy per new
carrier (``NEW_CARRIER_SUBSIDY``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.agents.carriers import PROVINCIAL
from sim.model.policy.instrument import START_YEAR, Instrument, Lever, effect

LEVER = Lever(
    name="incubators",
    kind=int,
    unit="provincial-level incubation carriers",
    lo=0,
    hi=5000,
    plan=481,
    plan_source="461 carriers at end-Jul 2023 (sciencenet 2023-09) + 20 university science parks (plan §4, T15)",
    history={2017: 270, 2018: 295, 2019: 318, 2020: 354, 2021: 390, 2022: 425, 2023: 461},
    history_source="318 national+provincial incubators and maker spaces in Mar 2019 (ifenglady.com 2019-03-21); 461 "
    "provincial-level carriers at end-Jul 2023 (sciencenet 2023-09); linear in between, and back to 2017 at "
    "the same pace (assumption)",
    build_up=True,
    section="§4",
)

CAPACITY = 45.0  # tenant firms per carrier: mechanisms.md §5.2 / P21, 30-60
GRANT_PER_CARRIER = (
    0.0015  # 亿元 (15万) a year: A-grade carriers get up to 30万 (mechanisms.md §5.1); mean assumed half
)
NEW_CARRIER_SUBSIDY = (
    0.01  # 亿元 (100万) one-off per new carrier (assumption: construction and fit-out support)
)


@dataclass(frozen=True)
class Effects:
    growth_boost: float = effect(
        0.05,
        0.0,
        0.12,
        "extra log revenue growth a year while incubated",
        "mechanisms.md §5.2 / P23 and instruments.md §7: multiplier 1.1-1.3 for top-quartile tenants only, "
        "~1.0 for the rest (Gonzalez-Uribe & Leatherbee 2018)",
    )
    exit_factor: float = effect(
        0.95,
        0.8,
        1.1,
        "exit hazard multiplier while incubated",
        "mechanisms.md §5.2 / P23: 0.8-1.0 inside; accelerated firms close earlier (Yu 2020): up to 1.1",
    )
    takeup_boost: float = effect(
        0.08,
        0.0,
        0.2,
        "extra probability a tenant registers as a tech SME",
        "mechanisms.md §5.2: p_tenant_becomes_techSME 0.3-0.5 (guess); carriers push registration",
    )


class Incubators(Instrument):
    summary = "Carriers admit new firms into 45 places each; tenants grow faster, exit slightly less, register as tech SMEs more and are weighted up by funds."
    unit_costs = (
        "operating grant 15万 a carrier-year (A-grade up to 30万, mechanisms.md §5.1; mean assumed)",
        "100万 one-off per new carrier (assumption)",
    )
    lever = LEVER
    Effects = Effects
    primary_outcome = "T02"

    def start(self) -> None:
        # what incubation does to a tenant: every tier's boost is relative to the provincial carriers'
        self.model.incubators.set_tenant_effects(self.effects.growth_boost, self.effects.exit_factor)
        self.model.incubators.build_tier(START_YEAR, PROVINCIAL, int(self.level(START_YEAR)), CAPACITY)

    def open_year(self, year: int) -> None:
        opened = self.model.incubators.build_tier(year, PROVINCIAL, int(self.level(year)), CAPACITY)
        self.book(year, "new carriers", opened, NEW_CARRIER_SUBSIDY)
        self.book(year, "operating grants", self.model.incubators.count(PROVINCIAL), GRANT_PER_CARRIER)

    def growth_boost(self, month: int) -> np.ndarray:
        return self.model.incubators.tenant_boost(PROVINCIAL, self.effects.growth_boost)

    def exit_factor(self, month: int) -> np.ndarray:
        return np.where(self.model.incubators.tenants_of(PROVINCIAL), self.effects.exit_factor, 1.0)

    def registry_takeup(self, year: int) -> np.ndarray:
        """Carriers push their tenants (any tier) to register as tech SMEs."""
        return self.effects.takeup_boost * (self.model.incubators.tier_of_firms() >= 0)
