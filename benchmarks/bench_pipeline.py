"""What the study pipeline adds to each replicate, over the bare model run.

    .venv/bin/python benchmarks/bench_pipeline.py                  # full scale, 6 replicates, 3 repeats
    .venv/bin/python benchmarks/bench_pipeline.py --scale 0.25 --replicates 12

Three figures, CPU seconds per replicate (user + system: on a shared machine, far steadier than
wall time), one process (jobs=1), the calibrated posterior's sets:

- ``bare``: ``sim.model.evaluate.evaluate`` for each replicate (build, run, annual indicators);
- ``ensemble``: ``sim.pipeline.ensemble.run_ensemble`` over the same replicates (adds the
  per-replicate packing, the tidy table, the progress bar);
- ``app marginal``: ``python -m sim`` (plots off) with ``--replicates`` and with 2 replicates,
  the difference divided by the extra replicates: what one more replicate costs a user, with
  logging, summary and timeseries.csv (start-up and fixed costs cancel).

Each figure is the median of ``--repeats`` runs, bare and ensemble interleaved so a drifting
machine load hits both alike. The same script runs against an older tree of the project with
``PYTHONPATH=<that tree>`` (before the one evaluator: ``sim.model.run_replicate``), for before/after
comparisons.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bare_run():
    """The bare model run of this tree: ``run(levers, params, seed, scale)``."""
    try:
        from sim.model.evaluate import ModelRun, evaluate
    except ImportError:  # a tree from before the one evaluator
        from sim.model import run_replicate

        return lambda levers, params, seed, scale: run_replicate(
            levers=levers, params=params, seed=seed, scale=scale
        )
    return lambda levers, params, seed, scale: evaluate(ModelRun(levers, params, None, seed, scale))


def in_process(replicates: int, scale: float, repeats: int) -> tuple[float, float]:
    from sim.model.policy import scenario
    from sim.pipeline import ensemble

    sets = ensemble.load_param_sets("default")
    plan = ensemble.plan_replicates(0, range(replicates), len(sets), sets.weights)
    levers = scenario("plan")
    run = bare_run()
    run(levers, sets.sets[plan[0].param_set], plan[0].seed, scale)  # warm up
    bare, ens = [], []
    for _ in range(repeats):
        t0 = time.process_time()
        for rep in plan:
            run(levers, sets.sets[rep.param_set], rep.seed, scale)
        bare.append((time.process_time() - t0) / replicates)
        t0 = time.process_time()
        ensemble.run_ensemble(levers, plan, param_sets=sets.sets, scale=scale, jobs=1, progress=False)
        ens.append((time.process_time() - t0) / replicates)
    return statistics.median(bare), statistics.median(ens)


def app_seconds(replicates: int, scale: float, outdir: Path) -> float:
    cmd = [
        sys.executable,
        "-m",
        "sim",
        f"replicates={replicates}",
        f"scale={scale}",
        "jobs=1",
        "plots=false",
        "progress=false",
        "resume=false",
        f"hydra.run.dir={outdir}",
    ]
    t0 = children_cpu()
    subprocess.run(cmd, check=True, capture_output=True)
    return children_cpu() - t0


def app_marginal(replicates: int, scale: float, repeats: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        diffs = []
        for r in range(repeats):
            small = app_seconds(2, scale, Path(tmp) / f"small{r}")
            large = app_seconds(replicates, scale, Path(tmp) / f"large{r}")
            diffs.append((large - small) / (replicates - 2))
    return statistics.median(diffs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicates", type=int, default=6)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if args.replicates < 3:
        ap.error("--replicates must be >= 3 (the app figure compares with 2)")
    bare, ens = in_process(args.replicates, args.scale, args.repeats)
    marginal = app_marginal(args.replicates, args.scale, args.repeats)
    print(
        f"scale {args.scale:g}, {args.replicates} replicates, median of {args.repeats}; CPU seconds per replicate"
    )
    print(
        f"{'bare model':>14} {'ensemble':>9} {'app marginal':>13} {'ensemble - bare':>16} {'app - bare':>11}"
    )
    print(f"{bare:>14.3f} {ens:>9.3f} {marginal:>13.3f} {ens - bare:>16.3f} {marginal - bare:>11.3f}")


if __name__ == "__main__":
    main()
