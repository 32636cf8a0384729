"""Guidance and venture funds: committed capital, deployment, deal flow, tickets.

Fund agents are raised to match the ``fund_size`` lever. Each month every fund deploys a slice of its
commitment in tickets; deals are matched to firms of the fund's stage in one vectorised draw, weighted
by incubation, roadshow exposure and certification. What a round does to a firm, and what it costs,
is the fund instrument's (``sim/model/policy/funds.py``).
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.model.agents.carriers import HIGH_ENERGY
from sim.model.params import MONTHS, WAN_PER_100M
from sim.model.sampling import weighted_rows

MEAN_FUND_SIZE = 8.2  # 亿元: 45 sub-funds, 368.73亿 (provincial guidance fund, mid-2025; mechanisms.md §8.2)
TICKET_SIGMA = (
    1.0  # sd of log ticket: an early fund's median 1,500万 gives a mean ~2,500万 (mechanisms.md §8.3)
)
DEPLOYMENT = 0.2  # share of committed capital invested a year: mechanisms.md §8.3, 15-25% (guess)
# Stage focus: (maximum firm age in years, median ticket 万元). Seed/angel and A rounds are most deals
# (24.1% and 40.6% of 2023 H1 deals, mechanisms.md §8.3); tickets around the 1,000-2,000万 median.
STAGES = {"seed": (3, 500.0), "early": (7, 1500.0), "growth": (10, 3000.0)}
STAGE_CYCLE = ("seed", "early", "early", "growth")  # new funds take stages in this rotation (assumption)
WEIGHT_INCUBATED, WEIGHT_HIGH_ENERGY, WEIGHT_CERTIFIED = 2.0, 2.0, 1.0  # deal-flow weights (assumption)


class Fund(mesa.Agent):
    """A guidance sub-fund or venture fund."""

    def __init__(self, model, committed_100m: float, vintage: int, stage: str):
        super().__init__(model)
        self.stage = stage
        self.max_age_years, self.ticket_median = STAGES[stage]  # years, 万元
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
        self.deals_this_year = 0  # at model scale; reset by ``open_year``

    def open_year(self) -> None:
        self.deals_this_year = 0

    def commit_to(self, year: int, fund_size_100m: float) -> None:
        """Raise new funds until commitments reach the lever level (funds are not wound up within 2035)."""
        have = sum(f.committed for f in self.funds)
        while have + 1e-9 < fund_size_100m:
            size = min(MEAN_FUND_SIZE, fund_size_100m - have)
            stage = STAGE_CYCLE[len(self.funds) % len(STAGE_CYCLE)]
            self.funds.append(Fund(self.model, size, year, stage))
            have += size
        if have > fund_size_100m + 1e-9:  # a scenario cutting capital: stop the newest funds investing
            excess = have - fund_size_100m
            for f in reversed(self.funds):
                cut = min(excess, f.committed)
                f.committed -= cut
                excess -= cut
                if excess <= 1e-9:
                    break

    def step_month(self, month: int, year: int, rng) -> tuple[np.ndarray, np.ndarray]:
        """Each fund deploys its monthly slice; returns the funded rows and their tickets (万元)."""
        m = self.model
        t = m.firms.table
        n = t.n
        empty = (np.empty(0, dtype=np.int64), np.empty(0))
        if not self.funds or n == 0:
            return empty
        monthly = np.array([min(f.dry_powder, f.committed * DEPLOYMENT / MONTHS) for f in self.funds])
        ticket_median = np.array([f.ticket_median for f in self.funds])
        mean_ticket = ticket_median * np.exp(TICKET_SIGMA**2 / 2) / WAN_PER_100M  # 亿元
        deals = rng.poisson(monthly / mean_ticket * m.scale)  # deals at model scale
        if deals.sum() == 0:
            return empty
        age_months = month - t.birth_month[:n]
        tier = m.incubators.tier_of_firms()
        w = (
            t.alive[:n]
            * (1.0 + WEIGHT_INCUBATED * (tier >= 0))
            * (1.0 + WEIGHT_HIGH_ENERGY * (tier == HIGH_ENERGY))
        )
        w *= m.policy.deal_weight(month, n)
        w *= 1.0 + WEIGHT_CERTIFIED * ((t.hte_valid_until[:n] >= year) | (t.techsme_year[:n] >= year - 1))
        stages = np.array([f.stage for f in self.funds])
        spent = np.zeros(len(self.funds))
        all_rows, all_tickets = [], []
        for stage, (max_age, _) in STAGES.items():
            mine = np.flatnonzero(stages == stage)
            k = int(deals[mine].sum())
            if k == 0:
                continue
            # firms of the stage's ages only (the others weigh nothing: the same draw, cheaper)
            stage_rows = np.flatnonzero(age_months <= max_age * MONTHS)
            rows = stage_rows[weighted_rows(np.cumsum(w[stage_rows]), k, rng)]
            if rows.size == 0:
                continue
            owner = np.repeat(mine, deals[mine])
            tickets = ticket_median[owner] * np.exp(TICKET_SIGMA * rng.standard_normal(k))  # 万元
            spent += np.bincount(owner, weights=tickets / WAN_PER_100M / m.scale, minlength=len(self.funds))
            self.deals_this_year += k
            all_rows.append(rows)
            all_tickets.append(tickets)
        for f, amount, d in zip(self.funds, spent.tolist(), deals.tolist()):
            if d:
                f.invested += amount
                f.deals += d
        if not all_rows:
            return empty
        return np.concatenate(all_rows), np.concatenate(all_tickets)
