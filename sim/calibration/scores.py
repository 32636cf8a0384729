"""Proper scores of probabilistic forecasts, for the backtest and the fit report.

* CRPS (continuous ranked probability score, Gneiting & Raftery 2007, JASA 102:359, eq. 20) from
  ``scoringrules``: ``crps_ensemble`` for a sample of model runs (the empirical-CDF estimator, with
  weights when the runs carry importance weights), closed forms for normal and log-normal
  predictives (``sim.calibration.forecasters``).
* Interval score of a central (1 - alpha) interval [l, u] (Gneiting & Raftery 2007, eq. 43):
  ``(u - l) + 2/alpha (l - y) 1{y < l} + 2/alpha (y - u) 1{y > u}``; alpha = 0.1 for 90 %.

Scores are divided by the observed value (``relative``), so indicators in firms, patents and
100 million yuan can be averaged together; a relative CRPS of 0.05 is, for a point forecast,
an error of 5 %.
"""

from __future__ import annotations

import numpy as np
import scoringrules as sr

ALPHA = 0.10  # the 90 % interval
LEVEL = (ALPHA / 2, 1 - ALPHA / 2)


def crps_ensemble(obs, members, weights=None) -> np.ndarray:
    """CRPS of a sample ``members`` (members on the last axis) against ``obs``; ``weights`` per member.

    NaN members (failed runs) are dropped (their weight too); all-NaN gives NaN.
    """
    obs = np.asarray(obs, dtype=float)
    members = np.asarray(members, dtype=float)
    w = np.ones(members.shape[-1]) if weights is None else np.asarray(weights, dtype=float)
    w = np.broadcast_to(w, members.shape)
    ok = np.isfinite(members) & (w > 0)
    if ok.all():
        return np.asarray(sr.crps_ensemble(obs, members, ens_w=w), dtype=float)
    flat_m = members.reshape(-1, members.shape[-1])
    flat_w = w.reshape(flat_m.shape)
    flat_o = np.broadcast_to(obs, members.shape[:-1]).reshape(-1)
    out = np.full(len(flat_m), np.nan)
    for i, (m, ww, o) in enumerate(zip(flat_m, flat_w, flat_o)):
        keep = np.isfinite(m) & (ww > 0)
        if keep.any():
            out[i] = float(sr.crps_ensemble(o, m[keep], ens_w=ww[keep]))
    return out.reshape(members.shape[:-1])


def interval_score(obs, lo, hi, alpha: float = ALPHA) -> np.ndarray:
    """Interval score of the central (1 - alpha) interval ``[lo, hi]`` (``scoringrules``)."""
    return np.asarray(
        sr.interval_score(np.asarray(obs, float), np.asarray(lo, float), np.asarray(hi, float), alpha)
    )


def relative(score, obs) -> np.ndarray:
    """``score / |obs|``."""
    return np.asarray(score, dtype=float) / np.abs(np.asarray(obs, dtype=float))


def score_point(obs: float, crps: float, median: float, lo: float, hi: float) -> dict:
    """The backtest's scores of one forecast of one observation, relative to the observation."""
    return {
        "crps_rel": float(relative(crps, obs)),
        "is90_rel": float(relative(interval_score(obs, lo, hi), obs)),
        "abs_err_rel": float(abs(median - obs) / abs(obs)),
        "covered90": bool(lo <= obs <= hi),
    }
