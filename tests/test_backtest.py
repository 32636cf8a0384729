"""The rolling-origin backtest (sim/calibration/backtest/): data cut-off, scoring, verdicts, config, command."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scoringrules as sr

from sim.calibration import backtest, scores
from sim.calibration.backtest import BacktestConfig
from sim.calibration.config import CalibrateConfig
from sim.calibration.forecasters import FORECASTERS
from sim.calibration.targets import FitTargets
from sim.model.params import ConfigError

REPO = Path(__file__).resolve().parent.parent


def _obs(values_from_2018: dict[str, list[float]]) -> dict[str, pd.Series]:
    return {k: pd.Series(v, index=range(2018, 2018 + len(v)), name=k) for k, v in values_from_2018.items()}


def test_through_year_drops_later_points_and_shortens_the_runs():
    full, cut = FitTargets.default(), FitTargets.default(2021)
    assert cut.points["year"].max() == 2021 and len(cut) < len(full)
    kept = full.points[full.points["year"] <= 2021].reset_index(drop=True)
    pd.testing.assert_frame_equal(cut.points, kept)
    assert CalibrateConfig(through_year=2021).through_year == 2021
    with pytest.raises(ConfigError, match="through_year"):
        CalibrateConfig(through_year=2024)


def test_levers_do_not_matter_before_2024():
    """The backtest projects to 2023 with any levers: up to 2023 the model follows the historical path."""
    from sim.model.evaluate import ModelRun, evaluate
    from sim.model.policy import scenario

    a = evaluate(ModelRun(levers=scenario("plan"), seed=3, end_year=2023, scale=0.02)).frame()
    b = evaluate(ModelRun(levers=scenario("frozen_2023"), seed=3, end_year=2023, scale=0.02)).frame()
    pd.testing.assert_frame_equal(a, b)


def test_naive_rows_score_each_horizon_with_its_own_distribution():
    growth = 1.3 ** np.arange(6)
    obs = _obs(
        {ind: list(1000.0 * growth * (1 + 0.01 * (-1) ** np.arange(6))) for ind in backtest.INDICATORS}
    )
    fits, unavailable = backtest.naive_forecasts(2021, obs)
    assert not unavailable  # four points each: every forecaster fits
    rows = pd.DataFrame(backtest.naive_rows(2021, fits, obs))
    assert set(rows["horizon"]) == {1, 2}
    p = fits[("T01", "loglinear")]
    for h in (1, 2):
        row = rows[
            (rows["indicator"] == "T01") & (rows["forecaster"] == "loglinear") & (rows["horizon"] == h)
        ]
        y = obs["T01"][2021 + h]
        assert row["crps_rel"].item() == pytest.approx(sr.crps_lognormal(y, p.mu[h - 1], p.sigma[h - 1]) / y)
        assert row["abs_err_rel"].item() == pytest.approx(abs(p.median[h - 1] - y) / y)


def test_too_short_series_are_listed_unavailable():
    obs = _obs({ind: [1.0, 2.0, 3.0] for ind in backtest.INDICATORS})  # 2018-2020
    fits, unavailable = backtest.naive_forecasts(2020, obs)
    assert {u["forecaster"] for u in unavailable} == {"gm11"}  # GM(1,1) needs four points
    assert ("T01", "linear") in fits


def test_model_rows_use_the_replicates():
    members = np.array([90.0, 100.0, 110.0, 120.0, 130.0])
    ensemble = {ind: {y: members * (y - 2017) for y in range(2018, 2024)} for ind in backtest.INDICATORS}
    obs = _obs({ind: [100.0 * (k + 1) for k in range(6)] for ind in backtest.INDICATORS})
    rows = pd.DataFrame(backtest.model_rows(2022, ensemble, obs))
    assert len(rows) == len(backtest.INDICATORS) and set(rows["horizon"]) == {1}
    r = rows.iloc[0]
    y, x = 600.0, members * 6
    assert r["crps_rel"] == pytest.approx(scores.crps_ensemble(y, x) / y)
    assert r["median"] == pytest.approx(660.0) and r["abs_err_rel"] == pytest.approx(0.1)
    assert r["covered90"]


def test_the_90_percent_interval_is_the_5_and_95_percent_quantiles():
    """Hand-made draws 1, 2, ..., 100 (equal weights: quantile q interpolates at (k - 0.5) / 100): the model's
    90 % interval is [5.5, 95.5], not the 10 %-90 % [10.5, 90.5]; the interval score and the coverage use it.
    A naive forecaster's interval is its predictive's 5 % and 95 % quantiles (z = -+1.6449)."""
    members = np.arange(1.0, 101.0)
    assert backtest.model_band(members).tolist() == [5.5, 50.5, 95.5]
    ensemble = {ind: {y: members for y in range(2018, 2024)} for ind in backtest.INDICATORS}
    obs = _obs({ind: [93.0] * 5 + [100.0] for ind in backtest.INDICATORS})  # 2018-2023
    rows = pd.DataFrame(backtest.model_rows(2021, ensemble, obs)).set_index(["indicator", "year"])
    inside, above = rows.loc[("T01", 2022)], rows.loc[("T01", 2023)]
    assert (inside["lo90"], inside["median"], inside["hi90"]) == (5.5, 50.5, 95.5)
    assert inside["covered90"] and not above["covered90"]  # 93 is inside [5.5, 95.5], not [10.5, 90.5]
    # interval score of 100 above the interval: width 90 + (2 / 0.1) x (100 - 95.5) = 180, relative 1.8
    assert inside["is90_rel"] == pytest.approx(90 / 93) and above["is90_rel"] == pytest.approx(1.8)
    growth = 1.3 ** np.arange(6)
    obs = _obs(
        {ind: list(1000.0 * growth * (1 + 0.01 * (-1) ** np.arange(6))) for ind in backtest.INDICATORS}
    )
    fits, _ = backtest.naive_forecasts(2021, obs)
    naive = pd.DataFrame(backtest.naive_rows(2021, fits, obs))
    for name in ("linear", "loglinear"):
        p = fits[("T01", name)]
        row = naive[(naive["indicator"] == "T01") & (naive["forecaster"] == name) & (naive["horizon"] == 1)]
        z = 1.6448536269514722  # the standard normal's 95 % quantile
        lo, hi = p.mu[0] - z * p.sigma[0], p.mu[0] + z * p.sigma[0]
        expected = (np.exp(lo), np.exp(hi)) if p.log else (lo, hi)
        assert (row["lo90"].item(), row["hi90"].item()) == pytest.approx(expected, rel=1e-12)


def test_goal_verdicts_compare_on_common_origins():
    """gm11 has no 2020 forecast: the model is compared with it on 2021 only, where it wins."""
    rows = []
    for origin, model_crps, gm_crps in ((2020, 0.50, None), (2021, 0.01, 0.02)):
        for name in backtest.FORECASTER_NAMES:
            crps = model_crps if name == "model" else (gm_crps if name == "gm11" else 0.1)
            if crps is None:
                continue
            rows.append(
                {
                    "indicator": "T01",
                    "origin": origin,
                    "horizon": 1,
                    "forecaster": name,
                    "crps_rel": crps,
                    "abs_err_rel": crps,
                }
            )
    v = backtest.goal_verdicts(pd.DataFrame(rows))
    assert len(v) == 1
    # mean model CRPS over 2020-2021 (0.255) loses to the trends (0.1) but beats gm11 on 2021 (0.01 < 0.02)
    assert "gm11" not in v[0]["loses_crps_to"] and "linear" in v[0]["loses_crps_to"]
    assert v[0]["goal_met"] is False and v[0]["in_goal"]


def _cell(indicator, horizon, scores):
    """Rows of one indicator-horizon cell: ``scores`` maps forecaster -> {origin: (crps_rel, abs_err_rel)}."""
    return [
        {
            "indicator": indicator,
            "origin": o,
            "horizon": horizon,
            "forecaster": f,
            "crps_rel": c,
            "abs_err_rel": e,
        }
        for f, by_origin in scores.items()
        for o, (c, e) in by_origin.items()
    ]


def test_goal_verdicts_need_both_scores_strictly_better_than_every_forecaster():
    """A cell meets the goal only when the model beats every available naive forecaster on the mean CRPS
    *and* on the median absolute error, each strictly (a tie is not a win); a forecaster with no origin in
    common is not compared; a cell outside T01-T04 x h 1-2 is reported but not in the goal; a cell with no
    naive forecaster available has no verdict."""
    naive = {f: {2019: (0.2, 0.2), 2020: (0.2, 0.2)} for f in FORECASTERS}
    rows = _cell("T02", 1, {"model": {2019: (0.1, 0.1), 2020: (0.1, 0.1)}, **naive})
    # T03 h2: better CRPS everywhere, but the median error ties loglinear's
    tie = {**naive, "loglinear": {2019: (0.2, 0.1), 2020: (0.2, 0.1)}}
    rows += _cell("T03", 2, {"model": {2019: (0.1, 0.1), 2020: (0.1, 0.1)}, **tie})
    # T04 h1: better error everywhere, CRPS worse than gm11, which forecasts 2020 only
    gm_only_2020 = {**naive, "gm11": {2020: (0.05, 0.9)}}
    rows += _cell("T04", 1, {"model": {2019: (0.1, 0.1), 2020: (0.1, 0.1)}, **gm_only_2020})
    rows += _cell("T05", 1, {"model": {2019: (0.1, 0.1)}})  # no naive forecaster
    rows += _cell("T01", 3, {"model": {2019: (0.1, 0.1)}, **naive})
    v = {(r["indicator"], r["horizon"]): r for r in backtest.goal_verdicts(pd.DataFrame(rows))}
    won = v[("T02", 1)]
    assert won["goal_met"] is True and won["beats_all_crps"] and won["beats_all_abs_err"]
    assert won["compared_with"] == list(FORECASTERS) and won["origins"] == [2019, 2020]
    assert won["loses_crps_to"] == [] and won["loses_abs_err_to"] == [] and won["in_goal"]
    tied = v[("T03", 2)]
    assert tied["beats_all_crps"] is True and tied["beats_all_abs_err"] is False
    assert tied["loses_abs_err_to"] == ["loglinear"] and tied["goal_met"] is False
    crps = v[("T04", 1)]
    assert (
        crps["loses_crps_to"] == ["gm11"] and crps["beats_all_abs_err"] is True and crps["goal_met"] is False
    )
    assert v[("T05", 1)]["goal_met"] is None and v[("T05", 1)]["compared_with"] == []
    assert v[("T05", 1)]["beats_all_crps"] is None and v[("T05", 1)]["beats_all_abs_err"] is None
    assert not v[("T05", 1)]["in_goal"] and not v[("T01", 3)]["in_goal"]
    assert v[("T01", 3)]["goal_met"] is True


@pytest.mark.parametrize(
    "change, key",
    [
        ({"origins": [2018]}, "origins"),
        ({"origins": [2021, 2021]}, "origins"),
        ({"replicates": 1}, "replicates"),
        ({"calibration": {"docs": True}}, "calibration.docs"),
        ({"calibration": {"n_keeep": 5}}, "calibration.n_keeep"),
        ({"calibration": {"n_keep": 500, "n_design": 64}}, "calibration.n_design"),
    ],
)
def test_bad_config_names_the_key(change, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        BacktestConfig(**change).validate()


def test_each_origin_calibrates_on_its_own_data_without_touching_sim_data():
    cfg = BacktestConfig(calibration={"n_design": 64, "n_keep": 8}).validate()
    c = cfg.calibration_config(2021)
    assert (c.through_year, c.write_posterior, c.docs, c.n_design) == (2021, False, False, 64)


def test_config_files_compose():
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from sim.runtime.config import build

    command = backtest.COMMAND
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=command.config_dir, version_base="1.3", job_name="test"):
            full = build(compose(command.config_name), BacktestConfig)
            smoke = build(compose(command.config_name, overrides=["size=smoke"]), BacktestConfig)
    finally:
        GlobalHydra.instance().clear()
    assert type(full) is BacktestConfig and isinstance(full.calibration, backtest.CalibrationBudget)
    assert full.docs and full.origins == [2019, 2020, 2021, 2022] and full.replicates >= 200
    assert not smoke.docs and smoke.calibration.n_design < full.calibration.n_design


def _run(args, cwd):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "sim.backtest", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize(
    "arg, key",
    [
        ("replicates=0", "replicates"),
        ("calibration.docs=true", "calibration.docs"),
        ("size=huge", "size"),
        ("origins=[2018]", "origins"),
        ("replicatess=3", "replicatess"),
    ],
)
def test_command_rejects_bad_input_with_one_line(tmp_path, arg, key):
    out = tmp_path / "out"
    res = _run([arg, f"hydra.run.dir={out}"], tmp_path)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0], res.stderr
    assert not out.exists() and not (tmp_path / "results").exists()


@pytest.mark.slow
def test_smoke_backtest_writes_report_json_and_figures(tmp_path):
    docs = [REPO / "docs" / "backtest.md", REPO / "docs" / "backtest.json"]
    before = [p.stat().st_mtime_ns if p.exists() else None for p in docs]
    out = tmp_path / "out"
    res = _run(["size=smoke", "progress=false", f"hydra.run.dir={out}"], tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    data = json.loads((out / "backtest.json").read_text())
    assert data["scores"], "no scores"
    fields = {
        "indicator",
        "origin",
        "horizon",
        "forecaster",
        "crps_rel",
        "is90_rel",
        "abs_err_rel",
        "covered90",
    }
    for row in data["scores"]:
        assert fields <= row.keys()
        assert row["forecaster"] in backtest.FORECASTER_NAMES
        assert 1 <= row["horizon"] <= 3 and row["origin"] + row["horizon"] <= 2023
        assert row["crps_rel"] >= 0 and row["is90_rel"] >= 0 and isinstance(row["covered90"], bool)
    keys = {(r["indicator"], r["origin"], r["horizon"], r["forecaster"]) for r in data["scores"]}
    assert len(keys) == len(data["scores"])  # one entry per (indicator, origin, horizon, forecaster)
    assert {r["forecaster"] for r in data["scores"]} == set(backtest.FORECASTER_NAMES)
    prov = data["provenance"]
    assert prov["config"]["size"] == "smoke" and prov["git"] and prov["data"]["sha256"] and prov["command"]
    text = (out / "backtest.md").read_text()
    for ind in backtest.INDICATORS:
        assert (out / "figures" / f"backtest_{ind}.png").stat().st_size > 0
        assert f"figures/backtest_{ind}.png" in text
    assert "The goal" in text and "Mean relative CRPS" in text
    assert [p.stat().st_mtime_ns if p.exists() else None for p in docs] == before  # smoke leaves docs alone
    # same seed and config, other number of processes: the same scores
    again = _run(["size=smoke", "progress=false", "jobs=2", f"hydra.run.dir={tmp_path / 'again'}"], tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads((tmp_path / "again" / "backtest.json").read_text())["scores"] == data["scores"]


def _forecast(indicator, origin, horizon, forecaster, observed, median, lo, hi, crps):
    return {
        "indicator": indicator,
        "origin": origin,
        "horizon": horizon,
        "forecaster": forecaster,
        "observed": observed,
        "median": median,
        "lo90": lo,
        "hi90": hi,
        "crps_rel": crps,
        "abs_err_rel": abs(median - observed) / observed,
    }


def test_where_the_model_loses_names_bias_or_width_against_the_forecaster_that_beats_it():
    """T03: medians 10 % and 20 % low at both origins, bands like gm11's: bias (under-forecast). T04: medians
    on either side, bands 4x gm11's: width. The rival is the forecaster the cells lose to; forecasts are paired
    on common origins (gm11's lone 2021 forecast of T01 has no model partner and gives no line)."""
    from sim.calibration.backtest.report import loss_lines, losses

    scores = []
    for origin, low in ((2020, 0.9), (2021, 0.8)):
        scores += [
            _forecast("T03", origin, 1, "model", 100.0, 100.0 * low, 90.0 * low, 110.0 * low, 0.10),
            _forecast("T03", origin, 1, "gm11", 100.0, 100.0, 90.0, 110.0, 0.01),
        ]
    for origin, off in ((2020, 1.05), (2021, 0.95)):
        scores += [
            _forecast("T04", origin, 1, "model", 100.0, 100.0 * off, 60.0, 140.0, 0.05),
            _forecast("T04", origin, 1, "gm11", 100.0, 100.0, 95.0, 105.0, 0.01),
        ]
    goal = [
        {
            "indicator": i,
            "horizon": 1,
            "in_goal": True,
            "goal_met": False,
            "loses_crps_to": ["gm11"],
            "loses_abs_err_to": [],
        }
        for i in ("T03", "T04")
    ] + [
        {
            "indicator": "T02",
            "horizon": 1,
            "in_goal": True,
            "goal_met": True,
            "loses_crps_to": [],
            "loses_abs_err_to": [],
        }
    ]
    result = {"scores": scores, "goal": goal}
    by = {d["indicator"]: d for d in losses(result)}
    assert set(by) == {"T03", "T04"}  # T02 meets its goal
    t03, t04 = by["T03"], by["T04"]
    assert (t03["n"], t03["below"], t03["bias"], t03["wide"]) == (2, 2, True, False)
    assert t03["err_mean"] == pytest.approx(-0.15) and t03["err_min"] == pytest.approx(-0.2)
    assert t03["width"] == pytest.approx(0.2 * 0.85) and t03["width_rival"] == pytest.approx(0.2)
    assert (t04["bias"], t04["wide"]) == (False, True) and t04["width"] / t04["width_rival"] == pytest.approx(
        8.0
    )
    lines = loss_lines(result)
    assert "below the data in 2 of 2" in lines[0] and "under-forecast" in lines[0] and "`gm11`" in lines[0]
    assert "8.0x as wide" in lines[1] and "sit" not in lines[1]


def test_rerender_rewrites_the_page_from_its_json_and_refuses_a_bad_file(tmp_path, capsys):
    """The committed scores re-render to a page with its 'where the model loses' section; a file that is not
    a backtest's json gives one line and exit 2, and no page."""
    from sim.calibration.backtest import rerender

    src = tmp_path / "backtest.json"
    src.write_text((REPO / "docs" / "backtest.json").read_text(encoding="utf-8"), encoding="utf-8")
    assert rerender.main([str(src)]) == 0
    page = (tmp_path / "backtest.md").read_text(encoding="utf-8")
    assert page.startswith("# Backtest") and "](backtest_figures/backtest_T01.png)" in page
    assert ("## Where the model loses" in page) == any(
        g["in_goal"] and not g["goal_met"] for g in json.loads(src.read_text())["goal"]
    )
    bad = tmp_path / "other.json"
    bad.write_text('{"scores": []}')
    assert rerender.main([str(bad), "--out", str(tmp_path / "other.md")]) == 2
    assert not (tmp_path / "other.md").exists()
    assert "not a backtest's backtest.json" in capsys.readouterr().err


def test_the_committed_page_is_the_render_of_the_committed_scores():
    """docs/backtest.md is what the committed report code makes of docs/backtest.json (after a change to
    the report's code: python -m sim.calibration.backtest.rerender)."""
    from sim.calibration.backtest.report import render_markdown

    result = json.loads((REPO / "docs" / "backtest.json").read_text(encoding="utf-8"))
    page = (REPO / "docs" / "backtest.md").read_text(encoding="utf-8")
    assert render_markdown(result, "backtest_figures") == page, (
        "docs/backtest.md is stale: python -m sim.calibration.backtest.rerender"
    )
