"""Studies from Python (the notebooks): run one into a folder, read a finished one, and the few
quantities the notebooks derive from its tables.

- ``config``: the composed, checked config of ``configs/study/NAME.yaml`` at a size (what
  ``python -m sim.study NAME size=SIZE ...`` would run); bad input raises ``ConfigError`` with the
  command line's one error line;
- ``run``: run a study into a folder through ``runner.execute`` (no Hydra app: safe in a kernel);
- ``load``: a finished study folder (``study.json``, CSV tables, figures) as a ``Study``;
- ``open_study``: the notebooks' rule for where a study comes from (a folder, the committed
  ``experiments/NAME/``, or a run here);
- ``near_plan`` / ``best_near_plan`` (``lever_curves``): what each lever buys per 亿元 around the plan;
- ``sobol_ranking`` (``sensitivity``): factors ranked per output, and whether the lead is resolved;
- ``sobol_group`` / ``uncertainty_unit`` (``discovery``): the Sobol factor and the unit of a PRIM
  dimension.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import warnings
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from sim.model.params import BehaviourParams, ConfigError
from sim.model.policy import effect_fields
from sim.paths import RESULTS_DIR
from sim.pipeline.study import runner
from sim.pipeline.study.design import ALL_FIVE

AUTO = "auto"  # open_study: the committed experiments/NAME/ when it holds the tables, else a run here


# --------------------------------------------------------------------------- running and reading
def config(name: str, size: str = "smoke", overrides: Iterable[str] = ()) -> runner.StudyConfig:
    """Study ``name``'s config at ``size`` with ``overrides`` (``key=value`` as on the command line)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from sim.runtime.config import build

    if name not in runner.STUDIES:
        raise ConfigError(f"study {name!r}: no such study; studies: {', '.join(runner.STUDIES)}")
    argv = [f"size={size}", *overrides]
    error = runner.COMMAND.precheck(argv, name)  # one line naming the key, as the command line says it
    if error is not None:
        raise ConfigError(error.removeprefix("config error: "))
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=runner.STUDY_CONFIG_DIR, version_base="1.3", job_name="study"):
            return build(compose(name, overrides=argv), runner.StudyConfig)
    finally:
        GlobalHydra.instance().clear()


def run(
    name: str,
    folder: str | Path,
    *,
    size: str = "smoke",
    overrides: Iterable[str] = (),
    jobs: int = 1,
    progress: bool = True,
) -> Path:
    """Run study ``name`` at ``size`` into ``folder``, as ``python -m sim.study NAME size=SIZE ...
    hydra.run.dir=FOLDER`` would (that command is what its provenance records). The findings text the
    command prints is left out (it is in ``findings.md``); its last line, where the results are, is
    printed. Returns ``folder``."""
    folder = Path(folder)
    overrides = [*overrides, f"jobs={jobs}", f"progress={str(progress).lower()}"]
    command = ["python", "-m", "sim.study", name, f"size={size}", *overrides, f"hydra.run.dir={folder}"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), warnings.catch_warnings():
        # importing ema_workbench (discovery) warns of an optional evaluator (ipyparallel) no study uses
        warnings.filterwarnings("ignore", message="ipyparallel not installed")
        runner.execute(config(name, size, overrides), folder, command=command)
    print(printed.getvalue().rstrip().splitlines()[-1])
    return folder


@dataclass
class Study:
    """A finished study: its folder, ``study.json`` (``doc``) and the CSV tables that were asked for."""

    folder: Path
    doc: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def findings(self) -> dict:
        return self.doc["findings"]

    @property
    def smoke(self) -> bool:
        return self.doc["size"] != "full"

    def figure(self, stem: str) -> Path:
        """The path of the study's figure ``stem`` (``stem.png``); ``FileNotFoundError`` when it has none."""
        path = self.folder / f"{stem}.png"
        if not path.is_file():
            raise FileNotFoundError(f"{self.folder}: the study has no figure {path.name}")
        return path

    def note(self) -> str:
        """Where the findings come from: study, size, runs, commit, date, folder (and a smoke warning)."""
        d = self.doc
        git = d["provenance"].get("git") or {}
        commit = (git.get("commit") or "unknown")[:10] + (
            " with uncommitted changes" if git.get("dirty") else ""
        )
        text = (
            f"study {d['study']}: size {d['size']}, scale {d['scale']:g}, seed {d['seed']}, "
            f"{d['model_runs']:,} model runs; commit {commit}, {d['provenance']['started'][:10]}; {self.folder}"
        )
        if self.smoke:
            text += "\nA smoke run: tiny samples of small firm populations, a check that the study runs, not a result."
        return text


def holds(folder: str | Path, tables: Iterable[str] = ()) -> bool:
    """Whether ``folder`` holds a finished study (``study.json``) with every CSV table in ``tables``."""
    folder = Path(folder)
    return (folder / runner.STUDY_JSON).is_file() and all((folder / f"{t}.csv").is_file() for t in tables)


def load(folder: str | Path, tables: Iterable[str] = (), name: str | None = None) -> Study:
    """The finished study in ``folder`` with its CSV ``tables``; ``FileNotFoundError`` naming what is
    missing, ``ValueError`` when the folder holds another study than ``name``."""
    folder = Path(folder)
    doc_path = folder / runner.STUDY_JSON
    if not doc_path.is_file():
        raise FileNotFoundError(
            f"{folder}: no finished study ({runner.STUDY_JSON} is written last; "
            "python -m sim.study NAME writes one)"
        )
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    if name is not None and doc["study"] != name:
        raise ValueError(f"{folder}: holds study {doc['study']!r}, not {name!r}")
    missing = [f"{t}.csv" for t in tables if not (folder / f"{t}.csv").is_file()]
    if missing:
        raise FileNotFoundError(f"{folder}: study {doc['study']} has no {', '.join(missing)}")
    return Study(folder, doc, {t: pd.read_csv(folder / f"{t}.csv") for t in tables})


def open_study(
    name: str,
    study_dir: str | Path | None = AUTO,
    *,
    tables: Iterable[str] = (),
    size: str = "full",
    run_size: str = "smoke",
    seed: int = 0,
    jobs: int = 1,
    experiments: str | Path = runner.EXPERIMENTS_DIR,
) -> Study:
    """Study ``name`` for a notebook, from the first of:

    - ``size == "smoke"`` (the tests): a smoke run here, into a temporary folder;
    - a folder ``study_dir``, which must hold the finished study and its ``tables``;
    - ``study_dir == "auto"``: the committed findings ``experiments/NAME/`` if they hold ``tables``;
    - otherwise (``None``, or nothing committed): a run here at ``run_size`` (``"smoke"``: seconds, into
      a temporary folder; ``"full"``: the study's full design, into ``results/studies/``).
    """
    tables = list(tables)
    if size not in runner.SIZES:
        raise ConfigError(f"SIZE = {size!r}: must be one of {', '.join(runner.SIZES)}")
    if size == "smoke":
        run_size, study_dir = "smoke", None
    elif study_dir == AUTO:
        committed = Path(experiments) / name
        study_dir = committed if holds(committed, tables) else None
        if study_dir is None:
            print(
                f"{committed} holds no finished {name} study with {tables} yet (make experiments writes it)"
            )
    if study_dir is not None:
        return load(study_dir, tables, name)
    if run_size == "smoke":
        folder = Path(tempfile.mkdtemp(prefix=f"{name}_smoke_"))
    else:
        folder = RESULTS_DIR / "studies" / f"{datetime.now():%Y-%m-%d/%H-%M-%S}_{name}"
    print(f"running study {name} at size {run_size} into {folder}")
    run(name, folder, size=run_size, overrides=[f"seed={seed}"], jobs=jobs)
    return load(folder, tables, name)


# --------------------------------------------------------------------------- lever_curves
def near_plan(curves: pd.DataFrame) -> pd.DataFrame:
    """Per lever and target of ``curves.csv``: what moving the lever across the plan buys, from the
    largest multiple of the plan's value below 1 to the smallest above it (the others at the plan).

    ``dp``: change of P(reach) over the paired replicates (``changed``: replicates whose outcome
    changed on balance, dp x n); ``dcost``: change of the mean public cost 2024-26 of all instruments
    (亿元; ``lever_dcost``: the lever's own spending); ``dp_per_100m``: dp per 亿元, only where the
    cost rises (a gain that costs nothing is not a ratio); ``dmedian`` and ``dmedian_per_100m``: the
    same for the 2026 median (target units; empty for all five).
    """
    rows = []
    for (lever, target), t in curves.groupby(["lever", "target"], sort=False):
        t = t.set_index("factor").sort_index()
        below, above = t.index[t.index < 1.0], t.index[t.index > 1.0]
        if below.empty or above.empty:
            raise ValueError(f"lever {lever}: curves.csv has no multiple of the plan on both sides of 1")
        a, b = t.loc[below.max()], t.loc[above.min()]
        dcost = b["cost_mean"] - a["cost_mean"]
        dp = b["p_reach"] - a["p_reach"]
        dmedian = b["median"] - a["median"] if target != ALL_FIVE else np.nan
        rises = dcost > 0
        rows.append(
            {
                "lever": lever,
                "target": target,
                "from_factor": below.max(),
                "to_factor": above.min(),
                "from_value": a["value"],
                "to_value": b["value"],
                "unit": a["unit"],
                "n": int(a["n"]),
                "dp": dp,
                "changed": int(round(dp * a["n"])),
                "dcost": dcost,
                "lever_dcost": b["lever_cost_mean"] - a["lever_cost_mean"],
                "dp_per_100m": dp / dcost if rises else np.nan,
                "dmedian": dmedian,
                "dmedian_per_100m": dmedian / dcost if rises else np.nan,
            }
        )
    return pd.DataFrame(rows)


def best_near_plan(near: pd.DataFrame) -> pd.DataFrame:
    """Per target, the lever that buys the most P(reach) near the plan (``near_plan``'s table): a lever
    that raises P(reach) without raising the cost first (largest gain), else the largest gain per 亿元.
    ``how`` says which; ``lever`` is None when no lever raises P(reach) across the plan."""
    rows = []
    for target, t in near.groupby("target", sort=False):
        gain = t[t["dp"] > 0]
        free = gain[gain["dcost"] <= 0]
        if not free.empty:
            row, how = free.loc[free["dp"].idxmax()], "raises P(reach) at no extra public cost"
        elif not gain.empty:
            row, how = gain.loc[gain["dp_per_100m"].idxmax()], "the largest gain per 100 million yuan"
        else:
            rows.append({"target": target, "lever": None, "how": "no lever raises P(reach) across the plan"})
            continue
        rows.append({**row.to_dict(), "how": how})
    cols = [
        "target",
        "lever",
        "how",
        "dp",
        "changed",
        "n",
        "dcost",
        "dp_per_100m",
        "from_factor",
        "to_factor",
    ]
    return pd.DataFrame(rows).reindex(columns=cols)


# --------------------------------------------------------------------------- sensitivity
def sobol_ranking(table: pd.DataFrame) -> pd.DataFrame:
    """``sensitivity.csv`` ranked per output by total-order index ST (rank 1 = largest); outputs without
    variance (NaN indices) are left out. ``ahead``: whether the factor's 95 % interval lies wholly above
    the next factor's (ST - ST_conf > next ST + next ST_conf), i.e. its lead is resolved; False for the last."""
    t = table.dropna(subset=["ST"]).copy()
    t["output"] = pd.Categorical(t["output"], categories=list(dict.fromkeys(table["output"])))
    t = t.sort_values(["output", "ST"], ascending=[True, False])
    t["rank"] = t.groupby("output", observed=True).cumcount() + 1
    nxt = t.groupby("output", observed=True)[["ST", "ST_conf"]].shift(-1)
    t["ahead"] = (t["ST"] - t["ST_conf"] > nxt["ST"] + nxt["ST_conf"]).fillna(False).astype(bool)
    t["output"] = t["output"].astype(str)
    return t.reset_index(drop=True)


# --------------------------------------------------------------------------- discovery
def sobol_group(uncertainty: str) -> str | None:
    """The ``sensitivity`` factor a ``discovery`` dimension belongs to: ``effect:INSTRUMENT.name`` ->
    "INSTRUMENT effects", ``behaviour:name`` -> the behaviour posterior; None for anything else."""
    from sim.pipeline.study.sensitivity import POSTERIOR

    kind, _, name = uncertainty.partition(":")
    if kind == "effect" and "." in name:
        return f"{name.split('.')[0]} effects"
    if kind == "behaviour" and name:
        return POSTERIOR
    return None


def uncertainty_unit(uncertainty: str) -> str:
    """What a ``discovery`` dimension measures (its parameter's unit text, 亿元 in English)."""
    from sim.pipeline.plots import english

    kind, _, name = uncertainty.partition(":")
    if kind == "effect":
        units = {key: f.metadata.get("unit", "") for key, f in effect_fields()}
    elif kind == "behaviour":
        units = {f.name: f.metadata.get("unit", "") for f in fields(BehaviourParams)}
    else:
        units = {}
    if name not in units:
        raise KeyError(f"{uncertainty}: not an uncertainty of the model (effect:... or behaviour:...)")
    return english(units[name])
