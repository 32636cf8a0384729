"""Studies from Python (sim.pipeline.study.load, what notebooks 03 and 04 use): a study run into a folder
reads back, a folder that lacks what is asked for says what, a finished study is read rather than rerun,
and the quantities the notebooks derive from the tables are right on tables whose answer is known."""

from __future__ import annotations

import json
from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

from sim.model.params import BehaviourParams, ConfigError
from sim.model.policy import LEVERS, free_effect_fields
from sim.pipeline.study import load
from sim.pipeline.study.design import ALL_FIVE, lever_unit
from sim.pipeline.study.sensitivity import factors


def test_a_study_run_from_python_reads_back(tmp_path, capsys):
    folder = load.run(
        "discovery", tmp_path / "d", overrides=["sizes.smoke.replicates=8", "seed=3"], progress=False
    )
    out = capsys.readouterr().out
    assert out.startswith("results: ") and "**Question.**" not in out  # the findings text stays in the folder
    study = load.load(folder, ["boxes"], name="discovery")
    assert study.doc["model_runs"] == 8 and study.doc["seed"] == 3 and study.smoke
    assert {"target", "box", "coverage", "density", "uncertainty"} <= set(study.tables["boxes"].columns)
    assert study.figure("boxes").is_file()
    assert "python -m sim.study discovery size=smoke" in study.doc["provenance"]["command"]
    assert "a check that the study runs, not a result" in study.note()
    with pytest.raises(FileNotFoundError, match="no figure curve_talents.png"):
        study.figure("curve_talents")


def test_bad_input_is_one_line_naming_the_key():
    with pytest.raises(ConfigError, match="power of 2"):
        load.config("sensitivity", "smoke", ["sizes.smoke.base_samples=3"])
    with pytest.raises(ConfigError, match="no such study"):
        load.config("nosuch")
    with pytest.raises(ConfigError, match="replicatez"):
        load.config("contrast", "smoke", ["replicatez=2"])
    cfg = load.config("lever_curves", "smoke", ["sizes.smoke.replicates=3"])
    assert cfg.name == "lever_curves" and cfg.size == "smoke" and cfg.design.replicates == 3


def fake_study(folder, name="lever_curves", size="full", tables=("curves",)):
    folder.mkdir(parents=True, exist_ok=True)
    doc = {
        "study": name,
        "size": size,
        "scale": 0.25,
        "seed": 0,
        "model_runs": 10,
        "findings": {},
        "provenance": {"git": {"commit": "abc"}, "started": "2026-01-01T00:00:00"},
    }
    (folder / "study.json").write_text(json.dumps(doc))
    for t in tables:
        pd.DataFrame({"x": [1]}).to_csv(folder / f"{t}.csv", index=False)
    return folder


def test_load_says_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="no finished study"):
        load.load(tmp_path, ["curves"])
    fake_study(tmp_path, tables=())
    with pytest.raises(FileNotFoundError, match="has no curves.csv"):
        load.load(tmp_path, ["curves"])
    with pytest.raises(ValueError, match="holds study 'lever_curves', not 'sensitivity'"):
        load.load(tmp_path, [], name="sensitivity")


def test_open_study_reads_a_finished_study_and_runs_only_without_one(tmp_path, monkeypatch):
    runs = []

    def fake_run(name, folder, *, size, overrides, jobs):
        runs.append((name, size, list(overrides)))
        fake_study(folder, name, size, tables=("curves", "marginal"))

    monkeypatch.setattr(load, "run", fake_run)
    committed = tmp_path / "experiments"
    fake_study(committed / "lever_curves")
    study = load.open_study("lever_curves", "auto", tables=["curves"], experiments=committed)
    assert study.folder == committed / "lever_curves" and not runs
    # smoke size always runs here, whatever is committed
    study = load.open_study(
        "lever_curves", "auto", tables=["curves"], size="smoke", experiments=committed, seed=4
    )
    assert runs == [("lever_curves", "smoke", ["seed=4"])] and study.smoke
    # nothing committed with the table asked for: a run at run_size
    load.open_study("lever_curves", "auto", tables=["marginal"], experiments=committed)
    assert runs[-1][1] == "smoke"
    load.open_study("lever_curves", None, tables=["curves"], experiments=committed)
    assert len(runs) == 3
    # a folder given by hand must hold the study
    with pytest.raises(FileNotFoundError, match="has no marginal.csv"):
        load.open_study("lever_curves", committed / "lever_curves", tables=["marginal"])
    with pytest.raises(ConfigError, match="SIZE = 'huge'"):
        load.open_study("lever_curves", size="huge")


def curves_table(slopes: dict[str, tuple[float, float]], factors=(0.0, 0.5, 1.0, 1.5, 2.0), n=20):
    """curves.csv of levers whose cost and P(reach of T01) rise linearly with the factor:
    ``slopes[lever] = (亿元 per unit factor, P per unit factor)``; T02 never moves."""
    rows = []
    for lever, (dcost, dp) in slopes.items():
        for f in factors:
            base = {"lever": lever, "factor": f, "value": 10 * f, "unit": "u", "n": n}
            base.update(cost_mean=100 + dcost * (f - 1), lever_cost_mean=20 + dcost * (f - 1))
            rows.append({**base, "target": "T01", "p_reach": 0.5 + dp * (f - 1), "median": 6000 + 100 * f})
            rows.append({**base, "target": "T02", "p_reach": 0.9, "median": 40000.0})
            rows.append({**base, "target": ALL_FIVE, "p_reach": 0.3 + dp * (f - 1), "median": np.nan})
    return pd.DataFrame(rows)


def test_near_plan_reads_the_step_across_the_plan():
    # a: 0.2 P for 10 亿元 a unit factor (0.02 per 亿元); b: 0.4 for 40 (0.01); c: 0.1 at no cost
    curves = curves_table({"a": (10.0, 0.2), "b": (40.0, 0.4), "c": (0.0, 0.1)})
    near = load.near_plan(curves).set_index(["lever", "target"])
    a = near.loc[("a", "T01")]
    assert (a["from_factor"], a["to_factor"]) == (0.5, 1.5)
    assert a["dp"] == pytest.approx(0.2) and a["dcost"] == pytest.approx(10.0)
    assert a["dp_per_100m"] == pytest.approx(0.02) and a["changed"] == 4  # 0.2 x 20 replicates
    assert a["dmedian_per_100m"] == pytest.approx(10.0)  # 100 per unit factor over 10 亿元
    assert near.loc[("b", "T01"), "dp_per_100m"] == pytest.approx(0.01)
    assert np.isnan(near.loc[("c", "T01"), "dp_per_100m"])  # no cost rise: no ratio
    assert np.isnan(near.loc[("a", ALL_FIVE), "dmedian"])
    best = load.best_near_plan(load.near_plan(curves)).set_index("target")
    assert best.loc["T01", "lever"] == "c" and "no extra public cost" in best.loc["T01", "how"]
    assert best.loc["T02", "how"] == "no lever raises P(reach) across the plan" and pd.isna(
        best.loc["T02", "lever"]
    )
    # without the free lever, the largest gain per 亿元 wins, not the largest gain
    best = load.best_near_plan(load.near_plan(curves[curves["lever"] != "c"])).set_index("target")
    assert best.loc["T01", "lever"] == "a" and best.loc[ALL_FIVE, "lever"] == "a"
    # the plan's smoke design (0, 1, 2) steps from 0 to 2
    step = load.near_plan(curves_table({"a": (10.0, 0.2)}, factors=(0.0, 1.0, 2.0))).iloc[0]
    assert (step["from_factor"], step["to_factor"]) == (0.0, 2.0)
    with pytest.raises(ValueError, match="both sides"):
        load.near_plan(curves_table({"a": (10.0, 0.2)}, factors=(0.0, 1.0)))


def test_sobol_ranking_orders_each_output_and_resolves_only_clear_leads():
    rows = [
        ("A", "y", 0.60, 0.05),
        ("B", "y", 0.30, 0.05),
        ("C", "y", 0.25, 0.10),
        ("A", "z", 0.10, 0.20),
        ("B", "z", 0.50, 0.01),
        ("A", "flat", np.nan, np.nan),
    ]
    table = pd.DataFrame(rows, columns=["factor", "output", "ST", "ST_conf"]).assign(kind="effects")
    ranked = load.sobol_ranking(table)
    assert list(dict.fromkeys(ranked["output"])) == ["y", "z"]  # the table's order; no variance: left out
    y = ranked[ranked["output"] == "y"]
    assert y["factor"].tolist() == ["A", "B", "C"] and y["rank"].tolist() == [1, 2, 3]
    assert y["ahead"].tolist() == [True, False, False]  # 0.55 > 0.35; 0.25 < 0.35; the last
    z = ranked[ranked["output"] == "z"]
    assert z["factor"].tolist() == ["B", "A"] and z["ahead"].tolist() == [True, False]  # 0.49 > 0.30


def test_every_discovery_dimension_has_a_sobol_factor_and_a_drawable_unit():
    groups = {f["group"] for f in factors(2.0)}
    names = [f"effect:{key}" for key, _ in free_effect_fields()]
    names += [f"behaviour:{name}" for name in BehaviourParams.calibrated_names()]
    for name in names:
        assert load.sobol_group(name) in groups, name
        unit = load.uncertainty_unit(name)
        assert unit and all(ord(ch) < 0x2E80 for ch in unit), (name, unit)
    assert load.sobol_group("behaviour:revenue_growth") == "behaviour: entry_growth"  # its mechanism
    assert load.sobol_group("seed") is None
    assert {f.name for f in fields(BehaviourParams)} >= set(BehaviourParams.calibrated_names())
    with pytest.raises(KeyError, match="not an uncertainty"):
        load.uncertainty_unit("behaviour:no_such_parameter")


def test_lever_units_in_study_figures_have_no_cjk_glyphs():
    """The study figures name each lever's unit; the default fonts cannot draw CJK (empty boxes)."""
    for name in LEVERS:
        assert all(ord(ch) < 0x2E80 for ch in lever_unit(name)), (name, lever_unit(name))
    assert "100 million yuan" in lever_unit("voucher_budget")
    assert "small-to-above-scale" in lever_unit("hte_cultivation")


def test_the_index_flags_studies_made_with_another_posterior():
    """The cross-study page names the studies whose recorded posterior (sha256) is not the committed one,
    in a note above the table and in their row; studies of the committed fit, or run on a posterior file
    of their own, are not flagged."""
    from sim.pipeline.study.index import index_markdown, posterior_vintage

    def doc(name, sha, source="default"):
        return {
            "study": name,
            "question": "q",
            "design": "d",
            "size": "full",
            "wall_time_s": 60.0,
            "findings": {},
            "provenance": {
                "git": {"commit": "abc"},
                "started": "2026-12-06T00:00:00",
                "posterior": {"source": source, "sha256": sha, "sets": 10},
            },
        }

    now = "a" * 64
    assert posterior_vintage(doc("contrast", now), now) is None
    assert posterior_vintage(doc("contrast", "b" * 64, source="path"), now) is None  # its own file
    assert posterior_vintage(doc("contrast", "b" * 64), None) is None  # nothing to compare with
    assert "bbbbbbbbbbbb" in posterior_vintage(doc("contrast", "b" * 64), now)
    docs = {"contrast": doc("contrast", "b" * 64), "monitoring": doc("monitoring", now)}
    page = index_markdown(docs, current_posterior=now)
    note = next(line for line in page.splitlines() if "Earlier model" in line)
    assert "`contrast`" in note and "`monitoring`" not in note and "was made" in note
    rows = {line.split("]")[0]: line for line in page.splitlines() if line.startswith("| [")}
    assert "earlier model" in rows["| [contrast"] and "earlier model" not in rows["| [monitoring"]
    fresh = index_markdown({"monitoring": doc("monitoring", now)}, current_posterior=now)
    assert "Earlier model" not in fresh and "earlier model" not in fresh


def test_the_index_gives_an_interval_beside_each_contrast_number():
    """P(reach) of both arms with its Wilson interval, and the most important lever's paired gain with its
    95 % interval (three decimals of ΔP for all five, so a small effect does not read as zero)."""
    from sim.model.outcomes import HEADLINE
    from sim.pipeline.study.index import index_markdown

    arms = {
        arm: {g: {"p": p, "ci95": [p - 0.02, p + 0.01]} for g in [*HEADLINE, "all_five"]}
        for arm, p in (("plan", 0.83), ("frozen_2023", 0.61))
    }
    most = {
        g: {"lever": "fund_size", "delta_median": 234.0, "delta_median_ci": [204.0, 262.0]} for g in HEADLINE
    }
    most["all_five"] = {"lever": "incubators", "delta_p": 0.0125, "delta_p_ci": [0.0025, 0.0226]}
    doc = {
        "study": "contrast",
        "question": "q",
        "design": "d",
        "size": "full",
        "wall_time_s": 60.0,
        "findings": {"p_reach": arms, "most_important_lever": most},
        "provenance": {"git": {"commit": "abc"}, "started": "2026-12-06T00:00:00", "posterior": {}},
    }
    rows = {
        r.split("|")[1].strip(): r
        for r in index_markdown({"contrast": doc}).splitlines()
        if r.startswith("| ")
    }
    assert "| 0.83 (0.81–0.84); frozen 0.61 (0.59–0.62) |" in rows["T02"]
    assert "`fund_size` (+234, +204 – +262)" in rows["T02"]
    assert "`incubators` (ΔP +0.013, +0.003 – +0.023)" in rows["all five"]


def test_a_small_resolved_sensitivity_index_does_not_read_as_zero():
    """Indices print to their half-width's first significant digit (2 to 4 decimals): the levers' total
    indices of the full-size study (0.0020 ± 0.0009) read as small and resolved, not "0.00 ± 0.00"."""
    from sim.pipeline.study.design import index_text
    from sim.pipeline.study.index import _pm

    assert index_text(0.0019659, 0.000947) == "0.0020 ± 0.0009"
    assert index_text(0.38, 0.02) == "0.38 ± 0.02" and index_text(0.0066, 0.0031) == "0.007 ± 0.003"
    assert index_text(0.5, 0.0) == "0.50 ± 0.00" and index_text(0.123, None) == "0.12"
    assert index_text(1e-7, 1e-8) == "0.0000 ± 0.0000"  # at most 4 decimals: nothing to act on below
    assert index_text(float("nan"), 0.1) == "n/a"
    s = {"top_lever_ST": 0.000653, "top_lever_ST_conf": 0.000166}
    assert _pm(s, "top_lever_ST") == "0.0007 ± 0.0002"
