"""The Qinchuangyuan innovation-ecosystem model: wiring, stage order, data collection.

One step is one month, from January of ``FIRST_YEAR`` (2017; start state: the 2016 year end) to December of
``end_year``. The
stage order of ``step()`` is the model's paragraph; every stage is a named method; rules live with the
agents (``sim/model/agents/``) and the policy instruments (``sim/model/policy/``). The model names no
instrument: ``self.policy`` calls every instrument's hooks at their stage and combines their effects.

    model = InnovationModel(seed=1)     # the plan scenario, default parameters, central lever effects
    model.run()
    model.annual_indicators()           # T01-T05, T07-T09, T16, spending by instrument, by year
"""

from __future__ import annotations

import gc
from contextlib import contextmanager

import mesa
import numpy as np
import pandas as pd

from sim.model import trends
from sim.model.agents import certification
from sim.model.agents.capital import CapitalMarket
from sim.model.agents.carriers import IncubationSystem
from sim.model.agents.firms import ORIGIN_SPINOFF, FirmPopulation
from sim.model.agents.intermediaries import Intermediaries
from sim.model.agents.universities import Institutions
from sim.model.indicators import record_year
from sim.model.market import TechMarket
from sim.model.params import FIRST_YEAR, LAST_BASE_YEAR, MONTHS, BehaviourParams, RunConfig, StartState
from sim.model.policy import Policy, PolicyLevers, central_effects, with_calibrated_effects
from sim.model.rng import Streams

JUNE = 6


class InnovationModel(mesa.Model):
    """Firms, universities and institutes, incubators, funds and intermediaries under the plan's levers.

    ``levers``: a ``PolicyLevers`` (default: the plan); ``params``: ``BehaviourParams`` (default: central
    values; projections use the calibrated posterior); ``effects``: ``LeverEffects`` (default: central
    values; ensembles draw them per replicate).
    """

    def __init__(
        self,
        levers: PolicyLevers | None = None,
        params: BehaviourParams | None = None,
        seed: int = 0,
        end_year: int = 2026,
        scale: float = 1.0,
        start: StartState | None = None,
        effects=None,
        data_through: int = LAST_BASE_YEAR,
    ):
        if seed is None:
            raise ValueError("seed is required (an int): results must be reproducible")
        super().__init__(rng=seed)
        run = RunConfig(end_year=end_year, scale=scale, data_through=data_through)
        self.params = params if params is not None else BehaviourParams()
        self.start = start if start is not None else StartState()
        # the effects the history pins come from the behaviour parameters (the posterior set); the rest as given
        self.effects = with_calibrated_effects(
            effects if effects is not None else central_effects(), self.params
        )
        self.policy = Policy(levers)
        self.seed = int(seed)
        self.end_year = int(run.end_year)
        self.scale = float(run.scale)
        self.data_through = int(run.data_through)  # the last year of data the run reads (RunConfig)
        self.streams = Streams(self.seed)
        self.month = 0  # months since January of FIRST_YEAR (2017) of the next step
        self.year = FIRST_YEAR - 1  # the year whose state the model holds (the start state's first)
        self.annual: list[dict] = []
        self.registry = {"total": 0, "by_june": 0}  # this year's tech-SME admissions (model scale)

        self.firms = FirmPopulation(self, self.params, self.start, self.scale)
        self.institutions = Institutions(self, self.streams["init"])
        self.incubators = IncubationSystem(self)
        self.capital = CapitalMarket(self)
        self.intermediaries = Intermediaries(self)
        self.market = TechMarket(self)
        self.policy.equip(self, self.effects)
        self._seed_start()
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "firms_alive": lambda m: int(m.firms.live().sum()),
                "hte_valid": lambda m: int(
                    (m.firms.live() & (m.firms.table.col("hte_valid_until") >= m.year)).sum()
                ),
                "incubated": lambda m: int((m.firms.table.col("incubator") >= 0).sum()),
                "turnover_ytd_100m": lambda m: m.market.turnover_100m(),
            }
        )

    # ------------------------------------------------------------------ Mesa's views of the agents
    @property
    def agents(self) -> mesa.agent.AgentSet:
        """Every agent, firms included (their views are made on demand: ``FirmPopulation.sync_agents``)."""
        self.firms.sync_agents()
        return self._all_agents

    @property
    def agents_by_type(self) -> dict[type, mesa.agent.AgentSet]:
        self.firms.sync_agents()
        return self._agents_by_type

    @property
    def agent_types(self) -> list[type]:
        return list(self.agents_by_type.keys())

    # ------------------------------------------------------------------ trends
    def patent_propensity(self, year: int) -> float:
        """Granted invention patents per yuan of R&D relative to the first year (fades after the data)."""
        p = self.params
        return trends.level(year, p.patent_propensity_growth, 0.0, p.trend_halflife, self.data_through)

    def entry_flow(self, year: int) -> float:
        """New innovation-relevant firms a year (real units), growing to the last year of data, the growth
        fading after."""
        p = self.params
        return p.entry_start * trends.level(year, p.entry_growth, 0.0, p.trend_halflife, self.data_through)

    # ------------------------------------------------------------------ start state
    def _seed_start(self) -> None:
        """Incumbent firms at the end of 2016, their certificates and patents, carriers and funds. The
        tech-SME registry starts in 2018 (``REGISTRY_FIRST_YEAR``), in its first January."""
        rng = self.streams["init"]
        self.firms.seed_start(rng)
        self.firms.assign_initial_patents(rng, self.start.patents_start * self.start.firm_patent_share_start)
        certification.seed_certificates(self.firms, self.start.hte_start, rng)
        self.firms.relabel(FIRST_YEAR - 1)
        t = self.firms.table
        t.col("rd_real_last")[:] = t.col("rd_hist")[:, 0] * t.col("rd_real_share")
        self.firms.anchor_rd(self.start.rd_enterprise_start, certified_until=FIRST_YEAR - 1)
        self.policy.start()
        self.annual.append(record_year(self, FIRST_YEAR - 1, self.registry, {}))

    # ------------------------------------------------------------------ the month
    def step(self) -> None:
        """One month of the ecosystem."""
        self.year = year = FIRST_YEAR + self.month // MONTHS
        month_of_year = self.month % MONTHS + 1
        if month_of_year == 1:
            self.open_year(year)
        newborn = self.found_firms()
        self.incubate(newborn)
        self.grow_firms()
        self.spend_rd()
        self.register_firms(year, month_of_year)
        self.trade_technology(year)
        self.policy.act(self.month, year)
        self.close_firms()
        if month_of_year == MONTHS:
            self.close_year(year)
        self.datacollector.collect(self)
        self.month += 1
        if FIRST_YEAR + self.month // MONTHS > self.end_year:
            self.running = False

    def open_year(self, year: int) -> None:
        """January: universities' year, every instrument's yearly action, registry applications."""
        self.market.reset_year()
        self.capital.open_year()
        self.registry = {"total": 0, "by_june": 0}
        self.firms.open_year(self.month)
        self.institutions.step_year(
            year,
            self.policy.reform_units(year),
            self.policy.transfer_multiplier(),
            self.streams.at("universities", self.month),
        )
        self.policy.open_year(year)
        boost = self.policy.registry_takeup(year, self.firms.table.n)
        certification.open_registry(
            self.firms, year, self.month, self.streams.at("registry", self.month), boost
        )

    def found_firms(self) -> np.ndarray:
        """Entrepreneurial births, the institutions' spin-offs, and the firms instruments found."""
        rng = self.streams.at("entry", self.month)
        births = int(rng.poisson(self.entry_flow(self.year) / MONTHS * self.scale))
        spin_rng = self.streams.at("spinoffs", self.month)
        spin = int(spin_rng.poisson(self.institutions.spinoffs_this_year() / MONTHS * self.scale))
        return np.concatenate(
            [
                self.firms.enter(self.month, births, rng),
                self.firms.enter(self.month, spin, spin_rng, origin=ORIGIN_SPINOFF),
                *self.policy.found_firms(self.month),
            ]
        )

    def incubate(self, newborn: np.ndarray) -> None:
        self.incubators.step_month(self.month, newborn, self.streams.at("incubation", self.month))

    def grow_firms(self) -> None:
        boost = self.policy.growth_boost(self.month, self.firms.table.n)
        self.firms.grow(self.month, self.streams.at("growth", self.month), boost)

    def spend_rd(self) -> None:
        self.firms.spend_rd()

    def register_firms(self, year: int, month_of_year: int) -> None:
        admitted = certification.admit_batch(self.firms, year, self.month)
        self.registry["total"] += admitted
        if month_of_year <= JUNE:
            self.registry["by_june"] += admitted

    def trade_technology(self, year: int) -> None:
        self.market.step_month(
            self.month, year, self.streams.at("market", self.month), self.streams.at("buyers", self.month)
        )

    def close_firms(self) -> None:
        factor = self.policy.exit_factor(self.month, self.firms.table.n)
        self.firms.exit(self.month, self.streams.at("exit", self.month), factor)

    def close_year(self, year: int) -> None:
        """December: certify on last year's accounts, grant patents, close the books, plan R&D, record."""
        rng = self.streams.at("certification", self.month)
        apply_lift, pass_lift, score_lift = self.policy.hte_lift(year, self.firms.table.n)
        cert = certification.certify_hte(self.firms, year, self.month, rng, apply_lift, pass_lift, score_lift)
        upgrades = certification.recognise_upgrades(self.firms, year, self.month, rng)
        self.policy.close_year(
            year, {"first_hte": cert["first"], "first_above_scale": upgrades["above_scale_first"]}
        )
        uplift = self.policy.patent_uplift(year, self.firms.table.n)
        self.firms.patent(year, self.streams.at("patents", self.month), uplift)
        self.firms.close_year(year, self.streams.at("year_end", self.month))
        self.firms.plan_rd(year, self.streams.at("rd", self.month), self.policy)
        self.annual.append(record_year(self, year, self.registry, cert))

    # ------------------------------------------------------------------ running and results
    def run(self) -> "InnovationModel":
        """Step to December of ``end_year``."""
        with gc_paused():
            while self.running:
                self.step()
        return self

    def annual_indicators(self) -> pd.DataFrame:
        """Indicators by year (index), the start state's year (2016) to the last closed year."""
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
