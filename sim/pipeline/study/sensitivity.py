"""Study ``sensitivity``: global sensitivity analysis (Sobol indices) of the 2026 targets, by lever, by
instrument and by mechanism.

Factor groups (independent, so Sobol's variance decomposition applies):

- each lever, uniform on its plausible range: from its 2023 level to ``range_factor`` x the plan's
  value (an assumption of the study: no lever is cut below today's level, none raised past twice the
  plan by default);
- each instrument's lever effects, one group per instrument (its effects uniform on their ranges, as
  every replicate draws them);
- each behaviour mechanism of ``sim.model.mechanisms`` (demand, entry and growth, certification, R&D
  behaviour, patenting, the reforms' pipeline; ``design.behaviour_groups`` reads the parameters from
  ``BehaviourParams``' priors): a group's factor picks one particle of the calibrated posterior by weight
  and takes that particle's values of the group's parameters (``design.mixed_params``). The
  approximation: correlations inside a mechanism are the posterior's, those between mechanisms are
  dropped (every group keeps its posterior marginal). Independence between groups is what a Sobol
  decomposition needs; it makes the mixed sets a little wider than the posterior;
- the model's own randomness (the run's seed).

Two methods (``sizes.<size>.method``):

- ``model``: SALib's Saltelli/Sobol sequence on the model itself: N x (G + 2) runs (N = ``base_samples``);
  Jansen's (total) and Saltelli 2010's (first-order) estimators with SALib's bootstrap intervals;
- ``emulator`` (the full size): ``replicates`` runs at the points of a scrambled Sobol sequence, the first
  ``pairs`` of them repeated with a second seed; an emulator (``sim.pipeline.study.emulator``) learns each
  2026 value from the levers, effects and behaviour parameters, is checked on held-out runs (R^2 shown on
  the page), and Saltelli's design with N = ``base_samples`` runs on the emulator; the seed's share comes
  from the repeated runs. Intervals from refitting the emulator on bootstrap resamples of the runs.
  A study's runs model a share of the firms (``scale``), and a smaller population is noisier, so the seed's
  share there overstates the real population's: the first ``full_scale_pairs`` points are run twice more at
  scale 1, and the indices recomputed with that randomness on the same emulators (``sensitivity_full_scale.csv``;
  ``scale_check.csv`` gives the sd at scale 1 and the full-scale mean against the study-scale one at the same
  points, which the recomputation takes to be equal). The cross-study index reports the full-scale ones.

Outputs: each headline indicator's 2026 value and its reach (0/1: value > target), and reach of all
five. A reach output that is the same in every run has no variance: its indices are undefined (NaN).
Table ``sensitivity.csv`` (``factor, kind, output, S1, S1_conf, ST, ST_conf``; ``_conf``: 95 %
half-widths), ``emulator.csv`` (emulator method: the out-of-sample check per output); figures
``sensitivity_values.png``, ``sensitivity_reach.png`` (factors ranked by total order).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from sim.model.mechanisms import GROUPS
from sim.model.outcomes import HEADLINE, TARGETS
from sim.model.policy import INSTRUMENTS, LEVERS, effects_from_row, free_effect_fields, scenario
from sim.pipeline.study import emulator
from sim.pipeline.study.design import (
    ALL_FIVE,
    RunSpec,
    behaviour_groups,
    index_text,
    lever_range,
    lever_value,
    mechanism_label,
    reached,
    with_levers,
)
from sim.runtime import atomic
from sim.runtime.parallel import derive_seed

NOISE = "model randomness (seed)"
SEED_SPACE = 2**31  # the seed factor's u picks one of this many seeds
BOOT = 1000  # SALib's bootstrap resamples for the confidence intervals
TOP = 12  # factors shown per panel
GOAL_HALF_WIDTH = 0.10  # the precision goal for every reported total index (95 % half-width)
SEED_STREAM, PAIR_STREAM = 7, 8  # derive_seed streams of the runs' seeds and of the repeated runs' seeds
#: The stream of the bootstrap's draws of the full-scale pairs (their own: the other draws stay as they were).
FULL_SCALE_STREAM = 23
OUTPUT_NAMES = [*HEADLINE, *(f"reach_{g}" for g in [*HEADLINE, ALL_FIVE])]


def factors(range_factor: float) -> list[dict]:
    """Every variable of the design: name, group, kind, and its range (levers, effects) or mechanism."""
    out = []
    for name in LEVERS:
        lo, hi = lever_range(name, range_factor, "level_2023")
        out.append({"name": f"lever:{name}", "group": name, "kind": "lever", "lo": lo, "hi": hi})
    effect_groups = {cls.name for cls in INSTRUMENTS}
    for key, f in free_effect_fields():  # the calibrated effects vary with the behaviour posterior
        inst = key.split(".")[0]
        assert inst in effect_groups
        lo, hi = f.metadata["range"]
        out.append(
            {"name": f"effect:{key}", "group": f"{inst} effects", "kind": "effects", "lo": lo, "hi": hi}
        )
    for group in behaviour_groups():
        out.append(
            {
                "name": f"behaviour:{group}",
                "group": mechanism_label(group),
                "kind": "behaviour",
                "lo": 0.0,
                "hi": 1.0,
            }
        )
    out.append({"name": "seed", "group": NOISE, "kind": "noise", "lo": 0.0, "hi": 1.0})
    return out


def problem(facs: list[dict]) -> dict:
    return {
        "num_vars": len(facs),
        "names": [f["name"] for f in facs],
        "bounds": [[0.0, 1.0]] * len(facs),
        "groups": [f["group"] for f in facs],
    }


def _cdf(param_sets) -> np.ndarray:
    w = np.asarray(param_sets.weights if param_sets.weights is not None else np.ones(len(param_sets)), float)
    return np.cumsum(w / w.sum())


def picks(u: np.ndarray, param_sets) -> np.ndarray:
    """The posterior particle each u in [0, 1) picks, by weight."""
    cdf = _cdf(param_sets)
    return np.minimum(np.searchsorted(cdf, np.asarray(u, dtype=float), side="right"), len(cdf) - 1)


def specs_from(u: np.ndarray, facs: list[dict], ctx, seeds: list[int] | None = None) -> list[RunSpec]:
    """Map each row of the unit sample to a model run (``seeds``: the runs' seeds instead of the seed factor)."""
    plan = scenario("plan")
    specs = []
    for i, row in enumerate(u):
        levers, effects, chosen, seed = {}, {}, [], 0
        for f, v in zip(facs, row):
            x = f["lo"] + float(v) * (f["hi"] - f["lo"])
            name = f["name"].split(":", 1)[-1]
            if f["kind"] == "lever":
                levers[name] = lever_value(name, x)
            elif f["kind"] == "effects":
                effects[name] = x
            elif f["kind"] == "behaviour":
                chosen.append(int(picks(float(v), ctx.param_sets)))
            else:
                seed = derive_seed(ctx.cfg.seed, SEED_STREAM, int(float(v) * SEED_SPACE))
        if seeds is not None:
            seed = seeds[i]
        specs.append(RunSpec(with_levers(plan, **levers), tuple(chosen), seed, effects_from_row(effects)))
    return specs


def features(u: np.ndarray, facs: list[dict], param_sets) -> np.ndarray:
    """What the emulator sees of each row of the unit sample: lever values, effect values, and the
    behaviour parameters of each mechanism's picked particle (those that vary in the posterior)."""
    groups = behaviour_groups()
    table = {
        name: np.array([float(getattr(s, name)) for s in param_sets.sets])
        for g in groups.values()
        for name in g
    }
    cols = []
    for k, f in enumerate(facs):
        if f["kind"] in ("lever", "effects"):
            cols.append(f["lo"] + u[:, k] * (f["hi"] - f["lo"]))
        elif f["kind"] == "behaviour":
            chosen = picks(u[:, k], param_sets)
            for name in groups[f["name"].split(":", 1)[1]]:
                if np.ptp(table[name]) > 0:
                    cols.append(table[name][chosen])
    return np.column_stack(cols)


def run(ctx):
    from sim.pipeline.study.runner import Findings

    facs = factors(ctx.cfg.range_factor)
    full = None
    if ctx.design.method == "emulator":
        table, checks, runs, design, outputs, full = run_emulator(ctx, facs)
    else:
        table, runs, design, outputs = run_model(ctx, facs)
        checks = pd.DataFrame()
    summary = summarise(table, outputs)
    summary["method"] = ctx.design.method
    summary["precision"] = precision(table)
    if not checks.empty:
        summary["emulator"] = checks.set_index("output").to_dict("index")
    if full is not None:
        summary["full_scale"] = {
            "scale": ctx.scale,
            "pairs": full["pairs"],
            "outputs": summarise(full["table"], outputs),
            "check": full["check"].set_index("output").to_dict("index"),
        }
    n_base = ctx.design.base_samples
    figures = [
        figure(
            table,
            list(HEADLINE),
            ctx.outdir / "sensitivity_values.png",
            "2026 value",
            n_base,
            ctx.design.method,
        ),
        figure(
            table,
            [f"reach_{g}" for g in [*HEADLINE, ALL_FIVE]],
            ctx.outdir / "sensitivity_reach.png",
            "reach (0/1)",
            n_base,
            ctx.design.method,
        ),
    ]
    tables = {"sensitivity": table}
    if not checks.empty:
        tables["emulator"] = checks
    if full is not None:
        tables["sensitivity_full_scale"] = full["table"]
        tables["scale_check"] = full["check"]
    return Findings(
        summary=summary,
        tables=tables,
        figures=figures,
        markdown=markdown(summary, ctx.cfg.range_factor, checks),
        design=design,
        precision=precision_text(summary["precision"], checks),
    )


def _groups_text(facs: list[dict]) -> str:
    n = {k: len({f["group"] for f in facs if f["kind"] == k}) for k in ("lever", "effects", "behaviour")}
    return (
        f"{len(dict.fromkeys(f['group'] for f in facs))} factor groups ({n['lever']} levers, {n['effects']} "
        f"instruments' effects, {n['behaviour']} behaviour mechanisms, the seed)"
    )


def run_model(ctx, facs: list[dict]):
    """Saltelli's design on the model itself."""
    from SALib.sample import sobol as sobol_sample

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
            res = emulator.salib_analyze(prob, y, ctx.cfg.seed, BOOT)
            names = list(res["names"]) if "names" in res else groups
        for k, factor in enumerate(names):
            rows.append(
                _row(
                    factor,
                    kinds[factor],
                    name,
                    res["S1"][k],
                    res["S1_conf"][k],
                    res["ST"][k],
                    res["ST_conf"][k],
                )
            )
    design = (
        f"Saltelli/Sobol design on the model itself, N = {n_base}, {_groups_text(facs)}: {len(specs):,} runs "
        f"at scale {ctx.scale}."
    )
    return pd.DataFrame(rows, columns=COLUMNS), len(specs), design, outputs


def _row(factor, kind, output, s1, s1c, st, stc) -> dict:
    return {
        "factor": factor,
        "kind": kind,
        "output": output,
        "S1": float(s1),
        "S1_conf": float(s1c),
        "ST": float(st),
        "ST_conf": float(stc),
    }


COLUMNS = ["factor", "kind", "output", "S1", "S1_conf", "ST", "ST_conf"]


def run_emulator(ctx, facs: list[dict]):
    """Runs at a scrambled Sobol sequence's points (some repeated with a second seed), an emulator per
    2026 value, Saltelli's design on the emulators, intervals from refits on bootstrap resamples."""
    from SALib.sample import sobol as sobol_sample
    from scipy.stats import qmc

    d = ctx.design
    n, n_pairs = d.replicates, d.pairs
    inputs = [f for f in facs if f["kind"] != "noise"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a sample size that is not a power of 2 only loses some balance
        u = qmc.Sobol(d=len(facs), scramble=True, seed=ctx.cfg.seed).random(n)
    specs = specs_from(u, facs, ctx)
    second = [derive_seed(ctx.cfg.seed, PAIR_STREAM, i) for i in range(n_pairs)]
    pair_specs = specs_from(u[:n_pairs], facs, ctx, seeds=second)
    out = ctx.evaluate(specs + pair_specs, "sensitivity (emulator design)")
    first, again = out.iloc[:n].reset_index(drop=True), out.iloc[n:].reset_index(drop=True)
    keep = [k for k, f in enumerate(facs) if f["kind"] != "noise"]
    x = features(u[:, keep], inputs, ctx.param_sets)
    targets = {g: float(TARGETS[g].target) for g in HEADLINE}
    ys = {g: first[g].to_numpy(dtype=float) for g in HEADLINE}
    sigma2 = {g: emulator.seed_variance(ys[g][:n_pairs], again[g].to_numpy(dtype=float)) for g in HEADLINE}
    checks = pd.DataFrame(
        [
            {
                "output": g,
                **emulator.holdout(x, ys[g], targets[g], sigma2[g], ctx.cfg.seed),
                "seed_sd": np.sqrt(sigma2[g]),
            }
            for g in HEADLINE
        ]
    )
    prob = problem(inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        su = sobol_sample.sample(
            prob, d.base_samples, calc_second_order=False, scramble=True, seed=ctx.cfg.seed
        )
    xs = features(su, inputs, ctx.param_sets)

    k = d.full_scale_pairs if ctx.scale < 1 else 0
    if k:  # the same points twice more at scale 1, with the first seeds and the second
        full_specs = specs_from(u[:k], facs, ctx) + specs_from(u[:k], facs, ctx, seeds=second[:k])
        at_full = ctx.evaluate(full_specs, "sensitivity (the model's randomness at scale 1)", scale=1.0)
        full_a, full_b = at_full.iloc[:k].reset_index(drop=True), at_full.iloc[k:].reset_index(drop=True)

    def indices(rows, pair_rows, full_rows, resamples: int, seed: int) -> tuple[dict, dict | None]:
        """The indices at the study's scale and, with the full-scale runs' randomness on the same emulated
        means, at scale 1 (None without full-scale runs)."""
        f = {g: emulator.fit(x[rows], ys[g][rows], seed).predict(xs) for g in HEADLINE}
        s2 = {
            g: emulator.seed_variance(ys[g][:n_pairs][pair_rows], again[g].to_numpy(float)[pair_rows])
            for g in HEADLINE
        }
        at_study = emulator.decompose(prob, f, s2, targets, seed, resamples)
        if not k:
            return at_study, None
        s2_full = {
            g: emulator.seed_variance(
                full_a[g].to_numpy(float)[full_rows], full_b[g].to_numpy(float)[full_rows]
            )
            for g in HEADLINE
        }
        return at_study, emulator.decompose(prob, f, s2_full, targets, seed, resamples)

    point = indices(np.arange(n), np.arange(n_pairs), np.arange(k), BOOT, ctx.cfg.seed)
    rng = np.random.default_rng([ctx.cfg.seed, 19])
    rng_full = np.random.default_rng([ctx.cfg.seed, FULL_SCALE_STREAM])
    boots = [
        indices(
            rng.integers(0, n, n),
            rng.integers(0, n_pairs, n_pairs),
            rng_full.integers(0, max(k, 1), k),
            10,
            ctx.cfg.seed + b + 1,
        )
        for b in range(emulator.REFITS)
    ]
    groups = list(dict.fromkeys(prob["groups"]))
    kinds = {f["group"]: f["kind"] for f in facs}
    # a target reached (or missed) in every run has no variance to apportion, as on the model itself: the
    # emulated reach probability would still vary a little where the emulator extrapolates, and its
    # indices would be those of that extrapolation (reach_T04 got ST 1.23 and ± 5.9 from 0 misses in 4,608)
    seen = reached(out)
    constant = {f"reach_{g}" for g in [*HEADLINE, ALL_FIVE] if seen[g].nunique(dropna=False) < 2}

    def tabulate(point: dict, boots: list[dict]) -> pd.DataFrame:
        rows = []
        for name in OUTPUT_NAMES:
            if name in constant:
                rows += [_row(g, kinds[g], name, *[np.nan] * 4) for g in groups]
                rows.append(_row(NOISE, "noise", name, *[np.nan] * 4))
                continue
            p = point[name]
            for key, conf in (("S1", "S1_conf"), ("ST", "ST_conf")):
                spread = np.array([b[name][key] for b in boots])
                half = (np.nanpercentile(spread, 97.5, axis=0) - np.nanpercentile(spread, 2.5, axis=0)) / 2
                p[conf] = np.sqrt(half**2 + np.asarray(p[conf]) ** 2)
            seeds = np.array([b[name]["seed"] for b in boots], dtype=float)
            seed_half = (
                float((np.nanpercentile(seeds, 97.5) - np.nanpercentile(seeds, 2.5)) / 2)
                if np.isfinite(seeds).any()
                else np.nan
            )
            for j, group in enumerate(groups):
                rows.append(
                    _row(group, kinds[group], name, p["S1"][j], p["S1_conf"][j], p["ST"][j], p["ST_conf"][j])
                )
            rows.append(_row(NOISE, "noise", name, p["seed"], seed_half, p["seed"], seed_half))
        return pd.DataFrame(rows, columns=COLUMNS)

    table = tabulate(point[0], [b[0] for b in boots])
    full = None
    if k:
        full = {
            "table": tabulate(point[1], [b[1] for b in boots]),
            "check": scale_check(first.iloc[:k], full_a, full_b, ctx.scale),
            "pairs": k,
        }
    reach = reached(first)
    outputs = {**{g: first[g] for g in HEADLINE}, **{f"reach_{g}": reach[g] for g in [*HEADLINE, ALL_FIVE]}}
    design = (
        f"emulator: {n:,} runs at the points of a scrambled Sobol sequence over {_groups_text(facs)}, the first "
        f"{n_pairs:,} repeated with a second seed ({n + n_pairs:,} runs at scale {ctx.scale}); one gradient-"
        f"boosting emulator per 2026 value (`sim.pipeline.study.emulator`), checked on {emulator.HOLDOUT:.0%} "
        f"held-out runs; Saltelli's design with N = {d.base_samples:,} on the emulators "
        f"({d.base_samples * (len(groups) + 2):,} emulator evaluations); intervals from {emulator.REFITS} refits "
        "on bootstrap resamples of the runs, combined with Saltelli's Monte Carlo error. **The indices of "
        "levers, effects and mechanisms are those of the emulator; the seed's share is measured on the model.**"
        + (
            f" The model's randomness at the real population's size: the first {k:,} points run twice more at "
            f"scale 1 ({2 * k:,} runs), the indices recomputed with it on the same emulators."
            if k
            else ""
        )
    )
    return table, checks, n + n_pairs + 2 * k, design, outputs, full


def scale_check(
    first: pd.DataFrame, full_a: pd.DataFrame, full_b: pd.DataFrame, scale: float
) -> pd.DataFrame:
    """Per 2026 value: the model's run-to-run sd at scale 1 (the full-scale pairs), and the full-scale runs'
    mean relative to the study-scale runs' at the same points and seeds, with its 95 % interval (the indices
    at scale 1 take the emulated means of the study's scale as they are)."""
    k = len(full_a)
    rows = []
    for g in HEADLINE:
        y = first[g].to_numpy(float)
        d = full_a[g].to_numpy(float) - y
        base = float(np.mean(y))
        half = 1.96 * float(np.std(d, ddof=1)) / np.sqrt(k) if k > 1 else np.nan
        rows.append(
            {
                "output": g,
                "study_scale": scale,
                "seed_sd_full": np.sqrt(emulator.seed_variance(full_a[g], full_b[g])),
                "full_vs_study_mean": float(np.mean(d)) / base if base else np.nan,
                "full_vs_study_mean_half": half / abs(base) if base else np.nan,
                "pairs": k,
            }
        )
    return pd.DataFrame(rows)


def narrowed_by(factor: str) -> str:
    """What would narrow an uncertainty: a mechanism's data (``GROUPS``), an instrument's evaluation, or
    nothing (the model's randomness)."""
    for group, (_, data) in GROUPS.items():
        if factor == mechanism_label(group):
            return data
    if factor.endswith(" effects"):
        return f"an evaluation of `{factor.removesuffix(' effects')}` (its effect sizes are ranges, not measurements)"
    if factor == NOISE:
        return "nothing: the model's own randomness (chance in who founds, applies and patents)"
    return ""


def precision(table: pd.DataFrame) -> dict:
    """The achieved precision: the largest half-width of a total index, and the indices outside [0, 1]
    by more than their interval."""
    t = table.dropna(subset=["ST"])
    out_of_range = t[(t["ST"] + t["ST_conf"] < 0) | (t["ST"] - t["ST_conf"] > 1)]
    worst = t.loc[t["ST_conf"].idxmax()] if not t.empty else None
    return {
        "max_ST_half_width": float(t["ST_conf"].max()) if not t.empty else None,
        "max_at": None if worst is None else f"{worst['factor']} on {worst['output']}",
        "goal": GOAL_HALF_WIDTH,
        "share_within_goal": float((t["ST_conf"] <= GOAL_HALF_WIDTH).mean()) if not t.empty else None,
        "outside_0_1": [
            f"{r['factor']} on {r['output']} ({index_text(r['ST'], r['ST_conf'])})"
            for _, r in out_of_range.iterrows()
        ],
    }


def _share(x: float) -> str:
    """A share as a percentage that reads 100 % only when every one is in (99.9 % is not all)."""
    return "100 %" if x == 1 else f"{min(x * 100, 99.9):.1f} %"


def precision_text(p: dict, checks: pd.DataFrame) -> str:
    if p["max_ST_half_width"] is None:
        return "no output varies: no index defined."
    text = (
        f"largest 95 % half-width of a total index: {p['max_ST_half_width']:.3f} ({p['max_at']}; goal <= "
        f"{p['goal']:.2f}: {_share(p['share_within_goal'])} of the indices meet it); indices outside [0, 1] by more "
        f"than their interval: {', '.join(p['outside_0_1']) or 'none'}."
    )
    if not checks.empty:
        text += (
            " Emulator out of sample (held-out runs): "
            + "; ".join(
                f"{r['output']} R² {r['r2']:.2f} (ceiling {r['r2_ceiling']:.2f}), reach Brier skill {r['brier_skill']:.2f}"
                for _, r in checks.iterrows()
            )
            + "."
        )
    return text


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
        top = unc.iloc[0]
        nxt = unc.iloc[1] if len(unc) > 1 else None
        out[name] = {
            "dominant_uncertainty": top["factor"],
            "dominant_uncertainty_kind": top["kind"],
            "dominant_uncertainty_ST": float(top["ST"]),
            "dominant_uncertainty_ST_conf": float(top["ST_conf"]),
            "dominant_resolved": bool(nxt is None or top["ST"] - top["ST_conf"] > nxt["ST"] + nxt["ST_conf"]),
            "runner_up": None if nxt is None else nxt["factor"],
            "narrowed_by": narrowed_by(top["factor"]),
            "top_lever": lev.iloc[0]["factor"],
            "top_lever_ST": float(lev.iloc[0]["ST"]),
            "top_lever_ST_conf": float(lev.iloc[0]["ST_conf"]),
            "levers_ST_sum": float(lev["ST"].clip(lower=0).sum()),
            "mechanisms": {
                r["factor"]: [float(r["ST"]), float(r["ST_conf"])]
                for _, r in t[t["kind"] == "behaviour"].iterrows()
            },
            "ranking": t.sort_values("ST", ascending=False)["factor"].tolist(),
            "seed_ST": (
                None
                if (noise := t[t["factor"] == NOISE]).empty
                else [float(noise["ST"].iloc[0]), float(noise["ST_conf"].iloc[0])]
            ),
        }
    return out


def markdown(summary: dict, range_factor: float, checks: pd.DataFrame | None = None) -> str:
    method = summary.get("method", "model")
    lines = [
        f"Levers range from their 2023 level to {range_factor:g} x the plan; lever effects over their ranges; "
        "behaviour by mechanism (each mechanism's parameters from one posterior particle drawn by weight, "
        "mechanisms drawn independently: the posterior's correlations inside a mechanism are kept, those "
        "between mechanisms dropped); the seed. ST: total-order Sobol index (share of the output's variance "
        "that goes if the factor is fixed) ± its 95 % half-width"
        + (
            "; computed on the emulator (levers, effects, mechanisms) and from repeated runs (the seed)."
            if method == "emulator"
            else "."
        ),
        "",
        "| output | dominant uncertainty (ST ± 95 %) | what would narrow it | most influential lever (ST ± 95 %) | sum of the levers' ST |",
        "|---|---|---|---|---|",
    ]
    for name, s in summary.items():
        if name not in OUTPUT_NAMES:
            continue
        label = name if name.startswith("reach_") else f"{name} 2026 value"
        if "undefined" in s:
            lines.append(f"| {label} | {s['undefined']} | – | – | – |")
            continue
        lead = "" if s["dominant_resolved"] else f"; not resolved from {s['runner_up']}"
        lines.append(
            f"| {label} | {s['dominant_uncertainty']} "
            f"({index_text(s['dominant_uncertainty_ST'], s['dominant_uncertainty_ST_conf'])}{lead}) | "
            f"{s['narrowed_by']} | `{s['top_lever']}` ({index_text(s['top_lever_ST'], s['top_lever_ST_conf'])}) | "
            f"{index_text(s['levers_ST_sum'])} |"
        )
    mech = [g for g in GROUPS]
    lines += [
        "",
        "**Behaviour mechanisms** (total index ± 95 % half-width, per output):",
        "",
        "| output | " + " | ".join(mech) + " |",
        "|---|" + "---|" * len(mech),
    ]
    for name, s in summary.items():
        if name not in OUTPUT_NAMES or "undefined" in s:
            continue
        cells = []
        for g in mech:
            v = s["mechanisms"].get(mechanism_label(g))
            cells.append("–" if v is None else index_text(*v))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "What each mechanism is and what data would narrow it (`sim.model.mechanisms.GROUPS`):", ""]
    lines += [f"- **{g}**: {what}; narrowed by {data}." for g, (what, data) in GROUPS.items()]
    if checks is not None and not checks.empty:
        lines += [
            "",
            "**The emulator, out of sample** (fitted on the other runs, predicting held-out runs):",
            "",
            "| output | held-out runs | R² | R² ceiling (seed noise) | RMSE | seed sd | reach: Brier (base rate) | Brier skill |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for _, r in checks.iterrows():
            lines.append(
                f"| {r['output']} | {int(r['n_test'])} | {r['r2']:.3f} | {r['r2_ceiling']:.3f} | {r['rmse']:,.4g} | "
                f"{r['seed_sd']:,.4g} | {r['brier']:.3f} ({r['brier_base']:.3f}) | {r['brier_skill']:.2f} |"
            )
    if "full_scale" in summary:
        lines += ["", *full_scale_markdown(summary)]
    lines += [
        "",
        "Every factor and output, first and total order with intervals: `sensitivity.csv`"
        + (
            "; at the real population's size: `sensitivity_full_scale.csv`, `scale_check.csv`"
            if "full_scale" in summary
            else ""
        )
        + ("; the emulator's check: `emulator.csv`." if method == "emulator" else "."),
    ]
    return "\n".join(lines)


def full_scale_markdown(summary: dict) -> list[str]:
    """The section on the model's randomness at the real population's size (``summary["full_scale"]``): the
    study's runs are of a scaled-down population, whose randomness is larger, so the seed's share there
    overstates it."""
    fs = summary["full_scale"]
    scale, k = fs["scale"], fs["pairs"]
    emu = summary.get("emulator", {})
    lines = [
        f"**At the real population's size.** The runs above model {scale:g} of the real firms; a smaller "
        "population is noisier, so the seed's share above is that of the scaled-down model. The first "
        f"{k:,} points were run twice more at scale 1: the model's run-to-run sd there, and the indices "
        "recomputed with it on the same emulators (which take the mean at scale 1 to be the mean at the "
        f"study's scale: the last column checks it on the {k:,} points, relative to the study-scale mean).",
        "",
        f"| output | seed's share: scale {scale:g} | seed's share: scale 1 | dominant uncertainty at scale 1 "
        f"(ST ± 95 %) | seed sd: scale {scale:g} | seed sd: scale 1 | mean at scale 1 vs {scale:g} (95 %) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in OUTPUT_NAMES:
        s, f = summary.get(name, {}), fs["outputs"].get(name, {})
        if "undefined" in s or "undefined" in f:
            lines.append(f"| {name} | {s.get('undefined') or f.get('undefined')} | – | – | – | – | – |")
            continue
        dom = (
            f"{f['dominant_uncertainty']} "
            f"({index_text(f['dominant_uncertainty_ST'], f['dominant_uncertainty_ST_conf'])})"
        )
        c = fs["check"].get(name)
        if c is None:
            sds = "– | – | –"
        else:
            m, h = c["full_vs_study_mean"], c["full_vs_study_mean_half"]
            sds = (
                f"{emu.get(name, {}).get('seed_sd', np.nan):,.4g} | {c['seed_sd_full']:,.4g} | "
                f"{m:+.1%} (± {h:.1%})"
            )
        lines.append(f"| {name} | {_seed_text(s)} | {_seed_text(f)} | {dom} | {sds} |")
    return lines


def _seed_text(s: dict) -> str:
    """The seed's total index ± its half-width of one output's summary (``summarise``)."""
    v = s.get("seed_ST")
    return "–" if v is None or not np.isfinite(v[0]) else index_text(*v)


def figure(table: pd.DataFrame, outputs: list[str], path, what: str, n_base: int, method: str = "model"):
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
        f"Sobol indices of the {what}, top {TOP} factors by total order (N = {n_base}"
        + (" on the emulator" if method == "emulator" else "")
        + "; 95 % bootstrap intervals)",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    return atomic.save_figure(path, fig, dpi=90)
