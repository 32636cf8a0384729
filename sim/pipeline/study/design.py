"""What the lever studies share: lever ranges, one model run's spec and outputs, reach, and the
uncertainties grouped by mechanism.

A study evaluates ``RunSpec`` s: a lever setting, a behaviour-parameter set of the posterior (or, for
``sensitivity``, one posterior particle per mechanism group: ``mixed_params``), a model seed and the
lever effects. Each runs through the one evaluator (``sim.model.evaluate``), and keeps ``COLUMNS``:
``OUTPUTS`` (the five headline indicators in 2026 in report units, the public cost of 2024-2026 in 亿元
of all instruments and each instrument's) and every other reported series in ``SERIES_YEARS``
(``"contracts@2024"``: what ``monitoring`` observes and ``portfolio`` reads the caps from).
Common random numbers: studies that compare lever settings give every setting the same replicates
(``sim.pipeline.ensemble.plan_replicates``), so differences come from the levers alone.

Lever ranges: ``lever_range`` (from 0 or the 2023 level to a multiple of the plan) and the full
validated range ``[Lever.lo, Lever.hi]`` through ``lever_at`` / ``lever_position``, a plan-anchored
scale (0 = lo, 0.5 = the plan, 1 = hi; geometric above the plan where the range is wide), so that a
search or a curve spends its points where they matter and still reaches the top of a range 50 x the
plan.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.model.evaluate import COST, INSTRUMENT_COSTS, Indicators, ModelRun, evaluate
from sim.model.mechanisms import GROUPS, groups_of
from sim.model.outcomes import HEADLINE, OUTCOMES, TARGETS
from sim.model.params import LAST_BASE_YEAR, PLAN_YEAR, BehaviourParams
from sim.model.policy import INSTRUMENTS, LEVERS, PolicyLevers, effects_row, free_effect_fields
from sim.pipeline.plots import english

COSTS = list(INSTRUMENT_COSTS.values())  # 亿元, public cost 2024-2026 of each instrument
OUTPUTS: list[str] = [*HEADLINE, COST, *COSTS]
#: Every reported series that is not spending (``sim.model.outcomes.OUTCOMES``, read when imported: a
#: series the model adds is kept without a change here).
SERIES: list[str] = [k for k, o in OUTCOMES.items() if o.kind != "cost"]
#: Years of ``SERIES`` a study run keeps: the last data year, the two years a researcher can observe
#: next, and the plan year.
SERIES_YEARS: tuple[int, ...] = tuple(range(LAST_BASE_YEAR, PLAN_YEAR + 1))
#: What a study keeps of each run: ``OUTPUTS`` then ``series@year`` for ``SERIES`` x ``SERIES_YEARS``.
COLUMNS: list[str] = [*OUTPUTS, *(f"{s}@{y}" for s in SERIES for y in SERIES_YEARS)]
ALL_FIVE = "all_five"  # every headline target reached in the same replicate
#: Targets and what one "unit of effect" is for cost-effectiveness (亿元 per unit), per target.
EFFECT_UNITS = {
    "T01": (100.0, "100 亿元 of turnover"),
    "T02": (1000.0, "1,000 tech SMEs"),
    "T03": (100.0, "100 HNTE"),
    "T04": (1000.0, "1,000 invention patents"),
    "T05": (1.0, "percentage point of T05"),
}
#: ASCII names of the same units for figures (no CJK glyphs in figure text).
EFFECT_UNITS_ASCII = {
    "T01": "100 x 100m yuan of turnover",
    "T02": "1,000 tech SMEs",
    "T03": "100 HNTE",
    "T04": "1,000 patents",
    "T05": "point of T05",
}
COST_LABEL = "public cost 2024-26 (100 million yuan)"


@dataclass(frozen=True)
class RunSpec:
    """One model run of a study: levers, parameter set (index into the posterior), seed, effects."""

    levers: Any  # PolicyLevers
    param_set: int | tuple[int, ...]  # a posterior set, or one particle per mechanism group (mixed_params)
    seed: int
    effects: Any  # LeverEffects

    def model_run(self, params: Any, scale: float, end_year: int) -> ModelRun:
        """The run for the one evaluator (``params``: the parameter set ``param_set`` names)."""
        return ModelRun(self.levers, params, self.effects, self.seed, scale, end_year)

    def key(self, scale: float, end_year: int) -> str:
        """Hash of everything the run's outputs depend on (the posterior file is in the study fingerprint);
        a lever's path hashes as given (a mapping's years as JSON keys)."""
        d = {
            "levers": asdict(self.levers),
            "param_set": (
                int(self.param_set) if np.isscalar(self.param_set) else [int(p) for p in self.param_set]
            ),
            "seed": int(self.seed),
            "effects": effects_row(self.effects),
            "scale": float(scale),
            "end_year": int(end_year),
        }
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:24]


def replicate_spec(levers: Any, rep: Any) -> RunSpec:
    """The run of replicate ``rep`` (``sim.pipeline.ensemble.Replicate``) under ``levers``: its seed, its
    parameter set and its sampled lever effects, as ``python -m sim`` would run it."""
    from sim.pipeline.ensemble import replicate_effects

    return RunSpec(levers, rep.param_set, rep.seed, replicate_effects(rep, "sampled"))


#: What a run can raise at extreme lever settings: the model's numerical limits (e.g. a Poisson mean past
#: numpy's range with every lever at the top of its range). ``evaluate_or_failure`` returns them as text.
NUMERICAL_ERRORS = (ValueError, OverflowError, FloatingPointError)


def evaluate_or_failure(run: ModelRun) -> Indicators | str:
    """``sim.model.evaluate.evaluate``, or the text of a numerical failure (``NUMERICAL_ERRORS``): what a
    search over the levers' full ranges uses, so that a mix the model cannot run is recorded as failed
    (``outputs``: NaN) instead of stopping the study."""
    try:
        return evaluate(run)
    except NUMERICAL_ERRORS as exc:
        return f"{type(exc).__name__}: {exc}"


def outputs(run: Indicators | str) -> np.ndarray:
    """A run's ``COLUMNS`` as floats: the headline indicators in 2026, the public cost of 2024-2026 and
    each instrument's (``sim.model.evaluate.Indicators``), then every series of ``SERIES`` in each of
    ``SERIES_YEARS`` (NaN where the run does not report it); every column NaN for a failed run (text)."""
    if isinstance(run, str):
        return np.full(len(COLUMNS), np.nan)
    head = np.concatenate([run.at(PLAN_YEAR, HEADLINE), [run.cost()], list(run.costs().values())])
    where = {n: k for k, n in enumerate(run.names)}
    rows = {int(y): k for k, y in enumerate(run.years)}
    series = np.full((len(SERIES), len(SERIES_YEARS)), np.nan)
    for i, name in enumerate(SERIES):
        if name in where:
            for j, year in enumerate(SERIES_YEARS):
                if year in rows:
                    series[i, j] = run.values[rows[year], where[name]]
    return np.concatenate([head, series.ravel()])


# --------------------------------------------------------------------------- levers
def lever_value(name: str, value: Any) -> Any:
    """``value`` in the lever's type (counts rounded), clipped to its allowed range; a per-year path
    (a list from 2024 or a mapping from year) value by value."""
    if isinstance(value, Mapping):
        return {year: lever_value(name, v) for year, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [lever_value(name, v) for v in value]
    lv = LEVERS[name]
    v = min(max(float(value), lv.lo), lv.hi)
    return int(round(v)) if lv.kind is int else float(v)


def with_levers(base: Any, **values: Any) -> Any:
    """A copy of ``base`` (PolicyLevers) with some levers set (typed, clipped; one value or a path)."""
    d = asdict(base)
    d.update({k: lever_value(k, v) for k, v in values.items()})
    return PolicyLevers(**d)


def lever_range(name: str, factor: float, lower: str = "zero") -> tuple[float, float]:
    """A study's range of a lever: from 0 (``lower="zero"``) or its 2023 level (``"level_2023"``) to
    ``factor`` x the plan's value (an assumption of the study, stated in its config and findings)."""
    lv = LEVERS[name]
    lo = 0.0 if lower == "zero" else float(lv.level_2023)
    hi = factor * float(lv.plan)
    return (max(lo, lv.lo), min(hi, lv.hi))


#: A lever whose validated top is more than this many times its plan value is spaced geometrically above
#: the plan (``lever_at``): linear steps would put every point but one far past anything plausible.
WIDE_RANGE = 4.0


def lever_at(name: str, u: float) -> float:
    """The lever's value at position ``u`` in [0, 1] of its full validated range ``[Lever.lo, Lever.hi]``,
    plan-anchored: 0 = lo, 0.5 = the plan, 1 = hi; linear below the plan, geometric above it when the range
    is wide (hi > ``WIDE_RANGE`` x plan), linear otherwise. Typed and clipped by ``lever_value``."""
    lv = LEVERS[name]
    u = min(max(float(u), 0.0), 1.0)
    lo, hi, plan = float(lv.lo), float(lv.hi), min(max(float(lv.plan), lv.lo), lv.hi)
    if u <= 0.5:
        x = lo + (plan - lo) * 2 * u
    elif plan > 0 and hi > WIDE_RANGE * plan:
        x = plan * (hi / plan) ** (2 * u - 1)
    else:
        x = plan + (hi - plan) * (2 * u - 1)
    return lever_value(name, x)


def lever_position(name: str, value: float) -> float:
    """The inverse of ``lever_at``: the position in [0, 1] of ``value`` on the lever's validated range."""
    lv = LEVERS[name]
    lo, hi, plan = float(lv.lo), float(lv.hi), min(max(float(lv.plan), lv.lo), lv.hi)
    v = min(max(float(value), lo), hi)
    if v <= plan:
        return 0.5 * (v - lo) / (plan - lo) if plan > lo else 0.5
    if plan > 0 and hi > WIDE_RANGE * plan:
        return 0.5 + 0.5 * np.log(v / plan) / np.log(hi / plan)
    return 0.5 + 0.5 * (v - plan) / (hi - plan)


def lever_scale_text() -> str:
    """How ``lever_at`` spaces the levers, for the pages."""
    return (
        "each lever over its full validated range [lo, hi] (`Lever.lo`, `Lever.hi`), on a plan-anchored scale: "
        "position 0 = lo, 0.5 = the plan, 1 = hi; linear below the plan, geometric (log) above it where hi > "
        f"{WIDE_RANGE:g} x the plan"
    )


def lever_unit(name: str) -> str:
    """The lever's unit in English (figures: the default fonts have no CJK glyphs)."""
    return english(LEVERS[name].unit)


# --------------------------------------------------------------------------- reach
def reached(frame: pd.DataFrame) -> pd.DataFrame:
    """0/1 per run and headline target (value > target, the plan's 突破), plus ``all_five``."""
    out = pd.DataFrame({t: (frame[t] > TARGETS[t].target).astype(float) for t in HEADLINE}, index=frame.index)
    out[frame[HEADLINE].isna().any(axis=1)] = np.nan
    out[ALL_FIVE] = out[HEADLINE].min(axis=1)
    return out


def fmt_value(tid: str, v: float, diff: bool = False) -> str:
    """A 2026 value (or, ``diff``, a difference) in report units for text."""
    if v is None or np.isnan(float(v)):
        return "n/a"
    if TARGETS[tid].unit == "percent":
        return f"{v:+.2f} pp" if diff else f"{v:.2f} %"
    return f"{v:+,.0f}" if diff else f"{v:,.0f}"


def index_text(value: float, half: float | None = None) -> str:
    """A sensitivity index with its 95 % half-width, to the half-width's first significant digit (at least
    2 decimals, at most ``INDEX_MAX_DECIMALS``): a small but resolved index reads "0.0020 ± 0.0009", not
    "0.00 ± 0.00", which looks like an exact zero."""
    if value is None or not np.isfinite(float(value)):
        return "n/a"
    if half is None or not np.isfinite(float(half)):
        return f"{value:.2f}"
    d = 2 if half <= 0 else int(min(INDEX_MAX_DECIMALS, max(2, -np.floor(np.log10(half)))))
    return f"{value:.{d}f} ± {half:.{d}f}"


INDEX_MAX_DECIMALS = 4  # below 0.0001 a share of variance says nothing a reader can act on


# --------------------------------------------------------------------------- uncertainties by mechanism
def behaviour_groups() -> dict[str, list[str]]:
    """The calibrated behaviour parameters (``BehaviourParams`` with a prior) by mechanism
    (``sim.model.mechanisms.groups_of``), in ``GROUPS`` order."""
    return groups_of(BehaviourParams.calibrated_names())


def mechanism_label(group: str) -> str:
    """A mechanism group's name for tables: ``entry_growth`` -> ``behaviour: entry_growth``."""
    return f"behaviour: {group}"


def mechanism_text(group: str) -> tuple[str, str]:
    """(what the mechanism is, the data that would narrow it) from ``GROUPS``."""
    return GROUPS[group]


def mixed_params(param_sets: Any, picks: Any) -> BehaviourParams:
    """A behaviour-parameter set made of one posterior particle per mechanism group: group ``k`` of
    ``behaviour_groups()`` takes its parameters from particle ``picks[k]`` (the rest from the first pick).

    The approximation ``sensitivity`` states: correlations inside a mechanism are the posterior's, those
    between mechanisms are dropped (each group's marginal is the posterior's)."""
    groups = list(behaviour_groups().values())
    if len(picks) != len(groups):
        raise ValueError(f"mixed_params: {len(picks)} picks for {len(groups)} mechanism groups")
    sets = param_sets.sets
    values = {name: getattr(sets[int(p)], name) for p, names in zip(picks, groups) for name in names}
    return dataclasses.replace(sets[int(picks[0])], **values)


def params_of(param_sets: Any, spec: RunSpec) -> BehaviourParams:
    """The behaviour parameters a run spec names: one posterior set, or one particle per mechanism."""
    if np.isscalar(spec.param_set):
        return param_sets.sets[int(spec.param_set)]
    return mixed_params(param_sets, spec.param_set)


def effect_group(key: str) -> str:
    """The group of a lever effect (``voucher_budget.additionality`` -> ``voucher_budget effects``)."""
    return f"{key.split('.', 1)[0]} effects"


def uncertainty_group(column: str) -> str:
    """The group of an uncertainty column of ``uncertainty_frame``: a mechanism or an instrument's effects."""
    kind, name = column.split(":", 1)
    if kind == "behaviour":
        from sim.model.mechanisms import mechanism_of

        return mechanism_label(mechanism_of(name))
    return effect_group(name)


def uncertainty_frame(param_sets: Any, reps: list) -> pd.DataFrame:
    """One row per replicate: its lever effects (``effect:KEY``) and its calibrated behaviour parameters
    (``behaviour:NAME``); columns that never vary are dropped (they bound nothing)."""
    from sim.pipeline.ensemble import replicate_effects

    names = BehaviourParams.calibrated_names()
    free = {k for k, _ in free_effect_fields()}  # the calibrated ones are behaviour columns below
    rows = []
    for r in reps:
        row = {f"effect:{k}": v for k, v in effects_row(replicate_effects(r, "sampled")).items() if k in free}
        params = param_sets.sets[r.param_set]
        row.update({f"behaviour:{k}": float(getattr(params, k)) for k in names})
        rows.append(row)
    x = pd.DataFrame(rows)
    return x.loc[:, x.nunique() > 1]


def instrument_names() -> list[str]:
    """The instruments' names, in ``INSTRUMENTS`` order (one effect group each)."""
    return [cls.name for cls in INSTRUMENTS]
