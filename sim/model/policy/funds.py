"""Guidance and venture funds (plan §11, §16: seed and angel sub-funds, the 50亿元 Qinchuangyuan fund
cluster, the 200亿元 Xixian VC matrix).

Mechanics: each January new funds are raised until commitments reach the lever; each month every fund
deploys a slice of its commitment in tickets to firms of its stage (``sim/model/agents/capital.py``:
deal flow weighted by incubation, roadshow exposure and certification). A funded firm grows faster
(``growth_boost`` for 3 years), raises its R&D intensity (``rd_boost``) and exits less
(``exit_factor`` for 2 years); its equity raises net assets (HNTE growth score, 专精特新 equity route).
Literature warns that much of the funded firms' edge is selection, not treatment (instruments.md §7):
the effect ranges are set low for that reason.

Cost: the government's share of the capital deployed (``gov_share`` of every ticket: guidance funds
lever private money 4-11x), booked when invested. Returns on exits are not netted (conservative).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.params import WAN_PER_100M
from sim.model.policy.instrument import START_YEAR, Instrument, Lever, effect

LEVER = Lever(
    name="fund_size",
    kind=float,
    unit="亿元 of guidance and venture capital committed",
    lo=0,
    hi=10000,
    plan=500.0,
    plan_source="2023 level 250 + 50 (plan §16, 50亿元 fund cluster, T25) + 200 (plan §11, Xixian 200亿元 VC matrix, T22)",
    history={2017: 100.0, 2018: 120.0, 2019: 150.0, 2020: 200.0, 2021: 220.0, 2022: 240.0, 2023: 250.0},
    history_source="200亿 provincial guidance fund set up 2019 (www35383.com 2025-07-17); 44.32亿 transfer sub-funds "
    "2020 (xbxxb 2021-02-04); 2023 level 250 is their sum rounded (assumption on deployment into the ecosystem); 2017-2018 "
    "funds before the provincial guidance fund: assumption",
    section="§11, §16",
)

GROWTH_MONTHS = 36  # the growth boost lasts 3 years (mechanisms.md §8.3)
EXIT_MONTHS = 24  # the exit hazard is lowered for 2 years (mechanisms.md §8.3)


@dataclass(frozen=True)
class Effects:
    growth_boost: float = effect(
        0.10,
        0.03,
        0.20,
        "extra log revenue growth a year for 3 years after a round",
        "mechanisms.md §8.3: +10-20 pp/yr (guess); lowered because selection explains 50-80% of the gap "
        "(Dong, Wang & Guo 2018; instruments.md §7)",
    )
    rd_boost: float = effect(
        0.012,
        0.005,
        0.02,
        "R&D intensity points added after a round",
        "mechanisms.md §8.3: +1-2 pp (guess)",
    )
    exit_factor: float = effect(
        0.7,
        0.5,
        0.95,
        "exit hazard multiplier for 2 years after a round",
        "mechanisms.md §8.3: halved (guess)",
    )
    gov_share: float = effect(
        0.15,
        0.09,
        0.25,
        "government share of the capital invested (the public cost per yuan)",
        "mechanisms.md §8.2 / P30: guidance-fund leverage 4-11x (1/11-1/4)",
    )


class Funds(Instrument):
    stream = "funds"  # random-stream key (stable across renames)
    summary = "Funds deploy 20% of commitments a year in tickets to firms of their stage; a round raises growth and R&D and lowers exit."
    unit_costs = (
        "the government's share of every yuan invested (gov_share 9-25%: guidance-fund leverage 4-11x, mechanisms.md §8.2)",
    )
    lever = LEVER
    Effects = Effects
    primary_outcome = "T03"

    def start(self) -> None:
        self.model.capital.commit_to(START_YEAR, self.level(START_YEAR))

    def open_year(self, year: int) -> None:
        self.model.capital.commit_to(year, self.level(year))

    def act(self, month: int, year: int) -> None:
        """Funds deploy this month's slice; funded firms get the round's effects; book the public share."""
        m = self.model
        rows, tickets = m.capital.step_month(month, year, m.streams.at("funding", month))
        if rows.size:
            m.firms.receive_equity(rows, tickets, month, rd_boost=self.effects.rd_boost)
            self.book(
                year,
                "public capital invested",
                float(tickets.sum()) / m.scale / WAN_PER_100M,
                self.effects.gov_share,
            )

    def growth_boost(self, month: int) -> np.ndarray:
        t = self.model.firms.table
        return self.effects.growth_boost * ((month - t.funded_month[: t.n]) < GROWTH_MONTHS)

    def exit_factor(self, month: int) -> np.ndarray:
        t = self.model.firms.table
        factor = np.ones(t.n)
        factor[(month - t.funded_month[: t.n]) < EXIT_MONTHS] = self.effects.exit_factor
        return factor
