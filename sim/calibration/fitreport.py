"""The fit report: posterior-predictive check against 2019-2023, error table, prior vs posterior.

The posterior-predictive runs are one run per accepted parameter set at the projection scale,
each weighted by its importance weight; medians and 90 % bands are weighted quantiles.
The fit goals (issue 4): median within ±10 % of every T01-T04 point and within 2
percentage points for T05; the 90 % bands cover at least 80 % of all fitted points.
Sharpness (issue 9): the 90 % band's width and the CRPS of the weighted runs
(``sim.calibration.scores``), both relative to the data point, per indicator and overall: a fit
that covers the data with wide bands is not as good as one that covers it with narrow bands.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim.calibration import scores
from sim.calibration.targets import OUTPUT_INDICATORS, OUTPUT_YEARS, FitTargets
from sim.data.history import PARTIAL_SUFFIX, load_fit_targets
from sim.data.posterior import PROJECTION_ONLY
from sim.model.params import BehaviourParams
from sim.runtime import atomic

#: Parameters that act only after 2023 (sim.data.posterior.PROJECTION_ONLY): the data cannot narrow them,
#: whatever the random walk left

GOAL_RELATIVE = {"T01": 0.10, "T02": 0.10, "T03": 0.10, "T04": 0.10}  # median within ±10 %
GOAL_POINTS = {"T05": 2.0}  # median within 2 percentage points
GOAL_COVERAGE = 0.80  # 90 % bands cover at least 80 % of all data points
BAND = (0.05, 0.95)


def label(indicator: str) -> tuple[str, str]:
    """Plot title and unit of an outcome (``sim.model.outcomes.OUTCOMES``), in ASCII (``plots.english``)."""
    from sim.model.outcomes import OUTCOMES
    from sim.pipeline.plots import english, unit_label

    o = OUTCOMES.get(indicator)
    return (f"{indicator} {english(o.name)}", unit_label(o.unit)) if o else (indicator, "")


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q, axis: int = 0) -> np.ndarray:
    """Quantiles ``q`` of ``values`` along ``axis`` (the sample axis) with sample ``weights``."""
    values = np.moveaxis(np.asarray(values, dtype=float), axis, -1)
    w = np.asarray(weights, dtype=float)
    q = np.atleast_1d(q)
    out = np.empty(values.shape[:-1] + (len(q),))
    for idx in np.ndindex(values.shape[:-1]):
        v = values[idx]
        ok = np.isfinite(v) & (w > 0)
        if not ok.any():
            out[idx] = np.nan
            continue
        order = np.argsort(v[ok], kind="stable")
        vs, ws = v[ok][order], w[ok][order]
        cw = (np.cumsum(ws) - 0.5 * ws) / ws.sum()
        out[idx] = np.interp(q, cw, vs)
    return np.moveaxis(out, -1, 0)


def error_table(targets: FitTargets, outputs: np.ndarray, weights: np.ndarray) -> pd.DataFrame:
    """Per data point: observed value and range, predictive median and 90 % band, error, goals."""
    sims = targets.simulated(outputs)  # (n, points)
    lo, med, hi = weighted_quantile(sims, weights, [BAND[0], 0.5, BAND[1]])
    tab = targets.points[["indicator", "year", "value", "lo", "hi", "derived"]].copy()
    tab["fitted"] = targets.fitted
    tab["median"] = med
    tab["band_lo"] = lo
    tab["band_hi"] = hi
    tab["error"] = med - tab["value"]
    tab["error_pct"] = 100.0 * tab["error"] / tab["value"]
    tab["covered"] = (lo <= tab["value"]) & (tab["value"] <= hi)
    tab["band_width_rel"] = (hi - lo) / np.abs(tab["value"])
    # weighted ensemble CRPS: each run counts with its parameter set's share of the particles
    crps = scores.crps_ensemble(tab["value"].to_numpy(), np.asarray(sims).T, weights)
    tab["crps_rel"] = scores.relative(crps, tab["value"])
    goal = []
    for ind, err, err_pct in zip(tab["indicator"], tab["error"], tab["error_pct"]):
        if ind in GOAL_RELATIVE:
            goal.append(abs(err_pct) <= 100 * GOAL_RELATIVE[ind])
        elif ind in GOAL_POINTS:
            goal.append(abs(err) <= GOAL_POINTS[ind])
        else:
            goal.append(None)  # no stated goal: context series
    tab["goal_met"] = goal
    return tab.reset_index(drop=True)


def sharpness(errors: pd.DataFrame) -> dict:
    """Median relative 90 % band width and mean relative CRPS over the fitted points, per indicator and overall."""
    fitted = errors[errors["fitted"].astype(bool)]

    def stats(frame: pd.DataFrame) -> dict:
        return {
            "points": int(len(frame)),
            "median_band_width_rel": float(np.median(frame["band_width_rel"])) if len(frame) else None,
            "mean_crps_rel": float(np.mean(frame["crps_rel"])) if len(frame) else None,
        }

    return {
        "by_indicator": {ind: stats(g) for ind, g in fitted.groupby("indicator", sort=False)},
        "overall": stats(fitted),
    }


def sharpness_table(sharp: dict) -> pd.DataFrame:
    """``sharpness`` as a table for the report, widths and CRPS in percent of the data point."""
    rows = [{"indicator": k, **v} for k, v in sharp["by_indicator"].items()]
    tab = pd.DataFrame(rows + [{"indicator": "all fitted points", **sharp["overall"]}])
    tab["median_band_width_pct"] = 100 * tab["median_band_width_rel"].astype(float)
    tab["mean_crps_pct"] = 100 * tab["mean_crps_rel"].astype(float)
    return tab


#: The sharpness goal for the headline series (issue 17): over 2019-2023, T01-T04, the median relative
#: width of the 90 % bands at most 15 %, with the bands still covering at least 80 % of the points.
HEADLINE_GOAL = {
    "indicators": ("T01", "T02", "T03", "T04"),
    "years": (2019, 2023),
    "width": 0.15,
    "coverage": 0.8,
}


def headline_sharpness(errors: pd.DataFrame, goal: dict = HEADLINE_GOAL) -> dict:
    """Median relative band width and coverage of the headline series' points in the goal's years."""
    lo, hi = goal["years"]
    pts = errors[errors["indicator"].isin(goal["indicators"]) & errors["year"].between(lo, hi)]
    width = float(np.median(pts["band_width_rel"])) if len(pts) else float("nan")
    coverage = float(pts["covered"].mean()) if len(pts) else float("nan")
    return {
        "points": int(len(pts)),
        "median_band_width_rel": width,
        "coverage": coverage,
        "width_goal": goal["width"],
        "coverage_goal": goal["coverage"],
        "met": bool(width <= goal["width"] and coverage >= goal["coverage"]),
        "what": f"{', '.join(goal['indicators'])} in {lo}-{hi}",
    }


def summary_of_fit(errors: pd.DataFrame) -> dict:
    graded = errors[errors["goal_met"].notna()]
    return {
        "headline": headline_sharpness(errors),
        "points": int(len(errors)),
        "covered": int(errors["covered"].sum()),
        "coverage": float(errors["covered"].mean()),
        "coverage_goal": GOAL_COVERAGE,
        "coverage_goal_met": bool(errors["covered"].mean() >= GOAL_COVERAGE),
        "median_goal_points": int(len(graded)),
        "median_goal_met": int(graded["goal_met"].astype(bool).sum()),
        "median_goal_missed": [
            f"{i} {y}" for i, y, ok in zip(graded["indicator"], graded["year"], graded["goal_met"]) if not ok
        ],
        "sharpness": sharpness(errors),
    }


def fit_by_indicator(errors: pd.DataFrame) -> dict[str, list[dict]]:
    """``error_table`` as JSON: per indicator (in table order) one record per data point, by year.

    ``covered``: the data point lies in the posterior-predictive 90 % band; ``goal_met``: the median is
    within the fit goal (None: the indicator has no stated goal); ``fitted``: the point is in the distance.
    """

    def number(x) -> float | None:
        return float(x) if x is not None and np.isfinite(x) else None

    out: dict[str, list[dict]] = {}
    for ind, rows in errors.groupby("indicator", sort=False):
        out[str(ind)] = [
            {
                "year": int(r.year),
                "data": number(r.value),
                "lo": number(r.lo),
                "hi": number(r.hi),
                "median": number(r.median),
                "band_lo": number(r.band_lo),
                "band_hi": number(r.band_hi),
                "error_pct": number(r.error_pct),
                "covered": bool(r.covered),
                "goal_met": None if r.goal_met is None or pd.isna(r.goal_met) else bool(r.goal_met),
                "fitted": bool(r.fitted),
            }
            for r in rows.sort_values("year").itertuples(index=False)
        ]
    return out


def scale_bias(
    targets: FitTargets, calib_outputs: np.ndarray, ppc_outputs: np.ndarray, weights: np.ndarray
) -> pd.DataFrame:
    """Paired comparison of the same parameter sets at the calibration scale and the projection scale.

    Per point: weighted medians at both scales, and the weighted mean of the paired relative
    difference with its standard error (seed noise differs between the two runs of a pair).
    """
    a = targets.simulated(calib_outputs)
    b = targets.simulated(ppc_outputs)
    w = np.asarray(weights) / np.sum(weights)
    rel = (a - b) / np.where(b != 0, np.abs(b), np.nan)
    mean = np.nansum(w[:, None] * rel, axis=0)
    var = np.nansum(w[:, None] * (rel - mean) ** 2, axis=0)
    ess = 1.0 / np.sum(w**2)
    tab = targets.points[["indicator", "year", "value"]].copy()
    tab["median_calibration_scale"] = weighted_quantile(a, w, 0.5)[0]
    tab["median_projection_scale"] = weighted_quantile(b, w, 0.5)[0]
    tab["paired_bias_pct"] = 100 * mean
    tab["paired_bias_se_pct"] = 100 * np.sqrt(var / ess)
    tab["sd_calibration_scale_pct"] = 100 * np.nanstd(a, axis=0) / np.abs(tab["value"].to_numpy())
    tab["sd_projection_scale_pct"] = 100 * np.nanstd(b, axis=0) / np.abs(tab["value"].to_numpy())
    return tab.reset_index(drop=True)


def parameter_table(names, lo, hi, values: np.ndarray, weights: np.ndarray) -> pd.DataFrame:
    """Prior vs posterior per parameter; identification = posterior 90 % width / prior 90 % width."""
    meta = {f.name: f.metadata for f in fields(BehaviourParams)}
    q = weighted_quantile(values, weights, [0.05, 0.5, 0.95])
    mean = np.sum(values * (np.asarray(weights) / np.sum(weights))[:, None], axis=0)
    rows = []
    for k, name in enumerate(names):
        width_ratio = (q[2, k] - q[0, k]) / (0.9 * (hi[k] - lo[k]))
        rows.append(
            {
                "parameter": name,
                "unit": meta[name].get("unit", ""),
                "prior_lo": lo[k],
                "prior_hi": hi[k],
                "default": meta[name].get("default", getattr(BehaviourParams(), name)),
                "post_mean": mean[k],
                "post_median": q[1, k],
                "post_q05": q[0, k],
                "post_q95": q[2, k],
                "width_ratio": width_ratio,
                "identified": (
                    "projection-only: prior in projections"
                    if name in PROJECTION_ONLY
                    else ("well" if width_ratio < 0.5 else ("partly" if width_ratio < 0.8 else "poorly"))
                ),
                "source": meta[name].get("source", ""),
            }
        )
    return pd.DataFrame(rows)


#: A parameter "presses on" a bound of its (uniform) prior box when the posterior puts at least
#: ``EDGE_SHARE`` of its weight in the box's outer ``EDGE_BAND`` next to that bound. A flat posterior puts
#: ``EDGE_BAND`` = 0.10 there; at the posterior's effective sample size of about 30 sets the Monte Carlo sd
#: of a 0.10 share is about 0.05, so 0.25 is some three sd above what a posterior the data leave flat shows.
EDGE_BAND = 0.10
EDGE_SHARE = 0.25


def prior_edges(names, lo, hi, values: np.ndarray, weights: np.ndarray) -> pd.DataFrame:
    """The parameters whose posterior piles against a bound of the prior box: the data want a value at or
    past the bound, so the prior (not the data) sets that side of every projection drawn from it.

    Projection-only parameters (``PROJECTION_ONLY``: not fitted) are left out. One row per (parameter,
    side) with ``share`` >= ``EDGE_SHARE``: parameter, bound ("lower"/"upper"), the
    bound's value, the posterior median, the posterior weight in the outer ``EDGE_BAND`` of the box on that
    side, and the prior's source; sorted by share, largest first."""
    meta = {f.name: f.metadata for f in fields(BehaviourParams)}
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    u = (np.asarray(values, float) - lo) / (hi - lo)
    w = np.asarray(weights, float) / np.sum(weights)
    med = weighted_quantile(values, weights, 0.5)[0]
    rows = []
    for k, name in enumerate(names):
        if name in PROJECTION_ONLY:  # not fitted: projections draw it from its prior
            continue
        for side, inside, bound in (
            ("lower", u[:, k] <= EDGE_BAND, lo[k]),
            ("upper", u[:, k] >= 1 - EDGE_BAND, hi[k]),
        ):
            share = float(w[inside].sum())
            if share >= EDGE_SHARE:
                rows.append(
                    {
                        "parameter": name,
                        "bound": side,
                        "bound_value": bound,
                        "post_median": med[k],
                        "share": share,
                        "source": meta[name].get("source", ""),
                    }
                )
    cols = ["parameter", "bound", "bound_value", "post_median", "share", "source"]
    return (
        pd.DataFrame(rows, columns=cols)
        .sort_values("share", ascending=False, kind="stable")
        .reset_index(drop=True)
    )


def prior_edges_markdown(edges: pd.DataFrame, n_params: int) -> list[str]:
    """The report's section on ``prior_edges``."""
    lines = [
        "## Parameters pressing on their prior bounds",
        "",
        f"{edges['parameter'].nunique()} of {n_params} fitted parameters hold at least {100 * EDGE_SHARE:.0f} % of their "
        f"posterior weight in the outer {100 * EDGE_BAND:.0f} % of their prior box next to one bound (a posterior the "
        f"data leave flat holds {100 * EDGE_BAND:.0f} % there). The data pull them to the bound or past it, so the "
        "prior, not the data, sets that side of every projection drawn from them. Either the prior is too "
        "narrow (widen it only where a source allows: the source column says whether it is one) or the "
        "parameter is standing in for a mechanism the model lacks.",
        "",
    ]
    if len(edges):
        lines.append(
            markdown_table(
                edges,
                ["parameter", "bound", "bound_value", "post_median", "share", "source"],
                [
                    "parameter",
                    "bound",
                    "bound value",
                    "posterior median",
                    "weight in the outer tenth",
                    "prior's source",
                ],
            )
        )
        lines.append("")
    return lines


# --------------------------------------------------------------------------- figures
def _partial_points(indicator: str) -> pd.DataFrame:
    df = load_fit_targets()
    return df[(df["indicator"] == indicator) & df["kind"].str.endswith(PARTIAL_SUFFIX)]


def fit_figure(indicator: str, outputs: np.ndarray, weights: np.ndarray, targets: FitTargets) -> Figure:
    """Posterior-predictive median and 90 % band, 2018-2023, against the data points and their ranges.

    ``outputs`` is (run, indicator, year) in ``OUTPUT_INDICATORS`` x ``OUTPUT_YEARS``; ``weights`` one per run.
    """
    k = OUTPUT_INDICATORS.index(indicator)
    years = np.array(OUTPUT_YEARS)
    series = outputs[:, k, :]
    lo, med, hi = weighted_quantile(series, weights, [BAND[0], 0.5, BAND[1]])
    title, unit = label(indicator)
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    ok = np.isfinite(med)
    ax.fill_between(
        years[ok], lo[ok], hi[ok], color="tab:blue", alpha=0.25, label="90 % band (posterior predictive)"
    )
    ax.plot(years[ok], med[ok], color="tab:blue", lw=2, label="median")
    pts = targets.points[targets.points["indicator"] == indicator]
    if len(pts):
        yerr = np.vstack([pts["value"] - pts["lo"], pts["hi"] - pts["value"]])
        ax.errorbar(
            pts["year"],
            pts["value"],
            yerr=yerr,
            fmt="o",
            color="black",
            capsize=3,
            label="data (plausible range)",
        )
    partial = _partial_points(indicator)
    if len(partial):
        ax.plot(
            partial["year"] - 0.5,
            partial["value"],
            "o",
            mfc="none",
            color="grey",
            label="mid-year data (not fitted)",
        )
    ax.set_title(title)
    ax.set_ylabel(unit)
    ax.set_xticks(years)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return fig


def plot_indicator(
    path: Path, indicator: str, outputs: np.ndarray, weights: np.ndarray, targets: FitTargets
) -> Path:
    """``fit_figure`` written to ``path``."""
    return atomic.save_figure(path, fit_figure(indicator, outputs, weights, targets))


def prior_posterior_figure(names, lo, hi, values: np.ndarray, weights: np.ndarray) -> Figure:
    """One histogram per parameter: weighted posterior (``values``: set x parameter) against the uniform prior."""
    d = len(names)
    cols = 4
    rows = int(np.ceil(d / cols))
    fig = Figure(figsize=(3.2 * cols, 2.3 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(np.ravel(axes)):
        if k >= d:
            ax.axis("off")
            continue
        bins = np.linspace(lo[k], hi[k], 21)
        ax.hist(
            values[:, k],
            bins=bins,
            weights=weights,
            density=True,
            color="tab:blue",
            alpha=0.7,
            label="posterior",
        )
        ax.hlines(1.0 / (hi[k] - lo[k]), lo[k], hi[k], colors="black", linestyles="--", label="prior")
        ax.set_title(names[k], fontsize=9)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.set_yticks([])
    np.ravel(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_prior_posterior(path: Path, names, lo, hi, values: np.ndarray, weights: np.ndarray) -> Path:
    """``prior_posterior_figure`` written to ``path``."""
    return atomic.save_figure(path, prior_posterior_figure(names, lo, hi, values, weights))


# --------------------------------------------------------------------------- markdown
def _fmt(x, digits=1) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return ""
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "**no**"
    if isinstance(x, (int, np.integer)):
        return f"{x:,}"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 100:
        return f"{x:.1f}"
    return f"{x:.{max(digits, 2)}f}" if ax < 1 else f"{x:.{digits + 1}f}"


def markdown_table(frame: pd.DataFrame, columns: list[str], headers: list[str] | None = None) -> str:
    """A GitHub markdown table; integer columns print as integers, booleans as yes / **no**."""
    headers = headers or columns
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    kinds = {c: frame[c].dtype.kind for c in columns}
    for k in range(len(frame)):
        cells = []
        for c in columns:
            v = frame[c].iloc[k]
            if v is None or (isinstance(v, float) and np.isnan(v)):
                cells.append("–")
            elif isinstance(v, str):
                cells.append(v)
            elif kinds[c] == "b" or isinstance(v, (bool, np.bool_)):
                cells.append("yes" if v else "**no**")
            elif kinds[c] in "iu" or c in ("year", "round"):
                cells.append(str(int(v)))
            else:
                cells.append(_fmt(float(v)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
