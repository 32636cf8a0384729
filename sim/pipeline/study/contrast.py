"""Study ``contrast``: the plan against ``frozen_2023``, and against the plan with each lever held at its
2023 level ("plan minus one"), as paired ensembles.

Design (``sizes.<size>``: ``replicates``, ``scale``): 2 + (one arm per lever) arms, each on the same
``replicates`` replicates (seed, posterior parameter set and lever effects from
``SeedSequence([seed, i])``), so every difference is paired. Runs: arms x replicates.

A lever's row says what the plan's change of that lever buys: plan minus (plan with the lever at
its 2023 level), per replicate, so its cost is the lever's share of the plan's 2024-26 budget.
Interactions make the rows not add up to the plan-vs-frozen row; that row is the whole plan.

Tables: ``contrast.csv`` (one row per comparison and target: ``delta_p`` with its 95 % paired
bootstrap interval, ``delta_median`` (median paired difference of the 2026 value) with its interval,
``cost_100m`` (mean paired difference of the 2024-26 public cost of all instruments, 亿元: the lever's
own spending and what it changes in the others', e.g. more R&D awards) and ``cost_per_unit``
(亿元 per ``unit_of_effect``; empty when the median gain or the cost is not positive));
``scenarios.csv`` (P(reach) of each target and of all five per arm,
Wilson intervals, cost). Figure: ``contrast.png``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.model.outcomes import HEADLINE, TARGETS
from sim.model.policy import LEVERS, scenario
from sim.pipeline.paired import MIN_PAIRS, format_difference, paired_difference, paired_mean_difference
from sim.pipeline.report import wilson
from sim.pipeline.study.design import (
    ALL_FIVE,
    COST,
    EFFECT_UNITS,
    reached,
    replicate_spec,
    with_levers,
)
from sim.runtime import atomic

PLAN, FROZEN = "plan", "frozen_2023"
GOALS = [*HEADLINE, ALL_FIVE]


def arms() -> dict[str, object]:
    """Arm name -> PolicyLevers: the plan, frozen_2023, and the plan minus each lever."""
    plan = scenario(PLAN)
    out = {PLAN: plan, FROZEN: scenario(FROZEN)}
    for name, lever in LEVERS.items():
        out[f"minus {name}"] = with_levers(plan, **{name: lever.level_2023})
    return out


def run(ctx):
    from sim.pipeline.study.runner import Findings

    reps = ctx.replicates(ctx.design.replicates)
    settings = arms()
    specs = [replicate_spec(levers, r) for levers in settings.values() for r in reps]
    out = ctx.evaluate(specs, "contrast")
    n = len(reps)
    by_arm = {name: out.iloc[k * n : (k + 1) * n].reset_index(drop=True) for k, name in enumerate(settings)}
    reach = {name: reached(frame) for name, frame in by_arm.items()}

    # scenarios.csv: P(reach) per arm
    srows = []
    for name, frame in by_arm.items():
        row = {"arm": name, "n": n}
        for g in GOALS:
            k = int(np.nansum(reach[name][g]))
            lo, hi = wilson(k, n)
            row.update({f"p_{g}": k / n, f"p_{g}_lo": lo, f"p_{g}_hi": hi})
        cost = frame[COST].to_numpy()
        row.update(
            cost_mean=float(cost.mean()),
            cost_p05=float(np.quantile(cost, 0.05)),
            cost_p95=float(np.quantile(cost, 0.95)),
        )
        srows.append(row)
    scenarios = pd.DataFrame(srows)

    # contrast.csv: plan minus each variant, paired
    plan = by_arm[PLAN]
    rows = []
    for name, frame in by_arm.items():
        if name == PLAN:
            continue
        kind, lever = ("scenario", "") if name == FROZEN else ("lever", name.removeprefix("minus "))
        comparison = "plan vs frozen_2023" if name == FROZEN else lever
        cost = float((plan[COST] - frame[COST]).mean())
        for g in GOALS:
            base = {"comparison": comparison, "kind": kind, "lever": lever, "target": g, "cost_100m": cost}
            if g == ALL_FIVE:
                d, lo, hi = paired_mean_difference(reach[PLAN][g], reach[name][g])
                rows.append(
                    {
                        **base,
                        "n": n,
                        "p_plan": float(reach[PLAN][g].mean()),
                        "p_variant": float(reach[name][g].mean()),
                        "delta_p": d,
                        "delta_p_lo": lo,
                        "delta_p_hi": hi,
                        "delta_median": np.nan,
                        "delta_median_lo": np.nan,
                        "delta_median_hi": np.nan,
                        "cost_per_unit": np.nan,
                        "unit_of_effect": "",
                    }
                )
                continue
            pd_ = paired_difference(plan[g].to_numpy(), frame[g].to_numpy(), TARGETS[g].target)
            size, unit = EFFECT_UNITS[g]
            gain = pd_["delta_median"] / size
            rows.append(
                {
                    **base,
                    "n": pd_["n"],
                    "p_plan": pd_["p_a"],
                    "p_variant": pd_["p_b"],
                    "delta_p": pd_["delta_p"],
                    "delta_p_lo": pd_["delta_p_lo"],
                    "delta_p_hi": pd_["delta_p_hi"],
                    "delta_median": pd_["delta_median"],
                    "delta_median_lo": pd_["delta_median_lo"],
                    "delta_median_hi": pd_["delta_median_hi"],
                    # defined for a lever that costs money and gains: else there is no price per unit
                    "cost_per_unit": cost / gain if gain > 0 and cost > 0 else np.nan,
                    "unit_of_effect": unit,
                }
            )
    table = pd.DataFrame(rows)
    cols = [
        "comparison",
        "kind",
        "lever",
        "target",
        "n",
        "p_plan",
        "p_variant",
        "delta_p",
        "delta_p_lo",
        "delta_p_hi",
        "delta_median",
        "delta_median_lo",
        "delta_median_hi",
        "cost_100m",
        "cost_per_unit",
        "unit_of_effect",
    ]
    table = table[cols]
    summary = summarise(table, scenarios)
    figures = [figure(table, ctx.outdir / "contrast.png", n)]
    return Findings(
        summary=summary,
        tables={"contrast": table, "scenarios": scenarios},
        figures=figures,
        markdown=markdown(table, scenarios, summary),
        design=f"{len(settings)} arms (plan, frozen_2023, plan minus each of {len(LEVERS)} levers) x "
        f"{n} paired replicates = {len(specs):,} runs at scale {ctx.scale}; effects sampled per replicate, "
        "posterior sets drawn by weight.",
    )


def most_important(table: pd.DataFrame) -> dict[str, dict]:
    """Per target, the lever whose plan change moves the 2026 median most (paired median difference); for all
    five, the one whose plan change adds most to P(all five)."""
    levers = table[table["kind"] == "lever"]
    out = {}
    for g in HEADLINE:
        t = levers[levers["target"] == g]
        if t.empty:
            continue
        best = t.loc[t["delta_median"].idxmax()]
        out[g] = {
            "lever": best["lever"],
            "n": int(best["n"]),
            "delta_median": best["delta_median"],
            "delta_median_ci": [best["delta_median_lo"], best["delta_median_hi"]],
            "delta_p": best["delta_p"],
            "delta_p_ci": [best["delta_p_lo"], best["delta_p_hi"]],
            "cost_100m": best["cost_100m"],
            "cost_per_unit": best["cost_per_unit"],
            "unit_of_effect": best["unit_of_effect"],
        }
    t = levers[levers["target"] == ALL_FIVE]
    if not t.empty:
        best = t.loc[t["delta_p"].idxmax()]
        out[ALL_FIVE] = {
            "lever": best["lever"],
            "n": int(best["n"]),
            "delta_p": best["delta_p"],
            "delta_p_ci": [best["delta_p_lo"], best["delta_p_hi"]],
            "cost_100m": best["cost_100m"],
        }
    return out


def summarise(table: pd.DataFrame, scenarios: pd.DataFrame) -> dict:
    s = scenarios.set_index("arm")
    p = {
        arm: {
            g: {"p": s.loc[arm, f"p_{g}"], "ci95": [s.loc[arm, f"p_{g}_lo"], s.loc[arm, f"p_{g}_hi"]]}
            for g in GOALS
        }
        for arm in (PLAN, FROZEN)
    }
    frozen = table[table["kind"] == "scenario"].set_index("target")
    return {
        "p_reach": p,
        "cost_100m": {arm: s.loc[arm, "cost_mean"] for arm in (PLAN, FROZEN)},
        "plan_vs_frozen": {
            g: {
                "delta_p": frozen.loc[g, "delta_p"],
                "ci95": [frozen.loc[g, "delta_p_lo"], frozen.loc[g, "delta_p_hi"]],
                "delta_median": frozen.loc[g, "delta_median"],
            }
            for g in GOALS
        },
        "most_important_lever": most_important(table),
        "p_all_five_by_arm": {arm: s.loc[arm, f"p_{ALL_FIVE}"] for arm in s.index},
    }


def _dp(row, lo: str = "delta_p_lo", hi: str = "delta_p_hi", value: str = "delta_p") -> str:
    """A paired Delta P(reach) with its interval (``format_difference``)."""
    return format_difference(row[value], row[lo], row[hi], int(row["n"]), proportion=True)


def _dmedian(g: str, value: float, lo: float, hi: float, n: int) -> str:
    """A paired median difference of target ``g``'s 2026 value with its interval, in report units."""
    return format_difference(value, lo, hi, n, unit=" pp" if TARGETS[g].unit == "percent" else "")


def markdown(table: pd.DataFrame, scenarios: pd.DataFrame, summary: dict) -> str:
    s = scenarios.set_index("arm")
    lines = [
        "P(reach) = P(2026 value > target); 95 % Wilson intervals. Differences are paired (same replicates): "
        "plan minus variant, with 95 % percentile-bootstrap intervals over replicates; below "
        f"{MIN_PAIRS} pairs a difference is not resolved (`sim.pipeline.paired.MIN_PAIRS`).",
        "",
        "| scenario | " + " | ".join(GOALS) + " | cost 2024-26 (亿元) |",
        "|---|" + "---|" * (len(GOALS) + 1),
    ]
    for arm in (PLAN, FROZEN):
        cells = [
            f"{s.loc[arm, f'p_{g}']:.2f} ({s.loc[arm, f'p_{g}_lo']:.2f}–{s.loc[arm, f'p_{g}_hi']:.2f})"
            for g in GOALS
        ]
        lines.append(f"| {arm} | " + " | ".join(cells) + f" | {s.loc[arm, 'cost_mean']:,.1f} |")
    fz = table[table["kind"] == "scenario"].set_index("target")
    lines += [
        "",
        "Plan minus frozen_2023 (paired): " + "; ".join(f"{g} ΔP {_dp(fz.loc[g])}" for g in GOALS) + ".",
        "",
        "**Which lever of the plan moves each target most** (largest paired median gain in 2026, plan minus "
        "the plan with that lever at its 2023 level):",
        "",
        "| target | lever | median gain (95 % CI) | ΔP(reach) (95 % CI) | lever cost 2024-26 (亿元) | 亿元 per unit |",
        "|---|---|---|---|---|---|",
    ]
    for g, m in summary["most_important_lever"].items():
        if g == ALL_FIVE:
            continue
        lo, hi = m["delta_median_ci"]
        plo, phi = m["delta_p_ci"]
        cpu = (
            "n/a" if np.isnan(m["cost_per_unit"]) else f"{m['cost_per_unit']:,.2f} per {m['unit_of_effect']}"
        )
        dp = format_difference(m["delta_p"], plo, phi, m["n"], proportion=True)
        lines.append(
            f"| {g} | `{m['lever']}` | {_dmedian(g, m['delta_median'], lo, hi, m['n'])} "
            f"| {dp} | {m['cost_100m']:,.2f} | {cpu} |"
        )
    lev = table[(table["kind"] == "lever") & (table["target"] == ALL_FIVE)].sort_values("delta_p")
    lines += [
        "",
        "**P(all five) without each lever's plan change** (plan minus one, paired ΔP = plan − variant):",
        "",
        "| lever | P(all five) without it | ΔP (95 % CI) | its cost 2024-26 (亿元) |",
        "|---|---|---|---|",
    ]
    for _, r in lev.iloc[::-1].iterrows():
        lines.append(f"| `{r['lever']}` | {r['p_variant']:.2f} | {_dp(r)} | {r['cost_100m']:,.2f} |")
    lines += [
        "",
        "Every row, target and cost-effectiveness: `contrast.csv`; P(reach) per arm: `scenarios.csv`.",
    ]
    return "\n".join(lines)


def figure(table: pd.DataFrame, path, n: int):
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    levers = table[table["kind"] == "lever"]
    order = levers[levers["target"] == ALL_FIVE].sort_values("cost_100m")["comparison"].tolist()
    names = ["plan vs frozen_2023", *order]
    cost = table.drop_duplicates("comparison").set_index("comparison")["cost_100m"]
    fig = Figure(figsize=(2.5 * len(GOALS) + 2.6, 0.32 * len(names) + 1.6))
    axes = fig.subplots(1, len(GOALS), sharey=True)
    y = np.arange(len(names))[::-1]
    reach_max = np.nanmax(np.abs(table[["delta_p_lo", "delta_p_hi"]].to_numpy()))
    lim = 1.1 * max(0.1, float(np.nan_to_num(reach_max)))
    for ax, g in zip(axes, GOALS):
        t = table[table["target"] == g].set_index("comparison").loc[names]
        colours = ["tab:red" if c == names[0] else "tab:blue" for c in names]
        err = np.vstack([t["delta_p"] - t["delta_p_lo"], t["delta_p_hi"] - t["delta_p"]]).clip(0, None)
        ax.barh(y, t["delta_p"], color=colours, alpha=0.55)
        ax.errorbar(t["delta_p"], y, xerr=err, fmt="none", ecolor="black", capsize=2, lw=0.8)
        ax.axvline(0, color="grey", lw=0.8)
        title = "all five targets" if g == ALL_FIVE else f"{g} > {TARGETS[g].target:,g}"
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("Delta P(reach)", fontsize=8)
        ax.set_xlim(-lim, lim)
        ax.xaxis.set_major_locator(MaxNLocator(3))
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, [f"{c}  ({cost[c]:,.1f})" for c in names], fontsize=7)
    from matplotlib.patches import Patch

    axes[-1].legend(
        handles=[
            Patch(color="tab:red", alpha=0.55, label="plan minus frozen_2023"),
            Patch(color="tab:blue", alpha=0.55, label="plan minus (plan with the lever at 2023)"),
            Line2D([], [], color="black", lw=0.8, label="95 % paired bootstrap interval"),
        ],
        fontsize=7,
        loc="lower right",
        frameon=True,
    )
    fig.suptitle(
        f"What each lever of the plan adds to P(reach 2026), {n} paired replicates "
        "(label: cost 2024-26 in 100 million yuan)",
        fontsize=10,
    )
    fig.tight_layout()
    return atomic.save_figure(path, fig)
