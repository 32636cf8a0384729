"""Every config file composes against the schema; scenario files agree with sim.model.policy."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from sim.model.policy import SCENARIOS, scenario
from sim.pipeline.run import COMMAND, SimConfig, precheck
from sim.runtime.config import build

CONFIG_DIR = COMMAND.config_dir
CONFIGS = Path(CONFIG_DIR)
POLICIES = sorted(p.stem for p in (CONFIGS / "policy").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in (CONFIGS / "experiment").glob("*.yaml"))
LAUNCHERS = sorted(p.stem for p in (CONFIGS / "hydra" / "launcher").glob("*.yaml"))


@pytest.fixture()
def composer():
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3", job_name="test"):
        yield lambda overrides=(), hydra=False: compose(
            COMMAND.config_name, overrides=list(overrides), return_hydra_config=hydra
        )
    GlobalHydra.instance().clear()


def _task(cfg):
    """The task part of a config composed with its hydra node, schema type kept."""
    cfg = cfg.copy()
    OmegaConf.set_struct(cfg, False)
    cfg.pop("hydra", None)
    return cfg


def test_default_config_is_the_plan_run(composer):
    run = build(composer(), SimConfig)
    assert run.scenario == "plan"
    assert run.policy == scenario("plan")
    assert (run.replicates, run.seed, run.end_year, run.scale, run.jobs) == (200, 0, 2026, 1.0, 2)
    assert run.replicates >= 200  # P(reach) to about +-0.07


def test_config_lists_every_schema_knob():
    """config.yaml shows researchers every run knob (the schema holds the defaults too)."""
    from dataclasses import fields

    text = (CONFIGS / "config.yaml").read_text()
    for f in fields(SimConfig):
        if f.name not in ("scenario", "policy", "params"):
            assert f"\n{f.name}:" in text, f"config.yaml does not show {f.name}"


@pytest.mark.parametrize("name", POLICIES)
def test_policy_files_compose(composer, name):
    run = build(composer([f"policy={name}"]), SimConfig)
    assert run.scenario == name


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
    build(_task(cfg), SimConfig)
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
            "params.bunching_prob=0.3",
        ]
    )
    run = build(cfg, SimConfig)
    assert run.policy.voucher_budget == 3.0 and run.policy.fund_size == 250.0
    assert run.policy.incubators == 500 and run.policy.reform_units == 200
    assert run.params.bunching_prob == 0.3


@pytest.mark.parametrize(
    ("argv", "key"),
    [
        (["policy.voucher_budget=-1"], "policy.voucher_budget"),
        (["policy.rd_subsidy_rate=1.5"], "policy.rd_subsidy_rate"),
        (["policy.incubators=-3"], "policy.incubators"),
        (["policy.vouchers=1"], "policy.vouchers"),
        (["policy.incubators=many"], "policy.incubators"),
        (["end_year=2016"], "end_year"),
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


# --------------------------------------------------------------------------- one schema, validated on construction
def _valid_change(cls, name):
    """A valid value of field ``name`` of ``cls`` other than its default."""
    from dataclasses import fields

    f = next(f for f in fields(cls) if f.name == name)
    lo, hi = f.metadata["range"]
    value = (f.default + hi) / 2 if f.default != hi else (lo + f.default) / 2
    if f.metadata.get("kind", f.type) in ("int", int):
        value = (
            int(round(value)) if int(round(value)) != f.default else f.default + (1 if f.default < hi else -1)
        )
    return value


def test_fingerprint_covers_every_input_and_no_execution_knob():
    """Resume skips a run only when nothing that determines its results changed: a lever, a parameter,
    a run knob or the posterior file; how it is computed (processes, backend, progress) does not count."""
    from dataclasses import fields, replace

    from sim.model.params import BehaviourParams
    from sim.model.policy import PolicyLevers
    from sim.pipeline.run import EXECUTION_KNOBS

    base = SimConfig()
    ref = base.fingerprint(posterior_sha256="a")
    assert base.fingerprint(posterior_sha256="b") != ref  # a recalibrated posterior is another run
    changes = {
        "scenario": "frozen_2023",
        "replicates": 7,
        "seed": 3,
        "end_year": 2030,
        "scale": 0.5,
        "replicate_block": 2,
        "posterior": "none",
        "effects": "central",
        "jobs": 3,
        "executor": "local",  # the default: "ray" needs Ray, and must not count either (checked below)
        "address": "local",
        "resume": False,
        "overwrite": True,
        "progress": False,
        "plots": False,
    }
    for group, cls in (("policy", PolicyLevers), ("params", BehaviourParams)):
        for f in fields(cls):
            obj = replace(getattr(base, group), **{f.name: _valid_change(cls, f.name)})
            assert replace(base, **{group: obj}).fingerprint(posterior_sha256="a") != ref, f"{group}.{f.name}"
    top = {f.name for f in fields(SimConfig)} - {"policy", "params"}
    assert set(changes) == top, "a new SimConfig field needs a line here"
    for name, value in changes.items():
        changed = replace(base, **{name: value}).fingerprint(posterior_sha256="a")
        assert (changed == ref) == (name in EXECUTION_KNOBS), name
    assert set(EXECUTION_KNOBS) == {"jobs", "executor", "address", "resume", "overwrite", "progress", "plots"}


def test_a_run_config_is_validated_on_construction():
    from sim.model.params import ConfigError
    from sim.model.policy import PolicyLevers

    with pytest.raises(ConfigError, match="scale = 0.0: allowed range"):
        SimConfig(scale=0.0)
    with pytest.raises(ConfigError, match="policy.voucher_budget = -1.0"):
        SimConfig(policy=PolicyLevers(voucher_budget=-1.0))
    with pytest.raises(ConfigError, match="executor = 'spark'"):
        SimConfig(executor="spark")
    run = SimConfig(scale=1)
    assert isinstance(run.scale, float) and run.fingerprint() == SimConfig(scale=1.0).fingerprint()


def test_composed_config_is_the_schema_object(composer):
    """Hydra builds the very dataclass the code runs on (OmegaConf.to_object): no second declaration."""
    run = build(composer(["replicates=7"]), SimConfig)
    assert type(run) is SimConfig and run.replicates == 7
    assert run == SimConfig(replicates=7)  # config.yaml and the dataclass defaults agree


def test_minus_zero_is_zero(composer):
    """``policy.voucher_budget=-0.0`` is the lever at 0: printed, hashed and compared as 0.0."""
    import json
    import math

    run = build(composer(["policy.voucher_budget=-0.0", "policy.rd_subsidy_rate=-0.0"]), SimConfig)
    zero = build(composer(["policy.voucher_budget=0", "policy.rd_subsidy_rate=0"]), SimConfig)
    for lever in ("voucher_budget", "rd_subsidy_rate"):
        value = getattr(run.policy, lever)
        assert value == 0 and math.copysign(1.0, value) == 1.0
    assert run.fingerprint() == zero.fingerprint()
    assert "-0.0" not in json.dumps(run.as_dict())


def test_calibration_config_has_one_declaration_of_each_knob():
    """configs/calibrate.yaml, CalibrateConfig and the ABC's own settings agree (they once disagreed on n_steps)."""
    from dataclasses import fields

    from sim.calibration.abc import ABCSettings
    from sim.calibration.config import CalibrateConfig

    raw = OmegaConf.load(CONFIGS / "calibrate.yaml")
    for f in fields(CalibrateConfig):
        assert f.name in raw, f"calibrate.yaml does not show {f.name}"
        assert raw[f.name] == f.default, (
            f"calibrate.yaml {f.name} = {raw[f.name]} but the schema says {f.default}"
        )
    for f in fields(ABCSettings):
        assert getattr(ABCSettings(), f.name) == getattr(CalibrateConfig(), f.name), f.name
    assert isinstance(CalibrateConfig(), ABCSettings)


def test_calibration_precheck_leaves_no_folder(tmp_path, monkeypatch, capsys):
    from sim.calibration.calibrate import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["n_keep=500", "n_design=256", f"hydra.run.dir={tmp_path / 'out'}"])
    assert info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["config error: n_design = 256: must be >= n_keep = 500"]
    assert not list(tmp_path.iterdir())


def test_a_change_to_the_models_code_is_another_run_and_another_study(monkeypatch):
    """A folder's saved runs are reused only by the model's code that made them: the run's and the study's
    fingerprints include the hash of ``sim.model``'s source, which is stable and changes with any file."""
    from sim.pipeline import run as run_module
    from sim.pipeline.study import load, runner
    from sim.runtime import provenance

    code = provenance.model_code_sha256()
    assert code == provenance.model_code_sha256() and len(code) == 64
    cfg, study = SimConfig(), load.config("contrast", "smoke")
    before = run_module.run_fingerprint(cfg), runner.study_fingerprint(study)
    monkeypatch.setattr(provenance, "model_code_sha256", lambda: "another model")
    after = run_module.run_fingerprint(cfg), runner.study_fingerprint(study)
    assert before[0] != after[0] and before[1] != after[1]
