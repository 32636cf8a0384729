"""Lever studies (python -m sim.study): the five run end to end at smoke size, bad input stops them with one
line before any run, a stopped study resumes from its saved runs, and the statistics they rest on work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.model.params import ConfigError
from sim.paths import REPO_ROOT
from sim.pipeline.paired import paired_difference, paired_mean_difference
from sim.pipeline.study import runner

STUDIES = runner.STUDIES


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "sim.study", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.mark.slow
def test_make_experiments_smoke_runs_every_study(tmp_path):
    """`make experiments SMOKE=1` (what CI runs): every study writes its tables, figures, findings and
    study.json, and the index answers per target."""
    out = subprocess.run(
        [
            "make",
            "-C",
            str(REPO_ROOT),
            "experiments",
            "SMOKE=1",
            f"PY={sys.executable}",
            "INSTALLED_STUDIES=",
            f"STUDY_ROOT={tmp_path}",
            "ARGS=progress=false",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    folders = {name: next(tmp_path.glob(f"*/*_{name}")) for name in STUDIES}
    expected = {
        "contrast": {
            "contrast.csv": {
                "delta_p",
                "delta_p_lo",
                "delta_p_hi",
                "delta_median",
                "cost_100m",
                "cost_per_unit",
            },
            "scenarios.csv": {"arm", "p_all_five", "p_all_five_lo", "p_all_five_hi"},
        },
        "lever_curves": {"curves.csv": {"lever", "value", "cost_mean", "p_reach", "median", "p05", "p95"}},
        "sensitivity": {"sensitivity.csv": {"factor", "output", "S1", "S1_conf", "ST", "ST_conf"}},
        "discovery": {
            "boxes.csv": {"target", "box", "coverage", "density", "uncertainty", "box_lo", "box_hi"}
        },
        "monitoring": {"monitoring.csv": {"candidate", "goal", "error_rel", "reduction", "share"}},
        "portfolio": {"portfolio.csv": {"cost", "p_all_five"}, "mixes.csv": {"goal", "found"}},
    }
    for name, folder in folders.items():
        doc = json.loads((folder / "study.json").read_text())
        assert doc["study"] == name and doc["size"] == "smoke"
        assert doc["model_runs"] > 0 and doc["findings"]
        assert doc["provenance"]["git"]["commit"] and doc["provenance"]["data"]["sha256"]
        for csv, cols in expected[name].items():
            assert cols <= set(pd.read_csv(folder / csv).columns), (name, csv)
        assert list(folder.glob("*.png")), name
        text = (folder / "findings.md").read_text()
        assert "**Question.**" in text and "python -m sim.study " + name in text
    # sensitivity (emulator): a reach output that never varies over the runs has no indices, and every
    # one that varies has them (the emulated probability of a target reached in every run still varies)
    from sim.pipeline.study.design import COLUMNS, reached

    runs = folders["sensitivity"] / "runs"
    values = np.vstack([np.load(f)["values"] for f in sorted(runs.glob("chunk-*.npz"))])
    seen = reached(pd.DataFrame(values, columns=COLUMNS))
    sens = pd.read_csv(folders["sensitivity"] / "sensitivity.csv")
    found = json.loads((folders["sensitivity"] / "study.json").read_text())["findings"]
    for g in ["T01", "T02", "T03", "T04", "T05", "all_five"]:
        rows = sens[sens["output"] == f"reach_{g}"]
        constant = seen[g].nunique() < 2
        assert rows["ST"].isna().all() == constant == ("undefined" in found[f"reach_{g}"]), g
    # ... and the seed's share at the real population's size: the pairs run at scale 1, the same factors
    full = pd.read_csv(folders["sensitivity"] / "sensitivity_full_scale.csv")
    assert set(full["factor"]) == set(sens["factor"]) and set(full["output"]) == set(sens["output"])
    check = pd.read_csv(folders["sensitivity"] / "scale_check.csv")
    assert (check["pairs"] == found["full_scale"]["pairs"]).all() and (check["seed_sd_full"] >= 0).all()
    assert "At the real population's size" in (folders["sensitivity"] / "findings.md").read_text()
    # monitoring takes discovery's runs (the same plan replicates): none is made twice
    monitoring = json.loads((folders["monitoring"] / "study.json").read_text())
    assert monitoring["model_runs_this_invocation"] == 0 < monitoring["model_runs"]
    contrast = pd.read_csv(folders["contrast"] / "contrast.csv")
    assert set(contrast["target"]) == {"T01", "T02", "T03", "T04", "T05", "all_five"}
    assert (contrast["delta_p_lo"] <= contrast["delta_p"] + 1e-12).all()
    assert (contrast["delta_p"] <= contrast["delta_p_hi"] + 1e-12).all()
    index = next(tmp_path.glob("*/*_index.md")).read_text()
    for row in ("| T01 |", "| T05 |", "| all five |"):
        assert row in index
    assert "not run" not in index
    assert not (REPO_ROOT / "experiments" / "smoke").exists()  # smoke size publishes nothing


@pytest.mark.parametrize(
    "args, words",
    [
        (["contrast", "size=huge"], "size = 'huge'"),
        (["contrast", "scale=2"], "scale = 2.0: must be a number in [0.001, 1]"),
        (["contrast", "sizes.full.replicates=0"], "sizes.full.replicates = 0"),
        (["sensitivity", "sizes.full.base_samples=48"], "power of 2"),
        (
            ["sensitivity", "sizes.full.full_scale_pairs=5000"],
            "sizes.full.full_scale_pairs = 5000: must be a whole number in [0, 4096]",
        ),
        (["portfolio", "goal=1.5"], "goal = 1.5"),
        (["contrast", "replicatez=3"], "replicatez"),
        (["contrast", "executor=slurm"], "executor = 'slurm'"),
        (["contrast", "size=smoke", "publish=true"], "only a full-size study is published"),
        (["nosuch"], "no such study"),
        (["contrast", "posterior=/no/such.csv"], "posterior"),
    ],
)
def test_bad_input_stops_with_one_line_before_any_run(tmp_path, args, words):
    out = run_cli(*args, f"hydra.run.dir={tmp_path / 'out'}", cwd=tmp_path)
    assert out.returncode == 2
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("config error:"), out.stderr
    assert words in lines[0]
    assert not (tmp_path / "out").exists()


def smoke_config(**kw) -> runner.StudyConfig:
    sizes = {"full": runner.Size(), "smoke": runner.Size(scale=0.02, replicates=2)}
    return runner.StudyConfig(name="contrast", size="smoke", sizes=sizes, jobs=1, progress=False, **kw)


def test_a_study_resumes_from_its_saved_runs_and_repeats_bit_for_bit(tmp_path, capsys):
    def findings() -> dict:
        return json.loads((tmp_path / runner.STUDY_JSON).read_text())["findings"]

    cfg = smoke_config(chunk=10)
    first = runner.execute(cfg, tmp_path, command=["test"])
    first_findings = findings()
    chunks = sorted((tmp_path / runner.RUNS_DIR).glob("chunk-*.npz"))
    assert len(chunks) == -(-first["model_runs"] // 10)
    # a study stopped after two chunks: the rest is run, the saved chunks are not
    for extra in chunks[2:]:
        extra.unlink()
    (tmp_path / runner.STUDY_JSON).unlink()
    second = runner.execute(cfg, tmp_path, command=["test"])
    assert second["model_runs_this_invocation"] == first["model_runs"] - 20
    assert "resuming: 20 model runs" in capsys.readouterr().err
    assert findings() == first_findings
    # the findings say that their wall time is that of a resumed invocation
    assert (
        "20 of the" in (tmp_path / runner.FINDINGS).read_text()
        and "reused from the folder's run cache" in (tmp_path / runner.FINDINGS).read_text()
    )
    assert "reused" not in runner.wall_text(60.0, 100, 0)
    # republished from its saved runs alone: the page gives the time the runs took when they were made,
    # where they ran, and no absolute path of this machine
    again = runner.execute(cfg, tmp_path, command=["test"])
    assert again["model_runs_this_invocation"] == 0
    assert again["runs_wall_time_s"] == second["runs_wall_time_s"] > 0
    assert again["runs_machines"] == [f"{os.cpu_count()} CPUs, executor local, 1 jobs"]
    page = (tmp_path / runner.FINDINGS).read_text()
    minutes = (
        f"{second['runs_wall_time_s'] / 60:.1f} min wall time for the runs ({again['runs_machines'][0]})"
    )
    assert minutes in page
    for text in (page, (tmp_path / runner.STUDY_JSON).read_text()):
        assert str(REPO_ROOT) not in text and str(tmp_path) not in text
    first_findings = findings()
    # another study in the same finished folder is refused without overwrite ...
    with pytest.raises(ConfigError, match=r"^overwrite = false: .* finished study .*seed: 0 -> 1"):
        runner.execute(smoke_config(seed=1, chunk=10), tmp_path, command=["test"])
    assert findings() == first_findings
    # ... and with it, does not reuse the runs
    third = runner.execute(smoke_config(seed=1, chunk=10, overwrite=True), tmp_path, command=["test"])
    assert third["model_runs_this_invocation"] == third["model_runs"]
    assert findings() != first_findings


def test_a_finished_study_is_not_replaced_from_the_command_line_without_overwrite(tmp_path, capsys):
    """The shell's check before Hydra: a finished study of other settings in hydra.run.dir is one line and
    exit 2, the folder untouched; with overwrite=true the check passes."""
    out = tmp_path / "study"
    runner.execute(smoke_config(), out, command=["test"])
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    assert runner.COMMAND.precheck(["size=smoke", "seed=3", f"hydra.run.dir={out}"], "contrast").startswith(
        f"config error: overwrite = false: {out} holds a finished study made with other settings ("
    )
    assert (
        runner.COMMAND.precheck(
            ["size=smoke", "seed=3", "overwrite=true", f"hydra.run.dir={out}"], "contrast"
        )
        is None
    )
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_paired_difference_reads_the_pairs():
    """Pairs differing by a constant give that constant with a zero-width interval, however noisy the
    values; the reach difference counts the replicates that cross the target."""
    rng = np.random.default_rng(3)
    b = rng.normal(100, 30, size=400)
    a = b + 5.0
    d = paired_difference(a, b, target=100.0)
    assert d["delta_median"] == pytest.approx(5.0)
    assert d["delta_median_lo"] == pytest.approx(5.0) and d["delta_median_hi"] == pytest.approx(5.0)
    crossing = ((b <= 100) & (a > 100)).mean()
    assert d["delta_p"] == pytest.approx(crossing)
    assert d["delta_p_lo"] <= crossing <= d["delta_p_hi"] and d["delta_p_lo"] > 0
    m, lo, hi = paired_mean_difference((a > 100).astype(float), (b > 100).astype(float))
    assert m == pytest.approx(crossing) and lo <= m <= hi


def test_paired_interval_covers_the_truth_at_its_level():
    """Coverage of the 95 % paired bootstrap interval of delta P over 200 synthetic studies (true delta 0.1):
    between 0.89 and 0.99 (binomial sd of the coverage at 200 studies ~0.015; percentile bootstrap
    undercovers a little at n = 200)."""
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(200):
        u = rng.random(200)
        b = (u < 0.5).astype(float)
        a = (u < 0.6).astype(float)
        d = paired_difference(a, b, target=0.5, n_boot=500, seed=int(rng.integers(1 << 30)))
        hits += d["delta_p_lo"] <= 0.1 <= d["delta_p_hi"]
    assert 0.89 <= hits / 200 <= 0.99


def test_prim_finds_a_planted_box():
    """PRIM over 600 synthetic futures recovers failures planted where a < 0.3 and b > 0.5."""
    from sim.pipeline.study.discovery import find_boxes

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.random((600, 5)), columns=[f"effect:x.{c}" for c in "abcde"])
    fail = ((x["effect:x.a"] < 0.3) & (x["effect:x.b"] > 0.5)).to_numpy()
    boxes = find_boxes(x, fail)
    assert boxes, "no box found"
    b = boxes[0]
    assert b["coverage"] > 0.8 and b["density"] > 0.8
    dims = {d["uncertainty"]: (d["box_lo"], d["box_hi"]) for d in b["dims"]}
    assert set(dims) == {"effect:x.a", "effect:x.b"}
    assert dims["effect:x.a"][1] == pytest.approx(0.3, abs=0.05)
    assert dims["effect:x.b"][0] == pytest.approx(0.5, abs=0.05)


def test_sensitivity_factors_cover_every_lever_and_uncertainty():
    from sim.model.policy import LEVERS, free_effect_fields
    from sim.pipeline.study.design import behaviour_groups, mechanism_label
    from sim.pipeline.study.sensitivity import factors, problem

    facs = factors(2.0)
    prob = problem(facs)
    groups = list(dict.fromkeys(prob["groups"]))
    mechanisms = behaviour_groups()
    # one group per lever, per instrument with effects still drawn, per behaviour mechanism (the calibrated
    # effects among them), and the seed
    drawn = {key.split(".")[0] for key, _ in free_effect_fields()}
    assert len(groups) == len(LEVERS) + len(drawn) + len(mechanisms) + 1
    assert prob["num_vars"] == len(LEVERS) + len(free_effect_fields()) + len(mechanisms) + 1
    assert "incubation" in mechanisms and "incubators effects" not in groups
    assert {mechanism_label(g) for g in mechanisms} <= set(groups)
    assert len(mechanisms) >= 5  # demand, entry_growth, certification, rd_behaviour, patenting, reforms
    for f in facs:
        if f["kind"] == "lever":
            name = f["name"].split(":")[1]
            assert f["lo"] == LEVERS[name].level_2023 and f["hi"] == 2.0 * LEVERS[name].plan


def test_pareto_front_keeps_only_undominated_mixes():
    from sim.pipeline.study.portfolio import pareto

    cost = np.array([10.0, 20.0, 15.0, 30.0, 20.0])
    p = np.array([0.2, 0.5, 0.1, 0.5, 0.6])
    assert pareto(cost, p).tolist() == [True, False, False, False, True]


def test_every_study_has_a_config_that_composes_at_every_size():
    """configs/study/NAME.yaml for each study (and nothing else but _base.yaml), valid at both sizes; _base.yaml
    shows every shared knob of the schema."""
    from dataclasses import fields

    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from sim.runtime.config import build

    folder = Path(runner.STUDY_CONFIG_DIR)
    assert {p.stem for p in folder.glob("*.yaml")} == {*STUDIES, "_base"}
    base = (folder / "_base.yaml").read_text()
    for f in fields(runner.StudyConfig):
        if f.name not in ("name", "question", "sizes"):
            assert f"\n{f.name}:" in base, f"_base.yaml does not show {f.name}"
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=runner.STUDY_CONFIG_DIR, version_base="1.3", job_name="test"):
            for name in STUDIES:
                for size in runner.SIZES:
                    cfg = build(compose(name, overrides=[f"size={size}"]), runner.StudyConfig)
                    assert cfg.name == name and cfg.size == size and cfg.question
    finally:
        GlobalHydra.instance().clear()


def test_git_status_lines_keep_their_format_so_published_findings_are_not_code(tmp_path):
    """A modified tracked file is listed as ' M path' (path from column 3), also on the first line: a
    stripped first line would make experiments/ look like code and mark every study 'uncommitted'."""
    import subprocess

    from sim.runtime.provenance import git_info

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "README.md").write_text("old\n")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    (tmp_path / "experiments" / "README.md").write_text("new\n")
    info = git_info(tmp_path)
    assert info["dirty"] is True
    assert [c[3:] for c in info["changes"]] == ["experiments/README.md"]


def test_prim_box_limits_read_as_numbers_not_exponents():
    """A box on a year-valued uncertainty says 2021.3, not 2.02e+03 (which hides a narrow range)."""
    from sim.pipeline.study.discovery import _describe

    d = {"uncertainty": "behaviour:techsme_takeup_midyear", "sample_lo": 2019.0, "sample_hi": 2025.0}
    assert (
        _describe({**d, "box_lo": 2021.3, "box_hi": 2021.8}) == "`techsme_takeup_midyear` in [2021.3, 2021.8]"
    )
    small = {"uncertainty": "behaviour:rd_drift", "sample_lo": -0.08, "sample_hi": 0.06, "box_lo": -0.08}
    assert _describe({**small, "box_hi": 0.0519}) == "`rd_drift` <= 0.0519"


def _contrast_tables(n: int, delta_p: float, delta_median: float):
    """A contrast table (plan vs frozen_2023, one lever) whose every difference is ``delta_p`` /
    ``delta_median`` with a narrow interval around it, and its scenarios table."""
    from sim.model.outcomes import HEADLINE
    from sim.pipeline.study.contrast import FROZEN, GOALS, PLAN

    rows = []
    for comparison, kind, lever in (
        ("plan vs frozen_2023", "scenario", ""),
        ("voucher_budget", "lever", "voucher_budget"),
    ):
        for g in GOALS:
            median = g in HEADLINE
            rows.append(
                {
                    "comparison": comparison,
                    "kind": kind,
                    "lever": lever,
                    "target": g,
                    "n": n,
                    "p_plan": 0.5,
                    "p_variant": 0.5 - delta_p,
                    "delta_p": delta_p,
                    "delta_p_lo": delta_p * 0.5,
                    "delta_p_hi": delta_p * 1.5,
                    "delta_median": delta_median if median else np.nan,
                    "delta_median_lo": delta_median * 0.5 if median else np.nan,
                    "delta_median_hi": delta_median * 1.5 if median else np.nan,
                    "cost_100m": 1.0,
                    "cost_per_unit": np.nan,
                    "unit_of_effect": "",
                }
            )
    scen = {"arm": [PLAN, FROZEN], "n": [n, n], "cost_mean": [100.0, 90.0]}
    for g in GOALS:
        scen.update({f"p_{g}": [0.5, 0.4], f"p_{g}_lo": [0.4, 0.3], f"p_{g}_hi": [0.6, 0.5]})
    return pd.DataFrame(rows), pd.DataFrame(scen)


def test_contrast_page_keeps_small_effects_and_says_when_n_is_too_small():
    """The contrast page prints its differences through paired.format_difference: a 0.004 change of
    P(reach) is "+0.0040 (+0.0020 – +0.0060)", not "+0.00 [+0.00, +0.00]"; below MIN_PAIRS, "n too small"."""
    from sim.pipeline.paired import MIN_PAIRS
    from sim.pipeline.study import contrast

    table, scenarios = _contrast_tables(MIN_PAIRS + 10, 0.004, 0.3)
    text = contrast.markdown(table, scenarios, contrast.summarise(table, scenarios))
    assert "ΔP +0.0040 (+0.0020 – +0.0060)" in text and "+0.00 [" not in text
    assert "| +0.30 (+0.15 – +0.45) |" in text  # the median gain of a firm-count target, not "+0"
    assert "n too small" not in text
    table, scenarios = _contrast_tables(MIN_PAIRS - 1, 0.004, 0.3)
    text = contrast.markdown(table, scenarios, contrast.summarise(table, scenarios))
    assert f"n too small to resolve: {MIN_PAIRS - 1} pairs < {MIN_PAIRS}" in text


def test_emulator_decomposition_recovers_known_sobol_indices():
    """y = 2 x1 + x2 + noise (x uniform on [0, 1], noise variance s2): Var = (4 + 1) / 12 + s2; the seed's
    share is s2 / Var, x1's total index 4/12 / Var, x2's 1/12 / Var, x3's 0. Saltelli's estimator at
    N = 4096 has Monte Carlo errors of about 0.01 here: tolerance 0.03. The seed's variance from repeated
    runs: 2,000 pairs give it to about 3 % (tolerance 10 %)."""
    from SALib.sample import sobol as sobol_sample

    from sim.pipeline.study import emulator

    problem = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0.0, 1.0]] * 3, "groups": ["a", "b", "c"]}
    x = sobol_sample.sample(problem, 4096, calc_second_order=False, scramble=True, seed=1)
    f = {"T01": 2 * x[:, 0] + x[:, 1]}
    s2 = 0.25
    total = 5 / 12 + s2
    out = emulator.decompose(problem, f, {"T01": s2}, {"T01": 1.5}, seed=0, resamples=50)["T01"]
    assert out["seed"] == pytest.approx(s2 / total, abs=0.01)
    assert out["ST"] == pytest.approx([4 / 12 / total, 1 / 12 / total, 0.0], abs=0.03)
    assert out["S1"] == pytest.approx([4 / 12 / total, 1 / 12 / total, 0.0], abs=0.03)
    # a reach the inputs barely move (target 5 seed sd above the best run: p(x) <= 3e-7): no group index
    # of numerical noise (SALib alone gives half-widths of 1e5 there); its variance is the seed's
    flat = emulator.decompose(problem, f, {"T01": s2}, {"T01": 5.5}, seed=0, resamples=50)["reach_T01"]
    assert flat["seed"] == 1.0 and not flat["ST"].any() and not flat["ST_conf"].any()
    rng = np.random.default_rng(0)
    mean = rng.random(2000)
    y1, y2 = mean + rng.normal(0, 0.5, 2000), mean + rng.normal(0, 0.5, 2000)
    assert emulator.seed_variance(y1, y2) == pytest.approx(0.25, rel=0.1)


def test_sobol_intervals_repeat_bit_for_bit_at_seed_0():
    """SALib's analyze bootstraps from the unseeded global generator when its seed is 0 (``if seed:``), which
    is every study's default seed: the intervals must still be the same at every call."""
    from SALib.sample import sobol as sobol_sample

    from sim.pipeline.study import emulator

    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0.0, 1.0]] * 2, "groups": ["a", "b"]}
    x = sobol_sample.sample(problem, 64, calc_second_order=False, scramble=True, seed=0)
    y = 2 * x[:, 0] + x[:, 1] ** 2
    first, again = (emulator._sobol(problem, y, seed=0, resamples=50) for _ in range(2))
    for a, b in zip(first, again):
        assert np.array_equal(a, b)
    assert not np.array_equal(first[1], emulator._sobol(problem, y, seed=1, resamples=50)[1])  # seeds differ


def test_scale_check_measures_the_full_scale_noise_and_mean_shift():
    """Toy runs with known answers: full-scale runs 10 % above the study-scale ones at the same points, with
    run-to-run sd 2 (against the pairs' difference, seed_variance halves the mean squared difference); 4,000
    pairs give the sd to about 1 % (tolerance 3 %) and the mean shift to ~0.002 (tolerance 0.01)."""
    from sim.model.outcomes import HEADLINE
    from sim.pipeline.study.sensitivity import scale_check

    rng = np.random.default_rng(3)
    n = 4000
    base = pd.DataFrame({g: 100 + 10 * rng.random(n) for g in HEADLINE})
    full_a = base * 1.1 + rng.normal(0, 2, (n, len(HEADLINE)))
    full_b = base * 1.1 + rng.normal(0, 2, (n, len(HEADLINE)))
    check = scale_check(base, full_a, full_b, 0.25).set_index("output")
    assert list(check.index) == list(HEADLINE) and (check["pairs"] == n).all()
    assert check["seed_sd_full"].to_numpy() == pytest.approx(2.0, rel=0.03)
    assert check["full_vs_study_mean"].to_numpy() == pytest.approx(0.1, abs=0.01)
    assert (check["full_vs_study_mean_half"] < 0.01).all()


def test_preposterior_a_perfect_figure_removes_all_variance_and_an_independent_one_none():
    """Toy ensembles with known answers (n = 4,000 runs, P(reach) = 0.5, prior variance 0.25):

    - the figure is the reach indicator itself, measured almost exactly: the posterior knows the outcome,
      the whole variance goes (share 1, to rounding);
    - the figure is independent of reach, measured with an error as wide as its spread: nothing is learnt;
      averaged over 5 seeds the share lies within ±0.02 of 0 (leave-one-out leaves a small negative bias of
      order 1/ESS, ESS ~ 2,000 here; the 95 % half-width of the mean is ~0.005);
    - the figure agrees with reach in 80 % of the runs: P(reach | figure) is 0.8 or 0.2, the posterior
      variance 0.8 x 0.2 = 0.16, the reduction 0.25 - 0.16 = 0.09 (tolerance 0.015: ~5 standard errors).
    """
    from sim.pipeline.study.monitoring import value_of

    n = 4000
    rng = np.random.default_rng(5)
    reach = (rng.random(n) < 0.5).astype(float)
    table, _ = value_of(reach, np.full(n, 1e-3), reach[:, None])
    assert table["share"].iloc[0] == pytest.approx(1.0, abs=1e-9)
    assert table["prior_var"].iloc[0] == pytest.approx(reach.mean() * (1 - reach.mean()), rel=0.01)

    shares = []
    for seed in range(5):
        r = np.random.default_rng(seed)
        y, reach = r.normal(size=n), (r.random(n) < 0.5).astype(float)
        table, _ = value_of(y, np.ones(n), reach[:, None])
        shares.append(table["share"].iloc[0])
        assert table["ess_median"].iloc[0] > 1000
    assert np.mean(shares) == pytest.approx(0.0, abs=0.02)

    reach = (rng.random(n) < 0.5).astype(float)
    agree = rng.random(n) < 0.8
    y = np.where(agree, reach, 1 - reach)
    table, gain = value_of(y, np.full(n, 1e-3), np.column_stack([reach, 1 - reach]))
    assert table["reduction"].to_numpy() == pytest.approx([0.09, 0.09], abs=0.015)
    assert gain.shape == (n, 2)
    with pytest.raises(ValueError, match="at least 3"):
        value_of(np.ones(2), np.ones(2), np.ones((2, 1)))


def test_monitoring_values_every_candidate_figure_with_a_stated_error(tmp_path):
    """The monitoring study at a tiny size: every candidate (2024 and 2025 of T01-T05, the registry's
    mid-year count, enterprise R&D, the HNTE list) is valued for every goal, each with its measurement
    error and where it comes from; the page says which figure leads per goal."""
    from sim.pipeline.study.monitoring import GOALS, candidates

    sizes = {"full": runner.Size(), "smoke": runner.Size(scale=0.02, replicates=12)}
    cfg = runner.StudyConfig(name="monitoring", size="smoke", sizes=sizes, jobs=1, progress=False)
    doc = runner.execute(cfg, tmp_path, command=["test"])
    table = pd.read_csv(tmp_path / "monitoring.csv")
    names = {c.name for c in candidates()}
    assert {"T01 2024", "T05 2025", "T02_h1 2024", "rd_enterprise 2025", "HNTE list 2024"} <= names
    assert set(table["candidate"]) == names and set(table["goal"]) == set(GOALS)
    assert len(table) == len(names) * len(GOALS)
    assert (table["error_rel"] > 0).all() and table["error_source"].str.contains(
        "fit_targets|assumption"
    ).all()
    assert (table["reduction_lo"] <= table["reduction"]).all() and (
        table["reduction"] <= table["reduction_hi"]
    ).all()
    assert set(doc["findings"]["goals"]) == set(GOALS)
    text = (tmp_path / runner.FINDINGS).read_text()
    assert "figure most worth monitoring" in text and "HNTE list" in text
    assert (tmp_path / "monitoring.png").is_file()


def test_a_study_takes_the_runs_another_made_with_the_same_posterior_and_model(tmp_path, capsys):
    """discovery on monitoring's runs (the same plan replicates): nothing is run again, the findings are
    bit-identical to discovery's own runs, and the page keeps the wall time the runs took when made.
    A folder whose runs were made with another posterior or model code (its stamp differs), or that is not
    a finished study, is refused with one line naming reuse_runs, before anything is written."""
    sizes = {"full": runner.Size(), "smoke": runner.Size(scale=0.02, replicates=12)}

    def cfg(name: str, **kw) -> runner.StudyConfig:
        return runner.StudyConfig(name=name, size="smoke", sizes=sizes, jobs=1, progress=False, **kw)

    source = tmp_path / "monitoring"
    made = runner.execute(cfg("monitoring"), source, command=["test"])
    own = runner.execute(cfg("discovery"), tmp_path / "own", command=["test"])
    capsys.readouterr()
    took = runner.execute(cfg("discovery", reuse_runs=[str(source)]), tmp_path / "took", command=["test"])
    assert "reusing: 12 model runs of" in capsys.readouterr().err
    assert made["model_runs_this_invocation"] == own["model_runs_this_invocation"] == 12
    assert took["model_runs_this_invocation"] == 0 and took["model_runs"] == 12
    assert took["findings"] == own["findings"]
    assert took["runs_wall_time_s"] == made["runs_wall_time_s"] > 0
    assert "taken from the runs of monitoring" in (tmp_path / "took" / runner.FINDINGS).read_text()
    assert took["runs_taken_from"] == ["monitoring"] and own["runs_taken_from"] == []
    # the taken runs are the folder's own now: a rerun there needs the source no more
    resumed = runner.execute(cfg("discovery"), tmp_path / "took", command=["test"])
    assert resumed["model_runs_this_invocation"] == 0 and resumed["findings"] == own["findings"]

    stamp = source / runner.RUNS_DIR / "FINGERPRINT"
    stamp.write_text("0" * 16 + "\n")  # as if made with another posterior or other model code
    for folder, words in ((source, "another posterior or other model code"), (tmp_path / "nope", "not a")):
        with pytest.raises(ConfigError, match=rf"^reuse_runs: {folder}.*{words}"):
            runner.check_inputs(cfg("discovery", reuse_runs=[str(folder)]))
        with pytest.raises(ConfigError, match=r"^reuse_runs"):
            runner.execute(cfg("discovery", reuse_runs=[str(folder)]), tmp_path / "refused", command=["t"])
    assert not (tmp_path / "refused").exists()
    with pytest.raises(ConfigError, match=r"^reuse_runs = .*must be a list"):
        cfg("discovery", reuse_runs=str(source))


def test_portfolio_finds_the_runs_of_the_mix_it_reports():
    """A chosen mix's lever values are those it was validated with: the round trip of a mix through the
    unit scale moves some values in their last digits (one in three random mixes here), and a lookup of
    its validation runs by the search's values then failed (KeyError at the end of a full-size study)."""
    from dataclasses import asdict

    from sim.pipeline.study import portfolio as pf

    rng = np.random.default_rng(0)
    units = rng.random((30, len(pf.NAMES)))
    drift = [u for u in units if asdict(pf.to_levers(pf.to_unit(pf.to_levers(u)))) != asdict(pf.to_levers(u))]
    assert drift, "no mix whose round trip moves a value: the test would not exercise the bug"

    class Stub(pf.Evaluator):
        """Every mix reaches every goal with P 0.9 on the fresh replicates; no model run."""

        def __call__(self, units, desc, reps=None):
            rows = []
            for u in units:
                m = asdict(pf.to_levers(u))
                self.validated[tuple(m.values())] = pd.DataFrame({"T01": [1.0]})
                rows.append({"cost": 1.0, "failed_runs": 0, **{f"p_{g}": 0.9 for g in pf.GOALS}, **m})
            return rows

    cand = pd.DataFrame(
        [
            {**asdict(pf.to_levers(u)), "cost": 1.0 + k, **{f"p_{g}": 0.85 for g in pf.GOALS}}
            for k, u in enumerate(drift)
        ]
    )
    ev = Stub(ctx=None, reps=[])
    chosen = pf.choose(ev, cand, "T01", fresh=list(range(400)), goal=0.8)
    assert chosen["found"]
    assert tuple(chosen["mix"][n] for n in pf.NAMES) in ev.validated


def test_portfolio_names_the_mechanism_planted_in_the_runs():
    """400 runs whose T05 follows one reforms parameter (rank correlation ~0.9) among 40 unrelated
    uncertainties: `binding` names the reforms mechanism and that parameter, distinguishable from noise; for
    all five it reads the target missed most often. With no planted link, nothing is distinguishable
    (the Bonferroni bound holds with 95 % probability; seed fixed)."""
    from sim.model.outcomes import HEADLINE, TARGETS
    from sim.pipeline.study.portfolio import binding

    rng = np.random.default_rng(2)
    n = 400
    x = pd.DataFrame(rng.random((n, 40)), columns=[f"effect:voucher_budget.e{k}" for k in range(40)])
    x["behaviour:nonenterprise_rd_growth"] = rng.random(n)
    frame = pd.DataFrame({g: np.full(n, 2.0 * TARGETS[g].target) for g in HEADLINE})
    frame["T05"] = 60 + 10 * x["behaviour:nonenterprise_rd_growth"] + rng.normal(0, 1.5, n)
    b = binding(frame, x, "T05")
    assert b["group"] == "behaviour: reforms" and b["uncertainty"] == "nonenterprise_rd_growth"
    assert b["distinguishable"] and b["rho"] > 0.8
    every = binding(frame, x, "all_five")
    assert every["target"] == "T05" and every["group"] == "behaviour: reforms"
    frame["T05"] = rng.normal(60, 5, n)
    assert not binding(frame, x, "T05")["distinguishable"]


def test_portfolio_reports_a_mix_or_the_best_attainable_for_every_goal(tmp_path):
    """The portfolio study at a tiny size: for each goal either the cheapest validated mix with P >= goal or
    the best attainable P with its cost, and what caps it; the search spans the levers' validated ranges
    (the first population holds every lever at the bottom and at the top of its range)."""
    from sim.model.policy import LEVERS
    from sim.pipeline.study.portfolio import GOALS

    sizes = {
        "full": runner.Size(),
        "smoke": runner.Size(scale=0.02, replicates=2, population=6, generations=1, validation=2),
    }
    cfg = runner.StudyConfig(name="portfolio", size="smoke", sizes=sizes, jobs=1, progress=False, goal=0.99)
    doc = runner.execute(cfg, tmp_path, command=["test"])
    mixes = doc["findings"]["mixes"]
    assert set(mixes) == set(GOALS)
    for g, m in mixes.items():
        assert m["found"] != m["none"]
        assert m["cost_100m"] > 0 and 0 <= m["p_reach"] <= 1, g
        assert "group" in m["binding"] and m["binding"]["goal"] == g
    cand = pd.read_csv(tmp_path / "candidates.csv")
    tops = cand[cand["label"] == "every lever at the top of its range"]
    assert len(tops) == 1 and all(tops[n].iloc[0] == LEVERS[n].hi for n in LEVERS)
    # the floor: every lever at its lo still pays for the 2023 stock it winds down and 2023's R&D subsidy
    floor = cand[cand["label"] == "every lever at the bottom of its range"]
    assert len(floor) == 1 and all(floor[n].iloc[0] == LEVERS[n].lo for n in LEVERS)
    assert (
        doc["findings"]["floor_cost"] == pytest.approx(floor["cost"].iloc[0])
        and doc["findings"]["floor_cost"] > 0
    )
    text = (tmp_path / runner.FINDINGS).read_text()
    assert "what caps it" in text and ("best attainable" in text or "cheapest mix" in text)
    assert "The floor is not free" in text and "winds that stock down" in text


def test_a_numerical_failure_of_a_run_is_recorded_not_fatal_in_a_search(monkeypatch):
    """evaluate_or_failure returns a run's numerical error as text (what a search over the levers' full
    ranges meets at their tops: 'lam value too large'); its outputs row is all NaN; other errors propagate."""
    from sim.pipeline.study import design

    def broken(run):
        raise ValueError("lam value too large")

    monkeypatch.setattr(design, "evaluate", broken)
    out = design.evaluate_or_failure(None)
    assert out == "ValueError: lam value too large"
    assert np.isnan(design.outputs(out)).all() and len(design.outputs(out)) == len(design.COLUMNS)

    def bug(run):
        raise KeyError("a bug, not a numerical limit")

    monkeypatch.setattr(design, "evaluate", bug)
    with pytest.raises(KeyError):
        design.evaluate_or_failure(None)


def test_lever_curves_prints_a_paired_change_as_every_output_does():
    """A lever that moves no replicate's reach reads as "no pair differs" with the bound on what n pairs
    could miss, not "+0.00 (+0.00–+0.00)"; a small change keeps the digits its interval needs."""
    from sim.pipeline.study.lever_curves import _dp_cell, marginal_table

    n = 200
    same = pd.DataFrame({"T01": np.ones(n)})
    moved = pd.DataFrame(
        {"T01": np.r_[np.ones(n - 3), np.zeros(3)]}
    )  # 3 of 200 lose the target above the plan
    rows = [
        {
            "lever": lev,
            "target": "T01",
            "position": pos,
            "factor": pos,
            "p_reach": 1.0,
            "cost_mean": pos,
            "median": 1.0,
            "n": n,
        }
        for lev in ("inert", "small")
        for pos in (0.0, 0.5, 1.0)
    ]
    curves = pd.DataFrame(rows)
    reaches = {("inert", p): same for p in (0.0, 0.5, 1.0)}
    reaches |= {("small", 0.0): same, ("small", 0.5): same, ("small", 1.0): moved}
    curves.loc[(curves["lever"] == "small") & (curves["position"] == 1.0), "p_reach"] = moved["T01"].mean()
    m = marginal_table(curves, reaches).set_index("lever")
    inert, small = _dp_cell(m.loc["inert"]), _dp_cell(m.loc["small"])
    assert inert.startswith("0 (no pair differs") and "+0.00" not in inert and "|" not in inert
    assert small.startswith("-0.015") and "+0.00 " not in small, small


def test_runs_stamped_before_fingerprints_held_the_model_code_are_taken_only_when_git_proves_it(tmp_path):
    """A folder stamped under the older scheme (its config and the posterior, no model code) is taken when
    its clean commit holds this working tree's sim/model and this posterior; the commit before the last
    model change, another posterior or a dirty tree is refused."""
    import hashlib

    from sim.runtime.model_version import MODEL_CODE, git

    last = git("log", "-1", "--format=%H", "--", MODEL_CODE)
    model_commit = last.stdout.strip() if last is not None and last.returncode == 0 else None
    parent = git("rev-parse", f"{model_commit}^") if model_commit else None
    status = git("status", "--porcelain", "--", MODEL_CODE)
    if (
        not model_commit
        or parent is None
        or parent.returncode != 0
        or status is None
        or status.stdout.strip()
    ):
        pytest.skip("needs git history and a sim/model without uncommitted changes")
    cfg = runner.StudyConfig(name="contrast", size="full")
    posterior = runner.load_param_sets(cfg).info["sha256"]
    config = {k: v for k, v in cfg.as_dict().items() if k != "reuse_runs"}  # as recorded before reuse_runs
    old = {k: v for k, v in config.items() if k not in runner.EXECUTION_KNOBS}
    old["sizes"] = {cfg.size: old["sizes"][cfg.size]}
    stamp = hashlib.sha256(
        json.dumps({**old, "posterior_sha256": posterior}, sort_keys=True).encode()
    ).hexdigest()

    def folder(name: str, commit: str, sha: str = posterior, dirty: bool = False) -> str:
        f = tmp_path / name
        (f / runner.RUNS_DIR).mkdir(parents=True)
        (f / runner.RUNS_DIR / "FINGERPRINT").write_text(stamp[:16] + "\n")
        prov = {"git": {"commit": commit, "dirty": dirty}, "posterior": {"sha256": sha}}
        (f / runner.STUDY_JSON).write_text(json.dumps({"config": config, "provenance": prov}))
        return str(f)

    ok = folder("same_model", model_commit)
    assert runner.reusable_runs(
        runner.StudyConfig(name="contrast", reuse_runs=[ok]), runner.load_param_sets(cfg)
    )
    for bad in (
        folder("older_model", parent.stdout.strip()),
        folder("other_posterior", model_commit, sha="0" * 64),
        folder("dirty", model_commit, dirty=True),
    ):
        with pytest.raises(ConfigError, match="another posterior or other model code"):
            runner.reusable_runs(
                runner.StudyConfig(name="contrast", reuse_runs=[bad]), runner.load_param_sets(cfg)
            )
