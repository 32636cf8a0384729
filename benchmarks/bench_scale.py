"""Speed and memory of one replicate, 2019-01 -> 2026-12, by population size.

Each size runs in a fresh process (so peak RSS is that run's own) on one core:

    .venv/bin/python benchmarks/bench_scale.py            # full scale, 10^4, 10^5, 10^6 firms
    .venv/bin/python benchmarks/bench_scale.py --sizes 1e4 1e5 --repeats 3

"firms" is the mean number of live firms over the run (one agent per firm), at the posterior-mean
parameters (the full-scale population grows from 30,000 at end-2018). firm-steps/s = sum over
months of live firms / wall time of the run (building the 2018 state included). Each replicate runs as
the parallel runner runs it (``sim.runtime.parallel.run_task``: the process's long-lived objects frozen,
the cyclic garbage collector paused for the whole replicate, build included); "cpu s" is the process
CPU time of the replicate, less sensitive than wall time to other load on the machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

FULL_SCALE_MEAN_FIRMS = None  # measured by the scale=1 run and used to size the others


def one_run(scale: float, seed: int) -> dict:
    import gc

    from sim.data.posterior import load_posterior
    from sim.model import InnovationModel
    from sim.model.evaluate import release

    params = load_posterior().mean()  # the calibrated population, not the priors' centre
    gc.collect()
    gc.freeze()
    gc.disable()
    c0 = time.process_time()
    t0 = time.perf_counter()
    m = InnovationModel(seed=seed, scale=scale, params=params)
    t1 = time.perf_counter()
    m.run()
    t2 = time.perf_counter()
    cpu = time.process_time() - c0
    live = m.datacollector.get_model_vars_dataframe()["firms_alive"]
    out = {
        "scale": scale,
        "build_s": t1 - t0,
        "run_s": t2 - t1,
        "total_s": t2 - t0,
        "cpu_s": cpu,
        "mean_live_firms": float(live.mean()),
        "firm_steps": float(live.sum()),
        "agents_end": len(m.agents),
        "table_mb": m.firms.table.nbytes / 2**20,
    }
    release(m)
    out["firm_steps_per_s"] = out["firm_steps"] / out["total_s"]
    out["us_per_firm_step"] = 1e6 / out["firm_steps_per_s"]
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def in_subprocess(scale: float, seed: int) -> dict:
    cmd = [sys.executable, __file__, "--child", str(scale), "--seed", str(seed)]
    res = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
    )
    if res.returncode != 0:
        raise SystemExit(f"the run at scale {scale:g} failed (exit {res.returncode}):\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="*", type=float, default=[1e4, 1e5, 1e6], help="mean live firms")
    ap.add_argument("--repeats", type=int, default=3, help="runs per size (the fastest is reported)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", type=float, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(one_run(args.child, args.seed)))
        return

    def best(scale):
        runs = [in_subprocess(scale, args.seed + r) for r in range(args.repeats)]
        return min(runs, key=lambda r: r["total_s"]) | {"peak_rss_mb": max(r["peak_rss_mb"] for r in runs)}

    full = best(1.0)
    rows = [("full scale", full)]
    for size in args.sizes:
        scale = size / full["mean_live_firms"]
        rows.append((f"{size:.0e} firms", best(scale) if abs(scale - 1) > 1e-9 else full))
    head = (
        f"{'run':>12} {'scale':>7} {'mean firms':>11} {'build s':>8} {'run s':>7} {'total s':>8} {'cpu s':>6} "
        f"{'firm-steps/s':>13} {'us/firm-step':>13} {'peak RSS MB':>12}"
    )
    print(head)
    for name, r in rows:
        print(
            f"{name:>12} {r['scale']:>7.3f} {r['mean_live_firms']:>11.0f} {r['build_s']:>8.2f} {r['run_s']:>7.2f} "
            f"{r['total_s']:>8.2f} {r['cpu_s']:>6.2f} {r['firm_steps_per_s']:>13.3g} {r['us_per_firm_step']:>13.3f} "
            f"{r['peak_rss_mb']:>12.0f}"
        )


if __name__ == "__main__":
    main()
