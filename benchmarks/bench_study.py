"""The lever studies' budget: CPU seconds per model run at a study's scale, and what a full study needs.

    .venv/bin/python benchmarks/bench_study.py                 # scale 0.25, 24 runs, one process
    .venv/bin/python benchmarks/bench_study.py --runs 48 --scale 0.25

Runs the contrast study's task (``sim.model.evaluate.evaluate``: one model run to 2026, and its
``sim.pipeline.study.design.outputs``) on the first replicates of the plan in this process, and reports CPU seconds per run (user +
system: steadier than wall time on a shared machine) and the wall time a study of 2,000 such runs would
take on 2 free cores (CPU time / 2; the studies keep both busy). The full studies' measured wall times
are in each ``study.json`` (``wall_time_s``) and in ``experiments/README.md``.
"""

from __future__ import annotations

import argparse
import resource
import time


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=24)
    parser.add_argument("--scale", type=float, default=0.25)
    args = parser.parse_args()

    from sim.model.evaluate import evaluate
    from sim.model.policy import scenario
    from sim.pipeline.ensemble import load_param_sets, plan_replicates
    from sim.pipeline.study.design import outputs, replicate_spec
    from sim.runtime.parallel import quiet_model_logs

    quiet_model_logs()
    sets = load_param_sets("default")
    reps = plan_replicates(0, range(args.runs), len(sets), sets.weights)
    plan = scenario("plan")
    specs = [replicate_spec(plan, r) for r in reps]
    runs = [s.model_run(sets.sets[s.param_set], args.scale, 2026) for s in specs]
    outputs(evaluate(runs[0]))  # warm up
    c0, w0 = cpu(), time.perf_counter()
    for run in runs:
        outputs(evaluate(run))
    c, w = cpu() - c0, time.perf_counter() - w0
    per = c / args.runs
    print(
        f"scale {args.scale}: {per:.3f} CPU s per run ({w / args.runs:.3f} s wall, one process, {args.runs} runs)"
    )
    print(f"a 2,000-run study on 2 free cores: {2000 * per / 2 / 60:.1f} min")


if __name__ == "__main__":
    main()
