"""Every config file composes against the schema; scenario files agree with sim.model.policy."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from sim.model.policy import SCENARIOS, scenario
from sim.pipeline.run import CONFIG_DIR, precheck, study_from_cfg

CONFIGS = Path(CONFIG_DIR)
POLICIES = sorted(p.stem for p in (CONFIGS / "policy").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in (CONFIGS / "experiment").glob("*.yaml"))
LAUNCHERS = sorted(p.stem for p in (CONFIGS / "hydra" / "launcher").glob("*.yaml"))


@pytest.fixture()
def composer():
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3", job_name="test"):
        yield lambda overrides=(), hydra=False: compose(
            "config", overrides=list(overrides), return_hydra_config=hydra
        )
    GlobalHydra.instance().clear()


def _task(cfg):
    """The task part of a config composed with its hydra node, schema type kept."""
    cfg = cfg.copy()
    OmegaConf.set_struct(cfg, False)
    cfg.pop("hydra", None)
    return cfg


def test_default_config_is_the_plan_study(composer):
    study = study_from_cfg(composer())
    assert study.scenario == "plan"
    assert study.policy == scenario("plan")
    assert (study.replicates, study.seed, study.end_year, study.scale, study.jobs) == (200, 0, 2026, 1.0, 2)
    assert study.replicates >= 200  # P(reach) to about +-0.07


def test_config_lists_every_schema_knob():
    """config.yaml shows researchers every run knob (the schema holds the defaults too)."""
    from dataclasses import fields

    from sim.pipeline.run import SimConfig

    text = (CONFIGS / "config.yaml").read_text()
    for f in fields(SimConfig):
        if f.name not in ("scenario", "policy", "params"):
            assert f"\n{f.name}:" in text, f"config.yaml does not show {f.name}"


@pytest.mark.parametrize("name", POLICIES)
def test_policy_files_compose(composer, name):
    study = study_from_cfg(composer([f"policy={name}"]))
    assert study.scenario == name


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_policy_files_agree_with_sim_policy(composer, name):
    assert name in POLICIES, f"configs/policy/{name}.yaml is missing"
    cfg = composer([f"policy={name}"])
    from_yaml = OmegaConf.to_container(cfg.policy)
    assert from_yaml == asdict(scenario(name))
    # every lever is written out in the file (a reader sees the whole scenario in one place)
    raw = OmegaConf.load(CONFIGS / "policy" / f"{name}.yaml")
    assert set(raw.policy) == set(asdict(scenario(name)))


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiments_compose_and_carry_their_command(composer, name):
    cfg = composer([f"experiment={name}"], hydra=True)
    study_from_cfg(_task(cfg))
    text = (CONFIGS / "experiment" / f"{name}.yaml").read_text()
    header = [ln for ln in text.splitlines() if ln.startswith("#")]
    assert any(ln.startswith("# Command: python -m sim") and f"experiment={name}" in ln for ln in header), (
        f"experiment/{name}.yaml needs a '# Command: python -m sim ... experiment={name}' header line"
    )
    multi = "-m" in next(ln for ln in header if ln.startswith("# Command:")).split()
    assert precheck((["-m"] if multi else []) + [f"experiment={name}"]) is None


@pytest.mark.parametrize("name", LAUNCHERS)
def test_launcher_configs_compose(composer, name):
    cfg = composer([f"hydra/launcher={name}", "jobs=3"], hydra=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.startswith("hydra_plugins.")
    if "cpus_per_task" in launcher:
        assert launcher.cpus_per_task == 3  # ${jobs}: the run's processes get a CPU each
    if name == "ray_cluster":
        assert launcher.ray.remote.num_cpus == 3


def test_joblib_is_the_default_multirun_launcher(composer):
    cfg = composer(hydra=True)
    assert cfg.hydra.launcher._target_.endswith("JoblibLauncher")
    assert cfg.hydra.runtime.choices["hydra/launcher"] == "joblib"


def test_every_lever_is_an_override(composer):
    cfg = composer(
        [
            "policy.voucher_budget=3",
            "policy.fund_size=250",
            "policy.incubators=500",
            "policy.rd_subsidy_rate=0.2",
            "policy.high_energy_incubators=10",
            "policy.poc_centres=5",
            "policy.tech_transfer_institutions=7",
            "policy.roadshows_per_year=100",
            "policy.reform_units=200",
            "params.entry_rate=0.3",
        ]
    )
    study = study_from_cfg(cfg)
    assert study.policy.voucher_budget == 3.0 and study.policy.fund_size == 250.0
    assert study.policy.incubators == 500 and study.policy.reform_units == 200
    assert study.params.entry_rate == 0.3


@pytest.mark.parametrize(
    ("argv", "key"),
    [
        (["policy.voucher_budget=-1"], "policy.voucher_budget"),
        (["policy.rd_subsidy_rate=1.5"], "policy.rd_subsidy_rate"),
        (["policy.incubators=-3"], "policy.incubators"),
        (["policy.vouchers=1"], "policy.vouchers"),
        (["policy.incubators=many"], "policy.incubators"),
        (["end_year=2018"], "end_year"),
        (["end_year=2036"], "end_year"),
        (["replicates=0"], "replicates"),
        (["seed=-1"], "seed"),
        (["policy=nonsense"], "policy=nonsense"),
        (["+extra=1"], "extra"),
        (["-m", "policy.voucher_budget=0,2,-4"], "policy.voucher_budget"),
        (["policy.voucher_budget=0,2"], "policy.voucher_budget"),
        (["experiment=voucher_sweep"], "add -m"),  # a saved sweep run without -m
    ],
)
def test_precheck_names_the_key(argv, key):
    msg = precheck(argv)
    assert msg is not None and "\n" not in msg
    assert key in msg


def test_precheck_passes_good_input():
    assert precheck([]) is None
    assert precheck(["-m", "policy.voucher_budget=0,2,4", "replicates=50"]) is None
    assert precheck(["-m", "policy=plan,frozen_2023", "replicate_block=range(0,3)"]) is None
