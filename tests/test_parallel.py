"""The one parallel runner: seeds, task order, named errors, scripts without a main guard, Ray."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibration import abc
from sim.model.policy import scenario
from sim.pipeline import ensemble
from sim.runtime import parallel

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- seeds
def _first_word_halved(ss: np.random.SeedSequence) -> int:
    """The rule the committed posterior and results were made with (written out, not imported)."""
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def test_one_seed_rule_for_ensembles_and_calibration():
    """Model seeds are the numbers the committed posterior and results were made with."""
    for seed in (0, 1, 2**40):
        for i in (0, 1, 17, 999):
            pick, model = np.random.SeedSequence([seed, i]).spawn(2)
            rep = ensemble.plan_replicates(seed, [i], n_param_sets=50)[0]
            assert rep.seed == _first_word_halved(model)
            assert rep.param_set == int(np.random.default_rng(pick).integers(50))
            for round_index in (-1, 0, 3):
                expected = _first_word_halved(np.random.SeedSequence([seed, round_index + 1, i]))
                assert abc.model_seed(seed, round_index, i) == expected


def test_effects_seed_is_a_third_child():
    """spawn(3)'s first two children are spawn(2)'s: adding effects_seed moved no other number."""
    plan = ensemble.plan_replicates(5, range(50), n_param_sets=7, weights=np.arange(1, 8))
    for rep in plan:
        children = np.random.SeedSequence([5, rep.index]).spawn(3)
        assert rep.effects_seed == _first_word_halved(children[2])
        assert rep.seed == _first_word_halved(np.random.SeedSequence([5, rep.index]).spawn(2)[1])
        assert 0 <= rep.effects_seed < 2**63
    assert len({r.effects_seed for r in plan}) == 50
    assert not {r.effects_seed for r in plan} & {r.seed for r in plan}


# --------------------------------------------------------------------------- the runner
def _slow_square(x: int) -> int:
    """Later tasks finish first (so task order must be restored)."""
    time.sleep(0.05 * (5 - x % 5))
    return x * x


@pytest.mark.parametrize("jobs", [1, 2])
def test_results_come_back_in_task_order(jobs):
    with parallel.Executor("local", jobs=jobs, progress=False) as ex:
        assert ex.map(_slow_square, range(10)) == [x * x for x in range(10)]
        assert ex.map(_slow_square, []) == []


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failed_task_is_named(jobs):
    with parallel.Executor("local", jobs=jobs, progress=False) as ex:
        with pytest.raises(parallel.TaskFailed) as info:
            ex.map(math.sqrt, [4.0, 9.0, -1.0, 16.0], label=lambda k: f"number {k}")
    assert str(info.value) == "number 2 failed: ValueError: math domain error"
    assert isinstance(info.value.error, ValueError)
    # the pool is usable again after a failure
    with parallel.Executor("local", jobs=jobs, progress=False) as ex:
        assert ex.map(math.sqrt, [4.0, 9.0]) == [2.0, 3.0]


def test_unknown_backend_is_refused():
    from sim.model.params import ConfigError

    with pytest.raises(ConfigError, match="executor = 'dask': must be one of local, ray"):
        parallel.Executor("dask")
    with pytest.raises(ConfigError, match="address = 'my cluster'"):
        parallel.check_backend("ray", "my cluster")


def test_script_without_a_main_guard_runs_an_ensemble_in_processes(tmp_path):
    """The trap: spawn re-imports the caller's __main__, so such a script failed (BrokenProcessPool)."""
    script = tmp_path / "study.py"
    script.write_text(
        textwrap.dedent(
            """
            from sim.model.policy import scenario
            from sim.pipeline.ensemble import plan_replicates, run_ensemble

            print("script body runs", flush=True)
            res = run_ensemble(scenario("plan"), plan_replicates(0, range(3)), scale=0.02, end_year=2020,
                               jobs=2, progress=False)
            print("replicates", res["replicate"].nunique())
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["script body runs", "replicates 3"]  # the body ran once


# --------------------------------------------------------------------------- submit (the explorer's door)
def _pid(_: object) -> int:
    return os.getpid()


def _wait_for(path: str) -> str:
    """A task that holds its worker until ``path`` exists (at most two minutes)."""
    deadline = time.monotonic() + 120
    while not Path(path).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return path


def test_submit_runs_in_a_worker_and_close_cancels_what_has_not_started(tmp_path):
    """``submit`` always uses a worker process (the caller's threads stay free), its future carries the
    task's own error, and ``close`` cancels the tasks still waiting and lets the running ones finish.

    The tasks wait for a gate file that a timer creates 5 s after ``close`` starts, so the one worker is
    busy with the first task while ``close`` cancels the others however slow the machine is (a fixed
    sleep let the worker reach the last task under the full suite's load). Every task but the first is
    cancelled: none was handed to loky's call queue, which marks what it holds as running (a pool an
    earlier test made with two workers holds five), so none could slip past ``close``."""
    import threading

    gate = tmp_path / "gate"
    ex = parallel.Executor("local", jobs=1, progress=False)
    try:
        assert ex.submit(_pid, None).result(timeout=120) != os.getpid()
        with pytest.raises(ValueError, match="math domain error"):
            ex.submit(math.sqrt, -1.0).result(timeout=60)
        futures = [ex.submit(_wait_for, str(gate)) for _ in range(6)]
        deadline = time.monotonic() + 60
        while not (futures[0].running() or futures[0].done()) and time.monotonic() < deadline:
            time.sleep(0.01)  # the first one is handed to the worker
    finally:
        opener = threading.Timer(5.0, gate.touch)
        opener.start()
        ex.close()
        opener.join()
    assert all(f.done() for f in futures)
    assert futures[0].result() == str(gate)  # the running task finished, it was not cancelled
    assert [f.cancelled() for f in futures] == [False] + [True] * 5


def _die(_: object) -> None:
    os._exit(3)


def test_a_worker_that_dies_fails_its_task_and_those_waiting_and_the_next_submit_gets_a_new_pool():
    """A task that kills its worker breaks loky's pool: its future and those still waiting for a worker carry
    the error (none hangs), and the next ``submit`` runs on a new pool."""
    ex = parallel.Executor("local", jobs=1, progress=False)
    try:
        futures = [ex.submit(_die, None)] + [ex.submit(math.sqrt, 4.0) for _ in range(3)]
        for f in futures:
            with pytest.raises(Exception, match="terminated"):
                f.result(timeout=120)
        assert ex.submit(math.sqrt, 9.0).result(timeout=120) == 3.0
    finally:
        ex.close()


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_end_with_a_killed_parent(tmp_path):
    """A killed app or calibration leaves no idle workers behind (loky's would wait WORKER_IDLE_TIMEOUT)."""
    script = tmp_path / "killed.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, signal
            from sim.runtime.parallel import Executor

            ex = Executor("local", jobs=1, progress=False)
            print(ex.submit(lambda _: os.getpid(), None).result(timeout=120), flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    worker = int(proc.stdout.split()[0])
    try:
        deadline = time.monotonic() + 10  # the worker looks for its parent once a second
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(worker), "the worker outlived its killed parent"
    finally:
        if _alive(worker):
            os.kill(worker, 9)


# --------------------------------------------------------------------------- Ray
#: Ray binds its head to the machine's network address even when asked for 127.0.0.1, unless its
#: "cluster" mode is off (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0, read when ray is imported; the constant
#: is set too, since ray may be imported already): the tests' Ray stays on loopback.
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


@pytest.fixture(scope="module")
def ray_head():
    """A Ray head on loopback, no dashboard, two CPUs; stopped after the module's tests."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install '.[ray]')")
    from ray._private import ray_constants

    saved = {k: os.environ.get(k) for k in LOOPBACK_ENV}, ray_constants.ENABLE_RAY_CLUSTER
    os.environ.update(LOOPBACK_ENV)  # for the head's processes and workers
    ray_constants.ENABLE_RAY_CLUSTER = False
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
        configure_logging=False,
    )
    try:
        address = ray.get_runtime_context().gcs_address
        assert address.startswith("127.0.0.1:"), address
        yield address
    finally:
        ray.shutdown()
        ray_constants.ENABLE_RAY_CLUSTER = saved[1]
        for k, v in saved[0].items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


RAY_STUDY = dict(scale=0.02, end_year=2021)


def test_ray_ensemble_is_bit_identical_to_the_local_one(ray_head):
    plan = ensemble.plan_replicates(0, range(4))
    local = ensemble.run_ensemble(scenario("plan"), plan, jobs=2, progress=False, **RAY_STUDY)
    with parallel.Executor("ray", progress=False) as ex:
        on_ray = ensemble.run_ensemble(scenario("plan"), plan, executor=ex, **RAY_STUDY)
        assert ex.describe() == {"backend": "ray", "jobs": 1, "address": "auto"}
    pd.testing.assert_frame_equal(local, on_ray)
    assert local["param_set"].nunique() > 1  # the default posterior, drawn by weight


def test_a_failed_ray_task_is_named(ray_head):
    broken = "not a parameter set"  # the model fails on it
    plan = ensemble.plan_replicates(0, range(2), n_param_sets=1)
    with parallel.Executor("ray", progress=False) as ex:
        with pytest.raises(
            parallel.TaskFailed,
            match=r"^replicate [01] \(seed \d+, parameter set 0\) failed: AttributeError",
        ):
            ensemble.run_ensemble(scenario("plan"), plan, param_sets=[broken], executor=ex, **RAY_STUDY)


def test_submit_on_ray(ray_head):
    """The explorer's door works on Ray too: a Ray task's future, with the task's own error."""
    with parallel.Executor("ray", progress=False) as ex:
        assert ex.submit(math.sqrt, 4.0).result(timeout=120) == 2.0
        with pytest.raises(ValueError, match="math domain error"):
            ex.submit(math.sqrt, -1.0).result(timeout=120)


def test_the_app_runs_on_ray_with_executor_ray(ray_head, tmp_path):
    """``python -m sim executor=ray address=HOST:PORT`` joins the cluster; same bytes as a local run."""
    small = ["replicates=3", "scale=0.02", "end_year=2021", "progress=false", "plots=false"]
    env = {**os.environ, **LOOPBACK_ENV, "PYTHONPATH": str(ROOT)}
    outs = {}
    for name, extra in (("local", ["jobs=2"]), ("ray", ["executor=ray", f"address={ray_head}"])):
        proc = subprocess.run(
            [sys.executable, "-m", "sim", *small, *extra, f"hydra.run.dir={tmp_path / name}"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        outs[name] = (tmp_path / name / "timeseries.csv").read_bytes()
    assert outs["ray"] == outs["local"]
    import json

    manifest = json.loads((tmp_path / "ray" / "manifest.json").read_text())
    assert manifest["executor"] == {"backend": "ray", "jobs": 2, "address": ray_head}


def test_killing_a_pool_drops_only_the_manager_threads_key_error(monkeypatch):
    """Ctrl-C kills the loky pool; its manager thread can then look up a work item the kill dropped and die
    with a KeyError, whose traceback would follow the one line Ctrl-C prints (seen once in a fresh-clone
    run of test_ctrl_c_on_a_run_prints_one_line_and_exits_130). While the pool is killed, that thread's
    KeyError is dropped; another thread's, or another exception of that thread, reaches the previous hook;
    and the previous hook is back afterwards."""
    import threading

    from sim.runtime import parallel

    seen = []
    monkeypatch.setattr(
        threading, "excepthook", lambda args: seen.append((args.thread.name, repr(args.exc_value)))
    )

    def die(name: str, exc: BaseException) -> None:
        def boom():
            raise exc

        t = threading.Thread(target=boom, name=name)
        t.start()
        t.join()

    before = threading.excepthook
    with parallel._quiet_manager_race():
        die(parallel.LOKY_MANAGER_THREAD, KeyError(17))
        assert seen == []
        die(parallel.LOKY_MANAGER_THREAD, ValueError("other"))
        die("worker-feeder", KeyError(18))
    assert seen == [(parallel.LOKY_MANAGER_THREAD, "ValueError('other')"), ("worker-feeder", "KeyError(18)")]
    assert threading.excepthook is before
    die(parallel.LOKY_MANAGER_THREAD, KeyError(19))  # outside the kill: reported as before
    assert seen[-1] == (parallel.LOKY_MANAGER_THREAD, "KeyError(19)")
