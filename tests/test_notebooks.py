"""Every notebook executes top to bottom at smoke size, stored without outputs, its figures drawable.

Parameters follow papermill's convention: a notebook's first code cell is tagged ``parameters`` and
sets ``SIZE = "full"`` (and any other knob); the test inserts a cell tagged ``injected-parameters``
after it with ``SIZE = "smoke"``, as ``papermill -p SIZE smoke`` would.

Figures are drawn by the kernel's inline backend (MPLBACKEND is unset for the kernel), as a user
sees them, and the run fails on matplotlib's "Glyph ... missing from font(s)" warning: the text
would render as empty boxes on a machine without CJK fonts.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
SMOKE = {"SIZE": "smoke"}
GLYPH = re.compile(r"Glyph \d+ .* missing from font")
#: Text a notebook's outputs must show (notebook 02: how far to trust P(reach), from sim.pipeline.credibility)
SHOWS = {
    "02_scenarios.ipynb": ["How far to trust these numbers", "Monte Carlo error only", "T03 ", "Backtest: "]
}


#: Seconds one cell may run before it counts as hung: a guard, not a speed test. Notebook 04's first cell
#: runs two smoke studies (~1 min on an idle machine) and went past 600 s twice this session when a full
#: study's emulator fits held both cores beside the suite.
CELL_TIMEOUT = 1800


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def source(cell) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def inject(nb, params: dict) -> None:
    """Insert ``NAME = value`` lines after the cell tagged ``parameters`` (papermill's convention)."""
    import nbformat

    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    lines = "\n".join(f"{k} = {v!r}" for k, v in params.items())
    cell = nbformat.v4.new_code_cell(
        f"# injected by the tests\n{lines}", metadata={"tags": ["injected-parameters"]}
    )
    nb.cells.insert(index + 1, cell)


def execute(nb, path: Path, monkeypatch) -> None:
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend draws every figure
    nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()


def missing_glyphs(nb) -> list[str]:
    """The lines of every output that report a glyph missing from the font."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = out.get("text", "") if out.get("output_type") == "stream" else ""
            found += [line for line in text.splitlines() if GLYPH.search(line)]
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    for cell in code_cells(nb):
        assert cell.get("outputs", []) == [] and cell.get("execution_count") is None, path.name
    # nbformat 4.5 cells carry a unique id (a cell without one is a warning today, an error to come)
    ids = [c.get("id") for c in nb["cells"]]
    assert all(ids) and len(set(ids)) == len(ids), f"{path.name}: cells without a unique id"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_are_the_first_cell(path):
    """The first code cell is tagged ``parameters``, holds only assignments, and sets SIZE to "full"."""
    first = code_cells(json.loads(path.read_text()))[0]
    assert "parameters" in first["metadata"].get("tags", []), f"{path.name}: first code cell not tagged"
    tree = ast.parse(source(first))
    assert all(isinstance(node, ast.Assign) for node in tree.body), f"{path.name}: parameters are assignments"
    values = {t.id: node.value for node in tree.body for t in node.targets}
    assert set(SMOKE) <= set(values), f"{path.name}: the parameters cell must set {sorted(SMOKE)}"
    assert ast.literal_eval(values["SIZE"]) == "full"


def test_missing_glyphs_are_detected(monkeypatch):
    """The negative control: a notebook whose figure title is in Chinese is flagged."""
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.set_title('亿元')"
        )
    ]
    execute(nb, NOTEBOOKS[0], monkeypatch)
    assert missing_glyphs(nb), "a CJK title was not reported"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes_at_smoke_size(path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(path, as_version=4)
    inject(nb, SMOKE)
    execute(nb, path, monkeypatch)
    assert not missing_glyphs(nb), f"{path.name}: figure text the default fonts cannot draw"
    results = [o.get("data", {}) for c in nb.cells for o in c.get("outputs", []) if "data" in o]
    assert any("image/png" in d for d in results), f"{path.name}: no figure was displayed"
    undrawn = [
        d["text/plain"] for d in results if "image/png" not in d and "<Figure size" in d.get("text/plain", "")
    ]
    assert not undrawn, f"{path.name}: figures shown as text, not drawn (no inline backend?): {undrawn}"
    shown = "\n".join(
        str(o.get("text", "")) + "".join(map(str, o.get("data", {}).values()))
        for c in nb.cells
        for o in c.get("outputs", [])
    )
    for text in SHOWS.get(path.name, []):
        assert text in shown, f"{path.name}: does not show {text!r}"
