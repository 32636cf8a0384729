"""The explorer's only door into the model wing and the pipeline.

Every call the explorer makes to ``sim.model`` and to the ensemble and report helpers goes
through this module, so a change of those interfaces is mended here. What it relies on:

* ``sim.model.policy.PolicyLevers``: one dataclass field per lever, metadata ``unit``,
  ``range`` (lo, hi) and ``source``; int fields are counts. New fields appear as controls.
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
from sim.model.params import ConfigError
from sim.model.policy import EFFECT_MODES, SCENARIOS, PolicyLevers, scenario
from sim.paths import REPO_ROOT
from sim.pipeline import ensemble, report
from sim.pipeline.plots import english

BASELINE = "plan"  # the paired difference is taken from this scenario
EFFECTS = EFFECT_MODES  # lever effects: sampled per replicate (the default, as python -m sim) | central
INDICATORS = tuple(HEADLINE)  # T01-T05


# --------------------------------------------------------------------------- levers
@dataclass(frozen=True)
class Lever:
    """One control: a ``PolicyLevers`` field with its unit, hard range and source."""

    name: str
    integer: bool
    lo: float
    hi: float
    unit: str  # in English
    source: str

    @property
    def step(self) -> float:
        """Slider step: a round number giving at most ~1,000 positions (1 for counts at least)."""
        raw = (self.hi - self.lo) / 1000
        step = 10 ** math.ceil(math.log10(raw)) if raw > 0 else 1
        return max(1, step) if self.integer else step

    def coerce(self, value: float) -> float | int:
        return int(round(value)) if self.integer else float(value)


def levers() -> list[Lever]:
    """One ``Lever`` per ``PolicyLevers`` field, in declaration order."""
    out = []
    for f in fields(PolicyLevers):
        lo, hi = f.metadata["range"]
        out.append(
            Lever(
                name=f.name,
                integer=f.type in ("int", int),
                lo=lo,
                hi=hi,
                unit=english(f.metadata.get("unit", "")),
                source=f.metadata.get("source", ""),
            )
        )
    return out


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
