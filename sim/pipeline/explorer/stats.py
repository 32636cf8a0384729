"""What the explorer shows for an ensemble, with its Monte Carlo error.

For each headline target, from the first ``n`` replicates of the chosen setting and the same
``n`` replicates of the plan (common random numbers, so the difference is paired):

* the 2026 median with a distribution-free 95 % interval (order statistics of the binomial),
  and the 5 %-95 % range of the replicates: quantiles as ``summary.json`` computes them;
* P(reach) with Wilson's 95 % interval (``sim.pipeline.report``);
* the paired difference from the plan: the mean of (setting - plan) per replicate with a
  Student-t 95 % interval, for the 2026 value and for reaching the target (the mean of the
  per-replicate differences of the 0/1 reach indicator);
* the 2024-26 public cost: the median with its interval and the 5 %-95 % range of the replicates, as
  ``summary.json`` and ``targets.md`` give it, and the paired mean difference from the plan.

The differences print through ``sim.pipeline.paired.difference_text`` (``diff_text`` and friends), as the
analyzer and the studies print theirs: significant figures from the interval, and "n too small to
resolve" while fewer than ``paired.MIN_PAIRS`` replicates are in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from sim.pipeline import paired
from sim.pipeline.explorer import adapter

LEVEL = 0.95


def median_ci(values: np.ndarray, level: float = LEVEL) -> tuple[float, float] | None:
    """Distribution-free interval for the median: order statistics x_(j), x_(n+1-j).

    ``j`` is the largest rank with P(Bin(n, 1/2) <= j - 1) <= (1 - level) / 2, so the coverage
    is at least ``level``. None when ``n`` is too small for any such ``j`` (n < 6 at 95 %).
    """
    v = np.sort(np.asarray(values, dtype=float))
    v = v[~np.isnan(v)]
    n = v.size
    if n == 0:
        return None
    ranks = np.arange(1, n + 1)
    ok = stats.binom.cdf(ranks - 1, n, 0.5) <= (1 - level) / 2
    if not ok.any():
        return None
    j = int(ranks[ok].max())
    return float(v[j - 1]), float(v[n - j])


def mean_ci(values: np.ndarray, level: float = LEVEL) -> tuple[float | None, tuple[float, float] | None]:
    """Mean and its Student-t interval (None for the interval below two values)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return None, None
    mean = float(v.mean())
    if v.size < 2:
        return mean, None
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return mean, (mean - half, mean + half)


@dataclass
class TargetRow:
    tid: str
    name: str
    unit: str
    target: float
    target_year: int
    median: float | None
    median_ci: tuple[float, float] | None
    p05: float | None
    p95: float | None
    p_reach: float | None
    p_reach_ci: tuple[float, float] | None
    plan_median: float | None
    plan_p_reach: float | None
    diff: float | None  # mean paired difference of the target-year value, setting - plan
    diff_ci: tuple[float, float] | None
    dp_reach: float | None  # paired difference of P(reach)
    dp_reach_ci: tuple[float, float] | None
    n: int = 0  # pairs behind the differences

    def diff_text(self) -> tuple[str, str]:
        """(estimate, interval) of the paired difference of the target-year value, in report units."""
        unit = " pp" if self.unit == "percent" else ""
        return _difference(self.diff, self.diff_ci, self.n, unit=unit)

    def dp_reach_text(self) -> tuple[str, str]:
        """(estimate, interval) of the paired difference of P(reach), in percentage points."""
        return _difference(self.dp_reach, self.dp_reach_ci, self.n, scale=100, unit=" pp", proportion=True)


@dataclass
class CostRow:
    """The 2024-26 public cost as ``summary.json`` and ``targets.md`` give it (median and 5 %-95 %)."""

    median: float | None
    median_ci: tuple[float, float] | None  # 95 % Monte Carlo interval of the median
    p05: float | None  # the 90 % interval of the replicates
    p95: float | None
    plan_median: float | None
    diff: float | None  # mean paired difference, setting - plan
    diff_ci: tuple[float, float] | None
    first_year: int = adapter.COST_YEARS[0]
    last_year: int = adapter.COST_YEARS[1]
    n: int = 0  # pairs behind the difference

    def diff_text(self) -> tuple[str, str]:
        """(estimate, interval) of the paired cost difference (亿元)."""
        return _difference(self.diff, self.diff_ci, self.n)


def _difference(value, ci, n: int, **kwargs) -> tuple[str, str]:
    lo, hi = ci if ci is not None else (None, None)
    return paired.difference_text(value, lo, hi, n, **kwargs)


FAN_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass
class Fan:
    """Quantiles over replicates by year (the bands of the fan chart)."""

    years: list[int]
    quantiles: dict[float, list[float | None]]  # q -> one value per year (None: no value, JSON null)


@dataclass
class Summary:
    n: int
    rows: list[TargetRow] = field(default_factory=list)
    cost: CostRow | None = None
    fans: dict[str, Fan] = field(default_factory=dict)


def fan(results: pd.DataFrame, tid: str) -> Fan:
    sub = results[results["indicator"] == tid]
    q = sub.groupby("year")["value"].quantile(list(FAN_QUANTILES)).unstack()
    bands = {k: [None if math.isnan(v) else float(v) for v in q[k]] for k in FAN_QUANTILES}
    return Fan([int(y) for y in q.index], bands)


def _at(results: pd.DataFrame, tid: str, year: int) -> np.ndarray:
    sub = results[(results["indicator"] == tid) & (results["year"] == year)].sort_values("replicate")
    return sub["value"].to_numpy(dtype=float)


def summarise(setting: list[adapter.Replicated], plan: list[adapter.Replicated], end_year: int) -> Summary:
    """Everything the page shows, from ``n`` paired replicates (both lists in replicate order)."""
    n = len(setting)
    if n != len(plan) or n == 0:
        raise ValueError("setting and plan replicates must be paired and not empty")
    results = pd.concat([r.results for r in setting], ignore_index=True)
    plan_results = pd.concat([r.results for r in plan], ignore_index=True)
    rows = []
    for tid in adapter.INDICATORS:
        t = adapter.target(tid)
        s = adapter.indicator_summary(results, tid, end_year)
        p = adapter.indicator_summary(plan_results, tid, end_year)
        year = str(t.target_year)
        at = s["by_year"].get(year) or {}
        plan_at = p["by_year"].get(year) or {}
        v_s, v_p = _at(results, tid, t.target_year), _at(plan_results, tid, t.target_year)
        diff, diff_ci = mean_ci(v_s - v_p)
        dp, dp_ci = mean_ci(adapter.reached(v_s, tid) - adapter.reached(v_p, tid))
        rows.append(
            TargetRow(
                tid=tid,
                name=t.name,
                unit=t.unit,
                target=t.target,
                target_year=t.target_year,
                median=at.get("p50"),
                median_ci=median_ci(v_s),
                p05=at.get("p05"),
                p95=at.get("p95"),
                p_reach=s.get("p_reach"),
                p_reach_ci=tuple(s["p_reach_ci95"]) if s.get("p_reach_ci95") else None,
                plan_median=plan_at.get("p50"),
                plan_p_reach=p.get("p_reach"),
                diff=diff,
                diff_ci=diff_ci,
                dp_reach=dp,
                dp_reach_ci=dp_ci,
                n=n,
            )
        )
    fans = {tid: fan(results, tid) for tid in adapter.INDICATORS}
    return Summary(
        n, rows, cost_row(np.array([r.cost for r in setting]), np.array([r.cost for r in plan]), n), fans
    )


def cost_row(cost: np.ndarray, plan: np.ndarray, n: int = 0) -> CostRow:
    """The setting's public cost per replicate against the plan's (paired): quantiles as ``summary.json``
    computes them (``np.quantile``), the median's interval and the paired mean difference."""
    p05, p50, p95 = (float(q) for q in np.quantile(cost, [0.05, 0.5, 0.95]))
    diff, diff_ci = mean_ci(cost - plan)
    return CostRow(p50, median_ci(cost), p05, p95, float(np.quantile(plan, 0.5)), diff, diff_ci, n=n)
