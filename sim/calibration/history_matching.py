"""History matching: rule out the parameter space that cannot reproduce the data, before the ABC.

With 30+ parameters and 60+ data points, an ABC that starts from the whole prior box spends nearly all of
its runs far from the data, and its random-walk moves stall before the tolerance reaches what the data's
noise allows. History matching (Craig, Goldstein, Seheult & Smith 1997; Vernon, Goldstein & Bower 2010;
for agent-based models Andrianakis et al. 2015, PLoS Comput. Biol. 11:e1003968) first narrows the box in
waves, with cheap emulators of the model:

1. **Wave 0** runs a scrambled Sobol design over the prior box (unit cube ``u``).
2. **Emulate.** For every fitted data point ``i``, a quadratic ridge regression of the log model output on
   ``u`` (``Emulator``); its cross-validated residual variance ``v_i`` covers the emulator's error and the
   model's run-to-run noise together.
3. **Implausibility** of a point ``u``: ``I_i(u) = |m_i(u) - log z_i| / sqrt(v_i + w_i)``, with ``z_i`` the
   observation and ``w_i`` its relative half-width squared (the data's own uncertainty). ``u`` is *not
   ruled out yet* (NROY) when the second-largest ``I_i`` is below ``cut`` (3: Pukelsheim's three-sigma rule;
   the second-largest, because with 60+ points one ``|I| > 3`` by chance is not rare).
4. **Next wave.** Candidates are drawn around the NROY runs (and uniformly over the box), filtered by the
   emulators, and the model runs at a spread of the survivors; the emulators are refitted on the runs in
   the latest NROY region, so they sharpen where it matters.

The ABC (``sim.calibration.abc``) then starts its rejection round from NROY points of the last wave
instead of the whole box. Its target is unchanged (the uniform prior on the box times the ABC kernel): the
waves only decide where the runs are spent, and with a conservative cut the region they exclude holds no
run within the ABC's tolerance. Every wave's emulator quality, NROY share and hardest data points are
kept for the fit report: a data point that rules out every candidate is a model that cannot reproduce it.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.stats import qmc

#: Robustness of the NROY rule: the k-th largest implausibility must be below the cut.
KTH_LARGEST = 2
#: Candidates drawn per emulator screening batch, and the most batches tried per wave.
BATCH = 50_000
MAX_BATCHES = 40
#: Share of candidates drawn uniformly over the box (the rest around NROY runs): keeps exploring.
UNIFORM_SHARE = 0.2
#: Ridge penalties tried (by leave-fold-out error) for each emulator.
RIDGE_ALPHAS = tuple(np.logspace(-3, 3, 13))


class Emulator:
    """Quadratic ridge regressions of the log outputs at the fitted data points on the unit-cube inputs."""

    def __init__(self, alphas=RIDGE_ALPHAS, folds: int = 5, seed: int = 0):
        self.alphas = alphas
        self.folds = folds
        self.seed = seed

    def fit(self, u: np.ndarray, y: np.ndarray) -> "Emulator":
        """``u``: (n, d) inputs in [0, 1]; ``y``: (n, p) log outputs. Stores means and CV residual variances."""
        from sklearn.linear_model import RidgeCV
        from sklearn.model_selection import KFold, cross_val_predict
        from sklearn.preprocessing import PolynomialFeatures

        self.poly = PolynomialFeatures(2, include_bias=False)
        x = self.poly.fit_transform(u)
        folds = KFold(min(self.folds, len(u)), shuffle=True, random_state=self.seed)
        # one ridge regression for all the data points (they share the inputs: one decomposition per fold),
        # each with its own penalty
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ill-conditioned folds at small alphas: RidgeCV picks another
            model = RidgeCV(alphas=self.alphas, alpha_per_target=True)
            cv = cross_val_predict(model, x, y, cv=folds)
            self.model = model.fit(x, y)
        resid = y - cv
        self.var = resid.var(axis=0, ddof=1)
        self.r2 = 1.0 - self.var / np.maximum(y.var(axis=0, ddof=1), 1e-300)
        return self

    def predict(self, u: np.ndarray) -> np.ndarray:
        return self.model.predict(self.poly.transform(u))


@dataclass
class Wave:
    """One wave: its runs (unit cube, outputs at the fitted points) and the emulators fitted after it."""

    index: int
    u: np.ndarray  # (n, d) inputs of the wave's runs
    log_sim: np.ndarray  # (n, p) log model outputs at the fitted points (NaN where a run failed)
    r2: np.ndarray | None = None  # (p,) emulator cross-validated R^2 after this wave
    em_sd: np.ndarray | None = None  # (p,) emulator residual sd (log scale)
    nroy_share: float = float("nan")  # share of the prior box not ruled out (emulator, estimated)
    candidates_tried: int = 0
    hardest: list[tuple[str, float]] = field(default_factory=list)  # data points with the largest min I
    wall_s: float = 0.0


@dataclass
class HistoryMatch:
    """The waves and a sample of the final NROY region (unit cube)."""

    waves: list[Wave]
    nroy: np.ndarray  # (m, d) points of the final NROY region
    labels: list[str]  # the fitted data points, "indicator year"
    cut: float

    @property
    def n_runs(self) -> int:
        return sum(len(w.u) for w in self.waves)

    def summary(self) -> list[dict]:
        return [
            {
                "wave": w.index,
                "runs": len(w.u),
                "nroy_share": w.nroy_share,
                "candidates_screened": w.candidates_tried,
                "median_emulator_r2": float(np.median(w.r2)) if w.r2 is not None else float("nan"),
                "median_emulator_sd": float(np.median(w.em_sd)) if w.em_sd is not None else float("nan"),
                "hardest_points": ", ".join(f"{k} ({v:.1f})" for k, v in w.hardest[:4]),
                "wall_s": w.wall_s,
            }
            for w in self.waves
        ]


def log_outputs(sims: np.ndarray) -> np.ndarray:
    """Log of model outputs at the fitted points; NaN where a run failed or is not positive."""
    sims = np.asarray(sims, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sims > 0, np.log(sims), np.nan)


def implausibility(mean: np.ndarray, var: np.ndarray, log_obs: np.ndarray, var_obs: np.ndarray) -> np.ndarray:
    """``|mean - log_obs| / sqrt(var + var_obs)`` per point (rows: candidates)."""
    return np.abs(mean - log_obs) / np.sqrt(var + var_obs)


def kth_largest(values: np.ndarray, k: int = KTH_LARGEST) -> np.ndarray:
    """The ``k``-th largest value of each row."""
    k = min(k, values.shape[1])
    return np.partition(values, -k, axis=1)[:, -k]


def history_match(
    dim: int,
    simulate: Callable[[int, np.ndarray], np.ndarray],
    log_obs: np.ndarray,
    var_obs: np.ndarray,
    labels: list[str],
    *,
    waves: int,
    runs: int,
    cut: float = 3.0,
    seed: int = 0,
    log: Callable[[str], None] = lambda msg: None,
) -> HistoryMatch:
    """Run ``waves`` waves of ``runs`` model runs each; return them and a sample of the final NROY region.

    ``simulate(wave, u)`` runs the model at the unit-cube points ``u`` and returns the (n, p) model outputs
    at the fitted data points (NaN where a run failed). ``log_obs``/``var_obs``: the log observations and
    their variances (relative half-width squared).
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x4D]))
    done: list[Wave] = []
    t0 = time.perf_counter()
    u = qmc.Sobol(d=dim, scramble=True, seed=rng).random(runs)
    region_u, region_y, emulator = None, None, None
    nroy = u
    for w in range(waves + 1):
        if w > 0:
            u = spread_sample(nroy, runs, rng)
        t0 = time.perf_counter()
        y = log_outputs(simulate(w, u))
        wave = Wave(w, u, y)
        done.append(wave)
        # the emulators' training runs: the latest NROY region (this wave's runs, and earlier runs inside it)
        good = np.all(np.isfinite(y), axis=1)
        if region_u is None:
            region_u, region_y = u[good], y[good]
        else:
            inside = _inside(emulator, region_u, log_obs, var_obs, cut)
            region_u = np.r_[region_u[inside], u[good]]
            region_y = np.r_[region_y[inside], y[good]]
        emulator = Emulator(seed=seed + w).fit(region_u, region_y)
        wave.r2, wave.em_sd = emulator.r2, np.sqrt(emulator.var)
        kept, tried, share = _screen(emulator, region_u, log_obs, var_obs, cut, runs, rng, dim)
        wave.candidates_tried, wave.nroy_share = tried, share
        mean = emulator.predict(region_u)
        imp = implausibility(mean, emulator.var, log_obs, var_obs)
        closest = np.min(imp, axis=0)  # how close the best training run's emulator gets to each point
        order = np.argsort(-closest)
        wave.hardest = [(labels[i], float(closest[i])) for i in order[:8]]
        wave.wall_s = time.perf_counter() - t0
        log(
            f"history matching wave {w}: {len(u)} runs, emulator median R2 {np.median(emulator.r2):.2f}, "
            f"NROY {share:.2e} of the box ({len(kept)} points kept of {tried:,} screened); hardest: "
            + ", ".join(f"{k} {v:.1f}" for k, v in wave.hardest[:3])
        )
        if len(kept) == 0:  # the data conflict at this cut: keep the last region that held points
            log(
                f"history matching: wave {w}'s emulators rule out every point at the cut {cut}; the ABC starts "
                f"from wave {w - 1}'s region"
            )
            break
        nroy = kept
    return HistoryMatch(done, nroy, list(labels), cut)


def spread_sample(points: np.ndarray, n: int, rng: np.random.Generator, jitter: float = 0.01) -> np.ndarray:
    """``n`` of ``points`` (all of them, and jittered copies when there are fewer than ``n``)."""
    if len(points) == 0:
        raise ValueError("no points to sample from")
    if len(points) >= n:
        return points[rng.choice(len(points), size=n, replace=False)]
    extra = points[rng.choice(len(points), size=n - len(points))]
    return np.r_[points, np.clip(extra + rng.standard_normal(extra.shape) * jitter, 0.0, 1.0)]


def _inside(emulator: Emulator, u: np.ndarray, log_obs, var_obs, cut: float) -> np.ndarray:
    imp = implausibility(emulator.predict(u), emulator.var, log_obs, var_obs)
    return kth_largest(imp) < cut


def _screen(emulator, seeds_u, log_obs, var_obs, cut, want, rng, dim):
    """NROY points: candidates around ``seeds_u`` (the training runs) and over the box, kept where the
    emulators do not rule them out. Returns (points, candidates screened, estimated NROY share of the box)."""
    want_pool = 20 * want
    pool, tried, uniform_in, uniform_tried = [], 0, 0, 0
    # centres: the training runs the emulators put closest to the data (the best tenth, at least 20), with
    # a spread of half theirs
    imp = implausibility(emulator.predict(seeds_u), emulator.var, log_obs, var_obs)
    score = kth_largest(imp)
    best = np.argsort(score)[: max(20, len(score) // 10)]
    spread = np.clip(0.5 * np.std(seeds_u[best], axis=0), 0.01, 0.2)
    for _ in range(MAX_BATCHES):
        n_uni = int(BATCH * UNIFORM_SHARE)
        uni = rng.random((n_uni, dim))
        centres = seeds_u[best[rng.integers(len(best), size=BATCH - n_uni)]]
        local = np.clip(centres + rng.standard_normal(centres.shape) * spread, 0.0, 1.0)
        cand = np.r_[uni, local]
        ok = _inside(emulator, cand, log_obs, var_obs, cut)
        tried += len(cand)
        uniform_tried += n_uni
        uniform_in += int(ok[:n_uni].sum())
        pool.append(cand[ok])
        if sum(len(p) for p in pool) >= want_pool:
            break
    points = np.concatenate(pool) if pool else np.empty((0, dim))
    if len(points) > want_pool:
        points = points[rng.choice(len(points), size=want_pool, replace=False)]
    share = uniform_in / uniform_tried if uniform_tried else float("nan")
    return points, tried, share
