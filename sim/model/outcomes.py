"""Every outcome the model reports, declared once: id, name, unit, kind, plot label, target.

Indicators (``sim/model/indicators.py``), reports, the calibration, the fit report and the plots all
read this table. Targets are quoted from the plan (plan/targets.md; docs/plan_targets.md). The plan
says 突破 (exceed): a target is reached when the value is above it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.model.market import CONTRACT_TYPES
from sim.model.params import PLAN_YEAR
from sim.model.policy import INSTRUMENTS

#: Axis labels in ASCII (the default fonts have no CJK glyphs).
UNIT_LABELS = {
    "亿元": "100 million yuan",
    "percent": "percent",
    "share": "share",
    "firms": "firms",
    "patents": "patents",
    "achievements": "achievements",
    "contracts": "contracts",
    "units": "units",
    "deals": "deals",
}


@dataclass(frozen=True)
class Outcome:
    id: str
    name: str
    unit: str  # one of UNIT_LABELS
    kind: str  # "flow", "stock", "registry", "ratio", "cumulative", "cost"
    target: float | None = None
    target_year: int = PLAN_YEAR
    headline: bool = False

    @property
    def label(self) -> str:
        """ASCII axis label: name (unit)."""
        return f"{self.id} ({UNIT_LABELS.get(self.unit, self.unit)})"

    @property
    def unit_label(self) -> str:
        return UNIT_LABELS.get(self.unit, self.unit)


_OUTCOMES = [
    Outcome("T01", "technology contract turnover", "亿元", "flow", 6000, headline=True),
    Outcome("T02", "technology-based SMEs (registry)", "firms", "registry", 32000, headline=True),
    Outcome("T03", "high-tech enterprises (valid certificates)", "firms", "stock", 22000, headline=True),
    Outcome("T04", "invention patents held", "patents", "stock", 120000, headline=True),
    Outcome("T05", "enterprise share of R&D spending", "percent", "ratio", 65, headline=True),
    Outcome(
        "T07",
        "job-related achievements under separate management (cumulative)",
        "achievements",
        "cumulative",
        120000,
    ),
    Outcome(
        "T08", "achievements transferred under the reforms (cumulative)", "achievements", "cumulative", 30000
    ),
    Outcome(
        "T09", "commercialisation firms founded under the reforms (cumulative)", "firms", "cumulative", 3000
    ),
    Outcome("T16a", "new above-scale high-tech firms, cumulative 2024-26", "firms", "cumulative", 1000),
    Outcome("T16b", "new 专精特新 firms, cumulative 2024-26", "firms", "cumulative", 1000),
    Outcome("T16c", "new gazelle firms, cumulative 2024-26", "firms", "cumulative", 1000),
    # context and decomposition
    *[Outcome(f"T01_{k}", f"T01: {k.replace('_', ', ')} contracts", "亿元", "flow") for k in CONTRACT_TYPES],
    Outcome("T02_h1", "tech-SME registry admitted by 30 June", "firms", "registry"),
    Outcome(
        "rd_enterprise", "enterprise R&D, statistical scope (above-scale firms, real part)", "亿元", "flow"
    ),
    Outcome("rd_enterprise_all", "R&D of all model firms (real part)", "亿元", "flow"),
    Outcome("rd_nonenterprise", "university, institute and other non-enterprise R&D", "亿元", "flow"),
    Outcome("firms_alive", "innovation-relevant firms alive", "firms", "stock"),
    Outcome("incubated", "firms in incubation carriers", "firms", "stock"),
    Outcome("firm_patents", "invention patents held by firms", "patents", "stock"),
    Outcome("patents_granted", "invention patents granted in the year", "patents", "flow"),
    Outcome("rd_total", "R&D expenditure, all performers (enterprise + non-enterprise)", "亿元", "flow"),
    Outcome("hte_recognised", "HNTE certificates granted in the year (new and renewed)", "firms", "flow"),
    Outcome("contracts", "technology contracts registered", "contracts", "flow"),
    Outcome("institutions_share_T01", "universities' and institutes' share of T01", "share", "ratio"),
    Outcome("local_share_T01", "share of T01 bought inside Shaanxi", "share", "ratio"),
    Outcome(
        "reform_itemised",
        "achievements itemised under the reforms (cumulative)",
        "achievements",
        "cumulative",
    ),
    Outcome(
        "reform_transferred",
        "achievements transferred under the reforms (cumulative)",
        "achievements",
        "cumulative",
    ),
    Outcome("reform_spinoffs", "firms founded under the reforms (cumulative)", "firms", "cumulative"),
    Outcome("reform_units_covered", "units under the reforms", "units", "stock"),
    Outcome("zjtx_valid", "provincial 专精特新 firms (valid)", "firms", "stock"),
    Outcome(
        "zjtx_cumulative",
        "provincial 专精特新 firms recognised since 2019 (cumulative)",
        "firms",
        "cumulative",
    ),
    Outcome("hte_revenue", "revenue of high-tech enterprises", "亿元", "flow"),
    Outcome("hte_renewal_rate", "share of expiring HNTE certificates renewed", "share", "ratio"),
    Outcome("vc_deals", "venture deals", "deals", "flow"),
    *[
        Outcome(f"spend_{cls.name}", f"public spending: {cls.lever.name}", "亿元", "cost")
        for cls in INSTRUMENTS
    ],
    Outcome("spend_total", "public spending, all instruments", "亿元", "cost"),
]

OUTCOMES: dict[str, Outcome] = {o.id: o for o in _OUTCOMES}
TARGETS: dict[str, Outcome] = {k: o for k, o in OUTCOMES.items() if o.target is not None}
HEADLINE: list[str] = [k for k, o in OUTCOMES.items() if o.headline]
SPENDING: list[str] = [f"spend_{cls.name}" for cls in INSTRUMENTS]


def reached(value: float, outcome_id: str) -> bool:
    """The plan's 突破 (exceed): strictly above the target."""
    return value > TARGETS[outcome_id].target
