"""One parallel runner for ensembles, studies, the calibration, the backtest and the explorer.

``Executor.map(fn, tasks)`` runs ``fn(task)`` for every task and returns the results in task
order, whatever the backend and whatever order the tasks finish in, so a result never
depends on the number of processes or on their timing. It shows one progress bar (tqdm on
stderr), re-raises a failed task's error naming the task (``TaskFailed``: "replicate 7 (seed
…, parameter set 3) failed: …"), and on Ctrl-C stops its workers and raises ``Interrupted``
saying how many tasks had finished.

``Executor.submit(fn, task)`` runs one task in a worker and returns its ``Future``: for callers
that choose each next task as results arrive (the explorer's scheduler); ``close`` cancels
those not started. The model tasks are ``sim.model.evaluate.evaluate`` of a ``ModelRun``.

Backends:

- ``local``: ``jobs=1`` runs in this process; ``jobs>1`` uses loky's reusable process pool
  (the pool joblib uses). Unlike ``multiprocessing``'s spawn start it does not re-import the
  caller's ``__main__``, so a script without an ``if __name__ == "__main__":`` guard works, and
  its workers are kept between calls (a calibration's thousands of runs share them).
  Workers ignore SIGINT (Ctrl-C reaches the parent, which stops them) and exit when the
  parent is gone.
- ``ray``: tasks on a Ray cluster (``pip install '.[ray]'``). ``address="auto"`` joins the
  cluster this machine belongs to (``ray start --head`` / ``ray start --address=…``),
  ``"host:port"`` or ``"ray://host:port"`` a given one, ``"local"`` starts a private Ray
  instance with ``jobs`` CPUs for the duration of the run. Every node needs this package
  installed (same version: results are bit-identical to the local backend's).

Each task runs with Python's cyclic garbage collector paused and the process's long-lived
objects frozen, then one collection of the task's garbage (``run_task``): ~15 % less CPU a
replicate than letting collections walk the whole process during a model run.

Seeds: ``seed_of`` is the one rule turning a ``numpy.random.SeedSequence`` into a model seed
(its first 64-bit word, shifted right by one so it fits a signed 64-bit integer, for CSV
files and pandas); ``derive_seed(*keys)`` applies it to ``SeedSequence(keys)``.
"""

from __future__ import annotations

import gc
import logging
import os
import re
import signal
import sys
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, wait
from contextlib import contextmanager
from typing import Any, Callable, Sequence

import numpy as np

BACKENDS = ("local", "ray")
#: Ray addresses: join the running cluster, start a private one, or a given head.
RAY_ADDRESS = re.compile(r"^(auto|local|(ray://)?[A-Za-z0-9_.\-\[\]:]+:\d+)$")
_THREAD_LOCK = threading.RLock()  # the progress bars' lock (see progress_bar)
#: Seconds an idle local worker waits for more work before it exits (kept between calls).
WORKER_IDLE_TIMEOUT = 300


# --------------------------------------------------------------------------- seeds
def seed_of(ss: np.random.SeedSequence) -> int:
    """The model seed of a ``SeedSequence``: its first 64-bit word >> 1 (fits int64)."""
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


#: How replicate i of a study gets its seeds (``sim.pipeline.ensemble.plan_replicates``); manifests quote it.
SEED_RULE = (
    "replicate i: SeedSequence([root_seed, i]).spawn(3) -> (parameter-set pick, model seed, effects seed); "
    "a seed is the child's first 64-bit word >> 1"
)


def derive_seed(*keys: int) -> int:
    """``seed_of(SeedSequence([*keys]))``: the seed of the run identified by ``keys``."""
    return seed_of(np.random.SeedSequence([int(k) for k in keys]))


# --------------------------------------------------------------------------- errors
class TaskFailed(RuntimeError):
    """A task raised; the message names the task, ``__cause__`` is the original error."""

    def __init__(self, label: str, error: BaseException):
        super().__init__(f"{label} failed: {type(error).__name__}: {error}")
        self.label = label
        self.error = error


class Interrupted(KeyboardInterrupt):
    """Ctrl-C while tasks ran: the workers were stopped; ``done`` of ``total`` had finished."""

    def __init__(self, done: int, total: int, unit: str):
        super().__init__(f"interrupted after {done} of {total} {unit}s")
        self.done, self.total, self.unit = done, total, unit


def check_backend(executor: str, address: str, key: str = "") -> None:
    """Raise ``ConfigError`` naming the key when the backend or the Ray address is not usable."""
    from sim.model.params import ConfigError

    prefix = f"{key}." if key else ""
    if executor not in BACKENDS:
        raise ConfigError(f"{prefix}executor = {executor!r}: must be one of {', '.join(BACKENDS)}")
    if executor == "ray":
        if not RAY_ADDRESS.match(str(address)):
            raise ConfigError(
                f"{prefix}address = {address!r}: must be auto (join the running Ray cluster), local "
                "(start a private one), host:port or ray://host:port"
            )
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ConfigError(
                f"{prefix}executor = 'ray': Ray is not installed; pip install 'qinchuangyuan-sim[ray]' "
                "(or pip install ray)"
            ) from None


# --------------------------------------------------------------------------- progress
def progress_bar(total: int, desc: str, unit: str, enabled: bool = True):
    """The project's progress bar: tqdm on stderr, calm when stderr is not a terminal.

    Its lock is a thread lock: tqdm's default also makes a multiprocessing semaphore, which a job
    process killed on Ctrl-C leaves behind ("leaked semaphore objects" at exit).
    """
    from tqdm import tqdm

    tqdm.set_lock(_THREAD_LOCK)
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=not enabled,
        mininterval=0.5 if sys.stderr.isatty() else 5.0,
        dynamic_ncols=True,
    )


def quiet_model_logs() -> None:
    """Mesa logs every model step at INFO ("calling model.step": ~100 lines a replicate, which a
    Hydra app writes to its log file); keep its warnings only. Called by the apps' task functions."""
    logging.getLogger("MESA").setLevel(logging.WARNING)


# --------------------------------------------------------------------------- garbage collection
# A model run allocates ~10^5 objects; every generation-2 collection during it also walks every
# long-lived object of the process (modules, configs, the posterior: ~5 x 10^5 in the app), which
# cost ~15 % of a replicate's CPU time. So long-lived objects are frozen (``gc.freeze``: left out
# of collections), and each task runs with the collector paused, followed by one collection of its
# own garbage (memory stays flat).
_frozen_in_worker = False


def run_task(fn: Callable[[Any], Any], task: Any) -> Any:
    """``fn(task)`` with the cyclic garbage collector paused, then one collection of its garbage."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return fn(task)
    finally:
        if was_enabled:
            gc.enable()
        gc.collect()


def _worker_task(fn: Callable[[Any], Any], task: Any) -> Any:
    """``run_task`` in a worker process (loky or Ray), which freezes its long-lived objects once."""
    global _frozen_in_worker
    if not _frozen_in_worker:
        gc.collect()
        gc.freeze()
        _frozen_in_worker = True
    return run_task(fn, task)


#: The name of loky's thread that feeds its workers (``loky.process_executor._ExecutorManagerThread``).
LOKY_MANAGER_THREAD = "ExecutorManagerThread"


@contextmanager
def _quiet_manager_race():
    """While a loky pool is killed on purpose, drop a ``KeyError`` from its manager thread: a kill-workers
    shutdown can drop a queued task's work item while that thread is handing it to the call queue
    (``add_call_item_to_queue``: ``pending_work_items[work_id]``), and the thread's traceback would follow
    the one line Ctrl-C prints. Any other thread's exception, and any other exception, still reaches the
    previous hook."""
    previous = threading.excepthook

    def hook(args) -> None:
        if getattr(args.thread, "name", None) == LOKY_MANAGER_THREAD and issubclass(args.exc_type, KeyError):
            return
        previous(args)

    threading.excepthook = hook
    try:
        yield
    finally:
        threading.excepthook = previous


def _kill(pool) -> None:
    """Shut ``pool`` down now, its workers killed (Ctrl-C, or a map that failed), quietly (``_quiet_manager_race``)."""
    with _quiet_manager_race():
        pool.shutdown(wait=True, kill_workers=True)


@contextmanager
def _frozen_here():
    """This process's long-lived objects frozen while it runs tasks itself (unfrozen after)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _init_worker(parent: int) -> None:
    """Local worker initialiser: Ctrl-C is the parent's to handle (it stops the workers), and the worker
    exits within a second of its parent's end (loky's idle workers would otherwise outlive a killed
    parent by ``WORKER_IDLE_TIMEOUT``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


# --------------------------------------------------------------------------- the runner
class Executor:
    """Runs tasks on one backend (``map``: a batch, in task order; ``submit``: one task, as a future); use
    as a context manager to keep its workers for several calls.

    ``jobs``: worker processes of the local backend (1: this process), or the CPUs of a
    private Ray instance (``address="local"``); a Ray cluster schedules on all its CPUs.
    """

    def __init__(self, backend: str = "local", jobs: int = 1, address: str = "auto", progress: bool = True):
        check_backend(backend, address)
        self.backend = backend
        self.jobs = max(1, int(jobs))
        self.address = address
        self.progress = progress
        self._ray_started = False
        self._ray_task = None
        self._submitted: dict[Future, Any] = {}  # ``submit``'s tasks not finished yet -> their Ray ref
        self._waiting: deque[tuple[Future, Callable[[Any], Any], Any]] = deque()  # local, not yet in the pool
        self._in_pool = 0  # local ``submit`` tasks handed to the pool and not finished
        self._pool = None  # the local pool ``submit`` last took
        self._lock = threading.Lock()

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Cancel the tasks ``submit`` sent that have not started (locally the running ones finish; on Ray
        every one is cancelled), then disconnect from (or stop the private) Ray instance this executor
        started. Local workers stay (loky keeps them for the next call and ends them when idle, at exit,
        or when this process is gone)."""
        with self._lock:
            submitted = dict(self._submitted)
        for fut, ref in submitted.items():
            fut.cancel()
            if ref is not None:  # a Ray future's cancel does not reach its task
                import ray

                ray.cancel(ref)
        wait(submitted)
        if self._ray_started:
            import ray

            ray.shutdown()
            self._ray_started = False

    def describe(self) -> dict[str, Any]:
        """What the manifest records about how the tasks ran."""
        d: dict[str, Any] = {"backend": self.backend, "jobs": self.jobs}
        if self.backend == "ray":
            d["address"] = self.address
        return d

    # ------------------------------------------------------------------ map
    def map(
        self,
        fn: Callable[[Any], Any],
        tasks: Sequence[Any],
        *,
        desc: str = "tasks",
        unit: str = "task",
        label: Callable[[int], str] | None = None,
    ) -> list[Any]:
        """``[fn(t) for t in tasks]``, in parallel on this executor's backend, in task order.

        ``label(k)`` names task ``k`` in an error ("replicate 7 (seed …, parameter set 3)").
        """
        tasks = list(tasks)
        label = label or (lambda k: f"{unit} {k}")
        results: list[Any] = [None] * len(tasks)
        if not tasks:
            return results
        with progress_bar(len(tasks), desc, unit, self.progress) as bar:
            if self.backend == "ray":
                self._map_ray(fn, tasks, results, bar, label, unit)
            elif self.jobs == 1 or len(tasks) == 1:
                self._map_here(fn, tasks, results, bar, label, unit)
            else:
                self._map_loky(fn, tasks, results, bar, label, unit)
        return results

    # ------------------------------------------------------------------ submit
    def submit(self, fn: Callable[[Any], Any], task: Any) -> Future:
        """``fn(task)`` in a worker process; returns its ``concurrent.futures.Future``.

        For callers that choose each next task as results arrive (the explorer's scheduler keeps
        ``jobs`` tasks in flight, newest setting first). Unlike ``map`` it always runs in a worker,
        also with ``jobs=1``, so the caller's threads stay free; it shows no progress bar, and the
        future's exception is the task's own. ``close`` cancels the tasks that have not started.
        """
        if self.backend == "ray":
            ray = self._connect_ray()
            ref = self._remote(ray).remote(fn, task)
            return self._track(ref.future(), ref)
        # Locally the task waits here until one of the ``jobs`` workers is free: loky marks every task
        # in its call queue (up to 2 x its workers + 1, sized when the pool was made) as running, so
        # a task handed to it early could no longer be cancelled though no worker had started it.
        pool = self._local_pool()  # here, in the caller's thread: a broken pool is replaced by a new one
        fut = self._track(Future(), None)  # known to ``close`` before any thread can hand it to the pool
        with self._lock:
            self._pool = pool
            self._waiting.append((fut, fn, task))
        self._dispatch()
        return fut

    def _track(self, fut: Future, ref: Any) -> Future:
        """Keep ``fut`` (and its Ray ref) for ``close`` until it is done."""
        with self._lock:
            self._submitted[fut] = ref
        fut.add_done_callback(self._forget)
        return fut

    def _dispatch(self) -> None:
        """Hand waiting ``submit`` tasks to the pool while fewer than ``jobs`` are in its hands. Also runs in
        the pool's own thread when a task finishes, so it uses the pool ``submit`` took (asking loky for
        its pool there could make it shut a broken one down from its own thread)."""
        while True:
            with self._lock:
                if self._in_pool >= self.jobs or not self._waiting:
                    return
                fut, fn, task = self._waiting.popleft()
                pool = self._pool
                self._in_pool += 1
            if not fut.set_running_or_notify_cancel():  # cancelled while it waited
                with self._lock:
                    self._in_pool -= 1
                continue
            try:
                inner = pool.submit(_worker_task, fn, task)
            except BaseException as exc:  # a broken pool: the task's future says so
                with self._lock:
                    self._in_pool -= 1
                fut.set_exception(exc)
                continue
            inner.add_done_callback(lambda done, fut=fut: self._settle(fut, done))

    def _settle(self, fut: Future, inner: Future) -> None:
        """Pass the pool's outcome to the caller's future and hand the next waiting task over."""
        with self._lock:
            self._in_pool -= 1
        if inner.cancelled():
            fut.set_exception(CancelledError("the worker pool cancelled the task"))
        elif inner.exception() is not None:
            fut.set_exception(inner.exception())
        else:
            fut.set_result(inner.result())
        self._dispatch()

    def _forget(self, fut: Future) -> None:
        with self._lock:
            self._submitted.pop(fut, None)

    def _local_pool(self):
        """loky's reusable pool of ``jobs`` workers (a broken or resized pool is replaced by a new one)."""
        from joblib.externals.loky import get_reusable_executor

        return get_reusable_executor(
            max_workers=self.jobs,
            timeout=WORKER_IDLE_TIMEOUT,
            initializer=_init_worker,
            initargs=(os.getpid(),),
        )

    def _remote(self, ray):
        """``_worker_task`` as a Ray remote function (made once per executor)."""
        if self._ray_task is None:
            self._ray_task = ray.remote(num_cpus=1, max_retries=0)(_worker_task)
        return self._ray_task

    # ------------------------------------------------------------------ map backends
    @staticmethod
    def _map_here(fn, tasks, results, bar, label, unit) -> None:
        k = 0
        try:
            with _frozen_here():
                for k, task in enumerate(tasks):
                    try:
                        results[k] = run_task(fn, task)
                    except Exception as exc:
                        raise TaskFailed(label(k), exc) from exc
                    bar.update()
        except KeyboardInterrupt:
            raise Interrupted(k, len(tasks), unit) from None

    def _map_loky(self, fn, tasks, results, bar, label, unit) -> None:
        """Keep ``jobs + 1`` tasks in flight (one queued behind the running ones): every submitted task
        is then in loky's call queue, which its kill-workers shutdown (Ctrl-C) handles cleanly."""
        pool = self._local_pool()
        queue = iter(enumerate(tasks))
        running: dict = {}

        def submit_next() -> None:
            for k, task in queue:
                running[pool.submit(_worker_task, fn, task)] = k
                return

        done_count = 0
        try:
            for _ in range(self.jobs + 1):
                submit_next()
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    k = running.pop(fut)
                    exc = fut.exception()
                    if exc is not None:
                        raise TaskFailed(label(k), exc) from exc
                    results[k] = fut.result()
                    done_count += 1
                    bar.update()
                    submit_next()
        except KeyboardInterrupt:
            _kill(pool)
            raise Interrupted(done_count, len(tasks), unit) from None
        except BaseException:
            _kill(pool)  # stop the other tasks: the map has failed
            raise

    def _connect_ray(self):
        import ray

        if not ray.is_initialized():
            opts: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "configure_logging": False,
            }
            if self.address == "local":
                ray.init(address="local", num_cpus=self.jobs, **opts)
            else:
                try:
                    ray.init(address=self.address, **opts)
                except ConnectionError as exc:
                    raise ConnectionError(
                        f"executor=ray address={self.address}: no Ray cluster there ({exc}); start one with "
                        "`ray start --head`, or use address=local for a private one on this machine"
                    ) from None
            self._ray_started = True
        return ray

    def _map_ray(self, fn, tasks, results, bar, label, unit) -> None:
        ray = self._connect_ray()
        remote = self._remote(ray)
        refs = [remote.remote(fn, task) for task in tasks]
        index = {ref: k for k, ref in enumerate(refs)}
        pending = list(refs)
        done_count = 0
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    k = index[ref]
                    try:
                        results[k] = ray.get(ref)
                    except ray.exceptions.RayTaskError as exc:
                        cause = getattr(exc, "cause", None) or exc
                        self._drop_ray(ray, pending)
                        raise TaskFailed(label(k), cause) from exc
                    done_count += 1
                    bar.update()
        except KeyboardInterrupt:
            self._drop_ray(ray, pending)
            raise Interrupted(done_count, len(tasks), unit) from None

    @staticmethod
    def _drop_ray(ray, refs) -> None:
        """Cancel the tasks still to run; take the errors of those already failed (else Ray prints each)."""
        for ref in refs:
            ray.cancel(ref, force=True)
        for ref in refs:
            try:
                ray.get(ref, timeout=0)
            except Exception:  # noqa: BLE001 - cancelled, failed or still stopping: nothing to report
                pass
