"""The app as a researcher runs it: ``python -m sim ...`` in a subprocess.

Small runs (5 % scale, a few replicates) keep each to seconds.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.model.outcomes import HEADLINE
from sim.model.params import FIRST_YEAR

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["replicates=3", "scale=0.05", "jobs=1", "progress=false"]


def sim(*args: str, cwd: Path, module: str = "sim", timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """One small default-scenario run shared by the output tests."""
    base = tmp_path_factory.mktemp("app")
    out = base / "run"
    proc = sim(*SMALL, f"hydra.run.dir={out}", cwd=base)
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_run_writes_every_output(run_dir):
    out, proc = run_dir
    for name in [
        "summary.json",
        "timeseries.csv",
        "targets.md",
        "manifest.json",
        ".hydra/config.yaml",
        *[f"fan_{t}.png" for t in HEADLINE],
    ]:
        assert (out / name).is_file(), name
    assert not list(out.glob(".*.tmp")), "temporary files left behind"
    # the run prints the table and the folder
    assert "| T01" in proc.stdout and "| T05" in proc.stdout
    assert str(out.resolve()) in proc.stdout


def test_summary_json(run_dir):
    s = json.loads((run_dir[0] / "summary.json").read_text())
    assert (s["scenario"], s["replicates"], s["seed"]) == ("plan", 3, 0)
    for tid in HEADLINE:
        ind = s["indicators"][tid]
        assert list(ind["by_year"]) == [str(y) for y in range(FIRST_YEAR, 2027)]
        assert set(ind["by_year"]["2026"]) == {"mean", "p05", "p50", "p95"}
        assert 0 <= ind["p_reach"] <= 1 and len(ind["p_reach_ci95"]) == 2
    assert s["indicators"]["T01"]["unit"] == "亿元" and s["indicators"]["T05"]["unit"] == "percent"


def test_timeseries_csv(run_dir):
    ts = pd.read_csv(run_dir[0] / "timeseries.csv")
    assert list(ts.columns) == ["replicate", "seed", "param_set", "year", "indicator", "value"]
    assert sorted(ts["replicate"].unique()) == [0, 1, 2]
    assert set(HEADLINE) <= set(ts["indicator"])
    assert ts["year"].max() == 2026


def test_targets_md(run_dir):
    text = (run_dir[0] / "targets.md").read_text()
    rows = [ln for ln in text.splitlines() if ln.startswith("| T")]
    assert len(rows) == len(HEADLINE)
    assert "P(reach)" in text and "90 % interval" in text and "95 % CI" in text


def test_every_answer_says_how_far_to_trust_it(run_dir):
    """targets.md (and the printed table) and summary.json carry the credibility of each target: the
    Monte Carlo note, the fit and the backtest line (sim.pipeline.credibility)."""
    out, proc = run_dir
    summary = json.loads((out / "summary.json").read_text())
    cred = summary["credibility"]
    assert set(cred["targets"]) == set(HEADLINE) and "Monte Carlo error only" in cred["note"]
    text = (out / "targets.md").read_text()
    assert "## How far to trust these numbers" in text and cred["note"] in text
    for tid in HEADLINE:
        t = cred["targets"][tid]
        assert f"fit {t['fit']['line']}" in text and f"Backtest: {t['backtest']['line']}" in text
        row = next(ln for ln in text.splitlines() if ln.startswith(f"| {tid} "))
        assert ("(caveat)" in row) == (t["caveat"] is not None)
    assert "How far to trust these numbers" in proc.stdout


def test_a_run_is_named_after_its_changed_levers(tmp_path):
    """Without hydra.run.dir the folder is <time>_<scenario>+<lever>=<value>... (levers in their declared
    order), filesystem-safe."""
    proc = sim(*SMALL, "plots=false", "policy.voucher_budget=4", "policy.fund_size=750", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (folder,) = list((tmp_path / "results" / "runs").glob("*/*"))
    assert folder.name.endswith("_plan+fund_size=750+voucher_budget=4"), folder.name  # lever order
    assert str(folder.resolve()) in proc.stdout
    (tmp_path / "other").mkdir()
    plain = sim(*SMALL, "plots=false", "replicates=2", cwd=tmp_path / "other")
    assert plain.returncode == 0, plain.stderr
    assert [p.name.rpartition("_")[2] for p in (tmp_path / "other" / "results" / "runs").glob("*/*")] == [
        "plan"
    ]


def test_run_names_are_short_and_safe():
    from sim.model.policy import scenario
    from sim.pipeline.run import RUN_NAME_MAX, run_name

    plan = scenario("plan").__dict__
    assert run_name("plan", plan) == "plan"
    assert run_name("plan", {**plan, "voucher_budget": 4.0}) == "plan+voucher_budget=4"
    assert run_name("frozen_2023", {**scenario("frozen_2023").__dict__, "fund_size": 0.5}) == (
        "frozen_2023+fund_size=0.5"
    )
    many = {**plan, **{k: v + 1 for k, v in plan.items() if isinstance(v, (int, float))}}
    name = run_name("plan", many)
    assert len(name) <= RUN_NAME_MAX and re.fullmatch(r"[A-Za-z0-9._=+-]+", name)
    assert re.search(r"\+\d+more$", name), name
    assert run_name("my scenario/x", {}) == "my_scenario_x"  # a custom scenario name: no path separator


def test_manifest(run_dir):
    m = json.loads((run_dir[0] / "manifest.json").read_text())
    for key in ["seeds", "git", "packages", "python", "data", "command", "wall_time_s", "hydra", "config"]:
        assert key in m, key
    assert m["seeds"]["root_seed"] == 0 and len(m["seeds"]["replicates"]) == 3
    assert set(m["git"]) >= {"commit", "dirty"}
    assert m["packages"]["mesa"] == "3.3.1"
    assert m["data"]["sha256"] and m["command"].startswith("python -m sim")
    assert m["wall_time_s"] > 0


def test_same_seed_same_results_other_seed_differs(run_dir, tmp_path):
    out, _ = run_dir
    same = sim(*SMALL, "jobs=2", f"hydra.run.dir={tmp_path / 'same'}", cwd=tmp_path)
    other = sim(*SMALL, "seed=1", f"hydra.run.dir={tmp_path / 'other'}", cwd=tmp_path)
    assert same.returncode == 0 and other.returncode == 0, same.stderr + other.stderr
    ref = (out / "timeseries.csv").read_bytes()
    assert (tmp_path / "same" / "timeseries.csv").read_bytes() == ref  # jobs does not change results
    assert (tmp_path / "other" / "timeseries.csv").read_bytes() != ref


def test_rerun_skips_a_complete_run(run_dir):
    out, _ = run_dir
    before = (out / "summary.json").stat().st_mtime_ns
    proc = sim(*SMALL, f"hydra.run.dir={out}", cwd=out.parent)
    assert proc.returncode == 0, proc.stderr
    assert "skipping" in proc.stdout
    assert (out / "summary.json").stat().st_mtime_ns == before


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (["policy.voucher_budget=-2"], "policy.voucher_budget"),
        (["policy.poc_centres=-1"], "policy.poc_centres"),
        (["policy.rd_subsidy_rate=1.2"], "policy.rd_subsidy_rate"),
        (["policy.voucher_budgett=2"], "policy.voucher_budgett"),
        (["policy.fund_size=lots"], "policy.fund_size"),
        (["end_year=2016"], "end_year"),
        (["end_year=2036"], "end_year"),
        (["-m", "policy.voucher_budget=1,-1"], "policy.voucher_budget"),
    ],
)
def test_bad_input_fails_in_one_line(tmp_path, args, key):
    out = tmp_path / "out"
    sweep = tmp_path / "sweep"
    flags = [a for a in args if a.startswith("-")]  # options before overrides (argparse)
    overrides = [a for a in args if not a.startswith("-")]
    proc = sim(*flags, *SMALL, *overrides, f"hydra.run.dir={out}", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert key in lines[0]
    assert "allowed" in lines[0] or "accepts" in lines[0] or "must be" in lines[0]
    assert not out.exists() and not sweep.exists()
    assert not list(tmp_path.rglob("summary.json"))


def test_a_finished_run_is_replaced_only_with_overwrite(tmp_path):
    """Rerunning a finished folder with other settings once replaced its result after one line. Now it is
    refused before Hydra touches the folder (one line naming overwrite and what differs, exit 2, every
    file as it was); with overwrite=true it is replaced, and the old summary is gone while the new run
    runs. The same settings are still skipped (resume)."""
    out = tmp_path / "r"
    first = sim(*SMALL, f"hydra.run.dir={out}", cwd=tmp_path)
    assert first.returncode == 0
    files = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    refused = sim(*SMALL, "seed=5", "policy.voucher_budget=3", f"hydra.run.dir={out}", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"config error: overwrite = false: {out} holds a finished run made with other settings "
        "(policy.voucher_budget: 2.0 -> 3.0; seed: 0 -> 5); to replace it, rerun with overwrite=true, or "
        "choose another folder (hydra.run.dir=FOLDER; hydra.sweep.dir for -m)"
    ]
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == files  # .hydra/ included
    same = sim(*SMALL, f"hydra.run.dir={out}", cwd=tmp_path)
    assert same.returncode == 0 and "skipping" in same.stdout
    second = sim(*SMALL, "seed=5", "overwrite=true", f"hydra.run.dir={out}", cwd=tmp_path)
    assert second.returncode == 0 and "skipping" not in second.stdout, second.stderr
    assert f"replacing the results in {out}" in second.stderr
    assert json.loads((out / "summary.json").read_text())["seed"] == 5


def test_a_sweep_job_is_not_replaced_without_overwrite(tmp_path):
    """A sweep cannot map its folder's jobs before Hydra numbers them: each job refuses on its own."""
    from sim.model.params import ConfigError
    from sim.pipeline.run import SimConfig, execute

    small = dict(replicates=2, scale=0.02, jobs=1, progress=False, plots=False)
    execute(SimConfig(**small), tmp_path, command=["test"])
    with pytest.raises(ConfigError, match=r"^overwrite = false: .* \(replicates: 2 -> 3\)"):
        execute(SimConfig(**{**small, "replicates": 3}), tmp_path, command=["test"])
    assert json.loads((tmp_path / "summary.json").read_text())["replicates"] == 2
    execute(SimConfig(**{**small, "replicates": 3, "overwrite": True}), tmp_path, command=["test"])
    assert json.loads((tmp_path / "summary.json").read_text())["replicates"] == 3


@pytest.mark.slow
def test_joblib_multirun_resume_and_merge(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "policy.voucher_budget=0,4", *SMALL, f"hydra.sweep.dir={sweep}"]
    proc = sim(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Joblib" in proc.stdout + proc.stderr  # the default multirun launcher
    for job in ("0", "1"):
        assert (sweep / job / "summary.json").is_file()
    # one line per job (no table to interleave), and one closing line naming the folder and the analyzer
    assert "| target |" not in proc.stdout
    assert sum(ln.startswith("job ") and "P(reach) T01" in ln for ln in proc.stdout.splitlines()) == 4
    assert proc.stdout.rstrip().splitlines()[-1] == (
        f"sweep: 2 of 2 jobs complete in {sweep.resolve()}; compare them: python -m sim.analyze {sweep.resolve()}"
    )
    budgets = {json.loads((sweep / j / "summary.json").read_text())["policy"]["voucher_budget"] for j in "01"}
    assert budgets == {0.0, 4.0}
    # an interrupted job: rerunning the same command finishes it and skips the complete one
    (sweep / "1" / "summary.json").unlink()
    kept = (sweep / "0" / "summary.json").stat().st_mtime_ns
    proc = sim(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("skipping") == 1
    assert (sweep / "1" / "summary.json").is_file()
    assert (sweep / "0" / "summary.json").stat().st_mtime_ns == kept
    merged = sim(str(sweep), module="sim.analyze", cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    assert (sweep / "analysis" / "lever_response_policy.voucher_budget.png").is_file()
    reach = pd.read_csv(sweep / "analysis" / "reach.csv")
    assert sorted(reach["policy.voucher_budget"].unique()) == [0.0, 4.0]


@pytest.mark.slow
def test_submitit_local_sweep(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    sweep = tmp_path / "sweep"
    proc = sim(
        "-m",
        "hydra/launcher=local",
        "replicate_block=0,1",
        *SMALL,
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (sweep / ".submitit").is_dir()
    ranges = sorted(json.loads((sweep / j / "summary.json").read_text())["replicate_range"][0] for j in "01")
    assert ranges == [0, 3]  # two blocks of one ensemble
    merged = sim(str(sweep), module="sim.analyze", cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    reach = pd.read_csv(sweep / "analysis" / "reach.csv")
    assert set(reach[reach["indicator"] == "T01"]["n"]) == {6}  # the blocks merge into one ensemble


def test_mesa_step_logging_is_off(run_dir):
    """Mesa logs every step at INFO ("calling model.step"): ~100 lines a replicate in sim.log."""
    log = run_dir[0] / "sim.log"
    assert log.is_file()
    assert "model.step" not in log.read_text() and log.stat().st_size < 2000


# --------------------------------------------------------------------------- pre-launch checks
def _broken_posterior(folder: Path, how: str) -> Path:
    """The committed posterior copied to ``folder``, then truncated or edited (its json then mismatches)."""
    from sim.paths import POSTERIOR_CSV

    folder.mkdir(parents=True, exist_ok=True)
    csv = folder / "posterior.csv"
    text = POSTERIOR_CSV.read_text()
    csv.write_text(text[: len(text) // 2] if how == "truncated" else text.replace("0.", "0.9", 1))
    (folder / "posterior.json").write_bytes(POSTERIOR_CSV.with_suffix(".json").read_bytes())
    return csv


@pytest.mark.parametrize("how", ["truncated", "edited"])
@pytest.mark.parametrize("multirun", [False, True])
def test_a_bad_posterior_fails_before_any_folder(tmp_path, how, multirun):
    csv = _broken_posterior(tmp_path / "post", how)
    out, sweep = tmp_path / "out", tmp_path / "sweep"
    args = (["-m", "seed=0,1"] if multirun else []) + [*SMALL, f"posterior={csv}"]
    proc = sim(*args, f"hydra.run.dir={out}", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"config error: posterior={csv}: "), proc.stderr
    assert "does not match its provenance" in lines[0]
    assert not out.exists() and not sweep.exists()


def test_the_default_posterior_is_checked_too(tmp_path, monkeypatch):
    """A damaged sim/data/posterior.csv (posterior=default) is refused by the pre-launch check."""
    from sim.data import posterior
    from sim.pipeline.run import precheck

    monkeypatch.setattr(posterior, "POSTERIOR_CSV", _broken_posterior(tmp_path, "truncated"))
    msg = precheck(["-m", "seed=0,1,2"])
    assert msg is not None and msg.startswith("config error: posterior=default: ") and "\n" not in msg


def _bad_values() -> dict[str, str]:
    """One invalid override per schema field (levers and parameters: above their allowed range)."""
    from dataclasses import fields

    from sim.model.params import BehaviourParams
    from sim.model.policy import PolicyLevers
    from sim.pipeline.run import SimConfig

    bad = {
        "scenario": "scenario=",
        "replicates": "replicates=0",
        "seed": "seed=-1",
        "end_year": "end_year=2016",
        "scale": "scale=0",
        "jobs": "jobs=0",
        "executor": "executor=spark",
        "address": "address=not/an/address",
        "replicate_block": "replicate_block=-1",
        "posterior": "posterior=no_such_posterior.csv",
        "effects": "effects=wild",
        "resume": "resume=maybe",
        "overwrite": "overwrite=maybe",
        "progress": "progress=maybe",
        "plots": "plots=maybe",
    }
    for group, cls in (("policy", PolicyLevers), ("params", BehaviourParams)):
        for f in fields(cls):
            lo, hi = f.metadata["range"]
            value = hi + abs(hi) + 1
            bad[f"{group}.{f.name}"] = (
                f"{group}.{f.name}={int(value) if f.metadata.get('kind', f.type) in ('int', int) else float(value)}"
            )
    top = {f.name for f in fields(SimConfig)} - {"policy", "params"}
    assert top <= set(bad), f"no bad value for {top - set(bad)}"
    return bad


@pytest.mark.parametrize(("key", "override"), sorted(_bad_values().items()))
def test_every_field_refuses_bad_input_in_one_line(tmp_path, monkeypatch, capsys, key, override):
    """``python -m sim <bad value>``: one line naming the field, exit 2, no folder (in-process: ``cli``)."""
    from sim.pipeline import run

    out, sweep = tmp_path / "out", tmp_path / "sweep"
    argv = [*SMALL, "plots=false", override, f"hydra.run.dir={out}", f"hydra.sweep.dir={sweep}"]
    if key == "address":
        argv.insert(0, "executor=ray")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["sim", *argv])
    with pytest.raises(SystemExit) as info:
        run.cli(argv)
    assert info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("config error: ") and key in lines[0], lines
    assert not out.exists() and not sweep.exists() and not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- Ctrl-C
def _interrupt(args: list[str], cwd: Path, ready: Path, grace: float) -> subprocess.CompletedProcess:
    """Start ``python -m sim args``, wait for ``ready`` to exist plus ``grace`` seconds, then Ctrl-C
    (SIGINT to the process group, as a terminal sends it)."""
    import signal
    import time

    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # a shell without job control starts background jobs with SIGINT ignored, and an ignored signal
        # is inherited: give the command the terminal's default, as a user's shell does
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(grace)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_ctrl_c_on_a_run_prints_one_line_and_exits_130(tmp_path):
    out = tmp_path / "run"
    args = ["replicates=300", "scale=0.05", "jobs=2", "progress=false", "plots=false", f"hydra.run.dir={out}"]
    proc = _interrupt(args, tmp_path, out / ".hydra", grace=3.0)
    assert proc.returncode == 130, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr  # no traceback, no leaked-semaphore warning
    assert re.match(r"interrupted: \d+ of 300 replicates had finished; ", lines[0]), lines[0]
    assert f"hydra.run.dir={out}" in lines[0]
    assert not (out / "summary.json").exists()


@pytest.mark.slow
def test_ctrl_c_on_a_sweep_says_what_finished_and_the_command_resumes_it(tmp_path):
    """Job 0 (3 replicates) finishes, job 1 (20) is interrupted; the printed command finishes job 1 only."""
    sweep = tmp_path / "sweep"
    args = ["-m", "replicates=3,20", "scale=0.05", "jobs=2", "progress=false", "plots=false"]
    args.append(f"hydra.sweep.dir={sweep}")
    proc = _interrupt(args, tmp_path, sweep / "0" / "summary.json", grace=0.3)
    assert proc.returncode == 130, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr  # no traceback, no leaked-semaphore warning from the job processes
    match = re.match(rf"interrupted: 1 of 2 jobs complete in {sweep}; .* run: python -m sim (.*)$", lines[0])
    assert match, lines[0]
    assert not (sweep / "1" / "summary.json").exists()
    resumed = sim(*shlex.split(match.group(1)), cwd=tmp_path, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.count("skipping") == 1
    assert json.loads((sweep / "1" / "summary.json").read_text())["replicates"] == 20
