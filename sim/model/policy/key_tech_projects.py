"""Major key-technology projects, 揭榜挂帅 / 赛马制 (plan §8: about 100 a year; T19).

Mechanics: each January ``key_tech_projects`` new projects are awarded. A leading firm (an above-scale
firm, chosen by its R&D) posts a bottleneck; a solver takes it: a university or institute with
probability ``INSTITUTION_SOLVER_SHARE``, otherwise another R&D-intensive firm. Each project runs
``DURATION_YEARS``; every year it spends the public grant plus ``cofunding_ratio`` times as much of the
firm's money. The solver's share of the work (``SOLVER_SHARE``) is paid to the solver and, for
``registered_share`` of it, registered as a development contract (T01, on the solver's side); it is
R&D of the solver (non-enterprise R&D when the solver is an institution, which lowers T05). The
firm's own share, plus ``additional_rd`` private yuan per public yuan, is the firm's intramural R&D.
The project spend yields invention-patent applications (``patents_per_10m``, granted with the
examination lag) to the leading firm, and a technology (an HNTE conversion) when it succeeds.

Cost: the public grant, ``GRANT_PER_PROJECT`` over the project's years.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.agents.certification import above_scale
from sim.model.params import WAN_PER_100M
from sim.model.policy.instrument import Instrument, Lever, effect
from sim.model.sampling import weighted_rows

LEVER = Lever(
    name="key_tech_projects",
    kind=int,
    unit="major key-technology projects awarded a year",
    lo=0,
    hi=2000,
    plan=100,
    plan_source="plan §8: 每年实施100项左右重大关键核心技术攻关项目 (T19)",
    history={2017: 0, 2018: 0, 2019: 0, 2020: 0, 2021: 0, 2022: 0, 2023: 0},
    history_source="the provincial 揭榜挂帅 lists started in 2024 (first batch: 33 lists, xbxxb.com 2024-10-05)",
    section="§8",
)

GRANT_PER_PROJECT = (
    250.0  # 万元 of public money per project: instruments.md §1, 100-500万 (centre ~250万; guess)
)
DURATION_YEARS = 3  # instruments.md §1: 2-3 years (Shaanxi 2025 programme); the upper end (assumption)
INSTITUTION_SOLVER_SHARE = (
    0.6  # assumption: the solver is usually a university or institute (instruments.md §1)
)
SOLVER_SHARE = 0.6  # share of the project spend paid to the solver (assumption)
LEADER_MIN_RD = 200.0  # 万元 a year: leading firms have sizeable R&D (assumption)


@dataclass(frozen=True)
class Effects:
    cofunding_ratio: float = effect(
        2.0,
        1.5,
        3.0,
        "firm money per public yuan in a project",
        "instruments.md §1: 1.5-3 (Zhenjiang: public share <= 40%)",
    )
    registered_share: float = effect(
        0.75,
        0.6,
        0.9,
        "share of the payment to the solver registered as a development contract",
        "instruments.md §1: 0.6-0.9 (guess)",
    )
    additional_rd: float = effect(
        0.25,
        0.0,
        0.5,
        "extra own R&D of the leading firm per public yuan, beyond its co-funding",
        "instruments.md §1: incumbents 0-0.3, young firms 0.5-1.0 (Bronzini & Iachini 2014; Howell 2021)",
    )
    patents_per_10m: float = effect(
        2.5,
        1.0,
        5.0,
        "invention-patent applications granted later, per 1,000万 of project spend",
        "instruments.md §1: 1-5 (province 1.2-1.7 per 1,000万 of R&D, raised for targeted projects)",
    )
    success: float = effect(
        0.75,
        0.6,
        0.9,
        "projects meeting the spec (a technology 'cracked')",
        "instruments.md §1: 0.6-0.9 (guess)",
    )


class KeyTechProjects(Instrument):
    summary = "Each project pairs a leading firm with a solver for 3 years: co-funded R&D, a registered development contract, patents and a technology."
    unit_costs = ("250万 public grant per project over 3 years (instruments.md §1: 100-500万, guess)",)
    lever = LEVER
    Effects = Effects
    primary_outcome = "T01"

    def __init__(self, *args):
        super().__init__(*args)
        self.leader = np.empty(0, dtype=np.int64)  # firm row of each active project
        self.solver_firm = np.empty(0, dtype=np.int64)  # firm row of the solver, -1 if an institution
        self.solver_unit = np.empty(0, dtype=np.int64)  # institution index of the solver, -1 if a firm
        self.last_year = np.empty(0, dtype=np.int64)  # last year the project runs

    def open_year(self, year: int) -> None:
        self._award(year)
        self._run(year)

    def _award(self, year: int) -> None:
        m = self.model
        rng = self.rng()
        k = int(rng.poisson(self.level(year) * m.scale))
        if k == 0:
            return
        t = m.firms.table
        n = t.n
        rd = t.rd_hist[:n, 0]
        leaders_ok = t.alive[:n] & above_scale(t.sector[:n], t.rev_hist[:n, 0]) & (rd >= LEADER_MIN_RD)
        leaders = weighted_rows(np.cumsum(rd * leaders_ok), k, rng)
        k = leaders.size
        by_unit = rng.random(k) < INSTITUTION_SOLVER_SHARE
        unit_rd = m.institutions.rd_array()
        units = rng.choice(unit_rd.size, size=k, p=unit_rd / unit_rd.sum())
        firms = weighted_rows(np.cumsum(rd * t.alive[:n]), k, rng)
        self.leader = np.r_[self.leader, leaders]
        self.solver_unit = np.r_[self.solver_unit, np.where(by_unit, units, -1)]
        self.solver_firm = np.r_[self.solver_firm, np.where(by_unit, -1, firms)]
        self.last_year = np.r_[self.last_year, np.full(k, year + DURATION_YEARS - 1)]

    def _run(self, year: int) -> None:
        """This year's spend of every active project: R&D, contracts, patents; finish the last ones."""
        m, e = self.model, self.effects
        active = self.last_year >= year
        self.leader, self.solver_unit, self.solver_firm, self.last_year = (
            a[active] for a in (self.leader, self.solver_unit, self.solver_firm, self.last_year)
        )
        k = self.leader.size
        if k == 0:
            return
        rng = self.rng("run")
        grant = GRANT_PER_PROJECT / DURATION_YEARS  # 万元 a year per project
        spend = grant * (1.0 + e.cofunding_ratio)
        to_solver = SOLVER_SHARE * spend
        m.firms.add_extra_rd(self.leader, (1.0 - SOLVER_SHARE) * spend + e.additional_rd * grant)
        by_firm = self.solver_firm >= 0
        m.firms.add_extra_rd(self.solver_firm[by_firm], to_solver)
        for unit in self.solver_unit[~by_firm].tolist():
            m.institutions.units[unit].extra_rd += to_solver / m.scale / WAN_PER_100M
        registered = rng.random(k) < e.registered_share
        values = np.full(int(registered.sum()), to_solver)  # a project at scale s stands for 1/s real ones
        m.market.book(values[by_firm[registered]], "development", "firm", local=True, weight=1 / m.scale)
        m.market.book(values[~by_firm[registered]], "development", "institution", local=True, weight=1 / m.scale)
        m.firms.add_patent_applications(self.leader, rng.poisson(e.patents_per_10m * spend / 1000.0, k), rng)
        done = (self.last_year == year) & (rng.random(k) < e.success)
        m.firms.acquire_technology(self.leader[done])
        self.book(year, "project-years funded", k / m.scale, grant / WAN_PER_100M)
