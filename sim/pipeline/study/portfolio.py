"""Study ``portfolio``: what would it take? The cheapest lever mixes that lift P(reach) to ``goal``.

Search: NSGA-II (Deb et al. 2002; pymoo's implementation) over the 15 levers, each from 0 to
``range_factor`` x the plan's value, with two objectives: the mean public cost 2024-26 (亿元) and
P(all five targets reached). NSGA-II because the answer asked for is a Pareto front of cost against
P(all five) (one run of a multi-objective optimiser gives it, where a single-objective one needs a
run per cost level), it needs no gradients (P(reach) is a step function of noisy runs), and it
evaluates a whole population at once: each generation is one batch for the parallel runner. The
search's second objective adds a small tie-break (``guide``) so that it moves where P(all five) is
flat; the front reported is on P(all five) alone.
The first population holds the plan, frozen_2023, every lever at 0 and every lever at the top, and
a Latin hypercube for the rest.

Every candidate runs on the same ``replicates`` replicates (common random numbers: candidates differ
only through their levers, so the ranking is not noise between different futures). The archive of
every candidate evaluated gives, per goal (each target, and all five), the cheapest mix whose
estimated P(reach) >= ``goal``; because a minimum over noisy estimates is biased upward, each chosen
mix is re-run on ``validation`` fresh replicates, and the cheapest whose validated P(reach) >=
``goal`` is reported (up to ``TRIES`` candidates per goal, cheapest first, each costing at least
``SPREAD`` x the last one tried). When no candidate gets
there, the study says so: no mix within the levers' ranges was found to reach it.

Design (``sizes.<size>``: ``population``, ``generations``, ``replicates``, ``validation``, ``scale``).
Runs: population x generations x replicates (fewer when NSGA-II proposes a mix twice) + validation.
Tables: ``portfolio.csv`` (the Pareto front), ``candidates.csv`` (every candidate), ``mixes.csv``
(the chosen mix per goal with its validated P(reach)). Figure ``portfolio.png``.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd

from sim.model.outcomes import HEADLINE
from sim.model.policy import LEVERS, scenario
from sim.pipeline.report import wilson
from sim.pipeline.study.design import (
    ALL_FIVE,
    COST,
    COST_LABEL,
    lever_range,
    reached,
    replicate_spec,
    with_levers,
)
from sim.runtime import atomic

GOALS = [*HEADLINE, ALL_FIVE]
NAMES = list(LEVERS)
TRIES = 3  # validated candidates per goal, cheapest first
SPREAD = 1.25  # each further try costs at least this much more than the last (on the search replicates)
TIE_BREAK = 0.01  # weight of the mean single-target P(reach) in the search objective (see guide)


def ranges(factor: float) -> np.ndarray:
    return np.array([lever_range(n, factor, "zero") for n in NAMES])


def to_levers(u: np.ndarray, bounds: np.ndarray):
    values = bounds[:, 0] + np.clip(u, 0, 1) * (bounds[:, 1] - bounds[:, 0])
    return with_levers(scenario("plan"), **dict(zip(NAMES, values)))


def to_unit(levers, bounds: np.ndarray) -> np.ndarray:
    d = asdict(levers)
    v = np.array([float(d[n]) for n in NAMES])
    return np.clip((v - bounds[:, 0]) / (bounds[:, 1] - bounds[:, 0]), 0, 1)


class Evaluator:
    """Evaluates lever mixes on fixed replicates; keeps the archive of every mix evaluated."""

    def __init__(self, ctx, reps, bounds):
        self.ctx, self.reps, self.bounds = ctx, reps, bounds
        self.archive: dict[tuple, dict] = {}
        self.batches = 0

    def __call__(self, units: np.ndarray, desc: str, reps=None) -> list[dict]:
        reps = self.reps if reps is None else reps
        mixes = [to_levers(u, self.bounds) for u in units]
        specs = [replicate_spec(m, r) for m in mixes for r in reps]
        out = self.ctx.evaluate(specs, desc)
        n = len(reps)
        results = []
        for k, m in enumerate(mixes):
            frame = out.iloc[k * n : (k + 1) * n]
            reach = reached(frame)
            row = {
                "cost": float(frame[COST].mean()),
                "n": n,
                **{f"p_{g}": float(reach[g].mean()) for g in GOALS},
            }
            row.update({n_: v for n_, v in asdict(m).items()})
            results.append(row)
            if reps is self.reps:
                self.archive.setdefault(tuple(asdict(m).values()), row)
        return results


def run(ctx):
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.optimize import minimize
    from scipy.stats import qmc

    from sim.pipeline.study.runner import Findings

    d = ctx.design
    bounds = ranges(ctx.cfg.range_factor)
    reps = ctx.replicates(d.replicates)
    ev = Evaluator(ctx, reps, bounds)

    class Mixes(Problem):
        def __init__(self):
            super().__init__(n_var=len(NAMES), n_obj=2, xl=0.0, xu=1.0)

        def _evaluate(self, X, out, *args, **kwargs):
            ev.batches += 1
            res = ev(X, f"portfolio generation {ev.batches}")
            out["F"] = np.array([[r["cost"], -guide(r)] for r in res])

    named = {
        "plan": to_unit(scenario("plan"), bounds),
        "frozen_2023": to_unit(scenario("frozen_2023"), bounds),
        "all levers at 0": np.zeros(len(NAMES)),
        "all levers at the top": np.ones(len(NAMES)),
    }
    lhs = qmc.LatinHypercube(d=len(NAMES), seed=ctx.cfg.seed).random(max(0, d.population - len(named)))
    x0 = np.vstack([*named.values(), lhs])[: d.population]
    algorithm = NSGA2(pop_size=d.population, sampling=x0, eliminate_duplicates=True)
    minimize(Mixes(), algorithm, ("n_gen", d.generations), seed=ctx.cfg.seed, verbose=False)

    cand = pd.DataFrame(list(ev.archive.values()))
    cand["on_front"] = pareto(cand["cost"].to_numpy(), cand[f"p_{ALL_FIVE}"].to_numpy())
    labels = {tuple(asdict(to_levers(u, bounds)).values()): k for k, u in named.items()}
    cand.insert(0, "label", [labels.get(tuple(r[n] for n in NAMES), "") for _, r in cand.iterrows()])
    front = cand[cand["on_front"]].sort_values("cost").reset_index(drop=True)

    # validation: the cheapest mixes with estimated P >= goal, on fresh replicates
    fresh = ctx.replicates(d.validation, first=d.replicates)
    mixes = []
    for g in GOALS:
        ok = cand[cand[f"p_{g}"] >= ctx.cfg.goal].sort_values("cost")
        chosen = None
        tried = []
        for _, row in ok.iterrows():
            if len(tried) == TRIES:
                break
            if tried and row["cost"] < SPREAD * tried[-1]["search_cost"]:
                continue  # the next try costs noticeably more: a near-copy of a failed mix would fail too
            u = to_unit(with_levers(scenario("plan"), **{n: row[n] for n in NAMES}), bounds)
            v = ev(u[None, :], f"portfolio validation {g}", reps=fresh)[0]
            k = int(round(v[f"p_{g}"] * len(fresh)))
            lo, hi = wilson(k, len(fresh))
            tried.append({"cost": v["cost"], "p": v[f"p_{g}"], "search_cost": row["cost"]})
            if v[f"p_{g}"] >= ctx.cfg.goal:
                chosen = {
                    **row.to_dict(),
                    "validated_cost": v["cost"],
                    "validated_p": v[f"p_{g}"],
                    "validated_lo": lo,
                    "validated_hi": hi,
                }
                break
        mixes.append(
            {
                "goal": g,
                "found": chosen is not None,
                "candidates_meeting_goal": len(ok),
                "tried": tried,
                "mix": chosen,
            }
        )
    plan_row = cand[cand["label"] == "plan"].iloc[0].to_dict()
    table = mix_table(mixes, plan_row)
    summary = {
        "goal": ctx.cfg.goal,
        "candidates": len(cand),
        "front": front[["cost", f"p_{ALL_FIVE}", *NAMES]].to_dict("records"),
        "plan": {"cost": plan_row["cost"], **{g: plan_row[f"p_{g}"] for g in GOALS}},
        "mixes": {
            m["goal"]: (
                {
                    "cost_100m": m["mix"]["validated_cost"],
                    "p_reach": m["mix"]["validated_p"],
                    "p_reach_ci95": [m["mix"]["validated_lo"], m["mix"]["validated_hi"]],
                    "levers": {n: m["mix"][n] for n in NAMES},
                }
                if m["found"]
                else {
                    "none": True,
                    "candidates_meeting_goal_on_search_replicates": m["candidates_meeting_goal"],
                    "validated": m["tried"],
                }
            )
            for m in mixes
        },
    }
    cols = ["label", "cost", *[f"p_{g}" for g in GOALS], *NAMES]
    figures = [figure(cand, front, mixes, ctx.outdir / "portfolio.png", ctx.cfg.goal, d.replicates)]
    return Findings(
        summary=summary,
        tables={"portfolio": front[cols], "candidates": cand[[*cols, "on_front"]], "mixes": table},
        figures=figures,
        markdown=markdown(summary, table, d, ctx.cfg),
        design=f"NSGA-II, population {d.population} x {d.generations} generations ({len(cand)} distinct mixes), "
        f"each on the same {d.replicates} replicates; the chosen mixes re-run on {d.validation} fresh replicates; "
        f"{ctx.runs:,} distinct runs at scale {ctx.scale}. Levers from 0 to {ctx.cfg.range_factor:g} x the plan.",
    )


def guide(row: dict) -> float:
    """The search's second objective: P(all five), plus ``TIE_BREAK`` x the mean P(reach) of the five targets.

    P(all five) is flat (often 0) over much of the lever space; the small second term points NSGA-II
    towards mixes that raise the targets one by one, and never outweighs a step of P(all five)
    (``TIE_BREAK`` <= 1 / replicates up to 100 replicates). The reported front uses P(all five) alone.
    """
    return row[f"p_{ALL_FIVE}"] + TIE_BREAK * float(np.mean([row[f"p_{g}"] for g in HEADLINE]))


def pareto(cost: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Non-dominated points: no other point is as cheap and as likely, and strictly better in one."""
    keep = np.ones(len(cost), dtype=bool)
    for i in range(len(cost)):
        dominated = (cost <= cost[i]) & (p >= p[i]) & ((cost < cost[i]) | (p > p[i]))
        keep[i] = not dominated.any()
    return keep


def mix_table(mixes: list[dict], plan: dict) -> pd.DataFrame:
    rows = []
    for m in mixes:
        row = {"goal": m["goal"], "found": m["found"]}
        if m["found"]:
            mix = m["mix"]
            row.update(
                cost_100m=mix["validated_cost"],
                p_reach=mix["validated_p"],
                p_lo=mix["validated_lo"],
                p_hi=mix["validated_hi"],
                search_p=mix[f"p_{m['goal']}"],
                **{n: mix[n] for n in NAMES},
            )
        rows.append(row)
    rows.append(
        {
            "goal": "the plan (search replicates)",
            "found": True,
            "cost_100m": plan["cost"],
            "p_reach": plan[f"p_{ALL_FIVE}"],
            **{n: plan[n] for n in NAMES},
        }
    )
    return pd.DataFrame(rows)


def _levers_text(row: dict) -> str:
    plan = asdict(scenario("plan"))
    parts = []
    for n in NAMES:
        v, p = float(row[n]), float(plan[n])
        if abs(v - p) > 1e-9 * max(1, abs(p)):
            parts.append(f"{n} {v:.3g} (plan {p:g})")
    return "; ".join(parts) or "the plan's levers"


def markdown(summary: dict, table: pd.DataFrame, design, cfg) -> str:
    plan = summary["plan"]
    lines = [
        f"Goal: P(reach) >= {cfg.goal:g}. Searched {summary['candidates']} lever mixes (NSGA-II), each on "
        f"{design.replicates} common replicates; chosen mixes validated on {design.validation} fresh replicates "
        f"(95 % Wilson interval). The plan on the search replicates: cost {plan['cost']:,.1f} 亿元, "
        + ", ".join(f"P({g}) {plan[g]:.2f}" for g in GOALS)
        + ".",
        "",
        "| goal | cheapest mix found | cost 2024-26 (亿元) | validated P(reach) (95 % CI) | levers changed from the plan |",
        "|---|---|---|---|---|",
    ]
    for g, m in summary["mixes"].items():
        if m.get("none"):
            tried = m["validated"]
            why = (
                f"no mix within the levers' ranges reached P >= {cfg.goal:g} on the search replicates"
                if not tried
                else "the cheapest candidates fell below the goal on fresh replicates: "
                + ", ".join(f"{t['p']:.2f} at {t['cost']:,.1f} 亿元" for t in tried)
            )
            lines.append(f"| {g} | none found | – | – | {why} |")
            continue
        lo, hi = m["p_reach_ci95"]
        lines.append(
            f"| {g} | found | {m['cost_100m']:,.1f} | {m['p_reach']:.2f} ({lo:.2f}–{hi:.2f}) | "
            f"{_levers_text(m['levers'])} |"
        )
    lines += [
        "",
        f"Pareto front of cost against P(all five): {len(summary['front'])} mixes in `portfolio.csv`; every "
        "candidate in `candidates.csv`; the chosen mixes in `mixes.csv`.",
    ]
    return "\n".join(lines)


def figure(cand: pd.DataFrame, front: pd.DataFrame, mixes: list[dict], path, goal: float, n: int):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5))
    ax = fig.subplots()
    ax.scatter(cand["cost"], cand[f"p_{ALL_FIVE}"], s=10, color="grey", alpha=0.5, label="mixes evaluated")
    ax.step(front["cost"], front[f"p_{ALL_FIVE}"], where="post", color="tab:blue", lw=1.5)
    ax.plot(front["cost"], front[f"p_{ALL_FIVE}"], "o", color="tab:blue", ms=4, label="Pareto front")
    for label, marker, colour in (("plan", "*", "tab:red"), ("frozen_2023", "s", "black")):
        r = cand[cand["label"] == label]
        if not r.empty:
            ax.plot(
                r["cost"],
                r[f"p_{ALL_FIVE}"],
                marker,
                color=colour,
                ms=11 if marker == "*" else 7,
                label=label,
            )
    m = next(x for x in mixes if x["goal"] == ALL_FIVE)
    if m["found"]:
        mix = m["mix"]
        ax.errorbar(
            [mix["validated_cost"]],
            [mix["validated_p"]],
            yerr=[[mix["validated_p"] - mix["validated_lo"]], [mix["validated_hi"] - mix["validated_p"]]],
            fmt="D",
            color="tab:green",
            capsize=3,
            label="cheapest mix with P >= goal (validated, 95 % CI)",
        )
    ax.axhline(goal, color="tab:green", ls="--", lw=1, label=f"goal P = {goal:g}")
    ax.set_xlabel(COST_LABEL)
    ax.set_ylabel("P(all five targets reached in 2026)")
    ax.set_ylim(-0.03, 1.03)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    ax.set_title(f"Cost against P(all five): NSGA-II search, {n} common replicates per mix", fontsize=10)
    fig.tight_layout()
    return atomic.save_figure(path, fig, dpi=90)
