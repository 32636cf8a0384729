"""How an output was made: ``record`` (what every command's output says: command line, code version,
packages, machine) and ``manifest`` (a ``python -m sim`` run's manifest.json: that, plus seeds, data,
Hydra's record and time)."""

from __future__ import annotations

import os
import platform
import re
import shlex
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

from sim.paths import REPO_ROOT

PACKAGES = (
    "mesa",
    "numpy",
    "pandas",
    "scipy",
    "hydra-core",
    "omegaconf",
    "matplotlib",
    "tqdm",
    "joblib",
    "hydra-joblib-launcher",
    "hydra-submitit-launcher",
    "submitit",
    "hydra-ray-launcher",
    "ray",
)


def git_info(root: Path = REPO_ROOT) -> dict[str, Any]:
    """Commit and dirty flag of the source tree, or nulls when it is not a git checkout."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        # rstrip only: a porcelain status line starts with a space (" M path") that is part of its format
        return out.stdout.rstrip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    # untracked files count too (a new module changes results); outputs are git-ignored
    status = git("status", "--porcelain")
    changes = status.splitlines() if status else []
    return {
        "commit": commit,
        "dirty": None if status is None else bool(changes),
        "changes": changes[:50],
        "branch": git("rev-parse", "--abbrev-ref", "HEAD") if commit else None,
    }


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str | None]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


_ABSOLUTE = re.compile(r"""(?:^|(?<=[\s="'`(]))/[\w.-]+(?:/[^\s'"`;,)]*)?""", re.M)


def portable(text: str) -> str:
    """``text`` with this machine's folders taken out, for files that are committed: a path inside the
    repository becomes repository-relative, any other absolute path keeps its last part (``.../cal3``)."""

    def one(match: re.Match) -> str:
        path = Path(match.group(0))
        try:
            return str(path.relative_to(REPO_ROOT)) or "."
        except ValueError:
            return f".../{path.name}" if path.name else "..."

    return _ABSOLUTE.sub(one, text)


def record(command: Sequence[str], packages: Sequence[str] = PACKAGES) -> dict[str, Any]:
    """What every command's output records of how it was made: the command line (``sim.runtime.shell``
    hands it over), the working folder, the code version, the packages and the machine; paths of this
    machine written by ``portable``."""
    return {
        "command": portable(shlex.join(command)),
        "cwd": portable(os.getcwd()),
        "git": git_info(),
        "packages": package_versions(packages),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def model_code_sha256() -> str:
    """Hash of the model's source (every ``.py`` file of ``sim.model``, by path and content): part of a run's
    and a study's fingerprint, so that a folder's saved runs are not reused once the model's code changed."""
    import hashlib
    from pathlib import Path

    import sim.model

    root = Path(sim.model.__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def data_hash() -> dict[str, str]:
    """Hash of the data files the model reads (``sim.data.history.data_hash``)."""
    from sim.data import history

    return {"sha256": history.data_hash(), "method": "sim.data.history.data_hash"}


def manifest(
    *,
    config: dict[str, Any],
    plan: Sequence[Any],
    command: Sequence[str],
    hydra: dict | None,
    started: float,
    posterior: Any,
    fingerprint: str,
    executor: dict[str, Any] | None = None,
    wall_time_s: float | None = None,
) -> dict[str, Any]:
    """The manifest dict of a run (``config``: ``SimConfig.as_dict()``); the run's writer adds the wall
    time and file list when writing."""
    from sim.runtime.parallel import SEED_RULE

    return {
        "config": config,
        "fingerprint": fingerprint,
        "seeds": {
            "root_seed": config["seed"],
            "rule": SEED_RULE,
            "replicates": [
                {
                    "replicate": r.index,
                    "seed": r.seed,
                    "param_set": r.param_set,
                    "effects_seed": r.effects_seed,
                }
                for r in plan
            ],
        },
        "executor": executor,
        "posterior": {"note": posterior.note, **posterior.info} if posterior is not None else None,
        **record(command),
        "python_executable": sys.executable,
        "host": socket.gethostname(),
        "data": data_hash(),
        "argv": list(command),
        "hydra": hydra,
        "started": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": wall_time_s if wall_time_s is not None else round(time.time() - started, 3),
    }


def effects_record(mode: str, table) -> dict[str, Any]:
    """How the lever effects were set, and every replicate's values (``effects.csv`` holds the same)."""
    per_rep = {
        str(int(rep)): {str(k): float(v) for k, v in zip(g["effect"], g["value"])}
        for rep, g in table.groupby("replicate", sort=True)
    }
    return {
        "mode": mode,
        "rule": "sampled: effect k of replicate i is uniform on its range, from SeedSequence([effects_seed_i, "
        "crc32(k)]) (sim.model.policy.sample_effects); central: every effect at its central value",
        "file": "effects.csv",
        "replicates": per_rep,
    }
