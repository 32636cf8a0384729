"""Study ``lever_curves``: each lever over its full validated range, the others at the plan.

Design (``sizes.<size>``: ``positions``, ``replicates``, ``scale``): for every lever, its value at each
position of ``positions`` on its validated range ``[Lever.lo, Lever.hi]`` (``design.lever_at``: 0 = lo,
0.5 = the plan, shared by all levers, 1 = hi; geometric above the plan where the range is wide), on the
same ``replicates`` replicates (common random numbers: the curves are paired along their length).
Runs: (levers x (positions - 1) + 1) x replicates. Few points, many replicates: each point's P(reach)
is resolved (200 replicates: Wilson half-width <= 0.07, paired changes tighter), the shape between
points is not.

Figures: one ``curve_<lever>.png`` per lever: P(reach) with 95 % Wilson bands (top) and the 2026 median
with the 90 % band of replicates (bottom), one panel per target, against the total public cost
2024-26 in 亿元 of the mix. Tables: ``curves.csv`` (every point), ``marginal.csv`` (per lever and
target: ΔP with its 95 % paired bootstrap interval, Δcost and Δmedian from the bottom of the range to
the plan and from the plan to the top). ``factor`` in the tables: the value as a multiple of the plan's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.model.outcomes import HEADLINE, TARGETS
from sim.model.policy import LEVERS, scenario
from sim.pipeline.paired import format_difference, paired_mean_difference
from sim.pipeline.report import wilson
from sim.pipeline.study.design import (
    ALL_FIVE,
    COST,
    COST_LABEL,
    fmt_value,
    lever_at,
    lever_scale_text,
    lever_unit,
    reached,
    replicate_spec,
    with_levers,
)
from sim.runtime import atomic

GOALS = [*HEADLINE, ALL_FIVE]


def run(ctx):
    from sim.pipeline.study.runner import Findings

    reps = ctx.replicates(ctx.design.replicates)
    plan = scenario("plan")
    positions = ctx.design.positions
    settings = []  # (lever, position, value, levers)
    for name in LEVERS:
        for pos in positions:
            value = lever_at(name, pos)
            settings.append((name, pos, value, with_levers(plan, **{name: value})))
    specs = [replicate_spec(levers, r) for *_, levers in settings for r in reps]
    out = ctx.evaluate(specs, "lever_curves")
    n = len(reps)
    rows = []
    reaches = {}
    for k, (name, pos, value, _) in enumerate(settings):
        frame = out.iloc[k * n : (k + 1) * n].reset_index(drop=True)
        reach = reached(frame)
        reaches[(name, pos)] = reach
        base = {
            "lever": name,
            "position": pos,
            "factor": value / LEVERS[name].plan if LEVERS[name].plan else float("nan"),
            "value": value,
            "unit": LEVERS[name].unit,
            "cost_mean": float(frame[COST].mean()),
            "lever_cost_mean": float(frame[f"cost_{name}"].mean()),
            "n": n,
        }
        for g in GOALS:
            k_ = int(np.nansum(reach[g]))
            lo, hi = wilson(k_, n)
            row = {**base, "target": g, "p_reach": k_ / n, "p_lo": lo, "p_hi": hi}
            if g != ALL_FIVE:
                q05, q50, q95 = np.quantile(frame[g].to_numpy(), [0.05, 0.5, 0.95])
                row.update(median=q50, p05=q05, p95=q95)
            rows.append(row)
    curves = pd.DataFrame(rows)
    marginal = marginal_table(curves, reaches)
    figures = [figure(curves, name, ctx.outdir / f"curve_{name}.png") for name in LEVERS]
    summary = summarise(curves, marginal)
    summary["precision"] = precision(curves, marginal)
    return Findings(
        summary=summary,
        tables={"curves": curves, "marginal": marginal},
        figures=figures,
        markdown=markdown(marginal, summary, positions),
        design=f"{len(LEVERS)} levers x {len(positions)} positions ({', '.join(f'{p:g}' for p in positions)}) "
        f"of {lever_scale_text()}; the plan point shared; x {n} paired replicates = "
        f"{(len(LEVERS) * (len(positions) - 1) + 1) * n:,} distinct runs at scale {ctx.scale}.",
        precision=(
            f"{n} paired replicates per point: largest 95 % Wilson half-width of a point's P(reach) "
            f"{summary['precision']['max_wilson_half_width']:.3f}; largest 95 % half-width of a paired ΔP over "
            f"half a range (bottom to plan, plan to top) {summary['precision']['max_dp_half_width']:.3f}."
        ),
    )


def precision(curves: pd.DataFrame, marginal: pd.DataFrame) -> dict:
    """The largest Wilson half-width of a point's P(reach), and of a paired ΔP over half a range."""
    halves = pd.concat(
        [(marginal[f"dp_{t}_hi"] - marginal[f"dp_{t}_lo"]) / 2 for t in ("below", "above")], ignore_index=True
    )
    return {
        "max_wilson_half_width": float(((curves["p_hi"] - curves["p_lo"]) / 2).max()),
        "max_dp_half_width": float(halves.max()),
    }


def marginal_table(curves: pd.DataFrame, reaches: dict | None = None) -> pd.DataFrame:
    """Per lever and target: ΔP (with its paired 95 % interval when ``reaches`` holds each point's reach
    per replicate, keyed by (lever, position)), Δmedian and Δcost from the lowest value to the plan, and
    from the plan to the top."""
    rows = []
    for (lever, g), t in curves.groupby(["lever", "target"], sort=False):
        t = t.sort_values("position").set_index("position")
        lo, hi = t.index.min(), t.index.max()
        row = {
            "lever": lever,
            "target": g,
            "from_factor": t.loc[lo, "factor"],
            "to_factor": t.loc[hi, "factor"],
            "n": int(t["n"].min()),
        }
        for tag, a, b in (("below", lo, 0.5), ("above", 0.5, hi)):
            row[f"dp_{tag}"] = t.loc[b, "p_reach"] - t.loc[a, "p_reach"]
            if reaches is not None:
                _, row[f"dp_{tag}_lo"], row[f"dp_{tag}_hi"] = paired_mean_difference(
                    reaches[(lever, b)][g], reaches[(lever, a)][g]
                )
            row[f"dcost_{tag}"] = t.loc[b, "cost_mean"] - t.loc[a, "cost_mean"]
            row[f"dmedian_{tag}"] = (t.loc[b, "median"] - t.loc[a, "median"]) if g != ALL_FIVE else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def summarise(curves: pd.DataFrame, marginal: pd.DataFrame) -> dict:
    best = {}
    for g in GOALS:
        m = marginal[marginal["target"] == g]
        top = m.loc[(m["dp_below"] + m["dp_above"]).idxmax()]
        best[g] = {
            "lever": top["lever"],
            "dp_full_range": float(top["dp_below"] + top["dp_above"]),
            "dcost_full_range": float(top["dcost_below"] + top["dcost_above"]),
            "dp_above_plan": float(top["dp_above"]),
        }
    plan = curves[curves["position"] == 0.5].drop_duplicates("target").set_index("target")
    return {
        "plan_p_reach": {g: float(plan.loc[g, "p_reach"]) for g in GOALS},
        "plan_cost_100m": float(plan["cost_mean"].iloc[0]),
        "largest_range_effect": best,
    }


def markdown(marginal: pd.DataFrame, summary: dict, positions: list[float]) -> str:
    lines = [
        f"Each lever runs over positions {', '.join(f'{p:g}' for p in positions)} of {lever_scale_text()} "
        f"(others at the plan); the plan itself costs {summary['plan_cost_100m']:,.1f} 亿元 in 2024-26 (mean over replicates) and reaches "
        + ", ".join(f"{g} with P = {p:.2f}" for g, p in summary["plan_p_reach"].items())
        + ".",
        "",
        "**Largest change of P(reach) over a lever's whole range** (lowest to highest value, paired):",
        "",
        "| target | lever | ΔP over the range | Δ cost 2024-26 (亿元) | ΔP above the plan |",
        "|---|---|---|---|---|",
    ]
    for g, b in summary["largest_range_effect"].items():
        lines.append(
            f"| {g} | `{b['lever']}` | {b['dp_full_range']:+.2f} | {b['dcost_full_range']:+,.1f} | "
            f"{b['dp_above_plan']:+.2f} |"
        )
    lines += [
        "",
        "**Beyond the plan, per lever** (plan to the top of the validated range: ΔP(reach) per target with its "
        "95 % paired interval, Δcost):",
        "",
        "| lever | Δcost (亿元) | "
        + " | ".join(f"ΔP {g}" for g in GOALS)
        + " | "
        + " | ".join(f"Δmedian {g}" for g in HEADLINE)
        + " |",
        "|---|---|" + "---|" * (len(GOALS) + len(HEADLINE)),
    ]
    for lever, m in marginal.groupby("lever", sort=False):
        m = m.set_index("target")
        lines.append(
            f"| `{lever}` | {m['dcost_above'].iloc[0]:+,.1f} | "
            + " | ".join(_dp_cell(m.loc[g]) for g in GOALS)
            + " | "
            + " | ".join(fmt_value(g, m.loc[g, "dmedian_above"], True) for g in HEADLINE)
            + " |"
        )
    lines += ["", "Every point: `curves.csv`; both halves of each range: `marginal.csv`."]
    return "\n".join(lines)


def _dp_cell(row) -> str:
    """ΔP above the plan with its paired interval (when the table has it), as every output prints a paired
    difference (``format_difference``): the digits its interval needs, and, when no replicate's reach
    changes, the bound on what the pairs could have missed rather than "+0.00 (+0.00–+0.00)"."""
    if "dp_above_lo" in row and not pd.isna(row["dp_above_lo"]):
        return format_difference(
            row["dp_above"], row["dp_above_lo"], row["dp_above_hi"], int(row["n"]), proportion=True
        )
    return f"{row['dp_above']:+.2f}"


def figure(curves: pd.DataFrame, lever: str, path):
    from matplotlib.figure import Figure

    c = curves[curves["lever"] == lever].sort_values("position")
    fig = Figure(figsize=(3.1 * len(HEADLINE), 5.6))
    axes = fig.subplots(2, len(HEADLINE), sharex=True)
    allfive = c[c["target"] == ALL_FIVE]
    for j, g in enumerate(HEADLINE):
        t = c[c["target"] == g]
        x = t["cost_mean"].to_numpy()
        ax = axes[0, j]
        ax.fill_between(
            x, t["p_lo"], t["p_hi"], color="tab:blue", alpha=0.2, lw=0, label="95 % Wilson interval"
        )
        ax.plot(x, t["p_reach"], "o-", color="tab:blue", ms=3, label=f"P({g} > target)")
        ax.plot(allfive["cost_mean"], allfive["p_reach"], "--", color="grey", lw=1, label="P(all five)")
        plan = t[t["position"] == 0.5]
        ax.plot(plan["cost_mean"], plan["p_reach"], "*", color="tab:red", ms=10, label="the plan")
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(f"{g} > {TARGETS[g].target:,g} ({TARGETS[g].unit_label})", fontsize=9)
        ax.grid(alpha=0.3)
        ax = axes[1, j]
        ax.fill_between(x, t["p05"], t["p95"], color="tab:green", alpha=0.2, lw=0, label="90 % of replicates")
        ax.plot(x, t["median"], "o-", color="tab:green", ms=3, label="median 2026")
        ax.axhline(TARGETS[g].target, color="tab:red", ls="--", lw=1, label="target")
        ax.plot(plan["cost_mean"], plan["median"], "*", color="tab:red", ms=10)
        for _, r in t.iterrows():
            ax.annotate(
                f"{r['value']:g}",
                (r["cost_mean"], r["median"]),
                fontsize=6,
                color="dimgrey",
                xytext=(2, 3),
                textcoords="offset points",
            )
        ax.set_xlabel(COST_LABEL, fontsize=8)
        ax.set_ylabel(f"{g} in 2026 ({TARGETS[g].unit_label})", fontsize=8)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("P(reach 2026 target)")
    axes[0, 0].legend(fontsize=6.5, loc="best")
    axes[1, 0].legend(fontsize=6.5, loc="best")
    unit = lever_unit(lever)
    fig.suptitle(
        f"{lever} from {c['value'].min():g} to {c['value'].max():g} ({unit}; numbers on the lower panels), "
        f"other levers at the plan; {int(c['n'].iloc[0])} paired replicates",
        fontsize=10,
    )
    fig.tight_layout()
    return atomic.save_figure(path, fig, dpi=90)
