"""Where a replicate's time goes, stage by stage, and how each stage scales with the firm population.

    .venv/bin/python benchmarks/bench_stages.py                       # scales 0.25, 1, 4; 3 seeds each
    .venv/bin/python benchmarks/bench_stages.py --scales 0.25 1 --seeds 2

Each stage of ``InnovationModel.step`` (and the start state's build) is timed with the process CPU clock
around the model's own method, for one replicate from 2017-01 to 2026-12 at the posterior-mean parameters
and the plan, run as the parallel runner runs it (long-lived objects frozen, the cyclic collector paused).
The median over seeds is reported per stage.

Reading it: a stage's time at two scales, t(s) = fixed + per_firm x firms(s), gives its fixed part (Python:
calls, small arrays, one generator per process and month) and its per-firm part (array passes over the
firm table). The sum of the fixed parts is the floor no vectorised rewrite removes; the per-firm part is
what a fused (compiled) pass could shrink. Timing wrappers add about a microsecond a call (~2,000 calls a
replicate): negligible at these sizes.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections import defaultdict

#: The model's methods timed as stages: the monthly ones in ``step`` order, then the year ends.
STAGES = (
    "found_firms",
    "incubate",
    "grow_firms",
    "spend_rd",
    "register_firms",
    "trade_technology",
    "close_firms",
    "open_year",
    "close_year",
)


def timed_run(scale: float, seed: int) -> tuple[dict[str, float], float]:
    """CPU seconds by stage of one replicate, and its mean number of live firms."""
    from sim.data.posterior import load_posterior
    from sim.model import InnovationModel
    from sim.model.evaluate import release

    params = load_posterior().mean()
    spent: dict[str, float] = defaultdict(float)
    gc.collect()
    gc.freeze()
    gc.disable()
    c0 = time.process_time()
    m = InnovationModel(seed=seed, scale=scale, params=params)
    spent["build"] = time.process_time() - c0

    def wrap(owner, name, label):
        inner = getattr(owner, name)

        def timed(*args, **kwargs):
            c = time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[label] += time.process_time() - c

        setattr(owner, name, timed)

    for stage in STAGES:
        wrap(m, stage, stage)
    wrap(m.policy, "act", "policy.act")  # the instruments' monthly actions
    wrap(m.datacollector, "collect", "collect")
    c1 = time.process_time()
    m.run()
    total = time.process_time() - c1
    # open_year and close_year also run the policy's yearly hooks; policy.act is only the monthly actions
    spent["other (step glue)"] = total - sum(v for k, v in spent.items() if k != "build")
    firms = float(m.datacollector.get_model_vars_dataframe()["firms_alive"].mean())
    release(m)
    gc.enable()
    gc.unfreeze()
    return dict(spent), firms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", nargs="*", type=float, default=[0.25, 1.0, 4.0])
    ap.add_argument("--seeds", type=int, default=3, help="replicates per scale (the median is reported)")
    args = ap.parse_args()
    if len(set(args.scales)) < 2:
        ap.error("--scales: give at least two different scales (the fixed part is fitted across them)")
    if args.seeds < 1:
        ap.error("--seeds: at least 1")
    from sim.model.params import ConfigError, RunConfig

    for scale in args.scales:
        try:
            RunConfig(scale=scale)  # the model's own range check, before any run
        except ConfigError as err:
            ap.error(f"--scales: {err}")
    timed_run(min(args.scales), 999)  # warm the imports and caches
    rows, firms = {}, {}
    for scale in args.scales:
        runs = [timed_run(scale, seed) for seed in range(args.seeds)]
        firms[scale] = statistics.median(f for _, f in runs)
        rows[scale] = {k: statistics.median(r[k] for r, _ in runs) for k in runs[0][0]}
    lo, hi = min(args.scales), max(args.scales)
    names = list(rows[lo])
    print(f"CPU seconds per replicate (median of {args.seeds} seeds), 2017-2026, posterior mean, plan")
    head = "".join(f"{f'scale {s:g}':>12}" for s in args.scales)
    print(f"{'stage':<22}{head}{'fixed s':>10}{'us/firm-yr':>12}")
    print(f"{'mean live firms':<22}" + "".join(f"{firms[s]:>12,.0f}" for s in args.scales))
    totals = {s: 0.0 for s in args.scales}
    fixed_total = 0.0
    for name in names:
        slope = (rows[hi][name] - rows[lo][name]) / (firms[hi] - firms[lo])  # s per mean live firm
        fixed = max(0.0, rows[lo][name] - slope * firms[lo])
        fixed_total += fixed
        for s in args.scales:
            totals[s] += rows[s][name]
        print(
            f"{name:<22}"
            + "".join(f"{rows[s][name]:>12.3f}" for s in args.scales)
            + f"{fixed:>10.3f}{slope / 10 * 1e6:>12.2f}"
        )
    print(f"{'total':<22}" + "".join(f"{totals[s]:>12.3f}" for s in args.scales) + f"{fixed_total:>10.3f}")
    print(
        f"\nfixed part (the floor a vectorised rewrite keeps): {fixed_total:.2f} s; per firm and simulated year: "
        f"{(totals[hi] - totals[lo]) / (firms[hi] - firms[lo]) / 10 * 1e6:.2f} us"
    )


if __name__ == "__main__":
    main()
