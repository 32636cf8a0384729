"""Does the calibration recover known parameters? ``python -m sim.calibration.sbc <calibration folder>``.

Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari & Gelman 2018) asks whether a
posterior is as wide as it should be: draw a parameter set, simulate data from it, calibrate on those
data, and see where the true value falls in the posterior. Over many draws the rank of the truth is
uniform, and a central ``q`` interval contains it a share ``q`` of the time.

A full SBC needs hundreds of calibrations of thousands of runs each (days on two cores). This check
reuses the runs a calibration already made, and says what that covers:

* the **reference table** is the calibration's rejection round: ``n_design`` runs at parameter sets
  drawn from the history-matched region (``abc_runs.csv.gz`` round 0, ``abc_outputs.npz``);
* each **truth** is one run of that table: its parameters are the truth, its outputs (one noisy run
  at the calibration's scale) are the synthetic data, at the real data's points;
* its **posterior** is the rejection step of ``sim.calibrate`` on the other runs of the table: the
  ``keep`` share closest under the same distance (the real data's error scales: half-width, model
  noise and discrepancy per point);
* for every parameter the report gives the truth's rank, the coverage of the central 50 % and 90 %
  intervals pooled over truths with the binomial range a correct posterior falls in, and the
  **shrinkage** (posterior sd / sd in the table): how much data like ours can tell about it.

What it does not check: the ABC-MCMC tolerance steps after the rejection round (their posterior is
narrower; a full SBC of them is left to a cluster: ``python -m sim.calibrate`` per truth), and the
region history matching cut (the truths are inside it by construction).

Writes ``sbc.md``/``sbc.json``/``sbc_ranks.csv`` in the calibration folder, and ``docs/sbc.md`` and
``docs/sbc.json`` with ``--docs``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sim.calibration.targets import FitTargets
from sim.paths import DOCS_DIR, REPO_ROOT
from sim.runtime import atomic, provenance

INTERVALS = (0.5, 0.9)
#: Truths drawn from the table (each is a leave-one-out rejection posterior; cost is negligible)
DEFAULT_TRUTHS = 400
#: Share of the table kept as each truth's posterior (sim.calibrate keeps n_keep of n_design, ~15-20 %)
DEFAULT_KEEP = 0.1


def load_table(folder: Path) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The rejection round of a calibration folder: (parameters, outputs, pilot outputs)."""
    runs_path, out_path = folder / "abc_runs.csv.gz", folder / "abc_outputs.npz"
    for p in (runs_path, out_path):
        if not p.is_file():
            raise FileNotFoundError(f"{p}: not found (give the folder a `python -m sim.calibrate` run wrote)")
    runs = pd.read_csv(runs_path)
    saved = np.load(out_path)
    first = (runs["round"] == 0).to_numpy()
    names = [c for c in runs.columns if c not in ("round", "seed", "distance", "accepted", "weight")]
    return runs.loc[first, names].reset_index(drop=True), saved["outputs"][first], saved["pilot"]


def leave_one_out(
    params: pd.DataFrame,
    sims: np.ndarray,
    scale: np.ndarray,
    truths: np.ndarray,
    keep: int,
    data: np.ndarray | None = None,
) -> pd.DataFrame:
    """Rank and interval coverage of each truth's parameters in its rejection posterior.

    ``sims`` (n, points) are the table's values at the fitted data points, ``scale`` the distance's
    per-point error scale; truth ``j``'s posterior is the ``keep`` runs closest to ``sims[j]`` among
    the others. ``data`` (truths, points) replaces the truths' own values as the observed data (a
    test of the check: data the table's simulator did not make must show up as lost coverage).
    """
    values = params.to_numpy(dtype=float)
    spread = values.std(axis=0, ddof=1)
    rows = []
    for t, j in enumerate(truths.tolist()):
        observed = sims[j] if data is None else data[t]
        d = np.sum(((sims - observed) / scale) ** 2, axis=1)
        d[j] = np.inf
        d[~np.isfinite(d)] = np.inf
        post = values[np.argsort(d, kind="stable")[:keep]]
        for k, name in enumerate(params.columns):
            truth, sample = values[j, k], post[:, k]
            row = {
                "truth": j,
                "parameter": name,
                "value": truth,
                "rank": float(np.mean(sample < truth) + 0.5 * np.mean(sample == truth)),
                "shrinkage": float(sample.std(ddof=1) / spread[k]) if spread[k] > 0 else np.nan,
            }
            for q in INTERVALS:
                lo, hi = np.quantile(sample, [(1 - q) / 2, (1 + q) / 2])
                row[f"in_{int(q * 100)}"] = bool(lo <= truth <= hi)
            rows.append(row)
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame) -> dict:
    """Pooled coverage with the binomial 95 % range a correct posterior gives, and per-parameter rows."""
    n_truths = table["truth"].nunique()
    out: dict = {"truths": int(n_truths), "cells": int(len(table)), "coverage": {}, "parameters": {}}
    for q in INTERVALS:
        hit = float(table[f"in_{int(q * 100)}"].mean())
        # pooled cells are not independent (same truth, many parameters): the range is per parameter
        lo, hi = stats.binom.ppf([0.025, 0.975], n_truths, q) / n_truths
        out["coverage"][str(q)] = {"observed": hit, "expected": q, "range_95_per_parameter": [lo, hi]}
    for name, g in table.groupby("parameter", sort=False):
        ks = stats.kstest(g["rank"].to_numpy(), "uniform").pvalue
        out["parameters"][name] = {
            "in_50": float(g["in_50"].mean()),
            "in_90": float(g["in_90"].mean()),
            "rank_ks_p": float(ks),
            "shrinkage": float(g["shrinkage"].median()),
        }
    return out


def render(summary: dict, folder: str) -> str:
    cov = summary["coverage"]
    lo50, hi50 = cov["0.5"]["range_95_per_parameter"]
    lo90, hi90 = cov["0.9"]["range_95_per_parameter"]
    lines = [
        "# Does the calibration recover known parameters?",
        "",
        "Written by `python -m sim.calibration.sbc` (`sim/calibration/sbc.py`: the method and what it does "
        "not check are in its docstring). Reference table: the rejection round of the calibration in "
        f"`{folder}`. Each truth is one run of the table (its outputs are the synthetic data); its posterior "
        "is the rejection step on the other runs under the same distance.",
        "",
        f"- {summary['truths']} truths x {len(summary['parameters'])} parameters; table of "
        f"{summary['table_runs']} runs, {summary['keep']} kept per truth; "
        f"{summary['points']} data points in the distance",
        f"- central 50 % intervals hold the truth in {cov['0.5']['observed']:.0%} of the cells "
        f"(correct: 50 %; per parameter 95 % of the time within {lo50:.0%}-{hi50:.0%})",
        f"- central 90 % intervals hold the truth in {cov['0.9']['observed']:.0%} of the cells "
        f"(correct: 90 %; per parameter within {lo90:.0%}-{hi90:.0%})",
        "- shrinkage = the posterior's sd over the sd in the table (1: data like ours say nothing "
        "about the parameter inside the history-matched region; 0.3: they pin it to a third)",
        "",
        "| parameter | in 50 % | in 90 % | ranks uniform (KS p) | shrinkage | verdict |",
        "|---|---|---|---|---|---|",
    ]
    rows = sorted(summary["parameters"].items(), key=lambda kv: kv[1]["shrinkage"])
    for name, p in rows:
        ok = lo90 <= p["in_90"] <= hi90 and lo50 <= p["in_50"] <= hi50
        # above the range: conservative (the rejection tolerance is wider than the run-to-run noise)
        verdict = "calibrated" if ok else ("too narrow" if p["in_90"] < lo90 else "conservative")
        if ok and p["shrinkage"] > 0.9:
            verdict = "calibrated, not identified"
        lines.append(
            f"| {name} | {p['in_50']:.0%} | {p['in_90']:.0%} | {p['rank_ks_p']:.2f} | "
            f"{p['shrinkage']:.2f} | {verdict} |"
        )
    return "\n".join(lines) + "\n"


def run_sbc(
    folder: Path, truths: int = DEFAULT_TRUTHS, keep: float = DEFAULT_KEEP, seed: int = 0, docs: bool = False
) -> dict:
    started = time.time()
    params, outputs, pilot = load_table(folder)
    targets = FitTargets.default().with_noise(pilot)
    sims = targets.simulated(outputs.astype(float))[:, targets.fitted]
    scale = targets.scale[targets.fitted]
    ok = np.all(np.isfinite(sims), axis=1)
    params, sims = params.loc[ok].reset_index(drop=True), sims[ok]
    n = len(params)
    k = max(20, int(round(keep * n)))
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5BC]))
    picks = rng.choice(n, size=min(truths, n), replace=False)
    table = leave_one_out(params, sims, scale, picks, k)
    summary = summarise(table)
    summary.update(table_runs=int(n), keep=int(k), points=int(targets.fitted.sum()))
    try:
        shown = str(folder.resolve().relative_to(REPO_ROOT))
    except ValueError:
        shown = folder.name  # no absolute paths in committed pages
    summary["provenance"] = {
        **provenance.record(["python", "-m", "sim.calibration.sbc", shown], provenance.PACKAGES),
        "wall_time_s": round(time.time() - started, 1),
    }
    summary["provenance"].pop("cwd", None)  # a machine's folder: not in committed files
    md = render(summary, shown)
    atomic.write_csv(folder / "sbc_ranks.csv", table)
    atomic.write_text(folder / "sbc.md", md)
    atomic.write_text(folder / "sbc.json", json.dumps(summary, indent=1, default=float))
    if docs:
        atomic.write_text(DOCS_DIR / "sbc.md", md)
        atomic.write_text(DOCS_DIR / "sbc.json", json.dumps(summary, indent=1, default=float))
    return summary


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m sim.calibration.sbc", description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="a folder `python -m sim.calibrate` wrote")
    ap.add_argument("--truths", type=int, default=DEFAULT_TRUTHS, help="truths drawn from the table (>= 20)")
    ap.add_argument("--keep", type=float, default=DEFAULT_KEEP, help="share of the table kept (0, 0.5]")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--docs", action="store_true", help="also write docs/sbc.md and docs/sbc.json")
    a = ap.parse_args(argv)
    if a.truths < 20:
        ap.exit(2, f"config error: --truths = {a.truths}: allowed range is >= 20\n")
    if not 0 < a.keep <= 0.5:
        ap.exit(2, f"config error: --keep = {a.keep}: allowed range is (0, 0.5]\n")
    try:
        s = run_sbc(a.folder, a.truths, a.keep, a.seed, a.docs)
    except FileNotFoundError as e:
        ap.exit(2, f"error: {e}\n")
    c = s["coverage"]
    print(
        f"SBC: {s['truths']} truths; 50 % intervals hold {c['0.5']['observed']:.0%}, "
        f"90 % hold {c['0.9']['observed']:.0%}; report {a.folder / 'sbc.md'}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
