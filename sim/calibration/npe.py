"""The in-house ABC against neural posterior estimation (``sbi``) on the same simulations.

Issue 17 asks whether a well-kept library does better than the in-house ABC on the same budget. This
trains NPE (Papamakarios & Murray 2016; ``sbi``'s ``NPE`` with a neural spline flow) on runs the
calibration already made, so the comparison costs no new training simulations:

- the training set is every history-matching wave and the ABC's design round of a calibration folder
  (``history_matching.npz``, ``abc_runs.csv.gz``, ``abc_outputs.npz``): the uniform prior box, then the box
  restricted to what history matching did not rule out. With the posterior inside the final region, the
  proposal's density over the prior is constant where the posterior has mass, and NPE's estimate there is
  the posterior itself (truncated NPE, Deistler et al. 2022, NeurIPS). The MCMC rounds' runs are left out:
  they follow the ABC's own kernel, not a truncation of the prior;
- summaries: the log of the model at the fitted data points, as history matching uses them; the data point
  itself is the observation (the model's discrepancy and the data's half-width are what NPE learns as
  run-to-run spread: it has no tolerance to set);
- the posterior is sampled at the data (``draws`` sets, rejection to the prior box), and judged as the ABC's
  is: the distance of one run per set at the calibration's scale, the posterior-predictive fit at scale 1
  (one run per set, fresh seeds: coverage, band widths, medians), and each parameter's posterior/prior sd.

    python -m sim.calibration.npe results/calibration/<folder> [--draws 300] [--jobs 2] [--docs]

Writes ``npe_comparison.md`` / ``.json`` into the folder (and ``docs/`` with ``--docs``). Needs the
``[dev]`` extra (``sbi``, ``torch``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.calibration.abc import ParamSpace, Runner, SimTask, model_seed
from sim.calibration.fitreport import error_table, headline_sharpness, summary_of_fit
from sim.calibration.history_matching import log_outputs, spread_sample
from sim.calibration.targets import FitTargets
from sim.data.posterior import PROJECTION_ONLY
from sim.paths import DOCS_DIR
from sim.runtime import atomic
from sim.runtime.config import BAD_INPUT_EXIT
from sim.runtime.provenance import git_info

# ``model_seed`` round indices of the comparison's runs (apart from the ABC's rounds)
NPE_ROUND, NPE_PPC_ROUND, NPE_EXTRA_ROUND, NOISE_ROUND = 2000, 2001, 2002, 2003
PRIOR_SD_UNIT = 1 / np.sqrt(12)  # sd of a uniform prior on the unit interval
FILES = (
    "history_matching.npz",
    "abc_runs.csv.gz",
    "abc_outputs.npz",
    "posterior.csv",
    "posterior.json",
    "fit_summary.json",
)


class InputError(ValueError):
    """A calibration folder that cannot be compared (one line for the user)."""


# --------------------------------------------------------------------------- training set
def training_set(folder: Path, space: ParamSpace, fitted: FitTargets) -> tuple[np.ndarray, np.ndarray, dict]:
    """(θ in the unit box, log summaries, counts) of the folder's history-matching waves and design round."""
    folder = Path(folder)
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing:
        raise InputError(f"folder {folder}: no {', '.join(missing)} (a folder written by `make calibrate`)")
    hm = np.load(folder / "history_matching.npz")
    waves = sorted(int(k[1:]) for k in hm.files if k.startswith("u") and k[1:].isdigit())
    labels = [str(x) for x in hm["labels"]]
    if labels != fitted.labels(fitted_only=True):
        raise InputError(
            f"folder {folder}: its fitted data points are not today's (sim/data/fit_targets.csv)"
        )
    thetas = [hm[f"u{w}"] for w in waves]
    xs = [hm[f"log_sim{w}"] for w in waves]
    with gzip.open(folder / "abc_runs.csv.gz", "rt") as fh:
        runs = pd.read_csv(fh)
    design = runs["round"].to_numpy() == 0
    saved = np.load(folder / "abc_outputs.npz")
    outputs = saved["outputs"]
    if len(outputs) != len(runs) or list(space.names) != [c for c in runs.columns if c in space.names]:
        raise InputError(f"folder {folder}: its runs do not match today's calibrated parameters")
    thetas.append(space.unit(runs.loc[design, list(space.names)].to_numpy(dtype=float)))
    xs.append(log_outputs(fitted.simulated(outputs[design])[:, fitted.fitted]))
    theta, x = np.concatenate(thetas), np.concatenate(xs)
    ok = np.all(np.isfinite(x), axis=1)
    counts = {
        "history_matching_waves": len(waves),
        "history_matching_runs": int(sum(len(t) for t in thetas[:-1])),
        "design_runs": int(design.sum()),
        "failed_or_nonpositive": int((~ok).sum()),
        "training_runs": int(ok.sum()),
        "calibration_runs": int(len(runs) + sum(len(t) for t in thetas[:-1]) + len(saved["pilot"])),
    }
    return theta[ok], x[ok], counts


def extra_runs(
    folder: Path, space: ParamSpace, fitted: FitTargets, n: int, runner: Runner, scale: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` more training runs from the final history-matched region (``history_matching.npz``'s ``nroy``),
    at the calibration's scale: the same truncated prior as the design round, to give NPE the ABC's budget."""
    nroy = np.load(Path(folder) / "history_matching.npz")["nroy"]
    u = spread_sample(nroy, n, np.random.default_rng(np.random.SeedSequence([seed, NPE_EXTRA_ROUND])))
    tasks = [
        SimTask(space.params(space.values(r)), model_seed(seed, NPE_EXTRA_ROUND, i), scale)
        for i, r in enumerate(u)
    ]
    x = log_outputs(
        fitted.simulated(runner.run(tasks, f"{n} more runs of the history-matched region"))[:, fitted.fitted]
    )
    ok = np.all(np.isfinite(x), axis=1)
    return u[ok], x[ok]


def band_decomposition(
    space: ParamSpace,
    targets: FitTargets,
    unit: np.ndarray,
    weights: np.ndarray,
    n: int,
    jobs: int,
    seed: int,
    progress: bool,
) -> dict[str, float]:
    """What sets the headline band width (median over T01-T04 in 2019-2023, 90 % band, scale 1): ``n`` runs at
    the posterior's most weighted set with the lever effects at their centre (run-to-run noise alone), the
    same with the effects drawn as every calibration and projection run draws them, and the posterior."""
    best = space.params(space.values(unit[int(np.argmax(weights))]))
    out = {}
    for key, central in (("noise", True), ("noise_and_effects", False)):
        tasks = [
            SimTask(best, model_seed(seed, NOISE_ROUND, i), 1.0, central_effects=central) for i in range(n)
        ]
        with Runner(jobs=jobs, progress=progress) as runner:
            runs = runner.run(tasks, f"band width: one set, {key.replace('_', ' ')}")
        out[key] = headline_sharpness(error_table(targets, runs, np.ones(n)))["median_band_width_rel"]
    return out


# --------------------------------------------------------------------------- NPE
class _NoTracking:
    """An ``sbi`` tracker that keeps nothing: by default sbi writes TensorBoard logs into the working folder."""

    log_dir = None

    def log_metric(self, name, value, step=None) -> None:
        pass

    def log_metrics(self, metrics, step=None) -> None:
        pass

    def log_params(self, params) -> None:
        pass

    def add_figure(self, name, figure, step=None) -> None:
        pass

    def flush(self) -> None:
        pass


def train_npe(theta: np.ndarray, x: np.ndarray, seed: int = 0, estimator: str = "nsf", **train_kwargs):
    """An ``sbi`` NPE posterior on the unit box, trained on (θ, x) (``train_kwargs``: ``NPE.train``'s)."""
    import torch
    from sbi.inference import NPE
    from sbi.utils import BoxUniform

    torch.manual_seed(seed)
    dim = theta.shape[1]
    prior = BoxUniform(torch.zeros(dim), torch.ones(dim))
    inference = NPE(prior=prior, density_estimator=estimator, show_progress_bars=False, tracker=_NoTracking())
    inference.append_simulations(
        torch.as_tensor(theta, dtype=torch.float32), torch.as_tensor(x, dtype=torch.float32)
    )
    inference.train(**train_kwargs)
    return inference.build_posterior()


def sample_npe(posterior, x_obs: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` posterior draws (unit box) at the observation ``x_obs``."""
    import torch

    torch.manual_seed(seed)
    draws = posterior.sample((n,), x=torch.as_tensor(x_obs, dtype=torch.float32), show_progress_bars=False)
    return draws.numpy().astype(float)


# --------------------------------------------------------------------------- judging a posterior
def width_ratios(space: ParamSpace, unit: np.ndarray, weights: np.ndarray) -> pd.Series:
    """Posterior sd / prior sd per parameter (unit box, weighted draws)."""
    w = np.asarray(weights, dtype=float) / np.sum(weights)
    mean = w @ unit
    sd = np.sqrt(w @ (unit - mean) ** 2)
    return pd.Series(sd / PRIOR_SD_UNIT, index=list(space.names))


def judge(
    space: ParamSpace,
    targets: FitTargets,
    fitted: FitTargets,
    unit: np.ndarray,
    weights: np.ndarray,
    runner: Runner,
    scale: float,
    seed: int,
) -> dict[str, Any]:
    """Distance at ``scale`` and posterior-predictive fit at scale 1 of one run per set, and width ratios."""
    values = space.values(unit)
    near = runner.run(
        [SimTask(space.params(v), model_seed(seed, NPE_ROUND, i), scale) for i, v in enumerate(values)],
        f"posterior draws at scale {scale:g}",
    )
    ppc = runner.run(
        [SimTask(space.params(v), model_seed(seed, NPE_PPC_ROUND, i), 1.0) for i, v in enumerate(values)],
        "posterior predictive at scale 1",
    )
    return {
        "distance": fitted.distance(near),
        "fit": summary_of_fit(error_table(targets, ppc, weights)),
        "width_ratio": width_ratios(space, unit, weights),
    }


def abc_posterior(
    folder: Path, space: ParamSpace, fitted: FitTargets
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unit sets, weights, distances) of the folder's ABC posterior: its distinct sets (``posterior.csv``) and
    the distances of the runs that made them particles (``abc_outputs.npz``'s ``kept``, in the same order)."""
    post = pd.read_csv(Path(folder) / "posterior.csv")
    saved = np.load(Path(folder) / "abc_outputs.npz")
    kept = saved["kept"]
    if len(kept) != len(post) or not set(space.names) <= set(post.columns):
        raise InputError(
            f"folder {folder}: posterior.csv does not match its saved runs or today's parameters"
        )
    unit = space.unit(post[list(space.names)].to_numpy(dtype=float))
    return unit, post["weight"].to_numpy(float), fitted.distance(saved["outputs"][kept])


# --------------------------------------------------------------------------- the comparison
def compare(
    folder: Path,
    draws: int = 300,
    jobs: int = 2,
    seed: int = 0,
    extra: int = 0,
    noise_runs: int = 40,
    progress: bool = True,
) -> dict:
    """Train NPE on the folder's prior-box runs (and ``extra`` more of the history-matched region), judge it and
    the folder's ABC posterior the same way, and split the headline band width by source (``noise_runs``)."""
    t0 = time.perf_counter()
    git = git_info()  # the code that runs, before anything is written
    folder = Path(folder)
    space = ParamSpace.from_priors()
    targets = FitTargets.default()
    theta, x, counts = training_set(folder, space, targets)
    training = json.loads((folder / "posterior.json").read_text(encoding="utf-8"))
    pilot = np.load(folder / "abc_outputs.npz")["pilot"]
    fitted = targets.with_noise(pilot)
    abc_unit, abc_w, abc_dist = abc_posterior(folder, space, fitted)
    fit_abc = json.loads((folder / "fit_summary.json").read_text(encoding="utf-8"))
    scale = float((training.get("config") or {}).get("scale", 0.25))  # the calibration's own scale
    if extra:
        with Runner(jobs=jobs, progress=progress) as runner:
            more_theta, more_x = extra_runs(folder, space, fitted, extra, runner, scale, seed)
        theta, x = np.r_[theta, more_theta], np.r_[x, more_x]
        counts["extra_runs"] = int(len(more_theta))
        counts["training_runs"] = int(len(theta))
    t_train = time.perf_counter()
    posterior = train_npe(theta, x, seed)
    train_s = time.perf_counter() - t_train
    x_obs = np.log(fitted.observed[fitted.fitted])
    npe_unit = sample_npe(posterior, x_obs, draws, seed)
    with Runner(jobs=jobs, progress=progress) as runner:
        npe = judge(space, targets, fitted, npe_unit, np.ones(len(npe_unit)), runner, scale, seed)
    widths = (
        band_decomposition(space, targets, abc_unit, abc_w, noise_runs, jobs, seed, progress)
        if noise_runs
        else {}
    )
    data_informed = [n for n in space.names if n not in PROJECTION_ONLY]
    abc_ratio = width_ratios(space, abc_unit, abc_w)
    tol = float(abc_dist.max())
    return {
        "kind": "npe_comparison",
        "folder": folder.name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git": git,
        "seed": seed,
        "draws": draws,
        "calibration_scale": scale,
        "training": counts,
        "train_s": train_s,
        "wall_s": time.perf_counter() - t0,
        "points_in_distance": int(fitted.fitted.sum()),
        "noise_runs": noise_runs,
        "band_width_sources": widths,
        "abc": {
            "tolerance": tol,
            "distance_median": float(np.median(abc_dist)),  # of its distinct sets' particle runs
            "fit": fit_abc,
            "width_ratio": abc_ratio.to_dict(),
            "width_ratio_median": float(abc_ratio[data_informed].median()),
        },
        "npe": {
            "distance_median": float(np.median(npe["distance"])),
            "within_abc_tolerance": float(np.mean(npe["distance"] <= tol)),
            "fit": npe["fit"],
            "width_ratio": npe["width_ratio"].to_dict(),
            "width_ratio_median": float(npe["width_ratio"][data_informed].median()),
        },
    }


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def markdown(result: dict) -> str:
    """The comparison page."""
    a, n, c = result["abc"], result["npe"], result["training"]
    fa, fn = a["fit"], n["fit"]
    rows = [
        (
            "simulations",
            f"{c['calibration_runs']:,} (all rounds)",
            f"{c['training_runs']:,}: {c['training_runs'] - c.get('extra_runs', 0):,} of the ABC's, reused"
            + (f", and {c['extra_runs']:,} more" if c.get("extra_runs") else ""),
        ),
        (
            f"distance at scale {result['calibration_scale']:g} ({result['points_in_distance']} points), median",
            f"{a['distance_median']:.1f} (particles; tolerance {a['tolerance']:.1f})",
            f"{n['distance_median']:.1f} (one run per draw; {_pct(n['within_abc_tolerance'])} within the "
            "ABC's tolerance)",
        ),
        (
            "headline 90 % band width, median (T01-T04, 2019-2023; goal ≤ 15 %)",
            _pct(fa["headline"]["median_band_width_rel"]),
            _pct(fn["headline"]["median_band_width_rel"]),
        ),
        (
            "headline coverage (goal ≥ 80 %)",
            _pct(fa["headline"]["coverage"]),
            _pct(fn["headline"]["coverage"]),
        ),
        (
            "all data points inside the 90 % band",
            f"{fa['covered']} of {fa['points']}",
            f"{fn['covered']} of {fn['points']}",
        ),
        (
            "medians within the goal (±10 % T01-T04, 2 points T05)",
            f"{fa['median_goal_met']} of {fa['median_goal_points']}",
            f"{fn['median_goal_met']} of {fn['median_goal_points']}",
        ),
        (
            "posterior/prior sd, median over the data-informed parameters",
            f"{a['width_ratio_median']:.2f}",
            f"{n['width_ratio_median']:.2f}",
        ),
    ]
    ratio = pd.DataFrame({"ABC": a["width_ratio"], "NPE": n["width_ratio"]})
    ratio = ratio.drop(index=[p for p in PROJECTION_ONLY if p in ratio.index]).sort_values("ABC")
    git = result["git"]
    lines = [
        "# Calibration: the in-house ABC against neural posterior estimation (sbi)",
        "",
        "Written by `python -m sim.calibration.npe` (do not edit; rerun the command). Method: the module's "
        "docstring (`sim/calibration/npe.py`).",
        "",
        f"- calibration folder `{result['folder']}`; NPE (`sbi` neural spline flow) trained on its "
        f"{c['history_matching_runs']:,} history-matching runs ({c['history_matching_waves']} waves) and "
        f"{c['design_runs']:,} design runs ({c['failed_or_nonpositive']} dropped: a failed or non-positive output)"
        + (f" and {c['extra_runs']:,} more runs of the history-matched region" if c.get("extra_runs") else "")
        + " "
        f"in {result['train_s'] / 60:.1f} min; {result['draws']} posterior draws; seed {result['seed']}",
        f"- commit `{git.get('commit', 'unknown')}`{' (uncommitted changes)' if git.get('dirty') else ''}; "
        f"created {result['created']}; wall time {result['wall_s'] / 60:.1f} min",
        "- both posteriors judged the same way: the ABC's numbers are its calibration report's (one run per "
        "distinct set at scale 1, weighted by its share of the particles); NPE's from one run per draw at "
        "scale 1 with fresh seeds",
        "",
        "| | in-house ABC-SMC | NPE (sbi) |",
        "|---|---|---|",
        *[f"| {r[0]} | {r[1]} | {r[2]} |" for r in rows],
        "",
        *band_lines(result),
        "## Posterior/prior sd per parameter",
        "",
        "1 is the prior's width; the three parameters no data point depends on are left out "
        "(`PROJECTION_ONLY`).",
        "",
        "| parameter | ABC | NPE |",
        "|---|---|---|",
        *[f"| {k} | {v['ABC']:.2f} | {v['NPE']:.2f} |" for k, v in ratio.iterrows()],
        "",
    ]
    return "\n".join(lines)


def band_lines(result: dict) -> list[str]:
    """The section on what sets the headline band width."""
    w = result.get("band_width_sources") or {}
    if not w:
        return []
    post = result["abc"]["fit"]["headline"]["median_band_width_rel"]
    return [
        "## What sets the band width",
        "",
        f"Median width of the 90 % band of T01-T04 in 2019-2023 at scale 1 ({result['noise_runs']} runs each, at the "
        "ABC posterior's most weighted set):",
        "",
        "| source | median band width |",
        "|---|---|",
        f"| run-to-run noise (lever effects at their centre) | {_pct(w['noise'])} |",
        f"| noise and the lever effects drawn (as every calibration and projection run draws them) | "
        f"{_pct(w['noise_and_effects'])} |",
        f"| the ABC posterior (behaviour spread too; calibration report) | {_pct(post)} |",
        "",
        "The rest of the width is the spread of behaviour the data leave: an algorithm that sharpens the bands "
        "has to narrow that, and the lever effects' own uncertainty sets a floor under it before 2024 (the "
        "instruments ran at their historical levels).",
        "",
    ]


def write(result: dict, out_dirs: list[Path]) -> list[Path]:
    written = []
    for d in out_dirs:
        written.append(atomic.write_text(d / "npe_comparison.md", markdown(result)))
        written.append(
            atomic.write_text(d / "npe_comparison.json", json.dumps(result, indent=1, default=float))
        )
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sim.calibration.npe", description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path, help="a calibration folder (results/calibration/<name>)")
    ap.add_argument("--draws", type=int, default=300, help="posterior draws judged (>= 20)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (>= 1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--extra",
        type=int,
        default=0,
        help="more training runs from the history-matched region (>= 0); the ABC's budget less the reused runs "
        "gives both methods the same number of simulations",
    )
    ap.add_argument(
        "--noise-runs", type=int, default=40, help="runs per band-width source (0: skip; else >= 20)"
    )
    ap.add_argument("--docs", action="store_true", help="also write docs/npe_comparison.md and .json")
    args = ap.parse_args(argv)
    try:
        if args.draws < 20:
            raise InputError(f"--draws = {args.draws}: allowed range is >= 20 (a 90 % band needs them)")
        if args.extra < 0:
            raise InputError(f"--extra = {args.extra}: allowed range is >= 0")
        if args.noise_runs != 0 and args.noise_runs < 20:
            raise InputError(f"--noise-runs = {args.noise_runs}: allowed range is 0 or >= 20")
        if args.jobs < 1:
            raise InputError(f"--jobs = {args.jobs}: allowed range is >= 1")
        if not args.folder.is_dir():
            raise InputError(f"folder {args.folder}: no such folder")
        try:
            import sbi  # noqa: F401
        except ImportError:
            raise InputError("sbi is not installed: pip install -e '.[dev]'") from None
        result = compare(args.folder, args.draws, args.jobs, args.seed, args.extra, args.noise_runs)
    except InputError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return BAD_INPUT_EXIT
    except KeyboardInterrupt:
        print("interrupted: nothing written", file=sys.stderr)
        return 130
    for p in write(result, [args.folder] + ([DOCS_DIR] if args.docs else [])):
        print(f"wrote {p}")
    print(markdown(result).split("## Posterior")[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
