"""Config checks of the four commands (``sim.runtime.shell`` runs them before Hydra makes a folder).

Each command declares one dataclass schema that Hydra composes against and the code runs on
(``OmegaConf.to_object``); the dataclass validates itself in ``__post_init__``. Here:

- ``check_command_line``: compose the command line once per value of every sweep and build the
  schema object (plus any extra check, e.g. reading the posterior file), before Hydra makes a
  folder, so bad input exits with one line and leaves nothing behind;
- ``one_line``: any config error (ours, Hydra's, OmegaConf's) as one line naming the key (a schema
  dataclass may say why a key is not there: ``fixed_keys``, name -> reason, as a class attribute);
- small validators (``whole``, ``as_floats``) the schemas share.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any, Callable, Iterator

from omegaconf import DictConfig, OmegaConf, open_dict

from sim.model.params import ConfigError
from sim.paths import CONFIG_DIR as PATHS_CONFIG_DIR

CONFIG_DIR = str(PATHS_CONFIG_DIR)
BAD_INPUT_EXIT = 2  # the exit status of a command given bad input


# --------------------------------------------------------------------------- validators
def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def whole(key: str, value: Any, lo: int, hi: int | None = None) -> int:
    """``value`` if it is a whole number in [lo, hi], else ``ConfigError`` naming ``key``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        allowed = f"a whole number >= {lo}" if hi is None else f"a whole number in [{lo}, {hi}]"
        raise ConfigError(f"{key} = {value!r}: must be {allowed}")
    return value


def flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key} = {value!r}: must be true or false")
    return value


def as_floats(obj: Any) -> Any:
    """``obj`` with its float fields as floats and ``-0.0`` as ``0.0``, so one run prints and hashes
    alike however it was written (``policy.voucher_budget=-0.0`` is the lever at 0; ``2`` from Python
    is ``2.0`` from the command line)."""
    if not dataclasses.is_dataclass(obj):
        return obj
    fixes = {}
    for f in fields(obj):
        v = getattr(obj, f.name)
        if f.type in ("float", float) and is_number(v):
            fixed = float(v) + 0.0  # + 0.0 turns -0.0 into 0.0
            if repr(fixed) != repr(v):
                fixes[f.name] = fixed
    return dataclasses.replace(obj, **fixes) if fixes else obj


# --------------------------------------------------------------------------- finished folders
def changed_settings(old: dict, new: dict, skip: tuple[str, ...] = (), prefix: str = "") -> list[str]:
    """``key: old -> new`` for each setting that differs between two configs (nested keys dotted);
    top-level keys in ``skip`` (how a result is computed, not what) are left out."""
    out = []
    for key in sorted(set(old) | set(new)):
        if not prefix and key in skip:
            continue
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += changed_settings(a, b, (), f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a} -> {b}")
    return out


def overwrite_refused(
    noun: str, folder, old: dict | None, new: dict, skip: tuple[str, ...] = ()
) -> ConfigError:
    """The error of a rerun into a folder holding a finished ``noun`` made with other settings
    (``old``: its recorded config, if readable): names ``overwrite`` and what differs."""
    changed = changed_settings(old, new, skip) if isinstance(old, dict) else []
    if changed:
        what = "; ".join(changed[:4]) + ("; ..." if len(changed) > 4 else "")
    else:
        what = "the posterior file, the data or the model's code"
    return ConfigError(
        f"overwrite = false: {folder} holds a finished {noun} made with other settings ({what}); to replace "
        "it, rerun with overwrite=true, or choose another folder (hydra.run.dir=FOLDER; hydra.sweep.dir for -m)"
    )


# --------------------------------------------------------------------------- schema lookups
def schema_node(schema: type, path: str) -> Any:
    """The dataclass behind a dotted config path ('' = ``schema``, 'policy' = its ``policy`` field's)."""
    node: Any = schema
    for name in [p for p in path.split(".") if p]:
        match = {f.name: f for f in fields(node)}.get(name)
        if match is None or match.default_factory is MISSING:
            return None
        node = match.default_factory
    return node if dataclasses.is_dataclass(node) else None


def check_keys(cfg: DictConfig, schema: type, path: str = "") -> None:
    """Keys added with ``+key=`` or removed with ``~key`` bypass the schema: refuse them too."""
    node = schema_node(schema, path)
    if node is None:
        return
    names = [f.name for f in fields(node)]
    expected, present = set(names), set(cfg.keys())
    for key in sorted(present - expected):
        raise ConfigError(unknown_key(schema, f"{path}.{key}" if path else key))
    for key in sorted(expected - present):
        full = f"{path}.{key}" if path else key
        raise ConfigError(f"{full}: missing; it cannot be removed")
    for f in fields(node):
        sub = f"{path}.{f.name}" if path else f.name
        if schema_node(schema, sub) is not None:
            check_keys(cfg[f.name], schema, sub)


@contextlib.contextmanager
def config_errors_exit() -> Iterator[None]:
    """A command's bad input: one line ``config error: ...`` on stderr and exit status 2
    (``BAD_INPUT_EXIT``), no traceback."""
    try:
        yield
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        raise SystemExit(BAD_INPUT_EXIT) from None


def build(cfg: DictConfig, schema: type) -> Any:
    """The validated schema object of a composed config (its ``__post_init__`` raises ``ConfigError``)."""
    check_keys(cfg, schema)
    return OmegaConf.to_object(cfg)


def _field_hint(schema: type, full_key: str) -> str:
    """'must be float in [0, 50] (亿元 a year)' for a schema field, for error messages."""
    parent, _, name = full_key.rpartition(".")
    node = schema_node(schema, parent)
    f = {f.name: f for f in fields(node)}.get(name) if node is not None else None
    if f is None:
        return ""
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    if "range" in f.metadata:
        lo, hi = f.metadata["range"]
        return f"must be {kind} in [{lo}, {hi}] ({f.metadata.get('unit', '')})"
    return f"must be {kind}"


def unknown_key(schema: type, full_key: str) -> str:
    """'calibration.n_keeep: unknown key; calibration accepts: ...' (or why the key is not configurable)."""
    parent, _, name = full_key.rpartition(".")
    node = schema_node(schema, parent)
    why = getattr(node, "fixed_keys", {}).get(name) if node is not None else None
    if why:
        return f"{full_key}: {why}, not configurable here"
    if node is None and parent:
        return (
            f"{full_key}: unknown key; {parent} takes a value, not keys (a lever's path as a whole: "
            f"{parent}=[0,4,4] or {parent}={{2026:500}})"
        )
    allowed = ", ".join(f.name for f in fields(node)) if node is not None else ""
    return f"{full_key}: unknown key; {parent or 'the top level'} accepts: {allowed}"


# --------------------------------------------------------------------------- one-line errors
def _merged_path(cause: BaseException, schema: type) -> str | None:
    """The ``Any`` field (a lever's path) a config file set as a mapping, when a command-line value
    could not be merged into it (another year, or a list); else None."""
    from omegaconf.errors import ConfigKeyError, ConfigTypeError

    key = str(getattr(cause, "full_key", "") or "")
    if isinstance(cause, ConfigKeyError):
        key, _, year = key.rpartition(".")
        if not year.isdigit():
            return None
    elif not (isinstance(cause, ConfigTypeError) and "merge DictConfig" in str(cause)):
        return None
    parent, _, name = key.rpartition(".")
    node = schema_node(schema, parent)
    f = {f.name: f for f in fields(node)}.get(name) if node is not None else None
    return key if f is not None and f.type is Any else None


def one_line(exc: BaseException, schema: type) -> str:
    """Turn a config error (ours, Hydra's or OmegaConf's) into one line naming the key."""
    from hydra.errors import MissingConfigException, OverrideParseException
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError, ValidationError

    cause = exc
    while cause.__cause__ is not None and not isinstance(cause, (ConfigError, OverrideParseException)):
        cause = cause.__cause__
    if isinstance(cause, ConfigError):
        return f"config error: {cause}"
    merged = _merged_path(cause, schema)
    if merged:
        return (
            f"config error: {merged}: a config file sets it as a mapping from year, and Hydra merges a "
            "command-line value into a mapping instead of replacing it (no other years, no list); override "
            "it with one number or a mapping of the same years, or change the file (a list is replaced whole)"
        )
    if isinstance(exc, MissingConfigException) or isinstance(cause, MissingConfigException):
        mce = exc if isinstance(exc, MissingConfigException) else cause
        missing = (mce.missing_cfg_file or "").strip("/")
        group, _, option = missing.rpartition("/")
        options = ", ".join(mce.options or [])
        if group:
            return f"config error: {group}={option}: no such config; available: {options or '(none)'}"
        return f"config error: {str(mce).splitlines()[0]}"
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and getattr(cause, "full_key", None):
        return f"config error: {unknown_key(schema, str(cause.full_key))}"
    if isinstance(cause, ValidationError) and getattr(cause, "full_key", None):
        msg = (cause.msg or str(cause)).splitlines()[0]
        hint = _field_hint(schema, cause.full_key)
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


def _output_folder(cfg: DictConfig, multirun: bool) -> Path | None:
    """The folder Hydra will make for this command line (a sweep's folder for ``-m``), if it resolves here."""
    try:
        value = OmegaConf.select(cfg, "hydra.sweep.dir" if multirun else "hydra.run.dir")
    except Exception:  # noqa: BLE001 - an interpolation only Hydra's runtime resolves: not checked here
        return None
    return Path(str(value)) if value else None


def check_command_line(
    argv: list[str],
    *,
    config_name: str,
    schema: type,
    check: Callable[[Any], None] | None = None,
    config_dir: str = CONFIG_DIR,
    folder_check: Callable[[Any, Path, bool], None] | None = None,
) -> str | None:
    """Compose and validate what ``argv`` asks for; return one error line or None.

    Every value of every sweep (command line or ``hydra.sweeper.params``) is checked once:
    the composed config is built into ``schema`` (which validates itself), then ``check``
    runs on the object (checks of inputs, such as files, that a dataclass should not read).
    So a typo or an unusable file fails before a single folder or job exists. Then
    ``folder_check(obj, folder, multirun)`` runs once on the first object and the output folder
    Hydra would make (``hydra.run.dir``, or ``hydra.sweep.dir`` for a sweep), before it exists.
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
    config_name = args.config_name or config_name
    try:
        overrides = list(args.overrides)
        multirun = args.multirun or "hydra.mode=MULTIRUN" in overrides
        variants = _variants(overrides) if multirun else [overrides]
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=config_dir, version_base="1.3", job_name="precheck"):
            checked: set[tuple[str, ...]] = set()
            queue = list(variants)
            first = True
            folder: Path | None = None
            first_obj: Any = None
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
                    folder = _output_folder(cfg, is_multi)
                with open_dict(cfg):
                    del cfg["hydra"]
                obj = build(cfg, schema)
                first_obj = obj if first_obj is None else first_obj
                if check is not None:
                    check(obj)
            if folder_check is not None and folder is not None:
                folder_check(first_obj, folder, is_multi)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line
        return one_line(exc, schema)
    finally:
        GlobalHydra.instance().clear()
    return None
