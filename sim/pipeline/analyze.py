"""Merge runs and sweeps: ``python -m sim.analyze DIR [--out OUT] [--strict]``.

``DIR`` is a run folder, a multirun (sweep) folder, or any folder above several.
Every job folder (one with ``.hydra/`` or ``summary.json``) is listed: complete jobs
(a valid ``summary.json``, written last) are merged; incomplete ones (killed, failed,
still running) and jobs the sweep planned but never started (from ``multirun.yaml``)
are reported by name, never dropped silently.

Jobs of the same ensemble (same scenario, levers, parameters, seed, years, scale,
posterior) that differ only in ``replicate_block`` are merged into one.
Writes to ``DIR/analysis/``:

- ``timeseries.csv``: tidy table of all jobs (job, config columns that vary, replicate,
  seed, param_set, year, indicator, value);
- ``reach.csv`` and ``reach.md``: P(reach) with 95 % Wilson interval, median and 90 %
  interval per ensemble and target, and each ensemble's 2024-26 public cost (all instruments, 亿元:
  ``report.public_cost``): median and 90 % interval over its replicates (``cost_p50``, ``cost_p05``,
  ``cost_p95``);
- ``jobs.csv``: every job with its status;
- ``paired.csv`` (and a section of ``reach.md``): when the ensembles share replicates (same replicate
  numbers with the same seeds: common random numbers), each ensemble minus the reference ensemble (the plan
  when it is there, else the first) replicate by replicate: Delta P(reach), the median difference of
  the target-year value and the median difference of the 2024-26 public cost (``delta_cost``), with 95 %
  paired-bootstrap intervals (``sim.pipeline.paired``; printed by ``format_difference``: "n too small to
  resolve" below ``MIN_PAIRS`` pairs);
- ``fan_<target>.png``: the fan charts of every ensemble overlaid (median and 90 % band each);
- ``scenarios.png``: P(reach) per scenario, when the scenario varies;
- ``lever_response_<key>.png``: P(reach) against each key the sweep varied itself (not the levers a
  scenario sweep changes along with the scenario: those differences belong to the scenario).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.model.evaluate import COST_YEARS
from sim.model.outcomes import HEADLINE, TARGETS
from sim.model.policy import as_override, is_path
from sim.pipeline.paired import MIN_PAIRS, format_difference, paired_difference, paired_mean_difference
from sim.pipeline.report import SUMMARY, complete_summary, public_cost, reach, reached_all
from sim.runtime import atomic

#: Config fields that identify an ensemble; jobs equal on all of them are merged.
ENSEMBLE_FIELDS = ("scenario", "end_year", "scale", "seed", "posterior")
SKIP_DIRS = {".hydra", ".submitit", "analysis", "__pycache__"}
COST_PERIOD = f"{COST_YEARS[0]}-{str(COST_YEARS[1])[2:]}"  # "2024-26": the years a scenario's cost sums


@dataclass
class Job:
    path: Path
    name: str  # path relative to the analysed folder
    status: str  # "complete" | "incomplete" | "missing"
    reason: str = ""
    overrides: list[str] = field(default_factory=list)
    summary: dict[str, Any] | None = None


@dataclass
class Analysis:
    root: Path
    jobs: list[Job]
    timeseries: pd.DataFrame
    reach: pd.DataFrame
    varying: list[str]
    files: list[Path] = field(default_factory=list)

    @property
    def incomplete(self) -> list[Job]:
        return [j for j in self.jobs if j.status != "complete"]


# --------------------------------------------------------------------------- discovery
def _read_overrides(job_dir: Path) -> list[str]:
    path = job_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    try:
        from omegaconf import OmegaConf

        return [str(x) for x in OmegaConf.load(path)]
    except Exception:  # noqa: BLE001 - a damaged file is itself worth reporting, not fatal
        return []


def _job_status(job_dir: Path) -> tuple[str, str, dict | None]:
    summary = complete_summary(job_dir)
    if summary is not None:
        if not (job_dir / "timeseries.csv").is_file():
            return "incomplete", "summary.json present but timeseries.csv missing", None
        return "complete", "", summary
    if (job_dir / SUMMARY).is_file():
        return "incomplete", "summary.json unreadable or truncated", None
    partial = sorted(p.name for p in job_dir.glob("*") if p.is_file() and p.name != "sim.log")
    return (
        "incomplete",
        "no summary.json (killed, failed or still running)"
        + (f"; has {', '.join(partial)}" if partial else ""),
        None,
    )


def find_job_dirs(root: Path) -> list[Path]:
    """Folders that are runs: they hold ``.hydra/`` or ``summary.json``."""
    found = []

    def walk(d: Path) -> None:
        if (d / ".hydra").is_dir() or (d / SUMMARY).is_file():
            found.append(d)
            return
        for sub in sorted(p for p in d.iterdir() if p.is_dir() and p.name not in SKIP_DIRS):
            walk(sub)

    walk(root)
    return found


def planned_jobs(sweep_dir: Path) -> list[list[str]] | None:
    """The jobs a multirun planned (override lists in job-number order), from ``multirun.yaml``."""
    path = sweep_dir / "multirun.yaml"
    if not path.is_file():
        return None
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(path)
    params = OmegaConf.select(cfg, "hydra.sweeper.params") or {}
    args = [f"{k}={v}" for k, v in params.items()] + list(OmegaConf.select(cfg, "hydra.overrides.task") or [])
    try:
        parsed = OverridesParser.create().parse_overrides(args)
        return BasicSweeper.split_arguments(parsed, None)[0]
    except Exception:  # noqa: BLE001 - e.g. glob() sweeps need the config repository
        return None


def discover(root: Path) -> list[Job]:
    root = Path(root)
    jobs = []
    for d in find_job_dirs(root):
        status, reason, summary = _job_status(d)
        name = str(d.relative_to(root)) if d != root else "."
        jobs.append(Job(d, name, status, reason, _read_overrides(d), summary))
    # sweeps: jobs planned in multirun.yaml whose folder was never created
    for sweep in sorted(
        {p.parent for p in root.rglob("multirun.yaml")}
        | ({root} if (root / "multirun.yaml").is_file() else set())
    ):
        plan = planned_jobs(sweep)
        children = [j for j in jobs if j.path.parent == sweep]
        if plan is None or not all(j.path.name.isdigit() for j in children):
            continue  # a custom hydra.sweep.subdir: job numbers cannot be matched to folders
        for num, overrides in enumerate(plan):
            d = sweep / str(num)
            if not d.exists():
                jobs.append(
                    Job(
                        d,
                        str(d.relative_to(root)),
                        "missing",
                        "never started (planned in multirun.yaml)",
                        overrides,
                    )
                )
    return sorted(jobs, key=lambda j: _natural(j.name))


def _natural(name: str) -> list:
    return [int(p) if p.isdigit() else p for p in name.replace("\\", "/").split("/")]


# --------------------------------------------------------------------------- merging
def ensemble_key(summary: dict[str, Any]) -> dict[str, Any]:
    """Flat description of a job's ensemble: scenario, run knobs, ``policy.*`` and ``params.*``."""
    # the ensemble's root seed is ``root_seed``: ``seed`` is each replicate's own seed in the tidy table
    key = {("root_seed" if f == "seed" else f): summary.get(f) for f in ENSEMBLE_FIELDS}
    key.update({f"policy.{k}": v for k, v in (summary.get("policy") or {}).items()})
    key.update({f"params.{k}": v for k, v in (summary.get("params") or {}).items()})
    return key


def _swept_keys(jobs: list[Job]) -> set[str]:
    """Config columns a sweep varied (from every job's overrides, complete or not)."""
    values: dict[str, set[str]] = {}
    for j in jobs:
        for o in j.overrides:
            key, _, val = o.lstrip("+~").partition("=")
            key = {"policy": "scenario", "seed": "root_seed"}.get(key, key)
            values.setdefault(key, set()).add(val)
    return {k for k, v in values.items() if len(v) > 1 and k != "replicate_block"}


def merge(jobs: list[Job]) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Tidy table of all complete jobs; returns (table, varying config columns, warnings)."""
    complete = [j for j in jobs if j.status == "complete"]
    if not complete:
        return pd.DataFrame(), [], []
    keys = pd.DataFrame([ensemble_key(j.summary) for j in complete])
    for c in keys.columns:  # a lever set as a per-year path in some job: every job's setting as its override
        if keys[c].map(is_path).any():
            keys[c] = keys[c].map(as_override)
    swept = _swept_keys(jobs)
    varying = [c for c in keys.columns if keys[c].astype(str).nunique() > 1 or c in swept]
    columns = list(dict.fromkeys(["scenario", *varying]))
    frames, warnings = [], []
    for job, (_, key) in zip(complete, keys.iterrows()):
        ts = pd.read_csv(job.path / "timeseries.csv")
        ts.insert(0, "job", job.name)
        for pos, col in enumerate(columns, start=1):
            ts.insert(pos, col, key[col])
        frames.append(ts)
    table = pd.concat(frames, ignore_index=True)
    dup = table.duplicated(subset=[*columns, "replicate", "year", "indicator"], keep="first")
    if dup.any():
        twice = table.loc[dup, ["job", "replicate"]].drop_duplicates()
        warnings.append(
            f"{twice['replicate'].nunique()} replicates appear in more than one job of the same ensemble "
            f"(e.g. jobs {sorted(twice['job'].unique())[:5]}); kept the first copy"
        )
        table = table.loc[~dup].reset_index(drop=True)
    return table, columns, warnings


def ensemble_cost(results: pd.DataFrame) -> pd.Series:
    """Per replicate, the 2024-26 public cost of all instruments (亿元; ``report.public_cost``); empty when
    the results hold no spending."""
    if not (results["indicator"] == "spend_total").any():
        return pd.Series(dtype=float, name="spend_total")
    return public_cost(results)


def reach_table(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """P(reach), interval, median and 90 % range per ensemble and target (report units), and the ensemble's
    2024-26 public cost (median and 90 % range over replicates, 亿元) on each of its rows."""
    rows = []
    if table.empty:
        return pd.DataFrame()
    for values, grp in table.groupby(columns, sort=True, dropna=False):
        values = values if isinstance(values, tuple) else (values,)
        cost = ensemble_cost(grp).dropna().to_numpy(dtype=float)
        c05, c50, c95 = np.quantile(cost, [0.05, 0.5, 0.95]) if cost.size else [np.nan] * 3
        for tid, t in TARGETS.items():
            at = grp[(grp["indicator"] == tid) & (grp["year"] == t.target_year)]["value"].to_numpy(
                dtype=float
            )
            if at.size == 0:
                continue
            r = reach(at, t.target)
            finite = at[~np.isnan(at)]
            q = np.quantile(finite, [0.05, 0.5, 0.95]) if finite.size else [np.nan] * 3
            lo, hi = r["p_reach_ci95"] or (np.nan, np.nan)
            rows.append(
                {
                    **dict(zip(columns, values)),
                    "indicator": tid,
                    "target": t.target,
                    "target_year": t.target_year,
                    "n": r["n"],
                    "p_reach": r["p_reach"],
                    "ci_lo": lo,
                    "ci_hi": hi,
                    "p05": q[0],
                    "p50": q[1],
                    "p95": q[2],
                    "headline": tid in HEADLINE,
                    "cost_p05": c05,
                    "cost_p50": c50,
                    "cost_p95": c95,
                }
            )
    return pd.DataFrame(rows)


def lever_axes(table: pd.DataFrame, varying: list[str]) -> list[str]:
    """The keys a sweep varied itself: those that take several values within one scenario.

    A ``policy=plan,frozen_2023`` sweep changes every lever with the scenario; those levers are not axes
    (crediting the scenario's difference to one of them would mislead), the scenario is.
    """
    if table.empty:
        return []
    axes = []
    for c in varying:
        if c == "scenario":
            continue
        if table.groupby("scenario", dropna=False)[c].nunique(dropna=False).max() > 1:
            axes.append(c)
    return axes


def _label(values: dict[str, Any], columns: list[str]) -> str:
    return ", ".join(f"{c}={values[c]}" for c in columns) if columns else "all jobs"


def ensemble_groups(
    table: pd.DataFrame, columns: list[str], label_cols: list[str]
) -> dict[str, pd.DataFrame]:
    """label -> tidy results of one ensemble (a group of jobs equal on ``columns``), labelled by ``label_cols``
    (the scenario and the swept keys; ``columns`` when that would not tell the ensembles apart)."""
    keyed = [
        (dict(zip(columns, values if isinstance(values, tuple) else (values,))), grp)
        for values, grp in table.groupby(columns, sort=True, dropna=False)
    ]
    labels = [_label(v, label_cols) for v, _ in keyed]
    if len(set(labels)) < len(labels):
        labels = [_label(v, columns) for v, _ in keyed]
    return dict(zip(labels, (g for _, g in keyed)))


def paired_table(groups: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, str | None]:
    """Each ensemble minus the reference, on the replicates they share with the same seeds (else not paired)."""
    if len(groups) < 2:
        return pd.DataFrame(), None
    labels = list(groups)
    ref = next((k for k in labels if "scenario=plan" in k.split(", ")), labels[0])

    def wide(grp: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
        at = grp[grp["indicator"].isin(HEADLINE)]
        at = at[at["year"] == at["indicator"].map(lambda t: TARGETS[t].target_year)]
        values = at.pivot_table(index="replicate", columns="indicator", values="value", aggfunc="first")
        seeds = grp.drop_duplicates("replicate").set_index("replicate")["seed"]
        return values, seeds

    ref_values, ref_seeds = wide(groups[ref])
    ref_cost = ensemble_cost(groups[ref])
    rows = []
    for label in labels:
        if label == ref:
            continue
        values, seeds = wide(groups[label])
        common = ref_seeds.index.intersection(seeds.index)
        common = common[(ref_seeds.loc[common] == seeds.loc[common]).to_numpy()]
        if len(common) == 0:
            continue  # no shared replicates: differences would not be paired
        a, b = values.loc[common], ref_values.loc[common]
        dc = paired_difference(
            ensemble_cost(groups[label]).reindex(common).to_numpy(), ref_cost.reindex(common).to_numpy()
        )
        cost = {
            "delta_cost": dc["delta_median"],
            "delta_cost_lo": dc["delta_median_lo"],
            "delta_cost_hi": dc["delta_median_hi"],
            "n_cost": dc["n"],
        }
        for tid in [t for t in HEADLINE if t in a.columns and t in b.columns]:
            d = paired_difference(a[tid].to_numpy(), b[tid].to_numpy(), TARGETS[tid].target)
            rows.append({"ensemble": label, "reference": ref, "indicator": tid, **d, **cost})
        ra_all, rb_all = reached_all(groups[label]), reached_all(groups[ref])
        shared = ra_all.index.intersection(rb_all.index).intersection(common)
        if len(shared):
            ra, rb = ra_all.loc[shared].astype(float), rb_all.loc[shared].astype(float)
            m, lo, hi = paired_mean_difference(ra.to_numpy(), rb.to_numpy())
            rows.append(
                {
                    "ensemble": label,
                    "reference": ref,
                    "indicator": "all_five",
                    "n": len(shared),
                    "p_a": float(ra.mean()),
                    "p_b": float(rb.mean()),
                    "delta_p": m,
                    "delta_p_lo": lo,
                    "delta_p_hi": hi,
                    **cost,
                }
            )
    table = pd.DataFrame(rows)
    if not table.empty:
        table = table.rename(columns={"p_a": "p_ensemble", "p_b": "p_reference"})
        table["resolved"] = table["n"] >= MIN_PAIRS  # enough pairs to show an interval (paired.MIN_PAIRS)
    return table, ref


def paired_markdown(paired: pd.DataFrame, ref: str | None) -> list[str]:
    if paired.empty:
        return []
    lines = [
        "",
        f"## Paired differences from `{ref}`",
        "",
        "The ensembles share replicates (same numbers, same seeds: common random numbers), so each is compared "
        "with the reference replicate by replicate: Delta P(reach) = P(ensemble) - P(reference), the median of "
        f"the paired differences of the target-year value and of the {COST_PERIOD} public cost (all instruments, "
        f"亿元), with 95 % paired-bootstrap intervals; below {MIN_PAIRS} pairs a difference is not resolved "
        "(`sim.pipeline.paired.MIN_PAIRS`).",
        "",
        "| ensemble | target | n pairs | P(ensemble) | P(reference) | Delta P (95 % CI) | "
        f"median difference (95 % CI) | cost difference {COST_PERIOD}, 亿元 (95 % CI) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, r in paired.iterrows():
        tid = r["indicator"]
        n = int(r["n"])
        if tid == "all_five":
            med = "–"
        else:
            unit = " pp" if TARGETS[tid].unit == "percent" else ""
            med = format_difference(
                r["delta_median"], r["delta_median_lo"], r["delta_median_hi"], n, unit=unit
            )
        dp = format_difference(r["delta_p"], r["delta_p_lo"], r["delta_p_hi"], n, proportion=True)
        cost = r.get("delta_cost")
        cost = (
            "–"
            if cost is None or pd.isna(cost)
            else format_difference(cost, r["delta_cost_lo"], r["delta_cost_hi"], int(r["n_cost"]))
        )
        lines.append(
            f"| {r['ensemble']} | {tid} | {n} | {r['p_ensemble']:.2f} | {r['p_reference']:.2f} | "
            f"{dp} | {med} | {cost} |"
        )
    return lines


def cost_markdown(reach_df: pd.DataFrame, cols: list[str]) -> list[str]:
    """Each ensemble's 2024-26 public cost (one row per ensemble of ``reach_table``)."""
    if reach_df.empty or "cost_p50" not in reach_df or reach_df["cost_p50"].isna().all():
        return []
    per = reach_df.drop_duplicates(subset=cols)
    lines = [
        "",
        f"## Public cost {COST_PERIOD}",
        "",
        f"All instruments, 亿元 (`report.public_cost`: each replicate's spending summed over {COST_PERIOD}); median "
        "and 90 % interval over the ensemble's replicates.",
        "",
        "| " + " | ".join(cols) + " | n | median | 90 % interval |",
        "|" + "---|" * (len(cols) + 3),
    ]
    for _, row in per.iterrows():
        lines.append(
            "| "
            + " | ".join(str(row[c]) for c in cols)
            + f" | {row['n']} | {row['cost_p50']:,.1f} | {row['cost_p05']:,.1f} – {row['cost_p95']:,.1f} |"
        )
    return lines


# --------------------------------------------------------------------------- report
def _status_lines(jobs: list[Job]) -> list[str]:
    bad = [j for j in jobs if j.status != "complete"]
    n_ok = len(jobs) - len(bad)
    lines = [
        f"{len(jobs)} jobs: {n_ok} complete, {sum(j.status == 'incomplete' for j in bad)} incomplete, "
        f"{sum(j.status == 'missing' for j in bad)} never started."
    ]
    for j in bad:
        lines.append(
            f"- {j.status.upper()}: {j.name} [{' '.join(j.overrides) or 'no overrides'}]: {j.reason}"
        )
    if bad:
        lines.append(
            "  To finish them, rerun the same command with hydra.sweep.dir=<this folder> (hydra.run.dir "
            "for a single run): complete jobs are skipped."
        )
    return lines


def reach_markdown(
    analysis: Analysis, warnings: list[str], paired: pd.DataFrame | None = None, ref: str | None = None
) -> str:
    lines = [f"# P(reach) by ensemble: {analysis.root}", "", *_status_lines(analysis.jobs), ""]
    lines += [f"Warning: {w}" for w in warnings]
    r = analysis.reach
    if r.empty:
        return "\n".join(lines + ["No complete job to merge."]) + "\n"
    cols = list(dict.fromkeys(["scenario", *analysis.varying]))
    lines += [
        "Reach = value > target (exceeds it) in the target year; 95 % Wilson interval; n = replicates merged.",
        "",
    ]
    head = r[r["headline"]]
    lines.append("| " + " | ".join(cols) + " | target | n | median | 90 % interval | P(reach) | 95 % CI |")
    lines.append("|" + "---|" * (len(cols) + 6))
    for _, row in head.iterrows():
        unit = TARGETS[row["indicator"]].unit
        fmt = (lambda v: f"{v:.1f}") if unit == "percent" else (lambda v: f"{v:,.0f}")
        lines.append(
            "| "
            + " | ".join(str(row[c]) for c in cols)
            + f" | {row['indicator']} > {fmt(row['target'])} | {row['n']} | {fmt(row['p50'])} | "
            f"{fmt(row['p05'])} – {fmt(row['p95'])} | {row['p_reach']:.2f} | "
            f"{row['ci_lo']:.2f} – {row['ci_hi']:.2f} |"
        )
    lines += cost_markdown(r, cols)
    if paired is not None:
        lines += paired_markdown(paired, ref)
    return "\n".join(lines) + "\n"


def analyze(root: str | Path, out: str | Path | None = None, plots: bool = True) -> Analysis:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    out = Path(out) if out is not None else root / "analysis"
    jobs = discover(root)
    table, columns, warnings = merge(jobs)
    reach_df = reach_table(table, columns) if not table.empty else pd.DataFrame()
    varying = [c for c in columns if c != "scenario" or (not table.empty and table["scenario"].nunique() > 1)]
    analysis = Analysis(root, jobs, table, reach_df, varying)
    files = []
    jobs_df = pd.DataFrame(
        [
            {
                "job": j.name,
                "status": j.status,
                "reason": j.reason,
                "overrides": " ".join(j.overrides),
                "replicates": (j.summary or {}).get("replicates"),
                "replicate_range": json.dumps((j.summary or {}).get("replicate_range")),
            }
            for j in jobs
        ]
    )
    files.append(atomic.write_csv(out / "jobs.csv", jobs_df))
    paired, ref = pd.DataFrame(), None
    if not table.empty:
        files.append(atomic.write_csv(out / "timeseries.csv", table))
        files.append(atomic.write_csv(out / "reach.csv", reach_df))
        label_cols = (["scenario"] if "scenario" in varying else []) + lever_axes(table, varying)
        groups = ensemble_groups(table, columns, label_cols)
        paired, ref = paired_table(groups)
        if not paired.empty:
            files.append(atomic.write_csv(out / "paired.csv", paired))
        if plots:
            files += _plots(out, table, reach_df, groups, varying)
    files.append(atomic.write_text(out / "reach.md", reach_markdown(analysis, warnings, paired, ref)))
    analysis.files = files
    return analysis


def _plots(
    out: Path, table: pd.DataFrame, reach_df: pd.DataFrame, groups: dict, varying: list[str]
) -> list[Path]:
    from sim.pipeline import plots as plotting

    files = []
    present = set(table["indicator"].unique())
    if len(groups) > 1:
        for tid in [t for t in HEADLINE if t in present]:
            fig = plotting.fan_overlay(groups, tid)
            files.append(atomic.save_figure(out / f"fan_{tid}.png", fig))
    axes = lever_axes(table, varying)
    for key in (["scenario"] if "scenario" in varying else []) + axes:
        others = [c for c in axes if c != key] + (
            ["scenario"] if "scenario" in varying and key != "scenario" else []
        )
        data = reach_df.copy()
        hue = None
        if others:  # one line per value of the other swept keys, labelled "key=value, ..."
            data["_others"] = [_label(row, others) for _, row in data[others].iterrows()]
            hue = "_others"
        name = "scenarios.png" if key == "scenario" else f"lever_response_{key.replace('/', '_')}.png"
        files.append(plotting.lever_response(data, key, out / name, hue=hue))
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.analyze", description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", help="a run or multirun folder (or a folder above several)")
    parser.add_argument("--out", help="where to write the analysis (default DIR/analysis)")
    parser.add_argument("--no-plots", action="store_true", help="skip the lever-response plots")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any job is incomplete or missing")
    args = parser.parse_args(argv)
    try:
        analysis = analyze(args.dir, args.out, plots=not args.no_plots)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print((Path(analysis.files[-1])).read_text(encoding="utf-8"))
    print(f"analysis: {Path(analysis.files[-1]).parent.resolve()}")
    for j in analysis.incomplete:
        print(f"{j.status.upper()}: {j.name}: {j.reason}", file=sys.stderr)
    return 1 if (args.strict and analysis.incomplete) else 0


if __name__ == "__main__":
    raise SystemExit(main())
