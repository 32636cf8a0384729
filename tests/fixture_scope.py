"""The scope of fixtures that run a model once for several tests.

Module scope normally: one model per test file. Function scope under mutmut (``make mutate``,
``tests/mutate_sample.py``): mutmut credits the code a fixture runs to the first test that set it up, and for a
mutant there reruns only that test, so a model shared by several tests would hide every later test's kill. It
detects mutmut as ``tests/conftest.py`` does: the suite runs from mutmut's working copy, ``mutants/``.
"""

from __future__ import annotations

from pathlib import Path

UNDER_MUTMUT = Path(__file__).resolve().parent.parent.name == "mutants"


def shared(fixture_name: str, config) -> str:
    """``@pytest.fixture(scope=shared)``: pytest's dynamic scope."""
    return "function" if UNDER_MUTMUT else "module"
