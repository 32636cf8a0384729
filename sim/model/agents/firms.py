"""Firms: one Mesa agent per real firm, state in columns, rules vectorised.

``FirmPopulation`` owns the column table and the firm rules (entry, growth, R&D, patents, exit,
year-end bookkeeping, next year's R&D plan). ``Firm`` is the Mesa agent: a view on its row, so users
can select, inspect, follow and change single firms through ``model.agents_by_type[Firm]``. A firm gets
its unique id when it is founded; its view is made when someone looks (``model.agents``,
``model.agents_by_type``), so the rules, which never need one, do not pay for 10^5 of them a run. Status
rules (tech-SME registry, HNTE, gazelle, 专精特新, above-scale) live in ``sim.model.agents.certification``;
what policy instruments do to firms lives in their modules (``sim/model/policy/``).

Units: money in 万元 (10^4 yuan) a year unless a name says otherwise; time in months since January of FIRST_YEAR (2017)
(negative before the start).
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np

from sim.model import trends
from sim.model.agents.mesa_bulk import deregister_many, new_agents, reserve_ids
from sim.model.agents.patents import GRANT_LAG_SHARES
from sim.model.agents.table import ColumnTable
from sim.model.agents.thresholds import (
    ABOVE_SCALE_REVENUE,
    SECTOR_ICT,
    SECTOR_INDUSTRY,
    SECTOR_SCITECH,
    above_scale,
    hte_rd_threshold,
)
from sim.model.drivers import NOMINAL_GDP_GROWTH
from sim.model.params import FIRST_YEAR, MONTHS, BehaviourParams, StartState
from sim.model.sampling import weighted_rows

NO_DATE = -(10**6)  # "never" for month columns

ORIGIN_OTHER, ORIGIN_SPINOFF, ORIGIN_PUSHED, ORIGIN_CONVERTED = 0, 1, 2, 3
CITY_XIAN, CITY_XIXIAN, CITY_OTHER = 0, 1, 2
CITY_SHARES = (
    0.70,
    0.08,
    0.22,
)  # assumption: Xi'an holds most innovation firms (>14,000 of ~21,000 tech SMEs, 2023)

# Young firms grow faster: extra log growth = YOUNG_GROWTH * exp(-age / YOUNG_GROWTH_YEARS) (assumption).
YOUNG_GROWTH, YOUNG_GROWTH_YEARS = 0.25, 3.0
YOUNG_AGE_YEARS = 7  # exit peaks in years 3-7 (SAIC 2013, mechanisms.md §5.2)
ENTRANT_REVENUE_SIGMA = 1.2  # sd of log revenue of entrants (assumption)
RD_NOISE = 0.15  # sd of yearly log change of R&D intensity (assumption)
RD_INTENSITY_CAP = 0.6  # R&D / revenue above this is treated as a start-up burning capital (assumption)
RD_INTENSITY_SIGMA = 0.8  # dispersion of firms' R&D intensity (assumption)
RD_SIZE_REFERENCE = 1000.0  # 万元: rd_intensity_median is for a firm of this revenue (BehaviourParams)
CLASS2_RATE = 0.8  # Class-II IP items a year at 100万 of R&D a year, rising with sqrt(R&D) (assumption)
CLASS2_RD_REFERENCE = 100.0  # 万元
HIGHTECH_NOISE = 0.03  # sd of the yearly change of the high-tech revenue share (assumption)
ST_BASE, ST_PER_RD, ST_REVERSION, ST_NOISE = 0.08, 3.0, 0.2, 0.02  # S&T staff share drifts to 0.08 + 3 x R&D
# intensity (a firm at 5% R&D tends to 23% S&T staff), closing a fifth of the gap a year (assumption)
HISTORY_YEARS = 5  # revenue history kept for the gazelle 4-year growth
# Service firms are in 信息传输、软件和信息技术服务业 or 科学研究和技术服务业 (thresholds.py), half in each
# (assumption: the corpus has no breakdown of Shaanxi's innovation firms by service 门类); the two differ in
# their above-scale bar (2,000万 and 1,000万).
ICT_SHARE_OF_SERVICES = 0.5
# Bunching at the HNTE R&D notch (Chen, Liu, Suarez Serrato & Xu, AER 2021; mechanisms.md §1.2). Our
# reading of their figures: the excess mass sits in the first bin above each notch and the missing mass
# reaches about 1.5 points below the 5% notch, i.e. 30% of the threshold.
BUNCH_WINDOW = 0.3  # firms planning up to 30% below their threshold may bunch
BUNCH_LANDING = 0.05  # bunchers land within 5% above the threshold (5.00-5.25% at the 5% notch)
HIGHTECH_GATE, HIGHTECH_BAND = 0.6, 0.15  # firms at 45-60% high-tech revenue may relabel to pass the 60% gate

FIRM_COLUMNS = {
    "alive": (np.bool_, False),
    "birth_month": (np.int32, 0),
    "sector": (np.int8, SECTOR_SCITECH),  # thresholds.SECTOR_*: industry or a service 门类
    "city": (np.int8, CITY_XIAN),
    "origin": (np.int8, ORIGIN_OTHER),
    "revenue": (np.float64, 0.0),  # 万元 a year, current rate
    "asset_ratio": (np.float64, 1.0),  # assets / revenue
    "productivity": (np.float64, 140.0),  # 万元 revenue per employee
    "st_share": (np.float64, 0.0),  # S&T staff / staff
    "hightech_share": (np.float64, 0.0),  # high-tech revenue / revenue
    "rd_intensity": (np.float64, 0.0),  # reported R&D / revenue, this year's plan
    "rd_real_share": (np.float64, 1.0),  # share of the planned intensity that is real (not relabelled)
    "rd_ytd": (np.float64, 0.0),  # reported R&D this year so far
    "rd_real_ytd": (np.float64, 0.0),  # real R&D this year so far (what the R&D statistics count)
    "rev_ytd": (np.float64, 0.0),
    "rd_hist": (np.float64, 0.0, 3),  # reported R&D of the last 3 closed years, [0] = last
    "rd_real_last": (np.float64, 0.0),  # real R&D of the last closed year
    "rev_hist": (np.float64, 0.0, HISTORY_YEARS),  # revenue of the last 5 closed years, [0] = last
    "inv_patents": (np.int32, 0),  # invention patents held
    "pat_pending": (
        np.int32,
        0,
        len(GRANT_LAG_SHARES) + 1,
    ),  # applications granted at the end of this year, next, after
    "class2_ip": (np.int32, 0),  # utility models, software copyrights (Class-II IP)
    "class2_used": (np.int32, 0),  # Class-II items already used for an HNTE application (each backs one)
    "conv_ytd": (np.int32, 0),  # conversions this year: IP obtained and technology acquired
    "conv_hist": (np.int32, 0, 3),  # conversions in the last 3 closed years, [0] = last
    "tech_bought": (np.int32, 0),  # technologies acquired (contracts, vouchers, licences), cumulative
    "incubator": (np.int32, -1),
    "incubated_since": (np.int32, NO_DATE),
    "funded_month": (np.int32, NO_DATE),
    "funding_total": (np.float64, 0.0),
    "roadshow_month": (np.int32, NO_DATE),
    "credit_month": (np.int32, NO_DATE),
    "loans_total": (np.float64, 0.0),
    "pool_year": (np.int16, 0),  # year in the HNTE cultivation pool
    "hte_valid_until": (np.int16, 0),  # last year the HNTE certificate counts at year end (0 = none)
    "hte_first_year": (np.int16, 0),
    "hte_failed_year": (np.int16, 0),  # last year an HNTE application failed (sit out the next year)
    "techsme_year": (np.int16, 0),  # last year admitted to the tech-SME registry
    "techsme_apply_month": (np.int32, NO_DATE),  # month of this year's registry batch (NO_DATE: none)
    "gazelle_first_year": (np.int16, 0),
    "zjtx_valid_until": (np.int16, 0),
    "zjtx_first_year": (np.int16, 0),
    "above_scale_first_year": (np.int16, 0),  # first year above the statistical revenue bar
    "above_scale_hte_year": (np.int16, 0),  # first year as an above-scale high-tech firm (T16a)
    "growth_base": (np.float64, 0.0),  # expected log growth a year from age (refreshed each January)
    "uid": (np.int64, -1),  # the Mesa unique id, drawn when the firm is founded
}


class Firm(mesa.Agent):
    """A firm: a view on its row of the firm table. Reading and writing a column goes to the table."""

    def __init__(self, model, row: int):
        super().__init__(model)
        self.row = row

    def remove(self) -> None:
        """The firm closes (as an exit does) and leaves the model."""
        self.model.firms.retire(np.array([self.row]))
        self.model.firms.sync_agents()

    def __getattr__(self, name):
        # Column values by name: firm.revenue, firm.inv_patents, ... (only called for missing attributes)
        if name.startswith("_") or name not in FIRM_COLUMNS:
            raise AttributeError(name)
        return getattr(self.model.firms.table, name)[self.row]

    def __setattr__(self, name, value):
        if name in FIRM_COLUMNS:
            getattr(self.model.firms.table, name)[self.row] = value  # write through to the table
        else:
            object.__setattr__(self, name, value)

    @property
    def is_hte(self) -> bool:
        """Holds a valid HNTE certificate in the model's current year."""
        return bool(self.hte_valid_until >= self.model.year)

    def __repr__(self):
        return f"Firm(id={self.unique_id}, row={self.row}, revenue={self.revenue:.0f}万, alive={self.alive})"


@dataclass(frozen=True)
class RdPlan:
    """The firms' R&D plan for ``year + 1`` that instruments respond to (arrays over firm rows, 万元 and shares)."""

    year: int  # the year closing now
    old: np.ndarray  # this year's planned R&D intensity
    new: np.ndarray  # next year's, before the instruments' response
    rd_last: np.ndarray  # reported R&D of the year closing now
    rd_before: np.ndarray  # reported R&D of the year before
    in_survey: np.ndarray  # live and above the statistical revenue bar (the R&D survey's scope)


class FirmPopulation:
    """The firm table, the Firm agents, and the vectorised firm rules."""

    def __init__(self, model, params: BehaviourParams, start: StartState, scale: float):
        self.model = model
        self.p = params
        self.start = start
        self.scale = scale
        capacity = int(start.firms_start * scale * 3.0) + 64
        self.table = ColumnTable(FIRM_COLUMNS, capacity)
        self._views: list = []  # Firm agents made so far for live firms (see ``sync_agents``)
        self._view_rows = np.empty(0, dtype=np.int64)  # their rows
        self._synced = 0  # rows below this have been looked at by ``sync_agents``
        self.patents_granted = 0  # invention patents granted to firms in the last closed year (model scale)
        self._hazard_key = None
        self._hazard = np.zeros(0)

    # ------------------------------------------------------------------ helpers
    def live(self) -> np.ndarray:
        return self.table.col("alive")

    def _add(
        self,
        k: int,
        month: int,
        rng,
        origin: int,
        revenue_median: float,
        revenue_sigma: float,
        age_months=None,
        sector=None,
    ) -> np.ndarray:
        """Append ``k`` firms with drawn traits; returns their rows."""
        if k <= 0:
            return np.empty(0, dtype=np.int64)
        p = self.p
        revenue = revenue_median * np.exp(revenue_sigma * rng.standard_normal(k))
        birth = month - (age_months if age_months is not None else np.zeros(k, dtype=np.int64))
        young = origin != ORIGIN_OTHER or age_months is None
        st_share = rng.beta(3.0, 4.0, k) if young else rng.beta(2.0, 5.0, k)  # assumption: mean 0.43 / 0.29
        if sector is None:  # one uniform draw decides industry or services and the service 门类
            u, industry = rng.random(k), self.start.manufacturing_share
            ict = u < industry + (1.0 - industry) * ICT_SHARE_OF_SERVICES
            sector = np.where(u < industry, SECTOR_INDUSTRY, np.where(ict, SECTOR_ICT, SECTOR_SCITECH))
        rows = self.table.add_rows(
            k,
            alive=True,
            birth_month=birth,
            sector=sector,
            city=rng.choice(3, size=k, p=CITY_SHARES),
            origin=origin,
            revenue=revenue,
            asset_ratio=np.exp(rng.normal(0.0, 0.5, k)),  # assumption: assets ~ revenue
            productivity=self.start.revenue_per_employee * np.exp(rng.normal(0.0, 0.4, k)),
            st_share=st_share,
            hightech_share=rng.beta(4.0, 2.0, k),  # assumption: mean 0.67
            rd_intensity=np.minimum(
                RD_INTENSITY_CAP,
                p.rd_intensity_median
                * np.power(revenue / RD_SIZE_REFERENCE, p.rd_size_elasticity)
                * np.exp(RD_INTENSITY_SIGMA * rng.standard_normal(k)),
            ),
            class2_ip=rng.poisson(1.5, k),  # assumption
        )
        self.table.uid[rows] = reserve_ids(self.model, k)
        return rows

    # ------------------------------------------------------------------ start state
    def seed_start(self, rng) -> None:
        """The incumbent population at the start (end-2016), with revenue and R&D histories."""
        s = self.start
        k = int(round(s.firms_start * self.scale))
        age = rng.exponential(6.0 * MONTHS, k).astype(np.int64) + MONTHS  # assumption: mean age 7 years
        rows = self._add(k, -1, rng, ORIGIN_OTHER, s.revenue_median, s.revenue_sigma, age_months=age)
        self._backfill_history(rows, age)

    def _backfill_history(self, rows: np.ndarray, age: np.ndarray) -> None:
        """Past revenue back-cast at the mean growth (none before birth); R&D at today's intensity."""
        t = self.table
        rev = t.revenue[rows]
        for y in range(HISTORY_YEARS):
            alive_then = age >= (y + 1) * MONTHS
            t.rev_hist[rows, y] = np.where(alive_then, rev * np.exp(-self.p.revenue_growth * (y + 1)), 0.0)
        t.rd_hist[rows] = t.rev_hist[rows, :3] * t.rd_intensity[rows, None]
        t.rd_real_last[rows] = t.rd_hist[rows, 0] * t.rd_real_share[rows]

    def anchor_rd(self, target_100m: float, certified_until: int) -> float:
        """Scale the R&D of the start state's uncertified above-scale firms so the statistical enterprise R&D
        (survey scope, real part) equals ``target_100m`` (亿元, real scale). Certified firms keep their R&D
        above their thresholds; the scaling absorbs the draw-to-draw noise of the largest firms' R&D.
        Returns the factor applied (1 when no uncertified above-scale firm has R&D)."""
        t = self.table
        n = t.n
        scope = t.alive[:n] & above_scale(t.sector[:n], t.rev_hist[:n, 0])
        free = scope & (t.hte_valid_until[:n] < certified_until)
        real = t.rd_real_last[:n]
        fixed = real[scope & ~free].sum()
        movable = real[free].sum()
        target = target_100m * 1e4 * self.scale
        if movable <= 0:
            return 1.0
        k = max(0.0, (target - fixed) / movable)
        rows = np.flatnonzero(free)
        t.rd_intensity[rows] *= k
        t.rd_hist[rows] *= k
        t.rd_real_last[rows] *= k
        return k

    def assign_initial_patents(self, rng, total: float) -> None:
        """Spread the firms' start invention-patent stock by R&D; applications in flight likewise."""
        t = self.table
        n = t.n
        rd = t.rd_hist[:n, 0]
        w = np.power(np.maximum(rd, 1e-9), self.p.patent_elasticity) * t.alive[:n]
        t.inv_patents[:n] = rng.poisson(total * self.scale * w / w.sum())
        yearly = self.applications(t.rd_real_last[:n] * t.alive[:n], year=FIRST_YEAR - 1)
        in_flight = np.cumsum(GRANT_LAG_SHARES[::-1])[::-1]  # granted in the first two years (earlier filings)
        for k, share in enumerate(in_flight):
            t.pat_pending[:n, k] = rng.poisson(yearly * share)  # slot 0: granted at the end of the first year
        # conversions of the three years before the start (IP obtained at the same rates), for the HNTE score
        age = (-1 - t.birth_month[:n]) / MONTHS
        class2 = CLASS2_RATE * np.sqrt(t.rd_real_last[:n] / CLASS2_RD_REFERENCE)
        for y in range(t.conv_hist.shape[1]):
            t.conv_hist[:n, y] = rng.poisson((yearly + class2) * (age >= y + 1))

    # ------------------------------------------------------------------ monthly rules
    def enter(self, month: int, births: int, rng, origin=ORIGIN_OTHER) -> np.ndarray:
        """New firms founded this month."""
        return self._add(births, month, rng, origin, self.p.entrant_revenue_median, ENTRANT_REVENUE_SIGMA)

    def convert_reporters(
        self,
        k: int,
        month: int,
        rng,
        revenue_median: float,
        revenue_sigma: float,
        intensity: float,
        relabel: float,
    ) -> np.ndarray:
        """Above-scale industrial firms that start reporting R&D join the table (``rd_coverage``)."""
        if k <= 0:
            return np.empty(0, dtype=np.int64)
        age = (10 * MONTHS + rng.exponential(5.0 * MONTHS, k)).astype(np.int64)  # mature firms (assumption)
        rows = self._add(
            k,
            month,
            rng,
            ORIGIN_CONVERTED,
            revenue_median,
            revenue_sigma,
            age_months=age,
            sector=SECTOR_INDUSTRY,
        )
        t = self.table
        t.revenue[rows] = np.maximum(t.revenue[rows], ABOVE_SCALE_REVENUE * 1.02)
        t.rd_intensity[rows] = intensity
        t.rd_real_share[rows] = 1.0 - relabel
        self._backfill_history(rows, age)
        t.rd_hist[rows] = 0.0  # no R&D before they started reporting
        t.rd_real_last[rows] = 0.0
        return rows

    def open_year(self, month: int) -> None:
        """January: growth by age."""
        self.refresh_growth(month)

    def refresh_growth(self, month: int) -> None:
        """Expected growth from age, refreshed once a year (young firms grow faster).

        The drift is ``revenue_growth`` to 2023 (the last year of data), fading after (``trend_halflife``) to
        the rate at which the firms' summed revenue grows with nominal GDP (a lognormal's mean grows
        volatility^2 / 2 faster than its median): innovation firms outgrew the economy over 2019-2023, not for
        ever.
        """
        t, p = self.table, self.p
        n = t.n
        year = FIRST_YEAR + month // MONTHS
        longrun = NOMINAL_GDP_GROWTH - p.revenue_volatility**2 / 2
        drift = trends.growth_rate(year, p.revenue_growth, longrun, p.trend_halflife, self.model.data_through)
        age = (month - t.birth_month[:n]) / MONTHS
        t.growth_base[:n] = drift + YOUNG_GROWTH * np.exp(-age / YOUNG_GROWTH_YEARS)

    def grow(self, month: int, rng, boost: np.ndarray) -> None:
        """Revenue moves by a log random walk: age-based drift plus instruments' ``boost`` (log a year)."""
        t, p = self.table, self.p
        n = t.n
        mu = t.growth_base[:n] + boost
        shock = rng.standard_normal(n, dtype=np.float32)
        t.revenue[:n] *= np.exp(mu * (1 / MONTHS) + (p.revenue_volatility / np.sqrt(MONTHS)) * shock)

    def spend_rd(self) -> None:
        """Monthly revenue and R&D at the planned intensity, accumulated for the year."""
        t = self.table
        n = t.n
        rev_m = t.revenue[:n] * (1 / MONTHS)
        rd_m = rev_m * t.rd_intensity[:n]
        t.rev_ytd[:n] += rev_m
        t.rd_ytd[:n] += rd_m
        t.rd_real_ytd[:n] += rd_m * t.rd_real_share[:n]

    def add_extra_rd(self, rows: np.ndarray, amount) -> None:
        """R&D spent this year beyond the planned intensity (projects, loans), all real; dead rows skipped."""
        t = self.table
        rows = np.asarray(rows, dtype=np.int64)
        amount = np.broadcast_to(np.asarray(amount, dtype=float), rows.shape) * t.alive[rows]
        np.add.at(t.rd_ytd, rows, amount)
        np.add.at(t.rd_real_ytd, rows, amount)

    def acquire_technology(self, rows: np.ndarray, rd_lift: float = 0.0) -> None:
        """Firms that bought or licensed a technology: a conversion, and an R&D-intensity lift."""
        t = self.table
        rows = np.asarray(rows, dtype=np.int64)
        np.add.at(t.tech_bought, rows, 1)
        np.add.at(t.conv_ytd, rows, 1)
        if rd_lift:
            np.add.at(t.rd_intensity, rows, rd_lift)
            np.minimum(t.rd_intensity, RD_INTENSITY_CAP, out=t.rd_intensity)

    def receive_equity(self, rows: np.ndarray, tickets: np.ndarray, month: int, rd_boost: float) -> None:
        """A funding round: date, equity raised (万元), R&D intensity raised by ``rd_boost``."""
        t = self.table
        t.funded_month[rows] = month
        np.add.at(t.funding_total, rows, tickets)
        t.rd_intensity[rows] = np.minimum(t.rd_intensity[rows] + rd_boost, RD_INTENSITY_CAP)

    def base_exit_hazard(self, month: int) -> np.ndarray:
        """Exit hazard a year by age, before instruments' factors (cached for the month)."""
        p, t = self.p, self.table
        key = (month, t.n)
        if self._hazard_key != key:
            young = (month - t.birth_month[: t.n]) < YOUNG_AGE_YEARS * MONTHS
            self._hazard = np.where(young, p.exit_hazard_young, p.exit_hazard_mature)
            self._hazard_key = key
        return self._hazard

    def exit(self, month: int, rng, factor: np.ndarray) -> int:
        """Firms close; their agents leave the model. Returns the number of exits.

        Monthly hazards are below 1%, so exits are drawn by Poisson splitting: a total from the summed
        hazard, then firms in proportion to their hazard (duplicates dropped), far cheaper than one
        uniform per firm.
        """
        t = self.table
        n = t.n
        if n == 0:
            return 0
        cum = np.cumsum(self.base_exit_hazard(month) * factor * t.alive[:n])
        k = rng.poisson(cum[-1] / MONTHS)
        if not k:
            return 0
        rows = np.unique(weighted_rows(cum, k, rng))
        rows = rows[t.alive[rows]]
        self.retire(rows)
        return int(rows.size)

    def retire(self, rows: np.ndarray) -> None:
        """Firms at ``rows`` close: no longer alive, out of their carrier, no revenue, no registry batch.
        Their agents leave the model at the next ``sync_agents``."""
        t = self.table
        t.alive[rows] = False
        t.incubator[rows] = -1
        t.revenue[rows] = 0.0
        t.techsme_apply_month[rows] = NO_DATE

    def sync_agents(self) -> None:
        """Make the model's Firm agents match the live firms: views for firms founded since the last call,
        none for firms that closed since."""
        t = self.table
        n = t.n
        if self._view_rows.size:
            gone = ~t.alive[self._view_rows]
            if gone.any():
                deregister_many(self.model, [a for a, g in zip(self._views, gone.tolist()) if g])
                self._views = [a for a, g in zip(self._views, gone.tolist()) if not g]
                self._view_rows = self._view_rows[~gone]
        if n > self._synced:
            rows = self._synced + np.flatnonzero(t.alive[self._synced : n])
            self._views += new_agents(self.model, Firm, t.uid[rows], row=rows.tolist())
            self._view_rows = np.r_[self._view_rows, rows]
            self._synced = n

    # ------------------------------------------------------------------ patents
    def applications(self, real_rd: np.ndarray, year: int) -> np.ndarray:
        """Expected invention-patent applications later granted: rate x propensity x (real R&D / 1000万)^beta."""
        p = self.p
        return (
            p.patent_rate
            * self.model.patent_propensity(year)
            * np.power(real_rd * (1 / 1000.0), p.patent_elasticity)
        )

    def add_patent_applications(self, rows: np.ndarray, counts: np.ndarray, rng) -> None:
        """Applications filed this year from other sources (projects): granted at the end of next year or after."""
        if len(rows) == 0:
            return
        split = rng.multinomial(np.asarray(counts, dtype=np.int64), GRANT_LAG_SHARES)
        for k in range(len(GRANT_LAG_SHARES)):
            np.add.at(self.table.pat_pending[:, k + 1], rows, split[:, k])

    def patent(self, year: int, rng, uplift: np.ndarray | float = 1.0) -> None:
        """December: grant the applications due this year, file this year's (granted in 1-2 years);
        ``uplift``: the instruments' multiplier of applications per yuan of R&D per row (``patent_uplift``)."""
        t = self.table
        n = t.n
        live = t.alive[:n]
        granted = t.pat_pending[:n, 0] * live
        self.patents_granted = int(granted.sum())  # this year's grants (model scale), for the indicators
        t.inv_patents[:n] += granted
        t.conv_ytd[:n] += granted
        t.pat_pending[:n, :-1] = t.pat_pending[:n, 1:]
        t.pat_pending[:n, -1] = 0
        lam = self.applications(t.rd_real_ytd[:n], year) * uplift * live
        filed = rng.poisson(lam)
        if filed.any():
            t.pat_pending[:n, : len(GRANT_LAG_SHARES)] += rng.multinomial(filed, GRANT_LAG_SHARES)

    # ------------------------------------------------------------------ year end
    def close_year(self, year: int, rng) -> None:
        """Roll the histories; patents lapse; Class-II IP, high-tech share and S&T staff move."""
        t, p = self.table, self.p
        n = t.n
        live = t.alive[:n]
        t.rd_hist[:n, 1:] = t.rd_hist[:n, :-1]
        t.rd_hist[:n, 0] = t.rd_ytd[:n]
        t.rd_real_last[:n] = t.rd_real_ytd[:n]
        t.rev_hist[:n, 1:] = t.rev_hist[:n, :-1]
        t.rev_hist[:n, 0] = t.rev_ytd[:n]
        t.rd_ytd[:n] = 0.0
        t.rd_real_ytd[:n] = 0.0
        t.rev_ytd[:n] = 0.0
        t.inv_patents[:n] -= rng.binomial(t.inv_patents[:n], p.patent_lapse)
        new_class2 = rng.poisson(CLASS2_RATE * np.sqrt(t.rd_real_last[:n] / CLASS2_RD_REFERENCE)) * live
        t.class2_ip[:n] += new_class2
        t.conv_ytd[:n] += new_class2
        t.conv_hist[:n, 1:] = t.conv_hist[:n, :-1]
        t.conv_hist[:n, 0] = t.conv_ytd[:n]
        t.conv_ytd[:n] = 0
        t.hightech_share[:n] = np.clip(
            t.hightech_share[:n] + HIGHTECH_NOISE * rng.standard_normal(n), 0.0, 1.0
        )
        target = np.minimum(ST_BASE + ST_PER_RD * t.rd_intensity[:n], 0.8)
        st = t.st_share[:n]
        t.st_share[:n] = np.clip(
            st + ST_REVERSION * (target - st) + ST_NOISE * rng.standard_normal(n), 0.0, 1.0
        )

    def seekers(self) -> np.ndarray:
        """Firms that hold or could seek an HNTE certificate (the soft gates): they care about the notch."""
        t = self.table
        n = t.n
        return (t.hightech_share[:n] >= HIGHTECH_GATE - HIGHTECH_BAND) & (t.st_share[:n] >= 0.1)

    def relabel(self, year: int, extra_incentive: np.ndarray | None = None) -> None:
        """ "Relabeling accounts for 24.2% of reported R&D" (Chen et al. AER 2021) among firms with a
        certification or award incentive: their real share of reported R&D is 1 - relabel_share; the R&D
        statistics count only the real part. Other firms keep their share (1, or a new reporter's own)."""
        t, p = self.table, self.p
        n = t.n
        incentive = t.alive[:n] & (self.seekers() | (t.hte_valid_until[:n] >= year))
        if extra_incentive is not None:
            incentive |= extra_incentive
        t.rd_real_share[:n] = np.where(incentive, 1.0 - p.relabel_share, t.rd_real_share[:n])

    def plan_rd(self, year: int, rng, policy) -> None:
        """Next year's R&D intensity: drift, bunching at the HNTE notch, the instruments' response.

        ``policy.rd_response`` (``sim.model.policy.Policy``) takes the firms' plan (``RdPlan``) and returns
        the planned intensity after the instruments' response (e.g. the R&D-increment award) and the firms
        they give a reason to relabel R&D.
        """
        t, p = self.table, self.p
        n = t.n
        live = t.alive[:n]
        old = t.rd_intensity[:n].copy()
        new = old * np.exp(p.rd_drift + RD_NOISE * rng.standard_normal(n))
        # Bunching (Chen et al. AER 2021): firms that could apply and plan within the window below their
        # threshold move just above it. Every firm that holds or could seek a certificate cares (renewals
        # need the 3-year average too).
        thr = hte_rd_threshold(t.rev_hist[:n, 0])
        wants = self.seekers()
        near = (new < thr) & (new >= thr * (1 - BUNCH_WINDOW))
        moves = live & wants & near & (rng.random(n) < p.bunching_prob)
        new = np.where(moves, thr * (1.0 + BUNCH_LANDING * rng.random(n)), new)
        # the same aspirants relabel revenue to pass the 60% high-tech gate (assumption: same probability)
        ht = t.hightech_share[:n]
        near_ht = (
            live
            & (ht < HIGHTECH_GATE)
            & (ht >= HIGHTECH_GATE - HIGHTECH_BAND)
            & (rng.random(n) < p.bunching_prob)
        )
        t.hightech_share[:n] = np.where(near_ht, HIGHTECH_GATE + 0.05 * rng.random(n), ht)
        # the instruments' response (e.g. the increment award: eligible firms raise planned increases)
        in_survey = live & above_scale(t.sector[:n], t.rev_hist[:n, 0])
        plan = RdPlan(year, old, new, t.rd_hist[:n, 0], t.rd_hist[:n, 1], in_survey)
        new, incentive = policy.rd_response(plan)
        t.rd_intensity[:n] = np.minimum(new, RD_INTENSITY_CAP)
        self.relabel(year, extra_incentive=incentive)
