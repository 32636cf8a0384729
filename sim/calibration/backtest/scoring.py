"""The backtest's scores: a row per forecast (indicator, origin, horizon, forecaster) with its
median, 90 % interval and scores (``sim.calibration.scores``), the summary tables, and the goal verdicts.

The model's 90 % interval is the 5 %-95 % quantiles of its replicates (``model_band``), a naive
forecaster's the same quantiles of its predictive (``sim.calibration.forecasters``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.calibration import scores
from sim.calibration.backtest.config import FIRST_DATA_YEAR, INDICATORS, LAST_YEAR
from sim.calibration.forecasters import FORECASTERS, NotEnoughData
from sim.data import history

MODEL = "model"
FORECASTER_NAMES = (MODEL, *FORECASTERS)
#: The issue's goal: the model beats every naive forecaster on mean relative CRPS and on the
#: median absolute error of the median, for T01-T04 at horizons 1 and 2.
GOAL_INDICATORS = ("T01", "T02", "T03", "T04")
GOAL_HORIZONS = (1, 2)


def observations() -> dict[str, pd.Series]:
    """Year-end observations of each indicator from ``FIRST_DATA_YEAR`` on."""
    out = {}
    for ind in INDICATORS:
        s = history.observed(ind)
        out[ind] = s[(s.index >= FIRST_DATA_YEAR) & (s.index <= LAST_YEAR)]
    return out


def _row(ind, origin, year, forecaster, obs, crps, median, lo, hi) -> dict:
    return {
        "indicator": ind,
        "origin": int(origin),
        "horizon": int(year - origin),
        "forecaster": forecaster,
        "year": int(year),
        "observed": float(obs),
        "median": float(median),
        "lo90": float(lo),
        "hi90": float(hi),
        **scores.score_point(obs, crps, median, lo, hi),
    }


def model_band(members: np.ndarray) -> np.ndarray:
    """The model's 90 % interval and median: the 5 %, 50 % and 95 % quantiles (``scores.LEVEL``) of its
    replicates on the first axis, equally weighted (``plan_replicates`` drew the sets by weight)."""
    from sim.calibration.fitreport import weighted_quantile

    members = np.asarray(members, dtype=float)
    return weighted_quantile(members, np.ones(len(members)), [scores.LEVEL[0], 0.5, scores.LEVEL[1]])


def model_rows(
    origin: int, ensemble: dict[str, dict[int, np.ndarray]], obs: dict[str, pd.Series]
) -> list[dict]:
    """Scores of the model's replicates against each year after ``origin`` with an observation."""
    rows = []
    for ind in INDICATORS:
        for year in range(origin + 1, LAST_YEAR + 1):
            if year not in obs[ind].index:
                continue
            members = ensemble[ind][year]
            lo, med, hi = model_band(members)
            y = float(obs[ind][year])
            rows.append(_row(ind, origin, year, MODEL, y, scores.crps_ensemble(y, members), med, lo, hi))
    return rows


def naive_forecasts(origin: int, obs: dict[str, pd.Series]) -> tuple[dict, list[dict]]:
    """Each naive forecaster's predictive of 2018..origin data for origin+1..LAST_YEAR, and the unavailable."""
    fits, unavailable = {}, []
    targets = np.arange(origin + 1, LAST_YEAR + 1)
    for ind in INDICATORS:
        past = obs[ind][obs[ind].index <= origin]
        for name, forecaster in FORECASTERS.items():
            try:
                fits[(ind, name)] = forecaster(past.index.to_numpy(), past.to_numpy(), targets)
            except NotEnoughData as exc:
                unavailable.append(
                    {
                        "indicator": ind,
                        "origin": origin,
                        "forecaster": name,
                        "years": past.index.tolist(),
                        "reason": str(exc),
                    }
                )
    return fits, unavailable


def naive_rows(origin: int, fits: dict, obs: dict[str, pd.Series]) -> list[dict]:
    rows = []
    for (ind, name), p in fits.items():
        years = p.years.astype(int)
        y = np.array([obs[ind].get(year, np.nan) for year in years], dtype=float)  # one per target year
        crps, med = p.crps(y), p.median
        lo, hi = p.quantile(scores.LEVEL[0]), p.quantile(scores.LEVEL[1])
        for k, year in enumerate(years):
            if np.isfinite(y[k]):
                rows.append(_row(ind, origin, year, name, y[k], crps[k], med[k], lo[k], hi[k]))
    return rows


def summary_tables(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Mean relative CRPS and median relative abs error of the median per (indicator, horizon) x forecaster."""
    g = table.groupby(["indicator", "horizon", "forecaster"], sort=False)
    crps = g["crps_rel"].mean().unstack("forecaster")
    err = g["abs_err_rel"].median().unstack("forecaster")
    n = g.size().unstack("forecaster")
    cols = [f for f in FORECASTER_NAMES if f in crps.columns]
    return {"crps": crps[cols], "abs_err": err[cols], "n": n[cols]}


def goal_verdicts(table: pd.DataFrame) -> list[dict]:
    """Per indicator and horizon: does the model beat each naive forecaster, on the origins both forecast?"""
    out = []
    for ind in INDICATORS:
        for h in sorted(table["horizon"].unique()):
            cell = table[(table["indicator"] == ind) & (table["horizon"] == h)]
            model = cell[cell["forecaster"] == MODEL].set_index("origin")
            if model.empty:
                continue
            crps_lost, err_lost, compared = [], [], []
            for name in FORECASTERS:
                other = cell[cell["forecaster"] == name].set_index("origin")
                common = model.index.intersection(other.index)
                if common.empty:
                    continue
                compared.append(name)
                if not model.loc[common, "crps_rel"].mean() < other.loc[common, "crps_rel"].mean():
                    crps_lost.append(name)
                if not model.loc[common, "abs_err_rel"].median() < other.loc[common, "abs_err_rel"].median():
                    err_lost.append(name)
            beats_crps = not crps_lost if compared else None
            beats_err = not err_lost if compared else None
            out.append(
                {
                    "indicator": ind,
                    "horizon": int(h),
                    "origins": sorted(int(o) for o in model.index),
                    "compared_with": compared,
                    "beats_all_crps": beats_crps,
                    "beats_all_abs_err": beats_err,
                    "loses_crps_to": crps_lost,
                    "loses_abs_err_to": err_lost,
                    "in_goal": ind in GOAL_INDICATORS and int(h) in GOAL_HORIZONS,
                    "goal_met": (beats_crps and beats_err) if compared else None,
                }
            )
    return out
