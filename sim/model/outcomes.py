"""The plan's quantified targets the model reports on (ids from ``plan/targets.md``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    id: str
    name: str
    unit: str
    target: float
    target_year: int
    kind: str  # "flow", "stock", "registry", "ratio", "cumulative"
    headline: bool = False


#: Source of every target value: the plan, quoted in plan/targets.md and docs/plan_targets.md.
TARGETS: dict[str, Target] = {
    t.id: t
    for t in [
        Target("T01", "technology contract turnover", "亿元", 6000, 2026, "flow", True),
        Target("T02", "technology-based SMEs (registry)", "firms", 32000, 2026, "registry", True),
        Target("T03", "high-tech enterprises (valid certificates)", "firms", 22000, 2026, "stock", True),
        Target("T04", "invention patents held", "patents", 120000, 2026, "stock", True),
        Target("T05", "enterprise share of R&D spending", "percent", 65, 2026, "ratio", True),
        Target("T07", "job-related achievements under separate management", "achievements", 120000, 2026,
               "cumulative"),
        Target("T08", "achievements transferred, cumulative 2024-26", "achievements", 30000, 2026, "cumulative"),
        Target("T09", "new commercialisation firms, cumulative 2024-26", "firms", 3000, 2026, "cumulative"),
        Target("T16a", "new above-scale high-tech firms, cumulative 2024-26", "firms", 1000, 2026, "cumulative"),
        Target("T16b", "new 专精特新 firms, cumulative 2024-26", "firms", 1000, 2026, "cumulative"),
        Target("T16c", "new gazelle firms, cumulative 2024-26", "firms", 1000, 2026, "cumulative"),
    ]
}

HEADLINE = [t for t in TARGETS if TARGETS[t].headline]
