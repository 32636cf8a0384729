"""The calibrated posterior: weighted behaviour-parameter sets written by ``python -m sim.calibrate``.

    from sim.data.posterior import load_posterior
    post = load_posterior()                 # sim/data/posterior.csv, checked against posterior.json
    params = post.draw(rng)                 # one BehaviourParams, picked by weight
    post.mean()                             # weighted mean set (the "mean only" switch)

The csv holds one row per accepted set: ``param_set``, the calibrated ``BehaviourParams``
columns and an importance ``weight`` (sums to 1). Sets are not equally likely: pick them by
weight (``pick``/``draw``), never uniformly. Parameters that are not columns keep the
``BehaviourParams`` defaults (or those of ``base``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.model.params import BehaviourParams
from sim.paths import POSTERIOR_CSV, REPO_ROOT

META_COLUMNS = ("param_set", "weight")


class PosteriorError(RuntimeError):
    """The posterior file is missing, altered or malformed. The message says which and what to do."""


#: Behaviour parameters that act only after 2023 (the fade of the 2017-2023 momentum; the national technology
#: market's persistence and long-run growth, ``sim.model.drivers``). No data point before 2024 depends on them,
#: so a posterior cannot inform them: p(theta_hist, theta_proj | data) = p(theta_hist | data) x prior(theta_proj).
#: Projections draw them from their priors (``sim.pipeline.ensemble.with_projection_draws``), whatever values a
#: calibration file holds for them. ``tests/test_ensemble.py`` checks that none of them moves a 2017-2023 output.
PROJECTION_ONLY = ("trend_halflife", "national_growth_persistence", "national_growth_longrun")


@dataclass(frozen=True)
class Posterior:
    """Weighted parameter sets and the provenance of the calibration that made them."""

    table: pd.DataFrame  # one row per set: the calibrated parameter columns
    weights: np.ndarray  # normalised importance weights, one per row
    provenance: dict = field(default_factory=dict)
    path: Path | None = None
    sha256: str = ""

    @property
    def names(self) -> list[str]:
        return list(self.table.columns)

    def __len__(self) -> int:
        return len(self.table)

    @property
    def ess(self) -> float:
        """Effective sample size of the weights (Kish)."""
        return float(1.0 / np.sum(self.weights**2))

    def param_set(self, i: int, base: BehaviourParams | None = None) -> BehaviourParams:
        base = base or BehaviourParams()
        row = self.table.iloc[int(i)]
        return dataclasses.replace(base, **{n: type(getattr(base, n))(row[n]) for n in self.names}).validate()

    def param_sets(self, base: BehaviourParams | None = None) -> list[BehaviourParams]:
        """Every set, in file order (pair with ``weights``)."""
        return [self.param_set(i, base) for i in range(len(self))]

    def pick(self, rng: np.random.Generator, size: int | None = None):
        """Index (or ``size`` indices) of sets drawn with probability = weight."""
        if rng is None:
            raise ValueError("pick needs a numpy Generator: draws must be reproducible")
        return rng.choice(len(self), size=size, p=self.weights)

    def draw(self, rng: np.random.Generator, base: BehaviourParams | None = None) -> BehaviourParams:
        """One set drawn by weight."""
        return self.param_set(int(self.pick(rng)), base)

    def mean(self, base: BehaviourParams | None = None) -> BehaviourParams:
        """The weighted mean of each calibrated parameter (other fields from ``base``)."""
        base = base or BehaviourParams()
        means = self.table.to_numpy(dtype=float).T @ self.weights
        return dataclasses.replace(
            base, **{n: type(getattr(base, n))(m) for n, m in zip(self.names, means)}
        ).validate()

    def describe(self) -> dict[str, Any]:
        """What a run summary records about the posterior it used."""
        prov = self.provenance
        method = prov.get("method", {})
        return {
            "path": str(self.path) if self.path else None,
            "sha256": self.sha256,
            "sets": len(self),
            "ess": round(self.ess, 1),
            "parameters": self.names,
            "seed": prov.get("seed"),
            "created": prov.get("created"),
            "command": prov.get("command"),
            "commit": (prov.get("git") or {}).get("commit"),
            "dirty": (prov.get("git") or {}).get("dirty"),
            "fit_targets_sha256": (prov.get("data") or {}).get("fit_targets_sha256"),
            "runs": method.get("runs_total"),
            "fit": prov.get("fit"),
        }

    def note(self) -> str:
        """One line for logs and summaries."""
        d = self.describe()
        path = Path(d["path"])
        try:  # the repository's own posterior by its relative path: no machine's folders in outputs
            path = path.resolve().relative_to(REPO_ROOT)
        except ValueError:
            pass
        return (
            f"posterior {path} (sha256 {d['sha256'][:12]}, {d['sets']} sets, ESS {d['ess']:.0f}, "
            f"seed {d['seed']}, commit {str(d['commit'])[:10]})"
        )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def default_posterior_sha256() -> str | None:
    """The sha256 of the committed posterior csv (``sim/data/posterior.csv``), None when it is missing:
    what a study's or run's recorded posterior is compared with."""
    return _sha256(POSTERIOR_CSV.read_bytes()) if POSTERIOR_CSV.is_file() else None


def load_posterior(path: str | Path | None = None, verify: bool = True) -> Posterior:
    """Read ``posterior.csv`` (default ``sim/data/posterior.csv``) and its ``.json`` beside it.

    With ``verify`` the csv's sha256 must equal the one the json recorded: a hand-edited,
    truncated or stale csv is refused rather than silently used.
    """
    csv_path = Path(path) if path is not None else POSTERIOR_CSV
    json_path = csv_path.with_suffix(".json")
    if not csv_path.is_file():
        raise PosteriorError(f"no posterior at {csv_path}: run `make calibrate` (python -m sim.calibrate)")
    if not json_path.is_file():
        raise PosteriorError(
            f"{json_path} is missing: the posterior has no provenance; rerun `make calibrate`"
        )
    data = csv_path.read_bytes()
    try:
        prov = json.loads(json_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise PosteriorError(f"{json_path} is not valid JSON ({exc}); rerun `make calibrate`") from None
    digest = _sha256(data)
    recorded = (prov.get("posterior_csv") or {}).get("sha256")
    if verify and digest != recorded:
        raise PosteriorError(
            f"{csv_path} does not match its provenance: sha256 {digest[:16]}… but {json_path.name} records "
            f"{str(recorded)[:16]}…; the csv was edited or the json is stale. Rerun `make calibrate`."
        )
    frame = pd.read_csv(csv_path)
    known = {f.name for f in fields(BehaviourParams)}
    unknown = [c for c in frame.columns if c not in known and c not in META_COLUMNS]
    if unknown:
        raise PosteriorError(f"{csv_path}: columns {unknown} are not BehaviourParams fields")
    if frame.empty:
        raise PosteriorError(f"{csv_path}: no parameter sets")
    names = [c for c in frame.columns if c in known]
    w = frame["weight"].to_numpy(dtype=float) if "weight" in frame else np.ones(len(frame))
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise PosteriorError(f"{csv_path}: weights must be finite, non-negative and not all zero")
    table = frame[names].astype(float).reset_index(drop=True)
    post = Posterior(table, w / w.sum(), prov, csv_path, digest)
    for i in range(len(post)):  # every set inside the model's hard ranges
        try:
            post.param_set(i)
        except ValueError as exc:
            raise PosteriorError(f"{csv_path}: set {i} is invalid: {exc}") from None
    return post
