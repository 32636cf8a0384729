"""Guidance and venture funds: committed capital, deployment, deal flow, tickets.

Fund agents are created to match the ``fund_size`` lever. Each month every fund
deploys a slice of its commitment in tickets; deals are matched to firms in one
vectorised draw (weighted by stage fit, incubation, roadshow exposure and
certifications); a round lifts the firm's growth, R&D and survival (rules in
``sim.agents.firms``).
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.agents.firms import FUNDED_RD_BOOST, RD_INTENSITY_CAP
from sim.sampling import weighted_rows

MEAN_FUND_SIZE = 8.2  # 亿元: 45 sub-funds, 368.73亿 (provincial guidance fund, mid-2025; mechanisms.md §8.2)
TICKET_SIGMA = 1.0  # sd of log ticket: median 1,500万, mean ~2,500万 (mechanisms.md §8.3: mean ~3,000万)
MAX_DEAL_AGE_YEARS = 10  # early-stage focus (assumption)
WEIGHT_INCUBATED, WEIGHT_HIGH_ENERGY, WEIGHT_ROADSHOW, WEIGHT_CERTIFIED = 2.0, 2.0, 3.0, 1.0  # assumption
ROADSHOW_MEMORY_MONTHS = 12
WAN_PER_100M = 1e4  # 万元 per 亿元


class Fund(mesa.Agent):
    """A guidance sub-fund or venture fund."""

    def __init__(self, model, committed_100m: float, vintage: int):
        super().__init__(model)
        self.committed = committed_100m  # 亿元
        self.invested = 0.0  # 亿元
        self.vintage = vintage
        self.deals = 0

    @property
    def dry_powder(self) -> float:
        return max(0.0, self.committed - self.invested)


class CapitalMarket:
    """All funds and the monthly deal matching."""

    def __init__(self, model):
        self.model = model
        self.funds: list[Fund] = []
        self.deals_this_year = 0

    def commit_to(self, year: int, fund_size_100m: float) -> None:
        """Raise new funds until commitments reach the lever level (funds are not wound up within 2035)."""
        have = sum(f.committed for f in self.funds)
        while have + 1e-9 < fund_size_100m:
            size = min(MEAN_FUND_SIZE, fund_size_100m - have)
            self.funds.append(Fund(self.model, size, year))
            have += size
        if have > fund_size_100m + 1e-9:  # a scenario cutting capital: stop the newest funds investing
            excess = have - fund_size_100m
            for f in reversed(self.funds):
                cut = min(excess, f.committed)
                f.committed -= cut
                excess -= cut
                if excess <= 1e-9:
                    break

    def step_month(self, month: int, year: int, rng) -> None:
        """Each fund deploys its monthly slice; deals go to weighted candidate firms."""
        m = self.model
        s, t = m.start, m.firms.table
        n = t.n
        monthly = np.array([min(f.dry_powder, f.committed * s.fund_deployment / 12) for f in self.funds])
        mean_ticket = s.ticket_median * np.exp(TICKET_SIGMA**2 / 2) / WAN_PER_100M  # 亿元
        lam = monthly / mean_ticket * m.scale  # deals at model scale
        deals = rng.poisson(lam)
        k = int(deals.sum())
        if k == 0 or n == 0:
            return
        age = (month - t.birth_month[:n]) / 12
        w = (t.alive[:n] & (age <= MAX_DEAL_AGE_YEARS)).astype(float)
        inc = t.incubator[:n]
        w *= 1.0 + WEIGHT_INCUBATED * (inc >= 0)
        he = m.incubators.high_energy_mask
        if he.size:
            w *= 1.0 + WEIGHT_HIGH_ENERGY * np.where(inc >= 0, he[np.maximum(inc, 0)], 0)
        w *= 1.0 + WEIGHT_ROADSHOW * ((month - t.roadshow_month[:n]) < ROADSHOW_MEMORY_MONTHS)
        w *= 1.0 + WEIGHT_CERTIFIED * ((t.hte_valid_until[:n] >= year) | (t.techsme_year[:n] >= year - 1))
        cum = np.cumsum(w)
        if cum[-1] <= 0:
            return
        rows = weighted_rows(cum, k, rng)
        tickets = s.ticket_median * np.exp(TICKET_SIGMA * rng.standard_normal(k))  # 万元
        t.funded_month[rows] = month
        np.add.at(t.funding_total, rows, tickets)
        t.rd_intensity[rows] = np.minimum(t.rd_intensity[rows] + FUNDED_RD_BOOST, RD_INTENSITY_CAP)
        # book the capital against the funds that made the deals
        owner = np.repeat(np.arange(len(self.funds)), deals)
        spent = np.bincount(owner, weights=tickets / WAN_PER_100M / m.scale, minlength=len(self.funds))
        for f, amount, d in zip(self.funds, spent.tolist(), deals.tolist()):
            if d:
                f.invested += amount
                f.deals += d
        self.deals_this_year += k
