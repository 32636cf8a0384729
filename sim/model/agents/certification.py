"""Firm status by the real rules: tech-SME registry, HNTE certification, gazelle, 专精特新, above-scale.

Each rule is a pure function of firm columns (testable on hand-built state); the calendar functions
apply them when the statistics say they happen (mechanisms.md §1; issue 8):

* the tech-SME registry of year Y evaluates the accounts of Y-1 and admits firms in batches through
  the year (``open_registry`` in January decides who applies and in which batch, ``admit_batch`` each
  month); a registered firm stays unless it fails the rules or lapses (``techsme_renew_prob``);
* HNTE certificates are granted in December of Y on the three accounting years ending Y-1, valid for
  three year ends; a firm whose application fails sits out the next year;
* gazelle, 专精特新 and above-scale status are recognised in December on the accounts of Y-1.

Rules and thresholds: ``docs/mechanisms.md`` §1 (sources there); the bars that firms also act on
(the HNTE R&D notch, the above-scale revenue bars) are in ``thresholds.py``.
"""

from __future__ import annotations

import numpy as np

from sim.model.agents.firms import BUNCH_WINDOW, NO_DATE
from sim.model.agents.thresholds import (  # noqa: F401 (part of the rules' vocabulary)
    ABOVE_SCALE_BARS,
    ABOVE_SCALE_REVENUE,
    HTE_RD_BANDS,
    SECTOR_ICT,
    SECTOR_INDUSTRY,
    SECTOR_SCITECH,
    above_scale,
    hte_rd_threshold,
)
from sim.model.params import FIRST_YEAR, MONTHS, REGISTRY_FIRST_YEAR

# ---- tech-SME evaluation (科技型中小企业评价办法, 国科发政〔2022〕16号; articles cited below. Its gates,
# indicators and direct routes read as in the 2017 text, 国科发政〔2017〕115号, which mechanisms.md §1.1 quotes
# from reposts: the corpus holds no official copy of either)
# 第六条(二): "职工总数不超过500人、年销售收入不超过2亿元、资产总额不超过2亿元"
TECHSME_MAX_STAFF = 500
TECHSME_MAX_REVENUE = 20000.0  # 万元 (2亿)
TECHSME_MAX_ASSETS = 20000.0  # 万元 (2亿)
TECHSME_PASS_SCORE = 60  # 第六条(五): score >= 60 and an S&T-staff score above 0
# 第七条: S&T staff 20, R&D input 50, IP 30; bands include their lower edge ("30%(含)以上")
ST_STAFF_BANDS = ([0.10, 0.15, 0.20, 0.25, 0.30], [0, 4, 8, 12, 16, 20])  # S&T staff share -> points
# 第七条(二): "企业从以下两个指标中选择一个指标进行评分": R&D / sales revenue, or R&D / total costs
# (成本费用支出总额); a firm picks the basis that scores higher
RD_SALES_BANDS = ([0.02, 0.03, 0.04, 0.05, 0.06], [0, 10, 20, 30, 40, 50])  # R&D / sales -> points
RD_COSTS_BANDS = ([0.10, 0.15, 0.20, 0.25, 0.30], [0, 10, 20, 30, 40, 50])  # R&D / total costs -> points
# Total costs, which the firm state does not hold: non-R&D costs at 90% of revenue plus the R&D (assumption:
# a 5-6% margin after R&D, about that of above-scale industry). On it R&D / costs = s / (0.9 + s) for an
# R&D intensity s, and the cost basis never scores more than the sales basis (its bands are 5x higher).
NON_RD_COST_SHARE = 0.9
CLASS2_POINTS = [0, 6, 12, 18, 24]  # 0..4+ Class-II IP; any Class-I (invention patent) -> 30
CLASS1_POINTS = 30
# 第八条, direct confirmation of a firm within the gates of 第六条(一)-(四): (一) a valid HNTE certificate;
# (二) a national S&T award in the last five years, among the first three units; (三) a recognised R&D
# institution at provincial or ministerial level or above; (四) led an international, national or industry
# standard in the last five years. The firm state has only (一): awards, recognised R&D institutions and
# standards are not modelled, so firms confirmed by (二)-(四) alone are missed (they must score instead).

# Registry batches run through the year: 13,154 of ~21,000 were registered by 30 June 2023 (baogaosu 2023;
# DERIVATIONS.md). Model: one batch a month from February to September, equally likely (5 of 8 by June).
REGISTRY_BATCH_MONTHS = tuple(range(2, 10))  # months of the year (1 = January)

# ---- HNTE (国科发火〔2016〕32号 and its 工作指引; mechanisms.md §1.2)
HTE_MIN_ST_SHARE = 0.10
HTE_MIN_HIGHTECH_SHARE = 0.60
HTE_MIN_AGE_YEARS = 1
HTE_PASS_MARK = 70  # "70分以上(不含70分)": strictly above 70
HTE_VALID_YEARS = 3  # a certificate granted in December of Y counts at the ends of Y, Y+1, Y+2
HTE_ACCOUNT_YEARS = 3  # an application reads the three accounting years before it ("近三个会计年度")
# Capability score (工作指引 2016): IP 30, conversion of results 30, R&D organisation 20, growth 20.
# IP quantity (8): one Class-I item 7-8; Class-II 5+ 5-6, 3-4 3-4, 1-2 1-2, none 0 (mid-band points).
IP_CLASS1_POINTS = 7.5
IP_CLASS2_BANDS = ([1, 3, 5], [0.0, 1.5, 3.5, 5.5])
# Our reading of the expert-judged IP items (technical advancement 8, support to the core products 8,
# way of acquisition 6): a firm applying with its own IP scores 7 + 7 + 6.
IP_EXPERT_POINTS = 20.0
# Conversions (30), on the yearly average over 3 years or the years a younger firm operated
# ("实际经营期不满三年的按实际经营时间计算"; ``operating_years``): >=5 A 25-30, >=4 B 19-24, >=3 C 13-18,
# >=2 D 7-12, >=1 E 1-6, 0 F 0 (mid-band points). A conversion here (our reading of 科技成果转化): an IP
# item obtained, a technology acquired, or an R&D project put into a product, one per
# ``BehaviourParams.conversion_rd_cost`` of R&D.
CONVERSION_BANDS = ([1, 2, 3, 4, 5], [0.0, 3.5, 9.5, 15.5, 21.5, 27.5])
# R&D organisation (20): the guideline's four items, judged by experts (工作指引, 研究开发组织管理水平).
# Our mapping from firm state (``organisation_points``), item by item:
# 1. "制定了企业研究开发的组织管理制度, 建立了研发投入核算体系, 编制了研发费用辅助账" (<= 6): 6 when the firm
#    reported R&D in every year it operated in the three (the super-deduction and the application's special
#    audit need the auxiliary ledger each year), 3 when in some of them, 0 in none (reading);
# 2. "设立了内部科学技术研究开发机构并具备相应的科研条件, 与国内外研究开发机构开展多种形式产学研合作" (<= 6):
#    3 for an R&D institution (R&D >= 100万 in the last year or S&T staff >= 20%: assumption) and 3 for
#    cooperation with research institutions (a technology acquired while converting: contracts, vouchers and
#    licences, many of them from universities and institutes; or incubation in a carrier, many of them
#    university parks: reading; equity investors are not research institutions);
# 3. "建立了科技成果转化的组织实施与激励奖励制度, 建立开放式的创新创业平台" (<= 4): 2 for the conversion system
#    when the firm converted a result in the three years (reading: the rewards are paid on conversions);
#    1 of 2 for an open platform to every firm (no state for it: assumption, the mid-point);
# 4. "建立了科技人员的培养进修、职工技能培训、优秀人才引进, 以及人才绩效评价奖励制度" (<= 4): written policies
#    that every applicant files (reading: full marks).
ORG_LEDGER_POINTS = 6.0  # item 1, R&D in every year operated (half in some)
ORG_INSTITUTION_POINTS, ORG_COOPERATION_POINTS = 3.0, 3.0  # item 2
ORG_CONVERSION_POINTS, ORG_PLATFORM_POINTS = 2.0, 1.0  # item 3
ORG_TALENT_POINTS = 4.0  # item 4
ORG_RD_INSTITUTION = 100.0  # 万元 a year
ORG_ST_INSTITUTION = 0.2  # S&T staff share
# Growth (20): net-asset growth 10 and sales growth 10, each on 1/2 (x2/x1 + x1/x0) - 1 over the three
# accounting years (``growth_rate``: young firms and zero years as the guideline says):
# >=35% 9-10, >=25% 7-8, >=15% 5-6, >=5% 3-4, >0 1-2, <=0 0 (mid-band points).
GROWTH_BANDS = ([0.05, 0.15, 0.25, 0.35], [1.5, 3.5, 5.5, 7.5, 9.5])  # for growth > 0; 0 points at or below 0
NET_ASSET_SHARE = 0.5  # net assets / assets (assumption), plus the equity raised (``net_assets_hist``)
HTE_CORE_IP_CLASS2 = 1  # one Class-II item not yet used for a certification counts as core IP

# ---- gazelle (陕西省瞪羚企业培育认定实施方案; mechanisms.md §1.3)
GAZELLE_MIN_RD = 0.025
GAZELLE_MAX_AGE = 15
GAZELLE_MIN_REV_4Y_AGO = 1000.0  # 万元
GAZELLE_MIN_CAGR = 0.20
GAZELLE_MIN_STAFF_4Y_AGO, GAZELLE_MIN_STAFF_CAGR = 100.0, 0.30  # route 2: headcount growth
GAZELLE_BIG_AGE, GAZELLE_BIG_REVENUE = 10, 100000.0  # route 3: age <= 10 and revenue >= 10亿
RECOGNITION_TAKEUP = 0.7  # assumption: eligible firms that apply for gazelle recognition a year

# ---- 专精特新 SME (MIIT 2022; mechanisms.md §1.4)
ZJTX_MIN_RD, ZJTX_MIN_RD_SHARE = 100.0, 0.03  # 万元, share
ZJTX_MIN_REVENUE, ZJTX_MIN_EQUITY = 1000.0, 2000.0  # 万元
# "revenue ≥ 1,000万, or ≥ 2,000万 new equity in 2 years" (mechanisms.md §1.4): rounds of the last 24 months
ZJTX_EQUITY_MONTHS = 24
ZJTX_MIN_AGE = 2
ZJTX_VALID_YEARS = 3  # mechanisms.md §1.4: re-review cycle, 3 years assumed


def banded(values, bands) -> np.ndarray:
    """Points from a band table: ``bands = (edges, points)``, len(points) = len(edges) + 1; edges inclusive."""
    edges, points = bands
    return np.asarray(points)[np.searchsorted(edges, values, side="right")]


# --------------------------------------------------------------------------- tech-SME registry
def techsme_score(st_share, rd_sales, rd_costs, inv_patents, class2_ip) -> tuple[np.ndarray, np.ndarray]:
    """Total score (0-100) and the S&T-staff score of the tech-SME evaluation (第七条).

    R&D input is scored on R&D / sales or R&D / total costs, whichever gives more points.
    """
    staff_pts = banded(np.asarray(st_share), ST_STAFF_BANDS)
    rd_pts = np.maximum(
        banded(np.asarray(rd_sales), RD_SALES_BANDS), banded(np.asarray(rd_costs), RD_COSTS_BANDS)
    )
    ip_pts = np.where(
        np.asarray(inv_patents) >= 1, CLASS1_POINTS, np.asarray(CLASS2_POINTS)[np.minimum(class2_ip, 4)]
    )
    return staff_pts + rd_pts + ip_pts, staff_pts


def techsme_eligible(
    staff, revenue, assets, st_share, rd_sales, rd_costs, inv_patents, class2_ip, hte_valid
) -> np.ndarray:
    """The size gates (第六条), and a score >= 60 with a positive staff score or direct confirmation (第八条:
    of its four routes only a valid HNTE is in the firm state)."""
    size_ok = (staff <= TECHSME_MAX_STAFF) & (revenue <= TECHSME_MAX_REVENUE) & (assets <= TECHSME_MAX_ASSETS)
    score, staff_pts = techsme_score(st_share, rd_sales, rd_costs, inv_patents, class2_ip)
    return size_ok & (((score >= TECHSME_PASS_SCORE) & (staff_pts > 0)) | hte_valid)


def total_costs(revenue, rd) -> np.ndarray:
    """成本费用支出总额 of a firm, 万元: non-R&D costs in proportion to revenue, plus its R&D (assumption)."""
    return NON_RD_COST_SHARE * np.asarray(revenue) + np.asarray(rd)


def techsme_takeup(year: int, p) -> float:
    """Share of eligible unregistered firms that register in ``year``.

    In the registry's first year (``REGISTRY_FIRST_YEAR``, 2018) every eligible firm is unregistered and
    ``techsme_takeup_2018`` of them register. From the next year the share of those still unregistered
    that register follows an S-curve from ``techsme_takeup_2019`` towards the maximum: logistic in time
    with its midpoint at ``techsme_takeup_midyear``, rescaled so that it equals the 2019 level in 2019 (the
    registry became a prerequisite for more programmes, e.g. the 2022 科技型企业创新发展倍增计划). The
    2019 level is its own parameter: the firms that stayed out in the first year are the less inclined
    ones. From 2023 the 100% super-deduction open to every firm removes ``superdeduction_2023`` of it.
    """
    if year <= REGISTRY_FIRST_YEAR:
        return float(p.techsme_takeup_2018)
    start = REGISTRY_FIRST_YEAR + 1
    lo, hi = p.techsme_takeup_2019, max(p.techsme_takeup_max, p.techsme_takeup_2019)

    def logistic(y):
        return 1.0 / (1.0 + np.exp(-p.techsme_takeup_speed * (y - p.techsme_takeup_midyear)))

    base = logistic(start)
    frac = max(0.0, (logistic(year) - base) / (1.0 - base))
    share = lo + (hi - lo) * frac
    if year >= 2023:
        share *= 1.0 - p.superdeduction_2023
    return float(share)


def _accounts(firms, n: int) -> dict:
    """The last closed accounting year (and IP now) that the evaluations read."""
    t = firms.table
    rev = t.rev_hist[:n, 0]
    rd = t.rd_hist[:n, 0]
    return {
        "rev": rev,
        "rd": rd,
        "rd_sales": np.divide(rd, rev, out=np.zeros(n), where=rev > 0),
        "rd_costs": np.divide(rd, total_costs(rev, rd), out=np.zeros(n), where=rev + rd > 0),
        "staff": np.maximum(1.0, rev / t.productivity[:n]),
        "assets": rev * t.asset_ratio[:n],
    }


def registry_eligible(firms, year: int) -> np.ndarray:
    """Firms that pass the tech-SME rules on the accounts of ``year - 1`` (evaluated in ``year``)."""
    t = firms.table
    n = t.n
    a = _accounts(firms, n)
    hte_valid = t.hte_valid_until[:n] >= year - 1  # a certificate held during ``year``
    return t.alive[:n] & techsme_eligible(
        a["staff"],
        a["rev"],
        a["assets"],
        t.st_share[:n],
        a["rd_sales"],
        a["rd_costs"],
        t.inv_patents[:n],
        t.class2_ip[:n],
        hte_valid,
    )


def open_registry(firms, year: int, month: int, rng, takeup_boost: np.ndarray | float = 0.0) -> np.ndarray:
    """January: who applies to the ``year`` registry and in which batch. Returns the eligibility mask.

    Firms registered last year and still eligible apply again with ``techsme_renew_prob``; eligible
    unregistered firms apply with the take-up (plus ``takeup_boost``, e.g. from incubators). Before the
    registry's first year (``REGISTRY_FIRST_YEAR``) nobody applies.
    """
    t, p = firms.table, firms.p
    n = t.n
    if year < REGISTRY_FIRST_YEAR:
        t.techsme_apply_month[:n] = NO_DATE
        return np.zeros(n, dtype=bool)
    eligible = registry_eligible(firms, year)
    was = t.techsme_year[:n] == year - 1
    prob = np.where(was, p.techsme_renew_prob, np.minimum(techsme_takeup(year, p) + takeup_boost, 1.0))
    applies = eligible & (rng.random(n) < prob)
    batch = rng.choice(np.asarray(REGISTRY_BATCH_MONTHS) - 1, size=n)  # months after January
    t.techsme_apply_month[:n] = np.where(applies, month + batch, NO_DATE)
    return eligible


def admit_batch(firms, year: int, month: int) -> int:
    """This month's registry batch: alive applicants are admitted. Returns how many (model scale)."""
    t = firms.table
    n = t.n
    due = (t.techsme_apply_month[:n] == month) & t.alive[:n]
    t.techsme_year[:n] = np.where(due, year, t.techsme_year[:n])
    return int(due.sum())


# --------------------------------------------------------------------------- HNTE
def growth_rate(x0, x1, x2) -> np.ndarray:
    """The guideline's growth rate over three accounting years, ``x0`` the first and ``x2`` the last.

    1/2 (x2/x1 + x1/x0) - 1 (工作指引, 企业成长性), with its two special cases: "第一年末净资产或销售收入
    为0的, 按后两年计算" (x0 = 0: the rate over the last two years, x2/x1 - 1) and "第二年末净资产或销售收入为0的,
    按0分计算" (x1 = 0: no points, returned as a rate of 0). With "实际经营期不满三年的按实际经营时间计算"
    this scores a firm with two years of accounts on those two and one with a single year at 0. Our reading
    where the text is silent: a negative value (net liabilities) is treated as 0, a ratio to it having no
    meaning; a first year of a few months counts as reported (the guideline does not annualise).
    """
    x0, x1, x2 = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x0, x1, x2)))
    second = x1 > 0
    three_years = second & (x0 > 0)
    last_two = np.divide(x2, x1, out=np.zeros(x1.shape), where=second)
    first_two = np.divide(x1, x0, out=np.zeros(x1.shape), where=three_years)
    rate = np.where(three_years, 0.5 * (last_two + first_two), last_two) - 1.0
    return np.where(second, rate, 0.0)


def growth_points(rate) -> np.ndarray:
    """Points of one growth rate: 0 at or below zero, then the bands."""
    rate = np.asarray(rate, dtype=float)
    return np.where(rate > 0, banded(rate, GROWTH_BANDS), 0.0)


def conversion_points(conversions_3y, operating_years) -> np.ndarray:
    """Points for conversions (30) on their yearly mean over the years of accounts the firm has (1-3)."""
    years = np.clip(np.asarray(operating_years), 1, HTE_ACCOUNT_YEARS)
    return banded(np.asarray(conversions_3y) / years, CONVERSION_BANDS)


def organisation_points(rd_years, operating_years, st_share, cooperation, conversions_3y) -> np.ndarray:
    """Points for R&D organisation (20): the guideline's four items (6 + 6 + 4 + 4) from firm state.

    ``rd_years``: reported R&D of the three accounting years (last first); ``operating_years``: how many of
    them the firm operated in; ``cooperation``: a link to research institutions. The mapping is documented
    at ``ORG_LEDGER_POINTS``.
    """
    rd_years = np.asarray(rd_years, dtype=float)
    years = np.clip(np.asarray(operating_years), 1, HTE_ACCOUNT_YEARS)
    operated = np.arange(HTE_ACCOUNT_YEARS) < years[..., None]
    with_rd = ((rd_years > 0) & operated).sum(axis=-1)
    ledger = np.where(with_rd >= years, ORG_LEDGER_POINTS, np.where(with_rd > 0, ORG_LEDGER_POINTS / 2, 0.0))
    institution = (rd_years[..., 0] >= ORG_RD_INSTITUTION) | (np.asarray(st_share) >= ORG_ST_INSTITUTION)
    converts = np.asarray(conversions_3y) >= 1
    return (
        ledger
        + ORG_INSTITUTION_POINTS * institution
        + ORG_COOPERATION_POINTS * np.asarray(cooperation, dtype=bool)
        + ORG_CONVERSION_POINTS * converts
        + ORG_PLATFORM_POINTS
        + ORG_TALENT_POINTS
    )


def hte_capability(
    inv_patents,
    class2_free,
    conversions_3y,
    operating_years,
    rd_years,
    st_share,
    cooperation,
    sales_growth,
    net_asset_growth,
) -> np.ndarray:
    """Innovation-capability score (0-100): IP 30, conversions 30, R&D organisation 20, growth 20.

    ``conversions_3y``: conversions over the three accounting years; ``operating_years``: how many of those
    years the firm operated (``operating_years``), over which their yearly mean is taken; ``rd_years``:
    reported R&D in each of the three years (last first).
    """
    inv_patents, class2_free = np.asarray(inv_patents), np.asarray(class2_free)
    quantity = np.where(inv_patents >= 1, IP_CLASS1_POINTS, banded(class2_free, IP_CLASS2_BANDS))
    ip = np.where((inv_patents >= 1) | (class2_free >= 1), IP_EXPERT_POINTS + quantity, 0.0)
    conversion = conversion_points(conversions_3y, operating_years)
    organisation = organisation_points(rd_years, operating_years, st_share, cooperation, conversions_3y)
    growth = growth_points(sales_growth) + growth_points(net_asset_growth)
    return ip + conversion + organisation + growth


def hte_gate_tests(
    age_years, revenue, rd_3y, revenue_3y, st_share, hightech_share, inv_patents, class2_free
) -> dict[str, np.ndarray]:
    """Each HNTE condition but the capability score, by name (``hte_gates`` requires them all)."""
    intensity = np.divide(rd_3y, revenue_3y, out=np.zeros_like(rd_3y, dtype=float), where=revenue_3y > 0)
    return {
        "age": age_years >= HTE_MIN_AGE_YEARS,
        "core IP": (inv_patents >= 1) | (class2_free >= HTE_CORE_IP_CLASS2),
        "S&T staff": st_share >= HTE_MIN_ST_SHARE,
        "R&D intensity": intensity >= hte_rd_threshold(revenue),
        "high-tech revenue": hightech_share >= HTE_MIN_HIGHTECH_SHARE,
    }


def hte_gates(**gates) -> np.ndarray:
    """Every HNTE condition but the capability score (``hte_gate_tests``)."""
    return np.logical_and.reduce(list(hte_gate_tests(**gates).values()))


def audit_relabel(gates: dict, seekers: np.ndarray, relabels: np.ndarray) -> None:
    """The application's special audit of three years' R&D (研发费用专项审计): applicants whose 3-year
    intensity falls within the bunching window below their threshold relabel enough past spending to reach
    it (Chen et al. AER 2021: bunching in reported R&D at the notch). Reported R&D only: the R&D statistics
    (T05) are untouched. Changes ``gates["rd_3y"]`` in place for the firms that do."""
    need = hte_rd_threshold(gates["revenue"]) * gates["revenue_3y"]
    near = (gates["rd_3y"] < need) & (gates["rd_3y"] >= need * (1 - BUNCH_WINDOW))
    gates["rd_3y"] = np.where(near & seekers & relabels, need, gates["rd_3y"])


def hte_eligible(capability, **gates) -> np.ndarray:
    """All HNTE conditions: the gates and a capability score strictly above 70."""
    return hte_gates(**gates) & (np.asarray(capability) > HTE_PASS_MARK)


def account_year_ends(year: int) -> np.ndarray:
    """The months (since January of FIRST_YEAR) that close the three accounting years ending ``year - 1``, last first."""
    return (year - 1 - np.arange(HTE_ACCOUNT_YEARS) - FIRST_YEAR) * MONTHS + MONTHS - 1


def operating_years(birth_month, year: int) -> np.ndarray:
    """How many of the three accounting years ending ``year - 1`` a firm operated in (0-3).

    "实际经营期不满三年的按实际经营时间计算" (工作指引): averages over three years are taken over these. Our
    reading: a year in which the firm was founded counts as one, its accounts being one of those reported.
    """
    founded = np.asarray(birth_month)[..., None]
    return (founded <= account_year_ends(year)).sum(axis=-1)


def net_assets_hist(firms, year: int, rows: np.ndarray | None = None) -> np.ndarray:
    """Net assets at the ends of the three accounting years ending ``year - 1`` (``[:, 0]`` the last), 万元,
    of the firms at ``rows`` (None: every row).

    ``NET_ASSET_SHARE`` of assets (the year's revenue at its yearly rate x asset ratio), plus the equity
    raised from the year end after the last round when that round closed within the three years.
    Assumptions: net assets are a year-end stock, so a founding year's revenue counts at its yearly rate
    (a firm founded in July does not have half its assets); equity raised earlier has been spent (on R&D:
    ``FirmPopulation.receive_equity``); a firm's rounds (``funding_total`` is cumulative) all count from
    its last one.
    """
    t = firms.table
    rows = slice(0, t.n) if rows is None else rows
    year_ends = account_year_ends(year)
    months = np.clip(year_ends[None, :] - t.birth_month[rows, None] + 1, 0, MONTHS)  # operated in each year
    revenue = t.rev_hist[rows, :HTE_ACCOUNT_YEARS]
    yearly_rate = np.divide(revenue * MONTHS, months, out=np.zeros_like(revenue), where=months > 0)
    funded = t.funded_month[rows, None]
    raised = (funded > year_ends[-1] - MONTHS) & (funded <= year_ends[None, :])
    base = NET_ASSET_SHARE * t.asset_ratio[rows, None] * yearly_rate
    return base + np.where(raised, t.funding_total[rows, None], 0.0)


def hte_gate_inputs(firms, month: int) -> dict:
    """The gates' inputs (``hte_gates``) of every firm, on the three accounting years ending before ``month``'s
    year."""
    t = firms.table
    n = t.n
    return {
        "age_years": (month - t.birth_month[:n]) / MONTHS,
        "revenue": t.rev_hist[:n, 0],
        "rd_3y": t.rd_hist[:n].sum(axis=1),
        "revenue_3y": t.rev_hist[:n, :3].sum(axis=1),
        "st_share": t.st_share[:n],
        "hightech_share": t.hightech_share[:n],
        "inv_patents": t.inv_patents[:n],
        "class2_free": np.maximum(t.class2_ip[:n] - t.class2_used[:n], 0),
    }


def hte_scores(firms, year: int, rows: np.ndarray | None = None) -> dict:
    """The capability score (``hte_capability``) of the firms at ``rows`` (None: every row) on the three
    years ending ``year - 1``, with the two growth rates it reads. Every term is the firm's own, so a firm's
    score does not depend on which other rows are scored."""
    t = firms.table
    rows = slice(0, t.n) if rows is None else rows
    rev_hist, rd_hist, conv = t.rev_hist[rows], t.rd_hist[rows], t.conv_hist[rows].sum(axis=1)
    sales_growth = growth_rate(rev_hist[:, 2], rev_hist[:, 1], rev_hist[:, 0])
    net_assets = net_assets_hist(firms, year, rows)
    net_asset_growth = growth_rate(net_assets[:, 2], net_assets[:, 1], net_assets[:, 0])
    acquired = (t.tech_bought[rows] > 0) & (conv > 0)  # bought, recently converting
    cooperation = acquired | (t.incubator[rows] >= 0)
    conversions = conv + rd_hist.sum(axis=1) / firms.p.conversion_rd_cost
    capability = hte_capability(
        t.inv_patents[rows],
        np.maximum(t.class2_ip[rows] - t.class2_used[rows], 0),
        conversions,
        operating_years(t.birth_month[rows], year),
        rd_hist,
        t.st_share[rows],
        cooperation,
        sales_growth,
        net_asset_growth,
    )
    return {"capability": capability, "sales_growth": sales_growth, "net_asset_growth": net_asset_growth}


def hte_state(firms, year: int, month: int) -> dict:
    """The gates' inputs and the capability score of every firm, on the three years ending ``year - 1``
    (with the two growth rates the score reads)."""
    return {"gates": hte_gate_inputs(firms, month), **hte_scores(firms, year)}


def hte_push(year: int, p) -> float:
    """The provincial certification push in ``year``, from 0 to 1: a logistic in time, midpoint
    ``hte_push_midyear``, steepness ``hte_push_speed`` (the 2021 Qinchuangyuan launch and the 2022
    科技型企业创新发展倍增计划, which set HNTE > 12,000 by 2024: the recognition lists grew 1,883 -> 7,526 over
    2019-2023, the panel). It saturates: a campaign cannot push for ever."""
    return float(1.0 / (1.0 + np.exp(-p.hte_push_speed * (year - p.hte_push_midyear))))


def hte_apply_share(year: int, p) -> float:
    """Share of eligible uncertified firms applying in ``year``: from ``hte_apply_prob`` towards all of them
    with the push."""
    return p.hte_apply_prob + (1.0 - p.hte_apply_prob) * hte_push(year, p)


def push_score(year: int, p) -> float:
    """Capability points the push adds to applications: documentation prepared with consultants and the
    cultivation pools for the 工作指引's expert-judged items (up to ``hte_push_score``)."""
    return p.hte_push_score * hte_push(year, p)


def certify_hte(firms, year: int, month: int, rng, apply_lift=0.0, pass_lift=0.0, score_lift=0.0) -> dict:
    """December of ``year``: renewals of certificates that count to ``year - 1``, and first applications.

    Renewal is all-cause: of the expiring certificates of live firms, ``hte_recert_rate`` are renewed
    when enough of them still qualify (eligible firms renew with the probability that makes it so).
    ``apply_lift``/``pass_lift``/``score_lift``: per-firm extras (the cultivation pool). Returns masks of renewals and
    first certificates, and counts.
    """
    t, p = firms.table, firms.p
    n = t.n
    live = t.alive[:n]
    gates = hte_gate_inputs(firms, month)
    u_apply, u_pass, u_audit = rng.random(n), rng.random(n), rng.random(n)
    audit_relabel(gates, firms.seekers() & live, u_audit < p.bunching_prob)
    # the score only matters where every other condition holds: it is computed for those live firms alone
    scored = np.flatnonzero(live & hte_gates(**gates))
    capability = np.full(n, -np.inf)
    capability[scored] = hte_scores(firms, year, scored)["capability"]
    eligible = hte_eligible(capability + score_lift + push_score(year, p), **gates)
    expiring = live & (t.hte_valid_until[:n] == year - 1)
    qualify = expiring & eligible
    share = qualify.sum() / max(expiring.sum(), 1)
    renew = qualify & (u_apply < min(1.0, p.hte_recert_rate / max(share, 1e-9)))
    # Applicants score themselves first (consultants pre-score the 工作指引): firms that meet the gates and
    # the 70-point mark apply; the review then fails some (``hte_pass_rate``), and they sit out a year.
    can_apply = live & (t.hte_valid_until[:n] < year - 1) & (t.hte_failed_year[:n] != year - 1)
    applies = can_apply & eligible & (u_apply < np.minimum(hte_apply_share(year, p) + apply_lift, 1.0))
    new = applies & (u_pass < np.minimum(p.hte_pass_rate + pass_lift, 1.0))
    t.hte_failed_year[:n] = np.where(applies & ~new, year, t.hte_failed_year[:n])
    granted = renew | new
    t.hte_valid_until[:n] = np.where(granted, year + HTE_VALID_YEARS - 1, t.hte_valid_until[:n])
    uses_class2 = granted & (t.inv_patents[:n] == 0)
    t.class2_used[:n] += uses_class2.astype(t.class2_used.dtype)
    first = granted & (t.hte_first_year[:n] == 0)
    t.hte_first_year[:n] = np.where(first, year, t.hte_first_year[:n])
    return {
        "renewed": renew,
        "first": first,
        "hte_new": int(new.sum()),
        "hte_renewed": int(renew.sum()),
        "hte_expiring": int(expiring.sum()),
    }


# --------------------------------------------------------------------------- upgrades
def gazelle_eligible(hte_valid, rd_sales, age_years, rev_hist, staff_hist=None) -> np.ndarray:
    """Shaanxi gazelle: valid HNTE, R&D > 2.5%, and a fast-growth route (revenue, headcount or size)."""
    last, four_ago, prev = rev_hist[:, 0], rev_hist[:, 4], rev_hist[:, 1]

    def cagr(now, then):
        return np.where(then > 0, np.power(np.maximum(now, 1e-9) / np.maximum(then, 1e-9), 0.25) - 1, -1)

    route1 = (
        (age_years <= GAZELLE_MAX_AGE)
        & (four_ago >= GAZELLE_MIN_REV_4Y_AGO)
        & (cagr(last, four_ago) >= GAZELLE_MIN_CAGR)
        & (last > prev)
    )
    route2 = np.zeros_like(route1)
    if staff_hist is not None:
        s_last, s_four, s_prev = staff_hist[:, 0], staff_hist[:, 4], staff_hist[:, 1]
        route2 = (
            (age_years <= GAZELLE_MAX_AGE)
            & (s_four >= GAZELLE_MIN_STAFF_4Y_AGO)
            & (cagr(s_last, s_four) >= GAZELLE_MIN_STAFF_CAGR)
            & (s_last > s_prev)
        )
    route3 = (age_years <= GAZELLE_BIG_AGE) & (last >= GAZELLE_BIG_REVENUE)
    return hte_valid & (rd_sales > GAZELLE_MIN_RD) & (route1 | route2 | route3)


def zjtx_eligible(age_years, rd_last, rd_sales, revenue, equity_2y, techsme_ok) -> np.ndarray:
    """专精特新 SME gates (score >= 60 approximated by the tech-SME evaluation passing)."""
    return (
        (age_years >= ZJTX_MIN_AGE)
        & (rd_last >= ZJTX_MIN_RD)
        & (rd_sales >= ZJTX_MIN_RD_SHARE)
        & ((revenue >= ZJTX_MIN_REVENUE) | (equity_2y >= ZJTX_MIN_EQUITY))
        & techsme_ok
    )


def recognise_upgrades(firms, year: int, month: int, rng) -> dict:
    """December, on the accounts of ``year - 1``: gazelle, 专精特新, above-scale; first-time counts feed T16."""
    t, p = firms.table, firms.p
    n = t.n
    live = t.alive[:n]
    a = _accounts(firms, n)
    age = (month - t.birth_month[:n]) / MONTHS
    hte_valid = live & (t.hte_valid_until[:n] >= year)
    staff_hist = t.rev_hist[:n] / t.productivity[:n, None]
    gaz = live & gazelle_eligible(hte_valid, a["rd_sales"], age, t.rev_hist[:n], staff_hist)
    gaz &= (t.gazelle_first_year[:n] == 0) & (rng.random(n) < RECOGNITION_TAKEUP)
    t.gazelle_first_year[:n] = np.where(gaz, year, t.gazelle_first_year[:n])
    equity_2y = np.where((month - t.funded_month[:n]) < ZJTX_EQUITY_MONTHS, t.funding_total[:n], 0.0)
    techsme_ok = t.techsme_year[:n] >= year - 1
    zj_ok = live & zjtx_eligible(age, a["rd"], a["rd_sales"], a["rev"], equity_2y, techsme_ok)
    zj = zj_ok & (t.zjtx_valid_until[:n] < year) & (rng.random(n) < p.zjtx_apply_prob)
    t.zjtx_valid_until[:n] = np.where(zj, year + ZJTX_VALID_YEARS - 1, t.zjtx_valid_until[:n])
    zj_first = zj & (t.zjtx_first_year[:n] == 0)
    t.zjtx_first_year[:n] = np.where(zj_first, year, t.zjtx_first_year[:n])
    is_above = live & above_scale(t.sector[:n], a["rev"])
    above_first = is_above & (t.above_scale_first_year[:n] == 0)
    t.above_scale_first_year[:n] = np.where(above_first, year, t.above_scale_first_year[:n])
    above_hte = is_above & hte_valid & (t.above_scale_hte_year[:n] == 0)
    t.above_scale_hte_year[:n] = np.where(above_hte, year, t.above_scale_hte_year[:n])
    return {
        "above_scale_first": above_first,
        "gazelle_new": int(gaz.sum()),
        "zjtx_new": int(zj_first.sum()),
        "above_scale_hte_new": int(above_hte.sum()),
    }


# --------------------------------------------------------------------------- the start state
# Certificates valid at the start (end-2016) by the year they were issued, 2014/15/16 (counting to 2016/17/18):
# assumption, the cohorts of a stock growing ~15-20 % a year (1,829 in 2016 -> 2,208 in 2017, m.4yczj.cn and
# sxmknk.com.cn)
HTE_COHORT_SHARES_START = (0.27, 0.32, 0.41)
SEED_RD_MARGIN = 0.2  # seeded HNTE firms sit up to 20% above their R&D threshold (assumption)
SEED_SIZE_WEIGHT = 0.7  # certification odds grow as revenue^0.7 (assumption: gives the 2018 HNTE about the
# 7,188亿 of revenue they reported and ~30-40% small firms; shaanxi_history_to_2023.csv, m.4yczj.cn)


def seed_certificates(firms, hte_start: int, rng) -> None:
    """Give ``hte_start`` firms (at real scale) a valid certificate at the start (end-2016) and the attributes
    they were certified on: R&D above their threshold, core IP; certificates from the 2014-2016 cohorts."""
    t = firms.table
    n = t.n
    k = int(round(hte_start * firms.scale))
    pool = np.flatnonzero(
        (t.hightech_share[:n] >= HTE_MIN_HIGHTECH_SHARE)
        & (t.st_share[:n] >= HTE_MIN_ST_SHARE)
        & (t.birth_month[:n] <= -MONTHS)
    )
    w = np.power(t.revenue[pool], SEED_SIZE_WEIGHT)  # larger firms are more often certified
    chosen = rng.choice(pool, size=min(k, pool.size), replace=False, p=w / w.sum())
    thr = hte_rd_threshold(t.rev_hist[chosen, 0])
    t.rd_intensity[chosen] = np.maximum(
        t.rd_intensity[chosen], thr * (1 + SEED_RD_MARGIN * rng.random(chosen.size))
    )
    t.rd_hist[chosen] = t.rev_hist[chosen, :3] * t.rd_intensity[chosen, None]
    t.rd_real_last[chosen] = t.rd_hist[chosen, 0] * t.rd_real_share[chosen]
    t.class2_ip[chosen] = np.maximum(t.class2_ip[chosen], HTE_CORE_IP_CLASS2)
    last = FIRST_YEAR - 1 + np.arange(HTE_VALID_YEARS)  # counting to 2016, 2017, 2018
    t.hte_valid_until[chosen] = rng.choice(last, size=chosen.size, p=HTE_COHORT_SHARES_START)
    t.hte_first_year[chosen] = t.hte_valid_until[chosen] - (HTE_VALID_YEARS - 1)
