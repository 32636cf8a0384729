"""Golden baseline: a small study's summary must not move unless a change means it to.

The baseline (``tests/baseline/summary.json``) and the behaviour runs (``behaviour.json``) are written by
``python tests/update_baseline.py``; the settings and the comparison live there. Exact comparison: the
same seed and config give bit-identical results, so any moved number is a changed result, shown as a
readable diff.
"""

from __future__ import annotations

import json

from update_baseline import BASELINE, BEHAVIOUR, SETTINGS, differences, make_behaviour, make_summary

#: What to do when a number moved on purpose.
REGENERATE = (
    "If the change is intended, regenerate the record: python tests/update_baseline.py (and say why in the "
    "commit: it marks a change of the model's behaviour, which flags the lever studies made before it)."
)


def assert_unmoved(expected, got, what: str) -> None:
    """Every leaf of ``got`` equals ``expected``; else the first 40 moved numbers, named."""
    diff = differences(expected, got)
    assert not diff, (
        f"{len(diff)} numbers of {what} moved:\n  "
        + "\n  ".join(diff[:40])
        + ("\n  ..." if len(diff) > 40 else "")
        + "\n"
        + REGENERATE
    )


def test_summary_matches_the_golden_baseline(tmp_path):
    expected = json.loads(BASELINE.read_text(encoding="utf-8"))
    assert_unmoved(expected, make_summary(tmp_path), f"the baseline study ({SETTINGS})")


def test_every_number_of_the_behaviour_runs_matches_the_record():
    """The behaviour record (``tests/baseline/behaviour.json``): single runs off the plan (levers at their
    2023 level, at twice the plan to 2028, on per-year paths; effects drawn), every annual number exact."""
    expected = json.loads(BEHAVIOUR.read_text(encoding="utf-8"))
    got = json.loads(json.dumps(make_behaviour()))  # JSON types, as the record holds them
    assert_unmoved(expected, got, "the behaviour runs")


def test_the_diff_names_what_moved():
    expected = {"indicators": {"T01": {"by_year": {"2026": {"p50": 100.0, "mean": 1.0}}}}, "seed": 0}
    got = {"indicators": {"T01": {"by_year": {"2026": {"p50": 110.0, "mean": 1.0}}}}, "seed": 0, "new": 1}
    assert differences(expected, got) == [
        "indicators.T01.by_year.2026.p50: 100.0 -> 110.0 (+10 %)",
        "new: (new) -> 1",
    ]
    assert differences(expected, expected) == []
