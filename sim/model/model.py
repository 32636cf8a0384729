"""The Qinchuangyuan innovation-ecosystem model: wiring, stage order, data collection.

One step is one month, from 2019-01 (start state: the 2018 year end) to
December of ``end_year``. The stage order of ``step()`` is the model's
paragraph; every stage is a named method; rules live with the agents.

    model = InnovationModel(seed=1)     # the plan scenario, default parameters
    model.run()
    model.annual_indicators()           # T01-T05, T07-T09, T16 by year
"""

from __future__ import annotations

import gc
from contextlib import contextmanager

import mesa
import numpy as np
import pandas as pd

from sim.model.agents import certification
from sim.model.agents.firms import (
    MONTHS,
    ORIGIN_PUSHED,
    ORIGIN_SPINOFF,
    Firm,
    FirmPopulation,
)
from sim.model.agents.funds import CapitalMarket
from sim.model.agents.incubators import TAKEUP_BOOST, IncubationSystem
from sim.model.agents.intermediaries import Intermediaries
from sim.model.agents.universities import build_institutions
from sim.model.indicators import PLAN_START, record_year
from sim.model.market import TechMarket
from sim.model.params import FIRST_YEAR, BehaviourParams, PolicyLevers, RunConfig, StartState
from sim.model.policy import Policy
from sim.model.rng import Streams

HTE_COHORT_SHARES_2018 = (0.27, 0.32, 0.41)  # certificates valid to 2018/2019/2020: issued 2016/17/18 (assumption,
# from the stock path 1,829 (2016) -> 2,208 (2017) -> 3,138 (2018), sxmknk.com.cn and m.4yczj.cn)


class InnovationModel(mesa.Model):
    """Firms, universities and institutes, incubators, funds and intermediaries under the plan's levers."""

    def __init__(
        self,
        levers: PolicyLevers | None = None,
        params: BehaviourParams | None = None,
        seed: int = 0,
        end_year: int = 2026,
        scale: float = 1.0,
        start: StartState | None = None,
    ):
        if seed is None:
            raise ValueError("seed is required (an int): results must be reproducible")
        super().__init__(rng=seed)
        RunConfig(end_year=end_year, scale=scale).validate()
        self.params = (params or BehaviourParams()).validate()
        self.start = start or StartState()
        self.policy = Policy(levers)
        self.seed = int(seed)
        self.end_year = int(end_year)
        self.scale = float(scale)
        self.streams = Streams(self.seed)
        self.month = 0  # months since 2019-01 of the next step
        self.annual: list[dict] = []
        self.cumulative = {"transferred": 0, "spinoffs": 0}
        self.poc_multiplier = 1.0
        self.spinoffs_due = 0.0
        self.inst_arrays: dict[str, np.ndarray] = {}

        self.firms = FirmPopulation(self, self.params, self.start, self.scale)
        self.institutions = build_institutions(self, self.streams["init"])
        self.incubators = IncubationSystem(self)
        self.capital = CapitalMarket(self)
        self.intermediaries = Intermediaries(self)
        self.market = TechMarket(self)
        self._seed_2018()
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "firms_alive": lambda m: len(m.agents_by_type[Firm]),
                "hte_valid": lambda m: int((m.firms.live() & (m.firms.table.col("hte_valid_until") >= m.year)).sum()),
                "incubated": lambda m: int((m.firms.table.col("incubator") >= 0).sum()),
                "turnover_ytd_100m": lambda m: m.market.turnover_100m(),
            }
        )

    # ------------------------------------------------------------------ time
    @property
    def year(self) -> int:
        return FIRST_YEAR + self.month // MONTHS

    @property
    def month_of_year(self) -> int:
        return self.month % MONTHS + 1

    # ------------------------------------------------------------------ start state
    def _seed_2018(self) -> None:
        """Incumbent firms, their certificates and patents, the 2018 registry, carriers and funds."""
        rng = self.streams["init"]
        self.firms.seed_2018(rng)
        self.firms.assign_initial_patents(rng, self.start.patents_2018 * self.start.firm_patent_share_2018)
        self._seed_certificates(rng)
        self._build_to_levers(2018)
        certification.register_techsme(self.firms, 2018, -1, rng, TAKEUP_BOOST)
        self.annual.append(record_year(self, 2018))

    def _seed_certificates(self, rng) -> None:
        """Give ``hte_2018`` firms a valid certificate and the attributes they were certified on."""
        t = self.firms.table
        n = t.n
        k = int(round(self.start.hte_2018 * self.scale))
        pool = np.flatnonzero((t.hightech_share[:n] >= certification.HTE_MIN_HIGHTECH_SHARE)
                              & (t.st_share[:n] >= certification.HTE_MIN_ST_SHARE)
                              & (t.birth_month[:n] <= -MONTHS))
        w = np.sqrt(t.revenue[pool])  # larger firms are more often certified (HNTE mean revenue 1.77亿, 2020)
        chosen = rng.choice(pool, size=min(k, pool.size), replace=False, p=w / w.sum())
        thr = certification.hte_rd_threshold(t.rev_hist[chosen, 0])
        t.rd_intensity[chosen] = np.maximum(t.rd_intensity[chosen], thr * (1 + 0.2 * rng.random(chosen.size)))
        t.rd_hist[chosen] = t.rev_hist[chosen, :3] * t.rd_intensity[chosen, None]
        t.class2_ip[chosen] = np.maximum(t.class2_ip[chosen], certification.HTE_CORE_IP_CLASS2)
        t.hte_valid_until[chosen] = rng.choice([2018, 2019, 2020], size=chosen.size, p=HTE_COHORT_SHARES_2018)
        t.hte_first_year[chosen] = t.hte_valid_until[chosen] - 2

    def _build_to_levers(self, year: int) -> None:
        lever = self.policy.lever
        y = max(year, FIRST_YEAR)
        self.incubators.build_to(year, lever("incubators", y), lever("high_energy_incubators", y))
        self.intermediaries.build_to(year, lever("tech_transfer_institutions", y), lever("poc_centres", y))
        self.capital.commit_to(year, lever("fund_size", y))

    # ------------------------------------------------------------------ the month
    def step(self) -> None:
        """One month of the ecosystem."""
        year = self.year
        if self.month_of_year == 1:
            self.open_year(year)
        newborn = self.found_firms()
        self.incubate(newborn)
        self.grow_firms()
        self.spend_rd()
        self.trade_technology(year)
        self.pay_vouchers(year)
        self.invest(year)
        self.close_firms()
        if self.month_of_year == 12:
            self.close_year(year)
        self.datacollector.collect(self)
        self.month += 1
        if self.year > self.end_year:
            self.running = False

    def open_year(self, year: int) -> None:
        """January: levers of the year, new carriers/centres/funds, universities' year, roadshows."""
        self._build_to_levers(year)
        self.firms.refresh_growth(self.month)
        lever = self.policy.lever
        inst = self.institutions
        itemised = sum(u.itemised for u in inst)
        self.poc_multiplier = self.intermediaries.poc_multiplier(itemised)
        coverage = min(1.0, lever("reform_units", year) / self.start.reform_eligible_units)
        units = int(round(coverage * len(inst)))
        rng_u = self.streams["universities"]
        for u in inst:
            u.step_year(year, units, rng_u)
        extra = self.intermediaries.extra_transfers(self.streams["intermediaries"])
        self._allocate_transfers(extra, self.streams["intermediaries"])
        transferred = sum(u.transferred for u in inst)
        spinoffs = sum(u.spinoffs for u in inst)
        self.market.book_transfers(transferred, self.streams["transfer_values"])
        if year >= PLAN_START:
            reformed_transfers = sum(u.transferred for u in inst if u.reformed)
            self.cumulative["transferred"] += reformed_transfers
            self.cumulative["spinoffs"] += spinoffs
        self.spinoffs_due = spinoffs * self.scale / MONTHS
        self.inst_arrays = {
            "rd": np.array([u.rd for u in inst]),
            "supply": np.where([u.reformed for u in inst], self.start.reform_supply_multiplier, 1.0),
        }
        self.intermediaries.hold_roadshows(lever("roadshows_per_year", year), self.month, self.streams["roadshows"])

    def _allocate_transfers(self, k: int, rng) -> None:
        """Intermediaries' extra transfers come out of the units' stocks (reformed first), with spin-offs."""
        if k <= 0:
            return
        inst = self.institutions
        pools = np.array([u.itemised if u.reformed else u.achievements for u in inst], dtype=float)
        if pools.sum() <= 0:
            return
        share = rng.multinomial(k, pools / pools.sum())
        for u, q in zip(inst, share.tolist()):
            if q:
                got = u.take_transfers(q)
                if u.reformed:
                    extra = int(rng.binomial(got, self.params.spinoff_share))
                    u.spinoffs += extra
                    u.spinoffs_total += extra

    def found_firms(self) -> np.ndarray:
        """Entrepreneurial births, university spin-offs and firms pushed by high-energy carriers."""
        rng = self.streams["entry"]
        p = self.params
        live = len(self.agents_by_type[Firm])
        rate = p.entry_rate * (1 + p.entry_growth) ** (self.year - FIRST_YEAR)
        births = int(rng.poisson(max(rate, 0.0) * live / MONTHS))
        rows = [self.firms.enter(self.month, births, rng)]
        spin = int(self.streams["spinoffs"].poisson(self.spinoffs_due))
        rows.append(self.firms.enter(self.month, spin, self.streams["spinoffs"], origin=ORIGIN_SPINOFF))
        pushed = self.incubators.pushed_births(self.streams["pushed"])
        rows.append(self.firms.enter(self.month, pushed, self.streams["pushed"], origin=ORIGIN_PUSHED))
        return np.concatenate(rows)

    def incubate(self, newborn: np.ndarray) -> None:
        self.incubators.step_month(self.month, newborn, self.streams["incubation"])

    def grow_firms(self) -> None:
        self.firms.grow(self.month, self.streams["growth"])

    def spend_rd(self) -> None:
        self.firms.spend_rd()

    def trade_technology(self, year: int) -> None:
        self.market.step_month(self.month, year, self.streams["market"], self.streams["buyers"])

    def pay_vouchers(self, year: int) -> None:
        paid = self.market.redeem_vouchers(self.policy.lever("voucher_budget", year), self.streams["vouchers"])
        self.policy.book(year, "vouchers", paid)

    def invest(self, year: int) -> None:
        self.capital.step_month(self.month, year, self.streams["funding"])

    def close_firms(self) -> None:
        self.firms.exit(self.month, self.streams["exit"])

    def close_year(self, year: int) -> None:
        """December: patents of the year, close the books, certify, plan next year's R&D, record indicators."""
        self.firms.patent(self.streams["patents"])
        self.firms.close_year(year, self.streams["patents"])
        certification.certify_year(self.firms, year, self.month, self.streams["certification"], TAKEUP_BOOST)
        awards = self.firms.plan_rd(year, self.streams["rd"], self.policy.lever("rd_subsidy_rate", year + 1))
        self.policy.book(year + 1, "rd_subsidy", awards / self.scale / 1e4)
        self.annual.append(record_year(self, year))
        self.market.reset_year()
        self.capital.deals_this_year = 0

    # ------------------------------------------------------------------ running and results
    def run(self) -> "InnovationModel":
        """Step to December of ``end_year``."""
        with gc_paused():
            while self.running:
                self.step()
        return self

    def annual_indicators(self) -> pd.DataFrame:
        """Indicators by year (index), 2018 (start state) to the last closed year."""
        return pd.DataFrame(self.annual).set_index("year")


@contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector while a run creates ~10^5 agents.

    Each generation-2 collection walks every live agent; during a full-scale run they cost
    ~0.5 s of ~1.4 s. Reference counting still frees acyclic garbage; cycles are collected
    when the previous state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def release(model: mesa.Model) -> None:
    """Free a finished model: Mesa 3.3.1 keeps every model alive through Agent._ids (mesa#3179)."""
    mesa.Agent._ids.pop(model, None)


def run_replicate(levers=None, params=None, seed: int = 0, end_year: int = 2026, scale: float = 1.0) -> pd.DataFrame:
    """Build, run and release one model; return its annual indicators."""
    model = InnovationModel(levers=levers, params=params, seed=seed, end_year=end_year, scale=scale)
    try:
        model.run()
        return model.annual_indicators()
    finally:
        release(model)
