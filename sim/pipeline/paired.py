"""Paired differences between two ensembles that share their replicates (common random numbers).

Replicate ``i`` of a study has the same seed, parameter set and lever-effect draws whatever the
levers (``sim.pipeline.ensemble.plan_replicates``), so two scenarios run on the same replicates
differ only through the levers: the per-replicate difference is far less noisy than the
difference of two independent ensembles. The intervals here resample replicates (pairs kept
together): a percentile bootstrap with a fixed seed, so a report is bit-identical when rerun.

Used by the analyzer (``python -m sim.analyze``, sweeps whose jobs share seeds), the lever studies
(``python -m sim.study``) and the explorer. ``difference_text`` / ``format_difference`` are the one way
every output prints a paired difference: with as many digits as its interval needs (significant figures,
so a small effect does not read as zero), and "n too small to resolve" below ``MIN_PAIRS`` pairs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Bootstrap resamples: the Monte Carlo error of a 95 % percentile bound at B = 2000 is about
#: 0.1 of the bound's own sampling error (Efron & Tibshirani 1993, ch. 19), small enough for a report.
N_BOOT = 2000
BOOT_SEED = 20240101  # fixed: the same data give the same interval
LEVEL = 0.95


def boot_indices(n: int, n_boot: int = N_BOOT, seed: int = BOOT_SEED) -> np.ndarray:
    """``(n_boot, n)`` replicate indices drawn with replacement (pairs resampled together)."""
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def interval(stat: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval of bootstrap statistics (NaN-safe)."""
    stat = np.asarray(stat, dtype=float)
    stat = stat[~np.isnan(stat)]
    if stat.size == 0:
        return (float("nan"), float("nan"))
    a = (1 - level) / 2
    lo, hi = np.quantile(stat, [a, 1 - a])
    return (float(lo), float(hi))


def paired_difference(
    a: np.ndarray,
    b: np.ndarray,
    target: float | None = None,
    *,
    n_boot: int = N_BOOT,
    seed: int = BOOT_SEED,
    level: float = LEVEL,
) -> dict[str, Any]:
    """``a - b`` replicate by replicate: P(reach) difference and the median difference, with intervals.

    ``a``, ``b``: the same replicates' values under two lever settings (pairs with a NaN are dropped).
    ``target``: reach means value > target (the plan's 突破); without it only the median difference.
    Returns ``n``, ``delta_median`` (median of the paired differences) with ``delta_median_lo/hi`` and,
    with a target, ``p_a``, ``p_b``, ``delta_p`` with ``delta_p_lo/hi`` (``level`` percentile bootstrap).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("paired_difference needs two 1-d arrays of the same replicates")
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    n = int(a.size)
    nan = float("nan")
    out: dict[str, Any] = {"n": n}
    if n == 0:
        out.update(delta_median=nan, delta_median_lo=nan, delta_median_hi=nan)
        if target is not None:
            out.update(p_a=nan, p_b=nan, delta_p=nan, delta_p_lo=nan, delta_p_hi=nan)
        return out
    idx = boot_indices(n, n_boot, seed)
    d = a - b
    out["delta_median"] = float(np.median(d))
    out["delta_median_lo"], out["delta_median_hi"] = interval(np.median(d[idx], axis=1), level)
    if target is not None:
        ra, rb = (a > target).astype(float), (b > target).astype(float)
        dr = ra - rb
        out["p_a"], out["p_b"] = float(ra.mean()), float(rb.mean())
        out["delta_p"] = float(dr.mean())
        out["delta_p_lo"], out["delta_p_hi"] = interval(dr[idx].mean(axis=1), level)
    return out


def paired_mean_difference(
    a: np.ndarray, b: np.ndarray, *, n_boot: int = N_BOOT, seed: int = BOOT_SEED, level: float = LEVEL
) -> tuple[float, float, float]:
    """Mean of ``a - b`` over paired replicates with its bootstrap interval (e.g. P(all five): 0/1 arrays)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = a - b
    d = d[~np.isnan(d)]
    if d.size == 0:
        return (float("nan"),) * 3
    idx = boot_indices(d.size, n_boot, seed)
    lo, hi = interval(d[idx].mean(axis=1), level)
    return float(d.mean()), lo, hi


# --------------------------------------------------------------------------- printing a difference
#: Fewest pairs for which a paired difference is shown with an interval. When none of ``n`` pairs differ
#: (no replicate reaches a target under one setting and misses it under the other), every bootstrap
#: resample gives 0 and the interval collapses to [0, 0], although the exact 95 % bound on the share of
#: replicates a change flips is -ln(0.025)/n = 3.7/n ("rule of three", Hanley & Lippman-Hand 1983). Below
#: 40 pairs that bound exceeds 9 percentage points: the interval could not tell a 10-point change of
#: P(reach) from none, so it is not shown. (Choice of this project: 10 points as the smallest change of
#: P(reach) a lever comparison has to resolve.)
MIN_PAIRS = 40
NO_FLIP_BOUND = -math.log((1 - LEVEL) / 2)  # 3.69: the rule-of-three numerator at LEVEL (95 %)
MAX_DECIMALS = 6


def _decimals(value: float, lo: float | None = None, hi: float | None = None, sig: int = 2) -> int:
    """Decimals for ``sig`` significant figures of the interval's width (of ``|value|`` when there is no
    width): enough to tell its bounds apart and to show a non-zero estimate as non-zero."""
    width = abs(hi - lo) if lo is not None and hi is not None and math.isfinite(hi - lo) else 0.0
    if width <= 1e-9 * max(abs(value), abs(lo or 0.0), abs(hi or 0.0)):
        width = 0.0  # rounding error of equal differences, not an interval
    ref = width if width > 0 else abs(value)
    if not math.isfinite(ref) or ref == 0:
        return 0
    return int(min(MAX_DECIMALS, max(0, sig - 1 - math.floor(math.log10(ref)))))


def _number(x: float, decimals: int, signed: bool) -> str:
    text = f"{x:{'+' if signed else ''},.{decimals}f}"
    return text.replace("+0" + ("." + "0" * decimals if decimals else ""), "0", 1) if x == 0 else text


def difference_text(
    value: float | None,
    lo: float | None,
    hi: float | None,
    n: int,
    *,
    scale: float = 1.0,
    unit: str = "",
    proportion: bool = False,
    min_pairs: int = MIN_PAIRS,
) -> tuple[str, str]:
    """(estimate, interval) texts of a paired difference over ``n`` pairs, e.g. ``("+0.031", "+0.012 – +0.050")``.

    Significant figures from the interval's width. ``scale`` multiplies every number (100: a proportion in
    percentage points) and ``unit`` follows each. Below ``min_pairs`` pairs the interval text is "n too
    small to resolve: n pairs < min". ``proportion``: a difference of P(reach) (0/1 per replicate): when
    no pair differs the interval says so, with the exact bound on the share a change could flip.
    """
    if value is None or not math.isfinite(value) or n <= 0:
        return "n/a", "no pairs" if n <= 0 else "n/a"
    v = value * scale
    if n < min_pairs:
        return _number(v, _decimals(v), True) + unit, f"n too small to resolve: {n} pairs < {min_pairs}"
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return _number(v, _decimals(v), True) + unit, "no interval"
    a, b = lo * scale, hi * scale
    if proportion and value == 0 and lo == 0 and hi == 0:
        bound = NO_FLIP_BOUND / n * scale
        d = _decimals(bound)
        return "0" + unit, f"no pair differs: within ±{_number(bound, d, False)}{unit}"  # no "|": a table cell
    d = _decimals(v, a, b)
    return _number(v, d, True) + unit, f"{_number(a, d, True)}{unit} – {_number(b, d, True)}{unit}"


def format_difference(value, lo, hi, n, **kwargs: Any) -> str:
    """``difference_text`` as one cell: ``"+0.031 (+0.012 – +0.050)"``."""
    estimate, interval_text = difference_text(value, lo, hi, n, **kwargs)
    return f"{estimate} ({interval_text})"
