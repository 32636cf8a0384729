"""The calibration's fit report: markdown for ``report.md`` and ``docs/calibration_report.md``.

``write_report`` computes the tables and figures (``sim.calibration.fitreport``) and renders the page;
``python -m sim.calibrate`` (``sim/calibration/calibrate.py``) calls it after the ABC.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibration import fitreport
from sim.calibration.abc import ABCResult, ParamSpace
from sim.calibration.config import CalibrateConfig
from sim.calibration.targets import CONTEXT_INDICATORS, FIT_YEARS, FITTED_WHERE_MISSING, REPORT_INDICATORS
from sim.data.posterior import PROJECTION_ONLY, load_posterior
from sim.paths import DOCS_DIR, POSTERIOR_CSV, posterior_fit_path
from sim.runtime import atomic

FIT_KIND = "qinchuangyuan posterior fit to 2017-2023 (posterior-predictive check)"


def render_report(
    cfg: CalibrateConfig,
    result: ABCResult,
    errors: pd.DataFrame,
    fit: dict,
    params: pd.DataFrame,
    bias: pd.DataFrame,
    provenance: dict,
    figdir: str,
) -> str:
    """The markdown fit report; figures are referenced under ``figdir``."""
    md = fitreport.markdown_table
    s = result.settings
    prov = provenance
    lines = [
        "# Calibration fit report",
        "",
        "Written by `python -m sim.calibrate` (do not edit; rerun the command). Method, priors and "
        "discussion: [docs/calibration.md](calibration.md).",
        "",
        f"- command: `{prov['command']}`; seed {cfg.seed}; commit `{prov['git'].get('commit')}`"
        f"{' (dirty tree)' if prov['git'].get('dirty') else ''}; created {prov['created']}",
        f"- fit data: `fit_targets.csv` sha256 `{prov['data']['fit_targets_sha256'][:16]}…`; "
        f"{int(result.targets.fitted.sum())} data points in the distance, {FIT_YEARS[0]}–{cfg.through_year}, "
        "mid-year rows excluded; "
        f"{', '.join(CONTEXT_INDICATORS)} shown as context where T05 and rd_total already hold them"
        + "".join(
            f"; {name} fitted in the years without a {other} point"
            for name, other in FITTED_WHERE_MISSING.items()
        ),
        f"- ABC at scale {s.scale:g}: {result.n_runs:,} model runs in total (pilot {s.n_pilot}, Sobol design "
        f"{s.n_design}, {s.n_steps} tolerance steps x {s.sweeps} MCMC sweeps of {s.n_keep} particles, "
        f"{s.final_sweeps} extra sweeps at the last); posterior: "
        f"{s.n_keep} particles on {len(result.kept)} distinct parameter sets, tolerance {result.tolerance:.1f}, "
        f"effective sample size {result.ess:.0f}; posterior-predictive check: one run per distinct set at scale "
        f"{cfg.ppc_scale:g}, weighted by its share of the particles",
        f"- wall time {prov['wall_time_s'] / 60:.1f} min on {prov['cpus']} cores ({cfg.jobs} worker processes); "
        f"failed runs: {len(result.failures)}",
        "",
        "## Rounds",
        "",
        md(
            pd.DataFrame(prov["method"]["rounds"]),
            [
                "round",
                "step",
                "tolerance",
                "runs",
                "best_distance",
                "acceptance",
                "distinct_particles",
                "wall_s",
            ],
            [
                "round",
                "step",
                "tolerance",
                "runs",
                "best distance",
                "acceptance",
                "distinct particles",
                "wall (s)",
            ],
        ),
        "",
        "Distance: sum over the fitted data points of the squared error in units of "
        "√(half-width² + model-noise sd² + model-discrepancy sd²). Round 0 is the rejection round (tolerance = the distance of its "
        f"{s.n_keep}-th closest run); each later round is one MCMC sweep at its step's tolerance: `runs` = "
        "one proposal per particle, `acceptance` the share of particles that moved.",
        "",
        "## Fit to the data",
        "",
        f"- 90 % bands cover **{fit['covered']} of {fit['points']}** data points "
        f"({100 * fit['coverage']:.0f} %; goal ≥ {100 * fit['coverage_goal']:.0f} %: "
        f"{'met' if fit['coverage_goal_met'] else '**not met**'}).",
        headline_line(fit["headline"]),
        f"- Median within ±10 % (T01–T04) or 2 points (T05): **{fit['median_goal_met']} of "
        f"{fit['median_goal_points']}** points"
        + (f"; missed: {', '.join(fit['median_goal_missed'])}." if fit["median_goal_missed"] else "."),
        "",
        "Sharpness at the fitted points: width of the 90 % band (5–95 %) relative to the data point "
        "(median over the points) and the CRPS of the posterior-predictive runs, weighted by their share of "
        "the particles (`scoringrules.crps_ensemble`), relative to the data point (mean over the points; "
        "5 % is, for a point forecast, a 5 % error). Lower is sharper; judge it with the coverage above.",
        "",
        md(
            fitreport.sharpness_table(fit["sharpness"]),
            ["indicator", "points", "median_band_width_pct", "mean_crps_pct"],
            ["indicator", "fitted points", "median width of the 90 % band (%)", "mean relative CRPS (%)"],
        ),
        "",
        "Median and band: weighted quantiles of the posterior-predictive runs (one per accepted set, "
        f"scale {cfg.ppc_scale:g}). Error = median − data. `goal` is the issue's goal for T01–T05 "
        "(– : no stated goal). `in distance`: the point is fitted (**no**: shown for comparison only).",
        "",
        md(
            errors,
            [
                "indicator",
                "year",
                "value",
                "lo",
                "hi",
                "median",
                "band_lo",
                "band_hi",
                "error_pct",
                "covered",
                "goal_met",
                "fitted",
            ],
            [
                "indicator",
                "year",
                "data",
                "range lo",
                "range hi",
                "median",
                "5 %",
                "95 %",
                "error %",
                "in band",
                "goal",
                "in distance",
            ],
        ),
        "",
    ]
    for ind in REPORT_INDICATORS:
        lines += [f"![{ind}]({figdir}/fit_{ind}.png)", ""]
    lines += [
        "## Scale check",
        "",
        f"The ABC runs at scale {s.scale:g} (a quarter of the firms, indicators rescaled); projections run at "
        f"{cfg.ppc_scale:g}. Each accepted set was run once at each scale: `paired bias` is the weighted mean of "
        "(calibration-scale − projection-scale) / projection-scale over the sets, ± its standard error; "
        "`sd` the spread across sets and seeds at each scale.",
        "",
        md(
            bias,
            [
                "indicator",
                "year",
                "median_calibration_scale",
                "median_projection_scale",
                "paired_bias_pct",
                "paired_bias_se_pct",
                "sd_calibration_scale_pct",
                "sd_projection_scale_pct",
            ],
            [
                "indicator",
                "year",
                f"median @{s.scale:g}",
                f"median @{cfg.ppc_scale:g}",
                "paired bias %",
                "± se %",
                f"sd % @{s.scale:g}",
                f"sd % @{cfg.ppc_scale:g}",
            ],
        ),
        "",
        "## Prior vs posterior",
        "",
        "Identification: posterior 90 % interval width / prior 90 % width (< 0.5 well, 0.5–0.8 partly, "
        "> 0.8 poorly identified by these data).",
        "",
        md(
            params,
            [
                "parameter",
                "prior_lo",
                "prior_hi",
                "default",
                "post_median",
                "post_q05",
                "post_q95",
                "width_ratio",
                "identified",
            ],
            [
                "parameter",
                "prior lo",
                "prior hi",
                "old default",
                "posterior median",
                "5 %",
                "95 %",
                "width ratio",
                "identified",
            ],
        ),
        "",
        f"![prior vs posterior]({figdir}/prior_posterior.png)",
        "",
        "Priors (uniform on the box) and their sources, from `sim/model/params.py`:",
        "",
        md(
            params.assign(prior=[f"{a:g} – {b:g}" for a, b in zip(params["prior_lo"], params["prior_hi"])]),
            ["parameter", "unit", "prior", "source"],
        ),
        "",
        *edges_section(result.space.names, result.space.lo, result.space.hi, *result.population()[:2]),
        "## Model noise floor",
        "",
        f"Run-to-run sd of each output at the prior centre (defaults), from {s.n_pilot} runs at scale {s.scale:g}; "
        "it floors each point's error scale in the distance.",
        "",
        md(
            result.targets.table(),
            ["indicator", "year", "value", "half_width", "noise_sd", "scale"],
            ["indicator", "year", "data", "half-width", "noise sd", "error scale"],
        ),
        "",
    ]
    if result.failures:
        lines += ["## Failed runs", "", *[f"- {f}" for f in result.failures[:20]], ""]
    return "\n".join(lines)


def posterior_fit(
    errors: pd.DataFrame, fit: dict, *, posterior_sha256: str, provenance: dict, ppc_scale: float, runs: int
) -> dict:
    """The machine-readable fit of a posterior (``posterior_fit.json`` beside its csv): per indicator and
    year the data, the posterior-predictive median and 90 % band, the error and whether the band covers the
    data; ``summary`` is ``summary_of_fit``. ``posterior_csv_sha256`` ties it to its posterior, and
    ``calibration`` names the code (commit) it was made with, so a reader can tell a stale file."""
    git = provenance.get("git") or {}
    return {
        "kind": FIT_KIND,
        "posterior_csv_sha256": posterior_sha256,
        "calibration": {
            "created": provenance.get("created"),
            "command": provenance.get("command"),
            "seed": provenance.get("seed"),
            "commit": git.get("commit"),
            "dirty": git.get("dirty"),
            "changes": git.get("changes", []),
        },
        "ppc": {"runs": int(runs), "scale": float(ppc_scale), "band": list(fitreport.BAND)},
        "goals": {
            "median_within_relative": fitreport.GOAL_RELATIVE,
            "median_within_points": fitreport.GOAL_POINTS,
            "coverage": fitreport.GOAL_COVERAGE,
        },
        "summary": fit,
        "indicators": fitreport.fit_by_indicator(errors),
    }


def _posterior_sha256(result: ABCResult) -> str:
    """sha256 of the posterior.csv ``python -m sim.calibrate`` writes for ``result`` (byte-reproducible)."""
    from sim.calibration.calibrate import posterior_csv_bytes, posterior_frame

    return hashlib.sha256(posterior_csv_bytes(posterior_frame(result))).hexdigest()


def write_report(
    cfg: CalibrateConfig,
    result: ABCResult,
    ppc_outputs: np.ndarray,
    provenance: dict,
    out_dir: Path,
    docs_dir: Path | None,
) -> dict:
    """Tables, figures and markdown in ``out_dir`` (and a copy in ``docs_dir``); ``posterior_fit.json``
    beside the posterior csv in ``out_dir`` and, with ``write_posterior``, beside the committed one (the
    credibility lines of every projection read it: ``sim.pipeline.credibility``). Returns the fit summary."""
    values, weights, _ = result.population()
    errors = fitreport.error_table(result.targets, ppc_outputs, weights)
    fit = fitreport.summary_of_fit(errors)
    params = fitreport.parameter_table(result.space.names, result.space.lo, result.space.hi, values, weights)
    bias = fitreport.scale_bias(result.targets, result.kept_outputs(), ppc_outputs, weights)
    figdir = out_dir / "figures"
    for ind in REPORT_INDICATORS:
        fitreport.plot_indicator(figdir / f"fit_{ind}.png", ind, ppc_outputs, weights, result.targets)
    fitreport.plot_prior_posterior(
        figdir / "prior_posterior.png", result.space.names, result.space.lo, result.space.hi, values, weights
    )
    atomic.write_csv(out_dir / "errors.csv", errors)
    atomic.write_csv(out_dir / "parameters.csv", params)
    atomic.write_csv(out_dir / "scale_check.csv", bias)
    atomic.write_json(out_dir / "fit_summary.json", fit)
    record = posterior_fit(
        errors,
        fit,
        posterior_sha256=_posterior_sha256(result),
        provenance=provenance,
        ppc_scale=cfg.ppc_scale,
        runs=len(ppc_outputs),
    )
    # beside every posterior.csv the calibration writes (its run folder; sim/data/ or posterior_path)
    atomic.write_json(posterior_fit_path(out_dir / "posterior.csv"), record)
    if cfg.write_posterior:
        atomic.write_json(posterior_fit_path(Path(cfg.posterior_path or POSTERIOR_CSV)), record)
    atomic.write_text(
        out_dir / "report.md", render_report(cfg, result, errors, fit, params, bias, provenance, "figures")
    )
    if docs_dir is not None:
        docs_fig = docs_dir / "calibration_figures"
        docs_fig.mkdir(parents=True, exist_ok=True)
        for png in sorted(figdir.glob("*.png")):
            shutil.copyfile(png, docs_fig / png.name)
        atomic.write_text(
            docs_dir / "calibration_report.md",
            render_report(cfg, result, errors, fit, params, bias, provenance, "calibration_figures"),
        )
    return {"fit": fit, "errors": errors, "params": params, "scale_check": bias}


def edges_section(names, lo, hi, values: np.ndarray, weights: np.ndarray) -> list[str]:
    """The report's lines on the parameters pressing on their prior bounds (``fitreport.prior_edges``)."""
    fitted = [n for n in names if n not in PROJECTION_ONLY]
    return fitreport.prior_edges_markdown(fitreport.prior_edges(names, lo, hi, values, weights), len(fitted))


def _replace_section(lines: list[str], section: list[str], before: str) -> list[str]:
    """``lines`` with the section titled ``section[0]`` replaced by ``section``, or inserted before the
    line ``before`` when it is not there yet."""
    if section[0] in lines:
        start = lines.index(section[0])
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        return lines[:start] + section + lines[end:]
    at = lines.index(before)
    return lines[:at] + section + lines[at:]


# --------------------------------------------------------------------------- refreshing a finished run's report
def headline_line(head: dict) -> str:
    """The report's line on the headline series' sharpness goal (``fitreport.headline_sharpness``)."""
    return (
        f"- Sharpness of the headline series ({head['what']}, {head['points']} points): median 90 % band width "
        f"**{100 * head['median_band_width_rel']:.1f} %** of the data point (goal ≤ {100 * head['width_goal']:.0f} %), "
        f"coverage **{100 * head['coverage']:.0f} %** (goal ≥ {100 * head['coverage_goal']:.0f} %): "
        f"{'met' if head['met'] else '**not met**'}."
    )


def refresh(folder: Path, docs_dir: Path | None = None) -> dict:
    """Recompute the fit summary of a finished calibration folder from its ``errors.csv`` and
    ``parameters.csv`` with this code (the headline sharpness goal, projection-only parameters marked) and
    update ``fit_summary.json``, ``report.md`` (and ``docs_dir/calibration_report.md``) in place.

    For a report written before those lines existed: the numbers are the run's own (its errors and
    posterior), only the summary built on them is new. ``python -m sim.calibration.report <folder>``.
    """
    errors = pd.read_csv(folder / "errors.csv")
    fit = fitreport.summary_of_fit(errors)
    atomic.write_json(folder / "fit_summary.json", fit)
    line = headline_line(fit["headline"])
    post = load_posterior(folder / "posterior.csv")
    space = ParamSpace.from_priors(post.names)  # the box in the posterior's own column order
    edges = edges_section(space.names, space.lo, space.hi, post.table.to_numpy(), post.weights)
    pages = [folder / "report.md"] + ([docs_dir / "calibration_report.md"] if docs_dir else [])
    for page in pages:
        lines = page.read_text(encoding="utf-8").splitlines()
        lines = [x for x in lines if not x.startswith("- Sharpness of the headline series")]
        at = next(i for i, x in enumerate(lines) if x.startswith("- 90 % bands cover"))
        lines.insert(at + 1, line)
        for i, x in enumerate(lines):  # projection-only parameters: their width ratio means nothing
            cells = x.split(" | ")
            if x.startswith("| ") and cells[0][2:] in fitreport.PROJECTION_ONLY and len(cells) == 9:
                lines[i] = " | ".join(cells[:-1]) + " | projection-only: prior in projections |"
        lines = _replace_section(lines, edges, "## Model noise floor")
        atomic.write_text(page, "\n".join(lines) + "\n")
    return fit


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m sim.calibration.report <calibration folder>")
    print(json.dumps(refresh(Path(sys.argv[1]), DOCS_DIR)["headline"], indent=1))
