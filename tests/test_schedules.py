"""Levers that change by year: one value, or a per-year path from 2024 (a list, or a mapping from year).

The rule (``sim.model.policy.instrument.Lever``): a list gives 2024, 2025, ...; a mapping gives the
lever from each of its years on, the plan before its first year; each given value holds until the next
given year and the last one to ``end_year``; a path's values are the lever's level (no build-up ramp).
Checked here: the rule, the messages naming field and year, the Hydra forms (override, sweep, saved
experiment), the Python API (also mid-run), what a run spends, bit-identity with one value, the
study helpers, and a sweep of paths through ``python -m sim`` and ``sim.analyze``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from sim.model import InnovationModel
from sim.model.evaluate import ModelRun, evaluate
from sim.model.params import ConfigError
from sim.model.policy import LEVERS, PolicyLevers, as_override, central_effects
from sim.model.policy.vouchers import REDEEM
from sim.pipeline.run import COMMAND, SimConfig, precheck
from sim.pipeline.study.design import RunSpec, lever_value, with_levers
from sim.runtime.config import build

ROOT = Path(__file__).resolve().parent.parent
SCALE = 0.05  # vouchers: 4 亿元 a year is 4,000 vouchers, 200 at this scale


# --------------------------------------------------------------------------- the rule
def test_a_list_gives_the_lever_year_by_year_from_2024_and_holds_its_last_value():
    vouchers = LEVERS["voucher_budget"]
    levels = {y: vouchers.level([0, 4, 4], y) for y in range(2019, 2031)}
    assert [levels[y] for y in range(2019, 2024)] == [vouchers.history[y] for y in range(2019, 2024)]
    assert [levels[y] for y in range(2024, 2031)] == [0.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert [vouchers.level([0, 3], y) for y in (2024, 2025, 2026, 2030)] == [0.0, 3.0, 3.0, 3.0]


def test_a_mapping_follows_the_plan_before_its_first_year_and_holds_each_value():
    fund = LEVERS["fund_size"]
    assert [fund.level({2026: 1000}, y) for y in (2023, 2024, 2025, 2026, 2030)] == [
        fund.level_2023,
        fund.plan,
        fund.plan,
        1000.0,
        1000.0,
    ]
    steps = {2025: 700, 2027: 900}
    assert [fund.level(steps, y) for y in range(2024, 2029)] == [fund.plan, 700.0, 700.0, 900.0, 900.0]


def test_a_build_up_lever_ramps_to_one_value_but_a_path_gives_its_level_each_year():
    carriers = LEVERS["incubators"]  # 461 in 2023, the plan's 481 in 2026
    assert carriers.build_up
    ramp = [carriers.level(600, y) for y in (2024, 2025, 2026, 2027)]
    assert ramp == [float(round(461 + k * 139 / 3)) for k in (1, 2, 3)] + [600.0]
    assert [carriers.level({2025: 600}, y) for y in (2024, 2025, 2026)] == [
        carriers.level(carriers.plan, 2024),  # before the mapping's first year: the plan's build-up
        600.0,
        600.0,
    ]
    assert [carriers.level([461, 500, 600], y) for y in (2024, 2025, 2026, 2027)] == [
        461.0,
        500.0,
        600.0,
        600.0,
    ]


# --------------------------------------------------------------------------- checking
@pytest.mark.parametrize(
    ("lever", "value", "message"),
    [
        (
            "voucher_budget",
            [0, -1, 4],
            "policy.voucher_budget[2025] = -1: allowed range is [0, 50] (亿元 a year)",
        ),
        ("voucher_budget", {2026: 51}, "policy.voucher_budget[2026] = 51: allowed range is [0, 50]"),
        ("voucher_budget", [1, "x"], "policy.voucher_budget[2025] = 'x': must be a number between 0 and 50"),
        ("voucher_budget", [True], "policy.voucher_budget[2024] = True: must be a number"),
        (
            "rd_subsidy_rate",
            [0.1, float("nan")],
            "policy.rd_subsidy_rate[2025] = nan: allowed range is [0, 1]",
        ),
        (
            "incubators",
            {2025: 500.5},
            "policy.incubators[2025] = 500.5: must be a whole number between 0 and 5000",
        ),
        (
            "fund_size",
            {2023: 500},
            "policy.fund_size[2023]: before 2024; every run follows the lever's history",
        ),
        ("fund_size", {"soon": 500}, "policy.fund_size: 'soon' is not a year"),
        ("fund_size", {2025.5: 500}, "policy.fund_size: 2025.5 is not a year"),
        ("fund_size", {2026: 1, "2026": 2}, "policy.fund_size[2026]: given twice"),
        ("fund_size", {2036: 500}, "policy.fund_size[2036]: after the last simulated year (2035, the latest"),
        ("voucher_budget", [1] * 13, "policy.voucher_budget[2036]: after the last simulated year"),
        ("voucher_budget", [], "policy.voucher_budget = []: an empty path"),
        ("voucher_budget", {}, "policy.voucher_budget = {}: an empty path"),
        ("voucher_budget", [[1, 2]], "policy.voucher_budget[2024] = [1, 2]: must be a number"),
    ],
)
def test_a_path_is_checked_year_by_year_naming_the_field_and_year(lever, value, message):
    with pytest.raises(ConfigError) as err:
        PolicyLevers(**{lever: value})
    assert str(err.value).startswith(message), str(err.value)
    levers = PolicyLevers()
    with pytest.raises(ConfigError):  # mid-run assignment too; the old setting is kept
        setattr(levers, lever, value)
    assert getattr(levers, lever) == getattr(PolicyLevers(), lever)


def test_a_path_runs_at_most_to_end_year():
    late = PolicyLevers(fund_size={2027: 900})  # a lever alone does not know the run's end
    with pytest.raises(
        ConfigError, match=r"policy.fund_size\[2027\]: after the last simulated year \(end_year = 2026\)$"
    ):  # a mapping names its years: no word on lists
        SimConfig(policy=late)
    assert SimConfig(policy=late, end_year=2027).policy.fund_size == {2027: 900.0}
    with pytest.raises(ConfigError, match=r"policy.voucher_budget\[2027\]: .*from 2024, so at most 3"):
        SimConfig(policy=PolicyLevers(voucher_budget=[1, 2, 3, 4]))
    with pytest.raises(ConfigError, match=r"policy.fund_size\[2027\]: after .*end_year = 2026"):
        InnovationModel(levers=late, seed=1, scale=0.01, end_year=2026)  # the Python API: the model checks


def test_a_setting_is_stored_in_one_canonical_form_that_survives_json():
    """Numbers in the lever's kind, -0.0 as 0.0, years as ints in order: a saved config (summary.json,
    manifest.json, with string years) rebuilds the same levers and the same hash."""
    levers = PolicyLevers(voucher_budget=(0, 4, -0.0), fund_size={"2027": 900, 2025: 600}, incubators=[470.0])
    assert levers.voucher_budget == [0.0, 4.0, 0.0] and all(type(v) is float for v in levers.voucher_budget)
    assert str(levers.voucher_budget[2]) == "0.0"
    assert levers.fund_size == {2025: 600.0, 2027: 900.0} and list(levers.fund_size) == [2025, 2027]
    assert levers.incubators == [470] and type(levers.incubators[0]) is int
    saved = json.loads(json.dumps(asdict(levers)))
    assert saved["fund_size"] == {"2025": 600.0, "2027": 900.0}
    assert PolicyLevers(**saved) == levers
    assert as_override(levers.fund_size) == "{2025:600.0,2027:900.0}"
    assert as_override(levers.voucher_budget) == "[0.0,4.0,0.0]" and as_override(2.0) == "2.0"
    # one value is stored as before (a float lever as a float, a count as an int): scalar runs hash alike
    assert PolicyLevers(voucher_budget=2, incubators=481.0) == PolicyLevers()
    assert json.dumps(asdict(PolicyLevers(voucher_budget=2))) == json.dumps(asdict(PolicyLevers()))
    assert type(PolicyLevers(incubators=481.0).incubators) is int


# --------------------------------------------------------------------------- Hydra
@pytest.fixture()
def composer():
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=COMMAND.config_dir, version_base="1.3", job_name="test"):
        yield lambda *overrides: compose(COMMAND.config_name, overrides=list(overrides))
    GlobalHydra.instance().clear()


def test_hydra_takes_a_list_a_mapping_and_a_saved_experiment(composer):
    cfg = composer(
        "policy.voucher_budget=[0,4,4]", "policy.fund_size={2026:1000}", "policy.incubators=[470,490]"
    )
    run = build(cfg, SimConfig)
    assert run.policy.voucher_budget == [0.0, 4.0, 4.0]
    assert run.policy.fund_size == {2026: 1000.0} and run.policy.incubators == [470, 490]
    shown = OmegaConf.to_yaml(cfg.policy)  # what --cfg job prints: the path as given, one value a line
    assert "voucher_budget:\n- 0\n- 4\n- 4\n" in shown and "fund_size:\n  2026: 1000\n" in shown
    assert (
        build(composer("policy=frozen_2023", "policy.voucher_budget=[0,4,4]"), SimConfig).policy.fund_size
        == 250.0
    )
    saved = build(composer("experiment=fund_doubled_2026"), SimConfig)
    assert saved.policy.fund_size == {2026: 1000.0}
    assert (
        build(composer("experiment=fund_doubled_2026", "policy.fund_size=700"), SimConfig).policy.fund_size
        == 700.0
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["policy.voucher_budget=[0,-1,4]"], "policy.voucher_budget[2025] = -1: allowed range is [0, 50]"),
        (
            ["policy.fund_size={2027:900}"],
            "policy.fund_size[2027]: after the last simulated year (end_year = 2026)",
        ),
        (["policy.fund_size={soon:900}"], "policy.fund_size: 'soon' is not a year"),
        (["policy.voucher_budget=[1,2,3,4]"], "policy.voucher_budget[2027]: after the last simulated year"),
        (["-m", "policy.voucher_budget=[0,4,4],[4,-4,4]"], "policy.voucher_budget[2025] = -4: allowed range"),
        (
            ["policy.voucher_budget.2025=3"],
            "policy.voucher_budget.2025: unknown key; policy.voucher_budget takes a",
        ),
        # a mapping from a config file: Hydra merges into it, so another year or a list cannot replace it
        (
            ["experiment=fund_doubled_2026", "policy.fund_size={2025:700}"],
            "policy.fund_size: a config file sets",
        ),
        (["experiment=fund_doubled_2026", "policy.fund_size=[1,2]"], "policy.fund_size: a config file sets"),
    ],
)
def test_bad_paths_on_the_command_line_are_one_line_naming_field_and_year(argv, message):
    msg = precheck(argv)
    assert msg is not None and "\n" not in msg and msg.startswith(f"config error: {message}"), msg


def test_a_sweep_over_paths_checks_every_value():
    assert (
        precheck(["-m", "policy.voucher_budget=[0,4,4],[4,4,4]", "policy.fund_size={2026:1000},600"]) is None
    )
    assert precheck(["-m", "experiment=voucher_timing"]) is None


# --------------------------------------------------------------------------- the Python API and runs
def test_a_path_assigned_mid_run_takes_effect_at_its_next_use():
    model = InnovationModel(seed=1, scale=0.02, end_year=2025)
    vouchers = model.policy["voucher_budget"]
    model.policy.levers.voucher_budget = {2025: 7.5}
    assert vouchers.level(2024) == PolicyLevers().voucher_budget and vouchers.level(2025) == 7.5
    model.policy.levers.voucher_budget = [0, 3]
    assert (vouchers.level(2024), model.policy.lever("voucher_budget", 2026)) == (0.0, 3.0)


def _run(levers: PolicyLevers, seed: int = 2, scale: float = SCALE):
    return evaluate(ModelRun(levers, None, central_effects(), seed, scale, 2026))


def test_vouchers_from_2025_spend_nothing_in_2024_and_the_4_level_after():
    """``voucher_budget=[0,4,4]``: the ledger's spending follows the path, and so does the 2024-26 cost.

    A year's spending is the vouchers redeemed: 4 亿元 of vouchers, ``REDEEM`` of them used, so about
    3.6 亿元. At this scale 200 vouchers are issued a year (Poisson, sd about 7 %), so +-25 % is 3.5 sd.
    """
    frame = _run(PolicyLevers(voucher_budget=[0, 4, 4])).frame()
    spend = frame["spend_voucher_budget"]
    assert spend[2024] == 0.0
    for year in (2025, 2026):
        assert spend[year] == pytest.approx(4.0 * REDEEM, rel=0.25), (year, spend[year])
    run = _run(PolicyLevers(voucher_budget=[0, 4, 4]))
    assert run.costs()["cost_voucher_budget"] == pytest.approx(spend[2025] + spend[2026])
    plan = _run(PolicyLevers()).frame()["spend_voucher_budget"]
    assert plan[2024] == pytest.approx(2.0 * REDEEM, rel=0.35)  # the plan's 2 a year, the same draws' noise


def test_a_build_up_lever_follows_its_path_in_the_model():
    """Provincial carriers ``{2025: 600}``: the plan's build-up in 2024, 600 from 2025 (operating grants
    are booked per carrier in operation, so their quantity is the carrier count)."""
    model = InnovationModel(levers=PolicyLevers(incubators={2025: 600}), seed=3, scale=0.02, end_year=2026)
    model.run()
    ledger = model.policy.ledger
    counts = [ledger.quantity(y, "incubators", "operating grants") for y in (2023, 2024, 2025, 2026)]
    assert counts == [461, LEVERS["incubators"].level(481, 2024), 600, 600]
    assert ledger.quantity(2025, "incubators", "new carriers") == 600 - counts[1]
    assert ledger.quantity(2026, "incubators", "new carriers") == 0


@pytest.mark.parametrize(
    ("lever", "path", "value"),
    [
        ("voucher_budget", [2.0], 2.0),  # a flow: its value in every year
        ("incubators", [468, 474, 481], 481),  # a build-up lever: the ramp's own levels
    ],
)
def test_a_path_equal_to_one_values_levels_gives_bit_identical_results(lever, path, value):
    """The path machinery adds no draw and no rounding: a path with one value's levels is the same run."""
    assert [LEVERS[lever].level(path, y) for y in range(2019, 2031)] == [
        LEVERS[lever].level(value, y) for y in range(2019, 2031)
    ]
    a = _run(PolicyLevers(**{lever: path}), seed=4, scale=0.02).frame()
    b = _run(PolicyLevers(**{lever: value}), seed=4, scale=0.02).frame()
    assert a.equals(b)


# --------------------------------------------------------------------------- studies
def test_study_helpers_take_one_value_or_a_path():
    plan = PolicyLevers()
    assert lever_value("incubators", 480.6) == 481 and lever_value("voucher_budget", 99) == 50.0
    assert lever_value("voucher_budget", [0, 4, 99]) == [0.0, 4.0, 50.0]
    assert lever_value("incubators", {2025: 600.4}) == {2025: 600}
    late = with_levers(plan, voucher_budget=[0, 4, 4])
    both = with_levers(late, fund_size=600)
    assert both.voucher_budget == [0.0, 4.0, 4.0] and both.fund_size == 600.0
    keys = {
        RunSpec(levers, 0, 1, central_effects()).key(0.1, 2026)
        for levers in (
            plan,
            late,
            with_levers(plan, voucher_budget=[4, 4, 4]),
            with_levers(plan, fund_size={2026: 1e3}),
        )
    }
    assert len(keys) == 4  # a path is part of the run's identity
    assert RunSpec(late, 0, 1, central_effects()).key(0.1, 2026) == RunSpec(
        with_levers(plan, voucher_budget=(0.0, 4, 4.0)), 0, 1, central_effects()
    ).key(0.1, 2026)


# --------------------------------------------------------------------------- a sweep end to end
@pytest.mark.slow
def test_a_sweep_of_paths_runs_records_them_as_given_and_analyzes(tmp_path):
    """``python -m sim -m policy.voucher_budget=[0,4,4],[4,4,4]``: two jobs whose summary.json and
    manifest.json keep the path as given; ``sim.analyze`` merges them with the path as the swept value."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    sweep = tmp_path / "sweep"
    args = [
        "-m",
        "policy.voucher_budget=[0,4,4],[4,4,4]",
        "replicates=2",
        "scale=0.02",
        "jobs=1",
        "posterior=none",
        "progress=false",
        "plots=false",
        "hydra/launcher=basic",
        f"hydra.sweep.dir={sweep}",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "sim", *args], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    paths = []
    for job in ("0", "1"):
        summary = json.loads((sweep / job / "summary.json").read_text())
        manifest = json.loads((sweep / job / "manifest.json").read_text())
        assert summary["policy"]["voucher_budget"] == manifest["config"]["policy"]["voucher_budget"]
        assert summary["levers_changed"] == {"voucher_budget": summary["policy"]["voucher_budget"]}
        paths.append(summary["policy"]["voucher_budget"])
    assert paths == [[0.0, 4.0, 4.0], [4.0, 4.0, 4.0]]
    from sim.pipeline import analyze

    result = analyze.analyze(sweep)
    assert "policy.voucher_budget" in result.varying
    assert set(result.reach["policy.voucher_budget"]) == {"[0.0,4.0,4.0]", "[4.0,4.0,4.0]"}
    spend = result.timeseries.query("indicator == 'spend_voucher_budget' and year == 2024")
    by_path = spend.groupby("policy.voucher_budget")["value"].max()
    assert by_path["[0.0,4.0,4.0]"] == 0.0 and by_path["[4.0,4.0,4.0]"] > 0
