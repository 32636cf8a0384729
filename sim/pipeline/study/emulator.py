"""An emulator of the model for ``sensitivity``: Sobol indices over factor groups from a few thousand runs.

Why: Saltelli's design on the model needs N x (G + 2) runs, and indices of a 0/1 outcome (reach) need
N of several thousand before their intervals are 0.10 wide: with G ~ 37 groups that is beyond two cores.
An emulator (``fit``: scikit-learn's histogram gradient boosting, one per output) learns the mean 2026
value ``f(x) = E[y | x]`` from ``x`` = the levers, the lever effects and the behaviour parameters of a
run; the model's own randomness (the seed) is what it cannot learn, and is measured directly from runs
repeated with a second seed: ``sigma^2 = mean((y1 - y2)^2) / 2`` (``seed_variance``).

The decomposition (``indices``), with ``V_f`` the variance of ``f`` over the design's distribution:

- a 2026 value: ``Var(y) = V_f + sigma^2``; the seed's index is ``sigma^2 / Var(y)`` (first and total
  order: it is ``E[Var(y | x)]``); a group's index is its Sobol index of ``f`` (Saltelli's estimators on
  the emulator, SALib) times ``V_f / Var(y)``. Assumption: the seed's noise adds to ``f`` with one variance
  (interactions of the seed with a group are counted as the seed's);
- reach (0/1): ``p(x) = Phi((f(x) - target) / sigma)``, the chance a run at ``x`` is above the target
  (Gaussian seed noise); ``Var(reach) = Var(p) + E[p (1 - p)]``, the seed's index ``E[p (1 - p)] / Var``,
  a group's its Sobol index of ``p`` times ``Var(p) / Var``; reach of all five: ``prod_t p_t(x)``
  (the seed's noise independent across targets given ``x``: an assumption).

Out-of-sample check (``holdout``): the emulator fitted on a share of the runs predicts the rest: R^2 of the
values (against the ceiling ``1 - sigma^2 / Var(y)`` no emulator can pass) and the Brier skill of reach.
Intervals (``indices``): the emulator refitted on bootstrap resamples of the runs (and of the seed pairs),
each giving its indices; the 95 % percentile interval's half-width, combined with Saltelli's own Monte
Carlo half-width, is the ``_conf`` of each index.
"""

from __future__ import annotations

import warnings

import numpy as np

from sim.pipeline.study.design import ALL_FIVE

#: Gradient boosting settings: shallow trees, slow learning, no early stopping (deterministic given the seed).
GB = {"max_iter": 300, "learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 10}
HOLDOUT = 0.2  # share of the training runs held out for the out-of-sample check
REFITS = 20  # bootstrap refits of the emulator for the indices' intervals
#: Below this share of an output's variance, what the emulator explains is numerical noise (a target reached
#: in no run gives p(x) ~ 1e-9 everywhere): the groups' indices are 0 and the seed holds the variance.
MIN_EXPLAINED = 1e-6


def fit(x: np.ndarray, y: np.ndarray, seed: int = 0):
    """An emulator of ``y`` (one output over runs) from ``x`` (runs x features): ``predict(x)``."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    model = HistGradientBoostingRegressor(**GB, early_stopping=False, random_state=seed)
    return model.fit(x, y)


def seed_variance(y1: np.ndarray, y2: np.ndarray) -> float:
    """The model's run-to-run variance at fixed inputs, from runs repeated with a second seed."""
    d = np.asarray(y1, dtype=float) - np.asarray(y2, dtype=float)
    d = d[np.isfinite(d)]
    return float(np.mean(d**2) / 2) if d.size else 0.0


def reach_probability(f: np.ndarray, target: float, sigma2: float) -> np.ndarray:
    """P(y > target | x) for emulated means ``f`` and the seed's variance (Gaussian noise)."""
    from scipy.stats import norm

    if sigma2 <= 0:
        return (f > target).astype(float)
    return norm.sf((target - f) / np.sqrt(sigma2))


def holdout(x: np.ndarray, y: np.ndarray, target: float, sigma2: float, seed: int = 0) -> dict:
    """Fit on ``1 - HOLDOUT`` of the runs, predict the rest: R^2, RMSE, the R^2 ceiling the seed allows,
    and the Brier score of the reach probability against that of the base rate (skill = 1 - ratio)."""
    rng = np.random.default_rng(seed)
    n = len(y)
    test = np.zeros(n, dtype=bool)
    test[rng.permutation(n)[: max(1, int(round(HOLDOUT * n)))]] = True
    model = fit(x[~test], y[~test], seed)
    pred = model.predict(x[test])
    resid = y[test] - pred
    var = float(np.var(y[test])) if test.sum() > 1 else float("nan")
    r2 = 1 - float(np.mean(resid**2)) / var if var > 0 else float("nan")
    hit = (y[test] > target).astype(float)
    p = reach_probability(pred, target, sigma2)
    base = float((y[~test] > target).mean())
    brier, brier0 = float(np.mean((p - hit) ** 2)), float(np.mean((base - hit) ** 2))
    return {
        "n_train": int((~test).sum()),
        "n_test": int(test.sum()),
        "r2": r2,
        "rmse": float(np.sqrt(np.mean(resid**2))),
        "r2_ceiling": 1 - sigma2 / float(np.var(y)) if np.var(y) > 0 else float("nan"),
        "brier": brier,
        "brier_base": brier0,
        "brier_skill": 1 - brier / brier0 if brier0 > 0 else float("nan"),
    }


def salib_seed(seed: int) -> int:
    """The seed to give SALib's ``analyze`` for the study's ``seed``: SALib draws its bootstrap from the
    unseeded global generator when the seed is falsy (``if seed:``), so a study's seed 0 would give other
    intervals at every run. ``seed + 1`` maps the non-negative seeds one to one onto positive ones."""
    return int(seed) + 1


def salib_analyze(problem: dict, y: np.ndarray, seed: int, resamples: int) -> dict:
    """SALib's Sobol analysis of ``y`` (first and total order, 95 % bootstrap half-widths), its warnings
    silenced and its bootstrap seeded from the study's ``seed`` (``salib_seed``): the one place SALib analyses."""
    from SALib.analyze import sobol as sobol_analyze

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return sobol_analyze.analyze(
            problem,
            y,
            calc_second_order=False,
            num_resamples=resamples,
            conf_level=0.95,
            seed=salib_seed(seed),
        )


def _sobol(problem: dict, y: np.ndarray, seed: int, resamples: int) -> tuple[np.ndarray, ...]:
    """SALib's first and total order indices (and their Monte Carlo half-widths) of ``y`` over the groups."""
    if not np.isfinite(y).all() or np.var(y) <= 0:
        g = len(dict.fromkeys(problem["groups"]))
        z = np.zeros(g)
        return z, z, z, z
    r = salib_analyze(problem, y, seed, resamples)
    # an index of f lies in [0, 1]: a Monte Carlo half-width above 1 says no more than 1 does (SALib's
    # bootstrap on a nearly flat output can return 1e5)
    return r["S1"], np.minimum(r["S1_conf"], 1.0), r["ST"], np.minimum(r["ST_conf"], 1.0)


def _scaled(problem: dict, y: np.ndarray, total: float, seed: int, resamples: int) -> dict[str, np.ndarray]:
    """The groups' indices of an output whose variance is ``total``, of which ``y`` (the emulated mean, or
    the reach probability) holds ``Var(y)``: Sobol indices of ``y`` times ``Var(y) / total``; the seed's
    share is the rest."""
    k = float(np.var(y)) / total if total > 0 else np.nan
    if not k > MIN_EXPLAINED:
        zero = np.zeros(len(dict.fromkeys(problem["groups"])))
        return {
            "S1": zero,
            "S1_conf": zero,
            "ST": zero,
            "ST_conf": zero,
            "seed": 1.0 if total > 0 else np.nan,
        }
    s1, s1c, st, stc = _sobol(problem, y, seed, resamples)
    return {"S1": s1 * k, "S1_conf": s1c * k, "ST": st * k, "ST_conf": stc * k, "seed": 1 - k}


def decompose(
    problem: dict,
    f: dict[str, np.ndarray],
    sigma2: dict[str, float],
    targets: dict[str, float],
    seed: int,
    resamples: int,
) -> dict[str, dict[str, np.ndarray]]:
    """Indices of each output from emulated means ``f`` on Saltelli's sample (outputs ``name`` and
    ``reach_name`` per emulated output, ``reach_all_five``): group indices (S1, ST and their Monte Carlo
    half-widths) scaled to the output's variance, and the seed's share (``seed``)."""
    out = {}
    probs = {}
    for name, fy in f.items():
        out[name] = _scaled(problem, fy, float(np.var(fy)) + sigma2[name], seed, resamples)
        probs[name] = reach_probability(fy, targets[name], sigma2[name])
    every = np.prod(list(probs.values()), axis=0)
    for name, p in [*((f"reach_{n}", p) for n, p in probs.items()), (f"reach_{ALL_FIVE}", every)]:
        total = float(np.var(p)) + float(np.mean(p * (1 - p)))
        if total <= 1e-12:
            nan = np.full(len(dict.fromkeys(problem["groups"])), np.nan)
            out[name] = {"S1": nan, "S1_conf": nan, "ST": nan, "ST_conf": nan, "seed": np.nan}
            continue
        out[name] = _scaled(problem, p, total, seed, resamples)
    return out
