"""Exogenous drivers: what the model takes as given, observed to 2023 and projected with its own uncertainty.

**The national technology market** drives demand for Shaanxi's technology. Contracts are registered on
the seller side; 61 % of Shaanxi's value is bought outside the province (lr5.cn 2024-01-17), and Shaanxi's
share of the national seller-side value stayed within 6.2-7.0 % over 2016-2023 (the yearbook panel,
``docs/peers.md``). So the demand index of year Y is the national seller-side value of Y relative to the
first simulated year's: observed to 2023 (``NATIONAL_CONTRACT_VALUE``), then projected by an AR(1) of its
yearly log growth, ``g[Y] = mu + rho (g[Y-1] - mu) + sigma e[Y]``, from the observed 2023 growth (a
backtest's projection from an earlier origin reads the series to its origin only and projects from there:
``RunConfig.data_through``):

* ``rho`` (``BehaviourParams.national_growth_persistence``) and ``mu``
  (``BehaviourParams.national_growth_longrun``) are uncertainties drawn per replicate: nothing before 2024
  identifies them in Shaanxi's data; their priors come from the national series itself and from the
  saturation argument (``docs/peers.md``, ``docs/model.md``);
* ``sigma`` = ``NATIONAL_GROWTH_SD``, the fitted innovation sd; the innovations come from the run's own
  ``national`` stream, so scenarios with the same seed share the national path (common random numbers).

**National selling capacity.** Shaanxi's share moves with its sellers' capacity relative to the country's:
the national enterprise-funded R&D (the panel's ``rd_funds_enterprise``, ``China``) indexes the
country's capacity; after 2023 it grows at its 2017-2023 mean rate (``capacity_growth``).

Long-run behaviour: national demand growth tends to ``mu`` with half-life ``ln 0.5 / ln rho`` years.
"""

from __future__ import annotations

import math

import numpy as np

from sim.model.params import LAST_BASE_YEAR

# China Statistical Yearbook on Science and Technology (techme data/MarketPull.rda @ 9ad60a190d, the panel's
# `China` rows; sim/data/china_province_panel_to_2023.csv, tests/test_drivers.py checks these copies):
#: national seller-side technology-contract value, 亿元
NATIONAL_CONTRACT_VALUE = {
    2015: 9835.7896,
    2016: 11406.9816,
    2017: 13424.2245,
    2018: 17697.4213,
    2019: 22398.3882,
    2020: 28251.5092,
    2021: 37294.303,
    2022: 47791.0166,
    2023: 61475.6578,
}
#: national R&D funded by enterprises, 亿元 (the country's selling capacity)
NATIONAL_ENTERPRISE_RD = {
    2015: 10588.5843,
    2016: 11923.5446,
    2017: 13464.9434,
    2018: 15079.2998,
    2019: 16887.1507,
    2020: 18895.0319,
    2021: 21808.7996,
    2022: 24323.2865,
    2023: 26443.696,
}
#: sd of the yearly innovation of national log growth: the AR(1) fitted to 2000-2023, posterior median
#: (docs/peers.md, ``national.sigma_median``)
NATIONAL_GROWTH_SD = 0.049
#: nominal GDP growth, the long-run growth of money aggregates (firm revenue, contract prices): the national
#: GDP implied by the panel (R&D / R&D intensity), mean yearly log growth 2016-2023 (docs/peers.md);
#: an assumption that these aggregates grow with the economy once their 2019-2023 surge has faded
NOMINAL_GDP_GROWTH = 0.076


class NationalMarket:
    """The national demand and capacity indices of one run, by year, relative to ``base_year``.

    ``observed_through``: the last year whose national values the run may read (``RunConfig.data_through``):
    ``LAST_BASE_YEAR`` for a projection, the origin for a backtest's projection from an earlier year. After
    it, demand follows the AR(1) from that year's observed growth, and capacity its mean growth from 2016 to
    that year; so a backtest forecasts the driver as the projection does, instead of reading its future.
    """

    def __init__(
        self,
        base_year: int,
        end_year: int,
        persistence: float,
        longrun: float,
        rng,
        observed_through: int = LAST_BASE_YEAR,
    ):
        if not min(NATIONAL_CONTRACT_VALUE) < observed_through <= LAST_BASE_YEAR:
            raise ValueError(
                f"observed_through = {observed_through}: the national series are observed "
                f"{min(NATIONAL_CONTRACT_VALUE) + 1}-{LAST_BASE_YEAR}"
            )
        self.base_year = base_year
        self.observed_through = observed_through
        levels = {y: v for y, v in NATIONAL_CONTRACT_VALUE.items() if y <= observed_through}
        g = math.log(levels[observed_through] / levels[observed_through - 1])
        shocks = rng.standard_normal(max(0, end_year - observed_through))
        for k, y in enumerate(range(observed_through + 1, end_year + 1)):
            g = longrun + persistence * (g - longrun) + NATIONAL_GROWTH_SD * shocks[k]
            levels[y] = levels[y - 1] * math.exp(g)
        self.value = levels  # 亿元 by year
        self._capacity_growth = capacity_growth(observed_through)

    def demand(self, year: int) -> float:
        """The national seller-side value of ``year`` relative to the base year's."""
        return self.value[year] / self.value[self.base_year]

    def capacity(self, year: int) -> float:
        """The country's selling capacity (enterprise-funded R&D) of ``year`` relative to the base year's."""
        return self._capacity_at(year) / self._capacity_at(self.base_year)

    def _capacity_at(self, year: int) -> float:
        last = self.observed_through
        if year <= last:
            return NATIONAL_ENTERPRISE_RD[year]
        return NATIONAL_ENTERPRISE_RD[last] * math.exp(self._capacity_growth * (year - last))


def capacity_growth(through: int = LAST_BASE_YEAR) -> float:
    """The national enterprise R&D's mean yearly log growth from 2016 to ``through``: its growth after it."""
    return float(np.log(NATIONAL_ENTERPRISE_RD[through] / NATIONAL_ENTERPRISE_RD[2016]) / (through - 2016))
