"""What the lever studies share: lever ranges, one model run's spec and outputs, and reach.

A study evaluates ``RunSpec`` s: a lever setting, a behaviour-parameter set of the posterior, a
model seed and the lever effects. Each runs through the one evaluator (``sim.model.evaluate``), and
keeps ``OUTPUTS``: the five headline indicators in 2026 (report units), the public cost of 2024-2026
in 亿元 (all instruments) and each instrument's.
Common random numbers: studies that compare lever settings give every setting the same replicates
(``sim.pipeline.ensemble.plan_replicates``), so differences come from the levers alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.model.evaluate import COST, INSTRUMENT_COSTS, Indicators, ModelRun
from sim.model.outcomes import HEADLINE, TARGETS
from sim.model.params import PLAN_YEAR
from sim.model.policy import LEVERS, PolicyLevers, effects_row
from sim.pipeline.plots import english

COSTS = list(INSTRUMENT_COSTS.values())  # 亿元, public cost 2024-2026 of each instrument
OUTPUTS: list[str] = [*HEADLINE, COST, *COSTS]
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
    param_set: int
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
            "param_set": int(self.param_set),
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


def outputs(run: Indicators) -> np.ndarray:
    """A run's ``OUTPUTS`` as floats: the headline indicators in 2026, the public cost of 2024-2026 and
    each instrument's (``sim.model.evaluate.Indicators``)."""
    return np.concatenate([run.at(PLAN_YEAR, HEADLINE), [run.cost()], list(run.costs().values())])


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
