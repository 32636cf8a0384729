"""Every parameter of the model, declared once: default, unit, allowed range, source.

Three groups, in EMA-Workbench vocabulary:

* ``PolicyLevers``: what policy sets (public names, stable; Hydra overrides
  ``policy.<name>``).
* ``BehaviourParams``: what nobody knows exactly (uncertainties); each carries a
  prior for calibration, taken from ``research/mechanisms.md`` or marked as an
  assumption.
* ``RunConfig``: how a single run is made (years, scale, seed).

``validate()`` checks types and ranges and raises ``ConfigError`` naming the
field and what is allowed, so bad input fails before anything runs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

FIRST_YEAR = 2019  # first simulated year; the start state is the 2018 year end
LAST_BASE_YEAR = 2023  # last year of official data; projection starts in 2024
MAX_END_YEAR = 2035


class ConfigError(ValueError):
    """A parameter is outside what the model accepts. The message names the key."""


def spec(default: Any, unit: str, lo: float, hi: float, source: str, prior=None, **meta):
    """A dataclass field with unit, hard range [lo, hi], source and optional prior.

    ``prior`` is ``(lo, hi)`` of a uniform prior for calibration (inside the hard range).
    """
    md = {"unit": unit, "range": (lo, hi), "source": source, **meta}
    if prior is not None:
        md["prior"] = tuple(prior)
    return field(default=default, metadata=md)


def validate(obj: Any, prefix: str) -> None:
    """Check the type and range of every field of a params dataclass."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        key = f"{prefix}.{f.name}" if prefix else f.name
        lo, hi = f.metadata.get("range", (None, None))
        unit = f.metadata.get("unit", "")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} = {value!r}: must be a number between {lo} and {hi} ({unit})")
        if f.type in ("int", int) and float(value) != int(value):
            raise ConfigError(f"{key} = {value!r}: must be a whole number between {lo} and {hi} ({unit})")
        if not (lo <= value <= hi) or value != value:  # value != value catches NaN
            raise ConfigError(f"{key} = {value!r}: allowed range is [{lo}, {hi}] ({unit})")


def describe(cls) -> list[dict]:
    """One row per field: name, default, unit, range, prior, source (for docs and reports)."""
    rows = []
    for f in fields(cls):
        rows.append(
            {
                "name": f.name,
                "default": f.default,
                "unit": f.metadata.get("unit"),
                "range": f.metadata.get("range"),
                "prior": f.metadata.get("prior"),
                "source": f.metadata.get("source"),
            }
        )
    return rows


# --------------------------------------------------------------------------- levers
@dataclass
class PolicyLevers:
    """The plan's levers. Build-up levers (counts) are the level reached in 2026;
    flow levers (budgets, rates) apply each year from 2024. Defaults = the plan.

    2019-2023 the model follows the historical lever path in ``sim.model.policy``;
    these values act from 2024 on.
    """

    voucher_budget: float = spec(
        2.0, "亿元 a year", 0, 50,
        "assumption: plan §6 continues 科技创新券 with no amount; mechanisms.md §3 prior 0.5-2 亿/yr; "
        "plan value set at the top of that range",
    )
    rd_subsidy_rate: float = spec(
        0.10, "share of the year-on-year R&D increment reimbursed", 0, 1,
        "assumption: plan §6 继续推行研发投入增量奖补, rate not published; mechanisms.md §4.1 guess 5-10%",
    )
    fund_size: float = spec(
        500.0, "亿元 of guidance and venture capital committed", 0, 10000,
        "2023 level 250 (see sim.model.policy) + 50 (plan §16, 50亿元 fund cluster, T25) "
        "+ 200 (plan §11, Xixian 200亿元 VC matrix, T22)",
    )
    incubators: int = spec(
        481, "provincial-level incubation carriers", 0, 5000,
        "461 carriers at end-Jul 2023 (sciencenet 2023-09) + 20 university science parks (plan §4, T15)",
    )
    high_energy_incubators: int = spec(
        30, "high-energy incubation carriers", 0, 500, "plan §4: 培育建设30个左右高能级孵化载体 (T14)"
    )
    poc_centres: int = spec(
        40, "proof-of-concept centres and pilot bases", 0, 1000,
        "10 provincial pilot bases designated 2022 (mechanisms.md §7) + 30 built under plan §3 (T12; "
        "assumption: the 30 are new)",
    )
    tech_transfer_institutions: int = spec(
        50, "technology-transfer demonstration institutions", 0, 1000,
        "assumption: 30 in 2023 (no count published) + 20 new, plan §3 (T13)",
    )
    roadshows_per_year: int = spec(
        200, "offline roadshow events a year", 0, 5000, "plan §2: 每年线下路演200场次 (T11)"
    )
    reform_units: int = spec(
        300, "institutions under the three reforms", 0, 2000,
        "145 pilot units in Jan 2024 (lr5.cn 2024-01-17); plan §1 extends the reforms to ministry "
        "universities, central institutes, hospitals and SOEs; 300 by 2026 is an assumption",
    )

    def validate(self, prefix: str = "policy") -> "PolicyLevers":
        validate(self, prefix)
        return self


# --------------------------------------------------------------------------- behaviour
@dataclass
class BehaviourParams:
    """Uncertain behavioural parameters. ``prior`` is the calibration prior (uniform).

    Defaults are central prior values; the calibrated posterior replaces them.
    """

    # --- firm population
    entry_rate: float = spec(
        0.22, "new firms a year / live firms", 0, 2, "assumption: stock 2018->2023 grows with tech-SME "
        "and HNTE counts net of exit (mechanisms.md §5.2 exit 5-10%/yr)", prior=(0.12, 0.35),
    )
    entry_growth: float = spec(
        0.0, "yearly relative change of the entry rate", -0.5, 0.5,
        "assumption: no trend (not identified separately from entry_rate by 5 years of counts)",
    )
    exit_hazard_young: float = spec(
        0.08, "per year, firms aged < 7 years", 0, 1,
        "mechanisms.md §5.2 / P24: young-firm exit 5-10%/yr, peak in years 3-7 (SAIC 2013)",
    )
    exit_hazard_mature: float = spec(
        0.03, "per year, firms aged >= 7 years", 0, 1,
        "assumption: 10-year survival 40-90% by size (chinadaily 2013-08-01)",
    )
    revenue_growth: float = spec(
        0.03, "mean log revenue growth a year (mean growth adds volatility^2 / 2)", -1, 1, "assumption: HTE revenue grew 25%/yr 2016-20 "
        "(m.4yczj.cn) largely through entry; incumbents slower", prior=(0.0, 0.08),
    )
    revenue_volatility: float = spec(
        0.30, "sd of log revenue growth a year", 0, 3, "assumption"
    )
    # --- R&D
    rd_intensity_median: float = spec(
        0.028, "median R&D / revenue of firms of 1,000万 revenue", 0, 1, "assumption: HNTE thresholds 3-5% (mechanisms.md §1.2); "
        "incubatees 6.68% (Torch 2021)", prior=(0.018, 0.04),
    )
    rd_drift: float = spec(
        0.0, "yearly log drift of firms' R&D intensity", -1, 1, "assumption: enterprise R&D grew 12%/yr 2019-23 "
        "(301.23 -> 480.53 亿, shyushe.cn, sx.sina.cn)", prior=(-0.08, 0.04),
    )
    rd_size_elasticity: float = spec(
        -0.25, "elasticity of firms' R&D intensity to revenue", -1, 0.5,
        "assumption: intensity falls with size; HNTE 2018 revenue 7,188亿 over 3,138 firms (large firms "
        "carry revenue) while enterprise R&D was ~300亿", prior=(-0.45, -0.1),
    )
    demand_shock_2020: float = spec(
        0.9, "2020 demand for technology relative to trend (COVID-19 year)", 0.3, 1.5,
        "assumption: T01 grew 4.5% in 2020 against 30%+ in 2021-23 (lr5.cn)", prior=(0.7, 1.05),
    )
    bunching_prob: float = spec(
        0.6, "probability a firm just below its HNTE R&D threshold moves above it", 0, 1,
        "Chen, Liu, Suarez Serrato & Xu (AER 2021): bunching at the notch (mechanisms.md §1.2)", prior=(0.3, 0.7),
    )
    relabel_share: float = spec(
        0.24, "share of the bunching response that is relabelling, not real R&D", 0, 1,
        "Chen et al. AER 2021: 'relabeling accounts for 24.2% of reported R&D' (P10, range 0.2-0.45)",
    )
    rd_subsidy_response: float = spec(
        1.0, "extra own R&D per subsidy yuan", 0, 3, "mechanisms.md §4.2 / P19: 1.0 (0.5-1.3)", prior=(0.5, 1.3),
    )
    # --- patents
    patent_rate: float = spec(
        2.0, "firm invention patents a year at 1000万 yuan of R&D a year", 0, 100,
        "mechanisms.md §9: ~1.2-1.7 net invention patents per 1000万 of R&D (province); firms' own rate is "
        "wider", prior=(0.8, 3.5),
    )
    patent_elasticity: float = spec(
        0.65, "elasticity of patents to R&D", 0, 2, "mechanisms.md §9: beta 0.5-0.8 (guess)",
    )
    patent_lapse: float = spec(
        0.045, "share of invention patents lapsing a year", 0, 1,
        "mechanisms.md §9: 3-6%/yr (guess); not identified apart from the patent rates",
    )
    univ_patents_per_100m: float = spec(
        14.0, "invention patents granted to universities/institutes per 亿元 of their R&D", 0, 500,
        "assumption: universities hold ~40-50% of Shaanxi's invention patents (mechanisms.md §9)",
        prior=(8.0, 22.0),
    )
    # --- registries and certification
    techsme_takeup_2018: float = spec(
        0.3, "share of eligible firms registering as tech SMEs in 2018", 0, 1,
        "assumption: 2018 was the first evaluation year (sxworker 2022)", prior=(0.15, 0.5),
    )
    techsme_takeup_max: float = spec(
        0.8, "long-run share of eligible firms registering", 0, 1,
        "mechanisms.md §1.1: p_apply 0.6-0.9 (guess), widened to 0.4-0.95", prior=(0.4, 0.95),
    )
    techsme_takeup_speed: float = spec(
        0.8, "per year, steepness of the registry take-up S-curve", 0.01, 5, "assumption", prior=(0.3, 2.0),
    )
    techsme_takeup_midyear: float = spec(
        2022.0, "year, midpoint of the registry take-up S-curve", 2015, 2035,
        "assumption: growth accelerated after the 2021 Qinchuangyuan launch and the 2022 倍增计划",
        prior=(2019.0, 2025.0),
    )
    hte_apply_prob: float = spec(
        0.85, "per year, eligible uncertified firms that apply for HNTE", 0, 1, "assumption", prior=(0.4, 0.95),
    )
    hte_pass_rate: float = spec(
        0.92, "share of applicants certified", 0, 1, "mechanisms.md §1.2 / P8: 0.85-0.99 (Torch 2020 spot check)",
    )
    hte_recert_rate: float = spec(
        0.75, "share of expiring certificates renewed when still eligible", 0, 1,
        "mechanisms.md §1.2 / P9: 0.65-0.80 (guess)", prior=(0.6, 0.85),
    )
    # --- technology market
    contract_rate: float = spec(
        0.55, "contracts a year per seller firm of 1,000万 revenue", 0, 100, "assumption, calibrated to T01",
        prior=(0.15, 0.8),
    )
    contract_demand_growth: float = spec(
        0.15, "yearly growth of demand for Shaanxi technology (contracts per seller)", -0.5, 1,
        "assumption: T01 grew 29%/yr 2019-23 (1467.83 -> 4120.76 亿)", prior=(0.08, 0.30),
    )
    contract_value_median: float = spec(
        50.0, "万元, median contract value in 2019", 0, 10000,
        "mechanisms.md §2.2: mean ~591万 (2023), median guessed 30-80万 (only rate x value is identified by T01)",
    )
    contract_value_sigma: float = spec(
        2.2, "sd of log contract value", 0, 5,
        "mechanisms.md §2.2 / P16: mean 591万 with median ~50万 gives sigma = sqrt(2 ln(591/50)) = 2.2",
    )
    univ_contract_share: float = spec(
        0.07, "universities' and institutes' share of contract value in 2022", 0, 1,
        "snkjb 2023-01-31: universities 2.26% + institutes 4.8% of 2022 value",
    )
    # --- universities and the three reforms
    nonenterprise_rd_growth: float = spec(
        0.08, "yearly growth of university and institute R&D", -0.5, 1,
        "mechanisms.md §9: +8-10%/yr (guess); 2019->2023 (216.71+62.97 -> 365.51 亿) is 6.9%/yr",
        prior=(0.05, 0.11),
    )
    commercialisation_hazard: float = spec(
        0.09, "per year, ring-fenced achievements transferred", 0, 1,
        "mechanisms.md §6.2 / P27: 0.06-0.12", prior=(0.06, 0.12),
    )
    spinoff_share: float = spec(
        0.08, "spin-offs per transferred achievement", 0, 1, "mechanisms.md §6.2 / P28: 1003 / 12268 = 8%",
    )
    # --- finance and incubation
    funded_growth_boost: float = spec(
        0.15, "extra log revenue growth a year for 3 years after a round", 0, 2,
        "mechanisms.md §8.3: +10-20 pp/yr for 3 years (guess)",
    )
    incubated_growth_boost: float = spec(
        0.10, "extra log revenue growth a year while incubated", 0, 2,
        "mechanisms.md §5.2 / P23: growth multiplier 1.1-1.3 (guess, S-direction)",
    )

    def validate(self, prefix: str = "params") -> "BehaviourParams":
        validate(self, prefix)
        return self

    @classmethod
    def calibrated_names(cls) -> list[str]:
        """The parameters with a prior: the ones calibration fits."""
        return [f.name for f in fields(cls) if "prior" in f.metadata]


@dataclass
class RunConfig:
    """How one run is made."""

    end_year: int = spec(2026, "last simulated year", FIRST_YEAR, MAX_END_YEAR, "design: 2026, up to 2035")
    scale: float = spec(
        1.0, "share of the real firm population simulated (indicators rescale)", 0.001, 50,
        "1.0 = one agent per real firm; smaller for fast tests, larger for benchmarks",
    )

    def validate(self, prefix: str = "") -> "RunConfig":
        validate(self, prefix)
        return self


def replace(obj, **changes):
    """dataclasses.replace, re-validated."""
    new = dataclasses.replace(obj, **changes)
    return new.validate()


@dataclass(frozen=True)
class StartState:
    """The 2018 year-end state the run starts from, and fixed structural facts.

    Not levers and not calibrated: sourced anchors or stated assumptions.
    Money at firm level is in 万元 (10^4 yuan).
    """

    firms_2018: int = spec(
        30000, "innovation-relevant firms alive at end-2018", 1, 10**7,
        "assumption: 3,138 HNTE + 4,301 registered tech SMEs (2018) are a minority of the candidates",
    )
    hte_2018: int = spec(3138, "valid HNTE certificates, end-2018", 0, 10**6, "sxmknk.com.cn/sxzx/11296.html")
    patents_2018: int = spec(
        39800, "invention patents held, end-2018", 0, 10**7,
        "derived: 10.3 per 10,000 people (china.com.cn 2020-01-10) x ~3,864万 residents (assumption)",
    )
    firm_patent_share_2018: float = spec(
        0.55, "share of invention patents held by firms", 0, 1,
        "mechanisms.md §9: universities and institutes hold ~40-50% (guess)",
    )
    rd_nonenterprise_2019: float = spec(
        283.35, "亿元, non-enterprise R&D in 2019 (total - enterprise)", 0, 10**5,
        "shyushe.cn 2020: 584.58 total - 301.23 enterprise (institutes 216.71 + universities 62.97 + other 3.67)",
    )
    univ_share_nonenterprise: float = spec(
        0.222, "universities' share of non-enterprise R&D", 0, 1, "shyushe.cn 2020: 62.97 / 283.35 (2019)"
    )
    universities: int = spec(110, "universities", 0, 1000, "xibujuece.com 2026-01-13: 110+ universities")
    institutes: int = spec(
        90, "research-institute agents (large institutes; small ones aggregated)", 0, 5000,
        "assumption: 1,800+ institutions (xibujuece.com) aggregated into 90 agents",
    )
    reform_eligible_units: int = spec(
        350, "institutions the reforms can reach (universities, institutes, hospitals, SOE labs)", 1, 10**5,
        "assumption: plan §1 extension scope; reform_units / this = coverage share",
    )
    revenue_median: float = spec(
        600.0, "万元, median revenue of incumbents at end-2018", 0, 10**7,
        "assumption; 61% of HNTE had revenue < 2,000万 in 2020 (m.4yczj.cn)",
    )
    revenue_sigma: float = spec(1.9, "sd of log revenue of incumbents", 0, 5, "assumption (heavy tail, mean >> median)")
    entrant_revenue_median: float = spec(120.0, "万元, median revenue of entrants", 0, 10**6, "assumption")
    revenue_per_employee: float = spec(
        140.0, "万元 revenue per employee (median)", 1, 10**5,
        "derived: HNTE 2020 revenue 10,989亿 / 78.33万 staff (m.4yczj.cn)",
    )
    manufacturing_share: float = spec(
        0.45, "share of firms in industry (for above-scale status)", 0, 1, "assumption"
    )
    achievements_per_100m: float = spec(
        165.0, "job-related achievements a year per 亿元 of university R&D", 0, 10**4,
        "assumption, sized to 84,372 itemised achievements at 145 units in Jan 2024 (lr5.cn)",
    )
    voucher_value: float = spec(10.0, "万元 per voucher", 0.1, 1000, "mechanisms.md §3: 5-20万 (guess)")
    voucher_gov_share: float = spec(0.4, "share of the service price the voucher pays", 0.01, 1, "mechanisms.md §3: 0.3-0.5")
    voucher_redeem: float = spec(0.9, "share of vouchers used", 0, 1, "Cornet et al. 2006 (mechanisms.md §3)")
    voucher_additionality: float = spec(
        0.8, "share of vouchers buying a service that would not happen otherwise", 0, 1, "Cornet et al. 2006"
    )
    voucher_registered: float = spec(
        0.45, "share of voucher-funded services registered as contracts", 0, 1, "mechanisms.md §3: 0.3-0.6 (guess)"
    )
    incubator_capacity: float = spec(45.0, "tenant firms per carrier", 1, 1000, "mechanisms.md §5.2 / P21: 30-60")
    high_energy_capacity: float = spec(100.0, "tenant firms per high-energy carrier", 1, 5000, "assumption")
    high_energy_pushes: float = spec(
        10.0, "firms a year founded from results pushed by each high-energy carrier", 0, 1000,
        "assumption: plan §4 先进成果直推",
    )
    max_incubation_months: int = spec(48, "months", 1, 240, "mechanisms.md §5.2: cap ~48 months (unverified)")
    graduation_rate: float = spec(0.2, "tenants graduating a year", 0, 1, "mechanisms.md §5.2 / P22: 0.15-0.25")
    fund_deployment: float = spec(0.2, "share of committed capital invested a year", 0, 1, "mechanisms.md §8.3: 15-25%")
    roadshow_projects: float = spec(5.0, "projects pitched per roadshow", 0, 100, "plan §2: 1,000 projects / 200 events")
    roadshow_close_rate: float = spec(
        0.3, "pitched projects closing a deal or transfer within 12 months", 0, 1, "mechanisms.md §8.1: 20-40% (guess)"
    )
    tti_deals: float = spec(
        60.0, "extra transfers a year brokered per technology-transfer institution", 0, 10**4, "assumption"
    )
    poc_projects: float = spec(20.0, "projects a year per proof-of-concept centre", 0, 1000, "mechanisms.md §7: 10-30")
    poc_success: float = spec(
        0.3, "validated projects leading to a licence or spin-off", 0, 1, "mechanisms.md §7: 0.2-0.4 vs 0.05-0.1"
    )
    univ_contracts_per_100m: float = spec(
        6.5, "contracts a year per 亿元 of institution R&D, 2019 demand", 0, 10**4,
        "derived: 7% of 2019 turnover (snkjb 2022 shares) / mean value ~560万 / 280亿 R&D",
    )
    reform_supply_multiplier: float = spec(
        1.5, "contract and transfer supply of reformed units vs others", 1, 10,
        "mechanisms.md §6.1: reform lifts industrialisation x1.5-3 (guess), low end",
    )
    local_buyer_share: float = spec(
        0.389, "share of contract value bought inside Shaanxi", 0, 1, "lr5.cn 2024-01-17: 就地转化 38.86% (2023)"
    )
