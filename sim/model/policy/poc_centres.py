"""Proof-of-concept centres and pilot bases (概念验证中心, 中试基地; plan §3: 30, T12).

Mechanics: centres open to the lever's count each January. Each validates ``projects`` results a year,
drawn from the reformed units' itemised stocks. A validated project leads to a licence or spin-off
with probability ``success`` (against 1 - (1 - h)^2 over two years for an unvalidated item at the
commercialisation hazard h): the difference is extra transfers, of which ``spinoff_share`` found
firms (validated teams found firms more often than other transfers).

Cost: the grant per validated project (``GRANT_PER_PROJECT``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.model.agents.intermediaries import ProofOfConceptCentre
from sim.model.policy.instrument import START_YEAR, Instrument, Lever, effect

LEVER = Lever(
    name="poc_centres",
    kind=int,
    unit="proof-of-concept centres and pilot bases",
    lo=0,
    hi=1000,
    plan=40,
    plan_source="10 provincial pilot bases designated 2022 (mechanisms.md §7) + 30 built under plan §3 (T12; "
    "assumption: the 30 are new)",
    history={2017: 0, 2018: 0, 2019: 0, 2020: 0, 2021: 0, 2022: 10, 2023: 10},
    history_source="first 10 provincial pilot bases designated 2022 (mechanisms.md §7)",
    build_up=True,
    section="§3",
)

GRANT_PER_PROJECT = 0.005  # 亿元 (50万): mechanisms.md §7, 20-100万 per project (guess)


@dataclass(frozen=True)
class Effects:
    projects: float = effect(
        20.0, 10.0, 30.0, "projects validated a year per centre", "mechanisms.md §7: 10-30 (guess)"
    )
    success: float = effect(
        0.3,
        0.15,
        0.45,
        "validated projects leading to a licence or spin-off within 2 years",
        "instruments.md §7: 0.15-0.45 (Hayter & Link 2015; NSF I-Corps 49% is a ceiling)",
    )
    spinoff_share: float = effect(
        0.15,
        0.08,
        0.3,
        "spin-offs per successful validated project",
        "assumption between the reforms' 8% (P28) and I-Corps' 49% start-ups per team (instruments.md §7)",
    )


class PocCentres(Instrument):
    summary = "Each centre validates 10-30 results a year from the reformed units' stocks; validated results transfer and spin off more often."
    unit_costs = ("50万 grant per validated project (mechanisms.md §7: 20-100万, guess)",)
    lever = LEVER
    Effects = Effects
    primary_outcome = "T08"

    def start(self) -> None:
        self.model.intermediaries.build(
            self.model.intermediaries.pocs, ProofOfConceptCentre, int(self.level(START_YEAR)), START_YEAR
        )

    def open_year(self, year: int) -> None:
        m, e = self.model, self.effects
        centres = m.intermediaries.pocs
        m.intermediaries.build(centres, ProofOfConceptCentre, int(self.level(year)), year)
        rng = self.rng()
        validated = int(rng.poisson(len(centres) * e.projects))
        h = m.params.commercialisation_hazard
        baseline = 1.0 - (1.0 - h) ** 2
        extra = int(rng.binomial(validated, max(0.0, e.success - baseline)))
        moved, _ = m.institutions.take_transfers(extra, rng, e.spinoff_share)
        m.market.book_transfers(moved, rng)
        for c, v in zip(
            centres, rng.multinomial(validated, [1 / len(centres)] * len(centres)) if centres else []
        ):
            c.validated = int(v)
        self.book(year, "validated projects", validated, GRANT_PER_PROJECT)
