"""Every model parameter, declared once: default, unit, allowed range, source.

Three groups, in EMA-Workbench vocabulary, plus the run settings:

* levers (what policy sets): ``sim.model.policy.PolicyLevers``, one field per instrument, declared
  in the instrument's own module (``sim/model/policy/*.py``);
* uncertainties: the behavioural parameters here (``BehaviourParams``, each uncertain one with a
  calibration prior) and the lever effects (``sim.model.policy.LeverEffects``, drawn per replicate
  from literature ranges);
* ``StartState``: the anchors of the year end before ``FIRST_YEAR`` and structural facts (sourced, not
  calibrated);
* ``RunConfig``: how a single run is made (years, scale).

Every class validates itself on construction (``__post_init__``): an out-of-range value raises
``ConfigError`` naming the field, its allowed range and unit, so an invalid object cannot exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

FIRST_YEAR = 2017  # first simulated year; the start state is the 2016 year end (the earliest year the
# start state can be anchored on official figures: HNTE stock, invention patents, R&D; DERIVATIONS.md)
REGISTRY_FIRST_YEAR = 2018  # Shaanxi's first tech-SME evaluation (4,301 firms; sxworker 2022)
LAST_BASE_YEAR = 2023  # last year of official data; projection starts in 2024
PLAN_YEAR = 2026  # the plan's target year
MAX_END_YEAR = 2035
MONTHS = 12
WAN_PER_100M = 1e4  # 万元 (10^4 yuan) per 亿元 (10^8 yuan)


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


def pinned_effect(effect: str, default: float, unit: str, lo: float, hi: float, source: str):
    """A lever effect calibrated as a behaviour parameter: ``effect`` names it (``instrument.effect``), its
    prior is its whole declared range [lo, hi], ``default`` its central value; the unit names the effect."""
    return spec(default, f"{unit} (effect {effect})", lo, hi, source, prior=(lo, hi), effect=effect)


def validate(obj: Any, prefix: str) -> None:
    """Check the type and range of every field of a params dataclass; turn -0.0 into 0.0."""
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
        if value == 0:
            object.__setattr__(obj, f.name, type(value)(0))  # -0.0 is 0.0 (frozen classes too)


def describe(cls) -> list[dict]:
    """One row per field: name, default, unit, range, prior, source (for docs and reports)."""
    return [
        {
            "name": f.name,
            "default": f.default,
            "unit": f.metadata.get("unit"),
            "range": f.metadata.get("range"),
            "prior": f.metadata.get("prior"),
            "source": f.metadata.get("source"),
        }
        for f in fields(cls)
    ]


class Validated:
    """Mixin: validate every field on construction (``dataclasses.replace`` re-validates too)."""

    _prefix = ""

    def __post_init__(self) -> None:
        validate(self, self._prefix)

    def validate(self, prefix: str | None = None):
        validate(self, self._prefix if prefix is None else prefix)
        return self


# --------------------------------------------------------------------------- behaviour
@dataclass
class BehaviourParams(Validated):
    """Uncertain behavioural parameters. ``prior`` is the calibration prior (uniform).

    Defaults are central prior values; the calibrated posterior replaces them.
    """

    _prefix = "params"

    # --- firm population
    entry_start: float = spec(
        5500.0,
        "new innovation-relevant firms founded in the first simulated year, 2017 (real units, spin-offs and "
        "pushed firms apart)",
        0,
        10**6,
        "assumption: 2018 stock 30,000 (StartState) grows with the tech-SME and HNTE counts net of exit "
        "(mechanisms.md §5.2 exit 5-10%/yr)",
        prior=(2500.0, 10000.0),
    )
    entry_growth: float = spec(
        0.08,
        "yearly growth of the entry flow to 2023 (fades after, trend_halflife)",
        -0.5,
        0.5,
        "assumption: the 双创 push raised founding over 2019-23; a flow, not a rate on the stock, so the "
        "firm stock tends to entry / exit instead of compounding. Prior widened from 0-0.20, where the stop 26 "
        "posterior piled at the bound (docs/calibration.md), to 0.35: the registry and HNTE counts the entrants "
        "feed grew 37 and 38 % a year over 2018-23 (the yearbook panel), and an entry flow growing faster "
        "than they would need the take-up shares to fall",
        prior=(0.0, 0.35),
    )
    exit_hazard_young: float = spec(
        0.08,
        "per year, firms aged < 7 years",
        0,
        1,
        "mechanisms.md §5.2 / P24: young-firm exit 5-10%/yr, peak in years 3-7 (SAIC 2013)",
    )
    exit_hazard_mature: float = spec(
        0.03,
        "per year, firms aged >= 7 years",
        0,
        1,
        "assumption: 10-year survival 40-90% by size (chinadaily 2013-08-01)",
    )
    entrant_revenue_median: float = spec(
        150.0,
        "万元, median revenue of a new firm",
        1,
        10**6,
        "assumption; fitted through the registry and HNTE counts (entrants must grow into their size gates)",
        prior=(30.0, 500.0),
    )
    revenue_growth: float = spec(
        0.05,
        "mean log revenue growth a year (mean growth adds volatility^2 / 2)",
        -1,
        1,
        "assumption: HTE revenue grew 25.25%/yr 2016-20 (m.4yczj.cn), largely through entry and new "
        "certificates; incumbents slower",
        prior=(0.0, 0.2),
    )
    revenue_volatility: float = spec(0.30, "sd of log revenue growth a year", 0, 3, "assumption")
    trend_halflife: float = spec(
        5.0,
        "years: half-life of the 2019-23 momentum (demand, entry and patent-propensity growth) after 2023",
        0.5,
        50,
        "recent growth rates fade towards their long-run values; not identified by 2017-2023 (a projection "
        "uncertainty). Peers (docs/peers.md): in provinces that reached Shaanxi's level earlier, deviations of "
        "growth from its long-run rate halved in 0.6-2.6 years (R&D, patents, contracts); widened to 1-8",
        prior=(1.0, 8.0),
    )
    # --- R&D
    rd_intensity_median: float = spec(
        0.028,
        "median R&D / revenue of firms of 1,000万 revenue",
        0,
        1,
        "assumption: HNTE thresholds 3-5% (mechanisms.md §1.2); incubatees 6.68% (Torch 2021)",
        prior=(0.015, 0.06),
    )
    rd_drift: float = spec(
        0.0,
        "yearly log drift of firms' R&D intensity",
        -1,
        1,
        "assumption: enterprise R&D grew 12%/yr 2019-23 (301.23 -> 480.53 亿, shyushe.cn, sx.sina.cn)",
        prior=(-0.12, 0.06),
    )
    rd_size_elasticity: float = spec(
        -0.25,
        "elasticity of firms' R&D intensity to revenue",
        -1,
        0.5,
        "assumption: intensity falls with size; HNTE 2018 revenue 7,188亿 over 3,138 firms (large firms "
        "carry revenue) while enterprise R&D was ~300亿",
        prior=(-0.7, 0.1),
    )
    bunching_prob: float = spec(
        0.5,
        "probability a firm in the bunching window below its HNTE R&D notch moves just above it",
        0,
        1,
        "Chen, Liu, Suarez Serrato & Xu (AER 2021): bunching at the notch (mechanisms.md §1.2)",
        prior=(0.2, 0.7),
    )
    relabel_share: float = spec(
        0.3,
        "share of the bunching and increment-award response that is relabelling, not real R&D",
        0,
        1,
        "Chen et al. AER 2021: 'relabeling accounts for 24.2% of reported R&D'; working paper ~45% of the "
        "response (mechanisms.md §1.2, P10: 0.2-0.45)",
        prior=(0.2, 0.45),
    )
    # --- patents
    patent_rate: float = spec(
        2.0,
        "firm invention-patent applications later granted, a year at 1000万 yuan of real R&D a year",
        0,
        100,
        "mechanisms.md §9: ~1.2-1.7 net invention patents per 1000万 of R&D (province); firms' own rate is "
        "wider",
        prior=(0.8, 4.0),
    )
    patent_elasticity: float = spec(
        0.65,
        "elasticity of patents to R&D",
        0,
        2,
        "mechanisms.md §9: beta 0.5-0.8 (guess)",
    )
    patent_propensity_growth: float = spec(
        0.08,
        "yearly growth of granted invention patents per yuan of R&D to 2023 (fades after)",
        -0.5,
        0.5,
        "assumption: Shaanxi's stock grew 17-23%/yr 2019-23 (fit_targets.csv) while R&D grew ~10%/yr: "
        "patenting per yuan rose (subsidies, examination capacity); range 0-15%/yr",
        prior=(0.0, 0.3),
    )
    patent_lapse: float = spec(
        0.045,
        "share of invention patents lapsing a year",
        0,
        1,
        "mechanisms.md §9: 3-6%/yr (guess); not identified apart from the patent rates",
    )
    univ_patents_per_100m: float = spec(
        14.0,
        "invention patents granted to universities/institutes per 亿元 of their R&D",
        0,
        500,
        "assumption: universities hold ~40-50% of Shaanxi's invention patents (mechanisms.md §9)",
        prior=(8.0, 24.0),
    )
    # --- registries and certification
    techsme_takeup_2018: float = spec(
        0.3,
        "share of eligible firms registering as tech SMEs in 2018, the registry's first year",
        0,
        1,
        "assumption: 2018 was the first evaluation year (sxworker 2022)",
        prior=(0.15, 0.5),
    )
    techsme_takeup_2019: float = spec(
        0.15,
        "share of eligible unregistered firms that register in a year, from 2019 (the S-curve's start)",
        0,
        1,
        "assumption: below the first year's share, because the firms that did not register in 2018 are the "
        "less inclined ones; the registry grew 4,301 -> ~5,100 from 2018 to 2019 (history), which a 2019 "
        "take-up equal to the first year's share overshoots by about 30 % (docs/calibration.md)",
        prior=(0.03, 0.5),
    )
    techsme_takeup_max: float = spec(
        0.8,
        "long-run share of eligible unregistered firms that register in a year",
        0,
        1,
        "mechanisms.md §1.1: p_apply 0.6-0.9 (guess), widened to 0.4-0.95",
        prior=(0.4, 0.95),
    )
    techsme_takeup_speed: float = spec(
        0.8,
        "per year, steepness of the registry take-up S-curve",
        0.01,
        5,
        "assumption",
        prior=(0.3, 2.0),
    )
    techsme_takeup_midyear: float = spec(
        2021.5,
        "year, midpoint of the registry take-up S-curve",
        2015,
        2035,
        "assumption: growth accelerated after the 2021 Qinchuangyuan launch and the 2022 倍增计划",
        prior=(2019.0, 2025.0),
    )
    techsme_renew_prob: float = spec(
        0.85,
        "share of registered firms still eligible next year that register again",
        0,
        1,
        "mechanisms.md §1.1 / P4: 15-30% of registrants do not re-register, all causes (guess)",
        prior=(0.7, 0.97),
    )
    superdeduction_2023: float = spec(
        0.1,
        "share of new-registration take-up lost from 2023, when the 100% R&D super-deduction became "
        "available to every firm",
        0,
        1,
        "财政部 税务总局公告2023年第7号 removes a main reason to register (mechanisms.md §1.1); size a guess",
        prior=(0.0, 0.3),
    )
    conversion_rd_cost: float = spec(
        15.0,
        "万元 of R&D per documented conversion of results (HNTE capability score), besides IP obtained and "
        "technology acquired",
        1,
        1000,
        "assumption: our reading of the 工作指引's 科技成果转化 count (each R&D project put into a product); "
        "fitted through T03",
        prior=(1.5, 30.0),
    )
    hte_apply_prob: float = spec(
        0.4,
        "per year, eligible uncertified firms that apply for HNTE, first simulated year",
        0,
        1,
        "assumption",
        prior=(0.1, 0.9),
    )
    hte_push_midyear: float = spec(
        2021.5,
        "year, midpoint of the provincial HNTE certification push (a logistic in time)",
        2010,
        2035,
        "the 2021 Qinchuangyuan launch and the 2022 倍增计划 (HNTE > 12,000 by 2024); the recognition lists "
        "accelerated from 2020 (the panel)",
        prior=(2018.5, 2024.0),
    )
    hte_push_speed: float = spec(
        1.0,
        "per year, steepness of the HNTE certification push",
        0.01,
        10,
        "assumption",
        prior=(0.3, 3.0),
    )
    hte_push_score: float = spec(
        5.0,
        "capability points the push adds to applications at its height (prepared documentation)",
        0,
        30,
        "assumption: the 工作指引's expert-judged items (IP advancement and support 16, conversions, "
        "organisation) leave consultant-prepared applications room of about 10 points",
        prior=(0.0, 12.0),
    )
    hte_pass_rate: float = spec(
        0.92,
        "share of eligible applicants certified",
        0,
        1,
        "mechanisms.md §1.2 / P8: 0.85-0.99 (Torch 2020 spot check)",
    )
    hte_recert_rate: float = spec(
        0.72,
        "share of expiring certificates renewed, all causes (eligibility included)",
        0,
        1,
        "mechanisms.md §1.2 / P9: 0.65-0.80 (guess)",
        prior=(0.62, 0.85),
    )
    zjtx_apply_prob: float = spec(
        0.1,
        "per year, eligible firms recognised as provincial 专精特新 SMEs",
        0,
        1,
        "assumption; fitted to 822 provincial 专精特新 firms in Oct 2023 (shaanxi_history_to_2023.csv)",
        prior=(0.02, 0.35),
    )
    # --- technology market (T01)
    contract_rate: float = spec(
        0.5,
        "contracts a year sold by a firm with 100万 yuan of R&D a year (3-year mean), first-year demand",
        0,
        100,
        "assumption, calibrated to T01",
        prior=(0.1, 1.5),
    )
    contract_knowledge_elasticity: float = spec(
        0.6,
        "elasticity of a firm's contract sales to its R&D (3-year mean)",
        0,
        2,
        "assumption: technology sold comes from technology made; near or below 1 as small firms sell "
        "services beyond their R&D (mechanisms.md §2)",
        prior=(0.3, 1.2),
    )
    hte_seller_lift: float = spec(
        0.5,
        "extra contract sales of a certified HNTE (share)",
        0,
        5,
        "assumption: HNTE register more (tax relief on technology income, risingmark.cn; 32号 conversions "
        "score)",
        prior=(0.0, 1.0),
    )
    supply_elasticity: float = spec(
        0.6,
        "elasticity of firms' turnover to their summed selling capacity (R&D-weighted sellers)",
        0,
        2,
        "assumption: below 1 when demand, not supply, limits sales; a projection uncertainty the 2019-23 "
        "history identifies only jointly with demand growth",
        prior=(0.3, 1.0),
    )
    national_growth_persistence: float = spec(
        0.56,
        "persistence (AR(1) coefficient) of the national technology market's yearly log growth after 2023",
        -0.5,
        0.99,
        "the AR(1) of the national seller-side value 2000-2023 (the yearbook panel): posterior median 0.56, "
        "10-90 % 0.23-0.82 (docs/peers.md); the prior is that interval. A projection uncertainty: nothing "
        "before 2024 identifies it in Shaanxi's data",
        prior=(0.23, 0.82),
    )
    national_growth_longrun: float = spec(
        0.14,
        "long-run yearly log growth of the national technology market (value)",
        -0.2,
        0.5,
        "from nominal GDP growth (0.076 a year 2016-2023: contract value cannot outgrow the economy for ever) "
        "to the national 2000-2023 mean (0.20: no saturation yet) (docs/peers.md); a projection uncertainty",
        prior=(0.076, 0.20),
    )
    contract_value_median: float = spec(
        50.0,
        "万元, median contract value in the first simulated year",
        0,
        10000,
        "mechanisms.md §2.2: mean ~591万 (2023), median guessed 30-80万; identified with the contract counts "
        "(the panel) beside T01",
        prior=(15.0, 150.0),
    )
    contract_value_growth: float = spec(
        0.12,
        "yearly log growth of the median contract value to 2023 (fades after, trend_halflife)",
        -0.5,
        1,
        "the panel: Shaanxi's mean value per contract 294万 (2017), 277万 (2019), 591万 (2023): +0.19 a year "
        "2019-2023 while the count grew 0.07 a year; fitted through the contract counts",
        prior=(0.0, 0.3),
    )
    contract_value_sigma: float = spec(
        2.2,
        "sd of log contract value",
        0,
        5,
        "mechanisms.md §2.2 / P16: mean 591万 with median ~50万 gives sigma = sqrt(2 ln(591/50)) = 2.2",
    )
    univ_contract_rate: float = spec(
        6.0,
        "development and service contracts a year per 亿元 of institution R&D, first-year demand",
        0,
        10**4,
        "calibrated to the universities' and institutes' 7.06% of 2022 value (snkjb 2023-01-31); start "
        "7% of 2019 turnover / mean value ~560万 / 280亿 R&D",
        prior=(0.5, 12.0),
    )
    # --- universities and the three reforms
    nonenterprise_rd_growth: float = spec(
        0.07,
        "yearly growth of university and institute R&D",
        -0.5,
        1,
        "mechanisms.md §9: +8-10%/yr (guess); 2019->2023 (216.71+62.97 -> 365.51 亿) is 6.9%/yr",
        prior=(0.04, 0.11),
    )
    commercialisation_hazard: float = spec(
        0.09,
        "per year, ring-fenced achievements transferred",
        0,
        1,
        "mechanisms.md §6.2 / P27: 0.06-0.12",
        prior=(0.05, 0.14),
    )
    itemise_rate: float = spec(
        0.5,
        "per year, share of a reformed unit's earlier achievements brought under separate management",
        0,
        1,
        "assumption: units itemise their backlog over a few years, not at once (issue: T07 overshoot)",
        prior=(0.2, 0.9),
    )
    achievements_per_100m: float = spec(
        165.0,
        "job-related achievements a year per 亿元 of university R&D",
        0,
        10**4,
        "assumption, sized to 84,372 itemised achievements at 145 units in Jan 2024 (lr5.cn); fitted",
        prior=(100.0, 480.0),
    )
    spinoff_share: float = spec(
        0.08,
        "spin-offs per transferred achievement",
        0,
        1,
        "mechanisms.md §6.2 / P28: 1003 / 12268 = 8%",
    )

    # --- lever effects the 2017-2023 history pins (calibrated beside the behaviour)
    # Each replaces its instrument's drawn effect in every run (``effect`` metadata;
    # ``sim.model.policy.with_calibrated_effects``): its prior is that effect's declared range and its
    # default the effect's central value (tests/test_params_policy.py checks both). Chosen because, with the
    # instruments at their 2017-2023 levels, these six set most of the spread of the fitted series that the
    # effects cause: a regression of 240 runs at one posterior set (scale 1) on all 45 effect draws gives
    # incubators.takeup_boost 95 % of T02's variance, incubators.growth_boost 50-70 % of T03, HNTE
    # recognitions and granted patents', incubators.exit_factor 80 % of the firm stock's,
    # reform_units.supply_multiplier 20-40 % of contracts' and the institutions' share, and the tech-transfer
    # institutions' deals and additionality 35-45 % of transfers and spin-offs (docs/calibration.md).
    incubator_takeup_boost: float = pinned_effect(
        "incubators.takeup_boost",
        0.08,
        "extra probability an incubator tenant registers as a tech SME",
        0.0,
        0.2,
        "the effect's range: mechanisms.md §5.2, p_tenant_becomes_techSME 0.3-0.5 (guess)",
    )
    incubator_growth_boost: float = pinned_effect(
        "incubators.growth_boost",
        0.05,
        "extra log revenue growth a year while incubated",
        0.0,
        0.12,
        "the effect's range: mechanisms.md §5.2 / P23 and instruments.md §7 (Gonzalez-Uribe & Leatherbee 2018)",
    )
    incubator_exit_factor: float = pinned_effect(
        "incubators.exit_factor",
        0.95,
        "exit hazard multiplier while incubated",
        0.8,
        1.1,
        "the effect's range: mechanisms.md §5.2 / P23, 0.8-1.0 inside; up to 1.1 (Yu 2020)",
    )
    reform_supply_multiplier: float = pinned_effect(
        "reform_units.supply_multiplier",
        2.0,
        "contract supply and transfer hazard of a reformed unit against an unreformed one",
        1.5,
        3.0,
        "the effect's range: mechanisms.md §6.1, reform lifts industrialisation x1.5-3 (guess)",
    )
    transfer_institution_deals: float = pinned_effect(
        "tech_transfer_institutions.deals",
        80.0,
        "transfers or licences brokered a year per institution",
        30.0,
        200.0,
        "the effect's range: instruments.md §7, 30-200 (guess; Siegel et al. 2003)",
    )
    transfer_institution_additionality: float = pinned_effect(
        "tech_transfer_institutions.additionality",
        0.35,
        "share of brokered deals that would not happen otherwise",
        0.2,
        0.5,
        "the effect's range: instruments.md §7, 0.2-0.5 (guess; Tang & Matt)",
    )

    @classmethod
    def calibrated_names(cls) -> list[str]:
        """The parameters with a prior: the ones calibration fits."""
        return [f.name for f in fields(cls) if "prior" in f.metadata]


@dataclass
class RunConfig(Validated):
    """How one run is made."""

    end_year: int = spec(2026, "last simulated year", FIRST_YEAR, MAX_END_YEAR, "design: 2026, up to 2035")
    scale: float = spec(
        1.0,
        "share of the real firm population simulated (indicators rescale)",
        0.001,
        50,
        "1.0 = one agent per real firm; smaller for fast tests, larger for benchmarks",
    )
    data_through: int = spec(
        LAST_BASE_YEAR,
        "last year of data the run may read: the national market is observed to it and projected after, "
        "and the recent growth rates fade after it",
        FIRST_YEAR,
        LAST_BASE_YEAR,
        "design: the last official year (2023) for a projection; a backtest sets its origin, so it tests the "
        "projection's own method (sim.model.trends, sim.model.drivers)",
    )


@dataclass(frozen=True)
class StartState(Validated):
    """The state at the end of 2016 (the year before ``FIRST_YEAR``) the run starts from, and fixed
    structural facts. Not levers and not calibrated: sourced anchors or stated assumptions.
    Money at firm level is in 万元 (10^4 yuan).
    """

    firms_start: int = spec(
        24000,
        "innovation-relevant firms alive at end-2016",
        1,
        10**7,
        "assumption: 1,829 HNTE (2016) are a minority of the candidates; the calibrated entry flow carries "
        "the population to the 2018-2023 registry and HNTE counts",
    )
    hte_start: int = spec(
        1829,
        "valid HNTE certificates, end-2016",
        0,
        10**6,
        "m.4yczj.cn: 从2016年的1829家增长到2020年的6198家",
    )
    patents_start: int = spec(
        27599,
        "invention patents held, end-2016",
        0,
        10**7,
        "China Statistical Yearbook on S&T: Shaanxi invention patents in force 2016 (the panel)",
    )
    firm_patent_share_start: float = spec(
        0.55,
        "share of invention patents held by firms",
        0,
        1,
        "mechanisms.md §9: universities and institutes hold ~40-50% (guess)",
    )
    rd_enterprise_start: float = spec(
        189.2,
        "亿元, enterprise R&D in 2016 (statistical scope, real part)",
        0,
        10**5,
        "derived: 419.56 total R&D 2016 (the panel; niita.cn) - 230.4 non-enterprise (283.35 in 2019 deflated "
        "by its 2019-23 growth of 6.9%/yr); enterprise-funded R&D gives 190.6 (301.23 x 185.7 / 293.5, the "
        "panel): DERIVATIONS.md. The start state's above-scale firms are scaled to it",
    )
    rd_nonenterprise_2019: float = spec(
        283.35,
        "亿元, non-enterprise R&D in 2019 (total - enterprise)",
        0,
        10**5,
        "shyushe.cn 2020: 584.58 total - 301.23 enterprise (institutes 216.71 + universities 62.97 + other 3.67)",
    )
    univ_share_nonenterprise: float = spec(
        0.222, "universities' share of non-enterprise R&D", 0, 1, "shyushe.cn 2020: 62.97 / 283.35 (2019)"
    )
    universities: int = spec(110, "universities", 0, 1000, "xibujuece.com 2026-01-13: 110+ universities")
    ministry_universities: int = spec(
        8,
        "universities under central ministries (reformed after the provincial ones)",
        0,
        1000,
        "assumption: Shaanxi's 部属高校 (e.g. XJTU, NWPU, Xidian, NWAFU, SNNU, Chang'an) are about 8",
    )
    institutes: int = spec(
        90,
        "research-institute agents (large institutes; small ones aggregated)",
        0,
        5000,
        "assumption: 1,800+ institutions (xibujuece.com) aggregated into 90 agents",
    )
    central_institutes: int = spec(
        30,
        "of the institute agents, central (CAS, defence, SOE-group) institutes",
        0,
        5000,
        "assumption: the large central institutes carry most of the 216.71亿 institute R&D (shyushe.cn 2020)",
    )
    other_units: int = spec(
        150,
        "hospitals and SOE laboratories the reforms can reach (plan §1)",
        0,
        10**5,
        "assumption: reform_eligible 350 = 110 universities + 90 institute agents + 150 hospitals and SOE labs",
    )
    revenue_median: float = spec(
        600.0,
        "万元, median revenue of incumbents at end-2018",
        0,
        10**7,
        "assumption; 61% of HNTE had revenue < 2,000万 in 2020 (m.4yczj.cn)",
    )
    revenue_sigma: float = spec(
        2.1,
        "sd of log revenue of incumbents",
        0,
        5,
        "assumption (heavy tail): with it the 3,138 seeded HNTE hold about the 7,188亿 of revenue HNTE reported "
        "for 2018 (shaanxi_history_to_2023.csv) and ~40% are small (44% in 2016, m.4yczj.cn)",
    )
    revenue_per_employee: float = spec(
        140.0,
        "万元 revenue per employee (median)",
        1,
        10**5,
        "derived: HNTE 2020 revenue 10,989亿 / 78.33万 staff (m.4yczj.cn)",
    )
    manufacturing_share: float = spec(
        0.45, "share of firms in industry (for above-scale status)", 0, 1, "assumption"
    )
