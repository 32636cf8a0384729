"""Study ``portfolio``: what would it take? The cheapest lever mixes that lift P(reach) to ``goal``, or
the best attainable P(reach) and its cost, and the mechanism that caps it.

Search: NSGA-II (Deb et al. 2002; pymoo's implementation) over the 15 levers, each over its full
validated range ``[Lever.lo, Lever.hi]`` on the plan-anchored scale of ``design.lever_at`` (0 = lo,
0.5 = the plan, 1 = hi; geometric above the plan where the range is wide, so the search reaches 50 x
the plan without spending every point there), with two objectives: the mean public cost 2024-26 (亿元)
and P(all five targets reached). NSGA-II because the answer asked for is a Pareto front of cost against
P(all five) (one run of a multi-objective optimiser gives it, where a single-objective one needs a run
per cost level), it needs no gradients (P(reach) is a step function of noisy runs), and it evaluates a
whole population at once: each generation is one batch for the parallel runner. The search's second
objective adds a small tie-break (``guide``) so that it moves where P(all five) is flat; the front
reported is on P(all five) alone. The first population holds the plan, frozen_2023, every lever at the
bottom and every lever at the top of its range, and a Latin hypercube for the rest.

Every candidate runs on the same ``replicates`` replicates (common random numbers: candidates differ
only through their levers, so the ranking is not noise between different futures). Per goal (each
target, and all five), from the archive of every candidate evaluated:

- the cheapest mix whose estimated P(reach) >= ``goal``, re-run on ``validation`` fresh replicates
  (a minimum over noisy estimates is biased upward): the cheapest whose validated P(reach) >= ``goal``
  is reported (up to ``TRIES`` candidates per goal, cheapest first, each costing at least ``SPREAD`` x
  the last one tried);
- when none validates, the best attainable: the candidate with the highest estimated P(reach) (the
  cheapest among ties) is validated too, and the highest validated P(reach) with its cost is reported;
- what caps it (``binding``), read from the reported mix's validation runs: per uncertainty group (a
  behaviour mechanism of ``sim.model.mechanisms`` or one instrument's effects), the largest absolute
  rank correlation between one of its uncertainties and the 2026 value of the target (for all five:
  of the target the mix misses most often); the group with the largest is named, with its parameter
  and whether it is distinguishable from noise (``noise_bound``: the largest |rho| that as many unrelated
  uncertainties would reach by chance).

Design (``sizes.<size>``: ``population``, ``generations``, ``replicates``, ``validation``, ``scale``).
Runs: population x generations x replicates (fewer when NSGA-II proposes a mix twice) + validation.
Tables: ``portfolio.csv`` (the Pareto front), ``candidates.csv`` (every candidate), ``mixes.csv``
(the chosen or best mix per goal with its validated P(reach) and what caps it). Figure ``portfolio.png``.
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
    lever_at,
    lever_position,
    lever_scale_text,
    reached,
    replicate_spec,
    uncertainty_frame,
    uncertainty_group,
    with_levers,
)
from sim.runtime import atomic

GOALS = [*HEADLINE, ALL_FIVE]
NAMES = list(LEVERS)
TRIES = 2  # validated candidates meeting the goal on the search replicates, per goal, cheapest first
SPREAD = 1.25  # each further try costs at least this much more than the last (on the search replicates)
FAILED_COST = 1e9  # 亿元: the search's cost of a mix the model failed to run (worse than any real mix)
TIE_BREAK = 0.01  # weight of the mean single-target P(reach) in the search objective (see guide)


FLOOR = "every lever at the bottom of its range"


def to_levers(u: np.ndarray):
    """The mix at positions ``u`` (one per lever, in [0, 1]) of the levers' validated ranges."""
    return with_levers(scenario("plan"), **{n: lever_at(n, x) for n, x in zip(NAMES, np.clip(u, 0, 1))})


def to_unit(levers) -> np.ndarray:
    """The positions of a mix's levers on their validated ranges (the inverse of ``to_levers``)."""
    d = asdict(levers)
    return np.array([lever_position(n, float(d[n])) for n in NAMES])


class Evaluator:
    """Evaluates lever mixes on fixed replicates; keeps the archive of every mix evaluated on the search
    replicates, and the runs of every mix validated on fresh ones (``validated``: what caps it)."""

    def __init__(self, ctx, reps):
        self.ctx, self.reps = ctx, reps
        self.archive: dict[tuple, dict] = {}
        self.validated: dict[tuple, pd.DataFrame] = {}
        self.batches = 0

    def __call__(self, units: np.ndarray, desc: str, reps=None) -> list[dict]:
        reps = self.reps if reps is None else reps
        mixes = [to_levers(u) for u in units]
        specs = [replicate_spec(m, r) for m in mixes for r in reps]
        out = self.ctx.evaluate(specs, desc, tolerate=True)
        n = len(reps)
        results = []
        for k, m in enumerate(mixes):
            frame = out.iloc[k * n : (k + 1) * n].reset_index(drop=True)
            reach = reached(frame)
            failed = int(frame[COST].isna().sum())
            # a mix the model cannot run in every replicate has no P(reach): it is never chosen
            row = {
                "cost": float(frame[COST].mean()) if not failed else np.nan,
                "n": n,
                "failed_runs": failed,
                **{f"p_{g}": float(reach[g].mean()) if not failed else np.nan for g in GOALS},
            }
            row.update({n_: v for n_, v in asdict(m).items()})
            results.append(row)
            if reps is self.reps:
                self.archive.setdefault(tuple(asdict(m).values()), row)
            else:
                self.validated[tuple(asdict(m).values())] = frame
        return results


def validate(ev: Evaluator, row: pd.Series, g: str, fresh, goal: float) -> dict:
    """A candidate of the archive re-run on the fresh replicates: its validated cost and P(reach of g)."""
    u = to_unit(with_levers(scenario("plan"), **{n: row[n] for n in NAMES}))
    v = ev(u[None, :], f"portfolio validation {g}", reps=fresh)[0]
    p = v[f"p_{g}"]
    lo, hi = (np.nan, np.nan) if np.isnan(p) else wilson(int(round(p * len(fresh))), len(fresh))
    return {
        **row.to_dict(),
        # the levers as run on the fresh replicates (the round trip through the unit scale can move a
        # value in its last digits): the key of its runs in ``ev.validated``
        **{n: v[n] for n in NAMES},
        "search_cost": row["cost"],
        "search_p": row[f"p_{g}"],
        "validated_cost": v["cost"],
        "validated_p": v[f"p_{g}"],
        "validated_lo": lo,
        "validated_hi": hi,
        "meets_goal": bool(v[f"p_{g}"] >= goal),  # False when a run failed (NaN)
        "failed_runs": v["failed_runs"],
    }


def choose(ev: Evaluator, cand: pd.DataFrame, g: str, fresh, goal: float) -> dict:
    """Per goal: the cheapest validated mix with P >= goal (``found``), else the best attainable (the
    highest validated P, the cheapest among ties), with every mix validated on the way (``tried``)."""
    ok = cand[cand[f"p_{g}"] >= goal].sort_values("cost")
    tried: list[dict] = []
    for _, row in ok.iterrows():
        if len(tried) == TRIES:
            break
        if tried and row["cost"] < SPREAD * tried[-1]["search_cost"]:
            continue  # the next try costs noticeably more: a near-copy of a failed mix would fail too
        v = validate(ev, row, g, fresh, goal)
        tried.append(v)
        if v["meets_goal"]:
            return {"goal": g, "found": True, "candidates_meeting_goal": len(ok), "tried": tried, "mix": v}
    top = cand.sort_values([f"p_{g}", "cost"], ascending=[False, True]).iloc[0]
    if not any(all(t[n] == top[n] for n in NAMES) for t in tried):
        tried.append(validate(ev, top, g, fresh, goal))
    best = max(
        tried, key=lambda t: (np.nan_to_num(t["validated_p"], nan=-1.0), -np.nan_to_num(t["validated_cost"]))
    )
    found = bool(best["meets_goal"])
    return {"goal": g, "found": found, "candidates_meeting_goal": len(ok), "tried": tried, "mix": best}


def binding(frame: pd.DataFrame, x: pd.DataFrame, g: str) -> dict:
    """What caps a mix for goal ``g``, read from its validation runs (``frame``: outputs per fresh replicate;
    ``x``: those replicates' uncertainties, ``design.uncertainty_frame``): the uncertainty group (a
    behaviour mechanism, or an instrument's effects) holding the uncertainty most rank-correlated with the
    2026 value of the target (for all five: of the target missed most often)."""
    reach = reached(frame)
    target = g
    if g == ALL_FIVE:
        target = str((1 - reach[HEADLINE]).mean().idxmax())
    y = frame[target].to_numpy(dtype=float)
    ok = np.isfinite(y)
    if ok.sum() < 3 or np.ptp(y[ok]) == 0 or x.empty:
        return {"goal": g, "target": target, "group": None}
    rho = x[ok].rank().corrwith(pd.Series(y[ok], index=x.index[ok]).rank()).dropna()
    if rho.empty:
        return {"goal": g, "target": target, "group": None}
    top = rho.abs().idxmax()
    groups = pd.Series({c: uncertainty_group(c) for c in rho.index})
    by_group = rho.abs().groupby(groups).max().sort_values(ascending=False)
    return {
        "goal": g,
        "target": target,
        "group": uncertainty_group(top),
        "uncertainty": top.split(":", 1)[1],
        "rho": float(rho[top]),
        "distinguishable": bool(abs(rho[top]) > noise_bound(ok.sum(), len(rho))),
        "runner_up": by_group.index[1] if len(by_group) > 1 else None,
        "runner_up_rho": float(by_group.iloc[1]) if len(by_group) > 1 else None,
        "n": int(ok.sum()),
    }


def noise_bound(n: int, m: int) -> float:
    """The largest |rank correlation| that ``m`` uncertainties unrelated to the outcome reach over ``n`` runs
    with 95 % probability (Bonferroni: each at 0.05 / m, normal approximation 1 / sqrt(n))."""
    from scipy.stats import norm

    return float(norm.ppf(1 - 0.025 / max(m, 1)) / np.sqrt(max(n - 1, 1)))


def run(ctx):
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.optimize import minimize
    from scipy.stats import qmc

    from sim.pipeline.study.runner import Findings

    d = ctx.design
    reps = ctx.replicates(d.replicates)
    ev = Evaluator(ctx, reps)

    class Mixes(Problem):
        def __init__(self):
            super().__init__(n_var=len(NAMES), n_obj=2, xl=0.0, xu=1.0)

        def _evaluate(self, X, out, *args, **kwargs):
            ev.batches += 1
            res = ev(X, f"portfolio generation {ev.batches}")
            # a mix that failed: the worst of both objectives (FAILED_COST, P = 0)
            out["F"] = np.array(
                [[FAILED_COST, 0.0] if r["failed_runs"] else [r["cost"], -guide(r)] for r in res]
            )

    named = {
        "plan": to_unit(scenario("plan")),
        "frozen_2023": to_unit(scenario("frozen_2023")),
        FLOOR: np.zeros(len(NAMES)),
        "every lever at the top of its range": np.ones(len(NAMES)),
    }
    lhs = qmc.LatinHypercube(d=len(NAMES), seed=ctx.cfg.seed).random(max(0, d.population - len(named)))
    x0 = np.vstack([*named.values(), lhs])[: d.population]
    algorithm = NSGA2(pop_size=d.population, sampling=x0, eliminate_duplicates=True)
    minimize(Mixes(), algorithm, ("n_gen", d.generations), seed=ctx.cfg.seed, verbose=False)

    cand = pd.DataFrame(list(ev.archive.values()))
    ran = cand["failed_runs"].eq(0).to_numpy()
    cand["on_front"] = ran & pareto(
        np.where(ran, cand["cost"], np.inf), np.where(ran, cand[f"p_{ALL_FIVE}"], -np.inf)
    )
    labels = {tuple(asdict(to_levers(u)).values()): k for k, u in named.items()}
    cand.insert(0, "label", [labels.get(tuple(r[n] for n in NAMES), "") for _, r in cand.iterrows()])
    front = cand[cand["on_front"]].sort_values("cost").reset_index(drop=True)

    # validation on fresh replicates: the cheapest mix meeting the goal, or the best attainable
    fresh = ctx.replicates(d.validation, first=d.replicates)
    x_fresh = uncertainty_frame(ctx.param_sets, fresh)
    mixes = [choose(ev, cand, g, fresh, ctx.cfg.goal) for g in GOALS]
    for m in mixes:
        frame = ev.validated[tuple(m["mix"][n] for n in NAMES)]
        m["binding"] = binding(frame, x_fresh, m["goal"])
    plan_row = cand[cand["label"] == "plan"].iloc[0].to_dict()
    floor_row = cand[cand["label"] == FLOOR]
    table = mix_table(mixes, plan_row)
    summary = {
        "goal": ctx.cfg.goal,
        "candidates": len(cand),
        "front": front[["cost", f"p_{ALL_FIVE}", *NAMES]].to_dict("records"),
        "plan": {"cost": plan_row["cost"], **{g: plan_row[f"p_{g}"] for g in GOALS}},
        "floor_cost": float(floor_row["cost"].iloc[0]) if len(floor_row) else None,
        "mixes": {m["goal"]: mix_summary(m) for m in mixes},
        "failed_mixes": int((~ran).sum()),
        "failed_runs": len(ctx.failures),
        "failures": sorted(set(ctx.failures.values()))[:5],
    }
    cols = ["label", "cost", *[f"p_{g}" for g in GOALS], *NAMES]
    figures = [figure(cand, front, mixes, ctx.outdir / "portfolio.png", ctx.cfg.goal, d.replicates)]
    return Findings(
        summary=summary,
        tables={
            "portfolio": front[cols],
            "candidates": cand[[*cols, "failed_runs", "on_front"]],
            "mixes": table,
        },
        figures=figures,
        markdown=markdown(summary, table, d, ctx.cfg),
        design=f"NSGA-II, population {d.population} x {d.generations} generations ({len(cand)} distinct mixes), "
        f"each on the same {d.replicates} replicates; the chosen mixes re-run on {d.validation} fresh replicates; "
        f"{ctx.runs:,} distinct runs at scale {ctx.scale}. Levers: {lever_scale_text()}.",
        precision=f"search: {d.replicates} common replicates per mix (P(reach) in steps of "
        f"{1 / d.replicates:.3f}; paired, so mixes rank more finely than that); validation: {d.validation} fresh "
        f"replicates per reported mix (95 % Wilson half-width at most {wilson_half(d.validation):.3f}).",
    )


def wilson_half(n: int) -> float:
    """The largest 95 % Wilson half-width of a proportion over ``n`` trials (at p = 0.5)."""
    lo, hi = wilson(n // 2, n)
    return (hi - lo) / 2


def mix_summary(m: dict) -> dict:
    """What study.json keeps of a goal's answer: the mix (found, or the best attainable) and what caps it."""
    mix = m["mix"]
    return {
        "found": m["found"],
        "none": not m["found"],
        "cost_100m": mix["validated_cost"],
        "p_reach": mix["validated_p"],
        "p_reach_ci95": [mix["validated_lo"], mix["validated_hi"]],
        "levers": {n: mix[n] for n in NAMES},
        "candidates_meeting_goal_on_search_replicates": m["candidates_meeting_goal"],
        "validated": [{"cost": t["validated_cost"], "p": t["validated_p"]} for t in m["tried"]],
        "binding": m["binding"],
    }


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
    """One row per goal: the mix reported (found, or the best attainable), its validated P(reach), what caps
    it; and the plan on the search replicates."""
    rows = []
    for m in mixes:
        mix, b = m["mix"], m["binding"]
        rows.append(
            {
                "goal": m["goal"],
                "found": m["found"],
                "cost_100m": mix["validated_cost"],
                "p_reach": mix["validated_p"],
                "p_lo": mix["validated_lo"],
                "p_hi": mix["validated_hi"],
                "search_p": mix["search_p"],
                "binding_target": b["target"],
                "binding_group": b["group"],
                "binding_uncertainty": b.get("uncertainty"),
                "binding_rho": b.get("rho"),
                "binding_runner_up": b.get("runner_up"),
                **{n: mix[n] for n in NAMES},
            }
        )
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


def binding_text(b: dict) -> str:
    """What caps a mix, in words: the group, its parameter and the rank correlation, for which target."""
    if not b or b.get("group") is None:
        return "– (no variation to read it from)"
    on = "" if b["target"] == b.get("goal") else f" (on {b['target']}, the target it misses most)"
    noise = "" if b["distinguishable"] else "; not distinguishable from noise"
    return f"{b['group']}: `{b['uncertainty']}` (rank corr. {b['rho']:+.2f} with the 2026 value{noise}){on}"


def markdown(summary: dict, table: pd.DataFrame, design, cfg) -> str:
    plan = summary["plan"]
    lines = [
        f"Goal: P(reach) >= {cfg.goal:g}. Searched {summary['candidates']} lever mixes (NSGA-II) over each "
        f"lever's full validated range, each on {design.replicates} common replicates; reported mixes validated "
        f"on {design.validation} fresh replicates (95 % Wilson interval). The plan on the search replicates: "
        f"cost {plan['cost']:,.1f} 亿元, " + ", ".join(f"P({g}) {plan[g]:.2f}" for g in GOALS) + ".",
        "",
        "| goal | answer | cost 2024-26 (亿元) | validated P(reach) (95 % CI) | what caps it | levers changed from the plan |",
        "|---|---|---|---|---|---|",
    ]
    for g, m in summary["mixes"].items():
        lo, hi = m["p_reach_ci95"]
        if m["found"]:
            answer = "cheapest mix with P >= goal"
        else:
            tried = m["validated"]
            answer = (
                f"none reaches P >= {cfg.goal:g}: best attainable"
                if m["candidates_meeting_goal_on_search_replicates"] == 0
                else f"none validated at P >= {cfg.goal:g} ({len(tried)} tried): best attainable"
            )
        lines.append(
            f"| {g} | {answer} | {m['cost_100m']:,.1f} | {m['p_reach']:.2f} ({lo:.2f}–{hi:.2f}) | "
            f"{binding_text(m['binding'])} | {_levers_text(m['levers'])} |"
        )
    if summary.get("failed_mixes"):
        lines += [
            "",
            f"**The model failed** in {summary['failed_runs']:,} runs of {summary['failed_mixes']} mixes near the tops "
            "of the levers' ranges ("
            + "; ".join(summary["failures"])
            + "): those mixes are never chosen; the "
            "model's validated ranges do not hold jointly there.",
        ]
    if summary.get("floor_cost"):
        lines += [
            "",
            f"*The floor is not free*: {FLOOR} costs {summary['floor_cost']:,.1f} 亿元 over 2024-26 on the search "
            "replicates. A build-up lever (" + ", ".join(n for n, v in LEVERS.items() if v.build_up) + ") set to one "
            "value reaches it in 2026 linearly from its 2023 stock, so at 0 it winds that stock down and pays for "
            "what is still open in 2024-25; and the R&D subsidy on 2023's increment is paid in 2024 (`rd_subsidy`).",
        ]
    lines += [
        "",
        "*What caps it*: over the reported mix's validation runs, the uncertainty most rank-correlated with the "
        "2026 value, named by its group (a behaviour mechanism of `sim.model.mechanisms`, or an instrument's "
        "effects): the mechanism that decides whether this mix reaches the target. `mixes.csv` has the "
        "runner-up group; the sensitivity and discovery studies rank every group.",
        "",
        f"Pareto front of cost against P(all five): {len(summary['front'])} mixes in `portfolio.csv`; every "
        "candidate in `candidates.csv`; the reported mixes in `mixes.csv`.",
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
    if m["mix"] is not None:
        mix = m["mix"]
        ax.errorbar(
            [mix["validated_cost"]],
            [mix["validated_p"]],
            yerr=[[mix["validated_p"] - mix["validated_lo"]], [mix["validated_hi"] - mix["validated_p"]]],
            fmt="D",
            color="tab:green",
            capsize=3,
            label=("cheapest mix with P >= goal" if m["found"] else "best attainable mix")
            + " (validated, 95 % CI)",
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
