"""Roadshows (路演; plan §2: 200 offline events and 1,000 projects a year, T11).

Mechanics, each January: the year's events pitch ``PROJECTS_PER_EVENT`` projects each. Half are young
firms: they enter funds' deal flow with extra weight ``funding_weight`` for 12 months and gain
``revenue_lift`` (new partners and customers; Cai & Szeidl 2018 found +8.1% for repeated meetings,
a one-off pitch counts for less). Half are university and institute results: ``close_rate`` of them
close a transfer within the year.

Cost: ``COST_PER_EVENT`` per event.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.params import MONTHS
from sim.model.policy.instrument import Instrument, Lever, effect

LEVER = Lever(
    name="roadshows_per_year",
    kind=int,
    unit="offline roadshow events a year",
    lo=0,
    hi=5000,
    plan=200,
    plan_source="plan §2: 每年线下路演200场次 (T11)",
    history={2017: 30, 2018: 35, 2019: 40, 2020: 40, 2021: 80, 2022: 120, 2023: 164},
    history_source="82 events in H1 2023 (baogaosu 2023) -> 164/yr; earlier years assumption (platform launched 2021)",
    section="§2",
)

PROJECTS_PER_EVENT = 5.0  # plan §2: 1,000 projects / 200 events
FIRM_SHARE = 0.5  # assumption: half the pitched projects are firms, half university results
PITCH_AGE_YEARS = 10  # young firms pitch (assumption)
COST_PER_EVENT = 0.0015  # 亿元 (15万) per event (assumption: venue, organisation, investor outreach)


@dataclass(frozen=True)
class Effects:
    close_rate: float = effect(
        0.3,
        0.2,
        0.4,
        "pitched results closing a transfer within 12 months",
        "mechanisms.md §8.1: 20-40% (guess)",
    )
    funding_weight: float = effect(
        2.0,
        0.5,
        4.0,
        "extra weight of a pitched firm in funds' deal flow for 12 months",
        "instruments.md §7: +2 to +8 pp on a 10-25% funding probability (Howell & Nanda; Cao)",
    )
    revenue_lift: float = effect(
        0.02,
        0.0,
        0.04,
        "one-off revenue gain of a pitched firm (share)",
        "instruments.md §7: Cai & Szeidl 2018 +8.1% for monthly meetings; one-off events at half or less",
    )


class Roadshows(Instrument):
    stream = "roadshows"  # random-stream key (stable across renames)
    summary = "Five projects per event: young firms gain funds' attention and some revenue; university results close transfers."
    unit_costs = ("15万 per event (assumption)",)
    lever = LEVER
    Effects = Effects
    primary_outcome = "T08"

    def open_year(self, year: int) -> None:
        m, e = self.model, self.effects
        rng = self.rng()
        org = m.intermediaries.roadshows
        org.events = int(self.level(year))
        org.projects = int(round(org.events * PROJECTS_PER_EVENT))
        t = m.firms.table
        n = t.n
        k = int(rng.poisson(org.projects * FIRM_SHARE * m.scale))
        young = np.flatnonzero(t.alive[:n] & ((m.month - t.birth_month[:n]) < PITCH_AGE_YEARS * MONTHS))
        if k and young.size:
            pitched = rng.choice(young, size=min(k, young.size), replace=False)
            t.roadshow_month[pitched] = m.month
            t.revenue[pitched] *= 1.0 + e.revenue_lift
        closed = int(rng.binomial(int(org.projects * (1 - FIRM_SHARE)), e.close_rate))
        moved, _ = m.institutions.take_transfers(closed, rng, m.params.spinoff_share)
        m.market.book_transfers(moved, rng, buyers=True)
        self.book(year, "events", org.events, COST_PER_EVENT)

    def deal_weight(self, month: int) -> np.ndarray:
        """Funds' deal-flow weight multiplier for firms pitched in the last 12 months."""
        t = self.model.firms.table
        return 1.0 + self.effects.funding_weight * ((month - t.roadshow_month[: t.n]) < MONTHS)
