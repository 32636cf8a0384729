"""The explorer's only door into the model wing and the pipeline.

Every call the explorer makes to ``sim.model`` and to the ensemble and report helpers goes
through this module, so a change of those interfaces is mended here. What it relies on:

* ``sim.model.policy.PolicyLevers``: one dataclass field per lever, metadata ``unit``,
  ``range`` (lo, hi), ``source``, ``kind`` (int: counts) and ``level_2023``; a field holds one value
  or a per-year path from 2024 (``as_override`` writes it as ``python -m sim`` takes it). New fields
  appear as controls.
* ``sim.model.policy.SCENARIOS`` / ``scenario(name)``: the named scenarios.
* ``sim.model.evaluate``: the one evaluator; a replicate's run (``ModelRun``) returns its
  ``Indicators`` (T01-T05 and the public cost of 2024-2026, ``COST_YEARS``).
* ``sim.pipeline.ensemble.plan_replicates`` / ``load_param_sets`` / ``replicate_run``: the
  replicate plan of a study (seed, posterior parameter set and lever-effects seed of each
  replicate) and a replicate's run, as ``python -m sim`` makes them; ``effects`` is drawn from
  the replicate's ``effects_seed`` (``sampled``) or ``central``.
* ``sim.pipeline.report.indicator_summary`` and ``reach``: quantiles and P(reach), as in
  ``summary.json``; ``sim.pipeline.plots.fan_chart``: the fan chart of the run folders.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.model.evaluate import COST_YEARS, Indicators, ModelRun, evaluate  # noqa: F401 (the engine's)
from sim.model.outcomes import HEADLINE, TARGETS
from sim.model.params import PLAN_YEAR, ConfigError  # noqa: F401 (PLAN_YEAR: the page's)
from sim.model.policy import (
    EFFECT_MODES,
    FIRST_SCENARIO_YEAR,
    SCENARIOS,
    PolicyLevers,
    as_override,
    scenario,
)
from sim.paths import REPO_ROOT
from sim.pipeline import ensemble, report
from sim.pipeline.plots import english

BASELINE = "plan"  # the paired difference is taken from this scenario
EFFECTS = EFFECT_MODES  # lever effects: sampled per replicate (the default, as python -m sim) | central
INDICATORS = tuple(HEADLINE)  # T01-T05


# --------------------------------------------------------------------------- levers
SLIDER_SPAN = 3.0  # a slider runs from the field's lower bound to about 3x the plan (or the 2023 level)
NICE = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)  # round numbers for the slider's top
FIRST_YEAR = FIRST_SCENARIO_YEAR  # the first year a lever can start (a control's "from")


def _nice_ceil(x: float, steps: tuple[float, ...] = NICE) -> float:
    """The smallest round number (``steps`` x a power of ten) not below ``x`` (> 0)."""
    power = 10 ** math.floor(math.log10(x))
    return next(round(m * power, 12) for m in steps if m * power >= x * (1 - 1e-12))


@dataclass(frozen=True)
class Lever:
    """One control: a ``PolicyLevers`` field with its unit, hard range, source, plan and 2023 level.

    The slider spans ``lo`` to ``slider_hi`` (about ``SLIDER_SPAN`` x the plan), where a drag moves
    the lever by useful amounts; the number box takes the whole validated range [lo, hi]. The
    start year sets the path the lever follows (``path``): its 2023 level before that year.
    """

    name: str
    integer: bool
    lo: float
    hi: float
    unit: str  # in English
    source: str
    plan: float = 0.0
    level_2023: float = 0.0

    @property
    def slider_hi(self) -> float:
        """Top of the slider: a round number near ``SLIDER_SPAN`` x the plan (or 2023 level), in range."""
        base = SLIDER_SPAN * max(self.plan, self.level_2023)
        if base <= self.lo:
            return self.hi
        return min(self.hi, _nice_ceil(base - self.lo) + self.lo)

    @property
    def step(self) -> float:
        """Slider step: a round number (1, 2 or 5 x a power of ten) giving ~300 positions (counts: >= 1)."""
        raw = (self.slider_hi - self.lo) / 300
        step = _nice_ceil(raw, (1.0, 2.0, 5.0, 10.0)) if raw > 0 else 1
        return max(1, int(round(step))) if self.integer else step

    def coerce(self, value: float) -> float | int:
        return int(round(value)) if self.integer else float(value)

    def path(self, value: float, start: int) -> Any:
        """The lever set to ``value`` from ``start`` on and held at its 2023 level before; from 2024 it is
        the one value (the plan's rule: a build-up lever reaches it in 2026)."""
        if start <= FIRST_YEAR:
            return self.coerce(value)
        return [self.coerce(self.level_2023)] * (start - FIRST_YEAR) + [self.coerce(value)]

    def split(self, setting: Any) -> tuple[float | int, int]:
        """``(value, start)`` of a setting ``path`` made (one value: from 2024)."""
        if isinstance(setting, list):
            return setting[-1], FIRST_YEAR + len(setting) - 1
        return setting, FIRST_YEAR


def levers() -> list[Lever]:
    """One ``Lever`` per ``PolicyLevers`` field, in declaration order."""
    out = []
    for f in fields(PolicyLevers):
        lo, hi = f.metadata["range"]
        out.append(
            Lever(
                name=f.name,
                integer=f.metadata.get("kind", f.type) in ("int", int),
                lo=lo,
                hi=hi,
                unit=english(f.metadata.get("unit", "")),
                source=f.metadata.get("source", ""),
                plan=float(f.default),
                level_2023=float(f.metadata.get("level_2023", f.default)),
            )
        )
    return out


def start_years(end_year: int) -> list[int]:
    """The years a lever can start from (2024 to ``end_year``)."""
    return list(range(FIRST_YEAR, end_year + 1))


def describe_setting(value: Any) -> str:
    """A lever's setting as ``python -m sim`` takes it (``2.0``, ``[1.0,2.0]``)."""
    return as_override(value)


def hashable(value: Any) -> Any:
    """A lever's setting in a hashable form (a list as a tuple, a mapping as a tuple of pairs)."""
    if isinstance(value, dict):
        return tuple((k, hashable(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(hashable(v) for v in value)
    return value


def unhashable(value: Any) -> Any:
    """Inverse of ``hashable`` for lever settings (their values are numbers, never tuples)."""
    if isinstance(value, tuple):
        if value and all(isinstance(v, tuple) for v in value):
            return {k: unhashable(v) for k, v in value}
        return [unhashable(v) for v in value]
    return value


def scenario_names() -> list[str]:
    return list(SCENARIOS)


def scenario_values(name: str) -> dict[str, float | int]:
    """The lever values of a named scenario."""
    return dataclasses.asdict(scenario(name))


def make_levers(values: dict[str, Any]) -> PolicyLevers:
    """Validated ``PolicyLevers``; raises ``ConfigError`` naming the field and its allowed range."""
    return PolicyLevers(**values).validate("policy")


def check_lever(name: str, value: Any) -> str | None:
    """The field's error message for ``name = value``, or None when the value is allowed."""
    try:
        dataclasses.replace(PolicyLevers(), **{name: value}).validate("policy")
    except ConfigError as exc:
        return english(str(exc))
    return None


# --------------------------------------------------------------------------- runs
def param_sets(posterior: str = "default") -> ensemble.ParamSets:
    return ensemble.load_param_sets(posterior)


def posterior_note(sets: ensemble.ParamSets) -> str:
    """One short line on the parameter sets in use (what the page states)."""
    info = sets.info
    if not info.get("sha256"):
        return sets.note
    path = Path(info["path"])
    shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
    return (
        f"calibrated posterior {shown} ({info['sets']} sets, effective sample size {info['ess']:.0f}, "
        f"sha256 {info['sha256'][:12]}), one set per replicate drawn by weight"
    )


def replicate_plan(seed: int, n: int, sets: ensemble.ParamSets) -> list[ensemble.Replicate]:
    """Replicates 0..n-1 of the study with root ``seed``: the plan ``python -m sim`` uses."""
    return ensemble.plan_replicates(seed, range(n), len(sets), sets.weights)


def model_run(
    levers: PolicyLevers,
    sets: ensemble.ParamSets,
    rep: ensemble.Replicate,
    scale: float,
    effects: str,
    end_year: int,
) -> ModelRun:
    """Replicate ``rep`` under ``levers``, as ``python -m sim`` runs it (for ``sim.model.evaluate``)."""
    return ensemble.replicate_run(levers, sets.sets[rep.param_set], rep, scale, end_year, effects)


@dataclass(frozen=True)
class Replicated:
    """What the explorer keeps of one replicate: the headline indicators (tidy rows) and its cost."""

    results: pd.DataFrame  # tidy, columns as ``sim.pipeline.ensemble.COLUMNS``, T01-T05 only
    cost: float  # public spending 2024-2026 over every instrument, 亿元

    @classmethod
    def of(cls, rep: ensemble.Replicate, run: Indicators) -> "Replicated":
        """From the replicate's run (``sim.model.evaluate.evaluate``)."""
        return cls(ensemble.tidy([rep], [run.select(INDICATORS)]), run.cost())


# --------------------------------------------------------------------------- reports
def target(tid: str):
    return TARGETS[tid]


def indicator_summary(results: pd.DataFrame, tid: str, end_year: int) -> dict[str, Any]:
    """As in summary.json: ``by_year`` p05/p50/p95 and ``p_reach`` with its Wilson interval."""
    return report.indicator_summary(results, tid, end_year)


def reached(values: np.ndarray, tid: str) -> np.ndarray:
    """Per replicate: 1.0 when the target is reached (as ``report.reach`` counts it), else 0.0."""
    t = TARGETS[tid]
    out = [report.reach(np.array([v]), t.target)["p_reach"] for v in values]
    return np.array([np.nan if r is None else r for r in out], dtype=float)


def observed(tid: str) -> pd.Series | None:
    """Official values 2018-2023 (None when the history has none), as the run folders' fan charts show."""
    from sim.pipeline import plots

    return plots.observed_points(tid)[0]


def unit_label(unit: str) -> str:
    from sim.pipeline import plots

    return plots.unit_label(unit)
