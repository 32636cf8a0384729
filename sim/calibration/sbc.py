"""Does the calibration recover known parameters? A coverage check on synthetic data (``python -m sim.calibration.sbc``).

Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari & Gelman 2018) asks whether a
posterior is as wide as it should be: draw a parameter set, simulate data from it, calibrate on those
data, and see where the true value falls in the posterior. Over many draws the rank of the truth is
uniform, and a ``q`` credible interval contains it a share ``q`` of the time.

A full SBC draws its truths from the prior and needs hundreds of calibrations; ours cost thousands of
model runs each, so this check is smaller and says so:

* truths are ``K`` parameter sets of the committed posterior (the region that matters for projections,
  where the data put the model), drawn by weight from a fixed seed;
* each truth's synthetic data are one model run at the projection scale (the real world is one run of
  the world), at the same data points, years and half-widths as the real data;
* each calibration is the same algorithm as ``python -m sim.calibrate`` (history matching, then ABC), at
  the budget of ``configs/sbc.yaml``;
* for every calibrated parameter the report gives the truth's rank in its posterior, and the coverage of
  the central 50 % and 90 % intervals pooled over parameters and truths, with the binomial interval a
  correct posterior would fall in, and the parameters whose truths fall outside their 90 % interval.

Writes ``docs/sbc.md`` and ``docs/sbc.json`` (with ``docs=true``) and the run folder.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sim.calibration.abc import ABCSettings, ParamSpace, Runner, run_abc
from sim.calibration.calibrate import posterior_frame
from sim.calibration.targets import FitTargets, outputs_from_annual
from sim.data.posterior import POSTERIOR_CSV, load_posterior
from sim.paths import DOCS_DIR
from sim.runtime import atomic, provenance
from sim.runtime.parallel import derive_seed

INTERVALS = (0.5, 0.9)


@dataclass
class SBCConfig:
    """What the check runs: truths, their data, and each calibration's budget (``ABCSettings``)."""

    truths: int = 8
    seed: int = 0
    data_scale: float = 1.0  # scale of the run that makes a truth's synthetic data
    jobs: int = 2
    abc: ABCSettings = field(
        default_factory=lambda: ABCSettings(
            hm_waves=2, hm_runs=512, n_pilot=8, n_design=512, n_keep=150, n_steps=5, sweeps=2, final_sweeps=2
        )
    )
    docs: bool = True
    progress: bool = False


def synthetic_targets(real: FitTargets, outputs: np.ndarray) -> FitTargets:
    """The real data points with their values replaced by one run's outputs (half-widths kept relative)."""
    pts = real.points.copy()
    sim = real.simulated(outputs[None])[0]
    rel = pts["half_width"].to_numpy() / np.abs(pts["value"].to_numpy())
    pts["value"] = sim
    pts["lo"] = sim * (1 - rel)
    pts["hi"] = sim * (1 + rel)
    pts["half_width"] = np.abs(sim) * rel
    return FitTargets(pts)


def rank_of(truth: float, sample: np.ndarray, weights: np.ndarray) -> float:
    """The truth's weighted rank in the posterior sample, in [0, 1]."""
    return float(np.sum(weights * (sample < truth)) + 0.5 * np.sum(weights * (sample == truth)))


def run_sbc(cfg: SBCConfig, out_dir: Path, log=print) -> dict:
    from sim.model.evaluate import ModelRun, evaluate
    from sim.model.policy import sample_effects

    started = time.time()
    out_dir.mkdir(parents=True, exist_ok=True)
    post = load_posterior(POSTERIOR_CSV)
    space = ParamSpace.from_priors()
    real = FitTargets.default(cfg.abc.through_year)
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 0x5BC]))
    weights = np.asarray(post.weights, dtype=float)
    picks = rng.choice(len(weights), size=cfg.truths, p=weights / weights.sum())
    sets = post.param_sets()
    rows = []
    for k, pick in enumerate(picks.tolist()):
        truth = sets[pick]
        seed = derive_seed(cfg.seed, 0x5BC, k)
        run = evaluate(ModelRun(None, truth, sample_effects(seed), seed, cfg.data_scale, cfg.abc.through_year))
        targets = synthetic_targets(real, outputs_from_annual(run.frame()))
        settings = ABCSettings(**{**cfg.abc.__dict__, "seed": cfg.seed + 1 + k})
        t0 = time.time()
        with Runner(cfg.jobs, progress=cfg.progress) as runner:
            result = run_abc(space, targets, settings, runner, base=truth, log=lambda m: None)
        frame = posterior_frame(result)
        w = frame["weight"].to_numpy()
        for name in space.names:
            value = float(getattr(truth, name))
            sample = frame[name].to_numpy()
            row = {"truth": k, "parameter": name, "value": value, "rank": rank_of(value, sample, w)}
            for q in INTERVALS:
                lo, hi = np.quantile(np.repeat(sample, np.maximum(1, np.round(w * 1000).astype(int))), [(1 - q) / 2, (1 + q) / 2])
                row[f"in_{int(q * 100)}"] = bool(lo <= value <= hi)
            rows.append(row)
        log(f"truth {k + 1}/{cfg.truths}: calibrated in {(time.time() - t0) / 60:.1f} min, tolerance {result.tolerance:.1f}")
    table = pd.DataFrame(rows)
    atomic.write_csv(out_dir / "sbc_ranks.csv", table)
    summary = summarise(table)
    summary["provenance"] = {
        **provenance.record(["python", "-m", "sim.calibration.sbc"], provenance.PACKAGES),
        "truths": cfg.truths,
        "budget": cfg.abc.__dict__,
        "data_scale": cfg.data_scale,
        "wall_time_s": round(time.time() - started, 1),
    }
    md = render(summary, table)
    atomic.write_text(out_dir / "sbc.md", md)
    atomic.write_text(out_dir / "sbc.json", json.dumps(summary, indent=1, default=float))
    if cfg.docs:
        atomic.write_text(DOCS_DIR / "sbc.md", md)
        atomic.write_text(DOCS_DIR / "sbc.json", json.dumps(summary, indent=1, default=float))
    return summary


def summarise(table: pd.DataFrame) -> dict:
    """Pooled coverage with the binomial 95 % range a correct posterior would give, and a rank test."""
    out = {"cells": int(len(table)), "coverage": {}}
    n = len(table)
    for q in INTERVALS:
        hit = int(table[f"in_{int(q * 100)}"].sum())
        lo, hi = stats.binom.ppf([0.025, 0.975], n, q) / n
        out["coverage"][str(q)] = {"observed": hit / n, "expected": q, "range_95": [float(lo), float(hi)]}
    ranks = table["rank"].to_numpy()
    out["rank_uniformity_ks_p"] = float(stats.kstest(ranks, "uniform").pvalue)
    out["outside_90"] = (
        table.loc[~table["in_90"], "parameter"].value_counts().to_dict() if "in_90" in table else {}
    )
    return out


def render(summary: dict, table: pd.DataFrame) -> str:
    lines = [
        "# Does the calibration recover known parameters?",
        "",
        "Written by `python -m sim.calibration.sbc` (`sim/calibration/sbc.py`: method and its limits in the "
        "docstring). Truths are parameter sets of the committed posterior; each one's synthetic data are one "
        "model run; each calibration is the same algorithm as `python -m sim.calibrate` at a smaller budget.",
        "",
        f"- {summary['provenance']['truths']} truths x {table['parameter'].nunique()} parameters = "
        f"{summary['cells']} (truth, parameter) cells; wall time "
        f"{summary['provenance']['wall_time_s'] / 60:.0f} min",
    ]
    for q, c in summary["coverage"].items():
        lo, hi = c["range_95"]
        ok = "within" if lo <= c["observed"] <= hi else "**outside**"
        lines.append(
            f"- central {float(q):.0%} intervals contain the truth in {c['observed']:.0%} of the cells "
            f"(a correct posterior: {c['expected']:.0%}, 95 % of the time between {lo:.0%} and {hi:.0%}: {ok})"
        )
    lines.append(
        f"- uniformity of the truths' ranks (Kolmogorov-Smirnov): p = {summary['rank_uniformity_ks_p']:.2f}"
    )
    if summary["outside_90"]:
        lines.append(
            "- truths outside their 90 % interval, by parameter: "
            + ", ".join(f"{k} ({v})" for k, v in summary["outside_90"].items())
        )
    lines += ["", "| parameter | ranks of the truths | in 90 % |", "|---|---|---|"]
    for name, g in table.groupby("parameter", sort=False):
        lines.append(
            f"| {name} | {', '.join(f'{r:.2f}' for r in g['rank'])} | {int(g['in_90'].sum())}/{len(g)} |"
        )
    return "\n".join(lines) + "\n"
