"""How far to trust an answer (``sim.pipeline.credibility``): the fit and backtest lines beside P(reach).

The logic is tested on small hand-written files (a fit where T03's data leave the band, a backtest the
model loses on T01 and wins on T02, T05 with no naive forecaster), so the tests do not depend on the
committed calibration and backtest, which the lead reruns; one test checks that the committed files are
read and belong together.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from sim.model.outcomes import HEADLINE
from sim.paths import BACKTEST_JSON, POSTERIOR_CSV, posterior_fit_path
from sim.pipeline import credibility, ensemble, report

SHA = "a" * 64


def point(year, data, lo, hi, median=None):
    median = (lo + hi) / 2 if median is None else median
    return {
        "year": year,
        "data": data,
        "median": median,
        "band_lo": lo,
        "band_hi": hi,
        "error_pct": 100 * (median - data) / data,
        "covered": lo <= data <= hi,
        "goal_met": None,
        "fitted": True,
    }


def write_fit(folder: Path, sha: str = SHA, commit: str | None = None, years=range(2019, 2024)) -> Path:
    """A fit file: every headline target inside its band, except T03 whose last two years are above it."""
    indicators = {tid: [point(y, 100.0, 90.0, 110.0, 101.0) for y in years] for tid in HEADLINE}
    indicators["T03"][-2:] = [point(y, 130.0, 80.0, 120.0, 100.0) for y in list(years)[-2:]]
    indicators["extra_series"] = [point(2020, 5.0, 1.0, 2.0)]  # an indicator a future calibration adds
    path = folder / "posterior_fit.json"
    path.write_text(
        json.dumps(
            {
                "posterior_csv_sha256": sha,
                "calibration": {"created": "2030-01-01T00:00:00", "commit": commit, "dirty": False},
                "ppc": {"band": [0.05, 0.95]},
                "indicators": indicators,
            }
        )
    )
    return path


def write_backtest(folder: Path, commit: str | None = None) -> Path:
    """The model loses T01 to 'trend' (CRPS 0.10 vs 0.02), beats every forecaster on T02, T05 has none."""
    rows = []
    for origin in (2020, 2021):
        for h in (1, 2):
            rows += [
                {"indicator": "T01", "origin": origin, "horizon": h, "forecaster": "model", "crps_rel": 0.10},
                {"indicator": "T01", "origin": origin, "horizon": h, "forecaster": "trend", "crps_rel": 0.02},
                {"indicator": "T01", "origin": origin, "horizon": h, "forecaster": "walk", "crps_rel": 0.20},
                {"indicator": "T02", "origin": origin, "horizon": h, "forecaster": "model", "crps_rel": 0.01},
                {"indicator": "T02", "origin": origin, "horizon": h, "forecaster": "trend", "crps_rel": 0.05},
                {"indicator": "T05", "origin": origin, "horizon": h, "forecaster": "model", "crps_rel": 0.03},
            ]
    rows.append({"indicator": "T01", "origin": 2022, "horizon": 1, "forecaster": "walk", "crps_rel": 0.0})
    path = folder / "backtest.json"
    prov = {"created": "2030-01-02T00:00:00", "git": {"commit": commit, "dirty": False}}
    path.write_text(json.dumps({"provenance": prov, "scores": rows}))
    return path


def posterior_info(folder: Path, sha: str = SHA) -> dict:
    """What ``ParamSets.info`` says of a posterior at ``folder/posterior.csv``."""
    return {"source": str(folder / "posterior.csv"), "path": str(folder / "posterior.csv"), "sha256": sha}


def test_fit_and_backtest_lines_and_caveats(tmp_path):
    write_fit(tmp_path)
    cred = credibility.assess(posterior_info(tmp_path), backtest_path=write_backtest(tmp_path))
    assert cred["note"] == credibility.MC_NOTE and "Monte Carlo error only" in cred["note"]
    t = cred["targets"]
    assert list(t) == list(HEADLINE)
    # T03's data above the band in 2022 and 2023: by how much (130 vs a band up to 120: 7.7 % of the data)
    fit = t["T03"]["fit"]
    assert (fit["inside_band"], fit["points"]) == (3, 5)
    assert [m["year"] for m in fit["missed"]] == [2022, 2023]
    assert fit["missed"][0]["data"] == "above" and fit["missed"][0]["outside_band_pct"] == pytest.approx(
        100 * 10 / 130
    )
    assert (
        "3 of 5 data points inside the 90 % band" in fit["line"] and "2022 (data 7.7 % above" in fit["line"]
    )
    assert "2022, 2023" in t["T03"]["caveat"]
    # T01: the best naive forecaster is the one the model loses to most, on the cells both forecast
    bt = t["T01"]["backtest"]
    assert bt["verdict"] == "loses" and bt["best_naive"]["forecaster"] == "trend"
    assert bt["best_naive"]["ratio"] == pytest.approx(5.0) and bt["best_naive"]["cells"] == 4
    assert "loses to trend" in bt["line"] and "5.0x" in t["T01"]["caveat"]
    # T02 fits and wins: no caveat; T05 has no naive forecaster: untested, no caveat
    assert t["T02"]["backtest"]["verdict"] == "beats" and t["T02"]["caveat"] is None
    assert t["T05"]["backtest"]["verdict"] == "untested" and t["T05"]["caveat"] is None
    assert credibility.caveated(cred) == {"T01", "T03"}
    lines = credibility.target_lines(cred)
    assert lines["T03"].startswith("T03: fit 2019-2023: 3 of 5") and "Caveat" in lines["T03"]
    assert "Caveat" not in lines["T02"]
    json.dumps(cred)  # summary.json holds it


def test_years_and_indicators_come_from_the_file(tmp_path):
    """A recalibration to other years drops in: the lines use the file's years."""
    write_fit(tmp_path, years=range(2019, 2026))
    cred = credibility.assess(posterior_info(tmp_path), backtest_path=write_backtest(tmp_path))
    assert cred["targets"]["T01"]["fit"]["line"].startswith("2019-2025: 7 of 7")
    assert [m["year"] for m in cred["targets"]["T03"]["fit"]["missed"]] == [2024, 2025]


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("missing", credibility.MISSING),
        ("unreadable", credibility.UNREADABLE),
        ("other posterior", credibility.OTHER_POSTERIOR),
        ("uncalibrated", credibility.UNCALIBRATED),
    ],
)
def test_a_fit_that_cannot_be_used_is_said_not_raised(tmp_path, case, status):
    info = posterior_info(tmp_path)
    if case == "unreadable":
        (tmp_path / "posterior_fit.json").write_text("{not json")
    elif case == "other posterior":
        write_fit(tmp_path, sha="b" * 64)
    elif case == "uncalibrated":
        info = ensemble.load_param_sets("none").info
    cred = credibility.assess(info, backtest_path=write_backtest(tmp_path))
    assert cred["fit"]["status"] == status
    assert cred["fit"]["message"]
    assert all(t["fit"]["line"] == "not available (see above)" for t in cred["targets"].values())
    assert cred["targets"]["T01"]["backtest"]["verdict"] == "loses"  # the backtest still shows


def test_a_missing_backtest_is_said_not_raised(tmp_path):
    write_fit(tmp_path)
    cred = credibility.assess(posterior_info(tmp_path), backtest_path=tmp_path / "nowhere.json")
    assert (
        cred["backtest"]["status"] == credibility.MISSING and "make backtest" in cred["backtest"]["message"]
    )
    assert cred["targets"]["T03"]["caveat"]  # the fit's caveat stands alone
    assert cred["targets"]["T01"]["caveat"] is None


def _git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_files_made_with_other_model_code_say_so(tmp_path, monkeypatch):
    """The model version is the git state of sim/model and the data: a changed model flags both files."""
    repo = tmp_path / "repo"
    (repo / "sim" / "model").mkdir(parents=True)
    (repo / "sim" / "data").mkdir(parents=True)
    rule = repo / "sim" / "model" / "rule.py"
    rule.write_text("RATE = 1\n")
    (repo / "sim" / "data" / "posterior.csv").write_text("a\n")
    _git(repo, "init", "-q")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "model")
    commit = _git(repo, "rev-parse", "HEAD")
    assert credibility.model_changed_since(commit, repo) is False
    (repo / "sim" / "data" / "posterior.csv").write_text("b\n")  # a new posterior is not a new model
    assert credibility.model_changed_since(commit, repo) is False
    rule.write_text("RATE = 2\n")
    assert credibility.model_changed_since(commit, repo) is True
    assert credibility.model_changed_since("0" * 40, repo) is None  # not in this repository
    assert credibility.model_changed_since(None, repo) is None

    calls = []
    monkeypatch.setattr(credibility, "model_changed_since", lambda c: calls.append(c) or True)
    write_fit(tmp_path, commit=commit)
    cred = credibility.assess(posterior_info(tmp_path), backtest_path=write_backtest(tmp_path, commit=commit))
    for source in (cred["fit"], cred["backtest"]):
        assert source["status"] == credibility.OTHER_MODEL and source["model_changed"] is True
        assert f"changed after commit {commit[:10]}" in source["message"]
    assert calls == [commit, commit]
    assert cred["targets"]["T03"]["caveat"]  # still shown, with the warning above it


@pytest.mark.parametrize(
    "changes, code",
    [
        ([" M docs/model.md", "?? notes.txt"], False),
        ([" M docs/model.md", " M sim/model/rule.py"], True),
        (["R  docs/a.md -> sim/b.py"], True),  # a rename into the code
        ([], True),  # dirty, but what changed is not recorded: assume the worst
    ],
)
def test_uncommitted_changes_are_flagged_only_when_they_touch_the_code(tmp_path, monkeypatch, changes, code):
    """A fit or backtest made with uncommitted changes to the documentation only says so without the
    warning; one with changes under sim/ or configs/ (or unrecorded ones) keeps it. A fit file without
    the list takes it from the posterior's provenance when that names the same commit."""
    monkeypatch.setattr(credibility, "model_changed_since", lambda c: False)
    commit = "a" * 40
    fit = write_fit(tmp_path, commit=commit)
    data = json.loads(fit.read_text())
    data["calibration"]["dirty"] = True  # no "changes" in the fit file: read from posterior.json
    fit.write_text(json.dumps(data))
    (tmp_path / "posterior.json").write_text(json.dumps({"git": {"commit": commit, "changes": changes}}))
    bt = write_backtest(tmp_path, commit=commit)
    data = json.loads(bt.read_text())
    data["provenance"]["git"].update(dirty=True, changes=changes)
    bt.write_text(json.dumps(data))
    cred = credibility.assess(posterior_info(tmp_path), backtest_path=bt)
    for source in (cred["fit"], cred["backtest"]):
        assert ("made from uncommitted changes" in source["message"]) is code
        assert ("outside the code only (docs/model.md, notes.txt)" in source["message"]) is not code


def test_the_committed_fit_belongs_to_the_committed_posterior():
    """A fresh clone shows the fit: sim/data/posterior_fit.json is the committed posterior's (rerunning
    python -m sim.calibrate rewrites both), and the committed backtest is read."""
    info = ensemble.load_param_sets("default").info
    cred = credibility.assess(info)
    assert cred["fit"]["status"] in credibility.USABLE, cred["fit"]["message"]
    assert cred["backtest"]["status"] in credibility.USABLE, cred["backtest"]["message"]
    assert posterior_fit_path(POSTERIOR_CSV).is_file() and BACKTEST_JSON.is_file()
    for tid in HEADLINE:
        t = cred["targets"][tid]
        assert t["fit"]["points"] > 0 and "inside the 90 % band" in t["fit"]["line"]
        assert t["backtest"]["verdict"] in ("beats", "loses", "untested")
        assert (t["caveat"] is not None) == bool(t["fit"]["missed"] or t["backtest"]["verdict"] == "loses")


def test_targets_md_shows_the_credibility_under_the_table(tmp_path):
    write_fit(tmp_path)
    cred = credibility.assess(posterior_info(tmp_path), backtest_path=write_backtest(tmp_path))
    summary = {
        "scenario": "plan",
        "replicates": 10,
        "seed": 0,
        "replicate_range": [0, 10],
        "scale": 0.1,
        "posterior": "default",
        "headline": list(HEADLINE),
        "indicators": {
            tid: {
                "name": tid,
                "unit": "firms",
                "target": 1.0,
                "target_year": 2026,
                "by_year": {"2026": {"p05": 0.5, "p50": 1.0, "p95": 1.5}},
                "p_reach": 0.5,
                "p_reach_ci95": [0.2, 0.8],
            }
            for tid in HEADLINE
        },
        "credibility": cred,
    }
    text = report.targets_table(summary)
    assert "Monte Carlo error only" in text and "How far to trust these numbers" in text
    table = [ln for ln in text.splitlines() if ln.startswith("| T")]
    assert len(table) == len(HEADLINE)
    assert [ln.split("|")[1].split()[0] for ln in table if "(caveat)" in ln] == ["T01", "T03"]
    for line in credibility.target_lines(cred, markdown=True).values():
        assert f"- {line}" in text
