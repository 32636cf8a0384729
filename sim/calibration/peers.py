"""Peers for priors: what the province panel says about growth, its fade, and the national demand driver.

``python -m sim.calibration.peers`` writes ``docs/peers.md`` and ``docs/peers_figures/*.png`` from the
yearbook panel (``sim.data.panel``); every number in the document is computed here.

a) **Growth after reaching Shaanxi's level.** For technology-contract seller value (T01), invention
   patents in force (T04), HNTE recognitions and total R&D: the provinces that reached Shaanxi's 2023
   value earlier (by level, and by share of the national total), their yearly log growth 1-5 years
   after (``crossings``, ``growth_after``, ``summarise_growth``), and the fade of growth towards its
   long-run value: a pooled AR(1) of log growth, ``g[t] = a + rho * g[t-1] + e``, over the peers' years
   from the crossing on, half-life ``ln 0.5 / ln rho`` (``ar1_pairs``, ``fit_pooled_ar1``).
b) **The national seller-side series** (the ``China`` rows) and a projection of its yearly log growth:
   an AR(1) fitted to 2000-2023 with parameter uncertainty (``fit_ar1_aggregated``,
   ``NationalGrowthModel``); ``sample_national_growth(years, n, seed)`` returns sampled paths, the
   exogenous driver of demand for Shaanxi's technology. Also Shaanxi's share of the national value.
c) **HNTE**: recognitions against the valid stock (the three-year sum of the lists) by province.

Shaanxi's own rows are never in a peer set or a fit: they are the calibration's data, and a prior
that had seen them would count them twice.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import sys
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd

from sim.data import panel
from sim.data.panel import NATIONAL, SHAANXI
from sim.paths import DOCS_DIR
from sim.runtime import atomic

#: The four series of part a): key used in the document -> panel indicator.
PEER_SERIES = {
    "T01": "contracts_seller_value",
    "T04": "invention_patents_valid",
    "HNTE": "hnte_recognised",
    "rd_total": "rd_total",
}
SERIES_LABELS = {
    "T01": "technology contracts, seller-side value (100m yuan)",
    "T04": "invention patents in force (patents)",
    "HNTE": "high-tech enterprises recognised in the year (firms)",
    "rd_total": "R&D expenditure, all performers (100m yuan)",
}
#: Peer definitions: reached Shaanxi's 2023 value of the level itself, or of its share of the national total.
BASES = ("level", "share")
REFERENCE_YEAR = 2023  # Shaanxi's latest year: the level peers had to reach
HORIZONS = (1, 2, 3, 4, 5)
SUMMARY_HORIZONS = (1, 2, 3)
BAND = (0.10, 0.90)  # the "10-90 %" of every interval in the document
#: Fewer provinces than this: no AR(1) fit (one or two provinces' few years do not identify a fade,
#: and resampling one or two clusters gives no interval).
MIN_PROVINCES = 3
#: Fewer pairs than this: no AR(1) fit at all.
MIN_PAIRS = 4
#: The broader reference set of the fade fit: provinces from the year they reached this fraction of
#: Shaanxi's 2023 level (within a factor of two below it, or above). Every province and year would mix
#: in the small provinces, whose contract values jump by factors of two to three from year to year.
REFERENCE_FRACTION = 0.5

#: The national model's priors (assumptions): rho uniform on [-0.5, 0.95] (growth mean-reverting with a
#: half-life of at most 13.5 years; mild oscillation allowed), log sigma uniform on [0.005, 0.5],
#: flat prior on the long-run growth mu (integrated analytically).
RHO_GRID = np.linspace(-0.5, 0.95, 146)
SIGMA_GRID = np.geomspace(0.005, 0.5, 80)
NATIONAL_SERIES = "contracts_seller_value"

DEFAULT_SEED = 17  # issue 17; any fixed integer
DEFAULT_DRAWS = 4000
DEFAULT_BOOTSTRAP = 1000
PROJECTION_YEARS = tuple(range(2024, 2031))
DOC_PATH = DOCS_DIR / "peers.md"
FIGURES_DIR = DOCS_DIR / "peers_figures"


def _rng(seed: int, *keys: str) -> np.random.Generator:
    """One named random stream per analysis, stable whatever else is computed (crc32 of the names)."""
    return np.random.default_rng([int(seed), *(zlib.crc32(k.encode()) for k in keys)])


def _quantiles(values, q=(BAND[0], 0.5, BAND[1])) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.full(len(q), np.nan)
    return np.quantile(values, q)


# --------------------------------------------------------------------------- series from the panel
def national_total(indicator: str) -> pd.Series:
    """The national total by year: the yearbook's ``China`` row, or the sum of the 31 provinces where the
    table has no national row (the HNTE lists), in years where every province is present."""
    table = panel.by_province(indicator)
    if NATIONAL in table.columns:
        return table[NATIONAL].dropna()
    complete = table.notna().all(axis=1)
    return table[complete].sum(axis=1)


def log_growth(table: pd.DataFrame) -> pd.DataFrame:
    """Yearly log growth ``ln x[t] - ln x[t-1]`` of a (year x column) table of positive levels.

    Years the table skips are NaN, and so is the growth into the year after a gap: growth over a
    multi-year gap is not annualised into yearly values.
    """
    years = range(int(table.index.min()), int(table.index.max()) + 1)
    full = table.reindex(years).astype(float)
    return np.log(full).diff()


# --------------------------------------------------------------------------- a) peers
def crossings(table: pd.DataFrame, threshold: float, before: int = REFERENCE_YEAR) -> pd.DataFrame:
    """The first year (before ``before``) each province was at or above ``threshold``.

    Columns province, year, censored. ``censored`` is True when the province was already at or above
    the threshold in its first observed year: it got there earlier, but when is unknown. Shaanxi and
    the national row are never peers.
    """
    rows = []
    for prov in table.columns:
        if prov in (SHAANXI, NATIONAL):
            continue
        s = table[prov].dropna()
        s = s[s.index < before]
        above = s[s >= threshold]
        if above.empty:
            continue
        year = int(above.index[0])
        rows.append({"province": prov, "year": year, "censored": year == int(s.index[0])})
    return pd.DataFrame(rows, columns=["province", "year", "censored"])


def growth_after(growth: pd.DataFrame, cross: pd.DataFrame, horizons=HORIZONS) -> pd.DataFrame:
    """Log growth ``k`` years after each dated crossing, ``g[t0 + k]``; censored crossings are left out.

    Columns province, crossing_year, k, year, growth; only the (province, k) the panel has.
    """
    rows = []
    for r in cross[~cross["censored"]].itertuples():
        for k in horizons:
            year = r.year + k
            if year in growth.index and np.isfinite(growth.at[year, r.province]):
                rows.append(
                    {
                        "province": r.province,
                        "crossing_year": r.year,
                        "k": k,
                        "year": year,
                        "growth": float(growth.at[year, r.province]),
                    }
                )
    return pd.DataFrame(rows, columns=["province", "crossing_year", "k", "year", "growth"])


def summarise_growth(after: pd.DataFrame, horizons=HORIZONS) -> pd.DataFrame:
    """Per horizon ``k``: number of provinces, median and 10-90 % of their log growth."""
    rows = []
    for k in horizons:
        g = after.loc[after["k"] == k, "growth"].to_numpy()
        lo, med, hi = _quantiles(g)
        rows.append({"k": k, "n": int(g.size), "median": med, "q10": lo, "q90": hi})
    return pd.DataFrame(rows).set_index("k")


def ar1_pairs(growth: pd.DataFrame, start: dict[str, int] | None = None) -> pd.DataFrame:
    """Consecutive yearly growths ``(g[t-1], g[t])`` of each column, both observed.

    ``start`` maps a column to its first year: a pair is kept when ``t - 1 >= start`` (the lag is at
    or after it). Columns not in ``start`` are left out when it is given. Columns: province, year (t),
    lag, growth.
    """
    rows = []
    for prov in growth.columns:
        if start is not None and prov not in start:
            continue
        g = growth[prov]
        lag = g.shift(1)
        ok = g.notna() & lag.notna()
        if start is not None:
            ok &= (g.index - 1) >= start[prov]
        for year in g.index[ok]:
            rows.append(
                {"province": prov, "year": int(year), "lag": float(lag[year]), "growth": float(g[year])}
            )
    return pd.DataFrame(rows, columns=["province", "year", "lag", "growth"])


def half_life(rho: float) -> float:
    """Years for a deviation of growth from its long-run value to halve, ``ln 0.5 / ln rho``.

    0 for ``rho <= 0`` (no persistence: the deviation is gone, or flips sign, within a year) and
    infinity for ``rho >= 1`` (no fade).
    """
    if not np.isfinite(rho):
        return float("nan")
    if rho <= 0:
        return 0.0
    if rho >= 1:
        return float("inf")
    return float(np.log(0.5) / np.log(rho))


@dataclass(frozen=True)
class AR1Fit:
    """Pooled AR(1) of yearly log growth, ``g[t] = a + rho * g[t-1] + e``, one intercept for all provinces.

    ``long_run = a / (1 - rho)`` is the growth the fade tends to; intervals are 10-90 % over a bootstrap
    that resamples provinces (clusters), None when no bootstrap was asked for.
    """

    rho: float
    intercept: float
    sigma: float
    n_pairs: int
    n_provinces: int
    rho_interval: tuple[float, float] | None = None
    long_run_interval: tuple[float, float] | None = None

    @property
    def long_run(self) -> float:
        return self.intercept / (1.0 - self.rho) if self.rho < 1 else float("nan")

    @property
    def half_life(self) -> float:
        return half_life(self.rho)

    @property
    def half_life_interval(self) -> tuple[float, float] | None:
        if self.rho_interval is None:
            return None
        return (half_life(self.rho_interval[0]), half_life(self.rho_interval[1]))

    def expected_growth(self, start_growth: float, horizons=SUMMARY_HORIZONS) -> np.ndarray:
        """Expected growth ``k`` years on from a year with growth ``start_growth``: mu + rho^k (g0 - mu)."""
        k = np.asarray(horizons, dtype=float)
        return self.long_run + self.rho**k * (start_growth - self.long_run)


def _ols(lag: np.ndarray, growth: np.ndarray) -> tuple[float, float, float]:
    X = np.column_stack([np.ones_like(lag), lag])
    coef, *_ = np.linalg.lstsq(X, growth, rcond=None)
    resid = growth - X @ coef
    dof = max(len(growth) - 2, 1)
    return float(coef[1]), float(coef[0]), float(np.sqrt(resid @ resid / dof))


def fit_pooled_ar1(
    pairs: pd.DataFrame, bootstrap: int = 0, rng: np.random.Generator | None = None
) -> AR1Fit | None:
    """OLS of growth on lagged growth over all pairs (``ar1_pairs``).

    None with fewer than ``MIN_PAIRS`` pairs or ``MIN_PROVINCES`` provinces.

    One intercept for every province: with 4-10 years per province a per-province mean (fixed effects)
    would bias rho down by about (1 + rho) / (T - 1) (Nickell), and the prior wanted is the fade towards
    a long-run value common to the peers. ``bootstrap`` > 0 resamples provinces with replacement
    (``rng`` required) for the 10-90 % intervals.
    """
    provs = pairs["province"].unique()
    if len(pairs) < MIN_PAIRS or len(provs) < MIN_PROVINCES:
        return None
    lag, growth = pairs["lag"].to_numpy(), pairs["growth"].to_numpy()
    rho, a, sigma = _ols(lag, growth)
    rho_int = mu_int = None
    if bootstrap > 0:
        if rng is None:
            raise ValueError("fit_pooled_ar1: bootstrap > 0 needs an rng (numpy Generator)")
        names = pairs["province"].to_numpy()
        groups = [np.flatnonzero(names == p) for p in provs]  # row positions of each province
        rhos, mus = [], []
        for _ in range(bootstrap):
            pick = rng.integers(0, len(groups), size=len(groups))
            idx = np.concatenate([groups[i] for i in pick])
            r, b, _s = _ols(lag[idx], growth[idx])
            rhos.append(r)
            mus.append(b / (1 - r) if r < 1 else np.nan)
        lo, _, hi = _quantiles(rhos)
        rho_int = (float(lo), float(hi))
        mlo, _, mhi = _quantiles(mus)
        mu_int = (float(mlo), float(mhi))
    return AR1Fit(rho, a, sigma, len(pairs), len(provs), rho_int, mu_int)


@dataclass
class PeerResult:
    """Part a) for one series and one peer definition (``basis``: level or share of the national total)."""

    key: str
    basis: str
    threshold: float  # Shaanxi's 2023 value (level) or share
    crossings: pd.DataFrame
    after: pd.DataFrame
    summary: pd.DataFrame
    fit: AR1Fit | None
    shaanxi_growth: float  # Shaanxi's latest yearly log growth (2022 -> 2023)

    @property
    def expected(self) -> np.ndarray:
        """The fit's expected growth for Shaanxi 1-3 years after 2023, from its 2023 growth (NaN if no fit)."""
        if self.fit is None:
            return np.full(len(SUMMARY_HORIZONS), np.nan)
        return self.fit.expected_growth(self.shaanxi_growth)


def peer_analysis(key: str, basis: str, bootstrap: int = 0, seed: int = DEFAULT_SEED) -> PeerResult:
    """Part a) on the real panel for one series (``PEER_SERIES``) and one basis (``BASES``)."""
    if key not in PEER_SERIES:
        raise ValueError(f"unknown series {key!r}: allowed values are {list(PEER_SERIES)}")
    if basis not in BASES:
        raise ValueError(f"unknown basis {basis!r}: allowed values are {list(BASES)}")
    indicator = PEER_SERIES[key]
    levels = panel.by_province(indicator, national=False)
    table = levels.div(national_total(indicator), axis=0) if basis == "share" else levels
    threshold = float(table.at[REFERENCE_YEAR, SHAANXI])
    cross = crossings(table, threshold)
    growth = log_growth(levels)  # the level's growth, whichever basis chose the peers
    after = growth_after(growth, cross)
    # the fade: every peer year from its crossing on (a censored peer was past the threshold from its first year)
    start = {r.province: r.year for r in cross.itertuples()}
    fit = fit_pooled_ar1(ar1_pairs(growth, start), bootstrap, _rng(seed, "peers", key, basis))
    return PeerResult(
        key=key,
        basis=basis,
        threshold=threshold,
        crossings=cross,
        after=after,
        summary=summarise_growth(after),
        fit=fit,
        shaanxi_growth=float(growth.at[REFERENCE_YEAR, SHAANXI]),
    )


def reference_fit(key: str, bootstrap: int = 0, seed: int = DEFAULT_SEED) -> AR1Fit | None:
    """The same pooled AR(1) over the broader set: provinces from the year they reached
    ``REFERENCE_FRACTION`` of Shaanxi's 2023 level (more pairs than the peers, similar sizes)."""
    levels = panel.by_province(PEER_SERIES[key], national=False)
    cross = crossings(levels, REFERENCE_FRACTION * float(levels.at[REFERENCE_YEAR, SHAANXI]))
    start = {r.province: r.year for r in cross.itertuples()}
    return fit_pooled_ar1(ar1_pairs(log_growth(levels), start), bootstrap, _rng(seed, "reference", key))


# --------------------------------------------------------------------------- b) the national driver
@dataclass(frozen=True)
class NationalGrowthModel:
    """AR(1) of the yearly log growth of a national series, with parameter uncertainty.

    ``g[t] = mu + rho (g[t-1] - mu) + sigma e[t]``, stationary. The observed levels may skip years
    (the contract tables: 2000, 2005, 2010, 2012-2023): an observation is then the sum of the yearly
    growths over the gap, a linear function of the latent growths, so the likelihood stays exact and
    Gaussian. The posterior is computed on a grid of (rho, sigma) (``RHO_GRID``, ``SIGMA_GRID``, the
    priors) with mu integrated out under a flat prior (or fixed at ``long_run``); given (rho, sigma),
    mu is normal. The last observation must be a single year, so that the projection starts from a
    known growth.
    """

    level_years: tuple[int, ...]
    interval_growth: tuple[float, ...]  # log growth between consecutive observed years
    rho_grid: np.ndarray
    sigma_grid: np.ndarray
    weights: np.ndarray  # posterior on the grid, sums to 1
    mu_mean: np.ndarray  # mu | rho, sigma, data
    mu_sd: np.ndarray
    long_run: float | None

    @property
    def last_year(self) -> int:
        return self.level_years[-1]

    @property
    def last_growth(self) -> float:
        return self.interval_growth[-1]

    def sample_parameters(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` draws of (rho, sigma, mu) from the posterior."""
        cells = rng.choice(self.weights.size, size=n, p=self.weights.ravel())
        i, k = np.unravel_index(cells, self.weights.shape)
        mu = self.mu_mean[i, k] + self.mu_sd[i, k] * rng.standard_normal(n)
        return self.rho_grid[i], self.sigma_grid[k], mu

    def sample_paths(self, years: Iterable[int], n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, len(years)) sampled yearly log growths for ``years`` (each after ``last_year``)."""
        years = _check_years(years, self.last_year + 1)
        rho, sigma, mu = self.sample_parameters(n, rng)
        horizon = max(years) - self.last_year
        g = np.full(n, self.last_growth)
        out = np.empty((n, horizon))
        for h in range(horizon):
            g = mu + rho * (g - mu) + sigma * rng.standard_normal(n)
            out[:, h] = g
        return out[:, [y - self.last_year - 1 for y in years]]

    def posterior_quantiles(self) -> dict[str, np.ndarray]:
        """10/50/90 % of rho, sigma and mu (mu from 20,000 draws of a fixed stream)."""
        p_rho, p_sig = self.weights.sum(axis=1), self.weights.sum(axis=0)
        rng = np.random.default_rng(0)
        _, _, mu = self.sample_parameters(20_000, rng)
        q = (BAND[0], 0.5, BAND[1])
        return {
            "rho": _grid_quantiles(self.rho_grid, p_rho, q),
            "sigma": _grid_quantiles(self.sigma_grid, p_sig, q),
            "mu": _quantiles(mu, q),
        }


def _grid_quantiles(grid: np.ndarray, p: np.ndarray, q) -> np.ndarray:
    c = np.cumsum(p) / p.sum()
    return np.array([grid[min(np.searchsorted(c, x), len(grid) - 1)] for x in q])


def _check_years(years, first: int) -> list[int]:
    if isinstance(years, Integral):
        years = [years]
    try:
        years = [int(y) for y in years]
    except (TypeError, ValueError):
        raise ValueError(f"years: a year or an iterable of years (>= {first}), got {years!r}") from None
    if not years:
        raise ValueError(f"years: empty; give years >= {first}")
    early = [y for y in years if y < first]
    if early:
        raise ValueError(f"years {early}: projected years must be >= {first} (the series is observed before)")
    return years


def fit_ar1_aggregated(
    levels: pd.Series,
    long_run: float | None = None,
    rho_grid: np.ndarray = RHO_GRID,
    sigma_grid: np.ndarray = SIGMA_GRID,
) -> NationalGrowthModel:
    """The grid posterior of ``NationalGrowthModel`` for a year-indexed series of positive levels."""
    levels = levels.dropna().sort_index()
    years = np.asarray(levels.index, dtype=int)
    if len(years) < 4:
        raise ValueError("fit_ar1_aggregated: needs at least four observed years")
    if years[-1] - years[-2] != 1:
        raise ValueError("fit_ar1_aggregated: the last two observed years must be consecutive")
    y = np.diff(np.log(levels.to_numpy(dtype=float)))
    n_latent = years[-1] - years[0]
    A = np.zeros((len(y), n_latent))  # observation j sums the yearly growths of its interval
    for j, (a, b) in enumerate(zip(years[:-1], years[1:])):
        A[j, a - years[0] : b - years[0]] = 1.0
    X = A.sum(axis=1)
    lags = np.abs(np.subtract.outer(np.arange(n_latent), np.arange(n_latent)))
    logpost = np.full((len(rho_grid), len(sigma_grid)), -np.inf)
    mu_mean = np.zeros_like(logpost)
    mu_sd = np.zeros_like(logpost)
    for i, rho in enumerate(rho_grid):
        corr = A @ (rho**lags / (1.0 - rho * rho)) @ A.T  # Cov(y) / sigma^2
        chol = np.linalg.cholesky(corr)
        logdet_corr = 2.0 * np.log(np.diag(chol)).sum()
        ci_X = np.linalg.solve(corr, X)
        ci_y = np.linalg.solve(corr, y)
        xcx, xcy, ycy = X @ ci_X, X @ ci_y, y @ ci_y
        for k, sigma in enumerate(sigma_grid):
            s2 = sigma * sigma
            logdet = logdet_corr + len(y) * np.log(s2)
            if long_run is None:  # mu integrated out under a flat prior (restricted likelihood)
                mu_hat = xcy / xcx
                quad = (ycy - 2 * mu_hat * xcy + mu_hat**2 * xcx) / s2
                logpost[i, k] = -0.5 * (logdet + np.log(xcx / s2) + quad)
                mu_mean[i, k], mu_sd[i, k] = mu_hat, np.sqrt(s2 / xcx)
            else:
                quad = (ycy - 2 * long_run * xcy + long_run**2 * xcx) / s2
                logpost[i, k] = -0.5 * (logdet + quad)
                mu_mean[i, k], mu_sd[i, k] = long_run, 0.0
    # the sigma grid is log-spaced: equal weight per cell is the log-uniform prior
    w = np.exp(logpost - logpost.max())
    w /= w.sum()
    return NationalGrowthModel(
        level_years=tuple(int(v) for v in years),
        interval_growth=tuple(float(v) for v in y),
        rho_grid=np.asarray(rho_grid, dtype=float),
        sigma_grid=np.asarray(sigma_grid, dtype=float),
        weights=w,
        mu_mean=mu_mean,
        mu_sd=mu_sd,
        long_run=long_run,
    )


@lru_cache(maxsize=8)
def fit_national_model(long_run: float | None = None) -> NationalGrowthModel:
    """The national seller-side contract value (``China`` rows, 2000-2023) model; cached per ``long_run``."""
    return fit_ar1_aggregated(panel.series(NATIONAL_SERIES, province=NATIONAL), long_run=long_run)


def sample_national_growth(
    years: Iterable[int], n: int, seed: int | np.random.Generator, long_run: float | None = None
) -> np.ndarray:
    """``n`` sampled paths of the national seller-side value's yearly log growth for ``years``.

    Returns an (n, len(years)) array; ``years`` are calendar years from 2024 on (any order, gaps
    allowed: each path runs year by year from the observed 2023 growth). Same ``seed`` (an int, or a
    numpy Generator in a known state), same paths. ``long_run`` fixes the long-run growth mu instead of
    fitting it (a sensitivity: the fitted mu is the 2000-2023 average, about 0.20 a year).
    The level of year Y is ``value_2023 * exp(sum of the growths 2024..Y)``.
    """
    if isinstance(n, bool) or not isinstance(n, Integral) or n < 1:
        raise ValueError(f"n = {n!r}: the number of paths must be an integer >= 1")
    if isinstance(seed, np.random.Generator):
        rng = seed
    elif isinstance(seed, Integral) and not isinstance(seed, bool) and seed >= 0:
        rng = np.random.default_rng(int(seed))
    else:
        raise ValueError(f"seed = {seed!r}: an integer >= 0 or a numpy Generator")
    if long_run is not None and not (np.isfinite(long_run) and -0.5 < long_run < 1.0):
        raise ValueError(f"long_run = {long_run!r}: a yearly log growth in (-0.5, 1.0), or None to fit it")
    model = fit_national_model(None if long_run is None else float(long_run))
    return model.sample_paths(years, int(n), rng)


def shaanxi_share(indicator: str = NATIONAL_SERIES) -> pd.Series:
    """Shaanxi's share of the national total by year."""
    total = national_total(indicator)
    return (panel.series(indicator) / total).dropna()


def implied_gdp() -> pd.Series:
    """National nominal GDP (亿元) implied by the panel: R&D total / (R&D intensity / 100); 2011-2023.

    The intensity is printed to 0.01 percentage points, so each value is good to about 0.2-0.3 %.
    """
    rd = panel.series("rd_total", province=NATIONAL)
    intensity = panel.series("rd_intensity_gdp", province=NATIONAL)
    return (rd / (intensity / 100.0)).dropna()


# --------------------------------------------------------------------------- c) HNTE flow and stock
def hnte_turnover() -> pd.DataFrame:
    """Recognitions in year t over the three-year sum t-2..t (the valid stock they track), by province.

    Rows: provinces, then ``All provinces`` (the national sum); columns: 2020-2023. With a constant
    yearly flow the ratio is 1/3; a flow growing at log rate g gives 1 / (1 + e^-g + e^-2g).
    """
    table = panel.by_province(PEER_SERIES["HNTE"], national=False)
    table["All provinces"] = table.sum(axis=1)
    three = table.rolling(3).sum()
    return (table / three).dropna(how="all").T


def steady_state_ratio(g: float) -> float:
    """The flow / three-year-sum ratio of a flow growing at log rate ``g`` a year."""
    return float(1.0 / (1.0 + np.exp(-g) + np.exp(-2 * g)))


def shaanxi_stock_over_listed() -> pd.Series:
    """Shaanxi's valid HNTE certificates at year end (T03, sourced rows only) over the three-year list sum."""
    from sim.data import history

    t = history.load_fit_targets()
    t03 = t[(t["indicator"] == "T03") & (t["kind"] == "stock") & ~t["derived"]].set_index("year")["value"]
    listed = panel.series(PEER_SERIES["HNTE"]).rolling(3).sum().dropna()
    common = sorted(set(t03.index) & set(listed.index))
    return (t03[common] / listed[common]).rename("stock_over_listed")


# --------------------------------------------------------------------------- the document
@dataclass
class Report:
    peers: dict[tuple[str, str], PeerResult]
    references: dict[str, AR1Fit | None]
    national: NationalGrowthModel
    paths: np.ndarray  # (draws, len(PROJECTION_YEARS)) national log growth
    gdp_growth: float  # national nominal GDP, average yearly log growth 2012-2023 (``implied_gdp``)
    sensitivity: np.ndarray  # the same paths with mu fixed at ``gdp_growth`` (rounded to 0.001)
    seed: int
    draws: int
    bootstrap: int


def build_report(
    seed: int = DEFAULT_SEED, draws: int = DEFAULT_DRAWS, bootstrap: int = DEFAULT_BOOTSTRAP
) -> Report:
    peers = {(k, b): peer_analysis(k, b, bootstrap, seed) for k in PEER_SERIES for b in BASES}
    refs = {k: reference_fit(k, bootstrap, seed) for k in PEER_SERIES}
    national = fit_national_model()
    paths = national.sample_paths(PROJECTION_YEARS, draws, _rng(seed, "national"))
    gdp = implied_gdp()
    gdp_growth = float(np.log(gdp[2023] / gdp[2012]) / 11)
    sensitivity = fit_national_model(round(gdp_growth, 3)).sample_paths(
        PROJECTION_YEARS, draws, _rng(seed, "national", "gdp")
    )
    return Report(peers, refs, national, paths, gdp_growth, sensitivity, seed, draws, bootstrap)


def _pct(x: float, digits: int = 1) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.{digits}f} %"


def _num(x: float, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "n/a"
    if np.isinf(x):
        return "inf"
    return f"{x:,.{digits}f}"


def _interval(pair, fmt) -> str:
    if pair is None or all(v is None or np.isnan(v) for v in pair):
        return "n/a"
    return f"{fmt(pair[0])} to {fmt(pair[1])}"


def _g3(x: float) -> str:
    return _num(x, 3)


def _rel(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path, start)).as_posix()


def _fit_row(label: str, fit: AR1Fit | None) -> str:
    if fit is None:
        return (
            f"| {label} | not fitted: fewer than {MIN_PROVINCES} provinces or {MIN_PAIRS} pairs | | | | | |"
        )
    return (
        f"| {label} | {_num(fit.rho)} ({_interval(fit.rho_interval, _num)}) "
        f"| {_num(fit.half_life, 1)} ({_interval(fit.half_life_interval, lambda v: _num(v, 1))}) "
        f"| {_pct(fit.long_run)} ({_interval(fit.long_run_interval, _pct)}) "
        f"| {_pct(fit.sigma)} | {fit.n_pairs} | {fit.n_provinces} |"
    )


def key_numbers(rep: Report) -> list[tuple[str, float, str]]:
    """(name, value, meaning): the numbers a modeller takes from the document (and the test checks)."""
    out = []
    for key in PEER_SERIES:
        for basis in BASES:
            res = rep.peers[(key, basis)]
            s = res.summary
            for k in SUMMARY_HORIZONS:
                out.append(
                    (
                        f"{key}.{basis}.growth_k{k}_median",
                        s.at[k, "median"],
                        f"median log growth {k} yr after reaching Shaanxi's 2023 {basis} "
                        f"(n = {int(s.at[k, 'n'])})",
                    )
                )
            fit = res.fit
            out.append(
                (f"{key}.{basis}.rho", fit.rho if fit else np.nan, "pooled AR(1) of peers' log growth")
            )
            out.append(
                (f"{key}.{basis}.half_life_years", fit.half_life if fit else np.nan, "ln 0.5 / ln rho")
            )
            out.append((f"{key}.{basis}.long_run_growth", fit.long_run if fit else np.nan, "a / (1 - rho)"))
        ref = rep.references[key]
        near = f"pooled AR(1), provinces from reaching {REFERENCE_FRACTION:g} x Shaanxi's 2023 level"
        out.append((f"{key}.near.rho", ref.rho if ref else np.nan, near))
        out.append((f"{key}.near.half_life_years", ref.half_life if ref else np.nan, "ln 0.5 / ln rho"))
        out.append((f"{key}.near.long_run_growth", ref.long_run if ref else np.nan, "a / (1 - rho)"))
    q = rep.national.posterior_quantiles()
    out.append(("national.rho_median", q["rho"][1], "national AR(1) of log growth, posterior median"))
    out.append(("national.half_life_median_years", half_life(q["rho"][1]), "at the posterior median rho"))
    out.append(("national.long_run_growth_median", q["mu"][1], "posterior median of mu"))
    out.append(("national.sigma_median", q["sigma"][1], "innovation sd of yearly log growth"))
    for j, year in enumerate(PROJECTION_YEARS):
        if year in (2024, 2026, 2030):
            lo, med, hi = _quantiles(rep.paths[:, j])
            out.append((f"national.growth_{year}_median", med, "projected yearly log growth"))
            out.append((f"national.growth_{year}_q10", lo, ""))
            out.append((f"national.growth_{year}_q90", hi, ""))
    nat = panel.series(NATIONAL_SERIES, province=NATIONAL)
    out.append(
        (
            "national.growth_2012_2023_per_year",
            float(np.log(nat[2023] / nat[2012]) / 11),
            "average yearly log growth of the national seller-side value",
        )
    )
    share = shaanxi_share()
    out.append(("shaanxi.share_2023", share[2023], "Shaanxi's share of the national seller-side value"))
    ratio = hnte_turnover()
    out.append(("hnte.shaanxi_ratio_2023", ratio.at[SHAANXI, 2023], "recognitions / three-year sum"))
    out.append(("hnte.all_provinces_ratio_2023", ratio.at["All provinces", 2023], "national sum"))
    return out


def render(rep: Report, figures: dict[str, Path], doc_dir: Path, command: str) -> str:
    """The markdown of ``docs/peers.md``."""
    from sim.runtime.provenance import git_info

    panel_bytes = (panel.data_dir() / panel.PANEL_FILE).read_bytes()
    git = git_info()
    L: list[str] = []
    add = L.append
    add("# Peers for priors: growth paths in the province panel\n")
    add(
        "Generated by `python -m sim.calibration.peers` (`sim/calibration/peers.py`) from the yearbook panel "
        "`sim/data/china_province_panel_to_2023.csv`; do not edit by hand: every number below comes from "
        "the command.\n"
    )
    add(
        f"- command: `{command}`; seed {rep.seed}, {rep.draws} national paths, {rep.bootstrap} bootstrap "
        f"resamples\n- panel sha256 `{hashlib.sha256(panel_bytes).hexdigest()[:16]}`; code at "
        f"`{(git.get('commit') or 'unknown')[:10]}`{' (uncommitted changes)' if git.get('dirty') else ''}\n"
        f"- growth is yearly **log** growth, ln x[t] - ln x[t-1] (0.20 = +{_pct(np.expm1(0.2), 0)}); "
        "money is nominal; "
        "Shaanxi is never in a peer set or a fit (its rows are the calibration's data)\n"
    )

    add("## Key numbers\n")
    add("| name | value | meaning |\n|---|---|---|")
    for name, value, meaning in key_numbers(rep):
        add(f"| `{name}` | {_num(float(value), 3)} | {meaning} |")
    add("")

    # ---- a)
    add("## a) Growth after reaching Shaanxi's 2023 level\n")
    add(
        "**Peers.** For each series, the provinces whose value (*level*) or whose share of the national "
        "total (*share*) was at or above Shaanxi's 2023 one in an earlier year. The crossing year is the "
        "first such year; a province already above in its first observed year is *censored* (it got there "
        "earlier, when is unknown) and is left out of the growth-after tables, but kept in the fade fit "
        "from its first year. The national total is the yearbook's `China` row, or the sum of the 31 "
        "provinces for the HNTE lists (no national row). Per capita values are not in the panel.\n"
    )
    add(
        "**Growth after.** Growth at +k is ln x[t0+k] - ln x[t0+k-1] for the crossing year t0; only yearly "
        "steps (the contract tables skip 2001-04, 2006-09 and 2011, and growth over a gap is not spread "
        "over its years).\n"
    )
    add(
        "**Fade (half-life).** A pooled AR(1) of yearly log growth, g[t] = a + rho g[t-1] + e, one OLS over "
        "every pair of consecutive growths of the peers with the lag at or after the crossing year; the "
        "long-run growth is a / (1 - rho), and a deviation of growth from it halves in ln 0.5 / ln rho "
        "years (0 when rho <= 0: yearly deviations do not persist, the series alternates rather than "
        "fades). One intercept for all peers: with 4-10 years per province, per-province means would bias "
        "rho down by about (1 + rho)/(T - 1). Not fitted with fewer than "
        f"{MIN_PROVINCES} provinces. Intervals: 10-90 % over {rep.bootstrap} bootstrap resamples of "
        f"provinces. The *near* row fits the same model to the provinces from the year they reached "
        f"{REFERENCE_FRACTION:g} x Shaanxi's 2023 level (more pairs, similar sizes; every province and year "
        "would mix in the small provinces, whose contract values jump by factors of two to three). "
        "`tests/test_peers.py` checks that the estimator recovers a known rho on a hand-made panel.\n"
    )
    if "peer_growth" in figures:
        add(f"![peer growth]({_rel(figures['peer_growth'], doc_dir)})\n")
    for key in PEER_SERIES:
        add(f"### {key}: {SERIES_LABELS[key]}\n")
        lv, sh = rep.peers[(key, "level")], rep.peers[(key, "share")]
        add(
            f"Shaanxi 2023: level {_num(lv.threshold, 0 if lv.threshold > 100 else 2)}, share of the national "
            f"total {_pct(sh.threshold, 2)}; Shaanxi's own growth 2022-23: {_num(lv.shaanxi_growth, 3)}.\n"
        )
        for res in (lv, sh):
            c = res.crossings
            dated = ", ".join(f"{r.province} {r.year}" for r in c[~c["censored"]].itertuples()) or "none"
            cens = ", ".join(f"{r.province} (<= {r.year})" for r in c[c["censored"]].itertuples()) or "none"
            add(f"- peers by {res.basis}: dated crossings: {dated}; censored: {cens}")
        add("")
        add("| horizon | by level: n | median | 10-90 % | by share: n | median | 10-90 % |")
        add("|---|---|---|---|---|---|---|")
        for k in HORIZONS:
            a, b = lv.summary.loc[k], sh.summary.loc[k]
            add(
                f"| +{k} | {int(a['n'])} | {_num(a['median'], 3)} | {_interval((a['q10'], a['q90']), _g3)} "
                f"| {int(b['n'])} | {_num(b['median'], 3)} | {_interval((b['q10'], b['q90']), _g3)} |"
            )
        add("")
        add(
            "| fade fit | rho (10-90 %) | half-life, years (10-90 %) | long-run growth (10-90 %) | residual sd | pairs | provinces |"
        )
        add("|---|---|---|---|---|---|---|")
        add(_fit_row("peers by level", lv.fit))
        add(_fit_row("peers by share", sh.fit))
        near = f"near (from {REFERENCE_FRACTION:g} x level)"
        add(_fit_row(near, rep.references[key]))
        add("")
        fits = (("by level", lv.fit), ("by share", sh.fit), (near, rep.references[key]))
        if all(f is not None and f.rho <= 0 for _, f in fits if f is not None):
            why = (
                " (batches dated by publication, and the renewals of the cohort three years earlier)"
                if key == "HNTE"
                else ""
            )
            add(
                f"Every fit has rho <= 0: the yearly growth alternates{why}, so there is no fade to time; "
                "the long-run growth and the growth-after medians are the usable priors.\n"
            )
        rows = []
        for label, fit in fits:
            if fit is not None:
                e = fit.expected_growth(lv.shaanxi_growth)
                rows.append(f"{label}: " + ", ".join(_num(v, 3) for v in e))
        if rows:
            add(
                "Expected growth for Shaanxi at +1, +2, +3 years (2024-26) from its 2023 growth, "
                "mu + rho^k (g_2023 - mu): " + "; ".join(rows) + ".\n"
            )

    # ---- b)
    nat = panel.series(NATIONAL_SERIES, province=NATIONAL)
    g = log_growth(nat.to_frame("v"))["v"].dropna()
    add("## b) The national seller-side series: history and projection\n")
    add(
        "The national value of technology contracts (seller side, the yearbook's `China` row, 100m yuan). "
        "Most of Shaanxi's contract value is bought outside the province (the 2023 local-conversion share "
        "in `shaanxi_history_to_2023.csv`), so this is the exogenous driver of demand for its technology.\n"
    )
    add("| year | value | log growth | Shaanxi share |")
    add("|---|---|---|---|")
    share = shaanxi_share()
    for year, v in nat.items():
        gr = _num(g[year], 3) if year in g.index else "(gap)"
        add(f"| {year} | {_num(v, 0)} | {gr} | {_pct(share.get(year, np.nan), 2)} |")
    add("")
    add(
        f"Average yearly log growth 2012-2023: {_num(np.log(nat[2023] / nat[2012]) / 11, 3)}; 2000-2010: "
        f"{_num(np.log(nat[2010] / nat[2000]) / 10, 3)}; 2018-2023: {_num(np.log(nat[2023] / nat[2018]) / 5, 3)}.\n"
    )
    q = rep.national.posterior_quantiles()
    add(
        "**Projection model.** g[t] = mu + rho (g[t-1] - mu) + sigma e[t], stationary AR(1) of the yearly "
        "log growth, fitted to every observation 2000-2023: the gaps (2000-05, 2005-10, 2010-12) enter as "
        "sums of the unobserved yearly growths, so the likelihood is exact. Priors (assumptions): rho "
        f"uniform on [{RHO_GRID[0]}, {RHO_GRID[-1]}], log sigma uniform on [{SIGMA_GRID[0]}, {SIGMA_GRID[-1]}], "
        "mu flat (integrated analytically; given rho and sigma it is normal). Posterior on a "
        f"{len(RHO_GRID)} x {len(SIGMA_GRID)} grid. Each path draws (rho, sigma, mu) "
        "from the posterior and runs from the observed 2023 growth. The function is "
        "`sim.calibration.peers.sample_national_growth(years, n, seed)` -> (n, len(years)) log growths "
        "(deterministic for a seed; `long_run=` fixes mu for a sensitivity).\n"
    )
    add("| parameter | 10 % | median | 90 % |\n|---|---|---|---|")
    for name in ("rho", "mu", "sigma"):
        add(f"| {name} | {_num(q[name][0], 3)} | {_num(q[name][1], 3)} | {_num(q[name][2], 3)} |")
    add(
        f"\nHalf-life of the national fade at the median rho: {_num(half_life(q['rho'][1]), 1)} years "
        f"(10-90 %: {_num(half_life(q['rho'][0]), 1)} to {_num(half_life(q['rho'][2]), 1)}).\n"
    )
    add("| year | growth: 10 % | median | 90 % | national value: 10 % | median | 90 % |")
    add("|---|---|---|---|---|---|---|")
    levels = nat[2023] * np.exp(np.cumsum(rep.paths, axis=1))
    for j, year in enumerate(PROJECTION_YEARS):
        gq, lq = _quantiles(rep.paths[:, j]), _quantiles(levels[:, j])
        add(
            f"| {year} | {_num(gq[0], 3)} | {_num(gq[1], 3)} | {_num(gq[2], 3)} "
            f"| {_num(lq[0], 0)} | {_num(lq[1], 0)} | {_num(lq[2], 0)} |"
        )
    gdp = implied_gdp()
    ratio = nat.reindex(gdp.index).dropna() / gdp.reindex(nat.index).dropna()
    gdp_growth = rep.gdp_growth
    med_2030 = float(np.median(levels[:, -1]))
    add(
        f"\n**Caveat: the long-run mean.** The fitted mu is the 2000-2023 average and the model has no "
        f"saturation. National contract value was {_pct(ratio[2012], 1)} of nominal GDP in 2012 and "
        f"{_pct(ratio[2023], 1)} in 2023 (GDP implied by the panel as R&D / R&D intensity; its nominal growth "
        f"averaged {_num(gdp_growth, 3)} a year 2012-2023). At the median path and GDP growing at that average, "
        f"the ratio would reach {_pct(med_2030 / (gdp[2023] * np.exp(7 * gdp_growth)), 1)} in 2030. The data "
        "cannot refute a slower long-run growth after 2023. Sensitivity: the same model with mu fixed at "
        f"that GDP growth (`long_run={round(gdp_growth, 3)}`); the data then push rho up, so the fade is "
        "slow:\n"
    )
    sens = rep.sensitivity
    sq = fit_national_model(round(gdp_growth, 3)).posterior_quantiles()
    add("| model | rho median | 2024 growth (10-90 %) | 2026 | 2030 |")
    add("|---|---|---|---|---|")
    for label, model_q, paths in (("mu fitted", q, rep.paths), ("mu = GDP growth", sq, sens)):
        cells = []
        for year in (2024, 2026, 2030):
            lo, med, hi = _quantiles(paths[:, PROJECTION_YEARS.index(year)])
            cells.append(f"{_num(med, 3)} ({_num(lo, 3)} to {_num(hi, 3)})")
        add(f"| {label} | {_num(model_q['rho'][1], 2)} | " + " | ".join(cells) + " |")
    add("")
    if "national" in figures:
        add(f"![national driver]({_rel(figures['national'], doc_dir)})\n")

    # ---- c)
    add("## c) HNTE: recognitions against the valid stock\n")
    add(
        "A certificate is valid three years, so the three-year sum of the recognition lists tracks the "
        "valid stock. The ratio of the year's recognitions (new and renewed) to that sum is 1/3 for a "
        "constant flow and 1 / (1 + e^-g + e^-2g) for a flow growing at log rate g (e.g. "
        f"{_num(steady_state_ratio(0.1), 3)} at g = 0.1, {_num(steady_state_ratio(0.3), 3)} at g = 0.3). "
        "Lists are dated by publication (a late batch can fall into the next year).\n"
    )
    turnover = hnte_turnover()
    provs = turnover.drop(index="All provinces")
    add("| | " + " | ".join(str(c) for c in turnover.columns) + " |")
    add("|---|" + "---|" * len(turnover.columns))
    for name in (SHAANXI, "All provinces"):
        add(f"| {name} | " + " | ".join(_num(v, 3) for v in turnover.loc[name]) + " |")
    for label, qq in (("province median", 0.5), ("province 10 %", BAND[0]), ("province 90 %", BAND[1])):
        add(f"| {label} | " + " | ".join(_num(float(provs[c].quantile(qq)), 3) for c in provs.columns) + " |")
    add("")
    flow = panel.series(PEER_SERIES["HNTE"])
    g_sx = float(np.log(flow[2023] / flow[2020]) / 3)
    add(
        f"Shaanxi's flow grew {_num(g_sx, 3)} a year (log) over 2020-2023; a steady flow at that growth "
        f"would give a ratio of {_num(steady_state_ratio(g_sx), 3)}.\n"
    )
    stock = shaanxi_stock_over_listed()
    if len(stock):
        add(
            "Shaanxi's valid certificates at year end (T03, sourced rows of `fit_targets.csv`) over the "
            "three-year list sum: "
            + ", ".join(f"{y}: {_num(v, 3)}" for y, v in stock.items())
            + " (the rest lost their certificate early, moved or merged).\n"
        )
    add("By province (recognitions / three-year sum):\n")
    add("| province | " + " | ".join(str(c) for c in provs.columns) + " |")
    add("|---|" + "---|" * len(provs.columns))
    for name, row in provs.sort_values(provs.columns[-1], ascending=False).iterrows():
        add(f"| {name} | " + " | ".join(_num(v, 3) for v in row) + " |")
    add("")
    h = rep.peers[("HNTE", "level")]
    add(
        "**The flow in peers after reaching Shaanxi's level** (part a, HNTE by level): "
        + ", ".join(
            f"+{k}: {_num(h.summary.at[k, 'median'], 3)} (n = {h.summary.at[k, 'n']})"
            for k in HORIZONS
            if h.summary.at[k, "n"]
        )
        + f". The lists start in 2018, so only {int((~h.crossings['censored']).sum())} dated crossings exist "
        "and the horizons thin out fast; the *near* fade fit is the steadier prior.\n"
    )
    return "\n".join(L) + "\n"


# --------------------------------------------------------------------------- figures
def figure_peer_growth(rep: Report):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 7.5))
    axes = fig.subplots(2, 2).ravel()
    for ax, key in zip(axes, PEER_SERIES):
        res = rep.peers[(key, "level")]
        levels = panel.by_province(PEER_SERIES[key], national=False)
        growth = log_growth(levels)
        for r in res.crossings[~res.crossings["censored"]].itertuples():
            ks = [k for k in range(0, HORIZONS[-1] + 1) if r.year + k in growth.index]
            vals = [growth.at[r.year + k, r.province] for k in ks]
            ax.plot(ks, vals, marker="o", lw=1, alpha=0.7, label=f"{r.province} ({r.year})")
        s = res.summary
        ax.plot(s.index, s["median"], color="black", lw=2.5, label="median of peers")
        sx = growth[SHAANXI].dropna()
        sx = sx[sx.index > REFERENCE_YEAR - 6]
        ax.plot(
            sx.index - REFERENCE_YEAR, sx.values, color="tab:red", lw=2, ls="--", label="Shaanxi (0 = 2023)"
        )
        fit, which = (res.fit, "peers") if res.fit is not None else (rep.references[key], "near")
        if fit is not None:
            k = np.arange(1, HORIZONS[-1] + 1)
            ax.plot(
                k,
                fit.expected_growth(res.shaanxi_growth, k),
                color="tab:red",
                lw=1,
                ls=":",
                label=f"Shaanxi, AR(1) of {which}",
            )
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_title(f"{key}: {SERIES_LABELS[key]}", fontsize=9)
        ax.set_xlabel("years since reaching Shaanxi's 2023 level")
        ax.set_ylabel("yearly log growth")
        ax.legend(fontsize=6.5, loc="best")
    fig.suptitle("Growth after reaching Shaanxi's 2023 level (peers by level)", fontsize=11)
    fig.tight_layout()
    return fig


def figure_national(rep: Report, sensitivity: np.ndarray | None = None):
    from matplotlib.figure import Figure

    nat = panel.series(NATIONAL_SERIES, province=NATIONAL)
    fig = Figure(figsize=(10, 4))
    ax, ax2 = fig.subplots(1, 2)
    years = list(nat.index)
    for a, b in zip(years[:-1], years[1:]):
        gr = np.log(nat[b] / nat[a]) / (b - a)
        if b - a == 1:
            ax.plot([b], [gr], "o", color="tab:blue")
        else:
            ax.plot([a + 1, b], [gr, gr], color="tab:blue", lw=2, alpha=0.6)
    yrs = np.array(PROJECTION_YEARS)
    lo, med, hi = (np.quantile(rep.paths, q, axis=0) for q in (BAND[0], 0.5, BAND[1]))
    ax.fill_between(yrs, lo, hi, color="tab:orange", alpha=0.3, label="projection 10-90 %")
    ax.plot(yrs, med, color="tab:orange", lw=2, label="projection median")
    if sensitivity is not None:
        ax.plot(
            yrs,
            np.median(sensitivity, axis=0),
            color="tab:orange",
            lw=1.5,
            ls="--",
            label="median, long-run mu = GDP growth",
        )
    ax.plot([], [], "o", color="tab:blue", label="observed (bars: average over a gap)")
    ax.set_title("National seller-side contract value: yearly log growth", fontsize=9)
    ax.set_xlabel("year")
    ax.set_ylabel("log growth")
    ax.legend(fontsize=7)
    share = shaanxi_share()
    ax2.plot(share.index, 100 * share.values, marker="o", color="tab:red")
    ax2.set_title("Shaanxi's share of the national seller-side value", fontsize=9)
    ax2.set_xlabel("year")
    ax2.set_ylabel("percent")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- command
def _positive_int(name: str, minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} = {text!r}: an integer >= {minimum}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{name} = {value}: must be an integer >= {minimum}")
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim.calibration.peers", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--out", type=Path, default=DOC_PATH, help="markdown file (default docs/peers.md)")
    parser.add_argument(
        "--figures", type=Path, default=FIGURES_DIR, help="figure folder (default docs/peers_figures)"
    )
    parser.add_argument("--seed", type=_positive_int("seed", 0), default=DEFAULT_SEED)
    parser.add_argument("--draws", type=_positive_int("draws", 100), default=DEFAULT_DRAWS)
    parser.add_argument("--bootstrap", type=_positive_int("bootstrap", 0), default=DEFAULT_BOOTSTRAP)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.out.suffix != ".md":
        parser.error(f"--out {args.out}: must be a .md file")

    rep = build_report(args.seed, args.draws, args.bootstrap)
    figures = {
        "peer_growth": args.figures / "peer_growth.png",
        "national": args.figures / "national_driver.png",
    }
    atomic.save_figure(figures["peer_growth"], figure_peer_growth(rep))
    atomic.save_figure(figures["national"], figure_national(rep, rep.sensitivity))
    command = shlex.join(["python", "-m", "sim.calibration.peers", *(sys.argv[1:] if argv is None else argv)])
    doc_dir = args.out.resolve().parent
    resolved = {k: v.resolve() for k, v in figures.items()}
    text = render(rep, resolved, doc_dir, command)
    atomic.write_text(args.out, text)  # last: the document appears only when everything else is written
    print(f"wrote {args.out} and {len(figures)} figures in {args.figures}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
