"""The Hydra entry point: ``python -m sim`` (Hydra stays at this edge).

Composition order (``configs/config.yaml``): the structured schema ``SimConfig``
(so a misspelled key or a wrong type fails at compose time), the run knobs, the
``policy/`` scenario (``plan`` by default), then an optional ``experiment/``.

Before Hydra starts, ``precheck`` composes the command line once per value of
every sweep and validates the levers and run knobs, so bad input exits with one
line on stderr, before any folder, job or cluster submission exists.

The task itself (``app``) turns the config into plain typed objects and calls
``sim.pipeline.ensemble`` and ``sim.pipeline.report``; nothing below it sees Hydra.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import hydra
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf, open_dict

from sim.model.params import BehaviourParams, ConfigError, RunConfig
from sim.model.policy import PolicyLevers
from sim.paths import CONFIG_DIR as PATHS_CONFIG_DIR

CONFIG_DIR = str(PATHS_CONFIG_DIR)
CONFIG_NAME = "config"

#: Knobs that change how a study is computed, not what it computes (left out of the
#: fingerprint, so a job rerun with more processes still counts as done).
EXECUTION_KNOBS = ("jobs", "resume", "progress", "plots")
POSTERIOR_CHOICES = ("default", "none", "mean")


# --------------------------------------------------------------------------- schema
@dataclass
class SimConfig:
    """Top-level config schema. ``policy`` and ``params`` reuse the model's dataclasses."""

    scenario: str = "plan"  # name of the policy/ file that set the levers
    policy: PolicyLevers = field(default_factory=PolicyLevers)
    params: BehaviourParams = field(default_factory=BehaviourParams)
    replicates: int = 200  # replicates in this run (= this block of the study)
    seed: int = 0  # root seed of the study; replicate i uses SeedSequence([seed, i])
    end_year: int = 2026
    scale: float = 1.0  # share of the real firm population simulated
    jobs: int = 2  # processes for the replicates of this run
    replicate_block: int = 0  # this run holds replicates [block*replicates, (block+1)*replicates)
    posterior: str = "default"  # parameter sets: default | none | mean | path/to/posterior.csv
    resume: bool = True  # skip the run if its folder already holds a complete summary.json
    progress: bool = True  # progress bar on stderr
    plots: bool = True  # fan charts


def register_configs() -> None:
    ConfigStore.instance().store(name="sim_schema", node=SimConfig)


register_configs()


# --------------------------------------------------------------------------- plain settings
@dataclass
class Study:
    """A validated run, free of Hydra: what ``sim.pipeline.ensemble`` and ``sim.pipeline.report`` need."""

    scenario: str
    levers: PolicyLevers
    params: BehaviourParams
    replicates: int
    seed: int
    end_year: int
    scale: float
    jobs: int
    replicate_block: int
    posterior: str
    resume: bool = True
    progress: bool = True
    plots: bool = True

    @property
    def first_replicate(self) -> int:
        return self.replicate_block * self.replicates

    @property
    def replicate_range(self) -> tuple[int, int]:
        return self.first_replicate, self.first_replicate + self.replicates

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"scenario": self.scenario, "policy": asdict(self.levers)}
        d.update(
            {
                f.name: getattr(self, f.name)
                for f in fields(self)
                if f.name not in ("scenario", "levers", "params")
            }
        )
        d["first_replicate"] = self.first_replicate
        d["params"] = asdict(self.params)
        return d

    def fingerprint(self, **inputs: Any) -> str:
        """Hash of everything that determines the results (not how they are computed).

        ``inputs``: other things results depend on (e.g. the posterior file's sha256).
        """
        d = {k: v for k, v in self.as_dict().items() if k not in EXECUTION_KNOBS}
        d.update(inputs)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def _whole(key: str, value: Any, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        allowed = f"a whole number >= {lo}" if hi is None else f"a whole number in [{lo}, {hi}]"
        raise ConfigError(f"{key} = {value!r}: must be {allowed}")
    return value


def _check_keys(cfg: DictConfig, path: str = "") -> None:
    """Keys added with ``+key=`` or removed with ``~key`` bypass the schema: refuse them too."""
    node = _schema_node(path)
    if node is None:
        return
    names = [f.name for f in fields(node)]
    expected, present = set(names), set(cfg.keys())
    for key in sorted(present - expected):
        full = f"{path}.{key}" if path else key
        raise ConfigError(f"{full}: unknown key; {path or 'the top level'} accepts: {', '.join(names)}")
    for key in sorted(expected - present):
        full = f"{path}.{key}" if path else key
        raise ConfigError(f"{full}: missing; it cannot be removed")
    for key in ("policy", "params") if not path else ():
        _check_keys(cfg[key], key)


def study_from_cfg(cfg: DictConfig) -> Study:
    """Typed, validated study from a composed config; raises ``ConfigError`` naming the key."""
    _check_keys(cfg)
    obj = OmegaConf.to_object(cfg)  # SimConfig instance; interpolations resolved
    levers = obj.policy.validate("policy")
    params = obj.params.validate("params")
    RunConfig(end_year=obj.end_year, scale=obj.scale).validate()
    _whole("replicates", obj.replicates, 1, 10_000_000)
    _whole("seed", obj.seed, 0)
    _whole("jobs", obj.jobs, 1, 4096)
    _whole("replicate_block", obj.replicate_block, 0)
    if not obj.scenario:
        raise ConfigError("scenario = '': must name the policy scenario (set by the policy/ config file)")
    if obj.posterior not in POSTERIOR_CHOICES and not Path(obj.posterior).is_file():
        raise ConfigError(
            f"posterior = {obj.posterior!r}: must be one of {', '.join(POSTERIOR_CHOICES)} "
            "or the path of a posterior.csv written by python -m sim.calibrate"
        )
    return Study(
        scenario=obj.scenario,
        levers=levers,
        params=params,
        replicates=obj.replicates,
        seed=obj.seed,
        end_year=obj.end_year,
        scale=float(obj.scale),
        jobs=obj.jobs,
        replicate_block=obj.replicate_block,
        posterior=obj.posterior,
        resume=obj.resume,
        progress=obj.progress,
        plots=obj.plots,
    )


# --------------------------------------------------------------------------- one-line errors
def _schema_node(path: str) -> Any:
    """The dataclass behind a dotted config path ('' = SimConfig, 'policy' = PolicyLevers)."""
    node: Any = SimConfig
    for name in [p for p in path.split(".") if p]:
        match = {f.name: f for f in fields(node)}.get(name)
        if match is None or match.default_factory is MISSING:
            return None
        node = match.default_factory
    return node


def _field_hint(full_key: str) -> str:
    """'must be float in [0, 50] (亿元 a year)' for a schema field, for error messages."""
    parent, _, name = full_key.rpartition(".")
    node = _schema_node(parent)
    f = {f.name: f for f in fields(node)}.get(name) if node is not None else None
    if f is None:
        return ""
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    if "range" in f.metadata:
        lo, hi = f.metadata["range"]
        return f"must be {kind} in [{lo}, {hi}] ({f.metadata.get('unit', '')})"
    return f"must be {kind}"


def _allowed_keys(parent: str) -> str:
    node = _schema_node(parent)
    return ", ".join(f.name for f in fields(node)) if node is not None else ""


def one_line(exc: BaseException) -> str:
    """Turn a config error (ours, Hydra's or OmegaConf's) into one line naming the key."""
    from hydra.errors import MissingConfigException, OverrideParseException
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError, ValidationError

    cause = exc
    while cause.__cause__ is not None and not isinstance(cause, (ConfigError, OverrideParseException)):
        cause = cause.__cause__
    if isinstance(cause, ConfigError):
        return f"config error: {cause}"
    if isinstance(exc, MissingConfigException) or isinstance(cause, MissingConfigException):
        mce = exc if isinstance(exc, MissingConfigException) else cause
        missing = (mce.missing_cfg_file or "").strip("/")
        group, _, option = missing.rpartition("/")
        options = ", ".join(mce.options or [])
        if group:
            return f"config error: {group}={option}: no such config; available: {options or '(none)'}"
        return f"config error: {str(mce).splitlines()[0]}"
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and getattr(cause, "full_key", None):
        key = cause.full_key
        parent = key.rpartition(".")[0]
        allowed = _allowed_keys(parent)
        where = parent or "the top level"
        return f"config error: {key}: unknown key; {where} accepts: {allowed}"
    if isinstance(cause, ValidationError) and getattr(cause, "full_key", None):
        msg = (cause.msg or str(cause)).splitlines()[0]
        hint = _field_hint(cause.full_key)
        return f"config error: {cause.full_key}: {msg}" + (f"; {hint}" if hint else "")
    if isinstance(cause, OverrideParseException):
        first = str(cause).splitlines()
        return (
            f"config error: could not parse override {cause.override!r}: {first[-1].strip() if first else ''}"
        )
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    if lines and lines[0].startswith("Ambiguous value for argument"):
        arg = lines[0].split("argument", 1)[1].strip()
        return (
            f"config error: {arg} lists several values: add -m (--multirun) to run one job per value, "
            "or write key=[a,b] for a list"
        )
    return "config error: " + "; ".join(lines[:2])


# --------------------------------------------------------------------------- precheck
def _variants(overrides: list[str]) -> list[list[str]]:
    """Override lists that cover every value of every sweep once (not the full grid)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    base: list[str] = []
    sweeps: list[tuple[int, list[str]]] = []
    for o in parsed:
        if o.is_sweep_override() and not o.is_hydra_override():
            key = o.get_key_element()
            try:
                values = [f"{key}={v}" for v in o.sweep_string_iterator()]
            except Exception:  # glob() over a group needs the repository: let Hydra expand it
                values = []
            if not values:
                continue
            sweeps.append((len(base), values))
            base.append(values[0])
        elif o.is_sweep_override():
            continue
        else:
            base.append(o.input_line)
    variants = [base]
    for pos, values in sweeps:
        for v in values[1:]:
            variant = list(base)
            variant[pos] = v
            variants.append(variant)
    return variants


def precheck(argv: list[str]) -> str | None:
    """Compose and validate what ``argv`` asks for; return one error line or None.

    Every value of every sweep (command line or ``hydra.sweeper.params``) is checked
    once, so a typo fails before a single job starts.
    """
    from hydra import compose, initialize_config_dir
    from hydra._internal.utils import get_args_parser
    from hydra.core.global_hydra import GlobalHydra

    try:
        args = get_args_parser().parse_args(argv)
    except SystemExit:
        return None  # argparse already said what is wrong; let Hydra say it again with usage
    if args.help or args.hydra_help or args.info or args.shell_completion or args.experimental_rerun:
        return None
    if args.config_path or args.config_dir:
        return None  # a user config tree we do not know: leave it to Hydra
    config_name = args.config_name or CONFIG_NAME
    try:
        overrides = list(args.overrides)
        multirun = args.multirun or "hydra.mode=MULTIRUN" in overrides
        variants = _variants(overrides) if multirun else [overrides]
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3", job_name="sim"):
            checked: set[tuple[str, ...]] = set()
            queue = list(variants)
            first = True
            while queue:
                variant = queue.pop(0)
                if tuple(variant) in checked:
                    continue
                checked.add(tuple(variant))
                cfg = compose(config_name, overrides=variant, return_hydra_config=True)
                if first:
                    first = False
                    sweep_params = OmegaConf.select(cfg, "hydra.sweeper.params") or {}
                    is_multi = multirun or str(OmegaConf.select(cfg, "hydra.mode")) == "RunMode.MULTIRUN"
                    if sweep_params and not is_multi:
                        swept = ", ".join(str(k) for k in sweep_params)
                        raise ConfigError(
                            f"this config sweeps {swept} (hydra.sweeper.params): add -m to run the sweep"
                        )
                    if sweep_params:
                        extra = [f"{k}={v}" for k, v in sweep_params.items()]
                        for ev in _variants(extra):
                            queue.append(variant + ev)
                with open_dict(cfg):
                    del cfg["hydra"]
                study_from_cfg(cfg)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line
        return one_line(exc)
    finally:
        GlobalHydra.instance().clear()
    return None


# --------------------------------------------------------------------------- the task
def _command_line() -> list[str]:
    argv0 = sys.argv[0]
    if argv0.endswith(("sim/__main__.py", "sim\\__main__.py")):
        return ["python", "-m", "sim", *sys.argv[1:]]
    return [argv0, *sys.argv[1:]]


def app(cfg: DictConfig) -> dict | None:
    """Run one study (one run or one job of a sweep) into Hydra's output folder."""
    from hydra.core.hydra_config import HydraConfig

    started = time.time()
    try:
        study = study_from_cfg(cfg)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    hc = HydraConfig.get()
    outdir = Path(hc.runtime.output_dir)
    hydra_info = {
        "overrides": list(hc.overrides.task),
        "hydra_overrides": list(hc.overrides.hydra),
        "mode": str(hc.mode),
        "job_num": hc.job.get("num"),
        "launcher": hc.runtime.choices.get("hydra/launcher"),
        "output_dir": str(outdir),
    }
    return execute(study, outdir, command=_command_line(), hydra_info=hydra_info, started=started)


def execute(
    study: Study,
    outdir: Path,
    *,
    command: list[str],
    hydra_info: dict | None = None,
    started: float | None = None,
) -> dict | None:
    """Run the ensemble and write every output; Hydra-free (tests and notebooks can call it)."""
    from sim.pipeline import ensemble, provenance, report

    started = time.time() if started is None else started
    outdir = Path(outdir)
    try:
        param_sets = ensemble.load_param_sets(study.posterior, study.params)
    except ensemble.PosteriorUnavailable as exc:
        print(f"config error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    # the posterior file is an input too: a recalibrated posterior makes a different study
    fingerprint = study.fingerprint(posterior_sha256=param_sets.info.get("sha256"))
    if study.resume:
        done = report.complete_summary(outdir, fingerprint)
        if done is not None:
            print(f"skipping {outdir}: already complete (summary.json, fingerprint {fingerprint})")
            return done
    stale = outdir / report.SUMMARY
    if stale.is_file():  # a different study's result: it must not look like this one's while we run
        print(f"replacing the results of a different study in {outdir}", file=sys.stderr)
        stale.unlink()
    plan = ensemble.plan_replicates(
        study.seed, range(*study.replicate_range), len(param_sets), param_sets.weights
    )
    results = ensemble.run_ensemble(
        study.levers,
        plan,
        param_sets=param_sets.sets,
        end_year=study.end_year,
        scale=study.scale,
        jobs=study.jobs,
        progress=study.progress,
        desc=f"{study.scenario} {outdir.name}",
    )
    wall = time.time() - started
    summary = report.summarise(results, study=study.as_dict(), fingerprint=fingerprint, posterior=param_sets)
    manifest = provenance.manifest(
        study=study.as_dict(),
        plan=plan,
        command=command,
        hydra=hydra_info,
        started=started,
        posterior=param_sets,
        fingerprint=fingerprint,
    )
    report.write_run(outdir, results, summary, manifest, plots=study.plots, started=started)
    print(report.targets_table(summary))
    print(
        f"\nresults: {outdir.resolve()}  ({study.replicates} replicates, {time.time() - started:.1f} s;"
        f" ensemble {wall:.1f} s)"
    )
    return summary


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name=CONFIG_NAME)
def hydra_main(cfg: DictConfig) -> dict | None:
    return app(cfg)


def cli(argv: list[str] | None = None) -> None:
    """``python -m sim``: one-line errors for bad input, then Hydra."""
    argv = sys.argv[1:] if argv is None else argv
    error = precheck(argv)
    if error is not None:
        print(error, file=sys.stderr)
        raise SystemExit(2)
    hydra_main()


if __name__ == "__main__":
    cli()
