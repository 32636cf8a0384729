"""One app shell for the four commands: ``python -m sim``, ``python -m sim.study NAME``,
``python -m sim.calibrate`` and ``python -m sim.backtest``.

A command declares a ``Command``: its schema (the dataclass Hydra composes its config against and
the object its body runs on: ``OmegaConf.to_object``; it validates itself in ``__post_init__``),
its config, its body, and what its folder holds when Ctrl-C stops it. The shell does the rest, the
same way for every command:

- **bad input before any folder**: the command line is composed and built into the schema once per
  value of every sweep, then the command's input check runs (``sim.runtime.config.check_command_line``);
  a bad key or value prints one line ``config error: KEY ...`` naming what is allowed, exits 2
  (``BAD_INPUT_EXIT``) and leaves nothing behind. ``-m`` is refused by commands that run one job;
- **the body**: Hydra makes the output folder and the body gets the schema object and an
  ``Invocation`` (folder, command line, start time, Hydra's record); a ``ConfigError`` it raises
  (an input found bad late) is one line and exit 2 too;
- **Ctrl-C**: one line ``interrupted: ...`` saying what had finished, what the folder holds and the
  command that resumes (or starts it again), and exit 130 (``INTERRUPTED_EXIT``);
- **provenance**: the command line the outputs record is the one the shell hands over
  (``python -m MODULE ARGS``); ``sim.runtime.provenance.record`` is what every output says of how it
  was made (code version, packages, machine).

Nothing here imports a wing (``sim.pipeline``, ``sim.calibration``): the commands import the shell.
"""

from __future__ import annotations

import contextlib
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Hashable, Iterator, Sequence

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from sim.runtime.config import BAD_INPUT_EXIT, CONFIG_DIR, build, check_command_line, config_errors_exit
from sim.runtime.parallel import Interrupted, quiet_model_logs

__all__ = ["BAD_INPUT_EXIT", "INTERRUPTED_EXIT", "Command", "Invocation", "RecordOutputDir", "command_line"]

INTERRUPTED_EXIT = 130  # 128 + SIGINT, what a shell reports for Ctrl-C

#: Ctrl-C kills the worker processes (loky's pool, the joblib launcher's jobs); the process-resource
#: tracker they share then removes their semaphores and warns "leaked semlock objects": expected, not
#: shown. (``sys.warnoptions`` is passed to that tracker when it starts.)
TRACKER_WARNINGS = "ignore::UserWarning:joblib.externals.loky.backend.resource_tracker"

#: Where the running command writes: ``dir`` and ``mode`` (run | multirun), for the Ctrl-C line. Set by
#: the shell's task (one run) and by ``RecordOutputDir`` (a sweep, whose jobs may run in other processes).
_WHERE: dict[str, Any] = {}


class RecordOutputDir(Callback):
    """Hydra callback (``hydra.callbacks`` of a config whose command runs sweeps): remembers the sweep
    folder, for the line printed on Ctrl-C."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _WHERE.update(mode="multirun", dir=Path(str(config.hydra.sweep.dir)))


def command_line(module: str, argv: Sequence[str] = ()) -> list[str]:
    """The command line outputs record: ``python -m MODULE ARGS`` (how a user types it again)."""
    return ["python", "-m", module, *argv]


@dataclass(frozen=True)
class Invocation:
    """What the shell hands a command's body besides its config."""

    outdir: Path  # Hydra's output folder of this run (or job of a sweep)
    command: list[str]  # the command line to record (``command_line``)
    started: float  # when the job started (time.time())
    hydra: dict[str, Any] = field(default_factory=dict)  # overrides, mode, job number, launcher, folder


@dataclass(frozen=True)
class Command:
    """One command of the app: what it declares; the shell's ``main`` runs it."""

    module: str  # python -m MODULE
    noun: str  # what one invocation makes: "run", "study", "calibration", "backtest"
    schema: type  # dataclass: the config's structured schema and the object ``body`` runs on
    body: Callable[[Any, Invocation], Any]  # runs the command on the schema object
    #: Ctrl-C: what the folder (``{folder}``) holds, in words; the shell says what had finished before it
    kept: str
    resumes: bool = False  # rerunning into the same folder continues where it stopped
    config_name: str = ""  # the config composed (``<config_dir>/<config_name>.yaml``); "": MODULE's last part
    config_dir: str = CONFIG_DIR
    check: Callable[[Any], None] | None = None  # checks of inputs (files, libraries) on the schema object
    #: what ``check`` depends on: a sweep checks each distinct value once (None: every job is checked)
    check_key: Callable[[Any], Hashable] | None = None
    multirun: bool = False  # accepts -m (a sweep of jobs)
    #: a sweep's (complete, planned) jobs, for the Ctrl-C line of a command that accepts -m
    sweep_progress: Callable[[Path], tuple[int, int]] | None = None

    def __post_init__(self) -> None:
        from hydra.core.config_store import ConfigStore

        if not self.config_name:
            object.__setattr__(self, "config_name", self.module.rpartition(".")[2])
        ConfigStore.instance().store(name=self.schema_name, node=self.schema)

    @property
    def schema_name(self) -> str:
        """The schema's name in Hydra's ConfigStore, first in the config's defaults list: ``sim_schema``,
        ``study_schema``, ``calibrate_schema``, ``backtest_schema``."""
        return f"{self.module.rpartition('.')[2]}_schema"

    # ------------------------------------------------------------------ before Hydra
    def precheck(self, argv: Sequence[str], config_name: str | None = None) -> str | None:
        """One error line for a bad command line (before any folder or job exists), or None."""
        argv = list(argv)
        if not self.multirun and ("-m" in argv or "--multirun" in argv):
            return (
                f"config error: python -m {self.module} runs one {self.noun}: -m (multirun) is not supported"
            )
        check = self.check
        if check is not None and self.check_key is not None:
            check = _once_per_key(check, self.check_key)
        return check_command_line(
            argv,
            config_name=config_name or self.config_name,
            schema=self.schema,
            check=check,
            config_dir=self.config_dir,
        )

    # ------------------------------------------------------------------ Ctrl-C
    def interrupted_line(self, exc: BaseException, argv: Sequence[str], lead: Sequence[str] = ()) -> str:
        """One line for Ctrl-C: what had finished, what the folder holds, and the command that resumes."""
        folder = _WHERE.get("dir")
        if folder is None:
            return f"interrupted before the {self.noun} started; nothing was written"
        if _WHERE.get("mode") == "multirun" and self.sweep_progress is not None:
            done, total = self.sweep_progress(folder)
            again = self._again(argv, lead, "hydra.sweep.dir", folder)
            return (
                f"interrupted: {done} of {total} jobs complete in {folder}; to finish the others (complete ones "
                f"are skipped), run: {again}"
            )
        if isinstance(exc, Interrupted):
            done = f"{exc.done} of {exc.total} {exc.unit}s had finished"
        else:
            done = f"the {self.noun} had not finished"
        how = "to resume" if self.resumes else "to start it again"
        again = self._again(argv, lead, "hydra.run.dir", folder)
        return f"interrupted: {done}; {self.kept.format(folder=folder)}; {how}, run: {again}"

    def _again(self, argv: Sequence[str], lead: Sequence[str], key: str, folder: Path) -> str:
        kept = [a for a in argv if not a.startswith(f"{key}=")]
        return shlex.join(command_line(self.module, [*lead, *kept, f"{key}={folder}"]))

    # ------------------------------------------------------------------ the command
    def main(
        self, argv: Sequence[str] | None = None, *, config_name: str | None = None, lead: Sequence[str] = ()
    ) -> None:
        """``python -m MODULE [LEAD] argv``: check, run the body in Hydra's folder, one line on Ctrl-C.

        ``config_name``: the config to compose instead of ``self.config_name`` (a study's name);
        ``lead``: arguments before ``argv`` in the command line (the study's name), for the record.
        """
        import hydra

        argv = list(sys.argv[1:] if argv is None else argv)
        config_name = config_name or self.config_name
        command = command_line(self.module, [*lead, *argv])
        _WHERE.clear()
        if TRACKER_WARNINGS not in sys.warnoptions:
            sys.warnoptions.append(TRACKER_WARNINGS)

        @hydra.main(version_base="1.3", config_path=self.config_dir, config_name=config_name)
        def task(cfg: DictConfig) -> Any:
            return self.run_task(cfg, command)

        try:
            error = self.precheck(argv, config_name)
            if error is not None:
                print(error, file=sys.stderr)
                raise SystemExit(BAD_INPUT_EXIT)
            with _argv(argv):
                task()
        except KeyboardInterrupt as exc:
            line = self.interrupted_line(exc, argv, lead)
            tty = _WHERE.get("mode") == "multirun" and sys.stderr.isatty()  # after the jobs' progress bars
            print(f"\n{line}" if tty else line, file=sys.stderr)
            raise SystemExit(INTERRUPTED_EXIT) from None

    def run_task(self, cfg: DictConfig, command: list[str]) -> Any:
        """Hydra's task: build the schema object, hand it to the body with the invocation's record."""
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        started = time.time()
        quiet_model_logs()
        with config_errors_exit():
            obj = build(cfg, self.schema)
        hc = HydraConfig.get()
        outdir = Path(hc.runtime.output_dir)
        if hc.mode == RunMode.RUN:
            _WHERE.update(mode="run", dir=outdir)
        record = {
            "overrides": list(hc.overrides.task),
            "hydra_overrides": list(hc.overrides.hydra),
            "mode": str(hc.mode),
            "job_num": hc.job.get("num"),
            "launcher": hc.runtime.choices.get("hydra/launcher"),
            "output_dir": str(outdir),
        }
        with config_errors_exit():
            return self.body(obj, Invocation(outdir, command, started, record))


def _once_per_key(check: Callable[[Any], None], key: Callable[[Any], Hashable]) -> Callable[[Any], None]:
    """``check`` that runs once per distinct ``key(obj)`` (one command line's sweep values share inputs)."""
    checked: set[Hashable] = set()

    def once(obj: Any) -> None:
        k = key(obj)
        if k not in checked:
            check(obj)
            checked.add(k)

    return once


@contextlib.contextmanager
def _argv(argv: list[str]) -> Iterator[None]:
    """``sys.argv`` as Hydra reads it (the program, then ``argv``), restored afterwards."""
    saved = sys.argv
    sys.argv = [saved[0] if saved else "python", *argv]
    try:
        yield
    finally:
        sys.argv = saved
