"""``python -m sim.backtest``: a rolling-origin backtest of the model against naive forecasters (``make backtest``).

For each origin year ``o`` (default 2020, 2021, 2022):

1. **Calibrate** on the data up to ``o`` only: the same ABC as ``python -m sim.calibrate``
   (``sim.calibration.calibrate.calibrate`` with ``through_year = o``), at the budget of
   ``calibration.*``; the posterior is written into the origin's folder, never into ``sim/data``,
   and ``docs/`` is left alone.
2. **Project** to 2023 with the ensemble machinery of ``python -m sim``
   (``sim.pipeline.ensemble``: ``load_param_sets`` on the origin's posterior, ``plan_replicates``,
   ``run_ensemble``). Up to 2023 the levers follow their historical path whatever the scenario
   (``sim.model.policy``), so the projection is a forecast of what happened.
3. **Naive forecasters** (``sim.calibration.forecasters``) are fitted to the year-end observations
   ``2018..o`` of each indicator (``sim.data.history.observed``; 2018 is the model's start state).
4. **Score** every forecast of a year ``o + h <= 2023`` that has a year-end observation
   (``sim.calibration.scores``): relative CRPS, relative 90 % interval score, relative absolute
   error of the median, coverage of the 90 % interval.

Writes into the run folder (``results/backtest/<date>/<time>/``) ``backtest.md``, ``backtest.json``,
``scores.csv``, ``figures/backtest_T0*.png`` and per origin the calibration and the projections;
with ``docs=true`` also ``docs/backtest.md``, ``docs/backtest.json`` and ``docs/backtest_figures/``.

Why 2020 is an origin: it is the only one that reaches horizon 3 and it doubles the evidence at
horizon 2. The ABC needs no more data points than parameters (10 points, 2019-2020): what the data
do not pin stays at its prior and widens the fan, which is what a forecaster in 2020 would have had.
The naive forecasters have three points there (2018-2020), the minimum for a residual sd; GM(1,1)
needs four and is unavailable at 2020. 2019 is not allowed: two points leave the naive forecasters
no residual.
"""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from sim.calibration import scores
from sim.calibration.calibrate import CalibrateConfig
from sim.calibration.forecasters import FORECASTERS, NotEnoughData
from sim.calibration.targets import FIT_YEARS
from sim.data import history
from sim.model.params import ConfigError
from sim.paths import CONFIG_DIR as CONFIG_PATH
from sim.paths import DOCS_DIR
from sim.runtime import atomic

CONFIG_DIR = str(CONFIG_PATH)
CONFIG_NAME = "backtest"
INDICATORS = ("T01", "T02", "T03", "T04", "T05")
LAST_YEAR = FIT_YEARS[-1]  # the last year with data: projections end here
FIRST_DATA_YEAR = 2018  # the naive forecasters' window starts at the model's start state
ORIGIN_RANGE = (2020, LAST_YEAR - 1)
MODEL = "model"
FORECASTER_NAMES = (MODEL, *FORECASTERS)
#: The issue's goal: the model beats every naive forecaster on mean relative CRPS and on the
#: median absolute error of the median, for T01-T04 at horizons 1 and 2.
GOAL_INDICATORS = ("T01", "T02", "T03", "T04")
GOAL_HORIZONS = (1, 2)
#: Calibration settings the backtest sets itself (per origin), not the user.
CALIBRATION_FIXED = ("seed", "jobs", "through_year", "write_posterior", "posterior_path", "docs", "progress")
SCORE_FIELDS = ("crps_rel", "is90_rel", "abs_err_rel", "covered90")


@dataclass
class BacktestConfig:
    """Schema of ``configs/backtest.yaml`` (+ ``configs/size/*.yaml``)."""

    size: str = "full"  # name of the budget preset (configs/size/<size>.yaml)
    seed: int = 0  # root seed of every origin's calibration and projection ensemble
    origins: list[int] = field(default_factory=lambda: [2020, 2021, 2022])
    replicates: int = 200  # projection replicates per origin
    scale: float = 1.0  # share of the firm population in the projections (the projections' scale)
    jobs: int = 2  # worker processes (results do not depend on it)
    calibration: dict[str, Any] = field(default_factory=dict)  # CalibrateConfig budget fields
    docs: bool = True  # copy backtest.md/json and figures into docs/
    progress: bool = True  # progress bars on stderr

    def validate(self) -> "BacktestConfig":
        def whole(key, lo, hi=None):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo or (hi is not None and v > hi):
                allowed = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
                raise ConfigError(f"{key} = {v!r}: must be a whole number {allowed}")

        whole("seed", 0)
        whole("replicates", 2, 100_000)
        whole("jobs", 1, 4096)
        if not (0.001 <= float(self.scale) <= 50):
            raise ConfigError(f"scale = {self.scale!r}: allowed range is [0.001, 50]")
        o = list(self.origins)
        lo, hi = ORIGIN_RANGE
        if (
            not o
            or len(set(o)) != len(o)
            or any(isinstance(y, bool) or not isinstance(y, int) or not lo <= y <= hi for y in o)
        ):
            raise ConfigError(f"origins = {o!r}: must be distinct whole years in [{lo}, {hi}], at least one")
        self.calibration_config(o[0])
        return self

    def calibration_config(self, origin: int) -> CalibrateConfig:
        """The calibration of one origin: the budget of ``calibration``, the data up to ``origin``."""
        names = {f.name for f in fields(CalibrateConfig)}
        for key in self.calibration:
            if key in CALIBRATION_FIXED:
                raise ConfigError(f"calibration.{key}: set by the backtest, not configurable here")
            if key not in names:
                allowed = ", ".join(sorted(names - set(CALIBRATION_FIXED)))
                raise ConfigError(f"calibration.{key}: unknown key; calibration accepts: {allowed}")
        try:  # validated on construction
            return CalibrateConfig(
                **{
                    **self.calibration,
                    "seed": self.seed,
                    "jobs": self.jobs,
                    "through_year": int(origin),
                    "write_posterior": False,
                    "docs": False,
                    "progress": self.progress,
                }
            )
        except ConfigError as exc:
            raise ConfigError(f"calibration.{exc}") from None


# --------------------------------------------------------------------------- forecasts and scores
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


def model_rows(
    origin: int, ensemble: dict[str, dict[int, np.ndarray]], obs: dict[str, pd.Series]
) -> list[dict]:
    """Scores of the model's replicates (equal weights: ``plan_replicates`` drew the sets by weight)."""
    from sim.calibration.fitreport import weighted_quantile

    rows = []
    for ind in INDICATORS:
        for year in range(origin + 1, LAST_YEAR + 1):
            if year not in obs[ind].index:
                continue
            members = ensemble[ind][year]
            lo, med, hi = weighted_quantile(
                members, np.ones(len(members)), [*scores.LEVEL[:1], 0.5, scores.LEVEL[1]]
            )
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


# --------------------------------------------------------------------------- figures
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
    from sim.calibration.fitreport import weighted_quantile

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
        lo, med, hi = weighted_quantile(members, np.ones(len(members)), [0.05, 0.5, 0.95])
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


# --------------------------------------------------------------------------- report
def _percent(frame: pd.DataFrame) -> pd.DataFrame:
    """Shares as percent with one decimal; – where missing."""
    return frame.map(lambda v: "–" if pd.isna(v) else f"{100 * v:.1f}")


def _forecaster_order(col: pd.Series) -> pd.Series:
    order = {name: i for i, name in enumerate(FORECASTER_NAMES)}
    return col.map(order) if col.name == "forecaster" else col


def _score_table_md(values: pd.DataFrame, n: pd.DataFrame, what: str) -> str:
    from sim.calibration.fitreport import markdown_table

    cols = list(values.columns)
    frame = _percent(values).reset_index()
    best = values.idxmin(axis=1)
    frame["best"] = best.to_numpy()
    frame["origins"] = [
        "/".join(str(int(n.loc[k, c])) if pd.notna(n.loc[k, c]) else "0" for c in cols) for k in values.index
    ]
    frame["model wins"] = [
        "yes"
        if all(
            pd.isna(values.loc[k, c]) or values.loc[k, MODEL] < values.loc[k, c] for c in cols if c != MODEL
        )
        else "**no**"
        for k in values.index
    ]
    headers = ["indicator", "h", *cols, "best", "model wins", "n (" + "/".join(cols) + ")"]
    return markdown_table(
        frame, ["indicator", "horizon", *cols, "best", "model wins", "origins"], headers
    ) + (
        f"\n\n{what} in % of the observed value (– : forecaster unavailable). `model wins`: lower than every "
        "naive forecaster available in the cell, each averaged over its own origins (`n`); the goal verdict "
        "below compares on the origins both forecast."
    )


def render_markdown(result: dict, figdir: str) -> str:
    from sim.calibration.fitreport import markdown_table

    prov = result["provenance"]
    cfg = prov["config"]
    table = pd.DataFrame(result["scores"])
    tabs = summary_tables(table)
    goal = pd.DataFrame(result["goal"])
    g = goal[goal["in_goal"]]
    met = sum(v is True for v in g["goal_met"])
    lines = [
        "# Backtest: the model against naive forecasters",
        "",
        "Written by `python -m sim.backtest` (do not edit; rerun the command). Method: "
        "[docs/calibration.md](calibration.md) for the ABC; `sim/calibration/backtest.py`, `forecasters.py` and "
        "`scores.py` for this report.",
        "",
        f"- command: `{prov['command']}`; seed {cfg['seed']} (every origin's calibration and projection "
        f"ensemble); commit `{prov['git'].get('commit')}`{' (dirty tree)' if prov['git'].get('dirty') else ''}; "
        f"created {prov['created']}",
        f"- data: `sim/data` hash `{prov['data']['sha256'][:16]}…` ({prov['data']['method']})",
        f"- origins {', '.join(map(str, cfg['origins']))}; per origin an ABC calibration on the data up to the "
        f"origin ({_budget(cfg)}), then {cfg['replicates']} projection replicates at scale {cfg['scale']:g} to "
        f"{LAST_YEAR}, parameter sets drawn by posterior weight (`sim.pipeline.ensemble`)",
        f"- wall time {prov['wall_time_s'] / 60:.1f} min on {prov['cpus']} cores (jobs={cfg['jobs']})",
        "",
        "## The goal",
        "",
        "Issue 9: the model beats every naive forecaster on mean relative CRPS **and** on median absolute error of "
        f"the median, for T01–T04 at horizons 1 and 2. Met in **{met} of {len(g)}** indicator–horizon cells.",
        "",
        markdown_table(
            goal.assign(
                origins=[", ".join(map(str, o)) for o in goal["origins"]],
                loses_crps_to=[", ".join(x) or "–" for x in goal["loses_crps_to"]],
                loses_abs_err_to=[", ".join(x) or "–" for x in goal["loses_abs_err_to"]],
                goal=[
                    "–" if not i else ("yes" if m else "**no**")
                    for i, m in zip(goal["in_goal"], goal["goal_met"])
                ],
            ),
            [
                "indicator",
                "horizon",
                "origins",
                "beats_all_crps",
                "loses_crps_to",
                "beats_all_abs_err",
                "loses_abs_err_to",
                "goal",
            ],
            [
                "indicator",
                "h",
                "origins",
                "beats all on CRPS",
                "loses CRPS to",
                "beats all on error",
                "loses error to",
                "goal (T01–T04, h 1–2)",
            ],
        ),
        "",
        "Compared pairwise on the origins where both the model and the naive forecaster have a forecast "
        "(GM(1,1) needs four data points, so it has none from 2020). T05 has too few year-end points "
        "(2019, 2022, 2023) for any naive forecaster: the model's scores stand alone.",
        "",
        "## Mean relative CRPS",
        "",
        _score_table_md(tabs["crps"], tabs["n"], "Mean CRPS over origins"),
        "",
        "## Median absolute error of the median",
        "",
        _score_table_md(tabs["abs_err"], tabs["n"], "Median over origins of |median − observed|"),
        "",
        "## Interval score and coverage (all indicators)",
        "",
        markdown_table(
            table.groupby(["horizon", "forecaster"], sort=False)
            .agg(
                n=("crps_rel", "size"),
                is90=("is90_rel", "mean"),
                covered=("covered90", "mean"),
                crps=("crps_rel", "mean"),
            )
            .reset_index()
            .sort_values(["horizon", "forecaster"], key=_forecaster_order)
            .assign(
                is90=lambda d: 100 * d["is90"],
                covered=lambda d: 100 * d["covered"],
                crps=lambda d: 100 * d["crps"],
            ),
            ["forecaster", "horizon", "n", "crps", "is90", "covered"],
            [
                "forecaster",
                "h",
                "forecasts scored",
                "mean relative CRPS %",
                "mean relative 90 % interval score %",
                "90 % interval covers (%)",
            ],
        ),
        "",
        "Interval score (Gneiting & Raftery 2007): width of the 90 % interval plus 20 × the distance by which "
        "the observation falls outside it, relative to the observation.",
        "",
        "## Fans against the data",
        "",
    ]
    for ind in INDICATORS:
        lines += [f"![{ind}]({figdir}/backtest_{ind}.png)", ""]
    lines += [
        "## Calibrations",
        "",
        markdown_table(
            pd.DataFrame(result["calibrations"]),
            ["origin", "fit_points", "runs", "tolerance", "sets", "ess", "wall_s"],
            [
                "origin",
                "data points fitted",
                "ABC runs",
                "final tolerance",
                "distinct sets",
                "ESS",
                "wall (s), with projections",
            ],
        ),
        "",
        "## How the forecasts are made and scored",
        "",
        "- **Model**: per origin, the ABC of `python -m sim.calibrate` on the fit points up to the origin "
        "(`through_year`; later points dropped); the posterior stays in the run folder. The projection "
        "replicates run to 2023, when the levers still follow their historical path. Median and 90 % interval: "
        "the 50 %, 5 % and 95 % quantiles of the replicates; CRPS: `scoringrules.crps_ensemble`.",
        f"- **Naive forecasters**, fitted to the year-end observations {FIRST_DATA_YEAR}..origin: "
        + "; ".join(f"`{k}` {f.label}" for k, f in FORECASTERS.items())
        + ". Predictive: normal on levels (linear, rw_drift) or on logs (the others), sd from the forecaster's "
        "own residuals with the prediction variance of its fit (the random walks' grows with the horizon as "
        "h + h²/m); CRPS in closed form (`scoringrules.crps_normal`, `crps_lognormal`). Details: "
        "`sim/calibration/forecasters.py`.",
        "- **Scores**, each divided by the observed value: CRPS; 90 % interval score; |median − observed|; "
        "whether the 90 % interval covers the observation. Observations are the year-end values of "
        "`sim/data/fit_targets.csv` (some derived, see DERIVATIONS.md).",
        "",
    ]
    if result["unavailable"]:
        un = pd.DataFrame(result["unavailable"])
        lines += [
            "## Not available",
            "",
            markdown_table(
                un.assign(years=[", ".join(map(str, y)) or "none" for y in un["years"]]),
                ["indicator", "origin", "forecaster", "years", "reason"],
                ["indicator", "origin", "forecaster", "data years", "reason"],
            ),
            "",
        ]
    return "\n".join(lines)


def _budget(cfg: dict) -> str:
    c = cfg["calibration_resolved"]
    runs = c["n_pilot"] + c["n_design"] + (c["n_steps"] * c["sweeps"] + c["final_sweeps"]) * c["n_keep"]
    return (
        f"scale {c['scale']:g}, pilot {c['n_pilot']}, Sobol design {c['n_design']}, {c['n_steps']} steps x "
        f"{c['sweeps']} sweeps of {c['n_keep']} particles + {c['final_sweeps']}: at most {runs:,} runs"
    )


# --------------------------------------------------------------------------- the command
def _provenance(cfg: BacktestConfig, command: list[str], started: float) -> dict:
    from sim.runtime.provenance import PACKAGES, git_info, package_versions

    conf = asdict(cfg)
    conf["calibration_resolved"] = asdict(cfg.calibration_config(cfg.origins[0]))
    conf["calibration_resolved"].pop("through_year")
    return {
        "kind": "qinchuangyuan rolling-origin backtest",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join(command),
        "cwd": os.getcwd(),
        "config": conf,
        "seeds": {
            "calibration": cfg.seed,
            "ensemble": cfg.seed,
            "rule": "each origin: calibrate(seed) as python -m sim.calibrate; replicate i of the projections: "
            "SeedSequence([seed, i]) as python -m sim",
        },
        "data": {"sha256": history.data_hash(), "method": "sim.data.history.data_hash over sim/data"},
        "git": git_info(),
        "packages": package_versions([*PACKAGES, "scoringrules"]),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "wall_time_s": round(time.time() - started, 1),
    }


def _ensemble_arrays(frame: pd.DataFrame) -> dict[str, dict[int, np.ndarray]]:
    sub = frame[frame["indicator"].isin(INDICATORS)]
    wide = sub.pivot_table(index="replicate", columns=["indicator", "year"], values="value", dropna=False)
    return {
        ind: {int(y): wide[(ind, y)].to_numpy(dtype=float) for y in wide[ind].columns} for ind in INDICATORS
    }


def project(cfg: BacktestConfig, posterior_csv: Path, origin: int) -> pd.DataFrame:
    """The origin's projection ensemble to ``LAST_YEAR`` (tidy, as ``python -m sim``)."""
    from sim.model.policy import PolicyLevers
    from sim.pipeline import ensemble

    sets = ensemble.load_param_sets(str(posterior_csv))
    plan = ensemble.plan_replicates(cfg.seed, range(cfg.replicates), len(sets), sets.weights)
    return ensemble.run_ensemble(
        PolicyLevers(),  # irrelevant to 2023: the levers follow history (sim.model.policy)
        plan,
        param_sets=sets.sets,
        end_year=LAST_YEAR,
        scale=cfg.scale,
        jobs=cfg.jobs,
        progress=cfg.progress,
        desc=f"origin {origin}: projections",
    )


def run_backtest(
    cfg: BacktestConfig,
    out_dir: Path,
    command: list[str] | None = None,
    started: float | None = None,
    log: Callable[[str], None] = print,
    docs_dir: Path | None = DOCS_DIR,
) -> dict:
    """Calibrate, project and score every origin; write the report; returns the result dict."""
    from sim.calibration.calibrate import calibrate

    started = time.time() if started is None else started
    cfg.validate()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    command = command if command is not None else [sys.executable, "-m", "sim.backtest", *sys.argv[1:]]
    obs = observations()
    origins = sorted(cfg.origins)
    rows, unavailable, calibrations, ensembles, fits = [], [], [], {}, {}
    for k, origin in enumerate(origins):
        t0 = time.time()
        log(f"[origin {origin}, {k + 1}/{len(origins)}] calibrating on the data up to {origin}")
        folder = out_dir / f"origin_{origin}"
        cal = calibrate(cfg.calibration_config(origin), folder / "calibration", command=command, log=log)
        post = cal["provenance"]["posterior"]
        calibrations.append(
            {
                "origin": origin,
                "fit_points": len(cal["provenance"]["method"]["fit_points"]),
                "runs": cal["provenance"]["method"]["runs_total"],
                "tolerance": post["tolerance"],
                "sets": post["sets"],
                "ess": post["ess"],
                "wall_s": round(time.time() - t0, 1),
                "posterior_csv": str(cal["written"]["csv"]),
            }
        )
        frame = project(cfg, cal["written"]["csv"], origin)
        atomic.write_csv(folder / "projections.csv.gz", frame, compression="gzip")
        ensembles[origin] = _ensemble_arrays(frame)
        fits[origin], missing = naive_forecasts(origin, obs)
        unavailable += missing
        rows += model_rows(origin, ensembles[origin], obs) + naive_rows(origin, fits[origin], obs)
        calibrations[-1]["wall_s"] = round(time.time() - t0, 1)
        log(f"[origin {origin}] done in {time.time() - t0:.0f} s")
    order = {name: i for i, name in enumerate(FORECASTER_NAMES)}
    rows.sort(key=lambda r: (r["indicator"], r["origin"], r["horizon"], order[r["forecaster"]]))
    table = pd.DataFrame(rows)
    figdir = out_dir / "figures"
    for ind in INDICATORS:
        plot_indicator(figdir / f"backtest_{ind}.png", ind, origins, ensembles, fits, obs)
    prov = _provenance(cfg, command, started)
    result = {
        "provenance": prov,
        "scores": rows,
        "goal": goal_verdicts(table),
        "calibrations": calibrations,
        "unavailable": unavailable,
    }
    tabs = summary_tables(table)
    result["summary"] = {
        key: [
            {
                "indicator": i,
                "horizon": int(h),
                **{f: (None if pd.isna(v) else float(v)) for f, v in r.items()},
            }
            for (i, h), r in tabs[key].iterrows()
        ]
        for key in ("crps", "abs_err")
    }
    atomic.write_csv(out_dir / "scores.csv", table)
    atomic.write_json(out_dir / "backtest.json", result)
    atomic.write_text(out_dir / "backtest.md", render_markdown(result, "figures"))
    if cfg.docs and docs_dir is not None:
        docs_fig = Path(docs_dir) / "backtest_figures"
        docs_fig.mkdir(parents=True, exist_ok=True)
        for png in sorted(figdir.glob("*.png")):
            shutil.copyfile(png, docs_fig / png.name)
        atomic.write_json(Path(docs_dir) / "backtest.json", result)
        atomic.write_text(Path(docs_dir) / "backtest.md", render_markdown(result, "backtest_figures"))
    g = [v for v in result["goal"] if v["in_goal"]]
    log(
        f"goal (model beats every naive forecaster on CRPS and error, T01-T04, h 1-2): met in "
        f"{sum(bool(v['goal_met']) for v in g)} of {len(g)} cells; report {out_dir / 'backtest.md'}; "
        f"wall time {prov['wall_time_s'] / 60:.1f} min"
    )
    return result


# --------------------------------------------------------------------------- Hydra edge
def register_configs() -> None:
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="backtest_schema", node=BacktestConfig)


def config_from_dict(dcfg) -> BacktestConfig:
    from omegaconf import OmegaConf

    obj = OmegaConf.to_object(dcfg)
    cfg = BacktestConfig(**{f.name: getattr(obj, f.name) for f in fields(BacktestConfig)})
    cfg.origins = list(cfg.origins)
    cfg.calibration = dict(cfg.calibration)
    return cfg.validate()


def precheck(argv: list[str]) -> str | None:
    """Compose and validate the command line before Hydra makes a folder; one error line or None."""
    from hydra import compose, initialize_config_dir
    from hydra._internal.utils import get_args_parser
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    from sim.runtime.config import one_line

    try:
        args = get_args_parser().parse_args(argv)
    except SystemExit:
        return None  # argparse already said what is wrong
    if args.help or args.hydra_help or args.info or args.shell_completion or args.cfg:
        return None
    if args.multirun:
        return "config error: python -m sim.backtest runs one backtest: -m (multirun) is not supported"
    register_configs()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3", job_name="backtest"):
            config_from_dict(compose(CONFIG_NAME, overrides=list(args.overrides)))
    except ConfigError as exc:
        return f"config error: {exc}"
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line
        cause = exc
        while cause.__cause__ is not None:
            cause = cause.__cause__
        if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and getattr(cause, "full_key", None):
            key = str(cause.full_key)
            if key.startswith("calibration."):  # say why: set by the backtest, or not a calibration field
                try:
                    BacktestConfig(calibration={key.split(".", 1)[1]: None}).calibration_config(
                        ORIGIN_RANGE[1]
                    )
                except ConfigError as sub:
                    return f"config error: {sub}"
            allowed = ", ".join(f.name for f in fields(BacktestConfig))
            return f"config error: {key}: unknown key; the backtest accepts: {allowed}"
        return one_line(exc, BacktestConfig)
    finally:
        GlobalHydra.instance().clear()
    return None


def main(argv: list[str] | None = None) -> None:
    import hydra
    from hydra.core.hydra_config import HydraConfig

    argv = sys.argv[1:] if argv is None else argv
    error = precheck(argv)
    if error is not None:
        print(error, file=sys.stderr)
        raise SystemExit(2)
    register_configs()
    started = time.time()

    @hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name=CONFIG_NAME)
    def _app(dcfg) -> None:
        cfg = config_from_dict(dcfg)
        out_dir = Path(HydraConfig.get().runtime.output_dir)
        run_backtest(cfg, out_dir, command=["python", "-m", "sim.backtest", *argv], started=started)

    _app()
