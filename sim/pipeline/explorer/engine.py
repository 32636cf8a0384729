"""The explorer's background ensemble: replicates stream in while the page stays live.

One ``Engine`` per server process holds a scheduler thread and submits replicates to the
project's parallel runner (``sim.runtime.parallel.Executor.submit``: its worker processes).
A page that shows a setting (levers + effects) *follows* it: ``follow`` registers the
setting and yields a new ``Snapshot`` each time more replicates have arrived. The scheduler
keeps every worker busy with the replicates still missing, newest setting first: for each
replicate index ``i`` the plan's replicate ``i`` and the setting's replicate ``i`` (the same
seed and parameter set, so the difference from the plan is paired). At most one task per
worker is in flight, so a moved control waits at most for the replicates already running.

Replicate ``i`` of every setting is replicate ``i`` of ``python -m sim`` at the same seed,
scale and posterior: after ``n`` replicates the page shows what
``python -m sim replicates=n`` would write. Results are kept per setting (least recently
used settings dropped beyond ``MAX_SETTINGS``), so returning to a setting is immediate.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections import OrderedDict
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import Any, Iterator

from sim.model.params import RunConfig
from sim.model.policy import PolicyLevers
from sim.pipeline.explorer import adapter, stats
from sim.runtime.parallel import Executor

DEFAULT_SCALE = 0.1  # one agent per 10 real firms: ~0.1 s a replicate (see docs/explorer.md)
DEFAULT_REPLICATES = 200
DEFAULT_SEED = 0
MIN_ANSWER = 2  # paired replicates before numbers are shown (the first batch; a t interval needs 2)
MAX_SETTINGS = 64  # settings whose replicates are kept


@dataclass(frozen=True)
class Setting:
    """What a page asks for: every lever's setting (one value or a path) and how effect sizes are set."""

    levers: tuple[tuple[str, Any], ...]  # (name, setting), a path as a tuple (``adapter.hashable``)
    effects: str = adapter.EFFECTS[0]

    @classmethod
    def of(cls, values: dict[str, Any], effects: str = adapter.EFFECTS[0]) -> "Setting":
        """Validated setting (``ConfigError`` names the field)."""
        if effects not in adapter.EFFECTS:
            raise adapter.ConfigError(f"effects = {effects!r}: must be one of {', '.join(adapter.EFFECTS)}")
        levers = adapter.make_levers(values)
        return cls(tuple((k, adapter.hashable(v)) for k, v in dataclasses.asdict(levers).items()), effects)

    @classmethod
    def scenario(cls, name: str, effects: str = adapter.EFFECTS[0]) -> "Setting":
        return cls.of(adapter.scenario_values(name), effects)

    def to_levers(self) -> PolicyLevers:
        return adapter.make_levers(self.values())

    def values(self) -> dict[str, Any]:
        return {k: adapter.unhashable(v) for k, v in self.levers}


@dataclass
class Snapshot:
    """The state of one setting's ensemble at a moment."""

    setting: Setting
    n: int  # paired replicates 0..n-1 done (setting and plan)
    target_n: int
    summary: stats.Summary | None  # None below MIN_ANSWER replicates
    error: str | None
    since_s: float  # seconds since the page asked for this setting
    first_answer_s: float | None  # when the first numbers were shown (seconds after asking)
    complete_s: float | None  # when all target_n replicates were in

    @property
    def complete(self) -> bool:
        return self.n >= self.target_n


class Engine:
    """Replicates of many settings, computed in worker processes, newest setting first."""

    def __init__(
        self,
        *,
        scale: float = DEFAULT_SCALE,
        replicates: int = DEFAULT_REPLICATES,
        seed: int = DEFAULT_SEED,
        jobs: int | None = None,
        posterior: str = "default",
        end_year: int = 2026,
    ):
        RunConfig(end_year=end_year, scale=scale).validate()
        if replicates < MIN_ANSWER:
            raise adapter.ConfigError(f"replicates = {replicates}: must be at least {MIN_ANSWER}")
        self.scale, self.replicates, self.seed, self.end_year = (
            float(scale),
            int(replicates),
            int(seed),
            end_year,
        )
        self.jobs = max(1, int(jobs or os.cpu_count() or 1))
        self.sets = adapter.param_sets(posterior)
        self.plan = adapter.replicate_plan(self.seed, self.replicates, self.sets)
        self._results: OrderedDict[Setting, dict[int, adapter.Replicated]] = OrderedDict()
        self._errors: dict[Setting, str] = {}
        self._inflight: set[tuple[Setting, int]] = set()
        self._wanted: dict[int, tuple[Setting, float]] = {}  # follower token -> (setting, asked at)
        self._tokens = 0
        self._cond = threading.Condition()
        self._closed = False
        self._version = 0  # counts finished replicates: followers wait for it to change
        self._executor = Executor("local", jobs=self.jobs, progress=False)
        self._thread = threading.Thread(target=self._schedule, name="explorer-scheduler", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ settings
    def baseline(self, effects: str = adapter.EFFECTS[0]) -> Setting:
        return Setting.scenario(adapter.BASELINE, effects)

    def describe(self) -> dict[str, Any]:
        """What the page says about how its numbers are made."""
        return {
            "scale": self.scale,
            "replicates": self.replicates,
            "seed": self.seed,
            "jobs": self.jobs,
            "posterior": adapter.posterior_note(self.sets),
        }

    # ------------------------------------------------------------------ followers
    def want(self, setting: Setting) -> int:
        """Start computing ``setting`` (and the plan) in the background; returns a token for ``unwant``."""
        with self._cond:
            self._tokens += 1
            self._wanted[self._tokens] = (setting, time.monotonic())
            self._cond.notify_all()
            return self._tokens

    def unwant(self, token: int) -> None:
        with self._cond:
            self._wanted.pop(token, None)

    def snapshot(self, setting: Setting, *, asked_at: float | None = None) -> Snapshot:
        """What is known now about ``setting`` (summary computed outside the lock)."""
        base = self.baseline(setting.effects)
        with self._cond:
            mine = dict(self._results.get(setting, {}))
            plan = mine if setting == base else dict(self._results.get(base, {}))
            error = self._errors.get(setting) or self._errors.get(base)
        n = 0
        while n < self.replicates and n in mine and n in plan:
            n += 1
        summary = None
        if n >= MIN_ANSWER:
            summary = stats.summarise([mine[i] for i in range(n)], [plan[i] for i in range(n)], self.end_year)
        since = 0.0 if asked_at is None else time.monotonic() - asked_at
        return Snapshot(setting, n, self.replicates, summary, error, since, None, None)

    def follow(
        self, setting: Setting, cancel: threading.Event, min_interval: float = 0.4
    ) -> Iterator[Snapshot]:
        """Snapshots of ``setting`` from ``MIN_ANSWER`` replicates on, at most one per ``min_interval`` s.

        Ends when every replicate is in, on an error, or when ``cancel`` is set (the page moved on).
        """
        token = self.want(setting)
        asked = self._wanted[token][1]
        first = complete = None
        last_n = -1
        try:
            while not cancel.is_set():
                with self._cond:
                    version = self._version
                snap = self.snapshot(setting, asked_at=asked)
                if first is None and snap.summary is not None:
                    first = snap.since_s
                if complete is None and snap.complete:
                    complete = snap.since_s
                snap.first_answer_s, snap.complete_s = first, complete
                if (snap.summary is not None and snap.n != last_n) or snap.error:  # numbers, or why not
                    last_n = snap.n
                    yield snap
                if snap.complete or snap.error or self._closed:
                    return
                shown = time.monotonic()
                while not cancel.is_set():  # short waits: a moved control ends this follower at once
                    with self._cond:
                        if self._cond.wait_for(
                            lambda v=version: self._version != v or self._closed, timeout=0.1
                        ):
                            break
                cancel.wait(max(0.0, min_interval - (time.monotonic() - shown)))
        finally:
            self.unwant(token)

    def wait(self, setting: Setting, n: int, timeout: float = 600) -> Snapshot:
        """Block until ``n`` replicates of ``setting`` are in (for scripts and benchmarks)."""
        token = self.want(setting)
        deadline = time.monotonic() + timeout
        try:
            with self._cond:
                while True:
                    mine = self._results.get(setting, {})
                    plan = self._results.get(self.baseline(setting.effects), {})
                    if all(i in mine and i in plan for i in range(n)) or setting in self._errors:
                        break
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError(f"{n} replicates not ready after {timeout} s")
                    self._cond.wait(timeout=left)
        finally:
            self.unwant(token)
        return self.snapshot(setting)

    # ------------------------------------------------------------------ scheduler
    def _next_task(self) -> tuple[Setting, int] | None:
        """The first missing replicate of the most recently asked setting (plan's first at each index)."""
        for setting, _ in sorted(self._wanted.values(), key=lambda sa: -sa[1]):
            base = self.baseline(setting.effects)
            order = (base,) if setting == base else (base, setting)
            if any(s in self._errors for s in order):
                continue
            for i in range(self.replicates):
                for s in order:
                    if i not in self._results.get(s, {}) and (s, i) not in self._inflight:
                        return s, i
        return None

    def _schedule(self) -> None:
        while True:
            with self._cond:
                task = None
                while not self._closed:
                    if len(self._inflight) < self.jobs:  # none queued: a new setting waits for <= jobs
                        task = self._next_task()
                        if task is not None:
                            break
                    self._cond.wait()
                if self._closed:
                    return
                self._inflight.add(task)
            setting, i = task
            try:
                run = adapter.model_run(
                    setting.to_levers(), self.sets, self.plan[i], self.scale, setting.effects, self.end_year
                )
                fut = self._executor.submit(adapter.evaluate, run)
            except Exception as exc:  # noqa: BLE001 - the run could not be made or taken: shown on the page
                self._finish(task, None, exc)
                continue
            fut.add_done_callback(lambda f, task=task: self._collect(task, f))

    def _collect(self, task: tuple[Setting, int], fut) -> None:
        try:
            self._finish(task, adapter.Replicated.of(self.plan[task[1]], fut.result()), None)
        except CancelledError:
            self._finish(task, None, None)
        except Exception as exc:  # noqa: BLE001 - shown on the page, never raised into the pool thread
            self._finish(task, None, exc)

    def _finish(
        self, task: tuple[Setting, int], done: adapter.Replicated | None, exc: BaseException | None
    ) -> None:
        setting, i = task
        with self._cond:
            self._inflight.discard(task)
            if done is not None:
                self._results.setdefault(setting, {})[i] = done
                self._results.move_to_end(setting)
                self._evict()
            elif exc is not None and not self._closed:
                rep = self.plan[i]
                self._errors[setting] = f"{rep.label()} failed: {exc!r}"
            self._version += 1
            self._cond.notify_all()

    def _evict(self) -> None:
        keep = {s for s, _ in self._wanted.values()}
        keep |= {self.baseline(s.effects) for s in keep}
        while len(self._results) > MAX_SETTINGS:
            victim = next((s for s in self._results if s not in keep), None)
            if victim is None:
                return
            del self._results[victim]

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Stop scheduling; replicates not started are cancelled, running ones finish."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._executor.close()
        self._thread.join(timeout=5)


_ENGINE: Engine | None = None
_ENGINE_LOCK = threading.Lock()


def configure(**options: Any) -> Engine:
    """Create the server's engine (``sim.app`` calls this before serving); replaces an earlier one."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is not None:
            _ENGINE.close()
        _ENGINE = Engine(**options)
        return _ENGINE


def get_engine() -> Engine:
    """The server's engine (created with the defaults if ``configure`` was not called)."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = Engine()
        return _ENGINE
