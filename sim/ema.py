"""The model as an EMA Workbench ``Model``: levers, uncertainties and outcomes from the project's declarations.

    from ema_workbench import perform_experiments
    from sim.ema import ema_model

    model = ema_model(scale=0.1)                      # behaviour uncertainty: the calibration priors
    experiments, outcomes = perform_experiments(model, scenarios=50, policies=4)

Everything is read from where the project declares it, so a new lever, effect, prior or instrument
appears here by itself:

* **levers**: one per ``sim.model.policy.PolicyLevers`` field, over its allowed range
  (``metadata["range"]``), an ``IntegerParameter`` for counts and a ``RealParameter`` otherwise;
  the default is the plan's value, so a policy that leaves a lever out keeps the plan's.
* **uncertainties**:
    - the behaviour parameters: with ``behaviour="prior"`` each calibrated ``BehaviourParams`` field
      uniform on its calibration prior (``metadata["prior"]``); with ``behaviour="posterior"`` one
      ``IntegerParameter`` ``particle`` over the calibrated posterior's particles: each parameter set
      repeated in proportion to its weight (``posterior_particles``), so that EMA's uniform sampling of
      the index draws sets by weight, as ``python -m sim`` does;
    - every lever effect not calibrated (``sim.model.policy.free_effect_fields()``) uniform on its range,
      named
      ``<lever>__<effect>`` (``variable_name`` is the effect's own ``<lever>.<effect>``), or
      none with ``effects="central"`` (every effect at its central value);
    - ``seed``: the model's seed. Policies evaluated on the same scenario share it, so their
      differences are paired (common random numbers). It is noise, not a driver: leave it out of
      PRIM and feature scoring (``experiments.drop(columns="seed")``).
* **outcomes** (``sim.model.outcomes``): each headline indicator in 2026 (``T01`` ... ``T05``,
  report units, maximised), whether it exceeds its target (``T01_reached`` ..., 0/1, and
  ``all_reached``), the public cost of 2024-2026 over every instrument (``cost``, 亿元, minimised)
  and by instrument (``cost_<lever>``).

The model's function (``ExperimentFunction``) builds one ``sim.model.evaluate.ModelRun`` from an
experiment and runs it with the one evaluator (``sim.model.evaluate.evaluate``): the same run
``python -m sim`` would make from those inputs. It is picklable, so EMA's
``MultiprocessingEvaluator`` works too. Parameters not given take their defaults (plan levers,
central effects, central behaviour values, seed 0).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any, Sequence

import numpy as np

from sim.model.evaluate import COST, INSTRUMENT_COSTS, ModelRun, evaluate
from sim.model.outcomes import HEADLINE, reached
from sim.model.params import PLAN_YEAR, BehaviourParams, ConfigError, RunConfig
from sim.model.policy import PolicyLevers, effects_from_row, free_effect_fields

BEHAVIOUR = ("prior", "posterior")
EFFECTS = ("sampled", "central")
SEED = "seed"
PARTICLE = "particle"
SEED_RANGE = (0, 2**31 - 1)  # the model seeds an experiment draws from (as the sensitivity study's)
ALL_REACHED = "all_reached"
EFFECT_SEPARATOR = "__"  # <lever>__<effect>: EMA names must be Python identifiers
MAX_PARTICLES = 10_000  # posterior particles at most (weights matched to within 1 / MAX_PARTICLES)


def reached_name(tid: str) -> str:
    return f"{tid}_reached"


def posterior_particles(weights: Sequence[float], max_particles: int = MAX_PARTICLES) -> np.ndarray:
    """Parameter-set index of each particle: every set repeated in proportion to its weight.

    The smallest number of particles that gives every weight exactly (within 1e-9), such as the 300
    particles of an ABC posterior whose weights are counts / 300; else ``max_particles`` by
    systematic resampling (each set's share then within ``1 / max_particles`` of its weight).
    """
    w = np.asarray(weights)
    if w.ndim != 1 or w.size == 0 or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be one non-negative number per parameter set, not all zero")
    w = w / w.sum()
    size = next(
        (n for n in range(1, max_particles + 1) if np.all(np.abs(n * w - np.round(n * w)) < 1e-9 * n)),
        max_particles,
    )
    cum = np.cumsum(w)
    cum[-1] = 1.0
    return np.searchsorted(cum, (np.arange(size) + 0.5) / size, side="right")


@dataclass(frozen=True)
class ExperimentFunction:
    """What EMA calls for one experiment: keyword inputs -> the outcomes, through the one evaluator."""

    scale: float
    end_year: int
    param_sets: tuple[Any, ...] | None = None  # behaviour="posterior": the parameter set of each particle

    def run(self, **inputs: Any) -> ModelRun:
        """The model run of an experiment: inputs by parameter name (``effects`` by ``<lever>__<effect>``
        or ``<lever>.<effect>``, so a row of EMA's ``experiments`` table without its ``scenario``,
        ``policy`` and ``model`` columns works); missing inputs keep their defaults, unknown ones are refused.
        """
        kinds = {f.name: f.metadata["kind"] for f in fields(PolicyLevers)}
        calibrated = set(BehaviourParams.calibrated_names()) if self.param_sets is None else set()
        effect_keys = {k for k, _ in free_effect_fields()}
        levers, behaviour, effects, unknown = {}, {}, {}, []
        seed, particle = 0, 0
        for key, value in inputs.items():
            effect = key.replace(EFFECT_SEPARATOR, ".")
            if key in kinds:  # counts arrive as whole floats from a table: int, else left for the check
                whole = kinds[key] in (int, "int") and float(value) == int(value)
                levers[key] = int(value) if whole else float(value)
            elif effect in effect_keys:
                effects[effect] = float(value)
            elif key in calibrated:
                behaviour[key] = float(value)
            elif key == SEED:
                seed = int(value)
            elif key == PARTICLE and self.param_sets is not None:
                particle = int(value)
            else:
                unknown.append(key)
        if unknown:
            raise ConfigError(
                f"unknown input(s) {sorted(unknown)}: not a lever, uncertainty or {SEED} of this model"
            )
        if self.param_sets is None:
            params = dataclasses.replace(BehaviourParams(), **behaviour).validate()
        elif 0 <= particle < len(self.param_sets):
            params = self.param_sets[particle]
        else:
            raise ConfigError(f"{PARTICLE} = {particle}: must be in [0, {len(self.param_sets) - 1}]")
        return ModelRun(
            PolicyLevers(**levers), params, effects_from_row(effects), seed, self.scale, self.end_year
        )

    def __call__(self, **inputs: Any) -> dict[str, float]:
        return outcomes(evaluate(self.run(**inputs)))


def outcomes(run) -> dict[str, float]:
    """The EMA outcomes of one run (``sim.model.evaluate.Indicators``)."""
    values = dict(zip(HEADLINE, run.at(PLAN_YEAR, HEADLINE).tolist()))
    out: dict[str, float] = dict(values)
    for tid in HEADLINE:
        out[reached_name(tid)] = float(reached(values[tid], tid))
    out[ALL_REACHED] = float(min(out[reached_name(t)] for t in HEADLINE))
    out[COST] = run.cost()
    out.update(run.costs())
    return out


def ema_model(
    *,
    scale: float = 0.1,
    end_year: int = PLAN_YEAR,
    behaviour: str = "prior",
    posterior: str = "default",
    effects: str = "sampled",
    name: str = "qinchuangyuan",
):
    """An ``ema_workbench.Model`` of the plan's levers (see the module docstring).

    ``scale``: share of the real firm population each run simulates (0.1: ~0.1 s a run);
    ``end_year``: the last year run (at least 2026, the targets' year); ``behaviour``: ``prior`` or
    ``posterior`` (the calibrated posterior ``posterior``, as ``sim.pipeline.ensemble.load_param_sets``
    reads it); ``effects``: ``sampled`` (uncertainties) or ``central``; ``name``: letters and digits.
    """
    from ema_workbench import IntegerParameter, Model, RealParameter, ScalarOutcome

    from sim.calibration.abc import ParamSpace

    if behaviour not in BEHAVIOUR:
        raise ConfigError(f"behaviour = {behaviour!r}: must be one of {', '.join(BEHAVIOUR)}")
    if effects not in EFFECTS:
        raise ConfigError(f"effects = {effects!r}: must be one of {', '.join(EFFECTS)}")
    if isinstance(end_year, bool) or not isinstance(end_year, int) or end_year < PLAN_YEAR:
        raise ConfigError(
            f"end_year = {end_year!r}: must be a whole number >= {PLAN_YEAR} (the targets' year)"
        )
    RunConfig(end_year=end_year, scale=scale).validate()

    levers = []
    for f in fields(PolicyLevers):
        lo, hi = f.metadata["range"]
        if f.metadata["kind"] is int:
            levers.append(IntegerParameter(f.name, int(lo), int(hi), default=int(f.default)))
        else:
            levers.append(RealParameter(f.name, float(lo), float(hi), default=float(f.default)))

    uncertainties = []
    param_sets = None
    if behaviour == "prior":
        space = ParamSpace.from_priors()
        defaults = BehaviourParams()
        for n, lo, hi in zip(space.names, space.lo, space.hi):
            uncertainties.append(RealParameter(n, float(lo), float(hi), default=float(getattr(defaults, n))))
    else:
        from sim.pipeline.ensemble import load_param_sets

        sets = load_param_sets(posterior)
        weights = sets.weights if sets.weights is not None else np.ones(len(sets))
        param_sets = tuple(sets.sets[k] for k in posterior_particles(weights))
        if len(param_sets) > 1:
            uncertainties.append(IntegerParameter(PARTICLE, 0, len(param_sets) - 1, default=0))
    if effects == "sampled":
        for key, f in free_effect_fields():
            lo, hi = f.metadata["range"]
            uncertainties.append(
                RealParameter(
                    key.replace(".", EFFECT_SEPARATOR),
                    float(lo),
                    float(hi),
                    default=float(f.default),
                    variable_name=key,
                )
            )
    uncertainties.append(IntegerParameter(SEED, *SEED_RANGE, default=0))

    model = Model(name, function=ExperimentFunction(float(scale), int(end_year), param_sets))
    model.levers = levers
    model.uncertainties = uncertainties
    model.outcomes = [
        *[ScalarOutcome(t, kind=ScalarOutcome.MAXIMIZE) for t in HEADLINE],
        *[ScalarOutcome(reached_name(t)) for t in HEADLINE],
        ScalarOutcome(ALL_REACHED),
        ScalarOutcome(COST, kind=ScalarOutcome.MINIMIZE),
        *[ScalarOutcome(c) for c in INSTRUMENT_COSTS.values()],
    ]
    return model
