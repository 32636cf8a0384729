"""Write the golden baseline that ``tests/test_baseline.py`` compares every test run against.

    .venv/bin/python tests/update_baseline.py

It runs one small study (``SETTINGS``: 6 replicates at 5 % scale, seed 0, the calibrated
posterior drawn by weight) through the same code as ``python -m sim`` and writes its
``summary.json``, without the provenance and credibility blocks (timestamps, hashes, other files), to
``tests/baseline/summary.json``. Regenerate it, and say why in the commit, only when a change
is meant to move the numbers (a model rule, a parameter, the posterior); the test's diff then
shows which numbers moved and by how much.

It also writes ``tests/baseline/behaviour.json``: every annual number of a few single model runs
(``behaviour_runs``) that take the paths the study does not (every lever at its 2023 level, at twice the
plan to 2028, on per-year paths; lever effects drawn). Together the two files are the record of the model's
behaviour: a change that moves any number must rewrite them, so the last commit that touched
``tests/baseline/`` is the last change of behaviour. ``sim.runtime.model_version`` compares records: the
lever studies' index flags a study made before it, the credibility block a fit or backtest; a change to the
model's code that keeps every number (a speed-up, a refactor) leaves them current.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

BASELINE = Path(__file__).resolve().parent / "baseline" / "summary.json"
SETTINGS = dict(replicates=6, seed=0, scale=0.05, end_year=2026, posterior="default")
#: Keys left out of the comparison: when and with which files it ran, not what it computed (``credibility``
#: reads the committed fit and backtest files and the git state of the model: sim.pipeline.credibility).
IGNORED = ("provenance", "credibility")


def make_summary(outdir: Path) -> dict[str, Any]:
    """The baseline study's summary (JSON types, ``IGNORED`` keys dropped)."""
    from sim.pipeline.run import SimConfig, execute

    study = SimConfig(**SETTINGS, jobs=1, progress=False, plots=False, resume=False)
    summary = execute(study, outdir, command=["tests/update_baseline.py"])
    return {k: v for k, v in json.loads(json.dumps(summary)).items() if k not in IGNORED}


BEHAVIOUR = BASELINE.parent / "behaviour.json"
#: The behaviour record's runs: scale, seed and end year of each (small: the whole record takes seconds).
BEHAVIOUR_SCALE = 0.1


def behaviour_runs() -> dict[str, Any]:
    """The single runs of the behaviour record (``sim.model.evaluate.ModelRun`` by name), at the committed
    posterior's weighted mean: the plan with central effects; every lever at its 2023 level; every lever at
    twice the plan (within its validated range) to 2028; every lever on the path (0 in 2024, the plan in
    2025, twice the plan in 2026). The last three draw the lever effects (``sample_effects``), as ensembles
    do, the calibrated ones taken from the parameters."""
    from dataclasses import asdict

    from sim.data.posterior import load_posterior
    from sim.model.evaluate import ModelRun
    from sim.model.policy import (
        LEVERS,
        PolicyLevers,
        central_effects,
        frozen_2023,
        sample_effects,
        with_calibrated_effects,
    )

    params = load_posterior().mean()
    plan = asdict(PolicyLevers())

    def twice(name: str) -> float:
        lever = LEVERS[name]
        return lever.kind(min(2 * plan[name], lever.hi))

    def effects(seed: int | None):
        return with_calibrated_effects(central_effects() if seed is None else sample_effects(seed), params)

    twice_plan = PolicyLevers(**{n: twice(n) for n in plan})
    paths = PolicyLevers(**{n: [LEVERS[n].kind(0), plan[n], twice(n)] for n in plan})
    run = dict(params=params, scale=BEHAVIOUR_SCALE)
    return {
        "plan": ModelRun(levers=PolicyLevers(), effects=effects(None), seed=101, **run),
        "frozen_2023": ModelRun(levers=frozen_2023(), effects=effects(7), seed=102, **run),
        "twice_plan_to_2028": ModelRun(levers=twice_plan, effects=effects(8), seed=103, end_year=2028, **run),
        "paths": ModelRun(levers=paths, effects=effects(9), seed=104, **run),
    }


def make_behaviour() -> dict[str, Any]:
    """Every annual number of every ``behaviour_runs`` run: ``{run: {indicator: [value by year]}}`` with
    ``years``; a missing value (NaN) is ``None`` (JSON has no NaN, and NaN never equals itself)."""
    import math

    from sim.model.evaluate import evaluate

    out: dict[str, Any] = {}
    for name, run in behaviour_runs().items():
        ind = evaluate(run)
        values = {
            col: [None if math.isnan(v) else v for v in ind.values[:, k].tolist()]
            for k, col in enumerate(ind.names)
        }
        out[name] = {"years": ind.years.tolist(), **values}
    return out


def differences(expected: Any, got: Any, path: str = "") -> list[str]:
    """Every leaf that differs, as 'path: expected -> got' (exact: the same seed gives the same bits)."""
    if isinstance(expected, dict) and isinstance(got, dict):
        out = []
        for key in sorted(set(expected) | set(got), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in got:
                out.append(f"{where}: {expected[key]!r} -> (missing)")
            elif key not in expected:
                out.append(f"{where}: (new) -> {got[key]!r}")
            else:
                out += differences(expected[key], got[key], where)
        return out
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        return [d for i, (e, g) in enumerate(zip(expected, got)) for d in differences(e, g, f"{path}[{i}]")]
    if expected != got or type(expected) is not type(got):
        change = ""
        if isinstance(expected, (int, float)) and isinstance(got, (int, float)) and expected:
            change = f" ({100 * (got - expected) / abs(expected):+.3g} %)"
        return [f"{path}: {expected!r} -> {got!r}{change}"]
    return []


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        summary = make_summary(Path(tmp))
    BASELINE.parent.mkdir(parents=True, exist_ok=True)
    for path, doc in ((BASELINE, summary), (BEHAVIOUR, make_behaviour())):
        path.write_text(
            json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
