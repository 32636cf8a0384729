"""``python -m sim.calibrate``: fit the behavioural parameters to 2019-2023 (``make calibrate``).

Approximate Bayesian computation over every ``BehaviourParams`` field with a prior
(``sim/calibration/abc.py``: Sobol rejection round, then ABC population Monte Carlo),
against the data points of ``sim/data/fit_targets.csv`` (``sim/calibration/targets.py``).
Config: ``configs/calibrate.yaml``. Writes

* ``sim/data/posterior.csv``: one row per accepted parameter set (calibrated columns + weight),
  byte-identical for the same seed, budget and model;
* ``sim/data/posterior.json``: provenance (command, seed, data hash, commit, packages, wall
  time, settings, sha256 of the csv);
* the fit report in the run folder (``results/calibration/<date>/<time>/report.md`` + figures),
  copied to ``docs/calibration_report.md`` and ``docs/calibration_figures/``.

The command is a ``Command`` of the app shell (``sim.runtime.shell``: checks before any folder,
Ctrl-C, the command line recorded); ``calibrate()`` takes a plain ``CalibrateConfig``
(``sim/calibration/config.py``).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibration import report as fit_report
from sim.calibration.abc import ABCResult, ParamSpace, Runner, SimTask, model_seed, run_abc
from sim.calibration.config import CalibrateConfig
from sim.calibration.targets import (
    CONTEXT_INDICATORS,
    FIT_INDICATORS,
    FIT_YEARS,
    FitTargets,
)
from sim.model.params import BehaviourParams
from sim.paths import DATA_DIR, DOCS_DIR, POSTERIOR_CSV
from sim.runtime import atomic
from sim.runtime.shell import Command, Invocation, command_line

PPC_ROUND = 1000  # round index of the posterior-predictive runs in ``model_seed`` (apart from ABC rounds)
FLOAT_FORMAT = "%.10g"  # posterior.csv: 10 significant digits, fixed so the file is byte-reproducible


# --------------------------------------------------------------------------- files
def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def inputs_hash(folder: Path = DATA_DIR) -> str:
    """``history.data_hash`` over the data files the fit reads, posterior files excluded
    (so the hash names the inputs, not the output it is recorded in)."""
    from sim.data import history

    return history.data_hash(folder, exclude_prefix="posterior")


def posterior_frame(result: ABCResult) -> pd.DataFrame:
    """The final population: ``param_set``, calibrated columns, normalised ``weight`` (closest first)."""
    values, weights, _ = result.population()
    frame = pd.DataFrame(values, columns=list(result.space.names))
    frame.insert(0, "param_set", np.arange(len(frame)))
    frame["weight"] = weights / weights.sum()
    return frame


def posterior_csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n").encode()


def write_posterior_files(frame: pd.DataFrame, csv_path: Path, provenance: dict) -> tuple[Path, Path]:
    """Write ``posterior.csv`` and, beside it, ``posterior.json`` holding the csv's sha256."""
    csv_path = Path(csv_path)
    data = posterior_csv_bytes(frame)
    with atomic.atomic_path(csv_path) as tmp:
        tmp.write_bytes(data)
    meta = dict(provenance)
    meta["posterior_csv"] = {
        "file": csv_path.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "rows": int(len(frame)),
    }
    json_path = csv_path.with_suffix(".json")
    atomic.write_json(json_path, meta)
    return csv_path, json_path


def _finite(x):
    """JSON has no NaN: None instead."""
    return None if isinstance(x, float) and not np.isfinite(x) else x


def _provenance(cfg: CalibrateConfig, result: ABCResult, command: list[str], started: float) -> dict:
    from sim.data import history
    from sim.runtime.provenance import record

    r = result
    values, weights, dist = r.population()
    return {
        "kind": "qinchuangyuan behaviour-parameter posterior (ABC)",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **record(command),
        "seed": cfg.seed,
        "config": asdict(cfg),
        "method": {
            "algorithm": "adaptive ABC-SMC with MCMC moves (Del Moral, Doucet & Jasra 2012): Sobol rejection "
            "round, then tolerance steps (alpha quantile) with systematic resampling and ABC-MCMC random-walk "
            "sweeps; equal-weight particles; sim/calibration/abc.py",
            "distance": "sum over data points of ((sim - obs) / s)^2, s = sqrt(half_width^2 + model_noise_sd^2); "
            "sim/calibration/targets.py",
            "parameters": list(r.space.names),
            "prior": {n: [float(lo), float(hi)] for n, lo, hi in zip(r.space.names, r.space.lo, r.space.hi)},
            "fit_indicators": list(FIT_INDICATORS),
            "context_indicators": list(CONTEXT_INDICATORS),
            "fit_points": r.targets.labels(fitted_only=True),
            "scale": cfg.scale,
            "rounds": [
                {
                    "round": rd.index,
                    "step": rd.step,
                    "tolerance": rd.tolerance,
                    "runs": rd.n,
                    "acceptance": _finite(rd.acceptance),
                    "distinct_particles": rd.unique,
                    "kernel_c": _finite(rd.kernel_c),
                    "wall_s": round(rd.wall_s, 1),
                    "best_distance": float(rd.distance.min()) if rd.n else None,
                }
                for rd in r.rounds
            ],
            "runs_total": r.n_runs,
            "failed_runs": len(r.failures),
        },
        "posterior": {
            "sets": int(len(values)),
            "particles": int(len(r.particles)),
            "ess": float(1 / np.sum(weights**2)),
            "tolerance": r.tolerance,
            "distance_min": float(dist.min()),
            "distance_max": float(dist.max()),
        },
        "data": {
            "fit_targets_sha256": sha256_file(DATA_DIR / history.FIT_TARGETS_FILE),
            "inputs_hash": inputs_hash(),
            "inputs_hash_method": "sim.data.history.data_hash scheme over sim/data/*.csv|json|npz except posterior.*",
        },
        "wall_time_s": round(time.time() - started, 1),
    }


# --------------------------------------------------------------------------- posterior-predictive check
def posterior_predictive(
    result: ABCResult, runner: Runner, ppc_scale: float, base: BehaviourParams | None = None
) -> np.ndarray:
    """One run per accepted set at ``ppc_scale`` (fresh seeds); outputs (n_keep, indicator, year)."""
    values, _, _ = result.population()
    s = result.settings
    tasks = [
        SimTask(result.space.params(v, base), model_seed(s.seed, PPC_ROUND, i), ppc_scale)
        for i, v in enumerate(values)
    ]
    return runner.run(tasks, f"posterior predictive ({len(tasks)} at scale {ppc_scale:g})")


def save_population(result: ABCResult, out_dir: Path) -> None:
    """Every run of every round (parameters, seed, distance, accepted, weight) for later diagnosis."""
    frame = pd.DataFrame(result.space.values(result.all_runs("u")), columns=list(result.space.names))
    frame.insert(0, "seed", result.all_runs("seeds"))
    frame.insert(0, "round", result.run_round())
    frame["distance"] = result.all_runs("distance")
    w = np.zeros(len(frame))
    w[result.kept] = result.weights
    frame["accepted"] = w > 0
    frame["weight"] = w
    atomic.write_csv(out_dir / "abc_runs.csv.gz", frame, float_format=FLOAT_FORMAT, compression="gzip")
    np.savez_compressed(
        out_dir / "abc_outputs.npz",
        outputs=result.all_runs("outputs"),
        kept=result.kept,
        pilot=result.pilot_outputs,
    )
    if result.history is not None:  # the history-matching waves: inputs (unit cube) and log outputs
        waves = result.history.waves
        np.savez_compressed(
            out_dir / "history_matching.npz",
            **{f"u{w.index}": w.u for w in waves},
            **{f"log_sim{w.index}": w.log_sim for w in waves},
            nroy=result.history.nroy,
            labels=np.array(result.history.labels),
        )


# --------------------------------------------------------------------------- the command
def calibrate(
    cfg: CalibrateConfig,
    out_dir: Path,
    command: list[str] | None = None,
    started: float | None = None,
    log=print,
) -> dict:
    """Run the calibration, write the posterior and the report; returns paths and the fit summary."""
    started = time.time() if started is None else started
    cfg.validate()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    command = command if command is not None else command_line("sim.calibrate")
    space = ParamSpace.from_priors()
    targets = FitTargets.default(cfg.through_year)
    log(
        f"calibrating {space.dim} parameters to {int(targets.fitted.sum())} data points "
        f"({FIT_YEARS[0]}-{cfg.through_year}); output {out_dir}"
    )
    with Runner(cfg.jobs, progress=cfg.progress, executor=cfg.executor, address=cfg.address) as runner:
        result = run_abc(space, targets, cfg, runner, log=log)
        ppc = posterior_predictive(result, runner, cfg.ppc_scale) if cfg.ppc else None
    frame = posterior_frame(result)
    prov = _provenance(cfg, result, command, started)
    save_population(result, out_dir)
    fit = None
    if ppc is not None:
        np.savez_compressed(out_dir / "ppc_outputs.npz", outputs=ppc)
        fit = fit_report.write_report(cfg, result, ppc, prov, out_dir, DOCS_DIR if cfg.docs else None)["fit"]
    prov["wall_time_s"] = round(time.time() - started, 1)
    if fit is not None:
        prov["fit"] = fit
    csv_out, json_out = write_posterior_files(frame, out_dir / "posterior.csv", prov)
    written = {"csv": csv_out, "json": json_out}
    if cfg.write_posterior:
        target = Path(cfg.posterior_path) if cfg.posterior_path else POSTERIOR_CSV
        written["csv"], written["json"] = write_posterior_files(frame, target, prov)
    log(f"posterior: {len(frame)} sets, ESS {prov['posterior']['ess']:.0f} -> {written['csv']}")
    if fit is not None:
        log(
            f"fit: bands cover {fit['covered']}/{fit['points']} points; medians within goal at "
            f"{fit['median_goal_met']}/{fit['median_goal_points']}; missed {fit['median_goal_missed']}"
        )
    where = f"report: {out_dir / 'report.md'}; " if fit is not None else ""
    log(f"{where}wall time {prov['wall_time_s'] / 60:.1f} min")
    return {"result": result, "posterior": frame, "provenance": prov, "written": written, "fit": fit}


def _body(cfg: CalibrateConfig, inv: Invocation) -> dict:
    return calibrate(cfg, inv.outdir, command=inv.command, started=inv.started)


COMMAND = Command(
    module="sim.calibrate",
    noun="calibration",
    schema=CalibrateConfig,
    body=_body,
    kept="a calibration writes its posterior and report only when it completes, so nothing was written",
)


def main(argv: list[str] | None = None) -> None:
    """``python -m sim.calibrate``: the app shell runs ``COMMAND``."""
    COMMAND.main(argv)


if __name__ == "__main__":
    main()
