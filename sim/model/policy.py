"""Lever paths over time and the named scenarios. Agents ask the ``Policy``, never a config.

2019-2023 every run follows the historical lever path below (the levers as they
were, so calibration sees the real history). From 2024 the scenario's levers
act: flow levers (budgets, rates, roadshows) at their value each year;
build-up levers (counts of carriers, centres, institutions) rise linearly from
the 2023 level to the scenario's 2026 level and stay there.
"""

from __future__ import annotations

from dataclasses import asdict, fields

import numpy as np

from sim.model.params import LAST_BASE_YEAR, PolicyLevers

#: Levers built up over 2024-2026 (counts); the others are flows applied each year.
BUILD_UP = ("incubators", "high_energy_incubators", "poc_centres", "tech_transfer_institutions", "reform_units")
PLAN_YEAR = 2026

#: Historical lever path, 2019-2023. Sourced anchors, linear in between (assumption).
HISTORY: dict[str, dict[int, float]] = {
    # assumption: voucher programmes ran at ~0.5-1 亿/yr (mechanisms.md §3 prior 0.5-2)
    "voucher_budget": {2019: 0.5, 2020: 0.5, 2021: 0.8, 2022: 1.0, 2023: 1.0},
    # assumption: Xi'an 2019 trial rules for increment awards (mechanisms.md §4.1), rate guessed 5%
    "rd_subsidy_rate": {2019: 0.05, 2020: 0.05, 2021: 0.05, 2022: 0.05, 2023: 0.05},
    # 200亿 provincial guidance fund set up 2019 (www35383.com 2025-07-17); 44.32亿 transfer sub-funds 2020
    # (xbxxb 2021-02-04); 2023 level 250 is their sum rounded (assumption on deployment into the ecosystem)
    "fund_size": {2019: 150.0, 2020: 200.0, 2021: 220.0, 2022: 240.0, 2023: 250.0},
    # 318 national+provincial incubators and maker spaces in Mar 2019 (ifenglady.com 2019-03-21);
    # 461 provincial-level carriers at end-Jul 2023 (sciencenet 2023-09)
    "incubators": {2019: 318, 2020: 354, 2021: 390, 2022: 425, 2023: 461},
    # high-energy carriers are new in the plan (§4)
    "high_energy_incubators": {2019: 0, 2020: 0, 2021: 0, 2022: 0, 2023: 0},
    # first 10 provincial pilot bases designated 2022 (mechanisms.md §7)
    "poc_centres": {2019: 0, 2020: 0, 2021: 0, 2022: 10, 2023: 10},
    # assumption: no published count; 30 in 2023, growing with the Qinchuangyuan platform from 2021
    "tech_transfer_institutions": {2019: 15, 2020: 18, 2021: 22, 2022: 26, 2023: 30},
    # 82 events in H1 2023 (baogaosu 2023) -> 164/yr; earlier years assumption (platform launched 2021)
    "roadshows_per_year": {2019: 40, 2020: 40, 2021: 80, 2022: 120, 2023: 164},
    # 5 pilot universities before the Dec-2022 "十条措施"; 145 units in Jan 2024 (lr5.cn 2024-01-17);
    # 2021-2022 values are an assumption on the roll-out
    "reform_units": {2019: 0, 2020: 0, 2021: 5, 2022: 40, 2023: 145},
}


def level_2023(name: str) -> float:
    return HISTORY[name][LAST_BASE_YEAR]


def frozen_2023() -> PolicyLevers:
    """Every lever held at its 2023 level."""
    return PolicyLevers(**{f.name: type(getattr(PolicyLevers(), f.name))(level_2023(f.name)) for f in fields(PolicyLevers)})


SCENARIOS = {"plan": PolicyLevers, "frozen_2023": frozen_2023}


def scenario(name: str) -> PolicyLevers:
    try:
        return SCENARIOS[name]()
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; known: {sorted(SCENARIOS)}") from None


class Policy:
    """The government: lever values by year and the budgets it pays out.

    ``lever(name, year)`` is what every agent asks. Spending is booked in
    ``spent`` (亿元 by year and instrument) so a study can put costs beside effects.
    """

    def __init__(self, levers: PolicyLevers | None = None):
        self.levers = (levers or PolicyLevers()).validate()
        self._values = asdict(self.levers)
        self.spent: dict[tuple[int, str], float] = {}

    def lever(self, name: str, year: int) -> float:
        if year <= LAST_BASE_YEAR:
            hist = HISTORY[name]
            return float(hist[max(min(year, LAST_BASE_YEAR), min(hist))])
        target = float(self._values[name])
        if name not in BUILD_UP:
            return target
        start = level_2023(name)
        frac = min(1.0, (year - LAST_BASE_YEAR) / (PLAN_YEAR - LAST_BASE_YEAR))
        return float(np.round(start + frac * (target - start)))

    def book(self, year: int, instrument: str, amount_100m_yuan: float) -> None:
        key = (year, instrument)
        self.spent[key] = self.spent.get(key, 0.0) + float(amount_100m_yuan)

    def spending(self, year: int) -> dict[str, float]:
        return {k[1]: v for k, v in self.spent.items() if k[0] == year}
