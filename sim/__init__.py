"""Agent-based model of Shaanxi's Qinchuangyuan innovation ecosystem (2019-2026 and beyond).

The public API: what a notebook or script needs, importable from ``sim`` (README, "From Python")::

    from sim import scenario, plan_replicates, run_ensemble, paired_difference, format_difference

    plan, more = scenario("plan"), scenario("plan")
    more.voucher_budget = 4.0                        # 亿元 a year, checked against the lever's range
    reps = plan_replicates(seed=0, replicates=range(50))
    a = run_ensemble(more, reps, scale=0.1)           # tidy results: replicate, year, indicator, value
    b = run_ensemble(plan, reps, scale=0.1)           # the same replicates: differences are paired

Names are loaded on first use (``import sim`` stays light for the command line). Where each lives:
``EXPORTS``.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> (module, attribute)
EXPORTS: dict[str, tuple[str, str]] = {
    # the model: scenarios and levers, targets, parameters, one model run
    "scenario": ("sim.model.policy", "scenario"),
    "PolicyLevers": ("sim.model.policy", "PolicyLevers"),
    "LEVERS": ("sim.model.policy", "LEVERS"),
    "HEADLINE": ("sim.model.outcomes", "HEADLINE"),
    "TARGETS": ("sim.model.outcomes", "TARGETS"),
    "BehaviourParams": ("sim.model.params", "BehaviourParams"),
    "InnovationModel": ("sim.model", "InnovationModel"),
    # data: the calibrated posterior, the observed history
    "load_posterior": ("sim.data.posterior", "load_posterior"),
    "observed": ("sim.data.history", "observed"),
    # ensembles: as python -m sim runs them
    "SimConfig": ("sim.pipeline.run", "SimConfig"),
    "execute": ("sim.pipeline.run", "execute"),
    "load_param_sets": ("sim.pipeline.ensemble", "load_param_sets"),
    "plan_replicates": ("sim.pipeline.ensemble", "plan_replicates"),
    "run_ensemble": ("sim.pipeline.ensemble", "run_ensemble"),
    # what an ensemble says: P(reach), cost, paired differences, how far to trust it
    "reach": ("sim.pipeline.report", "reach"),
    "reach_all": ("sim.pipeline.report", "reach_all"),
    "reached_all": ("sim.pipeline.report", "reached_all"),
    "public_cost": ("sim.pipeline.report", "public_cost"),
    "spending_summary": ("sim.pipeline.report", "spending_summary"),
    "reach_table": ("sim.pipeline.analyze", "reach_table"),
    "paired_difference": ("sim.pipeline.paired", "paired_difference"),
    "paired_mean_difference": ("sim.pipeline.paired", "paired_mean_difference"),
    "format_difference": ("sim.pipeline.paired", "format_difference"),
    "assess_credibility": ("sim.pipeline.credibility", "assess"),
    "credibility_markdown": ("sim.pipeline.credibility", "markdown"),
    # figures
    "fan_chart": ("sim.pipeline.plots", "fan_chart"),
    "fan_overlay": ("sim.pipeline.plots", "fan_overlay"),
    "lever_response_figure": ("sim.pipeline.plots", "lever_response_figure"),
    # lever studies: run one, read a finished one
    "run_study": ("sim.pipeline.study.load", "run"),
    "load_study": ("sim.pipeline.study.load", "load"),
    "open_study": ("sim.pipeline.study.load", "open_study"),
}
__all__ = sorted(EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in EXPORTS:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    module, attribute = EXPORTS[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
