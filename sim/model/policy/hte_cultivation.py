"""HNTE cultivation pool and small-to-above-scale programme (高企培育库, 小升规; plan §6, T16).

Mechanics, each January: the lever's number of firms enter the cultivation pool: registered tech SMEs
without a valid HNTE certificate, the closest to HNTE's R&D bar first. Pool members apply for HNTE that
year with ``apply_lift`` more probability, score ``score_lift`` more points (coaching on documentation)
and pass the review with ``pass_lift`` more. Pool
members in industry within 20 % below the above-scale revenue bar cross it with ``xsg_lift``
probability (小升规 coaching and reporting). Cash rewards follow results: a first HNTE certificate
(``REWARD_FIRST_HNTE``) and a first entry into above-scale statistics (``REWARD_XSG``).

Cost: coaching per pool member (``COACHING_PER_FIRM``) and the rewards paid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.agents.certification import ABOVE_SCALE_REVENUE, SECTOR_INDUSTRY, hte_rd_threshold
from sim.model.params import WAN_PER_100M
from sim.model.policy.instrument import Instrument, Lever, effect

LEVER = Lever(
    name="hte_cultivation",
    kind=int,
    unit="firms a year in the HNTE cultivation and 小升规 programmes",
    lo=0,
    hi=100000,
    plan=3000,
    plan_source="assumption: plan §6 sets no number; sized to T16's +1,000 new above-scale HNTE in 2024-26 and "
    "the 2023 pool",
    history={2017: 500, 2018: 800, 2019: 1000, 2020: 1000, 2021: 1500, 2022: 1500, 2023: 2000},
    history_source="assumption: city and provincial 培育库 existed before the plan; no Shaanxi count published",
    section="§6",
)

REWARD_FIRST_HNTE = (
    25.0  # 万元: Xi'an 20万 for a first HNTE certificate + 5万 district top-up (instruments.md §6)
)
REWARD_XSG = (
    30.0  # 万元: Xi'an 30万 on first entry into above-scale industrial statistics (instruments.md §6)
)
COACHING_PER_FIRM = 2.0  # 万元 per pool member a year (assumption: consultancy and review support)
XSG_BAND = 0.2  # pool members within 20% below the above-scale bar (instruments.md §6)


@dataclass(frozen=True)
class Effects:
    apply_lift: float = effect(
        0.1,
        0.05,
        0.15,
        "extra probability an eligible pool member applies for HNTE",
        "instruments.md §6: +0.05 to +0.15 per 20万 of reward (guess)",
    )
    pass_lift: float = effect(
        0.1,
        0.05,
        0.15,
        "extra probability a pool member passes the review",
        "instruments.md §6: +0.05 to +0.15 (guess)",
    )
    score_lift: float = effect(
        5.0,
        2.0,
        8.0,
        "capability-score points coaching adds (documentation of organisation and conversions)",
        "guess: the pool's purpose is to bring candidates over the 70-point mark (instruments.md §6)",
    )
    xsg_lift: float = effect(
        0.035,
        0.02,
        0.05,
        "probability a pool member near the above-scale bar crosses it in a year",
        "instruments.md §6: +0.02 to +0.05 a year for firms within 20% of the 2,000万 bar (guess)",
    )


class HteCultivation(Instrument):
    summary = "Pool members apply for and pass HNTE more often, and near-threshold industrial members cross the above-scale bar."
    unit_costs = (
        "2万 coaching per member (assumption)",
        "25万 per first HNTE certificate of a member (Xi'an 20万 + district 5万)",
        "30万 per first above-scale entry (Xi'an 小升规)",
    )
    lever = LEVER
    Effects = Effects
    primary_outcome = "T03"

    def open_year(self, year: int) -> None:
        m, e = self.model, self.effects
        rng = self.rng()
        t = m.firms.table
        n = t.n
        cand = np.flatnonzero(t.alive[:n] & (t.techsme_year[:n] >= year - 1) & (t.hte_valid_until[:n] < year))
        k = min(cand.size, int(rng.poisson(self.level(year) * m.scale)))
        if k == 0:
            return
        rd3, rev3 = t.rd_hist[cand].sum(axis=1), t.rev_hist[cand, :3].sum(axis=1)
        readiness = np.divide(rd3, rev3, out=np.zeros(cand.size), where=rev3 > 0) / hte_rd_threshold(
            t.rev_hist[cand, 0]
        )
        members = cand[
            np.argsort(-np.minimum(readiness, 1.0) - 0.01 * rng.random(cand.size), kind="stable")[:k]
        ]
        t.pool_year[members] = year
        rev = t.rev_hist[members, 0]
        near = (
            (t.sector[members] == SECTOR_INDUSTRY)
            & (rev < ABOVE_SCALE_REVENUE)
            & (rev >= (1 - XSG_BAND) * ABOVE_SCALE_REVENUE)
        )
        cross = members[near & (rng.random(members.size) < e.xsg_lift)]
        t.revenue[cross] = np.maximum(t.revenue[cross], ABOVE_SCALE_REVENUE * 1.02)
        self.book(year, "pool members coached", k / m.scale, COACHING_PER_FIRM / WAN_PER_100M)

    def members(self, year: int) -> np.ndarray:
        t = self.model.firms.table
        return t.pool_year[: t.n] == year

    def hte_lift(self, year: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """This year's pool members apply more, pass more and score more."""
        members, e = self.members(year), self.effects
        return e.apply_lift * members, e.pass_lift * members, e.score_lift * members

    def close_year(self, year: int, results: dict[str, np.ndarray]) -> None:
        """Rewards for this year's results among pool members: first HNTE certificates, first above-scale."""
        first_hte, first_above_scale = results["first_hte"], results["first_above_scale"]
        pool = self.members(year)
        scale = self.model.scale
        self.book(
            year,
            "first HNTE rewards",
            float((first_hte & pool).sum()) / scale,
            REWARD_FIRST_HNTE / WAN_PER_100M,
        )
        self.book(
            year, "小升规 rewards", float((first_above_scale & pool).sum()) / scale, REWARD_XSG / WAN_PER_100M
        )
