"""The backtest's figures: per indicator, one panel per origin with the model's 90 % fan and median
(``scoring.model_band``), the naive forecasters' medians and the data, fitted and held out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibration.backtest.config import FIRST_DATA_YEAR, LAST_YEAR
from sim.calibration.backtest.scoring import model_band
from sim.calibration.forecasters import FORECASTERS
from sim.data import history
from sim.runtime import atomic


def plot_indicator(
    path: Path,
    ind: str,
    origins: list[int],
    ensembles: dict[int, dict[str, dict[int, np.ndarray]]],
    fits: dict[int, dict],
    obs: dict[str, pd.Series],
) -> Path:
    """One panel per origin: the model's 90 % fan and median, the naive medians, the data (fitted / held out)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    from sim.calibration.fitreport import label as outcome_label

    title, unit = outcome_label(ind)
    points = history.load_fit_targets()
    points = points[(points["indicator"] == ind) & ~points["kind"].str.endswith(history.PARTIAL_SUFFIX)]
    points = points[(points["year"] >= FIRST_DATA_YEAR) & (points["year"] <= LAST_YEAR)].set_index("year")
    styles = {
        "linear": ("tab:orange", "--"),
        "loglinear": ("tab:green", "--"),
        "rw_drift": ("tab:purple", ":"),
        "rw_drift_log": ("tab:brown", ":"),
        "gm11": ("tab:red", "-."),
    }
    fig = Figure(figsize=(4.2 * len(origins), 4.0))
    axes = fig.subplots(1, len(origins), sharey=True, squeeze=False)
    for ax, origin in zip(axes[0], origins):
        years = np.array(sorted(y for y in ensembles[origin][ind] if y >= FIRST_DATA_YEAR))
        members = np.stack([ensembles[origin][ind][y] for y in years], axis=1)
        lo, med, hi = model_band(members)
        ok = np.isfinite(med)
        ahead = ok & (years >= origin)
        ax.fill_between(
            years[ok], lo[ok], hi[ok], color="tab:blue", alpha=0.12, lw=0, label="model 90 % (fit years)"
        )
        ax.fill_between(
            years[ahead],
            lo[ahead],
            hi[ahead],
            color="tab:blue",
            alpha=0.3,
            lw=0,
            label="model 90 % (forecast)",
        )
        ax.plot(years[ok], med[ok], color="tab:blue", lw=2, label="model median")
        for name, f in FORECASTERS.items():
            p = fits[origin].get((ind, name))
            if p is None or origin not in obs[ind].index:
                continue
            colour, ls = styles[name]
            ax.plot(
                [origin, *p.years],
                [obs[ind][origin], *p.median],
                color=colour,
                ls=ls,
                lw=1.3,
                label=f"{f.label} (median)",
            )
        used = points[points.index <= origin]
        held = points[points.index > origin]
        for frame, style, label in (
            (used, dict(color="black"), "data up to the origin"),
            (held, dict(color="black", mfc="white"), "data held out (scored)"),
        ):
            if len(frame):
                yerr = np.vstack([frame["value"] - frame["lo"], frame["hi"] - frame["value"]])
                ax.errorbar(
                    frame.index, frame["value"], yerr=yerr, fmt="o", capsize=3, ms=5, label=label, **style
                )
        ax.axvline(origin + 0.5, color="grey", lw=0.8, ls="--")
        ax.set_title(f"origin {origin}", fontsize=10)
        ax.set_xlabel("year")
        ax.set_xticks(range(FIRST_DATA_YEAR, LAST_YEAR + 1))
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(unit)
    if unit != "percent":
        axes[0][0].yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    handles = {}
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    order = ["model", *(f.label for f in FORECASTERS.values()), "data"]
    labels = sorted(handles, key=lambda lab: next(i for i, key in enumerate(order) if lab.startswith(key)))
    fig.legend(
        [handles[lab] for lab in labels], labels, loc="lower center", ncol=4, fontsize=8, frameon=False
    )
    fig.suptitle(f"{title}: rolling-origin backtest (fans from each origin's calibration)", fontsize=11)
    fig.tight_layout(rect=(0, 0.13, 1, 0.95))
    return atomic.save_figure(path, fig)
