"""The public API: what a notebook needs is importable from ``sim``, lazily, and the dev extras execute
notebooks from the command line (``jupyter nbconvert``)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import sim

ROOT = Path(__file__).resolve().parent.parent


def test_the_names_a_notebook_needs_import_from_sim():
    from sim import load_study, paired_difference, run_ensemble  # the example

    assert run_ensemble.__module__ == "sim.pipeline.ensemble"
    assert paired_difference.__module__ == "sim.pipeline.paired"
    assert load_study.__module__ == "sim.pipeline.study.load"
    for name in sim.__all__:
        assert getattr(sim, name) is not None, name
    assert set(sim.__all__) <= set(dir(sim))
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        sim.nonsense  # noqa: B018


def test_notebook_02_uses_only_the_public_api_for_sim_names():
    """Notebook 02 imports its sim names from ``sim`` (the figure-text helper aside)."""
    nb = json.loads((ROOT / "notebooks" / "02_scenarios.ipynb").read_text())
    imported = set()
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        code = "".join(cell["source"]).replace("%matplotlib inline", "")
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sim"):
                imported |= {(node.module, a.name) for a in node.names}
    assert {m for m, _ in imported} <= {"sim", "sim.pipeline.plots"}
    assert {n for m, n in imported if m == "sim"} <= set(sim.__all__)


def test_import_sim_stays_light():
    """``import sim`` (what every command does first) loads no model, pandas or matplotlib."""
    code = "import sys, sim; print(sorted(m for m in ('pandas', 'matplotlib', 'mesa') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_the_dev_extras_can_execute_notebooks():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert {"nbconvert", "nbclient", "nbformat", "ipykernel"} <= set(extras["dev"])


def test_the_readme_shows_the_public_api():
    text = (ROOT / "README.md").read_text()
    section = text.split("## From Python", 1)[1].split("\n## ", 1)[0]
    assert "from sim import" in section and "paired_difference" in section and "```python" in section
    code = section.split("```python", 1)[1].split("```", 1)[0]
    tree = ast.parse(code)
    names = {
        a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "sim" for a in n.names
    }
    assert names <= set(sim.__all__)
    # and it runs (smaller: 3 replicates at 3 % scale, in this process)
    small = code.replace("range(100)", "range(3)").replace("scale=0.25, jobs=2", "scale=0.03, progress=False")
    assert small != code
    printed = []
    exec(compile(small, "README.md", "exec"), {"print": printed.append})
    assert printed and "n too small to resolve: 3 pairs" in printed[-1]
