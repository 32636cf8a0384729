"""What a test run wrote into the source tree (``conftest.py`` fails the suite when it wrote anything).

The suite must write only under temporary folders (pytest's ``tmp_path``). Two views of the tree catch a
test that does not: the commands' output folders, which git ignores (``results/``, Hydra's ``outputs/``
and ``multirun/``), file by file with their modification times; and ``git status`` for everything else
(a new or changed file that git does not ignore: docs, data, the committed posterior, experiments/).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

#: Output folders inside the tree that git ignores (so ``git status`` does not show what lands there).
OUTPUT_DIRS = ("results", "outputs", "multirun")


def snapshot(root: Path) -> dict[str, object]:
    """The tree's state: every file under ``OUTPUT_DIRS`` with its mtime, and ``git status`` lines."""
    root = Path(root)
    files = {}
    for name in OUTPUT_DIRS:
        base = root / name
        if base.is_dir():
            for path in base.rglob("*"):
                if path.is_file():
                    files[str(path.relative_to(root))] = path.stat().st_mtime_ns
    return {"files": files, "git": _git_status(root)}


def _git_status(root: Path) -> set[str] | None:
    """``git status --porcelain`` lines (untracked files listed one by one); None outside a git checkout."""
    try:
        proc = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return set(proc.stdout.splitlines()) if proc.returncode == 0 else None


def written(before: dict, after: dict, allowed: tuple[str, ...] = ()) -> list[str]:
    """Files new or modified between two snapshots (paths relative to the root), except under ``allowed``."""
    out = [
        path
        for path, mtime in after["files"].items()
        if before["files"].get(path) != mtime and not path.startswith(allowed)
    ]
    if before["git"] is not None and after["git"] is not None:
        out += [line[3:] for line in sorted(after["git"] - before["git"]) if not line[3:].startswith(allowed)]
    return sorted(set(out))
