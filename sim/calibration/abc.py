"""ABC-SMC with MCMC moves: a Sobol rejection round, then shrinking tolerances with resampling and moves.

Why our own and not pyabc: the budget is a few thousand runs of a fraction-of-a-second
simulator on two cores, so the algorithm is two pages of numpy/scipy: no database, no Redis
or Dask sampler, no extra dependency to pin, and byte-identical results from a seed are easy
to guarantee (every run's seed comes from ``SeedSequence``; results are gathered in task
order, so they do not depend on the number of processes or on their timing).

Algorithm (adaptive ABC-SMC of Del Moral, Doucet & Jasra 2012, Stat. Comput. 22:1009, with
equal-weight particles), in the unit cube ``u`` of the uniform prior box:

1. **Rejection round**: ``n_design`` points of a scrambled Sobol sequence over the prior box
   (covers it evenly); the ``n_keep`` closest to the data are an ABC posterior sample at the
   tolerance they imply.
2. **Steps** 1..``n_steps``: the tolerance drops to the ``alpha`` quantile of the particles'
   distances; the particles within it are resampled (systematic resampling) back to
   ``n_keep``: a sample of the ABC posterior at the new tolerance. Then ``sweeps`` MCMC
   sweeps move every particle (ABC-MCMC, Marjoram, Molitor, Plagnol & Tavaré 2003): a
   Gaussian random-walk proposal with covariance ``c`` x the particles' covariance, reflected
   at the faces of the box, accepted when its run is within the tolerance (uniform prior and
   symmetric proposal: no other factor). ``c`` starts at 2.38^2 / d (Roberts & Rosenthal 2001) and is
   adapted between sweeps towards an acceptance rate of about 0.25. The last step has
   ``final_sweeps`` extra sweeps, for more distinct particles.

Why not importance-weighted ABC-PMC: with 20 parameters, importance weights of PMC and of
every importance round tried here degenerated (effective sample size 1-40 of 300 in trial
runs), because any proposal density varies by orders of magnitude across the accepted
region. Resampling with MCMC moves needs no weights: the posterior is the final particles,
equally weighted (duplicates from resampling are merged with their count as weight).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field, fields
from typing import Callable, Sequence

import numpy as np
from scipy.stats import qmc

from sim.calibration.targets import (
    FIT_YEARS,
    OUTPUT_INDICATORS,
    OUTPUT_YEARS,
    FitTargets,
    outputs_from_annual,
)
from sim.model.params import BehaviourParams, ConfigError, RunConfig
from sim.runtime.config import is_number, whole
from sim.runtime.parallel import Executor, derive_seed

#: Largest share of failed runs tolerated in a round before the calibration stops.
MAX_FAILED_SHARE = 0.05
KERNELS = ("olcm", "global")


# --------------------------------------------------------------------------- parameter space
@dataclass(frozen=True)
class ParamSpace:
    """The calibrated parameters and their uniform prior box."""

    names: tuple[str, ...]
    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def from_priors(cls, names: Sequence[str] | None = None) -> "ParamSpace":
        """The box from ``BehaviourParams`` priors; ``names`` defaults to every calibrated parameter."""
        meta = {f.name: f.metadata for f in fields(BehaviourParams)}
        names = tuple(names) if names is not None else tuple(BehaviourParams.calibrated_names())
        missing = [n for n in names if n not in meta or "prior" not in meta[n]]
        if missing:
            raise ValueError(f"no prior declared for {missing} (sim/model/params.py, metadata 'prior')")
        lo = np.array([meta[n]["prior"][0] for n in names], dtype=float)
        hi = np.array([meta[n]["prior"][1] for n in names], dtype=float)
        if not np.all(hi > lo):
            raise ValueError("every prior needs lo < hi")
        return cls(names, lo, hi)

    @property
    def dim(self) -> int:
        return len(self.names)

    def values(self, u: np.ndarray) -> np.ndarray:
        return self.lo + np.asarray(u) * (self.hi - self.lo)

    def unit(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x) - self.lo) / (self.hi - self.lo)

    def params(self, x: Sequence[float], base: BehaviourParams | None = None) -> BehaviourParams:
        """A ``BehaviourParams`` with the calibrated fields set to ``x`` (others from ``base``)."""
        base = base or BehaviourParams()
        return dataclasses.replace(base, **{n: float(v) for n, v in zip(self.names, x)}).validate()


# --------------------------------------------------------------------------- simulating
def model_seed(seed: int, round_index: int, i: int) -> int:
    """Seed of run ``i`` of round ``round_index`` (round -1 is the noise pilot)."""
    return derive_seed(seed, round_index + 1, i)


@dataclass(frozen=True)
class SimTask:
    params: BehaviourParams
    seed: int
    scale: float
    end_year: int = OUTPUT_YEARS[-1]
    central_effects: bool = False  # lever effects at their centre, not drawn from the seed


def simulate(task: SimTask) -> tuple[np.ndarray, str | None]:
    """One model run (``sim.model.evaluate``) -> (outputs array (indicator, year), error message or None)."""
    from sim.model.evaluate import ModelRun, evaluate
    from sim.model.policy import sample_effects

    try:  # lever effects drawn from the run's seed: the posterior integrates over their uncertainty
        effects = None if task.central_effects else sample_effects(task.seed)
        run = evaluate(ModelRun(None, task.params, effects, task.seed, task.scale, task.end_year))
        return outputs_from_annual(run.frame()), None
    except Exception as exc:  # a failed run counts as infinitely far from the data
        return np.full((len(OUTPUT_INDICATORS), len(OUTPUT_YEARS)), np.nan), f"{type(exc).__name__}: {exc}"


class Runner:
    """Runs batches of ``SimTask`` on one ``sim.runtime.parallel.Executor`` for the whole calibration
    (its local workers or its Ray connection are kept between rounds); results in task order."""

    def __init__(
        self,
        jobs: int = 1,
        progress: bool = True,
        simulate_fn: Callable = simulate,
        executor: str = "local",
        address: str = "auto",
    ):
        self.executor = Executor(executor, jobs=jobs, address=address, progress=progress)
        self.simulate_fn = simulate_fn
        self.n_runs = 0
        self.failures: list[str] = []

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc) -> None:
        self.executor.close()

    def run(self, tasks: Sequence[SimTask], desc: str) -> np.ndarray:
        results = self.executor.map(
            self.simulate_fn,
            tasks,
            desc=desc,
            unit="run",
            label=lambda k: f"{desc}: run {k} (seed {tasks[k].seed})",
        )
        out = np.empty((len(tasks), len(OUTPUT_INDICATORS), len(OUTPUT_YEARS)))
        errors = []
        for k, (arr, err) in enumerate(results):
            out[k] = arr
            if err is not None:
                errors.append(f"run {k}: {err}")
        self.n_runs += len(tasks)
        self.failures.extend(errors)
        if len(errors) > MAX_FAILED_SHARE * len(tasks):
            raise RuntimeError(f"{desc}: {len(errors)} of {len(tasks)} runs failed; first: {errors[0]}")
        return out


# --------------------------------------------------------------------------- the algorithm
@dataclass
class ABCSettings:
    """Budget and tuning of one calibration: the one declaration of these knobs (``CalibrateConfig``,
    the schema of ``configs/calibrate.yaml``, extends it). Validated on construction."""

    seed: int = 0  # root seed: Sobol scrambling, proposals and every run's seed derive from it
    scale: float = 0.25  # share of the firm population simulated during the ABC
    n_pilot: int = 24  # runs at the prior centre measuring model noise (distance floor)
    hm_waves: int = 3  # history-matching waves before the ABC (0: the rejection round covers the prior box)
    hm_runs: int = 1024  # model runs per history-matching wave
    hm_cut: float = 3.0  # implausibility cut (second-largest over the data points)
    n_design: int = 2048  # rejection round: scrambled Sobol points (a power of 2 keeps the sequence balanced)
    n_keep: int = 300  # particles: the posterior's size (>= 200)
    n_steps: int = 12  # tolerance steps after the rejection round
    sweeps: int = 2  # MCMC sweeps per step (each costs n_keep runs)
    final_sweeps: int = 2  # extra sweeps at the last tolerance: more distinct particles, better mixing
    alpha: float = 0.5  # share of particles inside each new tolerance
    through_year: int = FIT_YEARS[
        -1
    ]  # fit the data up to this year only (a backtest origin); runs stop there

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> "ABCSettings":
        """Check every knob; raise ``ConfigError`` naming the first bad one."""
        for key, lo in (
            ("seed", 0),
            ("n_pilot", 0),
            ("hm_waves", 0),
            ("hm_runs", 16),
            ("n_design", 2),
            ("n_keep", 2),
            ("n_steps", 0),
            ("sweeps", 1),
            ("final_sweeps", 0),
        ):
            whole(key, getattr(self, key), lo)
        if self.n_design < self.n_keep:
            raise ConfigError(f"n_design = {self.n_design}: must be >= n_keep = {self.n_keep}")
        if not is_number(self.hm_cut) or not 1.0 <= self.hm_cut <= 10.0:
            raise ConfigError(f"hm_cut = {self.hm_cut!r}: allowed range is [1, 10] (implausibility, in sds)")
        if not is_number(self.alpha) or not 0 < self.alpha < 1:
            raise ConfigError(f"alpha = {self.alpha!r}: must be in (0, 1)")
        check_scale("scale", self.scale)
        y = self.through_year
        if isinstance(y, bool) or not isinstance(y, int) or not FIT_YEARS[0] <= y <= FIT_YEARS[-1]:
            raise ConfigError(
                f"through_year = {y!r}: must be a whole number in [{FIT_YEARS[0]}, {FIT_YEARS[-1]}]"
            )
        return self

    @property
    def max_runs(self) -> int:
        hm = (self.hm_waves + 1) * self.hm_runs if self.hm_waves else 0
        return (
            self.n_pilot + hm + self.n_design + (self.n_steps * self.sweeps + self.final_sweeps) * self.n_keep
        )


def check_scale(key: str, value) -> None:
    """A population scale the model accepts (``RunConfig.scale``'s range), else ``ConfigError`` naming ``key``."""
    lo, hi = next(f for f in fields(RunConfig) if f.name == "scale").metadata["range"]
    if not is_number(value) or not lo <= value <= hi:
        raise ConfigError(f"{key} = {value!r}: allowed range is [{lo}, {hi}]")


@dataclass
class Round:
    """Every run of one round: the rejection round (``step`` 0) or one MCMC sweep."""

    index: int
    step: int  # 0: rejection round; >= 1: tolerance step of the sweep
    tolerance: float  # tolerance the round's runs were judged against (rejection: the implied one)
    u: np.ndarray  # (n, d) proposals simulated, unit cube
    distance: np.ndarray  # (n,)
    outputs: np.ndarray  # (n, indicator, year)
    seeds: np.ndarray  # (n,) model seeds
    proposed: int = 0  # proposals made (one run each)
    accepted: int = 0  # moves accepted (sweeps) or particles kept (rejection round)
    unique: int = 0  # distinct particles after the round
    kernel_c: float = float("nan")  # random-walk scale factor used
    wall_s: float = 0.0

    @property
    def n(self) -> int:
        return len(self.distance)

    @property
    def acceptance(self) -> float:
        return self.accepted / self.proposed if self.proposed else float("nan")


@dataclass
class ABCResult:
    space: ParamSpace
    settings: ABCSettings
    targets: FitTargets  # with the noise floor of the pilot
    pilot_outputs: np.ndarray
    rounds: list[Round] = field(default_factory=list)
    particles: np.ndarray = field(
        default_factory=lambda: np.empty(0, dtype=np.int64)
    )  # run index per particle
    tolerance: float = float("inf")
    history: object = None  # sim.calibration.history_matching.HistoryMatch when the ABC started from it
    n_runs: int = 0
    failures: list[str] = field(default_factory=list)

    def all_runs(self, attr: str) -> np.ndarray:
        """``u``, ``distance``, ``outputs`` or ``seeds`` of every round, concatenated in round order."""
        return np.concatenate([getattr(r, attr) for r in self.rounds])

    def run_round(self) -> np.ndarray:
        return np.concatenate([np.full(r.n, r.index) for r in self.rounds])

    @property
    def kept(self) -> np.ndarray:
        """Distinct runs among the final particles, closest first."""
        runs = np.unique(self.particles)
        return runs[np.argsort(self.all_runs("distance")[runs], kind="stable")]

    @property
    def weights(self) -> np.ndarray:
        """Share of the particles on each of ``kept`` (equal-weight particles, duplicates merged)."""
        counts = {int(k): 0 for k in self.kept}
        for p in self.particles:
            counts[int(p)] += 1
        return np.array([counts[int(k)] for k in self.kept], dtype=float) / len(self.particles)

    @property
    def ess(self) -> float:
        return float(1.0 / np.sum(self.weights**2))

    def population(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Accepted (values (k, d), weights, distances) of the distinct final particles, closest first."""
        kept = self.kept
        return self.space.values(self.all_runs("u")[kept]), self.weights, self.all_runs("distance")[kept]

    def kept_outputs(self) -> np.ndarray:
        return self.all_runs("outputs")[self.kept]


def reflect(u: np.ndarray) -> np.ndarray:
    """Fold points back into the unit cube by reflection at its faces.

    A Gaussian random walk followed by reflection is still a symmetric proposal
    (q(y | x) = q(x | y): every mirror image of y seen from x has its twin of x seen from y),
    so the Metropolis-Hastings ratio stays prior ratio x likelihood ratio, and no proposal is
    wasted outside the prior box.
    """
    return 1.0 - np.abs(1.0 - np.mod(u, 2.0))


def systematic_resample(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """``n`` indices drawn in proportion to ``weights`` with one uniform (low-variance resampling)."""
    cum = np.cumsum(weights / np.sum(weights))
    cum[-1] = 1.0
    return np.searchsorted(cum, (rng.random() + np.arange(n)) / n, side="right")


def _random_walk_cholesky(u: np.ndarray, c: float) -> np.ndarray:
    """Cholesky factor of ``c`` x the particles' covariance (diagonal with fewer than 2 particles per dimension)."""
    cov = np.atleast_2d(np.cov(u, rowvar=False))
    if u.shape[0] < 2 * u.shape[1]:
        cov = np.diag(np.diag(cov))
    return np.linalg.cholesky(c * cov + np.eye(u.shape[1]) * 1e-12)


def _adapt(c: float, acceptance: float) -> float:
    """Random-walk scale for the next sweep: shrink when few moves pass, widen when many do."""
    if acceptance < 0.15:
        return c * 0.6
    if acceptance > 0.35:
        return c * 1.5
    return c


def _history_match(space, fitted: FitTargets, s: "ABCSettings", runner: Runner, base, log):
    """The history-matching waves (``sim.calibration.history_matching``) on the fitted data points."""
    from sim.calibration.history_matching import history_match

    keep = fitted.fitted
    obs = fitted.observed[keep]
    # the data's half-width and the model discrepancy, relative (the emulators' variance holds the noise)
    var_obs = (fitted.half_width[keep] ** 2 + fitted.discrepancy[keep] ** 2) / obs**2

    def simulate_wave(wave: int, u: np.ndarray) -> np.ndarray:
        seeds = [model_seed(s.seed, 1000 + wave, i) for i in range(len(u))]
        tasks = [
            SimTask(space.params(space.values(row), base), int(sd), s.scale, s.through_year)
            for row, sd in zip(u, seeds)
        ]
        return fitted.simulated(runner.run(tasks, f"history matching wave {wave}"))[:, keep]

    labels = [lab for lab, k in zip(fitted.labels(), keep) if k]
    return history_match(
        space.dim,
        simulate_wave,
        np.log(obs),
        var_obs,
        labels,
        waves=s.hm_waves,
        runs=s.hm_runs,
        cut=s.hm_cut,
        seed=s.seed,
        log=log,
    )


def _design_from(nroy: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` design points from the history-matched region's sample."""
    from sim.calibration.history_matching import spread_sample

    if len(nroy) == 0:
        raise RuntimeError(
            "history matching ruled out the whole prior box: the model cannot reproduce the data"
        )
    return spread_sample(nroy, n, rng)


def run_abc(
    space: ParamSpace,
    targets: FitTargets,
    settings: ABCSettings,
    runner: Runner,
    base: BehaviourParams | None = None,
    log: Callable[[str], None] = lambda msg: None,
) -> ABCResult:
    """Pilot, Sobol rejection round, then tolerance steps with resampling and MCMC sweeps."""
    settings.validate()
    base = base or BehaviourParams()
    s = settings
    sobol_seed, *step_seeds = np.random.SeedSequence([int(s.seed), 0xABC]).spawn(1 + s.n_steps)

    # pilot: model noise at the prior centre (base parameters), for the distance floor
    centre = np.array([getattr(base, n) for n in space.names], dtype=float)
    pilot_tasks = [
        SimTask(space.params(centre, base), model_seed(s.seed, -1, i), s.scale, s.through_year)
        for i in range(s.n_pilot)
    ]
    t0 = time.perf_counter()
    pilot = runner.run(pilot_tasks, "pilot (model noise)") if s.n_pilot > 1 else np.empty((0,))
    fitted = targets.with_noise(pilot) if s.n_pilot > 1 else targets
    if s.n_pilot > 1:
        log(f"pilot: {s.n_pilot} runs in {time.perf_counter() - t0:.0f} s")
    result = ABCResult(space, s, fitted, pilot)
    n_before = 0  # runs in earlier rounds (global run index offset)

    def simulate(index: int, u: np.ndarray, desc: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        seeds = np.array([model_seed(s.seed, index, i) for i in range(len(u))], dtype=np.int64)
        tasks = [
            SimTask(space.params(space.values(row), base), int(sd), s.scale, s.through_year)
            for row, sd in zip(u, seeds)
        ]
        outputs = runner.run(tasks, desc)
        return fitted.distance(outputs), outputs, seeds

    # 1. rejection round: a scrambled Sobol design over the prior box, or over the region history matching
    # did not rule out
    t0 = time.perf_counter()
    design = np.random.default_rng(sobol_seed)
    if s.hm_waves:
        result.history = _history_match(space, fitted, s, runner, base, log)
        u = _design_from(result.history.nroy, s.n_design, design)
        label = f"round 0: {len(u)} points of the history-matched region"
    else:
        u = qmc.Sobol(d=space.dim, scramble=True, seed=design).random(s.n_design)
        label = f"round 0: Sobol design ({s.n_design})"
    dist, outputs, seeds = simulate(0, u, label)
    order = np.argsort(dist, kind="stable")[: s.n_keep]
    tol = float(dist[order[-1]])
    if not np.isfinite(tol):
        raise RuntimeError(f"fewer than {s.n_keep} runs of the design finished")
    particles = order.astype(np.int64)
    r = Round(
        0,
        0,
        tol,
        u,
        dist,
        outputs,
        seeds,
        proposed=s.n_design,
        accepted=s.n_keep,
        unique=s.n_keep,
        wall_s=time.perf_counter() - t0,
    )
    result.rounds.append(r)
    n_before = r.n
    log(
        f"round 0 (rejection): {s.n_design} runs; the {s.n_keep} closest are within {tol:.1f} (best {dist.min():.1f})"
    )

    # 2. tolerance steps: resample inside the new tolerance, then MCMC sweeps at it
    c = 2.38**2 / space.dim
    index = 0
    for step, ss in enumerate(step_seeds, start=1):
        rng = np.random.default_rng(ss)
        d_part = result.all_runs("distance")[particles]
        tol = float(np.quantile(d_part, s.alpha))
        alive = particles[d_part <= tol]
        particles = alive[systematic_resample(rng, np.ones(len(alive)), s.n_keep)]
        last = step == s.n_steps
        for sweep in range(s.sweeps + (s.final_sweeps if last else 0)):
            t0 = time.perf_counter()
            index += 1
            all_u = result.all_runs("u")
            current = all_u[particles]
            chol = _random_walk_cholesky(current, c)
            prop = reflect(current + rng.standard_normal(current.shape) @ chol.T)
            dist, outputs, seeds = simulate(
                index, prop, f"step {step}/{s.n_steps} sweep {sweep + 1}: tolerance {tol:.1f}"
            )
            move = dist <= tol
            particles = particles.copy()
            particles[move] = n_before + np.flatnonzero(move)
            r = Round(
                index,
                step,
                tol,
                prop,
                dist,
                outputs,
                seeds,
                proposed=s.n_keep,
                accepted=int(move.sum()),
                unique=len(np.unique(particles)),
                kernel_c=c,
                wall_s=time.perf_counter() - t0,
            )
            result.rounds.append(r)
            n_before += r.n
            log(
                f"step {step} sweep {sweep + 1}: tolerance {tol:.1f}, {r.n} runs, acceptance {r.acceptance:.2f}, "
                f"{r.unique} distinct particles"
            )
            c = _adapt(c, r.acceptance)
    result.particles = particles
    result.tolerance = float(result.all_runs("distance")[particles].max())
    result.n_runs = runner.n_runs
    result.failures = list(runner.failures)
    log(
        f"posterior: {len(result.kept)} distinct sets of {s.n_keep} particles, tolerance {result.tolerance:.1f}, "
        f"ESS {result.ess:.0f}"
    )
    return result
