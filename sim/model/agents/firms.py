"""Firms: one Mesa agent per real firm, state in columns, rules vectorised.

``FirmPopulation`` owns the column table and the firm rules (entry, growth, R&D,
patents, exit, year-end bookkeeping). ``Firm`` is the Mesa agent: a thin view on
its row, so users can select, inspect and follow single firms through
``model.agents_by_type[Firm]``. Status rules (tech-SME registry, HNTE,
gazelle, 专精特新, above-scale) live in ``sim.model.agents.certification``.

Units: money in 万元 (10^4 yuan) a year unless a name says otherwise; time in
months since 2019-01 (negative before the start).
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.model.agents.table import ColumnTable, deregister_many, register_many
from sim.model.params import BehaviourParams, StartState
from sim.model.sampling import weighted_rows

MONTHS = 12
NO_DATE = -(10**6)  # "never" for month columns

ORIGIN_OTHER, ORIGIN_SPINOFF, ORIGIN_PUSHED = 0, 1, 2
SECTOR_INDUSTRY, SECTOR_SERVICES = 0, 1
CITY_XIAN, CITY_XIXIAN, CITY_OTHER = 0, 1, 2
CITY_SHARES = (0.70, 0.08, 0.22)  # assumption: Xi'an holds most innovation firms (>14,000 of ~21,000 tech SMEs, 2023)

# Young firms grow faster: extra log growth = YOUNG_GROWTH * exp(-age / YOUNG_GROWTH_YEARS) (assumption).
YOUNG_GROWTH, YOUNG_GROWTH_YEARS = 0.25, 3.0
YOUNG_AGE_YEARS = 7  # exit peaks in years 3-7 (SAIC 2013, mechanisms.md §5.2)
HIGH_ENERGY_EXTRA = 0.5  # high-energy carriers add half again to the incubation growth boost (assumption)
FUNDED_EXIT_FACTOR, FUNDED_EXIT_MONTHS = 0.5, 24  # mechanisms.md §8.3: exit hazard halved for 2 years
FUNDED_BOOST_MONTHS = 36  # growth boost lasts 3 years (mechanisms.md §8.3)
FUNDED_RD_BOOST = 0.015  # +1-2 pp R&D intensity after a round (mechanisms.md §8.3)
INCUBATED_EXIT_FACTOR = 0.9  # P23: 0.8-1.0 while inside (weak effect)
RD_NOISE = 0.15  # sd of yearly log change of R&D intensity (assumption)
RD_INTENSITY_CAP = 0.6  # R&D / revenue above this is treated as a start-up burning capital (assumption)
RD_INTENSITY_SIGMA = 0.8  # dispersion of firms' R&D intensity (assumption)
RD_SIZE_REFERENCE = 1000.0  # 万元: rd_intensity_median is for a firm of this revenue (BehaviourParams)
CLASS2_PER_YEAR = 1.0  # Class-II IP items a year per R&D-active firm (assumption)
HISTORY_YEARS = 5  # revenue history kept for the gazelle 4-year CAGR

FIRM_COLUMNS = {
    "alive": (np.bool_, False),
    "birth_month": (np.int32, 0),
    "sector": (np.int8, SECTOR_SERVICES),
    "city": (np.int8, CITY_XIAN),
    "origin": (np.int8, ORIGIN_OTHER),
    "revenue": (np.float64, 0.0),  # 万元 a year, current rate
    "asset_ratio": (np.float64, 1.0),  # assets / revenue
    "productivity": (np.float64, 140.0),  # 万元 revenue per employee
    "st_share": (np.float64, 0.0),  # S&T staff / staff
    "hightech_share": (np.float64, 0.0),  # high-tech revenue / revenue
    "rd_intensity": (np.float64, 0.0),  # reported R&D / revenue, this year's plan
    "rd_real_share": (np.float64, 1.0),  # share of reported R&D that is real (not relabelled)
    "rd_ytd": (np.float64, 0.0),  # reported R&D this year so far
    "rev_ytd": (np.float64, 0.0),
    "rd_hist": (np.float64, 0.0, 3),  # reported R&D of the last 3 closed years, [0] = last
    "rev_hist": (np.float64, 0.0, HISTORY_YEARS),  # revenue of the last 5 closed years, [0] = last
    "inv_patents": (np.int32, 0),  # invention patents held
    "class2_ip": (np.int32, 0),  # utility models, software copyrights (Class-II IP)
    "incubator": (np.int32, -1),
    "incubated_since": (np.int32, NO_DATE),
    "funded_month": (np.int32, NO_DATE),
    "funding_total": (np.float64, 0.0),
    "roadshow_month": (np.int32, NO_DATE),
    "last_sale_year": (np.int16, 0),
    "tech_bought": (np.int32, 0),
    "hte_valid_until": (np.int16, 0),  # last year the HNTE certificate is valid (0 = none)
    "hte_first_year": (np.int16, 0),
    "techsme_year": (np.int16, 0),  # last year in the tech-SME registry
    "gazelle_first_year": (np.int16, 0),
    "zjtx_valid_until": (np.int16, 0),
    "zjtx_first_year": (np.int16, 0),
    "above_scale_hte_year": (np.int16, 0),  # first year as an above-scale high-tech industrial firm
    "subsidy_due": (np.float64, 0.0),  # R&D increment award due next year, 万元
    "growth_base": (np.float64, 0.0),  # expected log growth a year from age (refreshed each January)
}


class Firm(mesa.Agent):
    """A firm: a view on its row of the firm table."""

    def __init__(self, model, row: int):
        super().__init__(model)
        self.row = row

    @property
    def _t(self):
        return self.model.firms.table

    def __getattr__(self, name):
        # Column values by name: firm.revenue, firm.inv_patents, ... (only called for missing attributes)
        if name.startswith("_") or name not in FIRM_COLUMNS:
            raise AttributeError(name)
        return getattr(self.model.firms.table, name)[self.row]

    @property
    def staff(self) -> float:
        return max(1.0, self.revenue / self.productivity)

    @property
    def is_hte(self) -> bool:
        return bool(self.hte_valid_until >= self.model.year)

    def __repr__(self):
        return f"Firm(id={self.unique_id}, row={self.row}, revenue={self.revenue:.0f}万, alive={self.alive})"


def _new_firm_agents(model, rows: np.ndarray) -> list:
    """Create Firm agents for table rows without the per-agent registration cost."""
    ids = mesa.Agent._ids[model]
    new = Firm.__new__
    agents = [new(Firm) for _ in range(rows.size)]
    for a, r, uid in zip(agents, rows.tolist(), ids):
        a.model = model
        a.unique_id = uid
        a.pos = None
        a.row = r
    register_many(model, agents)
    return agents


class FirmPopulation:
    """The firm table, the Firm agents, and the vectorised firm rules."""

    def __init__(self, model, params: BehaviourParams, start: StartState, scale: float):
        self.model = model
        self.p = params
        self.start = start
        self.scale = scale
        capacity = int(start.firms_2018 * scale * 3) + 64
        self.table = ColumnTable(FIRM_COLUMNS, capacity)
        self.agent_of_row: list = []

    # ------------------------------------------------------------------ helpers
    def live(self) -> np.ndarray:
        return self.table.col("alive")

    def staff(self) -> np.ndarray:
        t = self.table
        return np.maximum(1.0, t.col("revenue") / t.col("productivity"))

    def age_years(self, month: int) -> np.ndarray:
        return (month - self.table.col("birth_month")) / MONTHS

    def _add(self, k: int, month: int, rng, origin: int, revenue_median: float, revenue_sigma: float,
             age_months=None) -> np.ndarray:
        """Append ``k`` firms with drawn traits; returns their rows."""
        if k <= 0:
            return np.empty(0, dtype=np.int64)
        p = self.p
        revenue = revenue_median * np.exp(revenue_sigma * rng.standard_normal(k))
        birth = month - (age_months if age_months is not None else np.zeros(k, dtype=np.int64))
        young = origin != ORIGIN_OTHER or age_months is None
        st_share = rng.beta(2.0, 5.0, k) if not young else rng.beta(3.0, 4.0, k)  # assumption: mean 0.29 / 0.43
        rows = self.table.add_rows(
            k,
            alive=True,
            birth_month=birth,
            sector=np.where(rng.random(k) < self.start.manufacturing_share, SECTOR_INDUSTRY, SECTOR_SERVICES),
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
        self.agent_of_row.extend(_new_firm_agents(self.model, rows))
        return rows

    # ------------------------------------------------------------------ start state
    def seed_2018(self, rng) -> None:
        """The incumbent population at end-2018, with revenue and R&D histories."""
        s = self.start
        k = int(round(s.firms_2018 * self.scale))
        age = rng.exponential(6.0 * MONTHS, k).astype(np.int64) + MONTHS  # assumption: mean age 7 years
        rows = self._add(k, -1, rng, ORIGIN_OTHER, s.revenue_median, s.revenue_sigma, age_months=age)
        t = self.table
        rev = t.revenue[rows]
        # Past revenue: back-cast at the mean growth; young firms had none before birth.
        for y in range(HISTORY_YEARS):
            alive_then = age >= (y + 1) * MONTHS
            t.rev_hist[rows, y] = np.where(alive_then, rev * np.exp(-self.p.revenue_growth * (y + 1)), 0.0)
        t.rd_hist[rows] = t.rev_hist[rows, :3] * t.rd_intensity[rows, None]

    def assign_initial_patents(self, rng, total: float) -> None:
        """Spread the firms' end-2018 invention-patent stock by R&D (patent production function)."""
        t = self.table
        n = t.n
        rd = t.rd_hist[:n, 0]
        w = np.power(np.maximum(rd, 1e-9), self.p.patent_elasticity)
        w *= t.alive[:n]
        lam = total * self.scale * w / w.sum()
        t.inv_patents[:n] = rng.poisson(lam)

    # ------------------------------------------------------------------ monthly rules
    def enter(self, month: int, births: int, rng, origin=ORIGIN_OTHER) -> np.ndarray:
        """New firms founded this month."""
        return self._add(births, month, rng, origin, self.start.entrant_revenue_median, 1.2)

    def refresh_growth(self, month: int) -> None:
        """Expected growth from age, refreshed once a year (young firms grow faster)."""
        t, p = self.table, self.p
        n = t.n
        age = (month - t.birth_month[:n]) / MONTHS
        t.growth_base[:n] = p.revenue_growth + YOUNG_GROWTH * np.exp(-age / YOUNG_GROWTH_YEARS)

    def grow(self, month: int, rng) -> None:
        """Revenue moves by a log random walk with age, funding and incubation effects."""
        t, p = self.table, self.p
        n = t.n
        mu = t.growth_base[:n] + p.funded_growth_boost * ((month - t.funded_month[:n]) < FUNDED_BOOST_MONTHS)
        mu += self.incubation_boost(n)
        shock = rng.standard_normal(n, dtype=np.float32)
        t.revenue[:n] *= np.exp(mu * (1 / MONTHS) + (p.revenue_volatility / np.sqrt(MONTHS)) * shock)

    def incubation_boost(self, n: int) -> np.ndarray:
        """Extra growth while incubated; high-energy carriers add half again (assumption)."""
        inc = self.table.incubator[:n]
        per_carrier = self.p.incubated_growth_boost * (1.0 + HIGH_ENERGY_EXTRA * self.model.incubators.high_energy_mask)
        return np.append(per_carrier, 0.0)[inc]  # row -1 (not incubated) reads the appended 0

    def spend_rd(self) -> None:
        """Monthly revenue and R&D at the planned intensity, accumulated for the year."""
        t = self.table
        n = t.n
        rev_m = t.revenue[:n] * (1 / MONTHS)
        t.rev_ytd[:n] += rev_m
        t.rd_ytd[:n] += rev_m * t.rd_intensity[:n]

    def patent(self, rng) -> None:
        """Invention patents granted in the year: Poisson(rate * (real R&D / 1000万)^elasticity)."""
        t, p = self.table, self.p
        n = t.n
        real = t.rd_ytd[:n] * t.rd_real_share[:n] * (1 / 1000.0)
        lam = p.patent_rate * np.power(real, p.patent_elasticity)
        t.inv_patents[:n] += rng.poisson(lam * t.alive[:n])

    def exit(self, month: int, rng) -> int:
        """Firms close; their agents leave the model. Returns the number of exits.

        Monthly hazards are below 1%, so exits are drawn by Poisson splitting: a total from the summed
        hazard, then firms in proportion to their hazard (duplicates dropped), far cheaper than one
        uniform per firm.
        """
        t, p = self.table, self.p
        n = t.n
        age = (month - t.birth_month[:n]) / MONTHS
        hazard = np.where(age < YOUNG_AGE_YEARS, p.exit_hazard_young, p.exit_hazard_mature)
        hazard *= np.where((month - t.funded_month[:n]) < FUNDED_EXIT_MONTHS, FUNDED_EXIT_FACTOR, 1.0)
        hazard *= np.where(t.incubator[:n] >= 0, INCUBATED_EXIT_FACTOR, 1.0)
        hazard *= t.alive[:n]
        cum = np.cumsum(hazard)
        k = rng.poisson(cum[-1] / MONTHS) if n else 0
        if not k:
            return 0
        rows = np.unique(weighted_rows(cum, k, rng))
        rows = rows[t.alive[rows]]
        t.alive[rows] = False
        t.incubator[rows] = -1
        t.revenue[rows] = 0.0
        deregister_many(self.model, [self.agent_of_row[r] for r in rows.tolist()])
        return int(rows.size)

    # ------------------------------------------------------------------ year end
    def close_year(self, year: int, rng) -> None:
        """Roll the histories, let patents lapse, update S&T staff."""
        t, p = self.table, self.p
        n = t.n
        t.rd_hist[:n, 1:] = t.rd_hist[:n, :-1]
        t.rd_hist[:n, 0] = t.rd_ytd[:n]
        t.rev_hist[:n, 1:] = t.rev_hist[:n, :-1]
        t.rev_hist[:n, 0] = t.rev_ytd[:n]
        t.rd_ytd[:n] = 0.0
        t.rev_ytd[:n] = 0.0
        t.inv_patents[:n] -= rng.binomial(t.inv_patents[:n], p.patent_lapse)
        # Class-II IP (utility models, software copyrights) is cheap and filed by most R&D firms (assumption)
        t.class2_ip[:n] += rng.poisson(CLASS2_PER_YEAR, n) * (t.alive[:n] & (t.rd_hist[:n, 0] > 0))
        # S&T staff share drifts toward R&D intensity (more R&D, more researchers; assumption)
        t.st_share[:n] = np.clip(t.st_share[:n] * np.exp(rng.normal(0.0, 0.1, n)), 0.0, 1.0)

    def plan_rd(self, year: int, rng, subsidy_rate: float) -> float:
        """Next year's R&D intensity: drift, HNTE-threshold bunching, increment-subsidy response.

        Returns the R&D increment awards due (万元, paid next year, before the scale correction).
        """
        from sim.model.agents.certification import (
            hte_rd_threshold,  # local: certification imports this module
        )

        t, p = self.table, self.p
        n = t.n
        live = t.alive[:n]
        old = t.rd_intensity[:n].copy()
        new = old * np.exp(p.rd_drift + RD_NOISE * rng.standard_normal(n))
        # Bunching at the HNTE notch (Chen et al. AER 2021): firms that could otherwise apply
        # and sit within BUNCH_BAND below their threshold move just above it; part is relabelling.
        thr = hte_rd_threshold(t.rev_hist[:n, 0])
        wants = (t.hte_valid_until[:n] <= year + 1) & (t.hightech_share[:n] >= 0.6) & (t.st_share[:n] >= 0.1)
        near = (new < thr) & (new >= thr * (1 - BUNCH_BAND))
        moves = live & wants & near & (rng.random(n) < p.bunching_prob)
        lifted = np.where(moves, thr * (1.0 + BUNCH_OVERSHOOT * rng.random(n)), new)
        relabel = np.where(moves, (lifted - new) * p.relabel_share, 0.0)
        real_share = np.where(moves, 1.0 - relabel / lifted, t.rd_real_share[:n])
        new = lifted
        # The same aspirants relabel revenue to pass the 60% high-tech revenue gate (assumption, same probability)
        ht = t.hightech_share[:n]
        near_ht = live & (ht < 0.6) & (ht >= 0.6 - HIGHTECH_BAND) & (rng.random(n) < p.bunching_prob)
        t.hightech_share[:n] = np.where(near_ht, 0.6 + 0.05 * rng.random(n), ht)
        # Increment subsidy: eligible firms expect `rate` per yuan of increment and respond with
        # rd_subsidy_response extra yuan per subsidy yuan (mechanisms.md §4): increment / (1 - k*rate).
        rd_last = t.rd_hist[:n, 0]
        eligible = live & (((rd_last >= 100) & (old >= XIAN_RD_INTENSITY_BAR)) | (rd_last >= 1000))
        k = min(0.9, p.rd_subsidy_response * subsidy_rate)
        grow = eligible & (new > old)
        new = np.where(grow, old + (new - old) / (1.0 - k), new)
        t.rd_intensity[:n] = np.minimum(new, RD_INTENSITY_CAP)
        t.rd_real_share[:n] = real_share
        # Awards for this year's increment are paid next year (Xi'an 2019 rules: 次年兑现)
        increment = np.maximum(t.rd_hist[:n, 0] - t.rd_hist[:n, 1], 0.0)
        award = np.where(eligible & (t.rd_hist[:n, 1] > 0), np.minimum(subsidy_rate * increment, AWARD_CAP), 0.0)
        t.subsidy_due[:n] = award
        return float(award.sum())


BUNCH_BAND = 0.5  # firms within 50% below the notch may bunch (assumption; Chen et al. show a wide missing mass)
BUNCH_OVERSHOOT = 0.4  # bunchers land up to 40% above the notch so the 3-year average clears it (assumption)
HIGHTECH_BAND = 0.15  # firms with 45-60% high-tech revenue may relabel to pass the 60% gate (assumption)
XIAN_RD_INTENSITY_BAR = 0.0172  # Xi'an 2023 increment-award bar: intensity >= 1.72% (feo9b.cn, mechanisms.md §4.1)
AWARD_CAP = 1000.0  # 万元 per firm (mechanisms.md §4.1)
