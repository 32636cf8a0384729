"""Patent open licensing (专利开放许可; plan §3: revitalise universities' and institutes' idle patents).

Mechanics, each January: the lever's share of the universities' and institutes' invention patents is
on open licence (built up from the 2023 share). ``licensed`` of the offered patents find licensees in
a year, ``licences_per_patent`` each (one-to-many, non-exclusive); the licensees are small firms. Each
licence with a fee is a licence contract on the university's side (T01; fees are mostly zero or low:
``fee``). A licensee acquires a technology (an HNTE conversion; open licences do not count as HNTE
IP, being non-exclusive) and patents ``adopter_uplift`` more per yuan of R&D for ``ADOPTION_YEARS``.

Cost: the annuity-fee relief and promotion per offered patent and year (``COST_PER_OFFERED``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.policy.instrument import Instrument, Lever, effect

LEVER = Lever(
    name="open_licensing",
    kind=float,
    unit="share of universities' and institutes' invention patents on open licence",
    lo=0,
    hi=1,
    plan=0.2,
    plan_source="assumption: plan §3 gives no share; instruments.md §4 prior 0.03-0.10 of the stock offered a year "
    "of campaign, about 0.2 after three years",
    history={2017: 0.0, 2018: 0.0, 2019: 0.0, 2020: 0.0, 2021: 0.0, 2022: 0.01, 2023: 0.02},
    history_source="the CNIPA pilot ran May 2022 - end 2023 (instruments.md §4); Shaanxi shares not published "
    "(assumption)",
    build_up=True,
    section="§3",
)

COST_PER_OFFERED = 0.2 / 1e4  # 亿元 (0.2万 = 2,000 yuan) a year: annuity relief and promotion (assumption;
# invention annuities are 900-2,000 yuan a year in years 4-9, CNIPA fee schedule)
SMALL_LICENSEE_REVENUE = 5000.0  # 万元: licensees are SMEs (assumption)
ADOPTION_YEARS = 3  # the adopter's uplift lasts 3 years (assumption)


@dataclass(frozen=True)
class Effects:
    licensed: float = effect(
        0.07,
        0.04,
        0.10,
        "share of offered patents licensed in a year",
        "instruments.md §4: 7.9% of offered patents licensed by mid-2023 (~13 months of the pilot)",
    )
    licences_per_patent: float = effect(
        2.2,
        1.5,
        3.0,
        "licences per licensed patent",
        "instruments.md §4: 1.5-3 (2.9 by mid-2023)",
    )
    fee: float = effect(
        1.0,
        0.0,
        5.0,
        "万元, mean fee per licence",
        "instruments.md §4: mostly free; mean 0-5万 (guess)",
    )
    adopter_uplift: float = effect(
        0.02,
        0.0,
        0.05,
        "rise of a licensee's patents per yuan of R&D",
        "instruments.md §4: +0-5% (guess)",
    )


class OpenLicensing(Instrument):
    summary = "Offered university patents find small-firm licensees: licence contracts (mostly free), a technology for the licensee and slightly more patenting."
    unit_costs = ("0.2万 per offered patent a year: annuity relief and promotion (assumption)",)
    lever = LEVER
    Effects = Effects
    primary_outcome = "T03"

    def __init__(self, *args):
        super().__init__(*args)
        self.adopters = np.empty(0, dtype=np.int64)
        self.until = np.empty(0, dtype=np.int64)

    def open_year(self, year: int) -> None:
        m, e = self.model, self.effects
        rng = self.rng()
        offered = int(round(self.level(year) * m.institutions.totals()["patents"]))
        licences = (
            int(rng.poisson(rng.binomial(offered, e.licensed) * e.licences_per_patent)) if offered else 0
        )
        m.market.book(
            np.full(licences, e.fee) if e.fee > 0 else np.empty(0),
            "transfer_licence_consulting",
            "institution",
            local=True,
        )
        t = m.firms.table
        n = t.n
        small = np.flatnonzero(t.alive[:n] & (t.revenue[:n] < SMALL_LICENSEE_REVENUE))
        k = int(rng.poisson(licences * m.scale))
        rows = rng.choice(small, size=k, replace=True) if (k and small.size) else np.empty(0, dtype=np.int64)
        m.firms.acquire_technology(rows)
        keep = self.until >= year
        self.adopters = np.r_[self.adopters[keep], rows]
        self.until = np.r_[self.until[keep], np.full(rows.size, year + ADOPTION_YEARS - 1)]
        self.book(year, "patents offered", offered, COST_PER_OFFERED)

    def patent_uplift(self, year: int) -> np.ndarray | None:
        """Licensees within their ``ADOPTION_YEARS`` patent ``adopter_uplift`` more per yuan of R&D (a firm
        holding several licences, once per licence)."""
        if self.adopters.size == 0:
            return None
        factor = np.ones(self.model.firms.table.n)
        np.multiply.at(factor, self.adopters, 1.0 + self.effects.adopter_uplift)
        return factor
