"""Ensembles: many replicates of one scenario, in-process or over a process pool.

A replicate is one behaviour-parameter set plus one seed. Replicate ``i`` of a study
draws both from ``SeedSequence([seed, i])``, so it is the same replicate whichever
block, job, machine or scenario it runs in: scenario contrasts are paired (common
random numbers) and a study split over a cluster merges into exactly the ensemble
one machine would have made.

Results are tidy: one row per replicate, year and indicator, with columns
``replicate, seed, param_set, year, indicator, value``.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from sim.model.params import BehaviourParams
from sim.model.policy import PolicyLevers

COLUMNS = ["replicate", "seed", "param_set", "year", "indicator", "value"]


@dataclass(frozen=True)
class Replicate:
    """Which replicate of a study: its index, model seed and parameter set."""

    index: int
    seed: int
    param_set: int


def plan_replicates(
    seed: int, indices: Iterable[int], n_param_sets: int = 1, weights: Sequence[float] | None = None
) -> list[Replicate]:
    """Seeds and parameter-set draws for replicates ``indices`` of the study with root ``seed``.

    ``SeedSequence([seed, i])`` spawns two children: one picks the parameter set (by
    ``weights`` when given, the posterior's importance weights), one seeds the model, so
    the model seed depends neither on the number of sets nor on their weights.
    """
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
        pick, model = np.random.SeedSequence([int(seed), int(i)]).spawn(2)
        param_set = 0
        if n_param_sets > 1:
            rng = np.random.default_rng(pick)
            param_set = (
                int(rng.choice(n_param_sets, p=p)) if p is not None else int(rng.integers(n_param_sets))
            )
        model_seed = int(model.generate_state(1, np.uint64)[0] >> np.uint64(1))  # fits int64 (CSV, pandas)
        plan.append(Replicate(int(i), model_seed, param_set))
    return plan


# --------------------------------------------------------------------------- parameter sets
@dataclass
class ParamSets:
    """Behaviour-parameter sets of an ensemble, their weights, and where they came from."""

    sets: list[BehaviourParams]
    weights: list[float] | None = None  # None: equally likely
    note: str = ""
    info: dict = dataclasses.field(default_factory=dict)  # recorded in manifest and summary

    def __len__(self) -> int:
        return len(self.sets)


class PosteriorUnavailable(RuntimeError):
    """A posterior was asked for but cannot be used (the message says why and what to do)."""


def load_param_sets(posterior: str = "default", params: BehaviourParams | None = None) -> ParamSets:
    """Behaviour-parameter sets for an ensemble (the hook for the calibrated posterior).

    ``posterior``:

    - ``"none"``: ``params`` alone (the ``BehaviourParams`` defaults plus ``params.*`` overrides);
    - ``"default"``: the calibrated posterior ``sim/data/posterior.csv`` (``sim.calibration.posterior``),
      sets drawn by importance weight; ``params`` alone while no posterior has been written;
    - ``"mean"``: the posterior's weighted mean set;
    - a path: the posterior written there by ``python -m sim.calibrate``.

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
    if posterior == "none":
        return ParamSets(
            [params],
            None,
            "none: one parameter set (BehaviourParams defaults and overrides)",
            {"source": "none", "fixed": sorted(fixed)},
        )
    try:
        from sim.calibration.posterior import POSTERIOR_CSV, PosteriorError, load_posterior
    except ImportError:  # calibration not installed in this tree
        if posterior == "default":
            return ParamSets(
                [params],
                None,
                f"default: no sim.calibration.posterior module; BehaviourParams defaults{fixed_note}",
                {"source": "defaults", "fixed": sorted(fixed)},
            )
        raise PosteriorUnavailable(
            f"posterior={posterior}: sim.calibration.posterior is not available"
        ) from None
    path = Path(posterior) if posterior not in ("default", "mean") else POSTERIOR_CSV
    if posterior == "default" and not path.is_file():
        return ParamSets(
            [params],
            None,
            f"default: no calibrated posterior yet ({path.name} missing); one parameter set "
            f"(BehaviourParams defaults){fixed_note}",
            {"source": "defaults", "fixed": sorted(fixed)},
        )
    try:
        post = load_posterior(path)
    except PosteriorError as exc:
        raise PosteriorUnavailable(f"posterior={posterior}: {exc}") from None
    info = {"source": posterior, **post.describe(), "fixed": sorted(fixed)}
    if posterior == "mean":
        mean = dataclasses.replace(post.mean(params), **fixed).validate()
        return ParamSets([mean], None, f"mean of {post.note()}{fixed_note}", info)
    sets = [dataclasses.replace(s, **fixed).validate() for s in post.param_sets(params)]
    return ParamSets(
        sets, [float(w) for w in post.weights], f"{post.note()}, drawn by weight{fixed_note}", info
    )


# --------------------------------------------------------------------------- replicates
def tidy_indicators(annual: pd.DataFrame, rep: Replicate) -> pd.DataFrame:
    """Annual indicator table (index year, one column per indicator) -> tidy rows."""
    wide = annual.copy()
    wide.index = wide.index.astype(int)
    wide.index.name = "year"
    long = wide.reset_index().melt(id_vars="year", var_name="indicator", value_name="value")
    long["value"] = pd.to_numeric(long["value"], errors="coerce").astype(float)
    long.insert(0, "param_set", rep.param_set)
    long.insert(0, "seed", rep.seed)
    long.insert(0, "replicate", rep.index)
    return long[COLUMNS]


def run_replicate(
    levers: PolicyLevers, params: BehaviourParams, rep: Replicate, end_year: int = 2026, scale: float = 1.0
) -> pd.DataFrame:
    """One model run (built, run and released by ``sim.model.run_replicate``), tidy."""
    from sim.model import run_replicate as run_model

    annual = run_model(levers=levers, params=params, seed=rep.seed, end_year=end_year, scale=scale)
    return tidy_indicators(annual, rep)


def _run_task(task: tuple) -> pd.DataFrame:
    return run_replicate(*task)


def _spawn_context():
    """A spawn context that also works inside a joblib (loky) launcher worker.

    Spawned children re-apply the parent's default start method; in a loky worker that
    is "loky", which the standard library does not know, so reset it to "spawn" there.
    """
    if multiprocessing.get_start_method(allow_none=True) not in (None, "spawn", "fork", "forkserver"):
        multiprocessing.set_start_method("spawn", force=True)
    return multiprocessing.get_context("spawn")


def _progress(total: int, desc: str | None, enabled: bool):
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc or "replicates",
        unit="rep",
        file=sys.stderr,
        disable=not enabled,
        mininterval=0.5 if sys.stderr.isatty() else 5.0,
        dynamic_ncols=True,
    )


def run_ensemble(
    levers: PolicyLevers,
    plan: Sequence[Replicate] | int,
    *,
    param_sets: Sequence[BehaviourParams] | None = None,
    seed: int = 0,
    end_year: int = 2026,
    scale: float = 1.0,
    jobs: int = 1,
    progress: bool = True,
    desc: str | None = None,
) -> pd.DataFrame:
    """Run every replicate of ``plan`` and return the tidy results, ordered by replicate.

    ``plan`` is a list of ``Replicate`` (see ``plan_replicates``) or a count ``n``
    (replicates ``0..n-1`` of the study with root ``seed``). ``jobs=1`` runs in this
    process; ``jobs>1`` uses a spawn-started process pool (fresh interpreters: no
    inherited Mesa registry or locks). The result does not depend on ``jobs``.
    """
    param_sets = list(param_sets) if param_sets else [BehaviourParams()]
    if isinstance(plan, int):
        plan = plan_replicates(seed, range(plan), len(param_sets))
    plan = list(plan)
    if not plan:
        return pd.DataFrame(columns=COLUMNS)
    if max(r.param_set for r in plan) >= len(param_sets):
        raise ValueError("a replicate names a parameter set that was not given")
    tasks = [(levers, param_sets[r.param_set], r, end_year, scale) for r in plan]
    parts: list[pd.DataFrame | None] = [None] * len(tasks)
    workers = max(1, min(int(jobs), len(tasks)))
    with _progress(len(tasks), desc, progress) as bar:
        if workers == 1:
            for k, task in enumerate(tasks):
                parts[k] = _run_task(task)
                bar.update()
        else:
            ctx = _spawn_context()
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                futures = {pool.submit(_run_task, task): k for k, task in enumerate(tasks)}
                pending = set(futures)
                try:
                    while pending:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for fut in done:
                            k = futures[fut]
                            try:
                                parts[k] = fut.result()
                            except Exception as exc:
                                rep = plan[k]
                                raise RuntimeError(
                                    f"replicate {rep.index} (seed {rep.seed}, parameter set "
                                    f"{rep.param_set}) failed: {exc!r}"
                                ) from exc
                            bar.update()
                except BaseException:
                    for fut in pending:
                        fut.cancel()
                    raise
    return pd.concat(parts, ignore_index=True)
