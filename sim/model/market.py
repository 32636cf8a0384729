"""The technology-contract market (drives T01).

Contracts are registered on the **seller** side (技术合同认定登记实行卖方登记制度, mechanisms.md §2.1):
every contract sold by a Shaanxi firm, university or institute counts, whoever buys. Each month:

* **firms sell from what they have**: a firm's share of sales grows with its R&D (3-year mean,
  elasticity ``contract_knowledge_elasticity``) and is higher for a certified HNTE (``hte_seller_lift``);
  the total grows with the demand index and with the sellers' summed capacity at the elasticity
  ``supply_elasticity``. Levers reach T01 through the firms they change (R&D, certification, entry);
* **universities and institutes** sell development and service contracts at a rate per 亿元 of R&D
  (``univ_contract_rate``, calibrated to their 7.06% of 2022 value), higher when the reforms cover
  them; their transfers and licences (reforms, intermediaries, open licences, projects) are booked
  by the instruments through ``book`` / ``book_transfers``: the rate is fitted to the total, so
  nothing is counted twice;
* **demand** (``demand_index``): 61% of Shaanxi's value is bought outside the province, so the stated
  driver is the national technology market (+29%/yr 2019-22) plus local buyers; its growth is the
  fitted 2019-2023 rate, fading after 2023 to ``demand_growth_longrun`` (``sim/model/trends.py``).

Values are lognormal and heavy-tailed (mean ~591万, median ~50万, 2023). A local share of the value
(38.86 % in 2023) is bought by Shaanxi firms, chosen by their R&D; they acquire a technology.
"""

from __future__ import annotations

import numpy as np

from sim.model import trends
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


class TechMarket:
    """Draws the month's contracts and keeps the year's registered totals (real scale, 万元)."""

    def __init__(self, model):
        self.model = model
        self._demand_cache: dict[int, float] = {}
        self._weights_year = None
        self._capacity_2019 = None  # sellers' summed weights in January 2019 (the same in every scenario)
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
    def demand_index(self, month: int) -> float:
        """Demand for Shaanxi technology relative to the start of 2019, mid-month; 2020 was the COVID year."""
        cached = self._demand_cache.get(month)
        if cached is None:
            p = self.model.params
            year = FIRST_YEAR + month / MONTHS + 0.5 / MONTHS
            shock = p.demand_shock_2020 if month // MONTHS == 1 else 1.0
            cached = shock * trends.level(
                year, p.contract_demand_growth, p.demand_growth_longrun, p.trend_halflife
            )
            self._demand_cache[month] = cached
        return cached

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

    def step_month(self, month: int, year: int, rng, rng_buyers) -> None:
        m, p = self.model, self.model.params
        t = m.firms.table
        demand = self.demand_index(month)
        # firms: the month's total from the sellers' capacity (Poisson), heavy-tailed values. Turnover grows
        # with capacity at the elasticity ``supply_elasticity`` (< 1: demand, not supply, limits sales)
        capacity = float(self.seller_weights().sum())
        if self._capacity_2019 is None:
            self._capacity_2019 = max(capacity, 1e-9)
        scaled = self._capacity_2019 * (capacity / self._capacity_2019) ** p.supply_elasticity
        k = int(rng.poisson(p.contract_rate * demand / MONTHS * scaled))
        n_local = self._draw(k, "firm", 1 / m.scale, rng)
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
        self._draw(int(rng.poisson(lam).sum()), "institution", 1.0, rng)

    def _draw(self, k: int, seller: str, weight: float, rng) -> int:
        """Book ``k`` contracts of random value and type; returns how many were bought locally."""
        if k <= 0:
            return 0
        p = self.model.params
        values = p.contract_value_median * np.exp(p.contract_value_sigma * rng.standard_normal(k))
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
