"""The suite's own check that tests write nothing into the source tree (``conftest.py``, ``tree_writes``)."""

from __future__ import annotations

import os
import subprocess

from tree_writes import snapshot, written


def test_files_written_into_output_folders_or_seen_by_git_are_reported(tmp_path):
    """A fake checkout: git ignores results/ (as the project's .gitignore does). A new file under results/,
    a rewritten one, and a new or changed file git sees are reported; what was there before is not."""
    root = tmp_path / "repo"
    (root / "results" / "old").mkdir(parents=True)
    (root / ".gitignore").write_text("results/*\n")
    (root / "docs.md").write_text("a\n")
    (root / "results" / "old" / "kept.json").write_text("{}")
    (root / "results" / "rewritten.json").write_text("{}")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    before = snapshot(root)
    assert written(before, snapshot(root)) == []
    (root / "results" / "explorer").mkdir()
    (root / "results" / "explorer" / "explorer.png").write_bytes(b"png")
    os.utime(root / "results" / "rewritten.json", ns=(1, 1))
    (root / "docs.md").write_text("b\n")
    (root / "new.txt").write_text("x")
    assert written(before, snapshot(root)) == [
        "docs.md",
        "new.txt",
        "results/explorer/explorer.png",
        "results/rewritten.json",
    ]
    assert written(before, snapshot(root), allowed=("results/explorer",)) == [
        "docs.md",
        "new.txt",
        "results/rewritten.json",
    ]
