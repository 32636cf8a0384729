"""``python -m sim``: one run of a scenario, an ensemble of replicates (Hydra stays at this edge).

Composition order (``configs/config.yaml``): the structured schema ``SimConfig``
(so a misspelled key or a wrong type fails at compose time), the run knobs, the
``policy/`` scenario (``plan`` by default), then an optional ``experiment/``.

``SimConfig`` is both the schema and the object the code runs on: ``OmegaConf.to_object``
builds it and its ``__post_init__`` validates every field. The app shell (``sim.runtime.shell``,
``COMMAND`` here) checks the command line before Hydra starts, once per value of every sweep, and
reads the posterior it names, so bad input exits with one line on stderr, before any folder, job or
cluster submission exists; on Ctrl-C it prints one line saying what had finished and how to resume,
and exits 130. A folder holding a finished run of other settings is refused (exit 2) unless
``overwrite=true``: a rerun with the same settings is skipped (``resume``).

The body hands the ``SimConfig`` to ``execute``, which calls ``sim.pipeline.ensemble`` and
``sim.pipeline.report``; nothing below it sees Hydra. (A lever *study*, many runs answering one
question, is ``python -m sim.study``.)

A run's folder is named after its scenario and the levers changed from it (``run_name``, the
``run_name`` resolver of ``configs/config.yaml``): ``..._plan+voucher_budget=4``. In a sweep (``-m``)
each job prints one line (its table is in its ``targets.md``), so parallel jobs cannot interleave their
tables; when the sweep ends, ``SweepClosingLine`` prints every job's P(reach) and the line naming the
sweep folder and the ``python -m sim.analyze`` command that compares them.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from sim.model.params import BehaviourParams, ConfigError, RunConfig
from sim.model.policy import EFFECT_MODES, PolicyLevers
from sim.runtime.config import as_floats, flag, is_number, overwrite_refused, whole
from sim.runtime.parallel import Executor, check_backend
from sim.runtime.shell import Command, Invocation

#: Knobs that change how a run is computed, not what it computes (left out of the
#: fingerprint, so a job rerun with more processes or on Ray still counts as done).
EXECUTION_KNOBS = ("jobs", "executor", "address", "resume", "overwrite", "progress", "plots")
POSTERIOR_CHOICES = ("default", "none", "mean")


# --------------------------------------------------------------------------- schema
@dataclass
class SimConfig:
    """A run: the schema Hydra composes ``configs/config.yaml`` against, and the object the code runs on.

    ``policy`` and ``params`` reuse the model's dataclasses. Construction validates every
    field (``__post_init__``), so an invalid run cannot exist: each error is a
    ``ConfigError`` naming the key and what is allowed. ``-0.0`` is stored as ``0.0``.
    """

    scenario: str = "plan"  # name of the policy/ file that set the levers
    policy: PolicyLevers = field(default_factory=PolicyLevers)
    params: BehaviourParams = field(default_factory=BehaviourParams)
    replicates: int = 200  # replicates in this run (= this block of the ensemble)
    seed: int = 0  # root seed of the ensemble; replicate i uses SeedSequence([seed, i])
    end_year: int = 2026
    scale: float = 1.0  # share of the real firm population simulated
    jobs: int = 2  # processes for the replicates of this run (local), CPUs of a private Ray (address=local)
    executor: str = "local"  # where replicates run: local | ray
    address: str = "auto"  # executor=ray: auto (the running cluster) | local | host:port | ray://host:port
    replicate_block: int = 0  # this run holds replicates [block*replicates, (block+1)*replicates)
    posterior: str = "default"  # parameter sets: default | none | mean | path/to/posterior.csv
    effects: str = "sampled"  # lever effects: sampled (each replicate draws its own) | central
    resume: bool = True  # skip the run if its folder already holds a complete summary.json
    overwrite: bool = False  # replace a finished run of other settings in the output folder
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
        self.params.validate("params")
        whole("replicates", self.replicates, 1, 10_000_000)
        whole("seed", self.seed, 0)
        RunConfig(end_year=self.end_year, scale=self.scale).validate()
        self.policy.validate("policy", end_year=self.end_year)  # a lever's path may run to end_year
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
        for key in ("resume", "overwrite", "progress", "plots"):
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
        """Where this run's replicates run (``executor``, ``jobs``, ``address``, ``progress``)."""
        return Executor(self.executor, jobs=self.jobs, address=self.address, progress=self.progress)

    def fingerprint(self, **inputs: Any) -> str:
        """Hash of everything that determines the results (not how they are computed).

        ``inputs``: other things results depend on (e.g. the posterior file's sha256).
        """
        d = {k: v for k, v in self.as_dict().items() if k not in EXECUTION_KNOBS}
        d.update(inputs)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def load_param_sets(cfg: SimConfig):
    """The run's parameter sets (``ensemble.load_param_sets``); ``ConfigError`` naming ``posterior``
    when its file is missing, truncated or does not match its provenance."""
    from sim.pipeline import ensemble

    try:
        return ensemble.load_param_sets(cfg.posterior, cfg.params)
    except ensemble.PosteriorUnavailable as exc:
        raise ConfigError(str(exc)) from None


def run_fingerprint(cfg: SimConfig, param_sets=None) -> str:
    """The fingerprint of the run ``cfg`` makes: its config, the posterior file's sha256 and the model's code."""
    from sim.runtime.provenance import model_code_sha256

    param_sets = param_sets if param_sets is not None else load_param_sets(cfg)
    # the posterior file and the model's code are inputs too: a recalibrated posterior or a changed rule
    # makes a different run, whose saved replicates must not be reused
    return cfg.fingerprint(posterior_sha256=param_sets.info.get("sha256"), model_sha256=model_code_sha256())


def check_folder(cfg: SimConfig, outdir: Path, fingerprint: str | None = None) -> None:
    """A finished run of other settings in ``outdir`` is replaced only with ``overwrite=true``.

    Finished: a complete ``summary.json``. The same settings (the same fingerprint) are fine: the run
    is skipped (``resume``) or made again to the same numbers. ``ConfigError`` naming ``overwrite``,
    with the settings that differ, otherwise."""
    from sim.pipeline import report

    outdir = Path(outdir)
    done = report.complete_summary(outdir)
    if done is None or cfg.overwrite:
        return
    fingerprint = fingerprint or run_fingerprint(cfg)
    if done.get("provenance", {}).get("fingerprint") == fingerprint:
        return
    try:
        old = json.loads((outdir / "manifest.json").read_text(encoding="utf-8")).get("config")
    except (OSError, ValueError, AttributeError):
        old = None
    raise overwrite_refused("run", outdir, old, cfg.as_dict(), EXECUTION_KNOBS)


def execute(
    cfg: SimConfig,
    outdir: Path,
    *,
    command: list[str],
    hydra_info: dict | None = None,
    started: float | None = None,
) -> dict | None:
    """Run the ensemble and write every output; Hydra-free (tests and notebooks can call it).

    ``ConfigError`` naming ``posterior`` when its file cannot be used (the shell makes it one line)."""
    from sim.pipeline import ensemble, report
    from sim.runtime import provenance

    started = time.time() if started is None else started
    outdir = Path(outdir)
    param_sets = load_param_sets(cfg)
    fingerprint = run_fingerprint(cfg, param_sets)
    if cfg.resume:
        done = report.complete_summary(outdir, fingerprint)
        if done is not None:
            print(f"skipping {outdir}: already complete (summary.json, fingerprint {fingerprint})")
            return done
    check_folder(cfg, outdir, fingerprint)
    stale = outdir / report.SUMMARY
    if stale.is_file():  # a result being replaced: it must not look like this run's while we run
        print(f"replacing the results in {outdir}", file=sys.stderr)
        stale.unlink()
    plan = ensemble.plan_replicates(
        cfg.seed, range(*cfg.replicate_range), len(param_sets), param_sets.weights
    )
    with cfg.executor_for() as executor:
        results = ensemble.run_ensemble(
            cfg.policy,
            plan,
            param_sets=param_sets,
            end_year=cfg.end_year,
            scale=cfg.scale,
            executor=executor,
            desc=f"{cfg.scenario} {outdir.name}",
            effects=cfg.effects,
        )
        how = executor.describe()
    wall = time.time() - started
    summary = report.summarise(results, config=cfg.as_dict(), fingerprint=fingerprint, posterior=param_sets)
    manifest = provenance.manifest(
        config=cfg.as_dict(),
        plan=plan,
        command=command,
        hydra=hydra_info,
        started=started,
        posterior=param_sets,
        fingerprint=fingerprint,
        executor=how,
    )
    effects = ensemble.effects_table(plan, cfg.effects, param_sets.sets)
    manifest["effects"] = provenance.effects_record(cfg.effects, effects)
    report.write_run(outdir, results, summary, manifest, plots=cfg.plots, started=started, effects=effects)
    timing = f"{cfg.replicates} replicates, {time.time() - started:.1f} s; ensemble {wall:.1f} s"
    if "MULTIRUN" in str((hydra_info or {}).get("mode")):  # a sweep's job: one line, written at once
        sys.stdout.write(f"{job_line(summary, outdir)} ({timing})\n")
        sys.stdout.flush()
    else:
        print(report.targets_table(summary))
        print(f"\nresults: {outdir.resolve()}  ({timing})")
    return summary


# --------------------------------------------------------------------------- run names and sweeps
#: Longest run name before the remaining changed levers are counted instead of listed (``plan+a=1+3more``).
RUN_NAME_MAX = 60
_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]")  # anything else (path separators, spaces, ...) becomes "_"


def _short(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def run_name(scenario: str, policy: Mapping[str, Any] | None = None) -> str:
    """A run folder's name: the scenario and each lever that differs from it, ``plan+voucher_budget=4``;
    filesystem-safe, at most ``RUN_NAME_MAX`` characters (the levers that do not fit: ``+3more``)."""
    from sim.pipeline.report import levers_changed

    scenario = str(scenario)
    if isinstance(policy, DictConfig):
        policy = OmegaConf.to_container(policy, resolve=True)
    changed = [f"{k}={_short(v)}" for k, v in (levers_changed(scenario, policy or {}) or {}).items()]
    name = _UNSAFE.sub("_", scenario)
    for k, part in enumerate(changed):
        rest = len(changed) - k
        room = RUN_NAME_MAX - (len(f"+{rest - 1}more") if rest > 1 else 0)
        if len(name) + 1 + len(part) > room:
            return f"{name}+{rest}more"
        name += "+" + _UNSAFE.sub("_", part)
    return name


OmegaConf.register_new_resolver("run_name", run_name, replace=True)


def job_line(summary: dict, outdir: Path) -> str:
    """One line for a sweep's job: its folder's name, its changed levers, P(reach) of each headline target."""
    changed = ", ".join(f"{k}={_short(v)}" for k, v in (summary.get("levers_changed") or {}).items())
    p = " ".join(
        f"{tid} {ind['p_reach']:.2f}"
        for tid, ind in summary["indicators"].items()
        if tid in summary["headline"] and ind.get("p_reach") is not None
    )
    return f"job {outdir.name}: {summary['scenario']}{' ' + changed if changed else ''}; P(reach) {p}"


def sweep_closing(folder: Path) -> str:
    """After a sweep: each job's line and one closing line naming the folder and the analyzer command."""
    from sim.pipeline import report

    folder = Path(folder)
    jobs = [d for d in folder.iterdir() if d.is_dir() and d.name.isdigit()] if folder.is_dir() else []
    lines = []
    for d in sorted(jobs, key=lambda d: int(d.name)):
        summary = report.complete_summary(d)
        lines.append(job_line(summary, d) if summary else f"job {d.name}: incomplete (no summary.json)")
    done, planned = _sweep_progress(folder)
    lines.append(
        f"sweep: {done} of {planned} jobs complete in {folder.resolve()}; compare them: "
        f"python -m sim.analyze {folder.resolve()}"
    )
    return "\n".join(lines)


class SweepClosingLine(Callback):
    """Hydra callback (``hydra.callbacks`` of ``configs/config.yaml``): when a sweep ends, print
    ``sweep_closing`` (after every job, so nothing interleaves with it)."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sys.stdout.write("\n" + sweep_closing(Path(str(config.hydra.sweep.dir))) + "\n")
        sys.stdout.flush()


# --------------------------------------------------------------------------- the command
def _sweep_progress(folder: Path) -> tuple[int, int]:
    """(complete, planned) jobs of a sweep folder, for the Ctrl-C line."""
    from sim.pipeline import report
    from sim.pipeline.analyze import planned_jobs

    jobs = [d for d in folder.iterdir() if d.is_dir()] if folder.is_dir() else []
    done = sum(report.complete_summary(d) is not None for d in jobs)
    planned = planned_jobs(folder) if folder.is_dir() else None
    return done, len(planned) if planned is not None else len(jobs)


def _body(cfg: SimConfig, inv: Invocation) -> dict | None:
    return execute(cfg, inv.outdir, command=inv.command, hydra_info=inv.hydra, started=inv.started)


COMMAND = Command(
    module="sim",
    noun="run",
    schema=SimConfig,
    config_name="config",
    body=_body,
    kept="a run writes its results only when complete, so {folder} holds none",
    # every value of a sweep is checked: its posterior file reads (once per file and parameters)
    check=load_param_sets,
    check_key=lambda cfg: (cfg.posterior, json.dumps(asdict(cfg.params), sort_keys=True)),
    multirun=True,
    sweep_progress=_sweep_progress,
    guard=check_folder,
)


def precheck(argv: list[str]) -> str | None:
    """Check ``python -m sim argv`` before Hydra makes a folder: one error line, or None when every job
    of it can run (each value of every sweep builds a valid ``SimConfig`` whose posterior file reads)."""
    return COMMAND.precheck(argv)


def cli(argv: list[str] | None = None) -> None:
    """``python -m sim``: the app shell runs ``COMMAND``."""
    COMMAND.main(argv)


if __name__ == "__main__":
    cli()
