"""The backtest command: per origin calibrate, project and score (``run_backtest``), then write the scores,
the report and the figures; ``COMMAND`` is ``python -m sim.backtest`` in the app shell (``sim.runtime.shell``).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from sim.calibration.backtest.config import INDICATORS, LAST_YEAR, BacktestConfig
from sim.calibration.backtest.plots import plot_indicator
from sim.calibration.backtest.report import render_markdown
from sim.calibration.backtest.scoring import (
    FORECASTER_NAMES,
    goal_verdicts,
    model_rows,
    naive_forecasts,
    naive_rows,
    observations,
    summary_tables,
)
from sim.data import history
from sim.paths import DOCS_DIR
from sim.runtime import atomic, provenance
from sim.runtime.shell import Command, Invocation, command_line


def _provenance(cfg: BacktestConfig, command: list[str], started: float) -> dict:
    from sim.runtime.provenance import PACKAGES, record

    conf = asdict(cfg)
    conf["calibration_resolved"] = asdict(cfg.calibration_config(cfg.origins[0]))
    conf["calibration_resolved"].pop("through_year")
    return {
        "kind": "qinchuangyuan rolling-origin backtest",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **record(command, [*PACKAGES, "scoringrules"]),
        "config": conf,
        "seeds": {
            "calibration": cfg.seed,
            "ensemble": cfg.seed,
            "rule": "each origin: calibrate(seed) as python -m sim.calibrate; replicate i of the projections: "
            "SeedSequence([seed, i]) as python -m sim",
        },
        "data": {"sha256": history.data_hash(), "method": "sim.data.history.data_hash over sim/data"},
        "wall_time_s": round(time.time() - started, 1),
    }


def _ensemble_arrays(frame: pd.DataFrame) -> dict[str, dict[int, np.ndarray]]:
    sub = frame[frame["indicator"].isin(INDICATORS)]
    wide = sub.pivot_table(index="replicate", columns=["indicator", "year"], values="value", dropna=False)
    return {
        ind: {int(y): wide[(ind, y)].to_numpy(dtype=float) for y in wide[ind].columns} for ind in INDICATORS
    }


def project(cfg: BacktestConfig, posterior_csv: Path, origin: int) -> pd.DataFrame:
    """The origin's projection ensemble to ``LAST_YEAR`` (tidy, as ``python -m sim``), made with the data to
    ``origin`` only (``data_through``): the national market is projected from the origin by its AR(1) and
    the recent growth rates fade from the origin, as a projection from 2023 does. The levers follow their
    history: a forecast conditional on the policy pursued."""
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
        data_through=origin,
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
    command = command if command is not None else command_line("sim.backtest")
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
                "posterior_csv": provenance.portable(str(cal["written"]["csv"])),
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


# --------------------------------------------------------------------------- the command
def _body(cfg: BacktestConfig, inv: Invocation) -> dict:
    return run_backtest(cfg, inv.outdir, command=inv.command, started=inv.started)


COMMAND = Command(
    module="sim.backtest",
    noun="backtest",
    schema=BacktestConfig,
    body=_body,
    kept="a backtest writes its scores and report only when every origin is done, so {folder} holds none",
)


def main(argv: list[str] | None = None) -> None:
    """``python -m sim.backtest``: the app shell runs ``COMMAND``."""
    COMMAND.main(argv)
