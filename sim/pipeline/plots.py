"""Fan charts per headline target, their overlay for several studies, and lever-response curves (Agg
backend: files only)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.model.outcomes import HEADLINE, TARGETS  # noqa: E402
from sim.model.params import FIRST_YEAR, LAST_BASE_YEAR  # noqa: E402
from sim.pipeline import atomic  # noqa: E402

log = logging.getLogger(__name__)

#: Axis labels in ASCII (the default fonts have no CJK glyphs).
UNIT_LABEL = {
    "亿元": "100 million yuan (yi yuan)",
    "percent": "percent",
    "firms": "firms",
    "patents": "patents",
}
BAND_COLOUR = "tab:blue"


def unit_label(unit: str) -> str:
    return UNIT_LABEL.get(unit, unit.encode("ascii", "replace").decode())


def observed_points(indicator: str) -> tuple[pd.Series | None, pd.DataFrame | None]:
    """Year-end observations 2018-2023 (and their plausible ranges) from ``sim.calibration.history``.

    Returns (None, None) with a log line when the history module or the indicator is missing.
    """
    try:
        from sim.calibration import history
    except ImportError:
        log.info("sim.calibration.history not available: fan charts drawn without observed data")
        return None, None
    try:
        obs = history.observed(indicator)
    except (KeyError, ValueError, FileNotFoundError) as exc:
        log.info("no observed data for %s: %s", indicator, exc)
        return None, None
    obs = obs[(obs.index >= FIRST_YEAR - 1) & (obs.index <= LAST_BASE_YEAR)]
    ranges = None
    try:
        fit = history.load_fit_targets()
        rows = fit[
            (fit["indicator"] == indicator) & (fit["kind"] == fit["kind"].str.removesuffix("_partial"))
        ]
        ranges = rows.set_index("year")[["lo", "hi"]].reindex(obs.index)
    except Exception:  # noqa: BLE001 - ranges are decoration; the points are what matters
        ranges = None
    return obs, ranges


def fan_chart(results: pd.DataFrame, indicator: str, *, end_year: int | None = None):
    """Median, 50 % and 90 % bands over replicates, observed points, target line. Returns the figure."""
    t = TARGETS[indicator]
    sub = results[results["indicator"] == indicator]
    q = sub.groupby("year")["value"].quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack()
    q = q[q.index >= FIRST_YEAR - 1]
    years = q.index.to_numpy()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.fill_between(years, q[0.05], q[0.95], color=BAND_COLOUR, alpha=0.18, lw=0, label="90 % of replicates")
    ax.fill_between(years, q[0.25], q[0.75], color=BAND_COLOUR, alpha=0.35, lw=0, label="50 % of replicates")
    ax.plot(years, q[0.5], color=BAND_COLOUR, lw=2, label="median")
    obs, ranges = observed_points(indicator)
    if obs is not None and len(obs):
        if ranges is not None and ranges.notna().all(axis=None):
            err = np.vstack(
                [obs.to_numpy() - ranges["lo"].to_numpy(), ranges["hi"].to_numpy() - obs.to_numpy()]
            )
            err = np.clip(err, 0, None)
            ax.errorbar(
                obs.index,
                obs.to_numpy(),
                yerr=err,
                fmt="o",
                color="black",
                ms=4,
                capsize=2,
                label="observed (plausible range)",
            )
        else:
            ax.plot(obs.index, obs.to_numpy(), "o", color="black", ms=4, label="observed")
    else:
        ax.text(
            0.01,
            0.97,
            "observed data not available",
            transform=ax.transAxes,
            va="top",
            fontsize=8,
            color="grey",
        )
    ax.axhline(t.target, color="tab:red", ls="--", lw=1.2, label=f"target {t.target:,g} ({t.target_year})")
    if end_year is None or t.target_year <= end_year:
        ax.plot([t.target_year], [t.target], marker="*", color="tab:red", ms=12, ls="none")
    ax.axvspan(LAST_BASE_YEAR + 0.5, years.max() + 0.5, color="grey", alpha=0.06, lw=0)
    ax.text(
        LAST_BASE_YEAR + 0.6, 0.02, "projection", transform=ax.get_xaxis_transform(), fontsize=8, color="grey"
    )
    n = sub["replicate"].nunique()
    ax.set_title(f"{indicator} {t.name}  ({n} replicates)", fontsize=10)
    ax.set_ylabel(unit_label(t.unit))
    ax.set_xlabel("year")
    ax.set_xlim(years.min() - 0.5, years.max() + 0.5)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    if t.unit != "percent":
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", frameon=False, bbox_to_anchor=(0.0, 0.93))
    fig.tight_layout()
    return fig


def fan_charts(
    outdir: Path,
    results: pd.DataFrame,
    *,
    indicators: Sequence[str] = tuple(HEADLINE),
    end_year: int | None = None,
) -> list[Path]:
    """One ``fan_<id>.png`` per indicator present in ``results`` (report units)."""
    paths = []
    present = set(results["indicator"].unique())
    for ind in indicators:
        if ind not in present:
            continue
        fig = fan_chart(results, ind, end_year=end_year)
        try:
            paths.append(atomic.save_figure(Path(outdir) / f"fan_{ind}.png", fig))
        finally:
            plt.close(fig)
    return paths


def axis_label(key: str) -> str:
    """An axis label for a study column: ``policy.<lever>`` with the lever's unit, else the key itself."""
    if key.startswith("policy."):
        from dataclasses import fields

        from sim.model.policy import PolicyLevers

        f = {f.name: f for f in fields(PolicyLevers)}.get(key.removeprefix("policy."))
        if f is not None and f.metadata.get("unit"):
            return f"{key} ({unit_label(f.metadata['unit']).replace('亿元', '100 million yuan')})"
    if key.startswith("params."):
        from dataclasses import fields

        from sim.model.params import BehaviourParams

        f = {f.name: f for f in fields(BehaviourParams)}.get(key.removeprefix("params."))
        if f is not None and f.metadata.get("unit"):
            return f"{key} ({unit_label(f.metadata['unit'])})"
    return key


def lever_response(reach: pd.DataFrame, lever: str, path: Path, *, hue: str | None = None) -> Path:
    """P(reach) against one swept key's values, a panel per target, 95 % Wilson intervals as error bars.

    ``reach`` has columns ``indicator, p_reach, ci_lo, ci_hi, n`` plus ``lever`` (and ``hue``: one line
    per value of the other swept keys). Non-numeric values (scenario names) are placed at equal spacing.
    """
    targets = [t for t in HEADLINE if t in set(reach["indicator"])]
    ncols = min(3, len(targets))
    nrows = int(np.ceil(len(targets) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows), squeeze=False, sharey=True)
    numeric = pd.api.types.is_numeric_dtype(reach[lever])
    cats = None if numeric else list(dict.fromkeys(reach[lever].astype(str)))
    groups = [(None, reach)] if hue is None else list(reach.groupby(hue, sort=True))
    for ax, tid in zip(axes.flat, targets):
        for label, grp in groups:
            g = grp[grp["indicator"] == tid].copy()
            g["_x"] = g[lever] if numeric else g[lever].astype(str).map({c: i for i, c in enumerate(cats)})
            g = g.sort_values("_x")
            yerr = np.vstack([g["p_reach"] - g["ci_lo"], g["ci_hi"] - g["p_reach"]]).clip(0, None)
            ax.errorbar(
                g["_x"],
                g["p_reach"],
                yerr=yerr,
                marker="o",
                ls="-" if numeric else "none",  # categories (scenarios) are not a continuum
                capsize=3,
                ms=4,
                label="P(reach), 95 % Wilson interval" if label is None else str(label),
            )
        ax.set_title(f"{tid} > {TARGETS[tid].target:,g} ({unit_label(TARGETS[tid].unit)})", fontsize=9)
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel(axis_label(lever), fontsize=8)
        ax.grid(alpha=0.3)
        if not numeric:
            ax.set_xticks(range(len(cats)), cats)
    for ax in axes[:, 0]:
        ax.set_ylabel("P(reach 2026 target)")
    for ax in list(axes.flat)[len(targets) :]:
        ax.set_visible(False)
    axes.flat[0].legend(
        fontsize=7, frameon=False, title=None if hue is None else "other swept keys", title_fontsize=7
    )
    fig.suptitle(f"P(reach) by {axis_label(lever)} (95 % Wilson intervals)", fontsize=10)
    fig.tight_layout()
    try:
        return atomic.save_figure(path, fig)
    finally:
        plt.close(fig)


def fan_overlay(groups: dict[str, pd.DataFrame], indicator: str, path: Path) -> Path:
    """Fan charts of several studies on one axis: per study its median and 90 % band, the data, the target.

    ``groups``: label -> tidy results (``year``, ``indicator``, ``value``, ``replicate``) of one study.
    """
    t = TARGETS[indicator]
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    years_all = []
    for k, (label, results) in enumerate(groups.items()):
        sub = results[results["indicator"] == indicator]
        q = sub.groupby("year")["value"].quantile([0.05, 0.5, 0.95]).unstack()
        q = q[q.index >= FIRST_YEAR - 1]
        years = q.index.to_numpy()
        years_all.extend(years)
        c = colours[k % len(colours)]
        n = sub["replicate"].nunique()
        ax.fill_between(years, q[0.05], q[0.95], color=c, alpha=0.15, lw=0)
        ax.plot(years, q[0.5], color=c, lw=2, label=f"{label} (median, 90 % band; {n} replicates)")
    obs, _ = observed_points(indicator)
    if obs is not None and len(obs):
        ax.plot(obs.index, obs.to_numpy(), "o", color="black", ms=4, label="observed")
    ax.axhline(t.target, color="tab:red", ls="--", lw=1.2, label=f"target {t.target:,g} ({t.target_year})")
    if years_all:
        ax.axvspan(LAST_BASE_YEAR + 0.5, max(years_all) + 0.5, color="grey", alpha=0.06, lw=0)
    ax.set_title(f"{indicator} {t.name}: the swept studies", fontsize=10)
    ax.set_ylabel(unit_label(t.unit))
    ax.set_xlabel("year")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    if t.unit != "percent":
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", frameon=False)
    fig.tight_layout()
    try:
        return atomic.save_figure(path, fig)
    finally:
        plt.close(fig)
