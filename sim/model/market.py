"""The technology-contract market (drives T01).

Contracts are registered on the **seller** side (技术合同认定登记实行卖方登记制度,
mechanisms.md §2.1): every contract sold by a Shaanxi firm, university or
institute counts, whoever buys. Each month:

* firms sell at a rate growing with size and with out-of-province and local demand;
* universities and institutes sell at a rate per 亿元 of R&D, higher when reformed;
* innovation vouchers pay part of small local firms' purchases of services
  (extra contracts, within the budget, from a stream of their own);
* transfers from the reforms and the intermediaries are booked as transfer or
  licence contracts.

Values are lognormal and heavy-tailed (mean ~591万, median ~50万, 2023).
"""

from __future__ import annotations

import numpy as np

from sim.model.sampling import weighted_rows

# 2022 Shaanxi value shares by type: services 75.62%, development 22.3%, the rest transfer/licence/consulting
# (snkjb 2023-01-31). Counts are drawn in the same proportions (assumption: value independent of type).
CONTRACT_TYPES = ("service", "development", "transfer_licence_consulting")
TYPE_SHARES = np.array([0.7562, 0.223, 0.0208])
SIZE_REFERENCE = 1000.0  # 万元: contract_rate is per firm of this revenue; rates scale with sqrt(revenue) (assumption)
TRANSFER_VALUE_MEDIAN, TRANSFER_VALUE_SIGMA = 25.0, 1.2  # 万元: mean ~51万; national 2023 46-64万 (mechanisms.md §6.1)
SMALL_BUYER_REVENUE = 2000.0  # 万元: vouchers go to small and micro firms (assumption: revenue < 2,000万)
VOUCHER_PRICE_SIGMA = 0.5  # dispersion of voucher-funded service prices (assumption)
VOUCHER_UNIV_SHARE = 0.5  # assumption: half of voucher services come from universities and institutes
WAN_PER_100M = 1e4


class TechMarket:
    """Draws the month's contracts and keeps the year's registered totals."""

    def __init__(self, model):
        self.model = model
        self.reset_year()

    def reset_year(self) -> None:
        self.value_firms = 0.0  # 万元 at model scale
        self.value_institutions = 0.0  # 万元, unscaled (institutions are real-size)
        self.value_vouchers = 0.0  # 万元 at model scale
        self.contracts_firms = 0
        self.contracts_institutions = 0
        self.contracts_vouchers = 0
        self.value_by_type = np.zeros(len(CONTRACT_TYPES))  # 万元, real scale
        self.value_local = 0.0  # 万元, real scale
        self.vouchers_redeemed = 0.0  # vouchers at model scale

    # --------------------------------------------------------------- helpers
    def _values(self, k: int, rng) -> np.ndarray:
        p = self.model.params
        return p.contract_value_median * np.exp(p.contract_value_sigma * rng.standard_normal(k))

    def _book_types(self, values: np.ndarray, weight: float, rng) -> None:
        if values.size:
            types = np.searchsorted(np.cumsum(TYPE_SHARES), rng.random(values.size) * TYPE_SHARES.sum())
            self.value_by_type += np.bincount(types, weights=values, minlength=len(CONTRACT_TYPES)) * weight

    def demand_index(self, month: int) -> float:
        """Demand for Shaanxi technology relative to 2019 (out-of-province and local); 2020 was the COVID year."""
        p = self.model.params
        shock = p.demand_shock_2020 if month // 12 == 1 else 1.0
        return float(shock * np.exp(p.contract_demand_growth * (month + 0.5) / 12))

    # --------------------------------------------------------------- monthly
    def step_month(self, month: int, year: int, rng, rng_buyers) -> None:
        m, p = self.model, self.model.params
        t = m.firms.table
        n = t.n
        scale = m.scale
        demand = self.demand_index(month)
        # firms: a Poisson total split over sellers in proportion to their rates (Poisson splitting)
        size = np.sqrt(t.revenue[:n] * (1 / SIZE_REFERENCE))  # dead firms have zero revenue
        cum = np.cumsum(size)
        total_rate = p.contract_rate * demand / 12 * (cum[-1] if n else 0.0)
        k = int(rng.poisson(total_rate))
        if k:
            sellers = weighted_rows(cum, k, rng)
            values = self._values(k, rng)
            t.last_sale_year[sellers] = year
            self.value_firms += values.sum()
            self.contracts_firms += k
            self._book_types(values, 1 / scale, rng)
            local = rng.random(k) < m.start.local_buyer_share
            self.value_local += values[local].sum() / scale
            n_local = int(local.sum())
            if n_local:  # local buyers: firms weighted by size
                np.add.at(t.tech_bought, weighted_rows(cum, n_local, rng_buyers), 1)
        # universities and institutes
        inst = m.inst_arrays
        lam = inst["rd"] * m.start.univ_contracts_per_100m * inst["supply"] * demand / 12
        k_u = int(rng.poisson(lam).sum())
        if k_u:
            values = self._values(k_u, rng)
            self.value_institutions += values.sum()
            self.contracts_institutions += k_u
            self._book_types(values, 1.0, rng)
            self.value_local += values[rng.random(k_u) < m.start.local_buyer_share].sum()

    def redeem_vouchers(self, budget_100m: float, rng) -> float:
        """This month's vouchers: extra service contracts bought by small local firms.

        Returns the public money paid (亿元, real scale). Draws only from the voucher stream.
        """
        m, s = self.model, self.model.start
        t = m.firms.table
        n = t.n
        issued = rng.poisson(budget_100m * WAN_PER_100M / s.voucher_value / 12 * m.scale)
        small = np.flatnonzero(t.alive[:n] & (t.revenue[:n] < SMALL_BUYER_REVENUE))
        if issued == 0 or small.size == 0:
            return 0.0
        redeemed = int(rng.binomial(issued, s.voucher_redeem))
        extra = int(rng.binomial(redeemed, s.voucher_additionality / max(s.voucher_redeem, 1e-9)))
        registered = int(rng.binomial(extra, s.voucher_registered))
        buyers = rng.choice(small, size=extra, replace=True) if extra else np.empty(0, dtype=int)
        np.add.at(t.tech_bought, buyers, 1)
        price = s.voucher_value / s.voucher_gov_share * np.exp(VOUCHER_PRICE_SIGMA * rng.standard_normal(registered))
        self.value_vouchers += price.sum()
        self.contracts_vouchers += registered
        self.value_by_type[0] += price.sum() / m.scale
        self.value_local += price.sum() / m.scale
        self.vouchers_redeemed += redeemed
        return redeemed * s.voucher_value / WAN_PER_100M / m.scale

    def book_transfers(self, k: int, rng) -> None:
        """Transfers and licences of university results (reforms, TTIs, roadshows, PoC)."""
        if k <= 0:
            return
        values = TRANSFER_VALUE_MEDIAN * np.exp(TRANSFER_VALUE_SIGMA * rng.standard_normal(k))
        self.value_institutions += values.sum()
        self.contracts_institutions += k
        self.value_by_type[2] += values.sum()

    # --------------------------------------------------------------- year totals
    def turnover_100m(self) -> float:
        """T01 of the year so far, 亿元 at real scale."""
        s = self.model.scale
        return (self.value_firms / s + self.value_institutions + self.value_vouchers / s) / WAN_PER_100M

    def institutions_share(self) -> float:
        total = self.turnover_100m()
        return self.value_institutions / WAN_PER_100M / total if total > 0 else 0.0
