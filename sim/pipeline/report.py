"""What a run leaves behind: summary.json, targets.md, timeseries.csv (and the plots).

``summary.json`` schema (later tools and users' scripts read it)::

    {"scenario": "plan", "replicates": 200, "seed": 0,
     "indicators": {"T01": {"name": ..., "unit": "亿元", "target": 6000, "target_year": 2026,
                            "by_year": {"2019": {"mean", "p05", "p50", "p95"}, ..., "2026": {...}},
                            "p_reach": 0.0-1.0, "p_reach_ci95": [lo, hi]}, ...},
     "credibility": {"note", "fit", "backtest", "targets": {"T01": {"fit", "backtest", "caveat"}, ...}},
     ...run keys beside: end_year, scale, replicate_block, replicate_range, posterior,
        param_sets, policy, params, levers_changed, headline, provenance}

"Reach" means value > target in the target year (the plan says 突破, "exceed"); the
interval is Wilson's 95 % score interval: Monte Carlo error only. ``credibility``
(``sim.pipeline.credibility``) says per target how the calibrated model fits 2019-2023 and
how it fared in the backtest, with a caveat where it misses or loses; ``targets.md`` shows it
under the table. Every file is written atomically and ``summary.json`` last, so its presence
means the run is complete.
"""

from __future__ import annotations

import json
import math
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from sim.model.evaluate import COST_YEARS, period_sum
from sim.model.outcomes import HEADLINE, TARGETS
from sim.model.params import FIRST_YEAR
from sim.pipeline import credibility
from sim.runtime import atomic

Z95 = 1.959963984540054
SUMMARY = "summary.json"


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (good at p near 0 or 1, small n)."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _num(x: float) -> float | None:
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def reach(values: np.ndarray, target: float) -> dict[str, Any]:
    """P(value > target) over replicates with its 95 % interval (NaN replicates left out).

    The plan's targets are to exceed (突破) a level, so reaching it exactly does not count.
    """
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    n = int(values.size)
    if n == 0:
        return {"p_reach": None, "p_reach_ci95": None, "n": 0}
    k = int((values > target).sum())
    lo, hi = wilson(k, n)
    return {"p_reach": k / n, "p_reach_ci95": [lo, hi], "n": n}


def reached_all(results: pd.DataFrame, ids: Sequence[str] = tuple(HEADLINE)) -> pd.Series:
    """Per replicate (index): True when it exceeds every target in ``ids``, each in its target year.

    Replicates missing a value (or with NaN) for any of them are left out; empty when a target
    year was not simulated. Two scenarios run on the same replicates compare replicate by replicate.
    """
    values = {}
    for tid in ids:
        at = results[(results["indicator"] == tid) & (results["year"] == TARGETS[tid].target_year)]
        values[tid] = at.set_index("replicate")["value"].astype(float)
    frame = pd.DataFrame(values, columns=list(ids)).dropna()  # replicates with every value
    hit = np.all(frame.to_numpy() > np.array([TARGETS[t].target for t in ids]), axis=1)
    return pd.Series(hit, index=frame.index, name="reached_all", dtype=bool)


def reach_all(results: pd.DataFrame, ids: Sequence[str] = tuple(HEADLINE)) -> dict[str, Any]:
    """P(one replicate exceeds every target in ``ids``) with its 95 % Wilson interval (``reached_all``).

    The share of replicates that reach all of them at once, not the product of the single
    P(reach): the targets move together. ``p_reach`` is None when no replicate counts.
    """
    hits = reached_all(results, ids)
    n = int(hits.size)
    if n == 0:
        return {"targets": list(ids), "p_reach": None, "p_reach_ci95": None, "n": 0}
    k = int(hits.sum())
    lo, hi = wilson(k, n)
    return {"targets": list(ids), "p_reach": k / n, "p_reach_ci95": [lo, hi], "n": n}


def indicator_summary(results: pd.DataFrame, indicator: str, end_year: int) -> dict[str, Any]:
    t = TARGETS[indicator]
    sub = results[(results["indicator"] == indicator) & (results["year"] >= FIRST_YEAR)]
    by_year: dict[str, dict[str, float | None]] = {}
    for year, grp in sub.groupby("year", sort=True):
        v = grp["value"].to_numpy(dtype=float)
        v = v[~np.isnan(v)]
        if v.size == 0:
            stats = {"mean": None, "p05": None, "p50": None, "p95": None}
        else:
            p05, p50, p95 = np.quantile(v, [0.05, 0.5, 0.95])
            stats = {"mean": _num(v.mean()), "p05": _num(p05), "p50": _num(p50), "p95": _num(p95)}
        by_year[str(int(year))] = stats
    entry: dict[str, Any] = {
        "name": t.name,
        "unit": t.unit,
        "target": t.target,
        "target_year": t.target_year,
        "by_year": by_year,
    }
    if t.target_year <= end_year:
        at = sub.loc[sub["year"] == t.target_year, "value"].to_numpy(dtype=float)
        r = reach(at, t.target)
        entry["p_reach"], entry["p_reach_ci95"] = r["p_reach"], r["p_reach_ci95"]
    else:
        entry["p_reach"], entry["p_reach_ci95"] = None, None  # target year not simulated
    return entry


def public_cost(results: pd.DataFrame, column: str = "spend_total") -> pd.Series:
    """Per replicate (index): ``column`` (``spend_total`` or a ``spend_<instrument>``, 亿元) summed over
    ``COST_YEARS`` (``sim.model.evaluate.period_sum``): a scenario's public cost. NaN for replicates
    whose run ended before 2024."""
    wide = results[results["indicator"] == column].pivot_table(
        index="replicate", columns="year", values="value"
    )
    return pd.Series(period_sum(wide.columns, wide.to_numpy().T), index=wide.index, name=column)


def spending_summary(results: pd.DataFrame) -> dict[str, Any]:
    """Public spending by instrument (亿元): p05/p50/p95 by year and of the 2024-26 total, and overall."""
    from sim.model.outcomes import SPENDING

    out: dict[str, Any] = {"unit": "亿元", "cost_years": list(COST_YEARS), "instruments": {}}
    for col in [*SPENDING, "spend_total"]:
        sub = results[results["indicator"] == col]
        if sub.empty:
            continue
        wide = sub.pivot_table(index="replicate", columns="year", values="value")
        by_year = {}
        for year in wide.columns:
            p05, p50, p95 = np.quantile(wide[year].to_numpy(dtype=float), [0.05, 0.5, 0.95])
            by_year[str(int(year))] = {"p05": _num(p05), "p50": _num(p50), "p95": _num(p95)}
        total = public_cost(results, col).to_numpy(dtype=float)
        p05, p50, p95 = np.quantile(total, [0.05, 0.5, 0.95])
        entry = {
            "by_year": by_year,
            "total_2024_2026": {"p05": _num(p05), "p50": _num(p50), "p95": _num(p95)},
        }
        if col == "spend_total":
            out["total"] = entry
        else:
            out["instruments"][col.removeprefix("spend_")] = entry
    return out


def levers_changed(scenario_name: str, policy: dict[str, Any]) -> dict[str, Any] | None:
    """The levers of ``policy`` that differ from the named scenario's, in declaration order (None: the
    scenario is not a named one, ``sim.model.policy.SCENARIOS``)."""
    from sim.model.policy import SCENARIOS, scenario

    if scenario_name not in SCENARIOS:
        return None
    named = scenario(scenario_name).__dict__
    return {k: v for k, v in policy.items() if named.get(k) != v}


def summarise(
    results: pd.DataFrame,
    *,
    config: dict[str, Any],
    fingerprint: str,
    posterior: Any = None,
) -> dict[str, Any]:
    """The summary.json dict for a run's tidy results (report units); ``config``: ``SimConfig.as_dict()``."""
    present = set(results["indicator"].unique())
    indicators = {
        tid: indicator_summary(results, tid, config["end_year"]) for tid in TARGETS if tid in present
    }
    missing = [h for h in HEADLINE if h not in present]
    if missing:
        raise ValueError(f"the model produced no values for headline indicators {missing}")
    changed = levers_changed(config["scenario"], config["policy"])
    first, stop = config["first_replicate"], config["first_replicate"] + config["replicates"]
    return {
        "scenario": config["scenario"],
        "replicates": int(results["replicate"].nunique()),
        "seed": config["seed"],
        "indicators": indicators,
        "headline": list(HEADLINE),
        "end_year": config["end_year"],
        "scale": config["scale"],
        "replicate_block": config["replicate_block"],
        "replicate_range": [first, stop],
        "posterior": config["posterior"],
        "param_sets": len(posterior) if posterior is not None else 1,
        "policy": config["policy"],
        "levers_changed": changed,
        "effects": config.get("effects", "sampled"),
        "spending": spending_summary(results),
        "credibility": credibility.assess(posterior.info if posterior is not None else None),
        "params": config["params"],
        "provenance": {
            "fingerprint": fingerprint,
            "posterior": posterior.note if posterior is not None else "none",
            "posterior_sha256": posterior.info.get("sha256") if posterior is not None else None,
            "manifest": "manifest.json",
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    }


# --------------------------------------------------------------------------- targets table
def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "percent":
        return f"{value:.1f} %"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def targets_table(summary: dict[str, Any], ids: list[str] | None = None) -> str:
    """Markdown: one row per headline target with 2026 median, 90 % interval, P(reach)."""
    ids = ids or summary.get("headline") or HEADLINE
    lines = [
        f"# 2026 targets: scenario `{summary['scenario']}`",
        "",
        f"{summary['replicates']} replicates (seed {summary['seed']}, replicates "
        f"{summary['replicate_range'][0]}-{summary['replicate_range'][1] - 1}), scale {summary['scale']}, "
        f"posterior {summary['posterior']}. Reach = value > target (exceeds it) in the target year; "
        "95 % CI: Wilson, Monte Carlo error only (see how far to trust these numbers, below).",
    ]
    if summary.get("levers_changed"):
        lines.append(
            f"Levers changed from `{summary['scenario']}`: "
            + ", ".join(f"{k}={v}" for k, v in summary["levers_changed"].items())
            + "."
        )
    lines += [
        "",
        "| target | goal | median | 90 % interval | P(reach) | 95 % CI |",
        "|---|---|---|---|---|---|",
    ]
    cred = summary.get("credibility")
    flagged = credibility.caveated(cred)
    for tid in ids:
        ind = summary["indicators"][tid]
        year = str(ind["target_year"])
        stats = ind["by_year"].get(year)
        unit = ind["unit"]
        goal = f"> {_fmt(ind['target'], unit)} ({year})"
        if stats is None or ind["p_reach"] is None:
            lines.append(f"| {tid} {ind['name']} ({unit}) | {goal} | n/a | n/a | n/a | n/a |")
            continue
        lo, hi = ind["p_reach_ci95"]
        lines.append(
            f"| {tid} {ind['name']} ({unit}) | {goal} | {_fmt(stats['p50'], unit)} | "
            f"{_fmt(stats['p05'], unit)} – {_fmt(stats['p95'], unit)} | {ind['p_reach']:.2f}"
            f"{' (caveat)' if tid in flagged else ''} | {lo:.2f} – {hi:.2f} |"
        )
    lines += _cost_lines(summary)
    if cred:
        lines += ["", credibility.markdown(cred).rstrip("\n")]
    return "\n".join(lines) + "\n"


def _cost_lines(summary: dict[str, Any]) -> list[str]:
    """The scenario's public cost 2024-26 under the target table (all instruments, then the largest)."""
    spending = summary.get("spending") or {}
    total = (spending.get("total") or {}).get("total_2024_2026")
    if not total or total["p50"] is None:
        return []
    lo, hi = spending.get("cost_years", COST_YEARS)
    ranked = sorted(
        ((k, v["total_2024_2026"]["p50"] or 0.0) for k, v in spending.get("instruments", {}).items()),
        key=lambda kv: -kv[1],
    )
    parts = ", ".join(f"{k} {v:,.1f}" for k, v in ranked if v > 0)
    return [
        "",
        f"Public cost {lo}–{hi}, all instruments: **{total['p50']:,.1f} 亿元** (median; 90 %: "
        f"{total['p05']:,.1f} – {total['p95']:,.1f}). By instrument (median, 亿元): {parts}.",
    ]


# --------------------------------------------------------------------------- run folder
def complete_summary(outdir: Path, fingerprint: str | None = None) -> dict[str, Any] | None:
    """The folder's summary.json if it is complete (and made by the same run config), else None."""
    path = Path(outdir) / SUMMARY
    if not path.is_file():
        return None
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(summary, dict) or "indicators" not in summary:
        return None
    if fingerprint is not None and summary.get("provenance", {}).get("fingerprint") != fingerprint:
        return None
    return summary


def write_run(
    outdir: Path,
    results: pd.DataFrame,
    summary: dict[str, Any],
    manifest: dict[str, Any],
    *,
    plots: bool = True,
    started: float | None = None,
    effects: pd.DataFrame | None = None,
) -> list[Path]:
    """Write a run's files, each atomically, ``summary.json`` last (it marks completion)."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / SUMMARY).unlink(missing_ok=True)  # a rerun is incomplete until it finishes
    written = [
        atomic.write_csv(
            outdir / "timeseries.csv",
            results[["replicate", "seed", "param_set", "year", "indicator", "value"]],
        )
    ]
    if effects is not None:
        written.append(atomic.write_csv(outdir / "effects.csv", effects))
    written.append(atomic.write_text(outdir / "targets.md", targets_table(summary)))
    if plots:
        from sim.pipeline import plots as plotting

        written += plotting.fan_charts(outdir, results, end_year=summary["end_year"])
    if started is not None:
        manifest["wall_time_s"] = round(time.time() - started, 3)
    manifest["files"] = sorted(p.name for p in written) + [SUMMARY]
    written.append(atomic.write_json(outdir / "manifest.json", manifest))
    written.append(atomic.write_json(outdir / SUMMARY, summary))
    return written
