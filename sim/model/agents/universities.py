"""Universities, research institutes, hospitals and SOE labs: non-enterprise R&D and the three reforms.

Ordinary Mesa agents (about 350) that act once a year (``Institutions.step_year``): R&D grows,
job-related achievements accrue, units under the three reforms bring their achievements under separate
management (单列管理: new ones at once; the earlier backlog at ``itemise_rate`` a year during the
campaign to 2023, after which only new achievements are itemised) and transfer
them at the commercialisation hazard, transfers by reformed units found spin-offs, and invention
patents are granted with the examination lag. Intermediaries move more achievements out of the stocks
(``take_transfers``). Their monthly contract sales are drawn by the market from ``rd`` and ``supply``.

The reforms reach units in the plan's order (§1: 从省属高校、科研院所扩展到部属高校、中央驻陕院所、医疗卫生
机构、国有企业), larger units first within a group.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.model.agents.patents import GRANT_LAG_SHARES
from sim.model.params import FIRST_YEAR

# Unit groups, in the order the reforms reach them (plan §1).
PROVINCIAL_UNIVERSITY, PROVINCIAL_INSTITUTE, MINISTRY_UNIVERSITY, CENTRAL_INSTITUTE, OTHER_UNIT = range(5)
UNIVERSITY_GROUPS = (PROVINCIAL_UNIVERSITY, MINISTRY_UNIVERSITY)
RD_NOISE = 0.03  # sd of yearly log R&D growth per institution (assumption)
RD_WEIGHT_SIGMA = 1.0  # R&D is concentrated in a few large units: lognormal weights (assumption)
INSTITUTE_ACHIEVEMENT_FACTOR = (
    0.15  # institutes itemise fewer results per yuan than universities (assumption:
)
# much institute output is classified, defence or kept in-house; T07's plan target 120,000 at plan coverage)
OTHER_UNIT_ACHIEVEMENTS = 20.0  # achievements a year per hospital or SOE lab (assumption)
RESEARCHERS_PER_100M = 200  # R&D full-time equivalents per 亿元 of R&D (assumption: ~50万 per FTE-year)
STOCK_YEARS_START = 2.0  # job-related achievements held at the start (end-2016), in years of output
# (assumption: with the 2017-2020 output, the backlog the reforms met in 2021 is about 6 years of output)
# Itemisation (单列管理) of the backlog was a campaign: the pilots from 2021 and, after the Dec-2022 十条措施,
# the covered units in 2023 itemised their accumulated stock (53,205 by June 2023, 84,372 by January 2024;
# mechanisms.md §6.2). From 2024 covered units, old or new, itemise the flow of their new achievements only
# (``new_achievements``, at the fitted ``achievements_per_100m``); a backlog left over stays outside
# separate management (our reading of the series: no second stock-take is reported).
ITEMISATION_CAMPAIGN_LAST_YEAR = 2023


class Institution(mesa.Agent):
    """A university, research institute, hospital or SOE lab (small institutes aggregated)."""

    def __init__(
        self, model, group: int, rd_100m: float, reform_rank: int, patents: int, achievement_rate: float
    ):
        super().__init__(model)
        self.group = group
        self.rd = rd_100m  # R&D spending this year, 亿元 (trend part)
        self.extra_rd = 0.0  # 亿元 this year from talents and key-technology projects (set by instruments)
        self.reform_rank = reform_rank  # the reforms reach units in this order
        self.reformed = False
        self.patents = patents  # invention patents held
        self.pending = np.zeros(len(GRANT_LAG_SHARES), dtype=np.int64)  # applications granted in 1, 2 years
        self.patent_productivity = 1.0  # multiplier from recruited talents (instruments)
        self.achievement_rate = achievement_rate  # achievements a year per 亿元 (or per year for other units)
        self.achievements = 0  # not under separate management
        self.itemised = 0  # 单列管理 achievements not yet transferred
        self.itemised_total = 0  # cumulative itemised (T07)
        self.transferred = 0  # transfers this year
        self.reform_transferred_total = 0  # transfers while under the reforms (T08's official basis)
        self.spinoffs = 0  # spin-offs this year
        self.spinoffs_total = 0  # cumulative (T09's official basis)
        self.granted = 0  # invention patents granted this year

    @property
    def is_university(self) -> bool:
        return self.group in UNIVERSITY_GROUPS

    @property
    def total_rd(self) -> float:
        return self.rd + self.extra_rd

    @property
    def researchers(self) -> float:
        """R&D full-time equivalents."""
        return self.total_rd * RESEARCHERS_PER_100M

    def new_achievements(self) -> float:
        """Expected job-related achievements this year."""
        if self.group == OTHER_UNIT:
            return self.achievement_rate
        return self.achievement_rate * self.total_rd

    def step_year(self, year: int, reformed: bool, hazard: float, reform_multiplier: float, rng) -> None:
        """One year: R&D, achievements, reform status, itemisation flow, transfers, spin-offs, patents."""
        p = self.model.params
        if year > FIRST_YEAR:  # the first year's R&D is set by ``build_institutions``
            self.rd *= float(np.exp(p.nonenterprise_rd_growth + RD_NOISE * rng.standard_normal()))
        new = int(rng.poisson(self.new_achievements()))
        self.reformed = reformed
        if reformed:
            moved = self.itemise_backlog(year, p.itemise_rate, rng)
            self.achievements -= moved
            self.itemised += new + moved
            self.itemised_total += new + moved
            self.transferred = int(rng.binomial(self.itemised, min(hazard, 1.0)))
            self.itemised -= self.transferred
            self.reform_transferred_total += self.transferred
            self.spinoffs = int(rng.binomial(self.transferred, p.spinoff_share))
        else:
            self.achievements += new
            self.transferred = int(rng.binomial(self.achievements, min(hazard / reform_multiplier, 1.0)))
            self.achievements -= self.transferred
            self.spinoffs = 0
        self.spinoffs_total += self.spinoffs
        granted = int(self.pending[0])
        self.granted = granted
        self.pending[:-1] = self.pending[1:]
        self.pending[-1] = 0
        applied = int(
            rng.poisson(
                p.univ_patents_per_100m
                * self.model.patent_propensity(year)
                * self.total_rd
                * self.patent_productivity
            )
        )
        self.pending += rng.multinomial(applied, GRANT_LAG_SHARES)
        self.patents += granted - int(rng.binomial(self.patents, p.patent_lapse))

    def itemise_backlog(self, year: int, rate: float, rng) -> int:
        """Achievements of earlier years brought under separate management this year: ``rate`` of the
        backlog during the campaign (to ``ITEMISATION_CAMPAIGN_LAST_YEAR``), none after it."""
        if year > ITEMISATION_CAMPAIGN_LAST_YEAR:
            return 0
        return int(rng.binomial(self.achievements, rate))

    def take_transfers(self, k: int, rng, spinoff_share: float) -> tuple[int, int]:
        """Intermediaries move up to ``k`` more achievements out of this unit: (transferred, spin-offs)."""
        pool = self.itemised if self.reformed else self.achievements
        k = min(k, pool)
        spin = 0
        if self.reformed:
            self.itemised -= k
            self.reform_transferred_total += k
            spin = int(rng.binomial(k, spinoff_share))
            self.spinoffs += spin
            self.spinoffs_total += spin
        else:
            self.achievements -= k
        self.transferred += k
        return k, spin


class Institutions:
    """All units: their agents, the reform roll-out and the yearly step; arrays the market reads."""

    def __init__(self, model, rng):
        self.model = model
        self.units = build_institutions(model, rng)
        self.order = np.argsort([u.reform_rank for u in self.units], kind="stable")

    def __iter__(self):
        return iter(self.units)

    def __len__(self) -> int:
        return len(self.units)

    def step_year(self, year: int, reform_units: int, reform_multiplier: float, rng) -> None:
        """Reform coverage reaches the first ``reform_units`` units in the plan's order; every unit steps.

        Instruments add this year's extra R&D (talents, projects) after the step, so it starts at zero.
        """
        hazard = self.model.params.commercialisation_hazard
        for u in self.units:
            u.extra_rd = 0.0
            u.step_year(year, u.reform_rank < reform_units, hazard, reform_multiplier, rng)

    def take_transfers(self, k: int, rng, spinoff_share: float) -> tuple[int, int]:
        """``k`` brokered transfers out of the units' stocks (reformed units' itemised stocks weigh first)."""
        if k <= 0:
            return 0, 0
        pools = np.array(
            [u.itemised if u.reformed else 0.5 * u.achievements for u in self.units], dtype=float
        )
        if pools.sum() <= 0:
            return 0, 0
        share = rng.multinomial(k, pools / pools.sum())
        moved = spun = 0
        for u, q in zip(self.units, share.tolist()):
            if q:
                got, spin = u.take_transfers(q, rng, spinoff_share)
                moved += got
                spun += spin
        return moved, spun

    def rd_array(self) -> np.ndarray:
        """R&D this year per unit, 亿元 (trend plus instruments' extras)."""
        return np.array([u.total_rd for u in self.units])

    def rd_total(self) -> float:
        return float(sum(u.total_rd for u in self.units))

    def reformed_array(self) -> np.ndarray:
        return np.array([u.reformed for u in self.units])

    def spinoffs_this_year(self) -> int:
        return int(sum(u.spinoffs for u in self.units))

    def totals(self) -> dict[str, float]:
        """Cumulative reform statistics (official basis: since the reforms started) and patents held."""
        us = self.units
        return {
            "itemised": float(sum(u.itemised_total for u in us)),
            "transferred": float(sum(u.reform_transferred_total for u in us)),
            "spinoffs": float(sum(u.spinoffs_total for u in us)),
            "units_covered": float(sum(u.reformed for u in us)),
            "patents": float(sum(u.patents for u in us)),
            "granted": float(sum(u.granted for u in us)),
        }


def build_institutions(model, rng) -> list[Institution]:
    """Units in the reforms' order, with first-year R&D summing to the observed 2019 non-enterprise total
    deflated to the first year at ``nonenterprise_rd_growth`` (so 2019 is at the observed level on average)."""
    s = model.start
    level = s.rd_nonenterprise_2019 * np.exp(-model.params.nonenterprise_rd_growth * (2019 - FIRST_YEAR))
    n_u, n_i, n_o = s.universities, s.institutes, s.other_units
    w_u = np.sort(np.exp(rng.normal(0.0, RD_WEIGHT_SIGMA, n_u)))[::-1]
    w_i = np.sort(np.exp(rng.normal(0.0, RD_WEIGHT_SIGMA, n_i)))[::-1]
    rd_u = level * s.univ_share_nonenterprise * w_u / w_u.sum()
    rd_i = level * (1 - s.univ_share_nonenterprise) * w_i / w_i.sum()
    # the largest universities are the ministry ones, the largest institutes the central ones (assumption)
    g_u = np.where(np.arange(n_u) < s.ministry_universities, MINISTRY_UNIVERSITY, PROVINCIAL_UNIVERSITY)
    g_i = np.where(np.arange(n_i) < s.central_institutes, CENTRAL_INSTITUTE, PROVINCIAL_INSTITUTE)
    groups = np.r_[g_u, g_i, np.full(n_o, OTHER_UNIT)]
    rd = np.r_[rd_u, rd_i, np.zeros(n_o)]
    order = np.lexsort((-rd, groups))  # plan order by group, larger units first
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    held = s.patents_start * (1 - s.firm_patent_share_start)
    patents = rng.multinomial(int(held), rd / rd.sum())
    units = []
    for g, r, q, h in zip(groups.tolist(), rd.tolist(), rank.tolist(), patents.tolist()):
        if g == OTHER_UNIT:
            rate = OTHER_UNIT_ACHIEVEMENTS
        elif g in UNIVERSITY_GROUPS:
            rate = model.params.achievements_per_100m
        else:
            rate = model.params.achievements_per_100m * INSTITUTE_ACHIEVEMENT_FACTOR
        u = Institution(model, g, r, q, h, rate)
        u.achievements = int(STOCK_YEARS_START * u.new_achievements())
        p = model.params
        lam = p.univ_patents_per_100m * r  # applications in flight at the start, at the first year's rate
        u.pending = rng.poisson(lam * np.cumsum(GRANT_LAG_SHARES[::-1])[::-1])
        units.append(u)
    return units
