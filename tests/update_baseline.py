"""Write the golden baseline that ``tests/test_baseline.py`` compares every test run against.

    .venv/bin/python tests/update_baseline.py

It runs one small study (``SETTINGS``: 6 replicates at 5 % scale, seed 0, the calibrated
posterior drawn by weight) through the same code as ``python -m sim`` and writes its
``summary.json``, without the provenance and credibility blocks (timestamps, hashes, other files), to
``tests/baseline/summary.json``. Regenerate it, and say why in the commit, only when a change
is meant to move the numbers (a model rule, a parameter, the posterior); the test's diff then
shows which numbers moved and by how much.
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
    BASELINE.write_text(
        json.dumps(summary, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"wrote {BASELINE}", file=sys.stderr)


if __name__ == "__main__":
    main()
