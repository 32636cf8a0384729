"""Fan charts per headline target, scenario overlays and lever-response curves.

Figures are built with matplotlib's object API (``matplotlib.figure.Figure``), never through pyplot:
the module selects no backend, so it writes files on a headless machine and, imported in a notebook,
leaves the notebook's inline backend alone (a returned figure displays as the cell's result).
Figure text is ASCII: units come from ``sim.model.outcomes.UNIT_LABELS`` ("100 million yuan" for
亿元), since the default fonts have no CJK glyphs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.model.outcomes import HEADLINE, TARGETS, UNIT_LABELS
from sim.model.params import FIRST_YEAR, LAST_BASE_YEAR
from sim.runtime import atomic

log = logging.getLogger(__name__)

BAND_COLOUR = "tab:blue"
#: Scenario colours of overlays, in order (the first scenario gets the first colour): matplotlib's
#: categorical palette without red (the target's colour) and grey (the projection shading).
OVERLAY_COLOURS = (
    "tab:blue",
    "tab:orange",
    "tab:green",
    "tab:purple",
    "tab:brown",
    "tab:pink",
    "tab:olive",
    "tab:cyan",
)
#: Overlays of more ensembles than this draw each one's 90 % band as dotted edges only (no shading), so the
#: bands do not merge into one blob.
MAX_SHADED_BANDS = 3


def overlay_colours(n: int) -> list:
    """``n`` distinct colours: ``OVERLAY_COLOURS`` while they last, else evenly spaced on a perceptually
    ordered colour map (viridis), so no two ensembles of a sweep share a colour."""
    if n <= len(OVERLAY_COLOURS):
        return list(OVERLAY_COLOURS[:n])
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(k / (n - 1)) for k in range(n)]


#: Chinese words in names and units -> English, for figure text (the default fonts have no CJK glyphs).
CJK_WORDS = {
    "亿元": "100 million yuan",
    "万元": "10,000 yuan",
    "专精特新": "'specialised and new'",
    "小升规": "small-to-above-scale",  # small firms growing past the above-scale revenue line
}


def english(text: str) -> str:
    """``text`` with the model's Chinese unit words in English (and any other CJK glyph dropped)."""
    for zh, en in CJK_WORDS.items():
        text = text.replace(zh, en)
    return "".join(ch for ch in text if ord(ch) < 0x2E80).strip()


def unit_label(unit: str) -> str:
    """An axis label for an outcome unit: ``UNIT_LABELS`` (ASCII), else ``english(unit)``."""
    return UNIT_LABELS.get(unit) or english(unit)


def observed_points(indicator: str) -> tuple[pd.Series | None, pd.DataFrame | None]:
    """Year-end observations 2018-2023 (and their plausible ranges) from ``sim.data.history``.

    Returns (None, None) with a log line when the indicator has no observations.
    """
    from sim.data import history

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


def _quantiles(results: pd.DataFrame, indicator: str) -> pd.DataFrame:
    """5, 25, 50, 75 and 95 % quantiles over replicates by year (from the start-state year on)."""
    sub = results[results["indicator"] == indicator]
    q = sub.groupby("year")["value"].quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack()
    return q[q.index >= FIRST_YEAR - 1]


def _draw_observed(ax, indicator: str) -> None:
    """The 2018-2023 observations with their plausible ranges (or a note that there are none)."""
    obs, ranges = observed_points(indicator)
    if obs is None or not len(obs):
        ax.text(
            0.01,
            0.97,
            "observed data not available",
            transform=ax.transAxes,
            va="top",
            fontsize=8,
            color="grey",
        )
        return
    if ranges is not None and ranges.notna().all(axis=None):
        err = np.vstack([obs.to_numpy() - ranges["lo"].to_numpy(), ranges["hi"].to_numpy() - obs.to_numpy()])
        ax.errorbar(
            obs.index,
            obs.to_numpy(),
            yerr=np.clip(err, 0, None),
            fmt="o",
            color="black",
            ms=4,
            capsize=2,
            label="observed (plausible range)",
        )
    else:
        ax.plot(obs.index, obs.to_numpy(), "o", color="black", ms=4, label="observed")


def _finish_axes(ax, indicator: str, years: np.ndarray, end_year: int | None) -> None:
    """Target line and star, the projection shading, axis labels and number format."""
    t = TARGETS[indicator]
    ax.axhline(t.target, color="tab:red", ls="--", lw=1.2, label=f"target {t.target:,g} ({t.target_year})")
    if end_year is None or t.target_year <= end_year:
        ax.plot([t.target_year], [t.target], marker="*", color="tab:red", ms=12, ls="none")
    ax.axvspan(LAST_BASE_YEAR + 0.5, years.max() + 0.5, color="grey", alpha=0.06, lw=0)
    ax.text(
        LAST_BASE_YEAR + 0.6, 0.02, "projection", transform=ax.get_xaxis_transform(), fontsize=8, color="grey"
    )
    ax.set_ylabel(unit_label(t.unit))
    ax.set_xlabel("year")
    ax.set_xlim(years.min() - 0.5, years.max() + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if t.unit != "percent":
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.grid(alpha=0.3)


def fan_chart(results: pd.DataFrame, indicator: str, *, end_year: int | None = None) -> Figure:
    """Median, 50 % and 90 % bands over replicates, observed points, target line. Returns the figure."""
    t = TARGETS[indicator]
    q = _quantiles(results, indicator)
    years = q.index.to_numpy()
    fig = Figure(figsize=(7, 4.2))
    ax = fig.subplots()
    ax.fill_between(years, q[0.05], q[0.95], color=BAND_COLOUR, alpha=0.18, lw=0, label="90 % of replicates")
    ax.fill_between(years, q[0.25], q[0.75], color=BAND_COLOUR, alpha=0.35, lw=0, label="50 % of replicates")
    ax.plot(years, q[0.5], color=BAND_COLOUR, lw=2, label="median")
    _draw_observed(ax, indicator)
    _finish_axes(ax, indicator, years, end_year)
    n = results.loc[results["indicator"] == indicator, "replicate"].nunique()
    ax.set_title(f"{indicator} {english(t.name)}  ({n} replicates)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", frameon=False, bbox_to_anchor=(0.0, 0.93))
    fig.tight_layout()
    return fig


def fan_overlay(
    ensembles: Mapping[str, pd.DataFrame], indicator: str, *, end_year: int | None = None
) -> Figure:
    """Several scenarios' fans on one chart: each scenario's median and 90 % band, observed points, target.

    ``ensembles`` maps a scenario's label to its tidy results (``run_ensemble``), in legend order. Each has
    its own colour (``overlay_colours``); above ``MAX_SHADED_BANDS`` ensembles the bands are edges only.
    """
    if not ensembles:
        raise ValueError("fan_overlay needs at least one ensemble")
    t = TARGETS[indicator]
    fig = Figure(figsize=(7, 4.2))
    ax = fig.subplots()
    all_years = []
    shade = len(ensembles) <= MAX_SHADED_BANDS
    for colour, (label, results) in zip(overlay_colours(len(ensembles)), ensembles.items()):
        q = _quantiles(results, indicator)
        years = q.index.to_numpy()
        all_years.append(years)
        n = results.loc[results["indicator"] == indicator, "replicate"].nunique()
        if shade:
            ax.fill_between(years, q[0.05], q[0.95], color=colour, alpha=0.15, lw=0)
        ax.plot(years, q[0.5], color=colour, lw=2, label=f"{label}: median, 90 % band ({n} replicates)")
        ax.plot(years, q[0.05], color=colour, lw=0.7, ls=":")
        ax.plot(years, q[0.95], color=colour, lw=0.7, ls=":")
    _draw_observed(ax, indicator)
    _finish_axes(ax, indicator, np.concatenate(all_years), end_year)
    ax.set_title(f"{indicator} {english(t.name)}", fontsize=10)
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
        paths.append(atomic.save_figure(Path(outdir) / f"fan_{ind}.png", fig))
    return paths


def axis_label(key: str) -> str:
    """An axis label for a config column: ``policy.<lever>`` or ``params.<name>`` with its unit, else the key."""
    from dataclasses import fields

    from sim.model.params import BehaviourParams
    from sim.model.policy import PolicyLevers

    for prefix, schema in (("policy.", PolicyLevers), ("params.", BehaviourParams)):
        if key.startswith(prefix):
            f = {f.name: f for f in fields(schema)}.get(key.removeprefix(prefix))
            if f is not None and f.metadata.get("unit"):
                return f"{key} ({english(f.metadata['unit'])})"
    return key


def lever_response_figure(reach: pd.DataFrame, lever: str, *, hue: str | None = None) -> Figure:
    """P(reach) against one swept key's values, a panel per target, 95 % Wilson intervals as error bars.

    ``reach`` has columns ``indicator, p_reach, ci_lo, ci_hi, n`` plus ``lever`` (and ``hue``: one line per
    value of the other swept keys, labelled ``key=value`` by the analyzer), as
    ``sim.pipeline.analyze.reach_table`` makes it. Non-numeric values
    (scenario names) are placed at equal spacing, in their order of appearance, and not joined by lines.
    """
    targets = [t for t in HEADLINE if t in set(reach["indicator"])]
    ncols = min(3, len(targets))
    nrows = int(np.ceil(len(targets) / ncols))
    fig = Figure(figsize=(4.2 * ncols, 3.2 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    numeric = pd.api.types.is_numeric_dtype(reach[lever])
    cats = None if numeric else list(dict.fromkeys(reach[lever].astype(str)))
    groups = [(None, reach)] if hue is None else list(reach.groupby(hue, sort=True))
    colours = overlay_colours(len(groups))
    for ax, tid in zip(axes.flat, targets):
        for colour, (label, grp) in zip(colours, groups):
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
                color=colour,
                label="P(reach), 95 % Wilson interval" if label is None else str(label),
            )
        t = TARGETS[tid]
        ax.set_title(f"{tid} {english(t.name)} > {t.target:,g} ({unit_label(t.unit)})", fontsize=8)
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
    return fig


def lever_response(reach: pd.DataFrame, lever: str, path: Path, *, hue: str | None = None) -> Path:
    """``lever_response_figure`` written to ``path``."""
    return atomic.save_figure(path, lever_response_figure(reach, lever, hue=hue))
