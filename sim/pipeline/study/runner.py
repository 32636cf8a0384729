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
from sim.pipeline.study.design import OUTPUTS, RunSpec, outputs
from sim.runtime import atomic
from sim.runtime.config import CONFIG_DIR as ROOT_CONFIG_DIR
from sim.runtime.config import flag, is_number, whole
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
EXECUTION_KNOBS = ("jobs", "executor", "address", "resume", "progress", "chunk", "publish")
#: Libraries a study needs beyond the model (the ``studies`` extra of pyproject.toml).
LIBRARIES = {"sensitivity": ("SALib",), "discovery": ("ema_workbench",), "portfolio": ("pymoo",)}
#: Package versions recorded in study.json besides the model's.
STUDY_PACKAGES = ("SALib", "ema_workbench", "pymoo")


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
    points: list[float] = field(
        default_factory=lambda: [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]
    )  # lever_curves: x plan
    base_samples: int = 64  # sensitivity: Saltelli base sample N (runs = N x (groups + 2))
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
        pts = list(self.points)
        if len(pts) < 2 or not all(is_number(p) and 0 <= p <= 20 for p in pts) or 1.0 not in pts:
            raise ConfigError(
                f"{key}.points = {pts!r}: must be at least two multiples of the plan's value in [0, 20], "
                "including 1.0 (the plan)"
            )
        self.points = sorted(float(p) for p in pts)
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
    progress: bool = True  # progress bars on stderr
    publish: bool = False  # copy the findings into experiments/NAME/ (make experiments)

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
        for key in ("resume", "progress", "publish"):
            flag(key, getattr(self, key))
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
        d = {k: v for k, v in self.as_dict().items() if k not in EXECUTION_KNOBS}
        d["sizes"] = {self.size: d["sizes"][self.size]}  # other sizes do not change this study
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


# --------------------------------------------------------------------------- runs and their cache
class RunCache:
    """Model runs of a study folder, saved in chunks (``runs/chunk-*.npz``) as they finish.

    ``runs/FINGERPRINT`` names the study the runs belong to; a folder of another study's runs is
    cleared before use. Each chunk holds the runs' keys (``RunSpec.key``) and outputs.
    """

    def __init__(self, folder: Path, fingerprint: str, resume: bool):
        self.folder = Path(folder)
        self.values: dict[str, np.ndarray] = {}
        stamp = self.folder / "FINGERPRINT"
        if self.folder.is_dir() and (
            not resume or not stamp.is_file() or stamp.read_text().strip() != fingerprint
        ):
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic.write_text(stamp, fingerprint + "\n")
        for path in sorted(self.folder.glob("chunk-*.npz")):
            try:
                with np.load(path, allow_pickle=False) as z:
                    keys, vals = z["keys"], z["values"]
            except (OSError, ValueError, KeyError):
                continue  # a damaged chunk is simply run again
            if vals.shape[1] != len(OUTPUTS):
                continue
            self.values.update(zip(map(str, keys), vals))
        self.reused = len(self.values)
        self._n = len(list(self.folder.glob("chunk-*.npz")))

    def save(self, keys: list[str], values: np.ndarray) -> None:
        path = self.folder / f"chunk-{self._n:05d}.npz"
        self._n += 1
        with atomic.atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, keys=np.array(keys), values=values)
        self.values.update(zip(keys, values))


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

    @property
    def runs(self) -> int:
        return len(self._used)

    def replicates(self, n: int, first: int = 0):
        """Replicates ``first .. first+n-1`` of the study (seed, parameter set, effects seed)."""
        from sim.pipeline.ensemble import plan_replicates

        return plan_replicates(
            self.cfg.seed, range(first, first + n), len(self.param_sets), self.param_sets.weights
        )

    def evaluate(self, specs: list[RunSpec], desc: str) -> pd.DataFrame:
        """The outputs of every run (rows in ``specs`` order, columns ``OUTPUTS``); saved runs are reused."""
        keys = [s.key(self.scale, self.end_year) for s in specs]
        todo = list(dict.fromkeys(k for k in keys if k not in self.cache.values))
        first = {k: s for k, s in zip(keys, specs)}
        chunk = self.cfg.chunk
        n_chunks = -(-len(todo) // chunk)
        for c in range(n_chunks):
            part = todo[c * chunk : (c + 1) * chunk]
            runs = [
                first[k].model_run(self.param_sets.sets[first[k].param_set], self.scale, self.end_year)
                for k in part
            ]
            label = f"{desc} [{c + 1}/{n_chunks}]" if n_chunks > 1 else desc
            out = self.executor.map(
                evaluate,
                runs,
                desc=label,
                unit="run",
                label=lambda i, part=part: (
                    f"run {part[i]} (seed {first[part[i]].seed}, parameter set {first[part[i]].param_set})"
                ),
            )
            self.cache.save(part, np.vstack([outputs(run) for run in out]))
            self.ran += len(part)
        self._used.update(keys)
        return pd.DataFrame(np.vstack([self.cache.values[k] for k in keys]), columns=OUTPUTS)


@dataclass
class Findings:
    """What a study returns: machine-readable findings, tables, figures and the findings text."""

    summary: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    figures: list[Path]
    markdown: str  # the findings section (numbers in it come from ``summary``)
    design: str  # one line: what was run (counts)


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
    return {
        "fingerprint": fingerprint,
        **record,
        "data": prov.data_hash(),
        "posterior": {"note": param_sets.note, **param_sets.info},
        "started": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
    }


def _commit_line(prov: dict) -> str:
    git = prov.get("git") or {}
    commit = (git.get("commit") or "unknown")[:10]
    dirty = " (with uncommitted changes)" if git.get("dirty") else ""
    return f"commit `{commit}`{dirty}"


def wall_text(wall: float, runs: int, reused: int) -> str:
    """The wall time, saying when it is that of a resumed invocation (its runs came from the run cache)."""
    text = f"{wall / 60:.1f} min wall time"
    if reused:
        text += f" ({reused:,} of the {runs:,} runs reused from the folder's run cache, made earlier)"
    return text


def findings_markdown(
    cfg: StudyConfig, f: Findings, prov: dict, wall: float, runs: int, reused: int = 0
) -> str:
    date = prov["started"][:10]
    figs = "\n".join(f"![{p.stem}]({p.name})" for p in f.figures)
    return (
        f"# Study `{cfg.name}`\n\n"
        f"**Question.** {cfg.question.strip()}\n\n"
        f"**Command.** `{prov['command']}`\n\n"
        f"**Made by** {_commit_line(prov)} on {date}; size `{cfg.size}`, scale {cfg.run_scale}, seed "
        f"{cfg.seed}, {runs:,} model runs, {wall_text(wall, runs, reused)}. Posterior: "
        f"{prov['posterior']['note']}.\n\n"
        f"**Design.** {f.design}\n\n"
        f"## Findings\n\n{f.markdown.strip()}\n\n" + (f"## Figures\n\n{figs}\n" if figs else "")
    )


def write_outputs(cfg: StudyConfig, outdir: Path, f: Findings, prov: dict, started: float, ctx: Context):
    wall = time.time() - started
    files = []
    for name, table in f.tables.items():
        files.append(atomic.write_csv(outdir / f"{name}.csv", table))
    text = findings_markdown(cfg, f, prov, wall, ctx.runs, reused=max(0, ctx.runs - ctx.ran))
    files.append(atomic.write_text(outdir / FINDINGS, text))
    doc = {
        "study": cfg.name,
        "question": cfg.question.strip(),
        "size": cfg.size,
        "scale": cfg.run_scale,
        "seed": cfg.seed,
        "config": cfg.as_dict(),
        "design": f.design,
        "model_runs": ctx.runs,
        "model_runs_this_invocation": ctx.ran,
        "model_runs_reused": ctx.runs - ctx.ran if ctx.runs >= ctx.ran else 0,
        "wall_time_s": round(wall, 1),
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
    fingerprint = cfg.fingerprint(posterior_sha256=param_sets.info.get("sha256"))
    (outdir / STUDY_JSON).unlink(missing_ok=True)  # a rerun is unfinished until it finishes
    cache = RunCache(outdir / RUNS_DIR, fingerprint, cfg.resume)
    if cache.reused:
        print(f"resuming: {cache.reused} model runs already saved in {outdir / RUNS_DIR}", file=sys.stderr)
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
    load_param_sets(cfg)


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
