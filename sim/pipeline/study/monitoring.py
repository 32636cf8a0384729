"""Study ``monitoring``: which figure, observed next, would most narrow P(reach)? (value of information)

Ensemble: the plan on ``replicates`` replicates (posterior sets drawn by weight, lever effects drawn on
their ranges, the model's randomness): the same runs as ``discovery`` at the same seed, size and scale.

Candidates (``candidates``): the 2024 and 2025 values of each headline indicator (T01–T05), the
registry's mid-year count (``T02_h1``), enterprise R&D of statistical scope (``rd_enterprise``) and the
HNTE recognition list (``hte_recognised``: certificates granted in the year, new and renewed, as the
yearbook's lists count them).

Measurement error (``measurement_error``): a figure is observed as ``value x (1 + e)``, ``e`` normal with
sd = the relative half-width of the indicator's latest directly reported figure in
``sim/data/fit_targets.csv`` (the error scale the calibration gives the same figure: ±2 % for yearbook
figures, ±5 % for the "about" HNTE stock and the recognition lists, ±1 pp of 56.8 % for T05). An
indicator without a row there gets
``ASSUMED_ERROR`` (an assumption).

Preposterior analysis (``preposterior``): for each run ``j`` taken as the truth, the observation
``z = y_j + sd_j x`` is integrated over its error with Gauss–Hermite nodes (``NODES``); the other runs
are reweighted by the likelihood of ``z`` (leave-one-out: the truth does not vote for itself), giving the
posterior P(reach | z) of each target. The expected posterior variance of the reach indicator is the
expected squared error of that posterior mean, ``E[(r_j - P(reach | z))^2]`` (it equals ``E[Var(r | z)]``
when the weights are Bayes' rule); the prior variance is that of the ensemble, ``p (1 - p)``. The value of
a figure: the expected reduction (prior minus posterior), with a 95 % interval over the runs taken as
the truth, and its share of the prior variance. Leave-one-out makes a figure that tells nothing score
about 0 (slightly below: a finite ensemble reweighted by noise predicts a little worse), not the
spurious gain a run would get from recognising itself. Assumption: the model is right (the observation
is simulated by it); a model that misses the data is a calibration question, not this study's.

Table ``monitoring.csv`` (one row per candidate and goal); figure ``monitoring.png`` (share of the prior
variance each figure removes, per goal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.model.outcomes import HEADLINE, OUTCOMES
from sim.model.params import LAST_BASE_YEAR
from sim.model.policy import scenario
from sim.pipeline.study.design import ALL_FIVE, SERIES_YEARS, reached, replicate_spec
from sim.runtime import atomic

GOALS = [*HEADLINE, ALL_FIVE]
YEARS = tuple(y for y in SERIES_YEARS if y > LAST_BASE_YEAR and y < max(SERIES_YEARS))  # 2024, 2025
NODES = 7  # Gauss-Hermite nodes over the measurement error per run taken as the truth
BLOCK = 256  # runs taken as the truth per block (memory: BLOCK x NODES x runs floats)
ASSUMED_ERROR = 0.02  # assumption: relative sd of a figure without a reported range in fit_targets.csv
#: Figures a researcher can observe: the headline indicators, the registry's mid-year count, enterprise R&D
#: and the HNTE recognition list (a flow: the year's certificates).
LEVELS = (*HEADLINE, "T02_h1", "rd_enterprise", "hte_recognised")
#: Short names of the figures on the page (the others go by their outcome id)
LABELS = {"hte_recognised": "HNTE list"}


@dataclass(frozen=True)
class Candidate:
    """A figure a researcher could observe: ``series`` in ``year``, with its measurement error."""

    name: str
    what: str
    series: str
    year: int
    error: float  # relative sd of the observation
    error_source: str

    def observe(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(the figure, its measurement sd) per run of ``frame`` (study columns ``series@year``)."""
        now = frame[f"{self.series}@{self.year}"].to_numpy(dtype=float)
        return now, self.error * np.abs(now)


def measurement_error(indicator: str) -> tuple[float, str]:
    """(relative sd, its source) of an observation of ``indicator``: the relative half-width of its latest
    directly reported figure in ``sim/data/fit_targets.csv``; ``ASSUMED_ERROR`` when it has none."""
    from sim.data.history import PARTIAL_SUFFIX, load_fit_targets

    df = load_fit_targets()
    rows = df[
        (df["indicator"] == indicator) & (df["derived"] == 0) & ~df["kind"].str.endswith(PARTIAL_SUFFIX)
    ]
    rows = rows[rows["value"] != 0]
    if rows.empty:
        return ASSUMED_ERROR, f"assumption: ±{ASSUMED_ERROR:.0%} (no reported range in fit_targets.csv)"
    last = rows.sort_values("year").iloc[-1]
    rel = float((last["hi"] - last["lo"]) / 2 / abs(last["value"]))
    return rel, f"±{rel:.1%}: half-width of the {int(last['year'])} figure in sim/data/fit_targets.csv"


def candidates(years: tuple[int, ...] = YEARS) -> list[Candidate]:
    """The figures the study values, with their measurement errors."""
    out = []
    for series in LEVELS:
        rel, src = measurement_error(series)
        for y in years:
            name = f"{LABELS.get(series, series)} {y}"
            out.append(Candidate(name, OUTCOMES[series].name, series, y, rel, src))
    return out


# --------------------------------------------------------------------------- the preposterior analysis
def preposterior(
    y: np.ndarray, sd: np.ndarray, reach: np.ndarray, nodes: int = NODES
) -> dict[str, np.ndarray]:
    """The expected reduction in the variance of each reach indicator from observing ``y``.

    ``y`` (runs,): the figure in each run; ``sd`` (runs,): its measurement sd in each run; ``reach`` (runs,
    goals): 0/1. Returns per run taken as the truth (``prior``, ``posterior``: squared errors of the
    leave-one-out prior and posterior means, runs x goals, averaged over the measurement error) and
    ``ess`` (runs,): the effective number of runs the posterior rests on (median over the nodes).
    """
    y = np.asarray(y, dtype=float)
    reach = np.asarray(reach, dtype=float).reshape(len(y), -1)
    sd = np.asarray(sd, dtype=float)
    n = len(y)
    if n < 3:
        raise ValueError(f"preposterior: {n} runs; it needs at least 3")
    floor = 1e-9 * max(float(np.max(np.abs(y))), 1e-12)
    sd = np.maximum(sd, floor)
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    total = reach.sum(axis=0)
    prior_mean = (total[None, :] - reach) / (n - 1)  # leave-one-out
    prior = (reach - prior_mean) ** 2
    posterior = np.empty_like(prior)
    ess = np.empty(n)
    for start in range(0, n, BLOCK):
        j = np.arange(start, min(start + BLOCK, n))
        z = y[j, None] + sd[j, None] * x[None, :]  # (block, nodes)
        logl = (
            -0.5 * ((z[:, :, None] - y[None, None, :]) / sd[None, None, :]) ** 2 - np.log(sd)[None, None, :]
        )
        logl[np.arange(len(j)), :, j] = -np.inf  # the truth does not vote for itself
        logl -= logl.max(axis=2, keepdims=True)
        lik = np.exp(logl)
        lik /= lik.sum(axis=2, keepdims=True)
        p = lik @ reach  # (block, nodes, goals)
        posterior[j] = np.einsum("q,bqg->bg", w, (reach[j, None, :] - p) ** 2)
        ess[j] = np.median(1.0 / (lik**2).sum(axis=2), axis=1)
    return {"prior": prior, "posterior": posterior, "ess": ess}


def value_of(
    y: np.ndarray, sd: np.ndarray, reach: np.ndarray, nodes: int = NODES
) -> tuple[pd.DataFrame, np.ndarray]:
    """Per goal (column of ``reach``): prior variance, expected posterior variance, the reduction with its
    95 % half-width over the runs taken as the truth, its share of the prior variance, the median ESS; and
    the reduction per run taken as the truth (runs x goals: paired comparisons of figures)."""
    r = preposterior(y, sd, reach, nodes)
    gain = r["prior"] - r["posterior"]
    n = gain.shape[0]
    prior = r["prior"].mean(axis=0)
    red = gain.mean(axis=0)
    half = 1.96 * gain.std(axis=0, ddof=1) / np.sqrt(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(prior > 0, red / prior, np.nan)
    return pd.DataFrame(
        {
            "prior_var": prior,
            "posterior_var": r["posterior"].mean(axis=0),
            "reduction": red,
            "reduction_lo": red - half,
            "reduction_hi": red + half,
            "share": share,
            "ess_median": float(np.median(r["ess"])),
            "n": n,
        }
    ), gain


# --------------------------------------------------------------------------- the study
def run(ctx):
    from sim.pipeline.study.runner import Findings

    reps = ctx.replicates(ctx.design.replicates)
    out = ctx.evaluate([replicate_spec(scenario("plan"), r) for r in reps], "monitoring")
    reach = reached(out)
    cands = candidates()
    rows, gains = [], {}
    for c in cands:
        y, sd = c.observe(out)
        ok = np.isfinite(y) & np.isfinite(sd) & reach[GOALS].notna().all(axis=1).to_numpy()
        r = reach.loc[ok, GOALS].to_numpy()
        table, gain = value_of(y[ok], sd[ok], r)
        gains[c.name] = pd.DataFrame(gain, columns=GOALS, index=np.flatnonzero(ok))
        for g, row in zip(GOALS, table.to_dict("records")):
            rows.append(
                {
                    "candidate": c.name,
                    "what": c.what,
                    "series": c.series,
                    "year": c.year,
                    "error_rel": c.error,
                    "error_source": c.error_source,
                    "goal": g,
                    "p_reach": float(r[:, GOALS.index(g)].mean()) if len(r) else np.nan,
                    **row,
                }
            )
    table = pd.DataFrame(rows)
    summary = summarise(table, gains)
    n = len(reps)
    figures = [figure(table, ctx.outdir / "monitoring.png", n)]
    return Findings(
        summary=summary,
        tables={"monitoring": table},
        figures=figures,
        markdown=markdown(table, summary),
        design=f"the plan on {n:,} replicates = {n:,} runs at scale {ctx.scale}; {len(cands)} candidate figures "
        f"(2024 and 2025); preposterior analysis by leave-one-out reweighting, {NODES} Gauss–Hermite nodes "
        "over each figure's measurement error.",
        precision=f"{n:,} runs taken as the truth: largest 95 % half-width of an expected variance reduction "
        f"{summary['max_half_width']:.4f} (prior variances up to 0.25); the median effective sample after "
        f"reweighting is {summary['min_ess']:.0f} runs or more for every figure.",
    )


def summarise(table: pd.DataFrame, gains: dict[str, pd.DataFrame]) -> dict:
    """Per goal: the figure worth most, its reduction and share, and whether it leads the runner-up by more
    than the paired 95 % half-width (the same runs value every figure)."""
    out = {"goals": {}}
    for g in GOALS:
        t = table[table["goal"] == g]
        p = float(t["p_reach"].iloc[0])
        t = t[t["prior_var"] > 0].sort_values("reduction", ascending=False)
        if t.empty:
            out["goals"][g] = {"undefined": f"no variance: {'reached' if p == 1 else 'missed'} in every run"}
            continue
        best = t.iloc[0]
        lead = {"best": best["candidate"], "reduction": float(best["reduction"])}
        lead.update(
            reduction_ci95=[float(best["reduction_lo"]), float(best["reduction_hi"])],
            share=None if pd.isna(best["share"]) else float(best["share"]),
            prior_var=float(best["prior_var"]),
            p_reach=float(best["p_reach"]),
        )
        if len(t) > 1:
            second = t.iloc[1]
            a, b = gains[best["candidate"]][g], gains[second["candidate"]][g]
            d = (a - b.reindex(a.index)).dropna()
            half = float(1.96 * d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else np.nan
            lead.update(
                runner_up=second["candidate"],
                lead_over_runner_up=float(d.mean()),
                lead_half_width=half,
                resolved=bool(d.mean() > half),
            )
        out["goals"][g] = lead
    out["max_half_width"] = float(((table["reduction_hi"] - table["reduction_lo"]) / 2).max())
    out["min_ess"] = float(table["ess_median"].min())
    out["errors"] = table.drop_duplicates("candidate").set_index("candidate")["error_source"].to_dict()
    return out


def _cell(r) -> str:
    if pd.isna(r["share"]):
        return "–"
    return f"{r['share']:.2f} ({r['reduction']:.3f} ± {(r['reduction_hi'] - r['reduction_lo']) / 2:.3f})"


def markdown(table: pd.DataFrame, summary: dict) -> str:
    lines = [
        "Expected reduction of the variance of each reach indicator (reached = 1) once the figure is observed "
        "with its measurement error, as a share of the variance before (the reduction itself ± its 95 % "
        "half-width in brackets). Shares near 0 (or slightly below) mean the figure would not narrow "
        "P(reach).",
        "",
        "**The figure most worth monitoring, per goal**:",
        "",
        "| goal | P(reach) | figure | share of the variance removed | lead over the runner-up (paired, ± 95 %) |",
        "|---|---|---|---|---|",
    ]
    for g, s in summary["goals"].items():
        if "undefined" in s:
            lines.append(f"| {g} | – | {s['undefined']} | – | – |")
            continue
        share = "–" if s["share"] is None else f"{s['share']:.2f}"
        lead = (
            f"{s['runner_up']}: +{s['lead_over_runner_up']:.3f} ± {s['lead_half_width']:.3f}"
            + ("" if s["resolved"] else " (not resolved)")
            if "runner_up" in s
            else "–"
        )
        lines.append(f"| {g} | {s['p_reach']:.2f} | {s['best']} | {share} | {lead} |")
    pivot = table.pivot(index="candidate", columns="goal")
    order = list(dict.fromkeys(table["candidate"]))
    lines += [
        "",
        "**Every figure** (share of the variance removed; reduction ± 95 %):",
        "",
        "| figure | measurement error | " + " | ".join(GOALS) + " |",
        "|---|---|" + "---|" * len(GOALS),
    ]
    for c in order:
        cells = []
        for g in GOALS:
            r = {k: pivot.loc[c, (k, g)] for k in ("share", "reduction", "reduction_lo", "reduction_hi")}
            cells.append(_cell(r))
        lines.append(f"| {c} | {summary['errors'][c]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "The HNTE list is the year's recognitions (new and renewed certificates), as the yearbook counts "
        "them. Every row: `monitoring.csv`.",
    ]
    return "\n".join(lines)


def figure(table: pd.DataFrame, path, n: int):
    from matplotlib.figure import Figure

    order = list(dict.fromkeys(table["candidate"]))
    share = table.pivot(index="candidate", columns="goal", values="share").reindex(index=order, columns=GOALS)
    fig = Figure(figsize=(7.5, 0.32 * len(order) + 1.8))
    ax = fig.subplots()
    im = ax.imshow(share.to_numpy(dtype=float), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for (i, j), v in np.ndenumerate(share.to_numpy(dtype=float)):
        if np.isfinite(v):
            ax.text(
                j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="white" if v > 0.6 else "black"
            )
    ax.set_xticks(range(len(GOALS)), ["all five" if g == ALL_FIVE else g for g in GOALS], fontsize=8)
    ax.set_yticks(range(len(order)), order, fontsize=8)
    fig.colorbar(im, ax=ax, label="share of the variance of reach removed")
    ax.set_title(f"Value of observing each figure (preposterior, {n:,} runs)", fontsize=10)
    fig.tight_layout()
    return atomic.save_figure(path, fig, dpi=90)
