"""The lever explorer without a browser: controls, statistics, the background engine, the command.

The browser test (tests/test_explorer_browser.py) drives the served page; these check the parts.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import threading

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sstats

from sim.model.evaluate import Indicators
from sim.model.outcomes import HEADLINE
from sim.model.params import spec
from sim.model.policy import PolicyLevers
from sim.pipeline import ensemble, report
from sim.pipeline.explorer import adapter, charts, stats
from sim.pipeline.explorer.engine import Engine, Setting

SCALE = 0.03  # a few hundred firms: fast, every rule still runs


def cjk_free(text: str) -> bool:
    return all(ord(ch) < 0x2E80 for ch in text)


# --------------------------------------------------------------------------- controls
def test_a_control_for_every_lever_with_unit_range_and_kind():
    levers = {lv.name: lv for lv in adapter.levers()}
    assert list(levers) == [f.name for f in dataclasses.fields(PolicyLevers)]
    for f in dataclasses.fields(PolicyLevers):
        lv = levers[f.name]
        assert (lv.lo, lv.hi) == tuple(f.metadata["range"])
        assert lv.integer == (f.metadata["kind"] is int)
        assert lv.unit and cjk_free(lv.unit), lv.unit  # English units: no boxes on a fresh machine
        assert 0 < lv.step <= (lv.slider_hi - lv.lo) / 100
        if lv.integer:
            assert lv.step == int(lv.step) and isinstance(lv.coerce(2.6), int)
    assert levers["voucher_budget"].unit.startswith("100 million yuan")


def test_sliders_span_a_range_around_the_plan_and_the_box_takes_the_whole_range():
    """A slider runs from the lower bound to a round number at 3-4x the plan (or the 2023 level), so a
    drag moves a lever by useful amounts; the whole validated range is still typeable."""
    for lv in adapter.levers():
        base = max(lv.plan, lv.level_2023)
        assert lv.lo < lv.plan < lv.slider_hi <= lv.hi, lv.name
        assert min(lv.hi, 3 * base) - 1e-9 <= lv.slider_hi <= min(lv.hi, 4 * base), (lv.name, lv.slider_hi)
    fund = {lv.name: lv for lv in adapter.levers()}["fund_size"]
    assert (fund.slider_hi, fund.hi) == (1500.0, 10000)  # the plan's 500 a third of the way, not at 5 %
    assert adapter.check_lever("fund_size", 9000.0) is None  # beyond the slider, typeable


def test_a_start_year_makes_the_path_python_m_sim_takes():
    """From a start year: the 2023 level before, the value from that year; from 2024: the one value."""
    levers = {lv.name: lv for lv in adapter.levers()}
    vouchers, carriers = levers["voucher_budget"], levers["incubators"]
    assert adapter.start_years(2026) == [2024, 2025, 2026]
    assert vouchers.path(4.0, 2024) == 4.0
    assert vouchers.path(4.0, 2026) == [1.0, 1.0, 4.0]  # 1.0: the 2023 level
    assert carriers.path(600, 2025) == [461, 600] and isinstance(carriers.path(600.0, 2025)[0], int)
    for value, start in ((4.0, 2024), (4.0, 2025), (4.0, 2026)):
        assert vouchers.split(vouchers.path(value, start)) == (value, start)
    setting = Setting.of({**adapter.scenario_values("plan"), "voucher_budget": vouchers.path(4.0, 2025)})
    hash(setting)  # a path is part of a hashable setting (the engine keys its results by setting)
    assert setting.values()["voucher_budget"] == [1.0, 4.0]
    assert setting.to_levers().voucher_budget == [1.0, 4.0]
    assert adapter.describe_setting([1.0, 4.0]) == "[1.0,4.0]"  # as python -m sim takes it
    mapped = Setting.of({**adapter.scenario_values("plan"), "fund_size": {2026: 900.0}})
    assert mapped.to_levers().fund_size == {2026: 900.0} and mapped != Setting.scenario("plan")


def test_a_new_lever_gets_a_control_without_code(monkeypatch):
    @dataclasses.dataclass
    class More(PolicyLevers):
        cluster_projects: int = spec(100, "cluster projects", 0, 900, "test")

    monkeypatch.setattr(adapter, "PolicyLevers", More)
    new = adapter.levers()[-1]
    assert (new.name, new.integer, new.lo, new.hi, new.unit) == (
        "cluster_projects",
        True,
        0,
        900,
        "cluster projects",
    )


@pytest.mark.parametrize(
    "name, value, words",
    [
        ("voucher_budget", -1, "allowed range is [0, 50] (100 million yuan a year)"),
        ("fund_size", "lots", "must be a number between 0 and 10000"),
        ("incubators", 2.5, "must be a whole number"),
        ("rd_subsidy_rate", float("nan"), "allowed range is [0, 1]"),
    ],
)
def test_bad_values_are_refused_with_the_fields_message(name, value, words):
    message = adapter.check_lever(name, value)
    assert message is not None and message.startswith(f"policy.{name} = ") and words in message
    assert cjk_free(message)


def test_good_values_pass_and_scenarios_are_valid_settings():
    assert adapter.check_lever("voucher_budget", 0) is None
    assert adapter.check_lever("incubators", 600) is None
    for name in adapter.scenario_names():
        assert Setting.scenario(name).to_levers() == adapter.make_levers(adapter.scenario_values(name))
    with pytest.raises(adapter.ConfigError, match="effects"):
        Setting.of(adapter.scenario_values("plan"), effects="wild")


# --------------------------------------------------------------------------- statistics
def test_median_interval_covers_the_true_median():
    """Coverage over 4,000 samples of 40 exponentials (true median ln 2) is at least 95 %.

    The order-statistic interval is exact (coverage 96.2 % at n = 40); 4,000 trials give a
    standard error of 0.3 points, so the bounds 0.94-0.98 allow for 7 standard errors.
    """
    rng = np.random.default_rng(1)
    hits = 0
    trials = 4000
    for _ in range(trials):
        lo, hi = stats.median_ci(rng.exponential(size=40))
        hits += lo <= np.log(2) <= hi
    assert 0.94 <= hits / trials <= 0.98


def test_median_interval_needs_six_values_and_means_use_student_t():
    assert stats.median_ci(np.arange(5.0)) is None
    assert stats.median_ci(np.arange(6.0)) == (0.0, 5.0)
    mean, (lo, hi) = stats.mean_ci(np.array([1.0, 2.0, 3.0]))
    half = sstats.t.ppf(0.975, 2) / np.sqrt(3)
    assert mean == 2.0 and np.isclose(lo, 2 - half) and np.isclose(hi, 2 + half)
    assert stats.mean_ci(np.array([4.0])) == (4.0, None)


def fake(values: dict[str, float], rep: int, cost: float) -> adapter.Replicated:
    """A replicate whose 2026 values are ``values`` (earlier years: half of them)."""
    annual = pd.DataFrame({tid: [v / 2, v] for tid, v in values.items()}, index=[2025, 2026])
    return adapter.Replicated(
        ensemble.tidy([ensemble.Replicate(rep, rep, 0, rep)], [Indicators.of(annual)]), cost
    )


def test_summary_matches_the_report_and_pairs_with_the_plan():
    rng = np.random.default_rng(3)
    n = 30
    plan_vals = {t: rng.normal(1.0, 0.2, n) * adapter.target(t).target for t in HEADLINE}
    plan = [fake({t: plan_vals[t][i] for t in HEADLINE}, i, 30.0 + i) for i in range(n)]
    more = [fake({t: plan_vals[t][i] * 1.1 for t in HEADLINE}, i, 40.0 + i) for i in range(n)]
    s = stats.summarise(more, plan, 2026)
    assert s.n == n
    results = pd.concat([r.results for r in more])
    for row in s.rows:
        v = plan_vals[row.tid] * 1.1
        assert row.median == pytest.approx(np.quantile(v, 0.5))
        r = report.reach(v, row.target)
        assert row.p_reach == r["p_reach"] and list(row.p_reach_ci) == r["p_reach_ci95"]
        assert row.diff == pytest.approx(np.mean(v - plan_vals[row.tid]))
        assert row.dp_reach == pytest.approx(
            r["p_reach"] - report.reach(plan_vals[row.tid], row.target)["p_reach"]
        )
        assert s.fans[row.tid].years == [2025, 2026]
        assert s.fans[row.tid].quantiles[0.5][1] == pytest.approx(
            results[results.indicator == row.tid].query("year == 2026")["value"].median()
        )
    cost = np.array([40.0 + i for i in range(n)])
    # the cost as summary.json gives it: median and the 5 %-95 % range (np.quantile), and the plan's median
    assert (s.cost.p05, s.cost.median, s.cost.p95) == tuple(np.quantile(cost, [0.05, 0.5, 0.95]))
    assert s.cost.median_ci == stats.median_ci(cost) and s.cost.plan_median == np.quantile(cost - 10, 0.5)
    assert s.cost.diff == pytest.approx(10.0) and s.cost.diff_ci == pytest.approx((10.0, 10.0))
    same = stats.summarise(plan, plan, 2026)
    assert all(r.diff == 0 and r.dp_reach == 0 for r in same.rows)


def test_paired_differences_say_when_n_is_too_small_and_keep_their_digits():
    """The page's differences print through sim.pipeline.paired.difference_text: below MIN_PAIRS pairs the
    interval reads "n too small to resolve"; from there, a small effect keeps its significant figures."""
    from types import SimpleNamespace

    from sim.pipeline.explorer import page
    from sim.pipeline.paired import MIN_PAIRS

    rng = np.random.default_rng(5)
    for n in (MIN_PAIRS - 10, MIN_PAIRS + 10):
        base = {t: rng.normal(1.0, 0.2, n) * adapter.target(t).target for t in HEADLINE}
        plan = [fake({t: base[t][i] for t in HEADLINE}, i, 30.0) for i in range(n)]
        # T01 up by 0.01 % of its target (0.6 亿元) in every replicate: a small effect, not "+0"
        step = {t: 0.0001 * adapter.target(t).target if t == "T01" else 0.0 for t in HEADLINE}  # T01: +0.6
        more = [fake({t: base[t][i] + step[t] for t in HEADLINE}, i, 30.002) for i in range(n)]
        s = stats.summarise(more, plan, 2026)
        row = s.rows[0]
        estimate, interval = row.diff_text()
        assert estimate == "+0.60"
        cost, cost_interval = s.cost.diff_text()
        assert cost == "+0.0020"
        html = page.results_table(SimpleNamespace(summary=s, setting=Setting.scenario(adapter.BASELINE), n=n))
        if n < MIN_PAIRS:
            assert interval == f"n too small to resolve: {n} pairs < {MIN_PAIRS}"
            assert cost_interval == interval and html.count("n too small to resolve") == 2 * len(HEADLINE) + 1
        else:
            assert interval == f"{estimate} – {estimate}" and "n too small" not in html
            assert row.dp_reach_text()[1].startswith("no pair differs")  # not a collapsed [+0.0, +0.0]


def test_each_numbers_element_says_which_snapshot_it_shows():
    """The browser updates the page's widgets one after another, so each element with a snapshot's numbers
    carries the snapshot's tag: every lever's setting as ``python -m sim`` takes it, the effects and n."""
    from types import SimpleNamespace

    from sim.pipeline.explorer import page

    plan = adapter.scenario_values(adapter.BASELINE)
    late = {**plan, "voucher_budget": [1.0, 2.0]}
    tags = {}
    for name, values, n in [("plan", plan, 7), ("plan8", plan, 8), ("late", late, 7)]:
        tags[name] = page.snapshot_tag(SimpleNamespace(setting=Setting.of(values), n=n))
    assert len(set(tags.values())) == 3  # the setting and the count both tell snapshots apart
    levers, effects, n = tags["late"].split("; ")
    assert levers.split(", ") == [f"{k}={adapter.describe_setting(v)}" for k, v in late.items()]
    assert "voucher_budget=[1.0,2.0]" in levers.split(", ") and n == "n=7"
    assert effects == f"effects {adapter.EFFECTS[0]}"


def test_the_page_says_how_far_to_trust_each_target():
    from sim.pipeline import credibility
    from sim.pipeline.explorer import page

    cred = credibility.assess(ensemble.load_param_sets("default").info)
    html = page.trust_html(cred)
    assert 'data-testid="credibility"' in html and "Monte Carlo error only" in html
    for tid in HEADLINE:
        assert f"<br>{tid}: fit " in html


def test_fan_chart_options_are_strict_json():
    """Missing values (T01 has none for 2018) must be null: NaN breaks the browser's JSON parser."""
    n = 8
    reps = []
    for i in range(n):
        annual = pd.DataFrame(
            {t: [np.nan if t == "T01" else 1.0 + i, 2.0 + i] for t in HEADLINE}, index=[2018, 2026]
        )
        reps.append(
            adapter.Replicated(ensemble.tidy([ensemble.Replicate(i, i, 0, i)], [Indicators.of(annual)]), 1.0)
        )
    s = stats.summarise(reps, reps, 2026)
    for tid in HEADLINE:
        option = charts.fan_option(tid, s.fans[tid], n)
        text = json.dumps(option, allow_nan=False)
        assert "target" in text and "observed" in text and cjk_free(text)
    assert s.fans["T01"].quantiles[0.5][0] is None


# --------------------------------------------------------------------------- engine
@pytest.fixture(scope="module")
def engine():
    eng = Engine(scale=SCALE, replicates=6, jobs=1)
    yield eng
    eng.close()


def test_engine_replicates_are_those_of_python_m_sim(engine):
    """Replicate i of every setting is replicate i of the ensemble ``python -m sim`` runs (a lever set
    as a path from a start year, another as one value)."""
    values = {**adapter.scenario_values("plan"), "voucher_budget": [1.0, 8.0], "fund_size": 900.0}
    setting = Setting.of(values)
    snap = engine.wait(setting, 6, timeout=300)
    assert snap.n == 6 and snap.error is None and snap.complete
    sets = ensemble.load_param_sets("default")
    plan = ensemble.plan_replicates(0, range(6), len(sets), sets.weights)
    direct = ensemble.run_ensemble(
        adapter.make_levers(values), plan, param_sets=sets.sets, scale=SCALE, jobs=1, progress=False
    )
    base = ensemble.run_ensemble(
        adapter.make_levers(adapter.scenario_values("plan")),
        plan,
        param_sets=sets.sets,
        scale=SCALE,
        jobs=1,
        progress=False,
    )
    for row in snap.summary.rows:
        want = report.indicator_summary(direct, row.tid, 2026)
        assert row.median == want["by_year"]["2026"]["p50"]
        assert row.p_reach == want["p_reach"]
        d = (
            direct[(direct.indicator == row.tid) & (direct.year == 2026)]
            .sort_values("replicate")["value"]
            .to_numpy()
        )
        b = (
            base[(base.indicator == row.tid) & (base.year == 2026)]
            .sort_values("replicate")["value"]
            .to_numpy()
        )
        assert row.diff == pytest.approx(np.mean(d - b))


def test_follow_streams_growing_snapshots_and_stops_when_cancelled(engine):
    setting = Setting.of({**adapter.scenario_values("plan"), "roadshows_per_year": 900})
    cancel = threading.Event()
    seen = [snap.n for snap in engine.follow(setting, cancel, min_interval=0.0)]
    assert seen == sorted(seen) and seen[-1] == 6
    other = Setting.of({**adapter.scenario_values("plan"), "roadshows_per_year": 901})
    cancel.set()
    assert list(engine.follow(other, cancel)) == []  # a cancelled follower ends at once
    assert not engine._wanted or all(s != other for s, _ in engine._wanted.values())


# --------------------------------------------------------------------------- the command
@pytest.mark.parametrize(
    "args, words",
    [
        (["--port", "0"], "--port 0: must be a whole number in [1, 65535]"),
        (["--replicates", "1"], "--replicates 1: must be a whole number in [2, 100000]"),
        (["--scale", "0"], "--scale = 0.0: allowed range is [0.001, 50]"),
        (["--jobs", "0"], "--jobs 0: must be a whole number in [1, 256]"),
    ],
)
def test_app_refuses_bad_options_in_one_line(args, words, capsys):
    from sim import app

    with pytest.raises(SystemExit) as exc:
        app.main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("config error: ") and words in err and "\n" not in err


def test_app_refuses_a_port_in_use(capsys):
    from sim import app

    with socket.socket() as s:
        s.bind((app.HOST, 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(SystemExit):
            app.main(["--port", str(port)])
    assert f"--port {port}: {app.HOST}:{port} is in use" in capsys.readouterr().err
