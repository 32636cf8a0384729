"""High-level talents and innovation teams (三秦英才; plan §15: 1,000 talents and 200 teams, T24).

Mechanics, each January: the year's recruits arrive (a team counts as one recruit). A share
``share_in_firms`` joins firms (chosen by R&D: talent goes where research is); the rest join
universities and institutes. In a firm a recruit brings a research team (``TEAM_SIZE`` S&T staff: the
tech-SME staff score and the HNTE 10% gate) that patents ``productivity_uplift`` more per yuan of R&D
for ``UPLIFT_YEARS``: the firm's patenting rises by ``productivity_uplift`` x the teams' share of its S&T
staff (at most all of it), as a university's rises by the recruits' share of its research money. In a university or institute the recruit's research
money (``academic_rd``, 万元 a year, for ``UPLIFT_YEARS``) is non-enterprise R&D (it lowers T05) and
patents at ``productivity_uplift`` above the unit's rate; an academic recruit founds a firm at ``spinoff_hazard`` a year.
About half the productivity effect is resources rather than ability (Shi, Liu & Wang 2023).

Cost: ``COST_PER_RECRUIT`` (personal and research support) on arrival.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.agents.firms import ORIGIN_SPINOFF
from sim.model.params import MONTHS, WAN_PER_100M
from sim.model.policy.instrument import Instrument, Lever, effect
from sim.model.sampling import weighted_rows

LEVER = Lever(
    name="talents",
    kind=int,
    unit="high-level talents and teams recruited a year (a team counts as one)",
    lo=0,
    hi=20000,
    plan=400,
    plan_source="plan §15: 1,000 high-level talents and 200 teams over 2024-26 = 400 a year (T24)",
    history={2017: 0, 2018: 0, 2019: 0, 2020: 0, 2021: 0, 2022: 0, 2023: 0},
    history_source="the plan's 三秦英才 recruitment is new; earlier talent programmes are part of the calibrated "
    "history (their effect is in the fitted behaviour)",
    section="§15",
)

COST_PER_RECRUIT = (
    0.01  # 亿元 (100万): instruments.md §3, 50-150万 provincial money per talent (guess on the mix)
)
TEAM_SIZE = 5  # S&T staff a recruit brings to a firm (assumption)
UPLIFT_YEARS = 5  # instruments.md §3: the uplift decays over 5 years (modelled as a step)


@dataclass(frozen=True)
class Effects:
    share_in_firms: float = effect(
        0.3,
        0.2,
        0.4,
        "share of recruits placed in firms (the rest in universities and institutes)",
        "instruments.md §3: 0.2-0.4 (guess)",
    )
    productivity_uplift: float = effect(
        0.2,
        0.1,
        0.3,
        "rise of the recruits' teams' patents per yuan of R&D (the host's: times the teams' share)",
        "instruments.md §3: +10-30% (Shi, Liu & Wang 2023, Science: +27% publications)",
    )
    academic_rd: float = effect(
        150.0,
        50.0,
        300.0,
        "万元 of research money a year an academic recruit brings",
        "instruments.md §3: YTT 100-300万 research money; 万人计划 ~100万 (guess on the yearly spend)",
    )
    spinoff_hazard: float = effect(
        0.03,
        0.02,
        0.05,
        "firms founded a year per academic recruit",
        "instruments.md §3: 0.02-0.05 (guess)",
    )


class Talents(Instrument):
    summary = (
        "Recruits join firms (S&T staff, patenting) or universities (research money, patenting, spin-offs)."
    )
    unit_costs = ("100万 per recruit (instruments.md §3: 50-150万)",)
    lever = LEVER
    Effects = Effects
    primary_outcome = "T04"

    def __init__(self, *args):
        super().__init__(*args)
        self.firm_rows = np.empty(0, dtype=np.int64)
        self.firm_share = np.empty(0)
        self.firm_until = np.empty(0, dtype=np.int64)
        self.unit_idx = np.empty(0, dtype=np.int64)
        self.unit_until = np.empty(0, dtype=np.int64)

    def open_year(self, year: int) -> None:
        m, e = self.model, self.effects
        rng = self.rng()
        recruits = self.level(year)
        t = m.firms.table
        n = t.n
        k_firm = int(rng.poisson(recruits * e.share_in_firms * m.scale))
        rows = weighted_rows(np.cumsum(t.rd_hist[:n, 0] * t.alive[:n]), k_firm, rng)
        staff = np.maximum(1.0, t.rev_hist[rows, 0] / t.productivity[rows])
        np.add.at(t.st_share, rows, TEAM_SIZE / staff)
        np.clip(t.st_share, 0.0, 1.0, out=t.st_share)
        # the team's share of the host's S&T staff once it has arrived (the uplift's reach in the firm)
        team_share = np.minimum(1.0, TEAM_SIZE / np.maximum(t.st_share[rows] * staff, TEAM_SIZE))
        k_unit = int(rng.poisson(recruits * (1.0 - e.share_in_firms)))
        unit_rd = m.institutions.rd_array()
        units = rng.choice(unit_rd.size, size=k_unit, p=unit_rd / unit_rd.sum())
        self.firm_rows = np.r_[self.firm_rows, rows]
        self.firm_share = np.r_[self.firm_share, team_share]
        self.firm_until = np.r_[self.firm_until, np.full(rows.size, year + UPLIFT_YEARS - 1)]
        self.unit_idx = np.r_[self.unit_idx, units]
        self.unit_until = np.r_[self.unit_until, np.full(units.size, year + UPLIFT_YEARS - 1)]
        self._apply(year)
        self.book(year, "recruits", rows.size / m.scale + units.size, COST_PER_RECRUIT)

    def _apply(self, year: int) -> None:
        """Productivity and research money of the recruits still within their uplift years."""
        m, e = self.model, self.effects
        keep = self.firm_until >= year
        self.firm_rows, self.firm_until = self.firm_rows[keep], self.firm_until[keep]
        self.firm_share = self.firm_share[keep]
        keep = self.unit_until >= year
        self.unit_idx, self.unit_until = self.unit_idx[keep], self.unit_until[keep]
        per_unit = np.bincount(self.unit_idx, minlength=len(m.institutions))
        for u, k in zip(m.institutions.units, per_unit.tolist()):
            talent_rd = k * e.academic_rd / WAN_PER_100M
            u.extra_rd += talent_rd
            # the recruits' share of the unit's research is the part that patents more
            u.patent_productivity = 1.0 + e.productivity_uplift * talent_rd / max(u.total_rd, 1e-9)

    def patent_uplift(self, year: int) -> np.ndarray | None:
        """Host firms patent more per yuan of R&D by ``productivity_uplift`` x the share of their S&T staff
        in recruits' teams still within their uplift years (several teams add up, to all the staff)."""
        if self.firm_rows.size == 0:
            return None
        n = self.model.firms.table.n
        share = np.minimum(1.0, np.bincount(self.firm_rows, weights=self.firm_share, minlength=n))
        return 1.0 + self.effects.productivity_uplift * share

    def found_firms(self, month: int) -> np.ndarray:
        """Firms founded this month by academic recruits (rows)."""
        m = self.model
        rng = self.rng("spinoffs")
        lam = self.unit_idx.size * self.effects.spinoff_hazard / MONTHS * m.scale
        return m.firms.enter(month, int(rng.poisson(lam)), rng, origin=ORIGIN_SPINOFF)
