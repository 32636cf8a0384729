"""Figures: their text renders with the default fonts, and the library leaves pyplot alone.

A glyph the font lacks (a CJK character in a title or unit) renders as an empty box and makes
matplotlib warn "Glyph ... missing from font(s)"; pyproject.toml turns that warning into an error
in every test, and the tests here draw every figure the pipeline makes for every target.
"""

from __future__ import annotations

import io
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sim.calibration import fitreport
from sim.calibration.targets import OUTPUT_INDICATORS, OUTPUT_YEARS, FitTargets
from sim.model.outcomes import HEADLINE, OUTCOMES, TARGETS
from sim.pipeline import plots

GLYPH = "Glyph .* missing from font"


def render(fig: Figure) -> None:
    """Draw ``fig`` as a PNG, with a missing glyph an error whatever the session's filters say."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=GLYPH, category=UserWarning)
        fig.savefig(io.BytesIO(), format="png")


def synthetic(indicators, n: int = 5, years=range(2018, 2027), level: float = 1.0) -> pd.DataFrame:
    """A tidy table whose replicate r has value level * (1 + r / 10) * target (any year)."""
    rows = [
        {
            "replicate": r,
            "seed": r,
            "param_set": 0,
            "year": y,
            "indicator": tid,
            "value": level * (1 + r / 10) * (TARGETS[tid].target or 1.0),
        }
        for tid in indicators
        for r in range(n)
        for y in years
    ]
    return pd.DataFrame(rows)


def test_the_glyph_check_can_fail():
    """The negative control: a title in Chinese is caught by ``render``."""
    fig = Figure()
    fig.subplots().set_title("亿元")
    with pytest.raises(UserWarning, match="missing from font"):
        render(fig)


@pytest.mark.parametrize("tid", sorted(TARGETS))
def test_fan_chart_text_renders_for_every_target(tid):
    """Every target, including those whose names hold Chinese words (T16b: 专精特新)."""
    fig = plots.fan_chart(synthetic([tid]), tid)
    render(fig)
    ax = fig.axes[0]
    assert ax.get_ylabel() == plots.unit_label(TARGETS[tid].unit) and ax.get_ylabel().isascii()
    assert ax.get_title().isascii() and tid in ax.get_title()


@pytest.mark.parametrize("indicator", OUTPUT_INDICATORS)
def test_fit_figure_text_renders_for_every_calibration_output(indicator):
    """The fit report's figure of each output (zjtx_cumulative's name holds 专精特新)."""
    rng = np.random.default_rng(0)
    targets = FitTargets.default()
    outputs = rng.uniform(1, 2, size=(4, len(OUTPUT_INDICATORS), len(OUTPUT_YEARS)))
    fig = fitreport.fit_figure(indicator, outputs, np.ones(4), targets)
    render(fig)
    assert fig.axes[0].get_title().isascii() and indicator in fig.axes[0].get_title()


def test_unit_labels_are_ascii_for_every_outcome():
    assert all(plots.unit_label(o.unit).isascii() for o in OUTCOMES.values())
    assert plots.unit_label("亿元") == "100 million yuan"
    assert plots.english("new 专精特新 firms, 亿元") == "new 'specialised and new' firms, 100 million yuan"
    assert plots.english("其他 other") == "other"  # unknown CJK words are dropped, not boxed


def test_fan_overlay_has_a_median_and_band_per_scenario():
    tid = "T01"
    ensembles = {"plan": synthetic([tid], level=1.0), "frozen_2023": synthetic([tid], level=0.5)}
    fig = plots.fan_overlay(ensembles, tid)
    render(fig)
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert [lab for lab in labels if "median" in lab] == [
        "plan: median, 90 % band (5 replicates)",
        "frozen_2023: median, 90 % band (5 replicates)",
    ]
    assert any(lab.startswith("target 6,000") for lab in labels)
    medians = {
        line.get_label().split(":")[0]: line.get_ydata() for line in ax.lines if "median" in line.get_label()
    }
    # the second scenario sits at half the first one's level, replicate by replicate: so does its median
    np.testing.assert_allclose(medians["frozen_2023"], 0.5 * np.asarray(medians["plan"]))
    with pytest.raises(ValueError, match="at least one"):
        plots.fan_overlay({}, tid)


def test_lever_response_figure_with_scenario_names():
    rows = [
        {
            "scenario": s,
            "indicator": t,
            "p_reach": p,
            "ci_lo": max(0, p - 0.1),
            "ci_hi": min(1, p + 0.1),
            "n": 10,
        }
        for s, p in (("frozen_2023", 0.2), ("plan", 0.5), ("custom", 0.9))
        for t in HEADLINE
    ]
    fig = plots.lever_response_figure(pd.DataFrame(rows), "scenario")
    render(fig)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["frozen_2023", "plan", "custom"]
    assert list(ax.lines[0].get_ydata()) == [0.2, 0.5, 0.9]


def test_figure_modules_select_no_backend():
    """Imported in a notebook, the plotting modules must not switch the notebook's backend.

    A fresh interpreter picks a backend, imports every module that draws, and checks it is unchanged
    (``matplotlib.use("Agg")`` at import used to switch notebooks from inline to Agg: no figures).
    """
    code = (
        "import matplotlib; matplotlib.use('svg')\n"
        "import sim.pipeline.plots, sim.calibration.fitreport, sim.calibration.backtest, sim.pipeline.analyze\n"
        "import matplotlib.pyplot as plt\n"
        "print(matplotlib.get_backend())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "svg"


def test_figures_are_not_registered_with_pyplot():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plots.fan_chart(synthetic(["T01"]), "T01")
    assert plt.get_fignums() == before


def test_overlays_give_every_ensemble_its_own_colour_and_do_not_blur_into_one_band():
    """A sweep of 8 ensembles: 8 median lines in 8 colours (the palette used to repeat after 6); above
    MAX_SHADED_BANDS ensembles the bands are drawn as edges, not stacked shadings."""
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import to_hex

    for n in (3, 8, 14):
        ensembles = {f"policy.voucher_budget={k}": synthetic(["T01"], level=1 + k / 20) for k in range(n)}
        fig = plots.fan_overlay(ensembles, "T01")
        render(fig)
        ax = fig.axes[0]
        medians = [line for line in ax.get_lines() if "median" in line.get_label()]
        assert len(medians) == n
        assert len({to_hex(line.get_color()) for line in medians}) == n
        shaded = [c for c in ax.collections if isinstance(c, PolyCollection)]  # fill_between's bands
        assert len(shaded) == (n if n <= plots.MAX_SHADED_BANDS else 0)
