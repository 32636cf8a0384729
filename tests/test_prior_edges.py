"""Parameters pressing on their prior bounds (sim/calibration/fitreport.py ``prior_edges``) and the report's
section on them, written by the calibration and by ``refresh`` of a finished run (sim/calibration/report.py)."""

import shutil

import numpy as np
import pytest

from sim.calibration import fitreport
from sim.calibration.abc import ParamSpace
from sim.calibration.report import edges_section, refresh
from sim.data.posterior import PROJECTION_ONLY
from sim.paths import POSTERIOR_CSV

NAMES = ("entry_growth", "patent_rate", "techsme_renew_prob", PROJECTION_ONLY[0])


def _sample(rng, n=400):
    """Sets on the unit box: entry_growth piled at its upper bound (40 % of the weight in the top tenth),
    patent_rate flat, techsme_renew_prob just under the threshold at its lower bound, the projection-only
    parameter piled at its lower bound (which must not be reported: it is not fitted)."""
    space = ParamSpace.from_priors(NAMES)
    u = rng.uniform(0.1, 0.9, size=(n, len(NAMES)))
    u[: int(0.4 * n), 0] = rng.uniform(0.9, 1.0, int(0.4 * n))
    u[:, 1] = rng.uniform(0, 1, n)
    u[: int(0.2 * n), 2] = rng.uniform(0.0, 0.1, int(0.2 * n))
    u[: int(0.9 * n), 3] = rng.uniform(0.0, 0.1, int(0.9 * n))
    return space, space.values(u)


def test_only_a_posterior_piled_at_a_bound_is_reported():
    space, values = _sample(np.random.default_rng(0))
    edges = fitreport.prior_edges(space.names, space.lo, space.hi, values, np.ones(len(values)))
    assert list(edges["parameter"]) == ["entry_growth"]
    row = edges.iloc[0]
    assert row["bound"] == "upper" and row["bound_value"] == space.hi[0]
    assert row["share"] == pytest.approx(0.4)  # the other sets sit inside [0.1, 0.9]
    assert "assumption" in row["source"]


def test_weights_decide_the_share():
    """The same sets weighted away from the bound are no longer reported: the share is of weight, not sets."""
    space, values = _sample(np.random.default_rng(1))
    w = np.ones(len(values))
    w[: int(0.4 * len(values))] = (
        0.1  # the sets at entry_growth's bound now hold 0.04 / 0.64 = 6 % of the weight
    )
    edges = fitreport.prior_edges(space.names, space.lo, space.hi, values, w)
    assert "entry_growth" not in set(edges["parameter"])


def test_the_section_counts_fitted_parameters_and_lists_each_once():
    space, values = _sample(np.random.default_rng(2))
    lines = "\n".join(
        edges_section(space.names, space.lo, space.hi, values, np.ones(len(values)))
    ).splitlines()
    assert lines[0] == "## Parameters pressing on their prior bounds"
    assert lines[2].startswith(f"1 of {len(NAMES) - 1} fitted parameters")
    table = [x for x in lines if x.startswith("| entry_growth |")]
    assert len(table) == 1 and "| upper |" in table[0]


def test_refresh_writes_the_section_once(tmp_path):
    """``refresh`` of a finished calibration folder inserts the section before the noise floor, from the
    folder's own posterior; a second refresh replaces it rather than adding another."""
    from test_sharpness import WEIGHTS, _case

    targets, outputs = _case()
    fitreport.error_table(targets, outputs, WEIGHTS).to_csv(tmp_path / "errors.csv", index=False)
    shutil.copyfile(POSTERIOR_CSV, tmp_path / "posterior.csv")
    shutil.copyfile(POSTERIOR_CSV.with_suffix(".json"), tmp_path / "posterior.json")
    page = [
        "# Calibration report",
        "",
        "- 90 % bands cover 3 of 3 points",
        "",
        "## Model noise floor",
        "",
        "x",
    ]
    (tmp_path / "report.md").write_text("\n".join(page) + "\n", encoding="utf-8")
    for _ in range(2):
        refresh(tmp_path)
        lines = (tmp_path / "report.md").read_text(encoding="utf-8").splitlines()
        assert lines.count("## Parameters pressing on their prior bounds") == 1
        assert lines.index("## Parameters pressing on their prior bounds") < lines.index(
            "## Model noise floor"
        )
        assert lines[-1] == "x"
