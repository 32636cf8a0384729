"""The technology-contract market (drives T01).

Contracts are registered on the **seller** side (技术合同认定登记实行卖方登记制度, mechanisms.md §2.1):
every contract sold by a Shaanxi firm, university or institute counts, whoever buys. Each month:

* **demand** is the national technology market (``sim.model.drivers.NationalMarket``): Shaanxi's share
  of the national seller-side value stayed at 6.2-7.0 % over 2016-2023, and 61 % of its value is bought
  outside the province. The national value is observed to 2023 and projected with its own uncertainty;
* **firms sell from what they have**: a firm's share of sales grows with its R&D (3-year mean,
  elasticity ``contract_knowledge_elasticity``) and is higher for a certified HNTE (``hte_seller_lift``);
  Shaanxi's share of the national market moves with its sellers' summed capacity relative to the
  country's (enterprise-funded R&D) at the elasticity ``supply_elasticity``. Levers reach T01 through the
  firms they change (R&D, certification, entry);
* **universities and institutes** sell development and service contracts at a rate per 亿元 of R&D
  (``univ_contract_rate``, calibrated to their 7.06% of 2022 value), higher when the reforms cover
  them; their transfers and licences (reforms, intermediaries, open licences, projects) are booked
  by the instruments through ``book`` / ``book_transfers``: the rate is fitted to the total, so
  nothing is counted twice;
* **values and counts**: values are lognormal and heavy-tailed (mean ~591万, median ~50万, 2023); the
  median value grows at ``contract_value_growth`` a year to 2023 (the count of contracts grew far more
  slowly than their value: 52,999 -> 69,716 against 1,467 -> 4,118 亿, 2019-2023, the panel), fading after
  with ``trend_halflife`` to the long-run growth of prices and sizes, ``CONTRACT_VALUE_GROWTH_LONGRUN``.
  Demand is for value: the expected number of contracts is the demanded value over the year's mean value.

A local share of the value (38.86 % in 2023) is bought by Shaanxi firms, chosen by their R&D; they
acquire a technology.
"""

from __future__ import annotations

import numpy as np

from sim.model import trends
from sim.model.drivers import NOMINAL_GDP_GROWTH, NationalMarket
from sim.model.params import FIRST_YEAR, MONTHS, WAN_PER_100M
from sim.model.sampling import weighted_rows

# 2022 Shaanxi value shares by type: services 75.62%, development 22.3%, the rest transfer/licence/consulting
# (snkjb 2023-01-31). Counts are drawn in the same proportions (assumption: value independent of type).
CONTRACT_TYPES = ("service", "development", "transfer_licence_consulting")
TYPE_SHARES = np.array([0.7562, 0.223, 0.0208])
SELLERS = ("firm", "institution")
RD_REFERENCE = 100.0  # 万元 a year: contract_rate is for a firm with this R&D (BehaviourParams)
LOCAL_BUYER_SHARE = 0.3886  # share of value bought inside Shaanxi: lr5.cn 2024-01-17, 就地转化 38.86% (2023)
TRANSFER_VALUE_MEDIAN, TRANSFER_VALUE_SIGMA = (
    25.0,
    1.2,
)  # 万元: mean ~51万; national 2023 46-64万 (mechanisms.md §6.1)
#: long-run yearly log growth of the median contract value: contracts grow in price and size with the
#: economy once the 2019-2023 surge of large contracts has faded (assumption)
CONTRACT_VALUE_GROWTH_LONGRUN = NOMINAL_GDP_GROWTH


class TechMarket:
    """Draws the month's contracts and keeps the year's registered totals (real scale, 万元)."""

    def __init__(self, model):
        self.model = model
        p = model.params
        self.national = NationalMarket(
            FIRST_YEAR,
            model.end_year,
            p.national_growth_persistence,
            p.national_growth_longrun,
            model.streams["national"],
            observed_through=model.data_through,
        )
        self._weights_year = None
        self._capacity_start = None  # sellers' summed weights in the first month (the same in every scenario)
        self._weights = np.empty(0)
        self.reset_year()

    def reset_year(self) -> None:
        self.value = {s: 0.0 for s in SELLERS}  # 万元, real scale
        self.contracts = {s: 0.0 for s in SELLERS}  # real scale
        self.value_by_type = np.zeros(len(CONTRACT_TYPES))
        self.value_local = 0.0

    # --------------------------------------------------------------- booking
    def book(
        self,
        values: np.ndarray,
        kind: str,
        seller: str,
        local: bool | np.ndarray = False,
        weight: float = 1.0,
    ) -> None:
        """Register contracts of ``kind`` (values 万元 at real scale once multiplied by ``weight``)."""
        values = np.asarray(values, dtype=float)
        if values.size == 0:
            return
        total = float(values.sum()) * weight
        self.value[seller] += total
        self.contracts[seller] += values.size * weight
        self.value_by_type[CONTRACT_TYPES.index(kind)] += total
        if np.ndim(local) == 0:
            self.value_local += total if local else 0.0
        else:
            self.value_local += float(values[local].sum()) * weight

    def book_transfers(self, k: int, rng, buyers: bool = False) -> None:
        """``k`` transfers or licences of university and institute results (real scale).

        With ``buyers`` the local buying firms acquire the technology (brokered deals).
        """
        if k <= 0:
            return
        values = TRANSFER_VALUE_MEDIAN * np.exp(TRANSFER_VALUE_SIGMA * rng.standard_normal(k))
        self.book(values, "transfer_licence_consulting", "institution", local=True)
        if buyers:
            m = self.model
            t = m.firms.table
            n = t.n
            rows = weighted_rows(
                np.cumsum(t.rd_hist[:n, 0] * t.alive[:n]), int(rng.poisson(k * m.scale)), rng
            )
            m.firms.acquire_technology(rows)

    # --------------------------------------------------------------- demand
    def demand_index(self, year: int) -> float:
        """Demand for Shaanxi technology (value) in ``year`` relative to the first simulated year: the
        national market's seller-side value."""
        return self.national.demand(year)

    def value_index(self, year: int) -> float:
        """The median contract value of ``year`` relative to the first simulated year's."""
        p = self.model.params
        return trends.level(
            year, p.contract_value_growth, CONTRACT_VALUE_GROWTH_LONGRUN, p.trend_halflife, self.model.data_through
        )

    # --------------------------------------------------------------- monthly
    def seller_weights(self) -> np.ndarray:
        """Each firm's contract rate relative to a firm with ``RD_REFERENCE`` of R&D a year (live firms).

        The R&D history and certificates change only at the year end, so a firm's weight is computed once
        a year (or when it enters) and only the alive mask is applied each month.
        """
        t = self.model.firms.table
        n = t.n
        if self._weights_year != self.model.year:
            self._weights = np.empty(0)
            self._weights_year = self.model.year
        if self._weights.size < n:
            self._weights = np.r_[self._weights, self._base_weights(self._weights.size, n)]
        return self._weights[:n] * t.alive[:n]

    def _base_weights(self, lo: int, hi: int) -> np.ndarray:
        m, p = self.model, self.model.params
        t = m.firms.table
        hist = t.rd_hist[lo:hi]
        closed = np.count_nonzero(hist > 0, axis=1)
        rd_mean = np.where(
            closed > 0, hist.sum(axis=1) / np.maximum(closed, 1), t.revenue[lo:hi] * t.rd_intensity[lo:hi]
        )  # entrants: this year's planned R&D
        w = np.power(rd_mean * (1 / RD_REFERENCE), p.contract_knowledge_elasticity)
        return w * (1.0 + p.hte_seller_lift * (t.hte_valid_until[lo:hi] >= m.year))

    def relative_capacity(self, year: int) -> float:
        """The sellers' summed capacity now, relative to the first month's (which the first call records),
        over the national capacity index of ``year``: what moves Shaanxi's share of the national market."""
        capacity = float(self.seller_weights().sum())
        if self._capacity_start is None:
            self._capacity_start = max(capacity, 1e-9)
        return (capacity / self._capacity_start) / self.national.capacity(year)

    def step_month(self, month: int, year: int, rng, rng_buyers) -> None:
        m, p = self.model, self.model.params
        t = m.firms.table
        value = self.value_index(year)
        demand = self.demand_index(year) / value  # contracts demanded, relative to the first year
        # firms: the month's count from the sellers' capacity (Poisson), heavy-tailed values. Shaanxi's share
        # of the national market moves with its capacity relative to the country's at ``supply_elasticity``
        relative = self.relative_capacity(year)
        scaled = self._capacity_start * relative**p.supply_elasticity
        k = int(rng.poisson(p.contract_rate * demand / MONTHS * scaled))
        n_local = self._draw(k, "firm", 1 / m.scale, value, rng)
        if n_local:  # local buyers: firms weighted by R&D
            n = t.n
            m.firms.acquire_technology(
                weighted_rows(np.cumsum(t.rd_hist[:n, 0] * t.alive[:n]), n_local, rng_buyers)
            )
        # universities and institutes: development and service contracts
        lam = (
            m.institutions.rd_array()
            * p.univ_contract_rate
            * m.policy.contract_supply(len(m.institutions))
            * demand
            / MONTHS
        )
        self._draw(int(rng.poisson(lam).sum()), "institution", 1.0, value, rng)

    def _draw(self, k: int, seller: str, weight: float, value_index: float, rng) -> int:
        """Book ``k`` contracts of random value and type; returns how many were bought locally."""
        if k <= 0:
            return 0
        p = self.model.params
        median = p.contract_value_median * value_index
        values = median * np.exp(p.contract_value_sigma * rng.standard_normal(k))
        kinds = np.searchsorted(np.cumsum(TYPE_SHARES), rng.random(k) * TYPE_SHARES.sum())
        local = rng.random(k) < LOCAL_BUYER_SHARE
        self.value[seller] += float(values.sum()) * weight
        self.contracts[seller] += k * weight
        self.value_by_type += np.bincount(kinds, weights=values, minlength=len(CONTRACT_TYPES)) * weight
        self.value_local += float(values[local].sum()) * weight
        return int(local.sum())

    # --------------------------------------------------------------- year totals
    def turnover_100m(self) -> float:
        """T01 of the year so far, 亿元 at real scale."""
        return sum(self.value.values()) / WAN_PER_100M

    def institutions_share(self) -> float:
        total = self.turnover_100m()
        return self.value["institution"] / WAN_PER_100M / total if total > 0 else 0.0
