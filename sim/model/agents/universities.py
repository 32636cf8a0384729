"""Universities and research institutes: the non-enterprise side of R&D and the three reforms.

Ordinary Mesa agents (about 200) that act once a year: R&D spending grows,
job-related achievements and invention patents accrue, reformed units itemise
their achievements (单列管理) and transfer them at a higher hazard, transfers
found spin-offs. Their monthly contract sales are drawn by the market from
arrays the model refreshes each year.
"""

from __future__ import annotations

import mesa
import numpy as np

UNIVERSITY, INSTITUTE = 0, 1
RD_NOISE = 0.03  # sd of yearly log R&D growth per institution (assumption)
BASELINE_TRANSFER_FACTOR = 0.5  # non-reformed units transfer at half the reformed hazard (mechanisms.md §6.1: x1.5-3)
INSTITUTE_ACHIEVEMENT_FACTOR = 0.3  # institutes itemise fewer results per yuan than universities (assumption)
RESEARCHERS_PER_100M = 200  # R&D full-time equivalents per 亿元 of R&D (assumption: ~50万 per FTE-year, the
# rough national average)
STOCK_YEARS_2018 = 4.0  # job-related achievements held at end-2018, in years of output (assumption)


class Institution(mesa.Agent):
    """A university or research institute (small institutes aggregated)."""

    def __init__(self, model, kind: int, rd_100m: float, reform_rank: int, patents: int):
        super().__init__(model)
        self.kind = kind
        self.rd = rd_100m  # R&D spending this year, 亿元
        self.reform_rank = reform_rank  # institutions adopt the reforms in this order
        self.reformed = False
        self.patents = patents  # invention patents held
        p = model.start
        self.achievement_rate = p.achievements_per_100m * (1.0 if kind == UNIVERSITY else INSTITUTE_ACHIEVEMENT_FACTOR)
        self.achievements = int(STOCK_YEARS_2018 * self.achievement_rate * rd_100m)  # not itemised
        self.itemised = 0  # 单列管理 achievements not yet transferred
        self.itemised_total = 0  # cumulative itemised (T07)
        self.transferred = 0  # transfers this year
        self.transferred_total = 0
        self.reform_transferred_total = 0  # transfers while under the reforms (the reforms' own statistic)
        self.spinoffs_total = 0
        self.spinoffs = 0  # spin-offs this year

    @property
    def researchers(self) -> float:
        """R&D full-time equivalents."""
        return self.rd * RESEARCHERS_PER_100M

    def step_year(self, year: int, coverage_units: int, rng) -> None:
        """One year: R&D, achievements, reform adoption, transfers, spin-offs, patents."""
        m, p = self.model, self.model.params
        if year > 2019:  # 2019 R&D is the observed level (StartState.rd_nonenterprise_2019)
            self.rd *= float(np.exp(p.nonenterprise_rd_growth + RD_NOISE * rng.standard_normal()))
        new = int(rng.poisson(self.achievement_rate * self.rd))
        if not self.reformed and self.reform_rank < coverage_units:
            self.reformed = True
            self.itemised += self.achievements
            self.itemised_total += self.achievements
            self.achievements = 0
        if self.reformed:
            self.itemised += new
            self.itemised_total += new
            hazard = p.commercialisation_hazard * m.poc_multiplier
            self.transferred = int(rng.binomial(self.itemised, min(hazard, 1.0)))
            self.itemised -= self.transferred
        else:
            self.achievements += new
            self.transferred = int(rng.binomial(self.achievements, p.commercialisation_hazard * BASELINE_TRANSFER_FACTOR))
            self.achievements -= self.transferred
        self.spinoffs = int(rng.binomial(self.transferred, p.spinoff_share)) if self.reformed else 0
        self.transferred_total += self.transferred
        if self.reformed:
            self.reform_transferred_total += self.transferred
        self.spinoffs_total += self.spinoffs
        granted = int(rng.poisson(p.univ_patents_per_100m * self.rd))
        self.patents += granted - int(rng.binomial(self.patents, p.patent_lapse))

    def take_transfers(self, k: int) -> int:
        """Intermediaries move up to ``k`` more achievements out of this unit; returns how many."""
        pool = self.itemised if self.reformed else self.achievements
        k = min(k, pool)
        if self.reformed:
            self.itemised -= k
        else:
            self.achievements -= k
        self.transferred += k
        self.transferred_total += k
        if self.reformed:
            self.reform_transferred_total += k
        return k


def build_institutions(model, rng) -> list[Institution]:
    """Universities and institutes with 2019 R&D that sums to the observed non-enterprise total."""
    s = model.start
    n_u, n_i = s.universities, s.institutes
    # R&D is concentrated in a few large units: lognormal weights (assumption, sd 1.0)
    w_u = np.exp(rng.normal(0.0, 1.0, n_u))
    w_i = np.exp(rng.normal(0.0, 1.0, n_i))
    rd_u = s.rd_nonenterprise_2019 * s.univ_share_nonenterprise * w_u / w_u.sum()
    rd_i = s.rd_nonenterprise_2019 * (1 - s.univ_share_nonenterprise) * w_i / w_i.sum()
    kinds = np.r_[np.full(n_u, UNIVERSITY), np.full(n_i, INSTITUTE)]
    rd = np.r_[rd_u, rd_i]
    # Reform order: universities first (the pilots were universities), larger units first (assumption)
    order = np.lexsort((-rd, kinds))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    held = s.patents_2018 * (1 - s.firm_patent_share_2018)
    patents = rng.multinomial(int(held), rd / rd.sum())
    return [Institution(model, int(k), float(r), int(q), int(h)) for k, r, q, h in zip(kinds, rd, rank, patents)]
