"""Ensembles: many replicates of one scenario, on any backend of ``sim.runtime.parallel``.

A replicate is one behaviour-parameter set plus one seed. Replicate ``i`` of a study
draws both from ``SeedSequence([seed, i])``, so it is the same replicate whichever
block, job, machine, backend or scenario it runs in: scenario contrasts are paired (common
random numbers) and a study split over a cluster merges into exactly the ensemble
one machine would have made.

Unless told otherwise, an ensemble uses the calibrated posterior (``sim/data/posterior.csv``),
each replicate drawing its parameter set by weight: the same default as ``python -m sim``. Without
that file the default is an error (``PosteriorUnavailable``); uncalibrated runs are asked for by name
(``posterior="none"``) and say so in every output (``UNCALIBRATED``).

Each replicate is one run of the one evaluator (``sim.model.evaluate``: ``replicate_run`` makes it).
Results are tidy: one row per replicate, indicator and year, with columns
``replicate, seed, param_set, year, indicator, value``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from sim.data.posterior import PROJECTION_ONLY
from sim.model.evaluate import Indicators, ModelRun, evaluate
from sim.model.params import LAST_BASE_YEAR, BehaviourParams, ConfigError
from sim.model.policy import EFFECT_MODES, PolicyLevers, effects_row, make_effects, with_calibrated_effects
from sim.runtime.parallel import SEED_RULE, Executor, seed_of  # noqa: F401 (SEED_RULE: the rule's text)

COLUMNS = ["replicate", "seed", "param_set", "year", "indicator", "value"]


@dataclass(frozen=True)
class Replicate:
    """Which replicate of a study: its index, model seed, parameter set and lever-effects seed."""

    index: int
    seed: int
    param_set: int
    effects_seed: int  # draws this replicate's lever-effect parameters

    def label(self) -> str:
        return f"replicate {self.index} (seed {self.seed}, parameter set {self.param_set})"


def plan_replicates(
    seed: int,
    indices: Iterable[int],
    n_param_sets: int | None = None,
    weights: Sequence[float] | None = None,
) -> list[Replicate]:
    """Seeds and parameter-set draws for replicates ``indices`` of the study with root ``seed``.

    ``SeedSequence([seed, i])`` spawns three children: one picks the parameter set (by
    ``weights`` when given, the posterior's importance weights), one seeds the model, one
    seeds the lever-effect draws; so the model seed depends neither on the number of sets
    nor on their weights. ``n_param_sets=None``: the default posterior's sets and weights
    (``load_param_sets("default")``), which ``run_ensemble`` also uses by default.
    """
    if n_param_sets is None:
        if weights is not None:
            raise ValueError("weights need n_param_sets")
        default = load_param_sets("default")
        n_param_sets, weights = len(default), default.weights
    if seed is None or n_param_sets < 1:
        raise ValueError("plan_replicates needs a seed and at least one parameter set")
    p = None
    if weights is not None:
        p = np.asarray(weights, dtype=float)
        if p.shape != (n_param_sets,) or np.any(p < 0) or p.sum() <= 0:
            raise ValueError("weights must be one non-negative number per parameter set")
        p = p / p.sum()
    plan = []
    for i in indices:
        pick, model, effects = np.random.SeedSequence([int(seed), int(i)]).spawn(3)
        param_set = 0
        if n_param_sets > 1:
            rng = np.random.default_rng(pick)
            param_set = (
                int(rng.choice(n_param_sets, p=p)) if p is not None else int(rng.integers(n_param_sets))
            )
        plan.append(Replicate(int(i), seed_of(model), param_set, seed_of(effects)))
    return plan


# --------------------------------------------------------------------------- parameter sets
#: The label of an uncalibrated run (``posterior=none``), in every output that shows its numbers.
UNCALIBRATED = "UNCALIBRATED (posterior=none: BehaviourParams defaults, not fitted to the 2019-2023 data)"


@dataclass
class ParamSets:
    """Behaviour-parameter sets of an ensemble, their weights, and where they came from."""

    sets: list[BehaviourParams]
    weights: list[float] | None = None  # None: equally likely
    note: str = ""
    info: dict = dataclasses.field(default_factory=dict)  # recorded in manifest and summary

    def __len__(self) -> int:
        return len(self.sets)

    @property
    def calibrated(self) -> bool:
        """Drawn from (or the mean of) a calibrated posterior; False for ``posterior=none``."""
        return bool(self.info.get("calibrated", True))


def uncalibrated(posterior: str) -> bool:
    """Whether runs with this ``posterior`` setting use uncalibrated parameters (``none``)."""
    return posterior == "none"


class PosteriorUnavailable(RuntimeError):
    """A posterior was asked for but cannot be used (the message says why and what to do)."""


def load_param_sets(posterior: str = "default", params: BehaviourParams | None = None) -> ParamSets:
    """Behaviour-parameter sets for an ensemble (the hook for the calibrated posterior).

    ``posterior``:

    - ``"none"``: ``params`` alone (the ``BehaviourParams`` defaults plus ``params.*`` overrides),
      uncalibrated: its note and ``info`` say so (``UNCALIBRATED``, ``calibrated: False``);
    - ``"default"``: the calibrated posterior ``sim/data/posterior.csv`` (``sim.data.posterior``),
      sets drawn by importance weight;
    - ``"mean"``: the posterior's weighted mean set;
    - a path: the posterior written there by ``python -m sim.calibrate``.

    A posterior that is missing, altered or malformed raises ``PosteriorUnavailable`` naming the
    file and how to get one (``make calibrate``, or ``posterior=none`` for an uncalibrated run):
    the defaults are never used in its place.

    Fields of ``params`` that differ from the defaults (``params.x=...`` overrides) replace
    that field in every set: they fix that uncertainty across the posterior.
    """
    params = params or BehaviourParams()
    defaults = BehaviourParams()
    fixed = {
        f.name: getattr(params, f.name)
        for f in fields(params)
        if getattr(params, f.name) != getattr(defaults, f.name)
    }
    fixed_note = f"; fixed by override: {', '.join(sorted(fixed))}" if fixed else ""
    if uncalibrated(posterior):
        return ParamSets(
            [params],
            None,
            f"{UNCALIBRATED}: one parameter set (defaults and overrides){fixed_note}",
            {"source": "none", "calibrated": False, "fixed": sorted(fixed)},
        )
    from sim.data.posterior import POSTERIOR_CSV, PosteriorError, load_posterior

    path = Path(posterior) if posterior not in ("default", "mean") else POSTERIOR_CSV
    if not path.is_file():
        raise PosteriorUnavailable(
            f"posterior={posterior}: no calibrated posterior at {path}: run `make calibrate` "
            "(python -m sim.calibrate) to write it, or set posterior=none for an uncalibrated run"
        )
    try:
        post = load_posterior(path)
    except PosteriorError as exc:
        raise PosteriorUnavailable(f"posterior={posterior}: {exc}") from None
    info = {"source": posterior, "calibrated": True, **post.describe(), "fixed": sorted(fixed)}
    if posterior == "mean":
        # projection-only parameters: their posterior is their prior, whose mean is the prior's centre
        centres = {
            f.name: sum(f.metadata["prior"]) / 2 for f in fields(BehaviourParams) if f.name in PROJECTION_ONLY
        }
        mean = dataclasses.replace(post.mean(params), **{**centres, **fixed}).validate()
        return ParamSets([mean], None, f"mean of {post.note()}{fixed_note}", info)
    sets, weights = with_projection_draws(post.param_sets(params), post.weights, fixed)
    sets = [dataclasses.replace(s, **fixed).validate() for s in sets]
    drawn = [n for n in PROJECTION_ONLY if n not in fixed]
    draws_note = (
        f"; projection-only {', '.join(drawn)} drawn from their priors ({PROJECTION_DRAWS} per set)"
        if drawn
        else ""
    )
    info["projection_draws"] = {"parameters": drawn, "per_set": PROJECTION_DRAWS if drawn else 1}
    return ParamSets(sets, weights, f"{post.note()}, drawn by weight{draws_note}{fixed_note}", info)


#: Draws of the projection-only parameters per posterior set (each draw one set of weight w / draws): with
#: ~150 distinct sets, 8 give ~1,200 sets, so an ensemble's replicates rarely share a draw.
PROJECTION_DRAWS = 8
#: Root of those draws: fixed, so the same posterior always gives the same sets (bit-identical runs).
PROJECTION_SEED = 0x9A7


def with_projection_draws(
    sets: list[BehaviourParams], weights: Sequence[float], fixed: dict
) -> tuple[list[BehaviourParams], list[float]]:
    """Each posterior set, ``PROJECTION_DRAWS`` times, with the projection-only parameters drawn from their
    uniform priors (``sim.data.posterior.PROJECTION_ONLY``, those not ``fixed``).

    They act only after 2023 (the national market's long-run growth and persistence, the fade of the
    2017-2023 momentum), so the data cannot inform them: p(theta_hist, theta_proj | data) =
    p(theta_hist | data) x prior(theta_proj). The values the calibration file holds for them are whatever
    its random walk left there (it cannot narrow them honestly) and are replaced here.
    """
    names = [n for n in PROJECTION_ONLY if n not in fixed]
    if not names:
        return list(sets), [float(w) for w in weights]
    meta = {f.name: f.metadata for f in fields(BehaviourParams)}
    out, out_w = [], []
    for k, (s, w) in enumerate(zip(sets, weights)):
        rng = np.random.default_rng(np.random.SeedSequence([PROJECTION_SEED, k]))
        for _ in range(PROJECTION_DRAWS):
            draw = {n: float(rng.uniform(*meta[n]["prior"])) for n in names}
            out.append(dataclasses.replace(s, **draw))
            out_w.append(float(w) / PROJECTION_DRAWS)
    return out, out_w


# --------------------------------------------------------------------------- replicates
def replicate_effects(rep: Replicate, mode: str = "sampled", params: BehaviourParams | None = None):
    """The replicate's lever effects: drawn from its ``effects_seed`` (``sampled``) or ``central``; with
    ``params``, the calibrated ones from that set (what its run uses: ``with_calibrated_effects``)."""
    effects = make_effects(mode, rep.effects_seed)
    return effects if params is None else with_calibrated_effects(effects, params)


def replicate_run(
    levers: PolicyLevers,
    params: BehaviourParams,
    rep: Replicate,
    scale: float,
    end_year: int,
    effects: str,
    data_through: int = LAST_BASE_YEAR,
) -> ModelRun:
    """The model run of replicate ``rep`` under ``levers``: its seed, the given parameter set (the one
    ``rep.param_set`` names) and its lever effects (``effects``: ``sampled`` or ``central``);
    ``data_through``: the last year of data it reads (``RunConfig``)."""
    # (the model sets the calibrated effects from ``params`` itself: ``with_calibrated_effects``)
    return ModelRun(levers, params, replicate_effects(rep, effects), rep.seed, scale, end_year, data_through)


def effects_table(
    plan: Sequence[Replicate], mode: str = "sampled", sets: Sequence[BehaviourParams] | None = None
) -> pd.DataFrame:
    """Each replicate's lever-effect values (``replicate, effect, value``): what ``effects.csv`` records;
    with ``sets`` (the ensemble's parameter sets) the calibrated effects are those its runs used."""
    rows = [
        (rep.index, key, value)
        for rep in plan
        for key, value in effects_row(
            replicate_effects(rep, mode, None if sets is None else sets[rep.param_set])
        ).items()
    ]
    return pd.DataFrame(rows, columns=["replicate", "effect", "value"])


def tidy(plan: Sequence[Replicate], runs: Sequence[Indicators]) -> pd.DataFrame:
    """The tidy table of a plan's runs, built once: rows by replicate, then indicator, then year."""
    if not runs:
        return pd.DataFrame({c: pd.Series(dtype=float if c == "value" else np.int64) for c in COLUMNS})
    first = runs[0]
    for rep, run in zip(plan, runs):
        if run.names != first.names or not np.array_equal(run.years, first.years):
            raise ValueError(
                f"{rep.label()} reported other indicators or years than replicate {plan[0].index}"
            )
    n_years, n_ind = first.values.shape
    per_rep = n_years * n_ind
    n = len(runs)

    def each(attr: str) -> np.ndarray:
        return np.repeat(np.array([getattr(r, attr) for r in plan], dtype=np.int64), per_rep)

    values = np.stack([r.values for r in runs])  # (rep, year, indicator)
    return pd.DataFrame(
        {
            "replicate": each("index"),
            "seed": each("seed"),
            "param_set": each("param_set"),
            "year": np.tile(first.years, n * n_ind),
            "indicator": np.tile(np.repeat(np.array(first.names, dtype=object), n_years), n),
            "value": values.transpose(0, 2, 1).ravel(),
        }
    )


def run_ensemble(
    levers: PolicyLevers,
    plan: Sequence[Replicate] | int,
    *,
    param_sets: ParamSets | Sequence[BehaviourParams] | None = None,
    seed: int = 0,
    end_year: int = 2026,
    scale: float = 1.0,
    jobs: int = 1,
    executor: Executor | None = None,
    progress: bool = True,
    desc: str | None = None,
    effects: str = "sampled",
    data_through: int = LAST_BASE_YEAR,
) -> pd.DataFrame:
    """Run every replicate of ``plan`` and return the tidy results, ordered by replicate.

    ``plan`` is a list of ``Replicate`` (see ``plan_replicates``) or a count ``n``
    (replicates ``0..n-1`` of the study with root ``seed``). ``param_sets``: a ``ParamSets``
    (``load_param_sets``) or a list of ``BehaviourParams``; ``None`` is the default posterior,
    as for ``python -m sim``: pair it with a plan made by ``plan_replicates`` without
    ``n_param_sets``. ``executor`` (``sim.runtime.parallel.Executor``) chooses where the
    replicates run; without it, ``jobs`` local processes (1: this process). The result
    depends on neither. ``effects``: each replicate's lever effects drawn from its own seed
    (``sampled``, the default) or held at their central values (``central``). ``data_through``: the
    last year of data the runs read (``RunConfig``; the backtest's projection from an origin sets it).
    """
    if effects not in EFFECT_MODES:
        raise ConfigError(f"effects = {effects!r}: must be one of {', '.join(EFFECT_MODES)}")
    if param_sets is None:
        param_sets = load_param_sets("default")
    weights = param_sets.weights if isinstance(param_sets, ParamSets) else None
    sets = list(param_sets.sets if isinstance(param_sets, ParamSets) else param_sets)
    if not sets:
        raise ValueError("param_sets is empty")
    if isinstance(plan, int):
        plan = plan_replicates(seed, range(plan), len(sets), weights)
    plan = list(plan)
    if plan and max(r.param_set for r in plan) >= len(sets):
        raise ValueError("a replicate names a parameter set that was not given")
    tasks = [
        replicate_run(levers, sets[r.param_set], r, scale, end_year, effects, data_through) for r in plan
    ]
    executor = executor or Executor("local", jobs=jobs, progress=progress)
    runs = executor.map(
        evaluate, tasks, desc=desc or "replicates", unit="replicate", label=lambda k: plan[k].label()
    )
    return tidy(plan, runs)
