"""The app shell (sim/runtime/shell.py): the four commands share its checks before any folder, its bad-input
exit, its Ctrl-C line and exit code, and the command line their outputs record.

Each test runs every command through its real entry point (``python -m sim``: ``run.cli``; ``sim.study``:
``runner.main``; ``sim.calibrate`` and ``sim.backtest``: ``main``) in this process, in an empty folder.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from sim.calibration import calibrate
from sim.calibration.backtest import command as backtest
from sim.pipeline import run
from sim.pipeline.study import runner
from sim.runtime import shell
from sim.runtime.parallel import Interrupted

#: python -m MODULE -> (the module holding its COMMAND, its entry point, the arguments before the overrides)
COMMANDS = {
    "sim": (run, run.cli, []),
    "sim.study": (runner, runner.main, ["contrast"]),
    "sim.calibrate": (calibrate, calibrate.main, []),
    "sim.backtest": (backtest, backtest.main, []),
}


def _entry(module: str):
    return COMMANDS[module]


def _call(module: str, args: list[str], tmp_path, monkeypatch) -> int:
    _, entry, lead = _entry(module)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        entry([*lead, *args])
    return info.value.code


def test_every_command_is_a_shell_command():
    for module in COMMANDS:
        holder, _, _ = _entry(module)
        assert isinstance(holder.COMMAND, shell.Command) and holder.COMMAND.module == module


@pytest.mark.parametrize("module", list(COMMANDS))
@pytest.mark.parametrize(
    ("override", "words"),
    [
        ("nosuchkey=1", "config error: nosuchkey: unknown key; the top level accepts: "),
        ("seed=-1", "config error: seed = -1: must be a whole number >= 0"),
        ("jobs=0", "config error: jobs = 0: must be a whole number in [1, 4096]"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_folder(module, override, words, tmp_path, monkeypatch, capsys):
    code = _call(module, [override, f"hydra.run.dir={tmp_path / 'out'}"], tmp_path, monkeypatch)
    assert code == shell.BAD_INPUT_EXIT == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(words), lines
    assert not list(tmp_path.iterdir())  # no run folder, no outputs/ or multirun/ either


@pytest.mark.parametrize("module", ["sim.study", "sim.calibrate", "sim.backtest"])
def test_commands_that_run_one_job_refuse_a_sweep(module, tmp_path, monkeypatch, capsys):
    assert _call(module, ["-m", "seed=0,1"], tmp_path, monkeypatch) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        f"config error: python -m {module} runs one {_entry(module)[0].COMMAND.noun}: -m (multirun) is not "
        "supported"
    ]
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("module", list(COMMANDS))
@pytest.mark.parametrize("stop", ["in_a_map", "elsewhere"])
def test_ctrl_c_is_one_line_exit_130_with_the_command_that_resumes(
    module, stop, tmp_path, monkeypatch, capsys
):
    """Ctrl-C while the body runs (inside a parallel map, or not): one line saying what had finished and the
    command to run again into the same folder, exit 130; the body is the only thing replaced."""
    holder, _, lead = _entry(module)
    seen = {}

    def body(cfg, inv):
        seen.update(cfg=cfg, inv=inv)
        raise Interrupted(3, 10, "task") if stop == "in_a_map" else KeyboardInterrupt

    monkeypatch.setattr(holder, "COMMAND", dataclasses.replace(holder.COMMAND, body=body))
    out = tmp_path / "out"
    args = ["seed=3", "progress=false", f"hydra.run.dir={out}"]
    assert _call(module, args, tmp_path, monkeypatch) == shell.INTERRUPTED_EXIT == 130
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    # the body got the schema object and the invocation the outputs record
    assert type(seen["cfg"]) is holder.COMMAND.schema and seen["cfg"].seed == 3
    assert seen["inv"].outdir == out and seen["inv"].command == ["python", "-m", module, *lead, *args]
    assert seen["inv"].hydra["overrides"] == args[:2]
    done = (
        "3 of 10 tasks had finished" if stop == "in_a_map" else f"the {holder.COMMAND.noun} had not finished"
    )
    assert lines[0].startswith(f"interrupted: {done}"), lines[0]
    again = re.search(r"to (resume|start it again), run: (.*)$", lines[0])
    assert again, lines[0]
    assert again.group(2) == f"python -m {module} {' '.join([*lead, *args])}"


def test_ctrl_c_before_the_body_says_nothing_was_written(tmp_path, monkeypatch, capsys):
    """Interrupted while Hydra starts (no output folder yet): the shell says so."""

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(shell.Command, "run_task", stop)
    assert _call("sim.calibrate", [], tmp_path, monkeypatch) == 130
    assert (
        capsys.readouterr().err.strip() == "interrupted before the calibration started; nothing was written"
    )
