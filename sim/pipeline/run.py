"""The Hydra entry point: ``python -m sim`` (Hydra stays at this edge).

Composition order (``configs/config.yaml``): the structured schema ``SimConfig``
(so a misspelled key or a wrong type fails at compose time), the run knobs, the
``policy/`` scenario (``plan`` by default), then an optional ``experiment/``.

``SimConfig`` is both the schema and the object the code runs on: ``OmegaConf.to_object``
builds it and its ``__post_init__`` validates every field. Before Hydra starts, ``precheck``
(``sim.runtime.config.check_command_line``) builds it once per value of every sweep and
reads the posterior it names, so bad input exits with one line on stderr, before any folder, job or cluster
submission exists.

The task (``app``) hands the ``SimConfig`` to ``execute``, which calls ``sim.pipeline.ensemble``
and ``sim.pipeline.report``; nothing below it sees Hydra. Ctrl-C prints one line saying what
had finished and how to resume, and exits 130.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import hydra
from hydra.core.config_store import ConfigStore
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from sim.model.params import BehaviourParams, ConfigError, RunConfig
from sim.model.policy import EFFECT_MODES, PolicyLevers
from sim.runtime.config import (
    CONFIG_DIR,
    as_floats,
    build,
    check_command_line,
    config_errors_exit,
    flag,
    is_number,
    whole,
)
from sim.runtime.parallel import Executor, Interrupted, check_backend, quiet_model_logs

CONFIG_NAME = "config"
INTERRUPTED_EXIT = 130  # 128 + SIGINT, what a shell reports for Ctrl-C

#: Knobs that change how a study is computed, not what it computes (left out of the
#: fingerprint, so a job rerun with more processes or on Ray still counts as done).
EXECUTION_KNOBS = ("jobs", "executor", "address", "resume", "progress", "plots")
POSTERIOR_CHOICES = ("default", "none", "mean")


# --------------------------------------------------------------------------- schema
@dataclass
class SimConfig:
    """A study: the schema Hydra composes ``configs/config.yaml`` against, and the object the code runs on.

    ``policy`` and ``params`` reuse the model's dataclasses. Construction validates every
    field (``__post_init__``), so an invalid study cannot exist: each error is a
    ``ConfigError`` naming the key and what is allowed. ``-0.0`` is stored as ``0.0``.
    """

    scenario: str = "plan"  # name of the policy/ file that set the levers
    policy: PolicyLevers = field(default_factory=PolicyLevers)
    params: BehaviourParams = field(default_factory=BehaviourParams)
    replicates: int = 200  # replicates in this run (= this block of the study)
    seed: int = 0  # root seed of the study; replicate i uses SeedSequence([seed, i])
    end_year: int = 2026
    scale: float = 1.0  # share of the real firm population simulated
    jobs: int = 2  # processes for the replicates of this run (local), CPUs of a private Ray (address=local)
    executor: str = "local"  # where replicates run: local | ray
    address: str = "auto"  # executor=ray: auto (the running cluster) | local | host:port | ray://host:port
    replicate_block: int = 0  # this run holds replicates [block*replicates, (block+1)*replicates)
    posterior: str = "default"  # parameter sets: default | none | mean | path/to/posterior.csv
    effects: str = "sampled"  # lever effects: sampled (each replicate draws its own) | central
    resume: bool = True  # skip the run if its folder already holds a complete summary.json
    progress: bool = True  # progress bar on stderr
    plots: bool = True  # fan charts

    def __post_init__(self) -> None:
        self.policy = as_floats(self.policy)
        self.params = as_floats(self.params)
        if is_number(self.scale):
            self.scale = float(self.scale)
        self.validate()

    def validate(self) -> "SimConfig":
        """Check every field; raise ``ConfigError`` naming the first bad one."""
        if not isinstance(self.scenario, str) or not self.scenario:
            raise ConfigError(
                f"scenario = {self.scenario!r}: must name the policy scenario (set by the policy/ config file)"
            )
        for key, cls in (("policy", PolicyLevers), ("params", BehaviourParams)):
            if not isinstance(getattr(self, key), cls):
                raise ConfigError(f"{key}: must be a {cls.__name__}")
        self.policy.validate("policy")
        self.params.validate("params")
        whole("replicates", self.replicates, 1, 10_000_000)
        whole("seed", self.seed, 0)
        RunConfig(end_year=self.end_year, scale=self.scale).validate()
        whole("jobs", self.jobs, 1, 4096)
        whole("replicate_block", self.replicate_block, 0)
        for key in ("executor", "address", "posterior", "effects"):
            if not isinstance(getattr(self, key), str):
                raise ConfigError(f"{key} = {getattr(self, key)!r}: must be a string")
        check_backend(self.executor, self.address)
        if self.effects not in EFFECT_MODES:
            raise ConfigError(f"effects = {self.effects!r}: must be one of {', '.join(EFFECT_MODES)}")
        if self.posterior not in POSTERIOR_CHOICES and not Path(self.posterior).is_file():
            raise ConfigError(
                f"posterior = {self.posterior!r}: must be one of {', '.join(POSTERIOR_CHOICES)} "
                "or the path of a posterior.csv written by python -m sim.calibrate"
            )
        for key in ("resume", "progress", "plots"):
            flag(key, getattr(self, key))
        return self

    @property
    def first_replicate(self) -> int:
        return self.replicate_block * self.replicates

    @property
    def replicate_range(self) -> tuple[int, int]:
        return self.first_replicate, self.first_replicate + self.replicates

    def as_dict(self) -> dict[str, Any]:
        """Every field (``policy`` and ``params`` as dicts) and ``first_replicate``: summary and manifest."""
        d = asdict(self)
        d["first_replicate"] = self.first_replicate
        return d

    def executor_for(self) -> Executor:
        """Where this study's replicates run (``executor``, ``jobs``, ``address``, ``progress``)."""
        return Executor(self.executor, jobs=self.jobs, address=self.address, progress=self.progress)

    def fingerprint(self, **inputs: Any) -> str:
        """Hash of everything that determines the results (not how they are computed).

        ``inputs``: other things results depend on (e.g. the posterior file's sha256).
        """
        d = {k: v for k, v in self.as_dict().items() if k not in EXECUTION_KNOBS}
        d.update(inputs)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def register_configs() -> None:
    ConfigStore.instance().store(name="sim_schema", node=SimConfig)


register_configs()


def study_from_cfg(cfg: DictConfig) -> SimConfig:
    """The validated ``SimConfig`` of a composed config; raises ``ConfigError`` naming the key."""
    return build(cfg, SimConfig)


def load_param_sets(study: SimConfig):
    """The study's parameter sets (``ensemble.load_param_sets``); ``ConfigError`` naming ``posterior``
    when its file is missing, truncated or does not match its provenance."""
    from sim.pipeline import ensemble

    try:
        return ensemble.load_param_sets(study.posterior, study.params)
    except ensemble.PosteriorUnavailable as exc:
        raise ConfigError(str(exc)) from None


def precheck(argv: list[str]) -> str | None:
    """Check ``python -m sim argv`` before Hydra makes a folder: one error line, or None when every job
    of it can run (each value of every sweep builds a valid ``SimConfig`` whose posterior file reads)."""
    read: set[tuple[str, str]] = set()

    def posterior_reads(study: SimConfig) -> None:  # a file check, not the dataclass's job; once per input
        key = (study.posterior, json.dumps(asdict(study.params), sort_keys=True))
        if key not in read:
            load_param_sets(study)
            read.add(key)

    return check_command_line(argv, config_name=CONFIG_NAME, schema=SimConfig, check=posterior_reads)


# --------------------------------------------------------------------------- where a command writes
_OUTPUT: dict[str, Any] = {}


class RecordOutputDir(Callback):
    """Hydra callback (``hydra.callbacks`` in config.yaml): remembers the run or sweep folder of this
    command, for the line printed on Ctrl-C."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _OUTPUT.update(mode="run", dir=Path(str(config.hydra.run.dir)))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _OUTPUT.update(mode="multirun", dir=Path(str(config.hydra.sweep.dir)))


def _resume_command(argv: list[str], key: str, folder: Path) -> str:
    args = [a for a in argv if not a.startswith(f"{key}=")]
    return shlex.join(["python", "-m", "sim", *args, f"{key}={folder}"])


def interrupted_line(exc: BaseException, argv: list[str]) -> str:
    """One line for Ctrl-C: what had finished, and the command that resumes."""
    from sim.pipeline import report

    folder = _OUTPUT.get("dir")
    if folder is None:
        return "interrupted before any run started; nothing was written"
    if _OUTPUT.get("mode") == "multirun":
        from sim.pipeline.analyze import planned_jobs

        jobs = [d for d in folder.iterdir() if d.is_dir()] if folder.is_dir() else []
        done = sum(report.complete_summary(d) is not None for d in jobs)
        planned = planned_jobs(folder) if folder.is_dir() else None
        total = len(planned) if planned is not None else len(jobs)
        return (
            f"interrupted: {done} of {total} jobs complete in {folder}; to finish the others (complete ones "
            f"are skipped) run: {_resume_command(argv, 'hydra.sweep.dir', folder)}"
        )
    what = (
        f"{exc.done} of {exc.total} replicates had finished"
        if isinstance(exc, Interrupted)
        else "the run had not finished"
    )
    return (
        f"interrupted: {what}; a run writes its results only when complete, so {folder} holds none. "
        f"To run it again: {_resume_command(argv, 'hydra.run.dir', folder)}"
    )


# --------------------------------------------------------------------------- the task
def _command_line() -> list[str]:
    argv0 = sys.argv[0]
    if argv0.endswith(("sim/__main__.py", "sim\\__main__.py")):
        return ["python", "-m", "sim", *sys.argv[1:]]
    return [argv0, *sys.argv[1:]]


def app(cfg: DictConfig) -> dict | None:
    """Run one study (one run or one job of a sweep) into Hydra's output folder."""
    from hydra.core.hydra_config import HydraConfig

    started = time.time()
    quiet_model_logs()
    with config_errors_exit():
        study = study_from_cfg(cfg)
    hc = HydraConfig.get()
    outdir = Path(hc.runtime.output_dir)
    hydra_info = {
        "overrides": list(hc.overrides.task),
        "hydra_overrides": list(hc.overrides.hydra),
        "mode": str(hc.mode),
        "job_num": hc.job.get("num"),
        "launcher": hc.runtime.choices.get("hydra/launcher"),
        "output_dir": str(outdir),
    }
    return execute(study, outdir, command=_command_line(), hydra_info=hydra_info, started=started)


def execute(
    study: SimConfig,
    outdir: Path,
    *,
    command: list[str],
    hydra_info: dict | None = None,
    started: float | None = None,
) -> dict | None:
    """Run the ensemble and write every output; Hydra-free (tests and notebooks can call it)."""
    from sim.pipeline import ensemble, report
    from sim.runtime import provenance

    started = time.time() if started is None else started
    outdir = Path(outdir)
    with config_errors_exit():
        param_sets = load_param_sets(study)
    # the posterior file is an input too: a recalibrated posterior makes a different study
    fingerprint = study.fingerprint(posterior_sha256=param_sets.info.get("sha256"))
    if study.resume:
        done = report.complete_summary(outdir, fingerprint)
        if done is not None:
            print(f"skipping {outdir}: already complete (summary.json, fingerprint {fingerprint})")
            return done
    stale = outdir / report.SUMMARY
    if stale.is_file():  # a different study's result: it must not look like this one's while we run
        print(f"replacing the results of a different study in {outdir}", file=sys.stderr)
        stale.unlink()
    plan = ensemble.plan_replicates(
        study.seed, range(*study.replicate_range), len(param_sets), param_sets.weights
    )
    with study.executor_for() as executor:
        results = ensemble.run_ensemble(
            study.policy,
            plan,
            param_sets=param_sets,
            end_year=study.end_year,
            scale=study.scale,
            executor=executor,
            desc=f"{study.scenario} {outdir.name}",
            effects=study.effects,
        )
        how = executor.describe()
    wall = time.time() - started
    summary = report.summarise(results, study=study.as_dict(), fingerprint=fingerprint, posterior=param_sets)
    manifest = provenance.manifest(
        study=study.as_dict(),
        plan=plan,
        command=command,
        hydra=hydra_info,
        started=started,
        posterior=param_sets,
        fingerprint=fingerprint,
        executor=how,
    )
    effects = ensemble.effects_table(plan, study.effects)
    manifest["effects"] = provenance.effects_record(study.effects, effects)
    report.write_run(outdir, results, summary, manifest, plots=study.plots, started=started, effects=effects)
    print(report.targets_table(summary))
    print(
        f"\nresults: {outdir.resolve()}  ({study.replicates} replicates, {time.time() - started:.1f} s;"
        f" ensemble {wall:.1f} s)"
    )
    return summary


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name=CONFIG_NAME)
def hydra_main(cfg: DictConfig) -> dict | None:
    return app(cfg)


#: Ctrl-C kills a sweep's job processes (the joblib launcher does); the process-resource tracker
#: they share then removes their semaphores and warns "leaked semlock objects": expected, not shown.
#: (``sys.warnoptions`` is passed to that tracker when it starts.)
TRACKER_WARNINGS = "ignore::UserWarning:joblib.externals.loky.backend.resource_tracker"


def cli(argv: list[str] | None = None) -> None:
    """``python -m sim``: one-line errors for bad input, then Hydra; one line and exit 130 on Ctrl-C."""
    argv = sys.argv[1:] if argv is None else argv
    if TRACKER_WARNINGS not in sys.warnoptions:
        sys.warnoptions.append(TRACKER_WARNINGS)
    try:
        error = precheck(argv)
        if error is not None:
            print(error, file=sys.stderr)
            raise SystemExit(2)
        hydra_main()
    except KeyboardInterrupt as exc:
        line = interrupted_line(exc, argv)
        print(
            f"\n{line}" if _OUTPUT.get("mode") == "multirun" and sys.stderr.isatty() else line,
            file=sys.stderr,
        )
        raise SystemExit(INTERRUPTED_EXIT) from None


if __name__ == "__main__":
    cli()
