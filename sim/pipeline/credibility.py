"""How far to trust a headline answer: per target, the calibrated model's fit to its history (2017-2023) and the backtest.

Every output that reports P(reach) shows these lines beside it: ``targets.md`` and ``summary.json`` (its
``credibility`` block) of ``python -m sim``, notebook 02 and the explorer. They all call ``assess`` and
render its result (``markdown``, ``target_lines``):

- **fit**: the posterior-predictive check of the posterior the run used, from ``posterior_fit.json``
  beside its csv (``sim/data/posterior_fit.json`` for the committed posterior; written by
  ``python -m sim.calibrate``, ``sim.calibration.report``): per data point, inside the 90 % band or
  missed, and by how much;
- **backtest**: from ``docs/backtest.json`` (``python -m sim.backtest``): the model's mean relative CRPS
  against each naive forecaster's on the (origin, horizon) cells both forecast; the verdict is against
  the *best* of them, the one whose CRPS is lowest relative to the model's;
- ``MC_NOTE``: the P(reach) interval is Monte Carlo error only.

A target whose data fall outside the band, or whose backtest loses, gets a caveat with one line on why.
Both files are read generically (indicators, years, forecasters and horizons come from the files), so a
rerun calibration or backtest drops in. A file that is missing, unreadable, made for another posterior,
or made with another model (git: the data changed since the commit it records, or the code computes other
numbers: ``sim.runtime.model_version``) is said so in the result, never an error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

from sim.model.outcomes import HEADLINE, TARGETS
from sim.paths import BACKTEST_JSON, POSTERIOR_CSV, REPO_ROOT, posterior_fit_path
from sim.runtime import model_version

MC_NOTE = (
    "The 95 % interval of P(reach) is Monte Carlo error only: the uncertainty from simulating a finite "
    "number of replicates. The spread of the calibrated parameters and of the lever effects is already "
    "inside P (every replicate draws its own); the interval adds nothing for them, nor for the model's "
    "own error, which the fit and backtest below describe."
)
#: The data the model is fitted to (relative to the repository; not the posterior files the calibration
#: writes): a change to them changes what a fit is judged against, so they are compared by content. The
#: model's code is compared by the numbers it computes (``sim.runtime.model_version``).
MODEL_DATA = ("sim/data/*.csv", ":(exclude)sim/data/posterior*")

OK, OTHER_MODEL = "ok", "other model version"  # a file to show (the second with a warning)
MISSING, UNREADABLE, OTHER_POSTERIOR, UNCALIBRATED = (
    "missing",
    "unreadable",
    "other posterior",
    "uncalibrated",
)
USABLE = (OK, OTHER_MODEL)


# --------------------------------------------------------------------------- model version
def model_changed_since(commit: str | None, repo: Path | None = None) -> bool | None:
    """Whether the model differs from ``commit``'s: its data (``MODEL_DATA``) by content, its code by the
    numbers it computes (``model_version.behaviour_changed_since``: a speed-up that moves no number is the
    same model). None when git cannot tell (no git, no commit recorded, a commit not in this repository)."""
    if not commit:
        return None
    data = model_version.differs(commit, *MODEL_DATA, repo=repo)
    if data is None or data:
        return data
    return model_version.behaviour_changed_since(commit, repo)


def _source(path: Path, status: str, message: str, commit: str | None = None, **extra: Any) -> dict:
    return {"path": _shown(path), "status": status, "message": message, "commit": commit, **extra}


def _shown(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _version_note(source: dict, made: Mapping[str, Any], what: str, rerun: str) -> None:
    """Say in ``source`` whether the file was made with this model (``made``: commit, dirty, created)."""
    commit = made.get("commit")
    source["commit"] = commit
    source["created"] = made.get("created")
    changed = model_changed_since(commit) if commit else None
    source["model_changed"] = changed
    short = str(commit)[:10] if commit else "unknown"
    if made.get("dirty"):
        changes = made.get("changes")
        paths = [c[3:].strip() for c in changes] if changes else None
        if paths and not any(_changes_numbers(p) for p in paths):
            source["message"] += (
                f" It was made at commit {short} with uncommitted changes outside the code only "
                f"({', '.join(paths)}), which do not change its numbers."
            )
        else:
            source["message"] += f" It was made from uncommitted changes to commit {short}."
    if changed:
        source["status"] = OTHER_MODEL
        source["message"] += (
            f" The model or its data changed after commit {short}, which made the {what}: it may not "
            f"describe this model ({rerun})."
        )
    elif changed is None:
        source["message"] += f" Whether the model changed since the {what} was made cannot be checked."
    elif model_version.differs(str(commit), model_version.MODEL_CODE):
        source["message"] += (
            " The model's code changed since; the record of its behaviour (tests/baseline/) shows it computes "
            "the same numbers."
        )


#: Where an uncommitted change can move a result: the package and the configs (``git status`` paths, relative
#: to the repository). Documentation, notebooks and tests cannot.
CODE_PATHS = ("sim/", "configs/")


def _changes_numbers(path: str) -> bool:
    """Whether an uncommitted change to ``path`` (a ``git status --porcelain`` path; "a -> b" for a rename)
    can change a result: it is under ``CODE_PATHS``, or unknown."""
    return any(p.strip().startswith(CODE_PATHS) or not p.strip() for p in path.split(" -> "))


def _read_json(path: Path) -> tuple[dict | None, str | None]:
    if not path.is_file():
        return None, MISSING
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, UNREADABLE
    return (data, None) if isinstance(data, dict) else (None, UNREADABLE)


# --------------------------------------------------------------------------- fit
def _with_changes(made: dict, csv: Path | None) -> dict:
    """The fit file's record of its calibration, with the uncommitted changes it was made with: fit files
    written before they were recorded there take them from the posterior's own provenance (``.json``
    beside the csv), when it names the same commit."""
    if "changes" in made or not made.get("dirty") or csv is None:
        return made
    prov, _ = _read_json(Path(csv).with_suffix(".json"))
    git = (prov or {}).get("git") or {}
    if git.get("commit") == made.get("commit") and "changes" in git:
        return {**made, "changes": git["changes"]}
    return made


def _posterior_of(info: Mapping[str, Any] | None) -> tuple[Path | None, str | None, str | None]:
    """(csv path, sha256, why there is none) of the posterior a run used (``ParamSets.info``)."""
    if info is None:
        return POSTERIOR_CSV, None, None  # not stated: the committed posterior, unverified
    if not info.get("path"):
        return None, None, f"the run used no calibrated posterior (posterior {info.get('source', 'none')})"
    return Path(info["path"]), info.get("sha256"), None


def read_fit(posterior: Mapping[str, Any] | None = None, path: Path | None = None) -> tuple[dict, dict]:
    """(source, {indicator: [data-point records]}) of the fit of the posterior ``posterior`` describes
    (``ParamSets.info``; None: the committed one). ``path`` overrides where its fit file is."""
    csv, sha, none = _posterior_of(posterior)
    if none is not None:
        return _source(None, UNCALIBRATED, f"No fit to show: {none}."), {}
    path = Path(path) if path is not None else posterior_fit_path(csv)
    rerun = "rerun `make calibrate`"
    data, problem = _read_json(path)
    if problem == MISSING:
        return _source(path, MISSING, f"No fit file {_shown(path)} for this posterior ({rerun})."), {}
    if problem or not isinstance(data.get("indicators"), dict):
        return _source(path, UNREADABLE, f"The fit file {_shown(path)} cannot be read ({rerun})."), {}
    if sha is not None and data.get("posterior_csv_sha256") != sha:
        return (
            _source(
                path,
                OTHER_POSTERIOR,
                f"The fit file {_shown(path)} belongs to another posterior than this run's ({rerun}).",
            ),
            {},
        )
    made = _with_changes(data.get("calibration") or {}, csv)
    band = (data.get("ppc") or {}).get("band") or [0.05, 0.95]
    level = round(100 * (band[1] - band[0]))
    source = _source(
        path,
        OK,
        f"Fit: the calibrated posterior's {level} % posterior-predictive band against the data "
        f"({_shown(path)}, calibration of {str(made.get('created') or 'unknown date')[:10]}).",
        level=level,
    )
    if posterior is not None and posterior.get("fixed"):
        source["message"] += (
            f" This run fixes {', '.join(posterior['fixed'])} by override: the fit is the posterior's."
        )
    _version_note(source, made, "calibration", rerun)
    return source, data["indicators"]


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1f} %"


def fit_of(points: list[dict], level: int = 90) -> dict[str, Any]:
    """One indicator's fit: points inside the band, the missed ones (side, distance), the largest error."""
    points = sorted((p for p in points if p.get("data") is not None), key=lambda p: p["year"])
    if not points:
        return {"points": 0, "line": "no data points in the fit"}
    missed = []
    for p in points:
        if p.get("covered"):
            continue
        above = p["data"] > (p.get("band_hi") if p.get("band_hi") is not None else float("inf"))
        edge = p["band_hi"] if above else p.get("band_lo")
        outside = None if edge is None or not p["data"] else 100 * abs(p["data"] - edge) / abs(p["data"])
        missed.append(
            {
                "year": p["year"],
                "data": "above" if above else "below",
                "outside_band_pct": outside,
                "median_error_pct": p.get("error_pct"),
            }
        )
    errors = [abs(p["error_pct"]) for p in points if p.get("error_pct") is not None]
    years = [p["year"] for p in points]
    span = f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])
    inside = len(points) - len(missed)
    line = f"{span}: {inside} of {len(points)} data points inside the {level} % band"
    if missed:
        line += "; missed " + ", ".join(
            f"{m['year']} (data {m['outside_band_pct']:.1f} % {m['data']} the band, median "
            f"{_pct(m['median_error_pct'])})"
            if m["outside_band_pct"] is not None
            else f"{m['year']} (data {m['data']} the band)"
            for m in missed
        )
    elif errors:
        line += f"; median within {max(errors):.1f} % of the data"
    return {
        "years": years,
        "points": len(points),
        "inside_band": inside,
        "missed": missed,
        "max_abs_median_error_pct": max(errors) if errors else None,
        "line": line,
    }


# --------------------------------------------------------------------------- backtest
def read_backtest(path: Path = BACKTEST_JSON) -> tuple[dict, list[dict]]:
    """(source, score rows) of the backtest file."""
    path = Path(path)
    rerun = "rerun `make backtest`"
    data, problem = _read_json(path)
    if problem == MISSING:
        return _source(path, MISSING, f"No backtest file {_shown(path)} ({rerun})."), []
    if problem or not isinstance(data.get("scores"), list):
        return _source(path, UNREADABLE, f"The backtest file {_shown(path)} cannot be read ({rerun})."), []
    prov = data.get("provenance") or {}
    origins = sorted({int(r["origin"]) for r in data["scores"] if "origin" in r})
    source = _source(
        path,
        OK,
        f"Backtest: forecasts from origins {', '.join(map(str, origins)) or 'none'} to 2023 against the data, "
        f"scored by mean CRPS relative to the observed value ({_shown(path)} of "
        f"{str(prov.get('created') or 'unknown date')[:10]}; method and forecasters: docs/backtest.md).",
        origins=origins,
    )
    _version_note(source, {**(prov.get("git") or {}), "created": prov.get("created")}, "backtest", rerun)
    return source, data["scores"]


MODEL = "model"  # the forecaster name of the model's rows in backtest.json


def backtest_of(rows: Iterable[dict], indicator: str) -> dict[str, Any]:
    """The model against each naive forecaster on the cells (origin, horizon) both forecast: mean relative
    CRPS of each; the verdict is against the best one (highest model / naive ratio)."""
    cells: dict[str, dict[tuple[int, int], float]] = {}  # forecaster -> (origin, horizon) -> CRPS
    for r in rows:
        if r.get("indicator") != indicator or r.get("crps_rel") is None:
            continue
        cells.setdefault(r["forecaster"], {})[(int(r["origin"]), int(r["horizon"]))] = float(r["crps_rel"])
    model = cells.pop(MODEL, {})
    if not model:
        return {"verdict": "untested", "line": "not in the backtest"}
    compared = []
    for name, theirs in cells.items():
        common = sorted(set(model) & set(theirs))
        if not common:
            continue
        m = sum(model[c] for c in common) / len(common)
        n = sum(theirs[c] for c in common) / len(common)
        compared.append(
            {
                "forecaster": name,
                "cells": len(common),
                "horizons": sorted({h for _, h in common}),
                "years": sorted({o + h for o, h in common}),
                "model_crps": m,
                "naive_crps": n,
                "ratio": m / n if n > 0 else float("inf"),
            }
        )
    if not compared:
        return {
            "verdict": "untested",
            "line": "no naive forecaster could be scored (too few data points): the model is not compared",
        }
    best = max(compared, key=lambda c: c["ratio"])
    wins = best["ratio"] < 1
    h = best["horizons"]
    horizons = f"horizon {h[0]}" if len(h) == 1 else f"horizons {h[0]}-{h[-1]}"
    y = best["years"]
    years = f"{y[0]}-{y[-1]}" if len(y) > 1 else str(y[0])
    crps = f"model CRPS {100 * best['model_crps']:.1f} % of the data vs {100 * best['naive_crps']:.1f} %"
    where = f"{best['cells']} forecasts of {years}, {horizons}"
    if wins:
        line = f"beats every naive forecaster; against the best, {best['forecaster']}: {crps} ({where})"
    else:
        line = f"loses to {best['forecaster']}: {crps}, {best['ratio']:.1f}x worse ({where})"
    return {"verdict": "beats" if wins else "loses", "best_naive": best, "compared": compared, "line": line}


# --------------------------------------------------------------------------- the assessment
def _caveat(tid: str, fit: dict, backtest: dict) -> str | None:
    why = []
    if fit.get("missed"):
        years = ", ".join(str(m["year"]) for m in fit["missed"])
        sides = {m["data"] for m in fit["missed"]}
        side = sides.pop() if len(sides) == 1 else "outside"
        why.append(f"the calibrated model misses the data in {years} (data {side} its band)")
    if backtest.get("verdict") == "loses":
        best = backtest["best_naive"]
        years = best["years"]
        span = f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])
        why.append(f"a naive forecaster ({best['forecaster']}) forecast {span} {best['ratio']:.1f}x better")
    if not why:
        return None
    return f"{' and '.join(why)}: read P({tid}) as what the model implies, not as a forecast."


def assess(
    posterior: Mapping[str, Any] | None = None,
    targets: Iterable[str] = HEADLINE,
    *,
    fit_path: Path | None = None,
    backtest_path: Path = BACKTEST_JSON,
) -> dict[str, Any]:
    """The credibility block: ``note`` (``MC_NOTE``), ``fit`` and ``backtest`` (each file's ``status``,
    ``message``, ``commit``, ``model_changed``), and per target ``fit``, ``backtest`` and ``caveat``.

    ``posterior``: ``ParamSets.info`` of the run (None: the committed posterior). JSON-ready.
    """
    fit_source, fits = read_fit(posterior, fit_path)
    bt_source, rows = read_backtest(backtest_path)
    level = fit_source.get("level", 90)
    per_target = {}
    for tid in targets:
        if fit_source["status"] not in USABLE:
            fit = {"line": "not available (see above)"}
        elif tid in fits:
            fit = fit_of(fits[tid], level)
        else:
            fit = {"line": "not in the calibration's fit"}
        if bt_source["status"] not in USABLE:
            backtest = {"verdict": "untested", "line": "not available (see above)"}
        else:
            backtest = backtest_of(rows, tid)
        per_target[tid] = {"fit": fit, "backtest": backtest, "caveat": _caveat(tid, fit, backtest)}
    return {"note": MC_NOTE, "fit": fit_source, "backtest": bt_source, "targets": per_target}


# --------------------------------------------------------------------------- rendering
def target_lines(cred: Mapping[str, Any], markdown: bool = False) -> dict[str, str]:
    """One line per target: its fit, its backtest and its caveat (``markdown``: name and caveat in bold)."""
    out = {}
    for tid, t in cred["targets"].items():
        name = f"{tid} {TARGETS[tid].name}" if markdown and tid in TARGETS else tid
        line = f"{f'**{name}**' if markdown else name}: fit {t['fit']['line']}. Backtest: {t['backtest']['line']}."
        if t["caveat"]:
            line += f" {'**Caveat**' if markdown else 'Caveat'}: {t['caveat']}"
        out[tid] = line
    return out


def source_lines(cred: Mapping[str, Any]) -> list[str]:
    """What the fit and backtest are and where they come from (and any file problem)."""
    return [cred["fit"]["message"], cred["backtest"]["message"]]


def markdown(cred: Mapping[str, Any]) -> str:
    """The section under the target table (``targets.md``, notebook 02)."""
    lines = [
        "## How far to trust these numbers",
        "",
        cred["note"],
        "",
        *[f"- {m}" for m in source_lines(cred)],
        "",
        "Per target (fit: posterior-predictive band against the data; backtest: against the best naive "
        "forecaster):",
        "",
        *[f"- {line}" for line in target_lines(cred, markdown=True).values()],
    ]
    return "\n".join(lines) + "\n"


def caveated(cred: Mapping[str, Any] | None) -> set[str]:
    """Targets that carry a caveat."""
    return {tid for tid, t in ((cred or {}).get("targets") or {}).items() if t.get("caveat")}
