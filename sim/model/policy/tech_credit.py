"""Science-and-technology credit (秦科贷, 工信贷, IP pledge 秦知贷, 十行千亿惠万企; plan §16).

Mechanics, each month: a twelfth of the year's loan volume goes to eligible firms (registered tech
SMEs or valid HNTE), drawn in proportion to the square root of revenue, in loans of lognormal size
(``LOAN_MEDIAN``). Young borrowers (under 7 years) are credit-constrained: they grow faster
(``growth_uplift`` for two years); every borrower spends ``rd_per_loan_yuan`` of the loan on R&D in
the following twelve months (most goes to working capital); guaranteed loans default more: the
borrower's exit hazard rises by ``extra_default`` a year for two years (risk shifting).

Cost: the fiscal cost of the schemes (interest subsidies and risk-pool losses) as a share of the
volume lent, ``FISCAL_COST_SHARE``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.params import MONTHS, WAN_PER_100M
from sim.model.policy.instrument import Instrument, Lever, effect
from sim.model.sampling import weighted_rows

LEVER = Lever(
    name="tech_credit",
    kind=float,
    unit="亿元 of science-and-technology loans a year",
    lo=0,
    hi=5000,
    plan=150.0,
    plan_source="assumption: plan §16 names 秦科贷, IP pledge and loan-investment linkage with no amount; the 2023 "
    "level raised by half",
    history={2017: 0.0, 2018: 0.0, 2019: 0.0, 2020: 20.0, 2021: 40.0, 2022: 70.0, 2023: 100.0},
    history_source="秦科贷's predecessor: 省科技厅 x Bank of China, 200亿 over 5 years from 2020, 20亿 in 2020 "
    "(cnwest 2020-04-09); 工信贷 lent 48.31亿 in Q1 2023, part to tech firms (ishaanxi); 2021-2023 an assumption",
    section="§16",
)

LOAN_MEDIAN = 300.0  # 万元: instruments.md §2, median 150-400万 (十行千亿 ≈ 255万, Henan ≈ 617万 mean)
LOAN_SIGMA = 0.8  # sd of log loan size (assumption: mean ≈ 410万)
FISCAL_COST_SHARE = 0.015  # public cost per yuan lent a year: instruments.md §2, 0.5-3% (Henan 0.8%)
YOUNG_YEARS = 7  # borrowers under this age are credit-constrained (instruments.md §2: young firms)
UPLIFT_MONTHS = 24  # growth uplift and extra default last 2 years (instruments.md §2: 2-3 years)


@dataclass(frozen=True)
class Effects:
    growth_uplift: float = effect(
        0.04,
        0.02,
        0.06,
        "extra log revenue growth a year for 2 years, young borrowers",
        "instruments.md §2: +2 to +6 pp (Brown & Earle 2017; Lelarge, Sraer & Thesmar 2010)",
    )
    rd_per_loan_yuan: float = effect(
        0.1,
        0.05,
        0.2,
        "R&D spent per yuan borrowed, in the following year",
        "instruments.md §2: 0.05-0.20 (de Blasio et al. 2018; Bach 2014)",
    )
    extra_default: float = effect(
        0.01,
        0.005,
        0.02,
        "extra exit hazard a year for 2 years after a guaranteed loan",
        "instruments.md §2: +0.5 to 2 pp (Lelarge et al.; de Blasio et al.)",
    )


class TechCredit(Instrument):
    summary = "Loans to registered tech SMEs and HNTE: young borrowers grow faster, every borrower adds R&D, and defaults rise a little."
    unit_costs = ("fiscal cost 1.5% of the volume lent (instruments.md §2: 0.5-3%; Henan 0.8%)",)
    lever = LEVER
    Effects = Effects
    primary_outcome = "T03"

    def act(self, month: int, year: int) -> None:
        """This month's loans to registered tech SMEs and HNTE, weighted by the square root of revenue."""
        m, e = self.model, self.effects
        volume = self.level(year) / MONTHS * WAN_PER_100M * m.scale  # 万元 this month at model scale
        if volume <= 0:
            return
        rng = self.rng()
        t = m.firms.table
        n = t.n
        ok = t.alive[:n] & ((t.techsme_year[:n] >= year - 1) | (t.hte_valid_until[:n] >= year - 1))
        mean_loan = LOAN_MEDIAN * np.exp(LOAN_SIGMA**2 / 2)
        eligible = np.flatnonzero(ok)  # borrowers are drawn among these only, by the square root of revenue
        rows = eligible[
            weighted_rows(np.cumsum(np.sqrt(t.revenue[eligible])), int(rng.poisson(volume / mean_loan)), rng)
        ]
        if rows.size == 0:
            return
        loans = LOAN_MEDIAN * np.exp(LOAN_SIGMA * rng.standard_normal(rows.size))
        t.credit_month[rows] = month
        np.add.at(t.loans_total, rows, loans)
        m.firms.add_extra_rd(rows, e.rd_per_loan_yuan * loans)
        self.book(year, "loans", float(loans.sum()) / m.scale / WAN_PER_100M, FISCAL_COST_SHARE)

    def growth_boost(self, month: int) -> np.ndarray:
        t = self.model.firms.table
        n = t.n
        young = (month - t.birth_month[:n]) < YOUNG_YEARS * MONTHS
        return self.effects.growth_uplift * (young & ((month - t.credit_month[:n]) < UPLIFT_MONTHS))

    def exit_factor(self, month: int) -> np.ndarray:
        """Multiplier on the exit hazard: (h + extra) / h for recent borrowers (h: the firm's base hazard)."""
        t = self.model.firms.table
        recent = np.flatnonzero((month - t.credit_month[: t.n]) < UPLIFT_MONTHS)
        base = self.model.firms.base_exit_hazard(month)[recent]
        factor = np.ones(t.n)
        factor[recent] = 1.0 + self.effects.extra_default / np.maximum(base, 1e-9)
        return factor
