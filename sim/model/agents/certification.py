"""Firm status by the real rules: tech-SME registry, HNTE certification, gazelle, 专精特新, above-scale.

Each rule is a pure function of firm columns (testable on hand-built state);
``certify_year`` applies them at the year end with the take-up draws.
Rules and thresholds: ``research/mechanisms.md`` §1 (sources there).
"""

from __future__ import annotations

import numpy as np

# ---- tech-SME evaluation (国科发政〔2017〕115号; mechanisms.md §1.1)
TECHSME_MAX_STAFF = 500
TECHSME_MAX_REVENUE = 20000.0  # 万元 (2亿)
TECHSME_MAX_ASSETS = 20000.0  # 万元 (2亿)
TECHSME_PASS_SCORE = 60
ST_STAFF_BANDS = ([0.10, 0.15, 0.20, 0.25, 0.30], [0, 4, 8, 12, 16, 20])  # S&T staff share -> points
RD_SALES_BANDS = ([0.02, 0.03, 0.04, 0.05, 0.06], [0, 10, 20, 30, 40, 50])  # R&D / sales -> points
CLASS2_POINTS = [0, 6, 12, 18, 24]  # 0..4+ Class-II IP; any Class-I (invention patent) -> 30
CLASS1_POINTS = 30

# ---- HNTE (国科发火〔2016〕32号; mechanisms.md §1.2)
HTE_RD_BANDS = ([5000.0, 20000.0], [0.05, 0.04, 0.03])  # revenue 万元 <= 5,000 / <= 2亿 / above
HTE_MIN_ST_SHARE = 0.10
HTE_MIN_HIGHTECH_SHARE = 0.60
HTE_MIN_AGE_YEARS = 1
HTE_MIN_CAPABILITY = 70
HTE_VALID_YEARS = 3
HTE_CORE_IP_CLASS2 = 2  # assumption: two Class-II items count as core IP when no invention patent

# ---- gazelle (陕西省瞪羚企业培育认定实施方案; mechanisms.md §1.3)
GAZELLE_MIN_RD = 0.025
GAZELLE_MAX_AGE = 15
GAZELLE_MIN_REV_4Y_AGO = 1000.0  # 万元
GAZELLE_MIN_CAGR = 0.20
GAZELLE_BIG_AGE, GAZELLE_BIG_REVENUE = 10, 100000.0  # route 3: age <= 10 and revenue >= 10亿

# ---- 专精特新 SME (MIIT 2022; mechanisms.md §1.4)
ZJTX_MIN_RD, ZJTX_MIN_RD_SHARE = 100.0, 0.03  # 万元, share
ZJTX_MIN_REVENUE, ZJTX_MIN_EQUITY = 1000.0, 2000.0  # 万元
ZJTX_MIN_AGE = 2
ZJTX_VALID_YEARS = 3  # mechanisms.md §1.4: re-review cycle, 3 years assumed
ZJTX_TAKEUP = 0.06  # assumption: recognition is selective; sized to 822 provincial firms by Oct 2023

ABOVE_SCALE_REVENUE = 2000.0  # 万元: 规模以上工业企业 threshold (main-business revenue >= 2,000万)
RECOGNITION_TAKEUP = 0.7  # assumption: eligible firms that apply for gazelle recognition a year


def banded(values: np.ndarray, bands) -> np.ndarray:
    """Points from a band table: ``bands = (edges, points)``, len(points) = len(edges) + 1; edges inclusive."""
    edges, points = bands
    return np.asarray(points)[np.searchsorted(edges, values, side="right")]


def techsme_score(st_share, rd_sales, inv_patents, class2_ip) -> tuple[np.ndarray, np.ndarray]:
    """Total score (0-100) and the S&T-staff score of the tech-SME evaluation."""
    staff_pts = banded(np.asarray(st_share), ST_STAFF_BANDS)
    rd_pts = banded(np.asarray(rd_sales), RD_SALES_BANDS)
    ip_pts = np.where(np.asarray(inv_patents) >= 1, CLASS1_POINTS, np.asarray(CLASS2_POINTS)[np.minimum(class2_ip, 4)])
    return staff_pts + rd_pts + ip_pts, staff_pts


def techsme_eligible(staff, revenue, assets, st_share, rd_sales, inv_patents, class2_ip, hte_valid) -> np.ndarray:
    """Size gates and (score >= 60 with a positive staff score, or direct confirmation by a valid HNTE)."""
    size_ok = (staff <= TECHSME_MAX_STAFF) & (revenue <= TECHSME_MAX_REVENUE) & (assets <= TECHSME_MAX_ASSETS)
    score, staff_pts = techsme_score(st_share, rd_sales, inv_patents, class2_ip)
    return size_ok & (((score >= TECHSME_PASS_SCORE) & (staff_pts > 0)) | hte_valid)


def hte_rd_threshold(revenue) -> np.ndarray:
    """Three-year R&D intensity required for HNTE: 5 / 4 / 3 % by latest-year revenue band."""
    edges, thresholds = HTE_RD_BANDS
    return np.asarray(thresholds)[np.searchsorted(edges, revenue, side="left")]


def hte_capability(inv_patents, class2_ip, sold_recently, hightech_share, growth_3y) -> np.ndarray:
    """Innovation-capability score (0-100): IP 30, commercialisation 30, R&D organisation 20, growth 20.

    The split is the official one (unverified, mechanisms.md §1.2); the points within each block
    are an assumption from observable state.
    """
    ip = np.where(inv_patents >= 5, 30, np.where(inv_patents >= 1, 24, np.minimum(class2_ip * 3, 20)))
    commercial = np.where(sold_recently, 30, np.where(hightech_share >= 0.8, 22, 15))
    organisation = 18  # assumption: most applicants document an R&D organisation
    growth = np.where(growth_3y >= 0.3, 20, np.where(growth_3y >= 0.1, 14, np.where(growth_3y >= 0, 8, 2)))
    return ip + commercial + organisation + growth


def hte_eligible(age_years, revenue, rd_3y, revenue_3y, st_share, hightech_share, inv_patents, class2_ip,
                 capability) -> np.ndarray:
    """All HNTE conditions the model represents."""
    intensity = np.divide(rd_3y, revenue_3y, out=np.zeros_like(rd_3y, dtype=float), where=revenue_3y > 0)
    core_ip = (inv_patents >= 1) | (class2_ip >= HTE_CORE_IP_CLASS2)
    return (
        (age_years >= HTE_MIN_AGE_YEARS)
        & core_ip
        & (st_share >= HTE_MIN_ST_SHARE)
        & (intensity >= hte_rd_threshold(revenue))
        & (hightech_share >= HTE_MIN_HIGHTECH_SHARE)
        & (capability >= HTE_MIN_CAPABILITY)
    )


def gazelle_eligible(hte_valid, rd_sales, age_years, rev_hist) -> np.ndarray:
    """Shaanxi gazelle: valid HNTE, R&D > 2.5%, and a fast-growth route (routes 1 and 3)."""
    last, four_ago, prev = rev_hist[:, 0], rev_hist[:, 4], rev_hist[:, 1]
    cagr = np.where(four_ago > 0, np.power(np.maximum(last, 1e-9) / np.maximum(four_ago, 1e-9), 0.25) - 1, -1)
    route1 = (age_years <= GAZELLE_MAX_AGE) & (four_ago >= GAZELLE_MIN_REV_4Y_AGO) & (cagr >= GAZELLE_MIN_CAGR) & (
        last > prev
    )
    route3 = (age_years <= GAZELLE_BIG_AGE) & (last >= GAZELLE_BIG_REVENUE)
    return hte_valid & (rd_sales > GAZELLE_MIN_RD) & (route1 | route3)


def zjtx_eligible(age_years, rd_last, rd_sales, revenue, equity_2y, techsme_ok) -> np.ndarray:
    """专精特新 SME gates (score >= 60 approximated by the tech-SME evaluation passing)."""
    return (
        (age_years >= ZJTX_MIN_AGE)
        & (rd_last >= ZJTX_MIN_RD)
        & (rd_sales >= ZJTX_MIN_RD_SHARE)
        & ((revenue >= ZJTX_MIN_REVENUE) | (equity_2y >= ZJTX_MIN_EQUITY))
        & techsme_ok
    )


def techsme_takeup(year: int, p) -> float:
    """Share of eligible firms that register: an S-curve from the 2018 level to the maximum.

    Logistic in time with its midpoint at ``techsme_takeup_midyear``, rescaled so that it equals
    the 2018 level in 2018 and tends to the maximum (the registry became a prerequisite for more
    programmes over time, e.g. the 2022 科技型企业创新发展倍增计划).
    """
    lo, hi = p.techsme_takeup_2018, max(p.techsme_takeup_max, p.techsme_takeup_2018)

    def logistic(y):
        return 1.0 / (1.0 + np.exp(-p.techsme_takeup_speed * (y - p.techsme_takeup_midyear)))

    base = logistic(2018)
    frac = max(0.0, (logistic(year) - base) / (1.0 - base))
    return float(lo + (hi - lo) * frac)


def _year_state(firms, year: int, month: int) -> dict:
    """Quantities of the year just closed that several rules read."""
    t = firms.table
    n = t.n
    rev = t.rev_hist[:n, 0]
    rd = t.rd_hist[:n, 0]
    return {
        "n": n,
        "live": t.alive[:n],
        "age": (month - t.birth_month[:n]) / 12,
        "rev": rev,
        "rd": rd,
        "rd_sales": np.divide(rd, rev, out=np.zeros(n), where=rev > 0),
        "staff": np.maximum(1.0, rev / t.productivity[:n]),
        "assets": rev * t.asset_ratio[:n],
    }


def certify_hte(firms, year: int, month: int, rng) -> dict:
    """HNTE renewals of certificates expiring this year and first applications."""
    t, p = firms.table, firms.p
    st = _year_state(firms, year, month)
    n, rev = st["n"], st["rev"]
    rd3, rev3 = t.rd_hist[:n].sum(axis=1), t.rev_hist[:n, :3].sum(axis=1)
    growth3 = np.where(t.rev_hist[:n, 3] > 0, rev / np.maximum(t.rev_hist[:n, 3], 1e-9) - 1, 0.0)
    sold = t.last_sale_year[:n] >= year - 2
    cap = hte_capability(t.inv_patents[:n], t.class2_ip[:n], sold, t.hightech_share[:n], growth3)
    ok = st["live"] & hte_eligible(st["age"], rev, rd3, rev3, t.st_share[:n], t.hightech_share[:n],
                                   t.inv_patents[:n], t.class2_ip[:n], cap)
    u = rng.random(n)
    # A certificate granted at the end of year t counts at the ends of t, t+1, t+2 and is renewed in t+3.
    expiring = t.hte_valid_until[:n] == year - 1
    renew = ok & expiring & (u < p.hte_recert_rate)
    new = ok & (t.hte_valid_until[:n] < year - 1) & (u < p.hte_apply_prob * p.hte_pass_rate)
    granted = renew | new
    t.hte_valid_until[:n] = np.where(granted, year + HTE_VALID_YEARS - 1, t.hte_valid_until[:n])
    first = granted & (t.hte_first_year[:n] == 0)
    t.hte_first_year[:n] = np.where(first, year, t.hte_first_year[:n])
    return {"hte_new": int(new.sum()), "hte_renewed": int(renew.sum())}


def register_techsme(firms, year: int, month: int, rng, incubated_takeup_boost: float) -> np.ndarray:
    """The year's tech-SME registry (firms must re-apply every year). Returns the eligibility mask."""
    t, p = firms.table, firms.p
    st = _year_state(firms, year, month)
    n, live = st["n"], st["live"]
    hte_valid = live & (t.hte_valid_until[:n] >= year)
    eligible = live & techsme_eligible(st["staff"], st["rev"], st["assets"], t.st_share[:n], st["rd_sales"],
                                       t.inv_patents[:n], t.class2_ip[:n], hte_valid)
    takeup = techsme_takeup(year, p) + incubated_takeup_boost * (t.incubator[:n] >= 0)
    registered = eligible & (rng.random(n) < np.minimum(takeup, 1.0))
    t.techsme_year[:n] = np.where(registered, year, t.techsme_year[:n])
    return eligible


def recognise_upgrades(firms, year: int, month: int, rng, techsme_ok: np.ndarray) -> dict:
    """Gazelle, 专精特新 and above-scale high-tech industry; first-time counts feed T16."""
    t = firms.table
    st = _year_state(firms, year, month)
    n, live, rev, age = st["n"], st["live"], st["rev"], st["age"]
    hte_valid = live & (t.hte_valid_until[:n] >= year)
    gaz = live & gazelle_eligible(hte_valid, st["rd_sales"], age, t.rev_hist[:n]) & (t.gazelle_first_year[:n] == 0)
    gaz &= rng.random(n) < RECOGNITION_TAKEUP
    t.gazelle_first_year[:n] = np.where(gaz, year, t.gazelle_first_year[:n])
    equity_2y = np.where((month - t.funded_month[:n]) < 24, t.funding_total[:n], 0.0)
    zj_ok = live & zjtx_eligible(age, st["rd"], st["rd_sales"], rev, equity_2y, techsme_ok)
    zj = zj_ok & (t.zjtx_valid_until[:n] < year) & (rng.random(n) < ZJTX_TAKEUP)
    t.zjtx_valid_until[:n] = np.where(zj, year + ZJTX_VALID_YEARS - 1, t.zjtx_valid_until[:n])
    zj_first = zj & (t.zjtx_first_year[:n] == 0)
    t.zjtx_first_year[:n] = np.where(zj_first, year, t.zjtx_first_year[:n])
    above = live & hte_valid & (t.sector[:n] == 0) & (rev >= ABOVE_SCALE_REVENUE) & (t.above_scale_hte_year[:n] == 0)
    t.above_scale_hte_year[:n] = np.where(above, year, t.above_scale_hte_year[:n])
    return {"gazelle_new": int(gaz.sum()), "zjtx_new": int(zj_first.sum()), "above_scale_new": int(above.sum())}


def certify_year(firms, year: int, month: int, rng, incubated_takeup_boost: float) -> dict:
    """Year-end statuses in order: HNTE, then the registry (HNTE confirms directly), then upgrades."""
    out = certify_hte(firms, year, month, rng)
    eligible = register_techsme(firms, year, month, rng, incubated_takeup_boost)
    out.update(recognise_upgrades(firms, year, month, rng, eligible))
    out["techsme_eligible"] = int(eligible.sum())
    return out
