"""The backtest's markdown report (``backtest.md``, and ``docs/backtest.md`` with ``docs=true``), from the
result dict ``run_backtest`` writes to ``backtest.json``.
``python -m sim.calibration.backtest.rerender`` re-renders a report from its ``backtest.json``."""

from __future__ import annotations

import pandas as pd

from sim.calibration.backtest.config import FIRST_DATA_YEAR, INDICATORS, LAST_YEAR
from sim.calibration.backtest.scoring import FORECASTER_NAMES, MODEL, summary_tables
from sim.calibration.forecasters import FORECASTERS


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


#: A cell's errors read as bias when the mean signed error is at least this share of the mean absolute error
#: (1: every error has one sign), and its bands as too wide when they are this many times the best naive
#: forecaster's: thresholds of this report's wording, not of any score.
BIAS_SHARE, WIDE_RATIO = 0.75, 1.5


def losses(result: dict) -> list[dict]:
    """For each indicator with a goal cell the model loses: its forecasts at those horizons against the
    naive forecaster that beats it most often, on the same origins. Per indicator: the model's signed errors
    of the median (relative to the data), the mean 90 % band widths (relative) of both, and the verdict
    (``bias``: the errors share one sign, ``BIAS_SHARE``; ``wide``: its bands ``WIDE_RATIO`` x the other's)."""
    table = pd.DataFrame(result["scores"])
    goal = pd.DataFrame(result["goal"])
    lost = goal[goal["in_goal"] & ~goal["goal_met"].astype(bool)]
    out = []
    for ind, cells in lost.groupby("indicator", sort=True):
        rivals = [
            f for lst in cells["loses_crps_to"].tolist() + cells["loses_abs_err_to"].tolist() for f in lst
        ]
        if not rivals:
            continue
        rival = max(dict.fromkeys(rivals), key=rivals.count)  # the most frequent; first named on ties
        rows = table[(table["indicator"] == ind) & table["horizon"].isin(cells["horizon"])]
        model = rows[rows["forecaster"] == MODEL].set_index(["origin", "horizon"])
        other = rows[rows["forecaster"] == rival].set_index(["origin", "horizon"])
        both = model.index.intersection(other.index)
        if both.empty:
            continue
        model, other = model.loc[both], other.loc[both]
        err = (model["median"] - model["observed"]) / model["observed"]
        width = ((model["hi90"] - model["lo90"]) / model["observed"]).mean()
        width_rival = ((other["hi90"] - other["lo90"]) / other["observed"]).mean()
        bias = abs(err.mean()) >= BIAS_SHARE * err.abs().mean()
        out.append(
            {
                "indicator": ind,
                "horizons": sorted(int(h) for h in cells["horizon"]),
                "rival": rival,
                "n": int(len(err)),
                "below": int((err < 0).sum()),
                "err_mean": float(err.mean()),
                "err_min": float(err.min()),
                "err_max": float(err.max()),
                "width": float(width),
                "width_rival": float(width_rival),
                "crps": float(model["crps_rel"].mean()),
                "crps_rival": float(other["crps_rel"].mean()),
                "bias": bool(bias),
                "wide": bool(width >= WIDE_RATIO * width_rival),
            }
        )
    return out


def loss_lines(result: dict) -> list[str]:
    """One line per indicator of ``losses``: how far off the model's medians are, which way, and how wide its
    bands are beside the naive forecaster that beats it."""
    lines = []
    for d in losses(result):
        first, last = d["horizons"][0], d["horizons"][-1]
        hs = f"{first}–{last}" if last != first else f"{first}"
        way = "below" if d["err_mean"] < 0 else "above"
        count = d["below"] if way == "below" else d["n"] - d["below"]
        causes = []
        if d["bias"]:
            causes.append(
                f"its medians sit {way} the data ({'under' if way == 'below' else 'over'}-forecast)"
            )
        if d["wide"]:
            causes.append(f"its bands are {d['width'] / d['width_rival']:.1f}x as wide")
        verdict = (
            "It loses because " + " and ".join(causes)
            if causes
            else "No one cause: errors of both signs, bands of like width"
        )
        lines.append(
            f"- **{d['indicator']}** (h {hs}, {d['n']} forecasts against `{d['rival']}` on the "
            f"same origins): median {way} the data in {count} of {d['n']} (signed error {100 * d['err_mean']:+.1f} % "
            f"on average, {100 * d['err_min']:+.1f} % to {100 * d['err_max']:+.1f} %); 90 % band "
            f"{100 * d['width']:.0f} % of the data wide against {100 * d['width_rival']:.0f} %; CRPS "
            f"{100 * d['crps']:.1f} % against {100 * d['crps_rival']:.1f} %. {verdict}."
        )
    return lines


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
        "Written by `python -m sim.backtest` (do not edit; rerun the command, or re-render it from its "
        "`backtest.json` with `python -m sim.calibration.backtest.rerender`). Method: "
        "[docs/calibration.md](calibration.md) for the ABC; `sim/calibration/backtest/`, `forecasters.py` and "
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
    ]
    why = loss_lines(result)
    if why:
        lines += [
            "## Where the model loses",
            "",
            "Per indicator with a lost goal cell, its forecasts at those horizons beside the naive forecaster that "
            "beats it most often. Signed error: (median − observed) / observed. A loss reads as bias when the mean "
            f"signed error is at least {BIAS_SHARE:.0%} of the mean absolute error, as width when the model's "
            f"bands are {WIDE_RATIO:g}x the other's or more.",
            "",
            *why,
            "",
        ]
    lines += [
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
        "replicates run to 2023 reading no data after the origin (`data_through`): the national technology "
        "market, the exogenous driver of T01, is projected from the origin by its AR(1) as a projection from "
        "2023 projects it (`sim/model/drivers.py`), and the recent growth rates (entry, patenting, contract "
        "values, revenue) fade from the origin (`sim/model/trends.py`). The levers follow their historical "
        "path: the forecasts are conditional on the policy pursued. Median and 90 % interval: "
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
