"""The app shell (sim/runtime/shell.py): the four commands share its checks before any folder, its bad-input
exit, its Ctrl-C line and exit code, and the command line their outputs record.

Each test runs every command through its real entry point (``python -m sim``: ``run.cli``; ``sim.study``:
``runner.main``; ``sim.calibrate`` and ``sim.backtest``: ``main``) in this process, in an empty folder.
"""

from __future__ import annotations

import dataclasses
import errno
import os
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


# --------------------------------------------------------------------------- a results folder that takes no files
@pytest.mark.parametrize("module", list(COMMANDS))
def test_a_results_folder_under_a_file_is_one_line_exit_2(module, tmp_path, monkeypatch, capsys):
    """``hydra.run.dir`` inside a file (a misspelled or misplaced results folder): refused before Hydra
    makes anything, in one line naming the key (Hydra's own error was a traceback and exit 1)."""
    blocker = tmp_path / "results"
    blocker.write_text("not a folder")
    out = blocker / "run"
    assert _call(module, ["seed=1", f"hydra.run.dir={out}"], tmp_path, monkeypatch) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        f"config error: hydra.run.dir = {out}: {blocker} is a file, not a folder; choose another folder with "
        "hydra.run.dir=FOLDER"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]


@pytest.mark.parametrize("module", list(COMMANDS))
@pytest.mark.parametrize("err", [errno.EROFS, errno.ENOSPC], ids=["read-only", "full"])
def test_a_read_only_or_full_results_folder_is_one_line_exit_2(module, err, tmp_path, monkeypatch, capsys):
    """The folder check writes a probe file where the results go: a read-only or full file system refuses it
    (simulated here: the tests run as root, whom permission bits do not stop). One line, exit 2, no folder."""
    import tempfile

    def refuse(*args, **kwargs):
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    out = tmp_path / "results" / "run"
    assert _call(module, ["seed=1", f"hydra.run.dir={out}"], tmp_path, monkeypatch) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0] == (
        f"config error: hydra.run.dir = {out}: cannot write in {tmp_path} ({os.strerror(err)}); make it "
        "writable or free space there, or choose another folder with hydra.run.dir=FOLDER"
    )
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only (0555) folder: simulated above")
def test_a_read_only_results_folder_really_is_refused(tmp_path, monkeypatch, capsys):
    ro = tmp_path / "results"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert _call("sim", [f"hydra.run.dir={ro / 'run'}"], tmp_path, monkeypatch) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and "Permission denied" in lines[0] and not list(ro.iterdir()), lines
    finally:
        ro.chmod(0o755)


def test_a_sweep_folder_is_checked_too(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "sweeps"
    blocker.write_text("")
    out = blocker / "s"
    assert _call("sim", ["-m", "seed=0,1", f"hydra.sweep.dir={out}"], tmp_path, monkeypatch) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"config error: hydra.sweep.dir = {out}: {blocker} is a file, not a folder; choose another folder with "
        "hydra.sweep.dir=FOLDER"
    ]


@pytest.mark.parametrize("module", list(COMMANDS))
@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EACCES, errno.EROFS])
def test_a_write_that_fails_while_the_command_runs_is_one_line_exit_2(
    module, err, tmp_path, monkeypatch, capsys
):
    """The disk fills (or the folder turns read-only) while the body writes: one line saying what failed,
    what the folder holds and the command to run again; exit 2. Other errors stay tracebacks (bugs)."""
    holder, _, lead = _entry(module)
    out = tmp_path / "out"

    def body(cfg, inv):
        raise OSError(err, os.strerror(err), str(inv.outdir / "timeseries.csv"))

    monkeypatch.setattr(holder, "COMMAND", dataclasses.replace(holder.COMMAND, body=body))
    args = ["seed=3", f"hydra.run.dir={out}"]
    assert _call(module, args, tmp_path, monkeypatch) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    noun = holder.COMMAND.noun
    assert lines[0].startswith(f"error: {os.strerror(err)}: {out / 'timeseries.csv'}; the {noun} stopped: ")
    assert holder.COMMAND.kept.format(folder=out) in lines[0]
    assert lines[0].endswith(f"run: python -m {module} {' '.join([*lead, *args])}")

    def bug(cfg, inv):
        raise OSError(errno.ENOENT, "No such file or directory", "a file the code should have made")

    monkeypatch.setattr(holder, "COMMAND", dataclasses.replace(holder.COMMAND, body=bug))
    assert _call(module, args, tmp_path, monkeypatch) == 1  # Hydra's report of an error in the code
    assert "a file the code should have made" in capsys.readouterr().err


def test_provenance_writes_no_path_of_this_machine():
    """Committed files carry provenance: paths inside the repository become relative, others keep their last
    part; URLs, ratios and percentages per year are left alone."""
    from sim.paths import REPO_ROOT
    from sim.runtime.provenance import portable, record

    assert portable(f"python -m sim hydra.run.dir=/tmp/cal3 x={REPO_ROOT}/results/a") == (
        "python -m sim hydra.run.dir=.../cal3 x=results/a"
    )
    assert portable(str(REPO_ROOT)) == "."
    kept = "https://a.b/c/d, 2017/18, 12%/yr and 4.8/yr"
    assert portable(kept) == kept
    rec = record(["python", "-m", "sim", "hydra.run.dir=/tmp/somewhere/run"])
    assert "/tmp" not in rec["command"] and not rec["cwd"].startswith("/")
