"""The analyzer merges sweep jobs and blocks, and names every incomplete job.

Job folders are built from synthetic results with the real writers (no model run),
so these tests take well under a second each.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.model.outcomes import HEADLINE, TARGETS
from sim.model.params import BehaviourParams
from sim.model.policy import scenario
from sim.pipeline import analyze, ensemble, report
from sim.runtime import provenance


def fake_results(first: int, n: int, level: float) -> pd.DataFrame:
    """Replicates first..first+n-1; headline values at ``level`` x target in 2026, plus noise."""
    plan = ensemble.plan_replicates(0, range(first, first + n))
    rows = []
    for rep in plan:
        noise = np.random.default_rng(rep.seed).normal(0, 0.05)
        for year in range(2018, 2027):
            for tid in HEADLINE:
                rows.append(
                    {
                        "replicate": rep.index,
                        "seed": rep.seed,
                        "param_set": 0,
                        "year": year,
                        "indicator": tid,
                        "value": TARGETS[tid].target * (level + noise) * (year - 2010) / 16,
                    }
                )
    return pd.DataFrame(rows)


def spending(results: pd.DataFrame, cost: float) -> pd.DataFrame:
    """``results`` with a ``spend_total`` row per replicate and year: a third of ``cost`` (亿元) in each of
    2024-26 plus a third of the replicate's own noise (``replicate % 7``, the same in every job), nothing
    before: replicate r costs ``cost + r % 7`` over 2024-26."""
    reps = results.drop_duplicates("replicate")[["replicate", "seed"]]
    rows = [
        {
            "replicate": r.replicate,
            "seed": r.seed,
            "param_set": 0,
            "year": year,
            "indicator": "spend_total",
            "value": (cost + r.replicate % 7) / 3 if year >= 2024 else 0.0,
        }
        for r in reps.itertuples()
        for year in range(2018, 2027)
    ]
    return pd.concat([results, pd.DataFrame(rows)], ignore_index=True)


def make_job(
    path: Path,
    *,
    voucher_budget: float = 2.0,
    block: int = 0,
    n: int = 20,
    level: float = 1.0,
    complete: bool = True,
    cost: float | None = None,
    fund_size: float | None = None,
) -> Path:
    levers = {**asdict(scenario("plan")), "voucher_budget": voucher_budget}
    if fund_size is not None:
        levers["fund_size"] = fund_size
    config = {
        "scenario": "plan",
        "policy": levers,
        "replicates": n,
        "seed": 0,
        "end_year": 2026,
        "scale": 1.0,
        "jobs": 1,
        "replicate_block": block,
        "posterior": "none",
        "resume": True,
        "progress": False,
        "plots": False,
        "first_replicate": block * n,
        "params": asdict(BehaviourParams()),
    }
    results = fake_results(block * n, n, level)
    if cost is not None:
        results = spending(results, cost)
    summary = report.summarise(results, config=config, fingerprint=f"f{voucher_budget}-{fund_size}-{block}")
    plan = ensemble.plan_replicates(0, range(block * n, block * n + n))
    manifest = provenance.manifest(
        config=config,
        plan=plan,
        command=["test"],
        hydra=None,
        started=0.0,
        posterior=ensemble.load_param_sets("none"),
        fingerprint="f",
    )
    (path / ".hydra").mkdir(parents=True, exist_ok=True)
    (path / ".hydra" / "overrides.yaml").write_text(
        f"- policy.voucher_budget={voucher_budget}\n- replicate_block={block}\n"
        + (f"- policy.fund_size={fund_size}\n" if fund_size is not None else "")
    )
    report.write_run(path, results, summary, manifest, plots=False)
    if not complete:
        (path / "summary.json").unlink()
    return path


def test_merges_a_sweep_into_reach_per_lever_value(tmp_path):
    for num, (budget, level) in enumerate([(0.0, 0.8), (2.0, 1.0), (4.0, 1.2)]):
        make_job(tmp_path / str(num), voucher_budget=budget, level=level)
    a = analyze.analyze(tmp_path)
    assert not a.incomplete
    assert "policy.voucher_budget" in a.varying
    assert set(a.timeseries["job"]) == {"0", "1", "2"}
    assert {
        "job",
        "scenario",
        "policy.voucher_budget",
        "replicate",
        "seed",
        "year",
        "indicator",
        "value",
    } <= set(a.timeseries.columns)
    t01 = a.reach[a.reach["indicator"] == "T01"].set_index("policy.voucher_budget")
    assert t01.loc[0.0, "p_reach"] < t01.loc[2.0, "p_reach"] < t01.loc[4.0, "p_reach"]
    assert (t01["ci_lo"] <= t01["p_reach"]).all() and (t01["p_reach"] <= t01["ci_hi"]).all()
    out = tmp_path / "analysis"
    for name in [
        "timeseries.csv",
        "reach.csv",
        "reach.md",
        "jobs.csv",
        "lever_response_policy.voucher_budget.png",
    ]:
        assert (out / name).is_file(), name


def test_blocks_of_one_ensemble_merge_into_one(tmp_path):
    for block in range(3):
        make_job(tmp_path / str(block), block=block, n=10)
    a = analyze.analyze(tmp_path, plots=False)
    assert a.varying == []  # replicate_block is not a lever
    assert set(a.reach["n"]) == {30}
    assert sorted(a.timeseries["replicate"].unique()) == list(range(30))


def test_the_same_block_twice_is_counted_once(tmp_path):
    make_job(tmp_path / "a", block=0, n=10)
    make_job(tmp_path / "b", block=0, n=10)
    a = analyze.analyze(tmp_path, plots=False)
    assert set(a.reach["n"]) == {10}
    assert "more than one job" in (tmp_path / "analysis" / "reach.md").read_text()


def test_incomplete_and_never_started_jobs_are_listed(tmp_path, capsys):
    make_job(tmp_path / "0", voucher_budget=0.0)
    make_job(tmp_path / "1", voucher_budget=2.0, complete=False)  # killed before summary.json
    (tmp_path / "multirun.yaml").write_text(
        "hydra:\n  overrides:\n    task:\n    - policy.voucher_budget=0,2,4\n  sweeper:\n    params: null\n"
    )
    a = analyze.analyze(tmp_path, plots=False)
    status = {j.name: j.status for j in a.jobs}
    assert status == {"0": "complete", "1": "incomplete", "2": "missing"}
    missing = next(j for j in a.jobs if j.name == "2")
    assert missing.overrides == ["policy.voucher_budget=4"]
    text = (tmp_path / "analysis" / "reach.md").read_text()
    assert "INCOMPLETE: 1" in text and "MISSING: 2" in text and "policy.voucher_budget=4" in text
    # the swept lever stays a column even though only one value is complete
    assert "policy.voucher_budget" in a.reach.columns
    jobs = pd.read_csv(tmp_path / "analysis" / "jobs.csv")
    assert list(jobs["status"]) == ["complete", "incomplete", "missing"]
    # the command line reports them too, and --strict makes it an error
    assert analyze.main([str(tmp_path), "--no-plots"]) == 0
    assert "INCOMPLETE: 1" in capsys.readouterr().err
    assert analyze.main([str(tmp_path), "--no-plots", "--strict"]) == 1


def test_a_truncated_summary_is_incomplete(tmp_path):
    job = make_job(tmp_path / "0")
    (job / "summary.json").write_text('{"scenario": "plan", "indic')
    a = analyze.analyze(tmp_path, plots=False)
    assert [j.status for j in a.jobs] == ["incomplete"]
    assert "unreadable" in a.jobs[0].reason
    assert a.timeseries.empty


def test_single_run_folder(tmp_path):
    make_job(tmp_path)
    a = analyze.analyze(tmp_path, plots=False)
    assert [j.name for j in a.jobs] == ["."] and a.jobs[0].status == "complete"
    assert set(a.reach[a.reach["headline"]]["indicator"]) == set(HEADLINE)


def test_missing_folder_is_an_error(tmp_path, capsys):
    assert analyze.main([str(tmp_path / "nope")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_summary_is_written_last(tmp_path, monkeypatch):
    """A failure while writing leaves no summary.json (so the job reads as incomplete)."""
    from sim.runtime import atomic

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(atomic, "write_json", fail)
    with pytest.raises(OSError):
        make_job(tmp_path / "0")
    assert not (tmp_path / "0" / "summary.json").exists()
    assert (tmp_path / "0" / "timeseries.csv").exists()
    assert json.loads(json.dumps(analyze.analyze(tmp_path, plots=False).jobs[0].status)) == "incomplete"


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    from sim.runtime import atomic

    target = tmp_path / "x.json"
    with pytest.raises(ValueError):
        atomic.write_json(target, {"nan": float("nan")})  # allow_nan=False
    assert not target.exists() and not list(tmp_path.iterdir())
    atomic.write_json(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1}


def make_scenario_job(path: Path, name: str, *, level: float, seed_offset: int = 0, n: int = 40) -> Path:
    """A complete job of scenario ``name`` (every lever as the scenario sets it) on replicates 0..n-1."""
    levers = asdict(scenario(name))
    config = {
        "scenario": name,
        "policy": levers,
        "replicates": n,
        "seed": seed_offset,
        "end_year": 2026,
        "scale": 1.0,
        "jobs": 1,
        "replicate_block": 0,
        "posterior": "none",
        "resume": True,
        "progress": False,
        "plots": False,
        "first_replicate": 0,
        "params": asdict(BehaviourParams()),
    }
    plan = ensemble.plan_replicates(seed_offset, range(n))
    rows = []
    for rep in plan:
        noise = np.random.default_rng(rep.index).normal(0, 0.05)  # the replicate's own future, shared
        for year in range(2018, 2027):
            for tid in HEADLINE:
                rows.append(
                    {
                        "replicate": rep.index,
                        "seed": rep.seed,
                        "param_set": 0,
                        "year": year,
                        "indicator": tid,
                        "value": TARGETS[tid].target * (level + noise) * (year - 2010) / 16,
                    }
                )
    results = pd.DataFrame(rows)
    summary = report.summarise(results, config=config, fingerprint=f"{name}-{seed_offset}")
    manifest = provenance.manifest(
        config=config,
        plan=plan,
        command=["test"],
        hydra=None,
        started=0.0,
        posterior=ensemble.load_param_sets("none"),
        fingerprint="f",
    )
    (path / ".hydra").mkdir(parents=True, exist_ok=True)
    (path / ".hydra" / "overrides.yaml").write_text(f"- policy={name}\n")
    report.write_run(path, results, summary, manifest, plots=False)
    return path


def test_a_scenario_sweep_gets_scenario_charts_overlays_and_paired_differences(tmp_path):
    """policy=plan,frozen_2023 changes every lever with the scenario: no per-lever chart (it would credit
    the scenario's difference to one lever); a scenario chart, fan overlays and paired differences."""
    make_scenario_job(tmp_path / "0", "plan", level=1.0)
    make_scenario_job(tmp_path / "1", "frozen_2023", level=0.97)
    a = analyze.analyze(tmp_path)
    out = tmp_path / "analysis"
    assert not list(out.glob("lever_response_*.png"))
    assert (out / "scenarios.png").is_file()
    for tid in HEADLINE:
        assert (out / f"fan_{tid}.png").is_file()
    paired = pd.read_csv(out / "paired.csv")
    assert set(paired["indicator"]) == {*HEADLINE, "all_five"}
    assert set(paired["ensemble"]) == {"scenario=frozen_2023"}
    assert set(paired["reference"]) == {"scenario=plan"}
    t01 = paired[paired["indicator"] == "T01"].iloc[0]
    # the same replicate noise in both: frozen - plan = -0.03 x target x 1 (2026) exactly, every pair
    assert t01["delta_median"] == pytest.approx(-0.03 * TARGETS["T01"].target)
    assert t01["delta_median_lo"] == pytest.approx(t01["delta_median"])
    assert t01["delta_p"] < 0 and t01["delta_p_lo"] <= t01["delta_p"] <= t01["delta_p_hi"] < 0
    assert "Paired differences" in (out / "reach.md").read_text()
    assert a.reach["scenario"].nunique() == 2


def test_runs_without_shared_seeds_are_not_paired(tmp_path):
    make_scenario_job(tmp_path / "0", "plan", level=1.0, seed_offset=0)
    make_scenario_job(tmp_path / "1", "frozen_2023", level=0.97, seed_offset=5)
    analyze.analyze(tmp_path, plots=False)
    assert not (tmp_path / "analysis" / "paired.csv").exists()
    assert "Paired differences" not in (tmp_path / "analysis" / "reach.md").read_text()


def test_each_run_has_its_cost_and_paired_runs_their_cost_difference(tmp_path):
    """Two lever values on the same 50 replicates: every replicate costs 12 亿元 more with 4 亿元 of
    vouchers a year than with none (the synthetic spending), so the paired cost difference is exactly
    +12 with a zero-width interval, beside Delta P and the median difference; each run's cost is the
    median and 90 % range of ``report.public_cost`` (spend_total summed over 2024-26)."""
    make_job(tmp_path / "0", voucher_budget=0.0, level=1.0, n=50, cost=30.0)
    make_job(tmp_path / "1", voucher_budget=4.0, level=1.05, n=50, cost=42.0)
    a = analyze.analyze(tmp_path, plots=False)
    out = tmp_path / "analysis"
    reach = pd.read_csv(out / "reach.csv")
    for budget, cost in ((0.0, 30.0), (4.0, 42.0)):
        ts = a.timeseries[a.timeseries["policy.voucher_budget"] == budget]
        per_rep = report.public_cost(ts)
        rows = reach[reach["policy.voucher_budget"] == budget]
        assert rows["cost_p50"].tolist() == pytest.approx([per_rep.median()] * len(rows))
        assert rows["cost_p05"].iloc[0] == pytest.approx(per_rep.quantile(0.05))
        assert per_rep.median() == pytest.approx(cost + 3)  # cost + the median replicate noise (0..6)
    paired = pd.read_csv(out / "paired.csv")
    assert len(paired) == len(HEADLINE) + 1
    assert paired["delta_cost"].tolist() == pytest.approx([12.0] * len(paired))
    assert paired["delta_cost_lo"].tolist() == pytest.approx([12.0] * len(paired))
    assert paired["delta_cost_hi"].tolist() == pytest.approx([12.0] * len(paired))
    assert paired["resolved"].all()  # 50 pairs >= MIN_PAIRS
    text = (out / "reach.md").read_text()
    assert "## Public cost 2024-26" in text and "| plan | 4.0 | 50 | 45.0 |" in text
    t01 = next(ln for ln in text.splitlines() if ln.startswith("| policy.voucher_budget=4.0 | T01 |"))
    assert t01.endswith("| +12 (+12 – +12) |")


def test_small_paired_samples_say_they_cannot_resolve_a_difference(tmp_path):
    """With 10 pairs the analyzer prints the estimate and "n too small to resolve", not an interval
    that looks like certainty; small effects keep their digits."""
    make_job(tmp_path / "0", voucher_budget=0.0, level=1.0, n=10, cost=30.0)
    make_job(tmp_path / "1", voucher_budget=4.0, level=1.0001, n=10, cost=30.003)
    analyze.analyze(tmp_path, plots=False)
    text = (tmp_path / "analysis" / "reach.md").read_text()
    rows = [ln for ln in text.splitlines() if ln.startswith("| policy.voucher_budget=4.0 |")]
    assert len(rows) == len(HEADLINE) + 1
    assert all(ln.count("n too small to resolve: 10 pairs < 40") >= 2 for ln in rows)
    assert "| +0.0030 (n too small" in rows[-1]  # the cost difference, 0.003 亿元, not "+0.00"
    assert not pd.read_csv(tmp_path / "analysis" / "paired.csv")["resolved"].any()


def test_lever_response_legends_name_the_other_swept_key(tmp_path, monkeypatch):
    """A grid (vouchers x fund size): each chart has a line per value of the other key, labelled with it."""
    from sim.pipeline import plots

    for num, (budget, fund) in enumerate([(0.0, 250.0), (0.0, 500.0), (4.0, 250.0), (4.0, 500.0)]):
        make_job(tmp_path / str(num), voucher_budget=budget, fund_size=fund, level=1 + budget / 100)
    drawn = {}
    real = plots.lever_response

    def capture(data, key, path, hue=None):
        drawn[key] = (data, hue)
        return real(data, key, path, hue=hue)

    monkeypatch.setattr(plots, "lever_response", capture)
    analyze.analyze(tmp_path)
    assert set(drawn) == {"policy.voucher_budget", "policy.fund_size"}
    data, hue = drawn["policy.voucher_budget"]
    assert set(data[hue]) == {"policy.fund_size=250.0", "policy.fund_size=500.0"}
    fig = plots.lever_response_figure(data, "policy.voucher_budget", hue=hue)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["policy.fund_size=250.0", "policy.fund_size=500.0"]
