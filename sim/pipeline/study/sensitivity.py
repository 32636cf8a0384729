"""Study ``sensitivity``: global sensitivity analysis (Sobol indices, SALib) of the 2026 targets.

Factors (all independent, so Sobol's variance decomposition applies):

- each lever, uniform on its plausible range: from its 2023 level to ``range_factor`` x the plan's
  value (an assumption of the study: no lever is cut below today's level, none raised past twice
  the plan by default);
- each instrument's lever effects, as one group per instrument (its effects uniform on their ranges,
  as every replicate draws them);
- the behaviour posterior, as one factor: a parameter set of the calibrated posterior, drawn by
  weight. Its parameters are correlated (a posterior), so they move together as one factor; which of
  them matter is what the ``discovery`` study's boxes show;
- the model's own randomness (the run's seed), as one factor.

Design (``sizes.<size>``: ``base_samples`` N, ``scale``): SALib's Saltelli/Sobol sequence for first
and total order indices (no second order) over G groups: N x (G + 2) runs; with 15 levers, 15 effect
groups, the posterior and the seed, G = 32 and N = 64 give 2,176 runs, within the budget of a
real-model study, so no emulator is fitted and no Morris screen is needed (32 groups is few enough for
Sobol itself). Indices by Jansen's (total) and Saltelli 2010's (first-order) estimators, 95 %
intervals from SALib's bootstrap.

Outputs: each headline indicator's 2026 value and its reach (0/1: value > target), and reach of all
five. A reach output that is the same in every run has no variance: its indices are undefined (NaN).
Table ``sensitivity.csv`` (``factor, kind, output, S1, S1_conf, ST, ST_conf``); figures
``sensitivity_values.png``, ``sensitivity_reach.png`` (factors ranked by total order).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from sim.model.outcomes import HEADLINE, TARGETS
from sim.model.policy import INSTRUMENTS, LEVERS, effect_fields, effects_from_row
from sim.pipeline.study.design import ALL_FIVE, RunSpec, lever_range, lever_value, reached
from sim.runtime import atomic
from sim.runtime.parallel import derive_seed

POSTERIOR = "behaviour posterior"
NOISE = "model randomness (seed)"
SEED_SPACE = 2**31  # the seed factor's u picks one of this many seeds
BOOT = 1000  # SALib's bootstrap resamples for the confidence intervals
TOP = 12  # factors shown per panel


def factors(range_factor: float) -> list[dict]:
    """Every variable of the design: name, group, kind and how u in [0, 1) maps to its value."""
    out = []
    for name in LEVERS:
        lo, hi = lever_range(name, range_factor, "level_2023")
        out.append({"name": f"lever:{name}", "group": name, "kind": "lever", "lo": lo, "hi": hi})
    effect_groups = {cls.name for cls in INSTRUMENTS}
    for key, f in effect_fields():
        inst = key.split(".")[0]
        assert inst in effect_groups
        lo, hi = f.metadata["range"]
        out.append(
            {"name": f"effect:{key}", "group": f"{inst} effects", "kind": "effects", "lo": lo, "hi": hi}
        )
    out.append({"name": "posterior", "group": POSTERIOR, "kind": "behaviour", "lo": 0.0, "hi": 1.0})
    out.append({"name": "seed", "group": NOISE, "kind": "noise", "lo": 0.0, "hi": 1.0})
    return out


def problem(facs: list[dict]) -> dict:
    return {
        "num_vars": len(facs),
        "names": [f["name"] for f in facs],
        "bounds": [[0.0, 1.0]] * len(facs),
        "groups": [f["group"] for f in facs],
    }


def specs_from(u: np.ndarray, facs: list[dict], ctx) -> list[RunSpec]:
    """Map each row of the unit sample to a model run."""
    from sim.model.policy import scenario
    from sim.pipeline.study.design import with_levers

    plan = scenario("plan")
    w = np.asarray(
        ctx.param_sets.weights if ctx.param_sets.weights is not None else np.ones(len(ctx.param_sets))
    )
    cdf = np.cumsum(w / w.sum())
    specs = []
    for row in u:
        levers, effects, param_set, seed = {}, {}, 0, 0
        for f, v in zip(facs, row):
            x = f["lo"] + float(v) * (f["hi"] - f["lo"])
            if f["kind"] == "lever":
                levers[f["name"].split(":", 1)[1]] = lever_value(f["name"].split(":", 1)[1], x)
            elif f["kind"] == "effects":
                effects[f["name"].split(":", 1)[1]] = x
            elif f["kind"] == "behaviour":
                param_set = int(min(np.searchsorted(cdf, float(v), side="right"), len(cdf) - 1))
            else:
                seed = derive_seed(ctx.cfg.seed, 7, int(float(v) * SEED_SPACE))
        specs.append(RunSpec(with_levers(plan, **levers), param_set, seed, effects_from_row(effects)))
    return specs


def run(ctx):
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    from sim.pipeline.study.runner import Findings

    facs = factors(ctx.cfg.range_factor)
    prob = problem(facs)
    n_base = ctx.design.base_samples
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib warns when N is small (smoke size)
        u = sobol_sample.sample(prob, n_base, calc_second_order=False, scramble=True, seed=ctx.cfg.seed)
    specs = specs_from(u, facs, ctx)
    out = ctx.evaluate(specs, "sensitivity")
    reach = reached(out)
    outputs = {**{g: out[g] for g in HEADLINE}, **{f"reach_{g}": reach[g] for g in [*HEADLINE, ALL_FIVE]}}
    groups = list(dict.fromkeys(prob["groups"]))
    kinds = {f["group"]: f["kind"] for f in facs}
    rows = []
    for name, y in outputs.items():
        y = y.to_numpy(dtype=float)
        if np.nanvar(y) == 0 or np.isnan(y).any():
            res = {k: np.full(len(groups), np.nan) for k in ("S1", "S1_conf", "ST", "ST_conf")}
            names = groups
        else:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                res = sobol_analyze.analyze(
                    prob, y, calc_second_order=False, num_resamples=BOOT, conf_level=0.95, seed=ctx.cfg.seed
                )
            names = list(res["names"]) if "names" in res else groups
        for k, factor in enumerate(names):
            rows.append(
                {
                    "factor": factor,
                    "kind": kinds[factor],
                    "output": name,
                    "S1": float(res["S1"][k]),
                    "S1_conf": float(res["S1_conf"][k]),
                    "ST": float(res["ST"][k]),
                    "ST_conf": float(res["ST_conf"][k]),
                }
            )
    table = pd.DataFrame(rows, columns=["factor", "kind", "output", "S1", "S1_conf", "ST", "ST_conf"])
    summary = summarise(table, outputs)
    figures = [
        figure(table, list(HEADLINE), ctx.outdir / "sensitivity_values.png", "2026 value", n_base),
        figure(
            table,
            [f"reach_{g}" for g in [*HEADLINE, ALL_FIVE]],
            ctx.outdir / "sensitivity_reach.png",
            "reach (0/1)",
            n_base,
        ),
    ]
    return Findings(
        summary=summary,
        tables={"sensitivity": table},
        figures=figures,
        markdown=markdown(summary, ctx.cfg.range_factor),
        design=f"Saltelli/Sobol design, N = {n_base}, {len(groups)} factor groups ({len(LEVERS)} levers, "
        f"{len(INSTRUMENTS)} effect groups, the behaviour posterior, the seed): {len(specs):,} runs at scale "
        f"{ctx.scale}, on the model itself (no emulator).",
    )


def summarise(table: pd.DataFrame, outputs: dict) -> dict:
    out = {}
    for name in outputs:
        t = table[table["output"] == name].dropna(subset=["ST"])
        if t.empty:
            y = outputs[name].to_numpy(dtype=float)
            out[name] = {
                "undefined": f"no variance: {'reached' if np.nanmean(y) == 1 else 'missed'} in every run"
            }
            continue
        unc = t[t["kind"] != "lever"].sort_values("ST", ascending=False)
        lev = t[t["kind"] == "lever"].sort_values("ST", ascending=False)
        out[name] = {
            "dominant_uncertainty": unc.iloc[0]["factor"],
            "dominant_uncertainty_ST": float(unc.iloc[0]["ST"]),
            "dominant_uncertainty_ST_conf": float(unc.iloc[0]["ST_conf"]),
            "top_lever": lev.iloc[0]["factor"],
            "top_lever_ST": float(lev.iloc[0]["ST"]),
            "top_lever_ST_conf": float(lev.iloc[0]["ST_conf"]),
            "levers_ST_sum": float(lev["ST"].clip(lower=0).sum()),
            "ranking": t.sort_values("ST", ascending=False)["factor"].tolist(),
        }
    return out


def markdown(summary: dict, range_factor: float) -> str:
    lines = [
        f"Levers range from their 2023 level to {range_factor:g} x the plan; every uncertainty over its full "
        "range (lever effects), the posterior (behaviour) or the seed. ST: total-order Sobol index (share of "
        "the output's variance that goes if the factor is fixed), with its 95 % bootstrap half-width.",
        "",
        "| output | dominant uncertainty (ST ± 95 %) | most influential lever (ST ± 95 %) | sum of the levers' ST |",
        "|---|---|---|---|",
    ]
    for name, s in summary.items():
        label = name if name.startswith("reach_") else f"{name} 2026 value"
        if "undefined" in s:
            lines.append(f"| {label} | {s['undefined']} | – | – |")
            continue
        lines.append(
            f"| {label} | {s['dominant_uncertainty']} ({s['dominant_uncertainty_ST']:.2f} ± "
            f"{s['dominant_uncertainty_ST_conf']:.2f}) | `{s['top_lever']}` ({s['top_lever_ST']:.2f} ± "
            f"{s['top_lever_ST_conf']:.2f}) | {s['levers_ST_sum']:.2f} |"
        )
    lines += ["", "Every factor and output, first and total order with intervals: `sensitivity.csv`."]
    return "\n".join(lines)


def figure(table: pd.DataFrame, outputs: list[str], path, what: str, n_base: int):
    from matplotlib.figure import Figure

    colours = {"lever": "tab:blue", "effects": "tab:orange", "behaviour": "tab:green", "noise": "tab:grey"}
    ncols = 3
    nrows = int(np.ceil(len(outputs) / ncols))
    fig = Figure(figsize=(5.2 * ncols, 4.0 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, name in zip(axes.flat, outputs):
        t = table[table["output"] == name].dropna(subset=["ST"]).sort_values("ST", ascending=False).head(TOP)
        tid = name.removeprefix("reach_")
        title = (
            "reach of all five"
            if tid == ALL_FIVE
            else f"{tid} > {TARGETS[tid].target:,g}"
            if name.startswith("reach_")
            else f"{tid} in 2026 ({TARGETS[tid].unit_label})"
        )
        ax.set_title(title, fontsize=9)
        if t.empty:
            ax.text(
                0.5, 0.5, "no variance: indices undefined", ha="center", transform=ax.transAxes, fontsize=8
            )
            ax.set_yticks([])
            continue
        y = np.arange(len(t))[::-1]
        ax.barh(
            y + 0.18,
            t["ST"],
            height=0.36,
            color=[colours[k] for k in t["kind"]],
            alpha=0.85,
            xerr=t["ST_conf"],
            error_kw={"lw": 0.7, "capsize": 2},
        )
        ax.barh(
            y - 0.18,
            t["S1"],
            height=0.36,
            color=[colours[k] for k in t["kind"]],
            alpha=0.35,
            xerr=t["S1_conf"],
            error_kw={"lw": 0.7, "capsize": 2},
        )
        ax.set_yticks(y, t["factor"], fontsize=7)
        ax.axvline(0, color="black", lw=0.6)
        ax.set_xlabel("Sobol index (share of variance)", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    for ax in list(axes.flat)[len(outputs) :]:
        ax.set_visible(False)
    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=k) for k, c in colours.items()] + [
        Patch(color="black", alpha=0.85, label="total order ST (upper bar)"),
        Patch(color="black", alpha=0.3, label="first order S1 (lower bar)"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=6, fontsize=8, frameon=False)
    fig.suptitle(
        f"Sobol indices of the {what}, top {TOP} factors by total order (N = {n_base}; 95 % bootstrap intervals)",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    return atomic.save_figure(path, fig, dpi=90)
