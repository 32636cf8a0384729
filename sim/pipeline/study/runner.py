"""The study runner: ``python -m sim.study NAME [size=smoke|full] [key=value ...]``.

A command of the app shell like ``python -m sim`` (``sim.runtime.shell``; schema ``StudyConfig``):
each study is ``configs/study/NAME.yaml`` (its question and designs per ``size``) on top of the shared
knobs of ``configs/study/_base.yaml``; Hydra composes ``NAME`` from ``configs/study/``. It

1. checks the command line before anything runs (every key against the schema, the posterior file,
   the study's libraries): bad input exits 2 with one line, and no folder is made (the shell);
2. runs the study's design (``sim.pipeline.study.<NAME>.run``) through the project's one parallel
   runner (``sim.runtime.parallel.Executor``: ``executor=local jobs=N`` or ``executor=ray``);
   model runs are saved in chunks under ``runs/`` as they finish, so a study that was stopped
   resumes where it was when rerun into the same folder (``hydra.run.dir=FOLDER``; the Ctrl-C line
   prints the command);
3. writes into ``results/studies/<date>/<time>_NAME/``: CSV tables, figures, ``findings.md`` and
   ``study.json`` (the machine-readable findings with provenance) last, atomically;
4. with ``publish=true`` (``make experiments``) also copies the findings, tables and figures into
   ``experiments/NAME/`` (README.md) and rewrites the index ``experiments/README.md``.

``python -m sim.study index [--out FILE] FOLDER...`` writes the cross-study table of finished study
folders (``make experiments`` writes it beside the study folders); ``python -m sim.study --list``
prints the studies' names (``STUDIES``, which ``make experiments`` runs).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from sim.model.evaluate import evaluate
from sim.model.params import ConfigError, RunConfig
from sim.paths import REPO_ROOT
from sim.pipeline.study import STUDIES
from sim.pipeline.study.design import COLUMNS, RunSpec, evaluate_or_failure, outputs, params_of
from sim.runtime import atomic, model_version
from sim.runtime.config import CONFIG_DIR as ROOT_CONFIG_DIR
from sim.runtime.config import flag, is_number, overwrite_refused, whole
from sim.runtime.parallel import Executor, check_backend, quiet_model_logs
from sim.runtime.shell import BAD_INPUT_EXIT, Command, Invocation

STUDY_CONFIG_DIR = str(Path(ROOT_CONFIG_DIR) / "study")  # one file per study, plus _base.yaml
SIZES = ("full", "smoke")
STUDY_JSON = "study.json"
FINDINGS = "findings.md"
RUNS_DIR = "runs"
EXPERIMENTS_DIR = REPO_ROOT / "experiments"
MIN_SCALE = [f for f in fields(RunConfig) if f.name == "scale"][0].metadata["range"][
    0
]  # the model's smallest
#: Knobs that change how a study is computed, not what it finds (left out of its fingerprint).
EXECUTION_KNOBS = (
    "jobs",
    "executor",
    "address",
    "resume",
    "overwrite",
    "progress",
    "chunk",
    "publish",
    "reuse_runs",
)
#: Libraries a study needs beyond the model (the ``studies`` extra of pyproject.toml).
LIBRARIES = {
    "sensitivity": ("SALib", "sklearn"),
    "discovery": ("ema_workbench",),
    "portfolio": ("pymoo",),
}
#: Package versions recorded in study.json besides the model's.
STUDY_PACKAGES = ("SALib", "ema_workbench", "pymoo", "scikit-learn")
#: Sensitivity methods: Saltelli's design on the model itself, or on an emulator fitted to model runs.
METHODS = ("model", "emulator")


# --------------------------------------------------------------------------- schema
@dataclass
class Size:
    """A study's design at one size (``sizes.full`` / ``sizes.smoke`` in its config file).

    Each study reads the fields it needs (its module's docstring says which).
    """

    scale: float = 0.25  # share of the real firm population per model run
    replicates: int = (
        100  # contrast: per arm; lever_curves: per point; discovery: the sample; portfolio: per candidate
    )
    # lever_curves: positions on each lever's validated range (design.lever_at: 0 = lo, 0.5 = plan, 1 = hi)
    positions: list[float] = field(default_factory=lambda: [0.0, 0.5, 0.75, 1.0])
    base_samples: int = 64  # sensitivity: Saltelli base sample N (model: runs = N x (groups + 2))
    method: str = (
        "model"  # sensitivity: model | emulator (Saltelli on an emulator fitted to `replicates` runs)
    )
    pairs: int = 0  # sensitivity (emulator): training runs repeated with a second seed (the seed's share)
    # sensitivity (emulator): training points run twice more at scale 1, the model's randomness at the real
    # population's size (a scaled-down population is noisier)
    full_scale_pairs: int = 0
    population: int = 24  # portfolio: NSGA-II population
    generations: int = 6  # portfolio: NSGA-II generations
    validation: int = 200  # portfolio: fresh replicates re-evaluating each chosen mix

    def validate(self, key: str) -> "Size":
        if not is_number(self.scale) or not MIN_SCALE <= self.scale <= 1:
            raise ConfigError(f"{key}.scale = {self.scale!r}: must be a number in [{MIN_SCALE:g}, 1]")
        self.scale = float(self.scale)
        whole(f"{key}.replicates", self.replicates, 2, 1_000_000)
        whole(f"{key}.base_samples", self.base_samples, 2, 1_000_000)
        if self.base_samples & (self.base_samples - 1):
            raise ConfigError(
                f"{key}.base_samples = {self.base_samples}: must be a power of 2 (Sobol sequences balance there)"
            )
        whole(f"{key}.population", self.population, 4, 100_000)
        whole(f"{key}.generations", self.generations, 1, 10_000)
        whole(f"{key}.validation", self.validation, 2, 1_000_000)
        whole(f"{key}.pairs", self.pairs, 0, 1_000_000)
        if self.method not in METHODS:
            raise ConfigError(f"{key}.method = {self.method!r}: must be one of {', '.join(METHODS)}")
        if self.method == "emulator" and not 2 <= self.pairs <= self.replicates:
            raise ConfigError(
                f"{key}.pairs = {self.pairs}: the emulator needs 2 to replicates ({self.replicates}) runs "
                "repeated with a second seed (they measure the model's own randomness)"
            )
        whole(f"{key}.full_scale_pairs", self.full_scale_pairs, 0, self.replicates)
        pts = list(self.positions)
        if len(pts) < 2 or not all(is_number(p) and 0 <= p <= 1 for p in pts) or 0.5 not in pts:
            raise ConfigError(
                f"{key}.positions = {pts!r}: must be at least two positions in [0, 1] on each lever's "
                "validated range (0 = its lowest value, 0.5 = the plan, 1 = its highest), including 0.5"
            )
        self.positions = sorted(float(p) for p in pts)
        return self


@dataclass
class StudyConfig:
    """Schema of ``configs/study/_base.yaml`` + ``configs/study/NAME.yaml``; the object the runner uses."""

    name: str = "contrast"  # which study (set by configs/study/NAME.yaml)
    question: str = ""  # the question the study answers (its config file states it)
    size: str = "full"  # full | smoke: which entry of ``sizes`` to run
    sizes: dict[str, Size] = field(default_factory=lambda: {"full": Size(), "smoke": Size(scale=0.05)})
    scale: float | None = None  # override the size's scale
    seed: int = 0  # root seed: replicate i draws its seed, parameter set and effects from it
    posterior: str = "default"  # behaviour parameter sets: default | path/to/posterior.csv
    range_factor: float = 2.0  # levers range up to range_factor x the plan's value
    goal: float = 0.8  # portfolio: the P(reach) a mix must reach
    jobs: int = 2  # local processes (executor=ray address=local: its CPUs)
    executor: str = "local"  # local | ray
    address: str = "auto"  # executor=ray: auto | local | host:port | ray://host:port
    chunk: int = 200  # model runs saved per chunk (resume granularity)
    resume: bool = True  # reuse the model runs already saved in the folder's runs/
    overwrite: bool = False  # replace a finished study of other settings in the folder
    progress: bool = True  # progress bars on stderr
    publish: bool = False  # copy the findings into experiments/NAME/ (make experiments)
    #: finished study folders whose saved runs this study may take (same posterior and model code, checked)
    reuse_runs: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if is_number(self.scale):
            self.scale = float(self.scale)
        if is_number(self.range_factor):
            self.range_factor = float(self.range_factor)
        if is_number(self.goal):
            self.goal = float(self.goal)
        self.validate()

    def validate(self) -> "StudyConfig":
        if self.name not in STUDIES:
            raise ConfigError(f"study {self.name!r}: no such study; studies: {', '.join(STUDIES)}")
        if self.size not in self.sizes:
            raise ConfigError(f"size = {self.size!r}: must be one of {', '.join(self.sizes)}")
        for key, s in self.sizes.items():
            if not isinstance(s, Size):
                raise ConfigError(f"sizes.{key}: must be a design (scale, replicates, ...)")
            s.validate(f"sizes.{key}")
        if self.scale is not None and (not is_number(self.scale) or not MIN_SCALE <= self.scale <= 1):
            raise ConfigError(
                f"scale = {self.scale!r}: must be a number in [{MIN_SCALE:g}, 1] (or null: the size's)"
            )
        whole("seed", self.seed, 0)
        if not is_number(self.range_factor) or not 1 < self.range_factor <= 20:
            raise ConfigError(f"range_factor = {self.range_factor!r}: must be a number in (1, 20]")
        if not is_number(self.goal) or not 0 < self.goal < 1:
            raise ConfigError(f"goal = {self.goal!r}: must be a probability in (0, 1)")
        whole("jobs", self.jobs, 1, 4096)
        whole("chunk", self.chunk, 1, 1_000_000)
        for key in ("executor", "address", "posterior", "question"):
            if not isinstance(getattr(self, key), str):
                raise ConfigError(f"{key} = {getattr(self, key)!r}: must be a string")
        check_backend(self.executor, self.address)
        if self.posterior != "default" and not Path(self.posterior).is_file():
            raise ConfigError(
                f"posterior = {self.posterior!r}: must be default or the path of a posterior.csv written "
                "by python -m sim.calibrate"
            )
        for key in ("resume", "overwrite", "progress", "publish"):
            flag(key, getattr(self, key))
        if isinstance(self.reuse_runs, str) or not all(isinstance(f, str) for f in self.reuse_runs):
            raise ConfigError(
                f"reuse_runs = {self.reuse_runs!r}: must be a list of study folders, e.g. reuse_runs=[FOLDER]"
            )
        for folder in self.reuse_runs:
            if not (Path(folder) / STUDY_JSON).is_file() or not (Path(folder) / RUNS_DIR).is_dir():
                raise ConfigError(
                    f"reuse_runs: {folder} is not a finished study folder (no {STUDY_JSON} and {RUNS_DIR}/)"
                )
        if self.publish and self.size != "full":
            raise ConfigError(f"publish = true with size = {self.size}: only a full-size study is published")
        return self

    @property
    def design(self) -> Size:
        return self.sizes[self.size]

    @property
    def run_scale(self) -> float:
        return float(self.scale if self.scale is not None else self.design.scale)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sizes"] = {k: asdict(v) for k, v in self.sizes.items()}
        d["run_scale"] = self.run_scale
        return d

    def fingerprint(self, **inputs: Any) -> str:
        return config_fingerprint(self.as_dict(), **inputs)


def config_fingerprint(config: dict[str, Any], **inputs: Any) -> str:
    """The hash of a study's config (``as_dict``, or as recorded in a study.json) without its execution
    knobs and other sizes, and ``inputs`` (the posterior's and, since 8805019, the model code's hash)."""
    d = {k: v for k, v in config.items() if k not in EXECUTION_KNOBS}
    d["sizes"] = {config["size"]: d["sizes"][config["size"]]}  # other sizes do not change this study
    d.update(inputs)
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def check_libraries(cfg: StudyConfig) -> None:
    for lib in LIBRARIES.get(cfg.name, ()):
        try:
            importlib.import_module(lib)
        except ImportError:
            raise ConfigError(
                f"study {cfg.name} needs {lib}: pip install -e '.[studies]' (make install-dev installs it)"
            ) from None


def load_param_sets(cfg: StudyConfig):
    """The posterior's parameter sets; ``ConfigError`` naming ``posterior`` when unusable."""
    from sim.pipeline import ensemble

    try:
        return ensemble.load_param_sets(cfg.posterior)
    except ensemble.PosteriorUnavailable as exc:
        raise ConfigError(str(exc)) from None


def study_fingerprint(cfg: StudyConfig, param_sets=None) -> str:
    """The fingerprint of the study ``cfg`` makes: its config, the posterior file's sha256 and the model's
    code (a study rerun into its folder after the model changed makes its runs again)."""
    from sim.runtime.provenance import model_code_sha256

    param_sets = param_sets if param_sets is not None else load_param_sets(cfg)
    return cfg.fingerprint(posterior_sha256=param_sets.info.get("sha256"), model_sha256=model_code_sha256())


def check_folder(cfg: StudyConfig, outdir: Path, fingerprint: str | None = None) -> None:
    """A finished study (``study.json``) of other settings in ``outdir`` is replaced only with
    ``overwrite=true``; ``ConfigError`` naming ``overwrite`` and what differs otherwise. The same
    settings are fine: the study is made again from its saved runs (``resume``), to the same findings."""
    path = Path(outdir) / STUDY_JSON
    if cfg.overwrite or not path.is_file():
        return
    try:
        done = json.loads(path.read_text(encoding="utf-8"))
        recorded = done["provenance"]["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError):
        return  # not a finished study's record
    if recorded != (fingerprint or study_fingerprint(cfg)):
        raise overwrite_refused("study", outdir, done.get("config"), cfg.as_dict(), EXECUTION_KNOBS)


def reusable_runs(cfg: StudyConfig, param_sets) -> list[Path]:
    """The ``runs/`` folders of ``cfg.reuse_runs``, each checked to hold runs this study would make itself.

    A run's key (``RunSpec.key``) hashes its levers, parameter set, seed, effects, scale and end year; what
    it leaves out is the posterior file and the model's code, which are in the study's fingerprint. So a
    folder's runs are taken only when its own config, fingerprinted with *this* posterior and model code,
    gives the fingerprint stamped on its runs: it was made with both. ``ConfigError`` otherwise."""
    from sim.runtime.provenance import model_code_sha256

    inputs = {"posterior_sha256": param_sets.info.get("sha256"), "model_sha256": model_code_sha256()}
    out = []
    for folder in map(Path, cfg.reuse_runs):
        why = None
        try:
            doc = json.loads((folder / STUDY_JSON).read_text(encoding="utf-8"))
            config = doc["config"]
            known = {f.name for f in fields(StudyConfig)}
            sizes = {k: Size(**v) for k, v in config["sizes"].items()}
            other = StudyConfig(
                **{k: v for k, v in config.items() if k in known and k != "sizes"}, sizes=sizes
            )
            stamp = (folder / RUNS_DIR / "FINGERPRINT").read_text().strip()
        except (OSError, ValueError, KeyError, TypeError, ConfigError) as exc:
            why = f"its record cannot be read by this version of the study code ({exc})"
        else:
            if other.fingerprint(**inputs) != stamp and not stamped_before_model_code(doc, stamp, inputs):
                why = "its runs were made with another posterior or other model code than this study's"
        if why:
            raise ConfigError(f"reuse_runs: {folder}: {why}; leave it out of reuse_runs")
        out.append(folder / RUNS_DIR)
    return out


def stamped_before_model_code(doc: dict, stamp: str, inputs: dict) -> bool:
    """Runs stamped before fingerprints held the model's code (commit 8805019: the recorded config and the
    posterior only) are taken when git proves the rest: the study was made at a clean commit whose
    ``sim/model`` is this working tree's (``model_version.MODEL_CODE``, nothing uncommitted or untracked there), with
    this posterior (``inputs["posterior_sha256"]``), and the stamp is that scheme's hash of its config."""
    prov = doc.get("provenance") or {}
    git = prov.get("git") or {}
    posterior = inputs.get("posterior_sha256")
    if not git.get("commit") or git.get("dirty") or (prov.get("posterior") or {}).get("sha256") != posterior:
        return False
    if config_fingerprint(doc["config"], posterior_sha256=posterior) != stamp:
        return False
    untracked = model_version.git("status", "--porcelain", "--", model_version.MODEL_CODE)
    return (
        model_version.differs(git["commit"], model_version.MODEL_CODE) is False
        and untracked is not None
        and untracked.returncode == 0
        and not untracked.stdout.strip()
    )


# --------------------------------------------------------------------------- runs and their cache
def read_chunk(path: Path) -> tuple[list[str], np.ndarray, float, str, str] | None:
    """A saved chunk's (keys, outputs, wall seconds, machine, source folder); None when it is damaged or
    holds the outputs of another version of the study code (other ``COLUMNS``)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            keys, vals = [str(k) for k in z["keys"]], z["values"]
            seconds = float(z["seconds"]) if "seconds" in z else np.nan
            machine = str(z["machine"]) if "machine" in z else "unknown"
            source = str(z["source"]) if "source" in z else ""
    except (OSError, ValueError, KeyError):
        return None
    return None if vals.shape[1] != len(COLUMNS) else (keys, vals, seconds, machine, source)


class RunCache:
    """Model runs of a study folder, saved in chunks (``runs/chunk-*.npz``) as they finish.

    ``runs/FINGERPRINT`` names the study the runs belong to; a folder of another study's runs is
    cleared before use. Each chunk holds the runs' keys (``RunSpec.key``), outputs (``COLUMNS``), the
    wall time the chunk took (``seconds``) and where it ran (``machine``: CPUs and executor), so a page
    made from saved runs still reports the time of the runs that made its numbers.
    """

    def __init__(self, folder: Path, fingerprint: str, resume: bool):
        self.folder = Path(folder)
        self.values: dict[str, np.ndarray] = {}
        self.seconds: dict[str, float] = {}  # wall seconds per run (its chunk's time / its runs)
        self.machine: dict[str, str] = {}  # where each run was made
        self.source: dict[str, str] = {}  # the study folder a run was taken from (reuse_runs), by name
        stamp = self.folder / "FINGERPRINT"
        if self.folder.is_dir() and (
            not resume or not stamp.is_file() or stamp.read_text().strip() != fingerprint
        ):
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic.write_text(stamp, fingerprint + "\n")
        for path in sorted(self.folder.glob("chunk-*.npz")):
            chunk = read_chunk(path)
            if chunk is None:
                continue  # damaged, or runs of another version of the study code: run again
            keys, vals, seconds, machine, source = chunk
            self.values.update(zip(keys, vals))
            self.seconds.update((k, seconds / len(keys)) for k in keys)
            self.machine.update((k, machine) for k in keys)
            if source:
                self.source.update((k, source) for k in keys)
        self.reused = len(self.values)
        self._n = len(list(self.folder.glob("chunk-*.npz")))

    def adopt(self, runs: Path) -> int:
        """Copy the chunks of another study's ``runs/`` folder (checked by ``reusable_runs``) into this one,
        with the wall time and machine they were made with; returns how many new runs that adds."""
        before = len(self.values)
        for path in sorted(Path(runs).glob("chunk-*.npz")):
            chunk = read_chunk(path)
            if chunk is None:
                continue
            keys, vals, seconds, machine, _ = chunk
            new = [i for i, k in enumerate(keys) if k not in self.values]
            if not new:
                continue
            each = seconds / len(keys)
            self.save([keys[i] for i in new], vals[new], each * len(new), machine, Path(runs).parent.name)
        return len(self.values) - before

    def save(
        self,
        keys: list[str],
        values: np.ndarray,
        seconds: float = np.nan,
        machine: str = "",
        source: str = "",
    ) -> None:
        """Save runs as a new chunk (``source``: the study folder they were taken from, if any)."""
        path = self.folder / f"chunk-{self._n:05d}.npz"
        self._n += 1
        with atomic.atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(
                    fh,
                    keys=np.array(keys),
                    values=values,
                    seconds=np.float64(seconds),
                    machine=np.str_(machine),
                    source=np.str_(source),
                )
        self.values.update(zip(keys, values))
        self.seconds.update((k, seconds / len(keys)) for k in keys)
        self.machine.update((k, machine) for k in keys)
        if source:
            self.source.update((k, source) for k in keys)


class Context:
    """What a study module gets: the config, the posterior, a way to run designs, the output folder."""

    def __init__(self, cfg: StudyConfig, outdir: Path, param_sets, executor: Executor, cache: RunCache):
        self.cfg = cfg
        self.design = cfg.design
        self.scale = cfg.run_scale
        self.end_year = 2026
        self.outdir = Path(outdir)
        self.param_sets = param_sets
        self.executor = executor
        self.cache = cache
        self._used: set[str] = set()  # distinct runs the study's findings rest on (cached or not)
        self.ran = 0  # model runs made by this invocation
        self.failures: dict[str, str] = {}  # run key -> its numerical failure (evaluate(tolerate=True))

    @property
    def runs(self) -> int:
        return len(self._used)

    def run_time(self) -> dict[str, Any]:
        """The wall time of the runs the findings rest on, as recorded when each was made (saved runs
        included), and where they were made."""
        secs = [self.cache.seconds.get(k, np.nan) for k in self._used]
        known = [s for s in secs if not np.isnan(s)]
        machines = sorted({self.cache.machine.get(k, "unknown") for k in self._used})
        return {
            "seconds": float(sum(known)) if known else None,
            "runs_timed": len(known),
            "runs": len(secs),
            "machines": machines,
            "taken_from": sorted({self.cache.source[k] for k in self._used if k in self.cache.source}),
        }

    def params_of(self, spec: RunSpec):
        """The behaviour parameters of a run spec (a posterior set, or a particle per mechanism group)."""
        return params_of(self.param_sets, spec)

    def replicates(self, n: int, first: int = 0):
        """Replicates ``first .. first+n-1`` of the study (seed, parameter set, effects seed)."""
        from sim.pipeline.ensemble import plan_replicates

        return plan_replicates(
            self.cfg.seed, range(first, first + n), len(self.param_sets), self.param_sets.weights
        )

    def evaluate(
        self, specs: list[RunSpec], desc: str, tolerate: bool = False, scale: float | None = None
    ) -> pd.DataFrame:
        """The outputs of every run (rows in ``specs`` order, columns ``COLUMNS``); saved runs are reused.

        ``tolerate``: a run that fails numerically (``design.NUMERICAL_ERRORS``) gives a row of NaN and its
        error in ``failures`` instead of stopping the study (a search over the levers' full ranges).
        ``scale``: the runs' scale, when not the study's."""
        scale = self.scale if scale is None else float(scale)
        keys = [s.key(scale, self.end_year) for s in specs]
        todo = list(dict.fromkeys(k for k in keys if k not in self.cache.values))
        first = {k: s for k, s in zip(keys, specs)}
        chunk = self.cfg.chunk
        n_chunks = -(-len(todo) // chunk)
        for c in range(n_chunks):
            part = todo[c * chunk : (c + 1) * chunk]
            runs = [first[k].model_run(self.params_of(first[k]), scale, self.end_year) for k in part]
            label = f"{desc} [{c + 1}/{n_chunks}]" if n_chunks > 1 else desc
            t0 = time.time()
            out = self.executor.map(
                evaluate_or_failure if tolerate else evaluate,
                runs,
                desc=label,
                unit="run",
                label=lambda i, part=part: (
                    f"run {part[i]} (seed {first[part[i]].seed}, parameter set {first[part[i]].param_set})"
                ),
            )
            self.failures.update((k, run) for k, run in zip(part, out) if isinstance(run, str))
            self.cache.save(part, np.vstack([outputs(run) for run in out]), time.time() - t0, self.machine)
            self.ran += len(part)
        self._used.update(keys)
        if not keys:
            return pd.DataFrame(columns=COLUMNS, dtype=float)
        return pd.DataFrame(np.vstack([self.cache.values[k] for k in keys]), columns=COLUMNS)

    @property
    def machine(self) -> str:
        """Where this invocation's runs are made: the machine's CPUs and the executor."""
        d = self.executor.describe()
        where = f"executor {d['backend']}, {d['jobs']} jobs"
        if d["backend"] == "ray":
            where = f"executor ray ({d.get('address', 'auto')}), {d['jobs']} jobs"
        return f"{os.cpu_count()} CPUs, {where}"


@dataclass
class Findings:
    """What a study returns: machine-readable findings, tables, figures and the findings text."""

    summary: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    figures: list[Path]
    markdown: str  # the findings section (numbers in it come from ``summary``)
    design: str  # one line: what was run (counts)
    precision: str = ""  # one line: the precision the design achieved (interval widths)


# --------------------------------------------------------------------------- provenance and outputs
def provenance(cfg: StudyConfig, param_sets, command: list[str], fingerprint: str, started: float) -> dict:
    from sim.runtime import provenance as prov

    record = prov.record(command, (*prov.PACKAGES, *STUDY_PACKAGES))
    git = record["git"]
    # the studies' own published findings (experiments/) are outputs, not code: a study published before
    # this one does not make this one's code uncommitted
    code = [c for c in git.get("changes") or [] if not c[3:].startswith(f"{EXPERIMENTS_DIR.name}/")]
    if git.get("dirty") is not None:
        record["git"] = {**git, "dirty": bool(code), "changes": code}
    return scrub_paths(
        {
            "fingerprint": fingerprint,
            **record,
            "data": prov.data_hash(),
            "posterior": {"note": param_sets.note, **param_sets.info},
            "started": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
        }
    )


#: An absolute path up to the repository's own top-level folders (``/any/checkout/sim/data/x.csv``):
#: published pages name files relative to the repository, never the folder of the machine that made them.
_ABSOLUTE = re.compile(
    r"(?<![\w.])/[^\s'\"`]*?/(?=(" + "|".join(re.escape(p.name) for p in REPO_ROOT.iterdir()) + r")(/|\b))"
)


def scrub_paths(obj: Any) -> Any:
    """``obj`` with every absolute path into a checkout made relative to the repository (``/work/x/sim/a`` ->
    ``sim/a``) and the working folder dropped: what a committed page may show."""
    if isinstance(obj, dict):
        return {k: scrub_paths(v) for k, v in obj.items() if k != "cwd"}
    if isinstance(obj, (list, tuple)):
        return [scrub_paths(v) for v in obj]
    if isinstance(obj, str):
        return _ABSOLUTE.sub("", obj.replace(str(REPO_ROOT) + os.sep, ""))
    return obj


def _commit_line(prov: dict) -> str:
    git = prov.get("git") or {}
    commit = (git.get("commit") or "unknown")[:10]
    dirty = " (with uncommitted changes)" if git.get("dirty") else ""
    return f"commit `{commit}`{dirty}"


def wall_text(wall: float, runs: int, reused: int, run_time: dict | None = None) -> str:
    """The wall time of the runs that made the numbers (recorded in the run cache when each chunk was made,
    so a republication from saved runs reports it, not its own seconds) with the machine and executor, and
    this invocation's when it differs."""
    rt = run_time or {}
    where = "; ".join(rt.get("machines") or []) or "unknown machine"
    if rt.get("seconds") is None:
        text = f"run time not recorded (runs saved by an older version); this invocation {wall / 60:.1f} min"
    else:
        text = f"{rt['seconds'] / 60:.1f} min wall time for the runs ({where})"
        if rt.get("runs_timed", runs) < rt.get("runs", runs):
            text += f", {rt['runs_timed']:,} of {rt['runs']:,} runs timed"
    if reused:
        where = "the folder's run cache"
        if rt.get("taken_from"):
            where += f", taken from the runs of {', '.join(rt['taken_from'])}"
        text += f"; {reused:,} of the {runs:,} runs reused from {where}, made earlier (this invocation {wall / 60:.1f} min)"
    return text


def findings_markdown(
    cfg: StudyConfig,
    f: Findings,
    prov: dict,
    wall: float,
    runs: int,
    reused: int = 0,
    run_time: dict | None = None,
) -> str:
    date = prov["started"][:10]
    figs = "\n".join(f"![{p.stem}]({p.name})" for p in f.figures)
    precision = f"**Precision.** {f.precision.strip()}\n\n" if f.precision.strip() else ""
    return (
        f"# Study `{cfg.name}`\n\n"
        f"**Question.** {cfg.question.strip()}\n\n"
        f"**Command.** `{prov['command']}`\n\n"
        f"**Made by** {_commit_line(prov)} on {date}; size `{cfg.size}`, scale {cfg.run_scale}, seed "
        f"{cfg.seed}, {runs:,} model runs. Posterior: {prov['posterior']['note']}.\n\n"
        f"**Run time.** {wall_text(wall, runs, reused, run_time)}.\n\n"
        f"**Design.** {f.design}\n\n"
        f"{precision}"
        f"## Findings\n\n{f.markdown.strip()}\n\n" + (f"## Figures\n\n{figs}\n" if figs else "")
    )


def write_outputs(cfg: StudyConfig, outdir: Path, f: Findings, prov: dict, started: float, ctx: Context):
    wall = time.time() - started
    files = []
    for name, table in f.tables.items():
        files.append(atomic.write_csv(outdir / f"{name}.csv", table))
    run_time = ctx.run_time()
    text = scrub_paths(
        findings_markdown(cfg, f, prov, wall, ctx.runs, reused=max(0, ctx.runs - ctx.ran), run_time=run_time)
    )
    files.append(atomic.write_text(outdir / FINDINGS, text))
    doc = {
        "study": cfg.name,
        "question": cfg.question.strip(),
        "size": cfg.size,
        "scale": cfg.run_scale,
        "seed": cfg.seed,
        "config": cfg.as_dict(),
        "design": f.design,
        "precision": f.precision,
        "model_runs": ctx.runs,
        "model_runs_this_invocation": ctx.ran,
        "model_runs_reused": ctx.runs - ctx.ran if ctx.runs >= ctx.ran else 0,
        "wall_time_s": round(wall, 1),
        "runs_wall_time_s": None if run_time["seconds"] is None else round(run_time["seconds"], 1),
        "runs_machines": run_time["machines"],
        "runs_taken_from": run_time["taken_from"],  # study folders whose runs it took (reuse_runs)
        "cpus": os.cpu_count(),
        "executor": ctx.executor.describe(),
        "findings": f.summary,
        "files": sorted(p.name for p in [*files, *f.figures]),
        "provenance": {**prov, "finished": datetime.now(timezone.utc).isoformat(timespec="seconds")},
    }
    atomic.write_json(outdir / STUDY_JSON, _jsonable(doc))
    return doc


def _jsonable(obj: Any) -> Any:
    """NaN and inf as null, numpy scalars as Python numbers (study.json is strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return None if np.isnan(x) or np.isinf(x) else x
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def publish(outdir: Path, doc: dict, figures: list[Path], dest_root: Path = EXPERIMENTS_DIR) -> Path:
    """Copy a finished study into ``experiments/NAME/`` (README.md, tables, figures, study.json)."""
    dest = Path(dest_root) / doc["study"]
    if dest.is_dir():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in doc["files"]:
        src = outdir / name
        if src.suffix in (".csv", ".png"):
            shutil.copy2(src, dest / name)
    shutil.copy2(outdir / FINDINGS, dest / "README.md")
    shutil.copy2(outdir / STUDY_JSON, dest / STUDY_JSON)
    from sim.pipeline.study.index import write_index

    write_index(
        sorted(p.parent for p in Path(dest_root).glob(f"*/{STUDY_JSON}")), Path(dest_root) / "README.md"
    )
    return dest


# --------------------------------------------------------------------------- the task
def study_module(name: str) -> Callable[[Context], Findings]:
    return importlib.import_module(f"sim.pipeline.study.{name}").run


def execute(cfg: StudyConfig, outdir: Path, *, command: list[str], started: float | None = None) -> dict:
    """Run one study into ``outdir`` and write its outputs; Hydra-free (tests can call it)."""
    started = time.time() if started is None else started
    outdir = Path(outdir)
    quiet_model_logs()
    param_sets = load_param_sets(cfg)
    fingerprint = study_fingerprint(cfg, param_sets)
    check_folder(cfg, outdir, fingerprint)
    reuse = reusable_runs(cfg, param_sets)
    (outdir / STUDY_JSON).unlink(missing_ok=True)  # a rerun is unfinished until it finishes
    cache = RunCache(outdir / RUNS_DIR, fingerprint, cfg.resume)
    if cache.reused:
        print(f"resuming: {cache.reused} model runs already saved in {outdir / RUNS_DIR}", file=sys.stderr)
    for runs in reuse:
        added = cache.adopt(runs)
        print(
            f"reusing: {added} model runs of {runs.parent} (same posterior and model code)", file=sys.stderr
        )
    prov = provenance(cfg, param_sets, command, fingerprint, started)
    with Executor(cfg.executor, jobs=cfg.jobs, address=cfg.address, progress=cfg.progress) as executor:
        ctx = Context(cfg, outdir, param_sets, executor, cache)
        findings = study_module(cfg.name)(ctx)
    doc = write_outputs(cfg, outdir, findings, prov, started, ctx)
    if cfg.publish:
        dest = publish(outdir, doc, findings.figures)
        print(f"published: {dest}")
    print((outdir / FINDINGS).read_text(encoding="utf-8"))
    print(
        f"results: {outdir.resolve()}  ({ctx.runs:,} model runs, {ctx.ran:,} run now; "
        f"{time.time() - started:.0f} s)"
    )
    return doc


def check_inputs(cfg: StudyConfig) -> None:
    """The study's inputs before it runs: its libraries are installed and the posterior reads."""
    check_libraries(cfg)
    reusable_runs(cfg, load_param_sets(cfg))


def _body(cfg: StudyConfig, inv: Invocation) -> dict:
    return execute(cfg, inv.outdir, command=inv.command, started=inv.started)


COMMAND = Command(
    module="sim.study",
    noun="study",
    schema=StudyConfig,
    body=_body,
    kept=f"the runs of its finished chunks are saved in {{folder}}/{RUNS_DIR}",
    resumes=True,
    config_name=STUDIES[0],  # main() composes the study named on the command line
    config_dir=STUDY_CONFIG_DIR,
    check=check_inputs,
    guard=check_folder,
)


def main(argv: list[str] | None = None) -> None:
    """``python -m sim.study NAME [overrides]`` (or ``index FOLDER...``, or ``--list``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "index":
        from sim.pipeline.study.index import main as index_main

        raise SystemExit(index_main(argv[1:]))
    if argv[:1] == ["--list"]:
        print(" ".join(STUDIES))
        return
    usage = f"usage: python -m sim.study NAME [size=smoke|full] [key=value ...]; NAME: {', '.join(STUDIES)}"
    if not argv or argv[0] in ("-h", "--help"):
        print(usage + "\n       python -m sim.study index FOLDER...  (the cross-study table)")
        print("       python -m sim.study --list  (the studies' names)")
        print(
            "Config: configs/study/_base.yaml and configs/study/NAME.yaml; --cfg job prints the composed config."
        )
        raise SystemExit(0 if argv else BAD_INPUT_EXIT)
    name, overrides = argv[0], argv[1:]
    if "=" in name or name.startswith("-"):
        print(
            f"config error: the first argument must name the study ({', '.join(STUDIES)}); {usage}",
            file=sys.stderr,
        )
        raise SystemExit(BAD_INPUT_EXIT)
    if name not in STUDIES:
        print(f"config error: study {name!r}: no such study; studies: {', '.join(STUDIES)}", file=sys.stderr)
        raise SystemExit(BAD_INPUT_EXIT)
    COMMAND.main(overrides, config_name=name, lead=[name])
