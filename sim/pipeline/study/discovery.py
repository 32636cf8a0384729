"""Study ``discovery``: scenario discovery with PRIM: in which futures does the plan miss each target?

Design (``sizes.<size>``: ``replicates``, ``scale``): the plan, run on ``replicates`` replicates,
each with its own future: a behaviour-parameter set drawn from the calibrated posterior by weight
and every lever effect drawn uniformly on its range (exactly the uncertainty of ``python -m sim``).
Runs: ``replicates``.

For each headline target (and for all five together), PRIM (Friedman & Fisher 1999, the
implementation of ``ema_workbench.analysis.prim``; peeling and pasting alpha 0.05, minimum mass
0.05) searches the space of the uncertainties (45 lever effects, the calibrated behaviour
parameters; first screened to the ``SCREEN`` best predictors of failure by extra-trees feature scores,
the usual EMA workflow) for boxes where the target fails (2026 value <= target). The box kept on each peeling
trajectory is the one with at most ``MAX_DIMS`` restrictions that maximises coverage x lift
(``choose``); a second box is searched in what the first leaves (PRIM's covering). Coverage: share of
all failures inside the box; density: share of futures inside the box that fail (both over the whole
sample); qp: the quasi-p-value of each restriction (flagged weak above ``QP_WEAK``).
The model's own randomness (the seed) is not a dimension: it is part of why density stays below 1.

By mechanism (``mechanisms.csv``): every uncertainty belongs to a group, a behaviour mechanism of
``sim.model.mechanisms`` (``design.uncertainty_group``) or one instrument's effects; a group's share of
the extra-trees feature scores of failure (the scores sum to 1 over all uncertainties) says how much of
what predicts failure lies in it, and the page names the data that would narrow the leading mechanism.
A group of many parameters gets some share by chance: ``dims_share`` (its share of the dimensions) is
the share it would get if nothing in it mattered.

Table ``boxes.csv``: one row per target, box and restricted uncertainty (``group``: its mechanism or
instrument). Figure ``boxes.png``.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from sim.model.outcomes import HEADLINE
from sim.model.policy import free_effect_fields, scenario
from sim.pipeline.study.design import ALL_FIVE, reached, replicate_spec, uncertainty_frame, uncertainty_group
from sim.pipeline.study.sensitivity import narrowed_by
from sim.runtime import atomic

GOALS = [*HEADLINE, ALL_FIVE]
DENSITY = 0.8  # PRIM's peeling threshold (EMA Workbench's usual value)
MAX_DIMS = 3  # restrictions a reported box may have (boxes a reader can use)
SCREEN = 8  # uncertainties PRIM peels over, the best predictors of failure (``screen``)
SCREEN_SEED = 0  # the extra-trees' seed: the same sample gives the same screen
MAX_BOXES = 2
PEEL_ALPHA = 0.05
QP_WEAK = 0.05  # restrictions with a larger quasi-p-value are flagged as weak


def choose(traj: pd.DataFrame, base: float) -> int | None:
    """The peeling-trajectory point kept: at most ``MAX_DIMS`` restrictions, the largest
    coverage x lift, lift = (density - base) / (1 - base): 0 for a box no denser than the whole sample,
    1 for a box where every future fails. None when no box is denser than the sample."""
    t = traj[(traj["res_dim"] >= 1) & (traj["res_dim"] <= MAX_DIMS)]
    if t.empty or base >= 1:
        return None
    score = t["coverage"] * (t["density"] - base) / (1 - base)
    if score.max() <= 0:
        return None
    return int(score.idxmax())


def feature_scores(x: pd.DataFrame, fail: np.ndarray) -> pd.Series:
    """Extra-trees feature scores of failure over every uncertainty (ema_workbench; they sum to 1)."""
    from ema_workbench.analysis import feature_scoring

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return feature_scoring.get_ex_feature_scores(x, fail.astype(int), random_state=SCREEN_SEED)[0].iloc[
            :, 0
        ]


def group_scores(x: pd.DataFrame, fail: np.ndarray) -> pd.DataFrame:
    """Per uncertainty group: its share of the feature scores of failure, its share of the dimensions,
    and its best single predictor; sorted by share (empty when the target never or always fails)."""
    if fail.sum() in (0, fail.size):
        return pd.DataFrame(columns=["group", "score_share", "dims_share", "top_uncertainty"])
    scores = feature_scores(x, fail)
    groups = pd.Series({c: uncertainty_group(c) for c in x.columns})
    rows = []
    for g, cols in groups.groupby(groups).groups.items():
        sc = scores.reindex(cols).fillna(0.0)
        rows.append(
            {
                "group": g,
                "score_share": float(sc.sum()),
                "dims_share": len(cols) / x.shape[1],
                "top_uncertainty": str(sc.idxmax()),
            }
        )
    return pd.DataFrame(rows).sort_values("score_share", ascending=False).reset_index(drop=True)


def screen(x: pd.DataFrame, fail: np.ndarray) -> list[str]:
    """The ``SCREEN`` uncertainties that best predict failure (extra-trees feature scores, ema_workbench;
    Jaxa-Rozen & Kwakkel 2018): PRIM then peels where it matters instead of across every dimension."""
    from ema_workbench.analysis import feature_scoring

    scores = feature_scoring.get_ex_feature_scores(x, fail.astype(int), random_state=SCREEN_SEED)[0]
    return [str(k) for k in scores.index[:SCREEN]]


def find_boxes(x: pd.DataFrame, fail: np.ndarray) -> list[dict]:
    """PRIM boxes of ``fail`` over ``x``: stats and the restricted dimensions with their limits and qp."""
    from ema_workbench.analysis import prim

    logging.getLogger("EMA").setLevel(logging.WARNING)
    boxes: list[dict] = []
    total = int(fail.sum())
    if total == 0 or total == fail.size:
        return boxes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = x[screen(x, fail)]
        p = prim.Prim(
            x, fail, threshold=DENSITY, peel_alpha=PEEL_ALPHA, paste_alpha=PEEL_ALPHA, mass_min=0.05
        )
        for k in range(MAX_BOXES):
            try:
                box = p.find_box()
            except Exception:  # noqa: BLE001 - PRIM stops when nothing is left to find
                break
            if box is None:
                break
            base = float(fail.mean())
            i = choose(box.peeling_trajectory, base)
            if i is None:
                break
            box.select(i)
            stats, lims = box.inspect(i, style="data")[0]
            if int(stats["res_dim"]) == 0:
                break
            dims = []
            for dim, lim in lims.iterrows():
                lo, hi = float(lim.iloc[0]), float(lim.iloc[1])
                qps = [float(v) for v in lim.iloc[2:].to_numpy() if not pd.isna(v)]
                dims.append(
                    {
                        "uncertainty": dim,
                        "box_lo": lo,
                        "box_hi": hi,
                        "sample_lo": float(x[dim].min()),
                        "sample_hi": float(x[dim].max()),
                        "qp": min(qps) if qps else np.nan,
                    }
                )
            # coverage and density of the box against the whole sample (not what the earlier boxes left)
            dims.sort(key=lambda d: d["qp"] if not np.isnan(d["qp"]) else 1.0)
            inside = np.ones(len(x), dtype=bool)
            for d in dims:
                inside &= (
                    (x[d["uncertainty"]] >= d["box_lo"]) & (x[d["uncertainty"]] <= d["box_hi"])
                ).to_numpy()
            n_in = int(inside.sum())
            boxes.append(
                {
                    "box": k + 1,
                    "coverage": float(fail[inside].sum() / total),
                    "density": float(fail[inside].mean()) if n_in else np.nan,
                    "mass": n_in / len(x),
                    "n_in_box": n_in,
                    "dims": dims,
                }
            )
    return boxes


def run(ctx):
    from sim.pipeline.study.runner import Findings

    reps = ctx.replicates(ctx.design.replicates)
    plan = scenario("plan")
    out = ctx.evaluate([replicate_spec(plan, r) for r in reps], "discovery")
    x = uncertainty_frame(ctx.param_sets, reps)
    reach = reached(out)
    rows, summary, mech_rows = [], {}, []
    for g in GOALS:
        fail = (reach[g] == 0).to_numpy()
        base = float(fail.mean())
        boxes = find_boxes(x, fail)
        by_group = group_scores(x, fail)
        mech_rows += [{"target": g, **r} for r in by_group.to_dict("records")]
        lead = by_group.iloc[0] if not by_group.empty else None
        summary[g] = {
            "failure_rate": base,
            "dominant_group": None if lead is None else lead["group"],
            "dominant_group_share": None if lead is None else float(lead["score_share"]),
            "dominant_group_dims_share": None if lead is None else float(lead["dims_share"]),
            "dominant_group_top": None if lead is None else lead["top_uncertainty"],
            "narrowed_by": None if lead is None else narrowed_by(lead["group"]),
            "boxes": [
                {k: v for k, v in b.items() if k != "dims"}
                | {"restrictions": [{d["uncertainty"]: [d["box_lo"], d["box_hi"]]} for d in b["dims"]]}
                for b in boxes
            ],
        }
        for b in boxes:
            for d in b["dims"]:
                rows.append(
                    {
                        "target": g,
                        "failure_rate": base,
                        "box": b["box"],
                        "coverage": b["coverage"],
                        "density": b["density"],
                        "mass": b["mass"],
                        "n_in_box": b["n_in_box"],
                        **d,
                        "group": uncertainty_group(d["uncertainty"]),
                    }
                )
    cols = [
        "target",
        "failure_rate",
        "box",
        "coverage",
        "density",
        "mass",
        "n_in_box",
        "uncertainty",
        "box_lo",
        "box_hi",
        "sample_lo",
        "sample_hi",
        "qp",
        "group",
    ]
    table = pd.DataFrame(rows, columns=cols)
    mechanisms = pd.DataFrame(
        mech_rows, columns=["target", "group", "score_share", "dims_share", "top_uncertainty"]
    )
    figures = [figure(table, summary, ctx.outdir / "boxes.png", len(reps))]
    n_eff = len(free_effect_fields())
    return Findings(
        summary={"n": len(reps), "dimensions": list(x.columns), "targets": summary},
        tables={"boxes": table, "mechanisms": mechanisms},
        figures=figures,
        markdown=markdown(table, summary, len(reps)),
        precision=(
            f"{len(reps):,} futures: a box's coverage and density are shares of that sample (a density of 0.5 "
            f"over 100 futures has a 95 % half-width of about 0.10); restrictions with qp > {QP_WEAK} are "
            "flagged weak."
        ),
        design=f"the plan on {len(reps):,} replicates = {len(reps):,} runs at scale {ctx.scale}; PRIM over "
        f"{x.shape[1]} uncertainties ({sum(c.startswith('effect:') for c in x.columns)} of the {n_eff} lever "
        f"effects and {sum(c.startswith('behaviour:') for c in x.columns)} calibrated behaviour parameters "
        "that vary in the sample).",
    )


def _num(v: float) -> str:
    """Three significant figures, without an exponent for values such as years (2021.3, not 2.02e+03)."""
    return f"{v:.5g}" if abs(v) >= 1000 else f"{v:.3g}"


def _describe(d: dict) -> str:
    name = d["uncertainty"].split(":", 1)[1]
    lo_cut = d["box_lo"] > d["sample_lo"] + 1e-12
    hi_cut = d["box_hi"] < d["sample_hi"] - 1e-12
    if lo_cut and hi_cut:
        return f"`{name}` in [{_num(d['box_lo'])}, {_num(d['box_hi'])}]"
    if hi_cut:
        return f"`{name}` <= {_num(d['box_hi'])}"
    return f"`{name}` >= {_num(d['box_lo'])}"


def markdown(table: pd.DataFrame, summary: dict, n: int) -> str:
    lines = [
        f"Under the plan, over {n:,} futures (posterior parameter sets and lever effects). Coverage: share of "
        "the target's failures inside the box; density: share of the box's futures that fail. Ranges of "
        "the sample in `boxes.csv` (sample_lo, sample_hi).",
        "",
        "| target | P(fail) | box | coverage | density | futures where it fails (restrictions; qp) |",
        "|---|---|---|---|---|---|",
    ]
    for g, s in summary.items():
        if not s["boxes"]:
            why = (
                "never fails"
                if s["failure_rate"] == 0
                else "fails in every future"
                if s["failure_rate"] == 1
                else f"no box of at most {MAX_DIMS} restrictions denser than the sample"
            )
            lines.append(f"| {g} | {s['failure_rate']:.2f} | – | – | – | {why} |")
            continue
        t = table[table["target"] == g]
        for b in s["boxes"]:
            dims = t[t["box"] == b["box"]].to_dict("records")
            text = "; ".join(
                f"{_describe(d)} (qp {d['qp']:.1g}{', weak' if d['qp'] > QP_WEAK else ''})" for d in dims
            )
            lines.append(
                f"| {g} | {s['failure_rate']:.2f} | {b['box']} | {b['coverage']:.2f} | {b['density']:.2f} | {text} |"
            )
    lines += [
        "",
        "**By mechanism**: the group holding the largest share of the extra-trees scores of failure (share "
        "of the dimensions in brackets: what it would hold by chance), and the data that would narrow it:",
        "",
        "| target | leading group (score share; by chance) | its best predictor | what would narrow it |",
        "|---|---|---|---|",
    ]
    for g, s in summary.items():
        if s.get("dominant_group") is None:
            continue
        lines.append(
            f"| {g} | {s['dominant_group']} ({s['dominant_group_share']:.2f}; {s['dominant_group_dims_share']:.2f}) "
            f"| `{s['dominant_group_top'].split(':', 1)[1]}` | {s['narrowed_by']} |"
        )
    lines += ["", "Every group and target: `mechanisms.csv`."]
    return "\n".join(lines)


def figure(table: pd.DataFrame, summary: dict, path, n: int):
    from matplotlib.figure import Figure

    goals = [g for g in GOALS if summary[g]["boxes"]]
    if not goals:
        fig = Figure(figsize=(6, 2))
        ax = fig.subplots()
        ax.axis("off")
        ax.text(0.5, 0.5, "no target has both failures and successes: no box to find", ha="center")
    else:
        heights = [max(1, len(table[(table["target"] == g)])) for g in goals]
        fig = Figure(figsize=(8, 0.42 * sum(heights) + 1.2 * len(goals)))
        axes = fig.subplots(len(goals), 1, squeeze=False, gridspec_kw={"height_ratios": heights})
        colours = {1: "tab:red", 2: "tab:orange"}
        for ax, g in zip(axes[:, 0], goals):
            t = table[table["target"] == g].reset_index(drop=True)
            span = (t["sample_hi"] - t["sample_lo"]).replace(0, np.nan)
            lo = (t["box_lo"] - t["sample_lo"]) / span
            hi = (t["box_hi"] - t["sample_lo"]) / span
            y = np.arange(len(t))[::-1]
            for b in sorted(t["box"].unique()):
                m = (t["box"] == b).to_numpy()
                st = next(x for x in summary[g]["boxes"] if x["box"] == b)
                ax.barh(
                    y[m],
                    (hi - lo)[m],
                    left=lo[m],
                    color=colours.get(b, "grey"),
                    alpha=0.6,
                    label=f"box {b}: coverage {st['coverage']:.2f}, density {st['density']:.2f}",
                )
            ax.set_yticks(y, [u.split(":", 1)[1] for u in t["uncertainty"]], fontsize=7)
            ax.set_xlim(0, 1)
            ax.set_title(f"{g} fails (P = {summary[g]['failure_rate']:.2f})", fontsize=9)
            ax.legend(fontsize=7, loc="lower right")
            ax.grid(axis="x", alpha=0.3)
        axes[-1, 0].set_xlabel(
            "position within the sampled range of each uncertainty (0 = lowest, 1 = highest)"
        )
    fig.suptitle(f"PRIM boxes of futures where the plan misses a target ({n:,} futures)", fontsize=10)
    fig.tight_layout()
    return atomic.save_figure(path, fig, dpi=90)
