"""R&D coverage campaign (规模以上工业企业研发活动覆盖率提升行动; plan §6).

Mechanics: the province's above-scale industrial firms that report no R&D are a pool (a count, not
agents: they are outside the innovation-relevant population until they start R&D). The pool is sized
at the start so that the model's R&D-active above-scale industrial firms are the lever's start share of all.
Each January the campaign converts ``efficacy`` x (target - 2023 share) of the pool a year (the push
grows with how far the target is raised above the 2023 share; instruments.md §5: +0.02-0.06 a year on
the start-reporting hazard). A converted firm joins the firm table as a mature above-scale industrial
firm with R&D at ``new_reporter_intensity`` of revenue, of which ``relabel_share`` is relabelling
(the campaign works largely on the reporting margin). It enters the R&D statistics (T05) and may later
qualify for the registry or HNTE.

Cost: a reward per new R&D reporter setting up an R&D institution (``REWARD_PER_NEW_REPORTER``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.model.agents.certification import ABOVE_SCALE_REVENUE
from sim.model.policy.instrument import START_YEAR, Instrument, Lever, effect

LEVER = Lever(
    name="rd_coverage",
    kind=float,
    unit="target share of above-scale industrial firms with R&D activity",
    lo=0,
    hi=1,
    plan=0.40,
    plan_source="assumption: plan §6 sets no number; benchmark Guangzhou 44.6% (2020, instruments.md §5)",
    history={2017: 0.20, 2018: 0.21, 2019: 0.22, 2020: 0.23, 2021: 0.25, 2022: 0.26, 2023: 0.28},
    history_source="assumption: Shaanxi not published; Xi'an 22.2% (2020) and national ~28% (2018), a point a year "
    "(instruments.md §5)",
    section="§6",
)

REWARD_PER_NEW_REPORTER = 0.002  # 亿元 (20万): Xianyang ≤20万 per new enterprise technology centre (2025,
# instruments.md §5)
NEW_REPORTER_REVENUE_MEDIAN = 6000.0  # 万元 (assumption: above-scale industrial firms, median 6,000万)
NEW_REPORTER_REVENUE_SIGMA = 1.0  # (assumption)


@dataclass(frozen=True)
class Effects:
    efficacy: float = effect(
        0.4,
        0.2,
        0.6,
        "pool share converted a year per unit of target raised above the 2023 share",
        "guess: instruments.md §5, +0.02-0.06 a year on the start-reporting hazard for a 0.12 rise",
    )
    new_reporter_intensity: float = effect(
        0.01,
        0.005,
        0.015,
        "R&D / revenue of a new reporter",
        "instruments.md §5: 0.5-1.5% of revenue (guess)",
    )
    relabel_share: float = effect(
        0.4,
        0.3,
        0.5,
        "share of a new reporter's R&D that is relabelling",
        "instruments.md §5: 0.3-0.5 (anchored on Chen et al. 2021)",
    )


class RdCoverage(Instrument):
    summary = "The campaign converts non-reporting above-scale industrial firms into R&D reporters, who join the R&D statistics with low intensity."
    unit_costs = ("20万 reward per new R&D reporter (Xianyang, instruments.md §5)",)
    lever = LEVER
    Effects = Effects
    primary_outcome = "T05"

    def __init__(self, *args):
        super().__init__(*args)
        self.pool = 0.0  # non-reporting above-scale industrial firms, real units

    def start(self) -> None:
        """Size the pool from the model's R&D-active above-scale industrial firms at the start."""
        m = self.model
        t = m.firms.table
        n = t.n
        active = (
            float((t.alive[:n] & (t.sector[:n] == 0) & (t.revenue[:n] >= ABOVE_SCALE_REVENUE)).sum())
            / m.scale
        )
        share = self.level(START_YEAR)
        self.pool = active * (1.0 / share - 1.0) if share > 0 else 0.0

    def open_year(self, year: int) -> None:
        m, e = self.model, self.effects
        push = max(0.0, self.level(year) - self.lever.level_2023) * e.efficacy
        if push <= 0 or self.pool < 1:
            return
        rng = self.rng()
        k = int(rng.binomial(int(self.pool * m.scale), min(push, 1.0)))
        m.firms.convert_reporters(
            k,
            m.month,
            rng,
            NEW_REPORTER_REVENUE_MEDIAN,
            NEW_REPORTER_REVENUE_SIGMA,
            e.new_reporter_intensity,
            e.relabel_share,
        )
        self.pool -= k / m.scale
        self.book(year, "new R&D reporters", k / m.scale, REWARD_PER_NEW_REPORTER)
