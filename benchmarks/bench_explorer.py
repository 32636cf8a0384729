"""Responsiveness of the lever explorer's engine: time to the first answer and to 200 replicates.

    .venv/bin/python benchmarks/bench_explorer.py                 # scale 0.1, 200 replicates, all cores
    .venv/bin/python benchmarks/bench_explorer.py --moves 5 --jobs 2

What a researcher sees after moving a control, without the browser (the browser test records
the same times through the page, in browser_test.json: EXPLORER_TEST_OUT=results/explorer keeps it):

* the plan's 200 replicates from a cold start (worker processes spawned, posterior loaded);
* for each move: a setting is asked for while the previous one is still growing (as when a
  slider moves again), and the clock runs from the ask to the first answer (``MIN_ANSWER``
  paired replicates, statistics computed) and to all replicates.

The machine's load average is printed beside the times: they scale with the free cores.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time

from sim.pipeline.explorer import adapter
from sim.pipeline.explorer.engine import DEFAULT_REPLICATES, DEFAULT_SCALE, MIN_ANSWER, Engine, Setting


def timed_follow(engine: Engine, setting: Setting, stop_after: float | None = None) -> dict:
    """Follow ``setting`` to the end (or for ``stop_after`` seconds); the engine's own clock."""
    cancel = threading.Event()
    if stop_after is not None:
        threading.Timer(stop_after, cancel.set).start()
    last = None
    for snap in engine.follow(setting, cancel, min_interval=0.0):
        last = snap
    return {
        "n": last.n if last else 0,
        "first_answer_s": last.first_answer_s if last else None,
        "complete_s": last.complete_s if last else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=DEFAULT_SCALE)
    ap.add_argument("--replicates", type=int, default=DEFAULT_REPLICATES)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--moves", type=int, default=3, help="settings asked for, one after another")
    args = ap.parse_args()

    out: dict = {
        "scale": args.scale,
        "replicates": args.replicates,
        "jobs": args.jobs,
        "min_answer": MIN_ANSWER,
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
    }
    engine = Engine(scale=args.scale, replicates=args.replicates, jobs=args.jobs)
    try:
        plan = engine.baseline()
        out["plan_cold"] = timed_follow(engine, plan)
        base = adapter.scenario_values(adapter.BASELINE)
        previous = Setting.of({**base, "voucher_budget": 3.0})
        engine.want(previous)  # still growing when the next control moves
        time.sleep(1.0)
        moves = []
        for k in range(args.moves):
            setting = Setting.of({**base, "voucher_budget": 4.0 + k, "fund_size": 600.0 + 100 * k})
            moves.append(timed_follow(engine, setting))
        out["moves"] = moves
        out["first_answer_s_max"] = max(m["first_answer_s"] for m in moves)
        out["complete_s_mean"] = sum(m["complete_s"] for m in moves) / len(moves)
    finally:
        engine.close()
    out["load_after"] = os.getloadavg()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
