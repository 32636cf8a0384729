"""Paired differences between two ensembles that share their replicates (common random numbers).

Replicate ``i`` of a study has the same seed, parameter set and lever-effect draws whatever the
levers (``sim.pipeline.ensemble.plan_replicates``), so two scenarios run on the same replicates
differ only through the levers: the per-replicate difference is far less noisy than the
difference of two independent ensembles. The intervals here resample replicates (pairs kept
together): a percentile bootstrap with a fixed seed, so a report is bit-identical when rerun.

Used by the analyzer (``python -m sim.analyze``, sweeps whose jobs share seeds) and by the lever
studies (``python -m sim.study``).
"""

from __future__ import annotations

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
