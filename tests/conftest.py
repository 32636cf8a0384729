"""Suite-wide check: the tests write only under temporary folders, never into the source tree.

``make test`` once left ``results/explorer/`` behind. After the last test, a new or changed file under
the commands' output folders (``results/``, ``outputs/``, ``multirun/``) or anywhere git sees it
(``tree_writes``) fails the session with the list. A folder named by ``EXPLORER_TEST_OUT`` (asked for on
purpose, to keep the browser test's screenshot) is allowed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fixture_scope import UNDER_MUTMUT
from tree_writes import snapshot, written

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def nothing_written_into_the_tree():
    if UNDER_MUTMUT:  # mutmut's working copy (make mutate), not the source tree
        yield
        return
    before = snapshot(ROOT)
    yield
    kept = os.environ.get("EXPLORER_TEST_OUT")
    allowed = (
        (str(Path(kept).resolve().relative_to(ROOT)),)
        if kept and Path(kept).resolve().is_relative_to(ROOT)
        else ()
    )
    new = written(before, snapshot(ROOT), allowed)
    if new:
        pytest.fail(
            f"the tests wrote {len(new)} file(s) into the source tree (write under tmp_path instead): "
            + ", ".join(new[:10])
            + (" ..." if len(new) > 10 else ""),
            pytrace=False,
        )
