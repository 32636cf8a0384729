"""Technology-transfer demonstration institutions (技术转移示范机构; plan §3: 20 new, T13).

Mechanics: institutions open to the lever's count each January. Each brokers ``deals`` registered
transfers or licences a year between university and institute results and local firms; only
``additionality`` of them would not have happened without the broker (most deals happen anyway:
instruments.md §7). The additional deals move achievements out of the units' stocks (reformed
units' itemised stocks first, with their spin-offs), are registered as transfer or licence
contracts on the seller's side (T01), and give the buying firm a technology (HNTE conversions).

Cost: an operating subsidy per institution and year (``SUBSIDY_PER_INSTITUTION``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.model.agents.intermediaries import TechTransferInstitution
from sim.model.policy.instrument import START_YEAR, Instrument, Lever, effect

LEVER = Lever(
    name="tech_transfer_institutions",
    kind=int,
    unit="technology-transfer demonstration institutions",
    lo=0,
    hi=1000,
    plan=50,
    plan_source="assumption: 30 in 2023 (no count published) + 20 new, plan §3 (T13)",
    history={2017: 10, 2018: 12, 2019: 15, 2020: 18, 2021: 22, 2022: 26, 2023: 30},
    history_source="assumption: no published count; 30 in 2023, growing with the Qinchuangyuan platform from 2021",
    build_up=True,
    section="§3",
)

SUBSIDY_PER_INSTITUTION = (
    0.005  # 亿元 (50万) a year (assumption: provincial demonstration-institution support)
)


@dataclass(frozen=True)
class Effects:
    deals: float = effect(
        80.0,
        30.0,
        200.0,
        "registered transfers or licences brokered a year per institution",
        "instruments.md §7: 30-200 (guess; constant returns per staff member, Siegel et al. 2003)",
    )
    additionality: float = effect(
        0.35,
        0.2,
        0.5,
        "share of brokered deals that would not happen otherwise",
        "instruments.md §7: 0.2-0.5 (guess; China's national centres were not effective, Tang & Matt)",
    )


class TechTransfer(Instrument):
    stream = "tech_transfer"  # random-stream key (stable across renames)
    summary = "Each institution brokers 30-200 transfers or licences a year, of which 20-50% are additional: registered contracts, a technology for the buyer, spin-offs."
    unit_costs = ("50万 operating subsidy an institution-year (assumption)",)
    lever = LEVER
    Effects = Effects
    primary_outcome = "T08"

    def start(self) -> None:
        m = self.model
        m.intermediaries.build(m.intermediaries.ttis, TechTransferInstitution, int(self.level(START_YEAR)), START_YEAR)

    def open_year(self, year: int) -> None:
        m, e = self.model, self.effects
        group = m.intermediaries.ttis
        m.intermediaries.build(group, TechTransferInstitution, int(self.level(year)), year)
        rng = self.rng()
        additional = int(rng.poisson(len(group) * e.deals * e.additionality))
        moved, _ = m.institutions.take_transfers(additional, rng, m.params.spinoff_share)
        m.market.book_transfers(moved, rng, buyers=True)
        for tti, b in zip(group, rng.multinomial(moved, [1 / len(group)] * len(group)) if group else []):
            tti.brokered = int(b)
        self.book(year, "institutions supported", len(group), SUBSIDY_PER_INSTITUTION)
