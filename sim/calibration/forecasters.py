"""Naive forecasters for the backtest: trends, random walks with drift, and the GM(1,1) grey model.

Each forecaster is fitted to one indicator's year-end observations up to the forecast origin and
returns a ``Predictive``: a normal distribution on levels, or on logs (a log-normal on levels),
per target year. The spread comes from the forecaster's own residuals:

* ``linear`` / ``loglinear``: ordinary least squares of the value (its log) on the year. Residual
  sd ``s = sqrt(SSR / (n - 2))``; predictive sd ``s * sqrt(1 + 1/n + (t - t_mean)^2 / S_tt)``, the
  textbook prediction variance (noise plus the uncertainty of the fitted line at ``t``).
* ``rw_drift`` / ``rw_drift_log``: a random walk with drift on the value (its log). Drift = mean of
  the ``m = n - 1`` annual increments, ``s`` their sd (``ddof=1``); ``h`` years ahead the predictive
  sd is ``s * sqrt(h + h^2 / m)``: ``h`` innovations plus the drift's estimation error, growing with
  the horizon.
* ``gm11``: the grey model GM(1,1) (Deng 1982), the usual method of Chinese regional forecasting
  papers: accumulate ``x1 = cumsum(x0)``, background values ``z1(k) = (x1(k) + x1(k-1)) / 2``, least
  squares of ``x0(k) + a z1(k) = b`` (k = 2..n), time response
  ``x0_hat(k+1) = (1 - e^a) (x0(1) - b/a) e^{-a k}``. Errors are multiplicative: ``s`` from the
  log residuals ``log(x0 / x0_hat)`` at k = 2..n with ``n - 3`` degrees of freedom (two fitted
  parameters; the first point is reproduced exactly). GM(1,1)'s forecast is log-linear in time, so
  its parameter uncertainty is taken as that of a log-linear fit over the same years:
  sd ``s * sqrt(1 + 1/n + (t - t_mean)^2 / S_tt)``.

Why normal and not Student t with the residual degrees of freedom: the log models' predictive
would then be log-t, whose mean is infinite, so its CRPS is infinite. With 1-3 residual degrees of
freedom the normal understates the tails (its 90 % interval is narrower than the t interval);
the backtest's coverage column shows what that costs.

Minimum data: three points for the trends and random walks (one residual degree of freedom),
four for GM(1,1); the random walks and GM(1,1) also need consecutive years. With less,
``NotEnoughData`` is raised and the backtest lists the forecaster as unavailable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import scoringrules as sr
from scipy.stats import norm


class NotEnoughData(ValueError):
    """The series is too short (or has gaps) for this forecaster."""


@dataclass(frozen=True)
class Predictive:
    """A normal predictive per target year: on levels, or on logs when ``log`` (log-normal on levels)."""

    years: np.ndarray
    mu: np.ndarray  # location on the fitted scale (level or log level)
    sigma: np.ndarray  # sd on the fitted scale
    log: bool

    def quantile(self, q: float) -> np.ndarray:
        x = self.mu + self.sigma * norm.ppf(q)
        return np.exp(x) if self.log else x

    @property
    def median(self) -> np.ndarray:
        return self.quantile(0.5)

    def crps(self, obs) -> np.ndarray:
        """CRPS against observations on levels (closed forms of ``scoringrules``)."""
        obs = np.asarray(obs, dtype=float)
        if self.log:
            return np.asarray(sr.crps_lognormal(obs, self.mu, self.sigma), dtype=float)
        return np.asarray(sr.crps_normal(obs, self.mu, self.sigma), dtype=float)


def _check(years: np.ndarray, values: np.ndarray, min_points: int, consecutive: bool, log: bool) -> None:
    if len(years) < min_points:
        raise NotEnoughData(f"needs at least {min_points} points, has {len(years)}")
    if consecutive and np.any(np.diff(years) != 1):
        raise NotEnoughData(f"needs consecutive years, has {years.astype(int).tolist()}")
    if log and np.any(values <= 0):
        raise NotEnoughData("needs positive values (fitted on logs)")


def _trend_spread(years: np.ndarray, target: np.ndarray) -> np.ndarray:
    """sqrt(1 + 1/n + (t - t_mean)^2 / S_tt): the OLS prediction-variance factor."""
    t_mean = years.mean()
    s_tt = np.sum((years - t_mean) ** 2)
    return np.sqrt(1.0 + 1.0 / len(years) + (target - t_mean) ** 2 / s_tt)


def _ols_trend(years: np.ndarray, y: np.ndarray, target: np.ndarray, log: bool) -> Predictive:
    slope, intercept = np.polyfit(years, y, 1)
    resid = y - (intercept + slope * years)
    s = np.sqrt(np.sum(resid**2) / (len(y) - 2))
    return Predictive(target, intercept + slope * target, s * _trend_spread(years, target), log)


def _random_walk(years: np.ndarray, y: np.ndarray, target: np.ndarray, log: bool) -> Predictive:
    steps = np.diff(y)
    m = len(steps)
    h = target - years[-1]
    s = np.std(steps, ddof=1)
    return Predictive(target, y[-1] + h * steps.mean(), s * np.sqrt(h + h**2 / m), log)


def gm11_fit(x0: np.ndarray) -> tuple[float, float]:
    """GM(1,1) development coefficient ``a`` and grey input ``b`` by least squares."""
    x0 = np.asarray(x0, dtype=float)
    x1 = np.cumsum(x0)
    z1 = 0.5 * (x1[1:] + x1[:-1])
    design = np.column_stack([-z1, np.ones_like(z1)])
    (a, b), *_ = np.linalg.lstsq(design, x0[1:], rcond=None)
    return float(a), float(b)


def gm11_values(x0_first: float, a: float, b: float, k: np.ndarray) -> np.ndarray:
    """GM(1,1) time response: ``x0_hat(k+1)`` for ``k = 0, 1, ...`` (``k = 0`` is the first point)."""
    k = np.asarray(k, dtype=float)
    restored = (1.0 - np.exp(a)) * (x0_first - b / a) * np.exp(-a * k)
    return np.where(k == 0, x0_first, restored)


def _gm11(years: np.ndarray, x0: np.ndarray, target: np.ndarray) -> Predictive:
    a, b = gm11_fit(x0)
    if abs(a) < 1e-12:
        raise NotEnoughData("GM(1,1) degenerate: development coefficient 0")
    fitted = gm11_values(x0[0], a, b, np.arange(len(x0)))
    ahead = gm11_values(x0[0], a, b, target - years[0])
    if np.any(fitted[1:] <= 0) or np.any(ahead <= 0):
        raise NotEnoughData("GM(1,1) fitted a non-positive value")
    resid = np.log(x0[1:] / fitted[1:])
    s = np.sqrt(np.sum(resid**2) / (len(x0) - 3))
    return Predictive(target, np.log(ahead), s * _trend_spread(years, target), True)


@dataclass(frozen=True)
class Forecaster:
    name: str
    label: str
    min_points: int
    consecutive: bool
    log: bool
    fit: Callable[[np.ndarray, np.ndarray, np.ndarray], Predictive]

    def __call__(self, years, values, target_years) -> Predictive:
        """Fit to (``years``, ``values``) and predict ``target_years``; raises ``NotEnoughData``."""
        years = np.asarray(years, dtype=float)
        values = np.asarray(values, dtype=float)
        target = np.asarray(target_years, dtype=float)
        _check(years, values, self.min_points, self.consecutive, self.log)
        if np.any(target <= years[-1]):
            raise ValueError("target years must follow the data")
        y = np.log(values) if self.log and self.name != "gm11" else values
        return self.fit(years, y, target)


FORECASTERS: dict[str, Forecaster] = {
    f.name: f
    for f in (
        Forecaster("linear", "linear trend", 3, False, False, lambda t, y, n: _ols_trend(t, y, n, False)),
        Forecaster(
            "loglinear", "log-linear trend", 3, False, True, lambda t, y, n: _ols_trend(t, y, n, True)
        ),
        Forecaster(
            "rw_drift", "random walk with drift", 3, True, False, lambda t, y, n: _random_walk(t, y, n, False)
        ),
        Forecaster(
            "rw_drift_log",
            "random walk with drift on logs",
            3,
            True,
            True,
            lambda t, y, n: _random_walk(t, y, n, True),
        ),
        Forecaster("gm11", "grey model GM(1,1)", 4, True, True, _gm11),
    )
}
