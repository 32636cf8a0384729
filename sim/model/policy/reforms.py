"""The three reforms of university and institute IP (三项改革; plan §1, T07-T09).

Mechanics, each January: the reforms cover the first ``reform_units`` units in the plan's order
(provincial universities and institutes, then ministry universities, central institutes, hospitals and
SOE labs; ``sim/model/agents/universities.py``). A covered unit brings new job-related achievements
under separate management at once and, during the campaign to 2023, its earlier backlog at
``itemise_rate`` a year (from 2024 only the new flow is itemised), transfers them
at the commercialisation hazard (calibrated: the 2023 counts identify it), founds spin-offs from its
transfers, and sells ``supply_multiplier`` times as many development and service contracts; units not
covered transfer at the hazard divided by that multiplier. Coverage that falls back (a scenario
cutting units) ends the multiplier for the units left out; what was itemised stays counted.

Cost: ``SUPPORT_PER_UNIT`` a year per covered unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.policy.instrument import Instrument, Lever, effect

LEVER = Lever(
    name="reform_units",
    kind=int,
    unit="institutions under the three reforms",
    lo=0,
    hi=2000,
    plan=300,
    plan_source="145 pilot units in Jan 2024 (lr5.cn 2024-01-17); plan §1 extends the reforms to ministry "
    "universities, central institutes, hospitals and SOEs; 300 by 2026 is an assumption",
    history={2017: 0, 2018: 0, 2019: 0, 2020: 0, 2021: 5, 2022: 40, 2023: 145},
    history_source="5 pilot universities before the Dec-2022 '十条措施'; 145 units in Jan 2024 (lr5.cn 2024-01-17); "
    "2021-2022 values are an assumption on the roll-out",
    build_up=True,
    section="§1",
)

SUPPORT_PER_UNIT = 0.005  # 亿元 (50万) a year per unit (assumption: transfer-office staff and reform awards)


@dataclass(frozen=True)
class Effects:
    supply_multiplier: float = effect(
        2.0,
        1.5,
        3.0,
        "contract supply and transfer hazard of a covered unit against an uncovered one",
        "mechanisms.md §6.1: reform lifts industrialisation x1.5-3 (guess)",
    )


class Reforms(Instrument):
    stream = "reforms"  # random-stream key (stable across renames)
    summary = "Covered units (in the plan's order) itemise and transfer achievements, found spin-offs and sell more development contracts."
    unit_costs = ("50万 a covered unit-year (assumption: transfer-office staff and reform awards)",)
    lever = LEVER
    Effects = Effects
    primary_outcome = "T07"

    def reform_units(self, year: int) -> int:
        """Units the reforms cover in ``year`` (the institutions' yearly step reads it)."""
        return int(self.level(year))

    def transfer_multiplier(self) -> float:
        """Covered units commercialise ``supply_multiplier`` times faster than the others."""
        return self.effects.supply_multiplier

    def open_year(self, year: int) -> None:
        covered = self.model.institutions.totals()["units_covered"]
        self.book(year, "units covered", covered, SUPPORT_PER_UNIT)

    def contract_supply(self) -> np.ndarray:
        """Per-unit multiplier of the institutions' contract sales (covered units sell more)."""
        return np.where(self.model.institutions.reformed_array(), self.effects.supply_multiplier, 1.0)
