"""Whether this working tree's model computes what the model of an earlier commit computed: judged by the
record of its behaviour, not by the text of its code.

A file made by the model (a calibration's fit, the backtest, a study) records the commit that made it. The
model of that commit and this working tree's are the same model when their code (``MODEL_CODE``) is the same,
or when the code changed in ways that move no number: a speed-up, a refactor. The record of the model's
behaviour tells these apart: ``tests/baseline/`` holds the golden baseline and the behaviour runs
(``tests/update_baseline.py``), every number the model computes for fixed seeds and parameters, and
``tests/test_baseline.py`` fails at any commit whose code computes other numbers, so every change that moves
a number rewrites it.

``behaviour_changed_since(commit)`` compares the record of a commit that holds the earlier commit's code (the
commit itself, or a later one: a fit made before the record existed is vouched for by the first commit that
recorded the same code) with this working tree's. Both records are of the same posterior (``POSTERIOR``, the
record runs at its mean), so a refit does not read as a change of the code; whether a file was made with
today's posterior is checked apart, by its sha256. Git answers every question; without git, or for a commit
this clone does not hold, the answer is None (cannot tell).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from sim.paths import REPO_ROOT

#: The model's code (relative to the repository).
MODEL_CODE = "sim/model"
#: The posterior the record's runs use (its mean): two records compare the code only when this is the same.
POSTERIOR = "sim/data/posterior.csv"
#: The record of the model's behaviour (relative to the repository): the golden baseline and the behaviour
#: runs, rewritten by every change that moves a number.
BEHAVIOUR_RECORD = ("tests/baseline/summary.json", "tests/baseline/behaviour.json")
#: How many commits that rewrote the record are searched for one holding an earlier commit's code: the record
#: changes with the model's numbers, a few times a month.
SEARCH_DEPTH = 200


def git(*args: str, repo: Path | None = None) -> subprocess.CompletedProcess | None:
    """``git -C repo ARGS`` (text output; ``repo`` defaults to this repository), None when git cannot run."""
    root = REPO_ROOT if repo is None else repo
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None


def differs(commit: str, *paths: str, repo: Path | None = None, against: str | None = None) -> bool | None:
    """Whether ``paths`` differ between ``commit`` and ``against`` (default: the working tree); None when git
    cannot tell (no git, or a commit this clone does not hold)."""
    out = git("diff", "--quiet", commit, *([against] if against else []), "--", *paths, repo=repo)
    return None if out is None else {0: False, 1: True}.get(out.returncode)


def holds_record(commit: str, repo: Path | None = None) -> list[str]:
    """The files of ``BEHAVIOUR_RECORD`` that ``commit`` holds."""
    return [
        f
        for f in BEHAVIOUR_RECORD
        if (out := git("cat-file", "-e", f"{commit}:{f}", repo=repo)) is not None and out.returncode == 0
    ]


def record_moved(commit: str, repo: Path | None = None) -> list[str] | None:
    """The record's files that ``commit`` holds and that differ in the working tree; None when it holds none
    or git cannot tell."""
    held = holds_record(commit, repo)
    if not held:
        return None
    out = git("diff", "--name-only", commit, "--", *held, repo=repo)
    return None if out is None or out.returncode != 0 else out.stdout.split()


def vouching_commit(commit: str, repo: Path | None = None) -> str | None:
    """A commit whose record speaks for ``commit``'s model today: it holds the record, ``commit``'s model code
    and this working tree's posterior. ``commit`` itself when it qualifies, else the latest commit that
    rewrote the record and does; None when none does."""
    out = git("log", f"-{SEARCH_DEPTH}", "--format=%H", "HEAD", "--", *BEHAVIOUR_RECORD, repo=repo)
    later = out.stdout.split() if out is not None and out.returncode == 0 else []
    for candidate in [commit, *later]:
        if (
            holds_record(candidate, repo)
            and differs(commit, MODEL_CODE, repo=repo, against=candidate) is False
            and differs(candidate, POSTERIOR, repo=repo) is False
        ):
            return candidate
    return None


@dataclass(frozen=True)
class Comparison:
    """How the working tree's model compares with a commit's (``compare``)."""

    changed: bool | None  # computes other numbers (None: git cannot tell)
    vouch: str | None = None  # the commit whose record was compared with today's
    moved: tuple[str, ...] = ()  # the record's files that differ from today's


def compare(commit: str | None, repo: Path | None = None) -> Comparison:
    """The working tree's model against ``commit``'s (module docstring): not changed when the code is the
    same, or when a commit vouching for ``commit``'s code (``vouching_commit``) holds today's record; changed
    when the record moved, or when the code changed and no record speaks for the earlier code."""
    if not commit:
        return Comparison(None)
    code = differs(commit, MODEL_CODE, repo=repo)
    if not code:
        return Comparison(code)
    vouch = vouching_commit(commit, repo)
    if vouch is None:
        return Comparison(True)
    moved = record_moved(vouch, repo)
    return Comparison(None if moved is None else bool(moved), vouch, tuple(moved or ()))


def behaviour_changed_since(commit: str | None, repo: Path | None = None) -> bool | None:
    """Whether the working tree's model computes other numbers than ``commit``'s (``compare``); None when git
    cannot tell."""
    return compare(commit, repo).changed
