"""Single rules on hand-built state: certification scoring and timing, the registry, patents, T05 scope.

Pure rules are called on arrays; calendar rules run on a tiny model whose firm rows are overwritten so
that each test firm has exactly the state the rule is about.
"""

import numpy as np
import pytest

from sim.model import InnovationModel
from sim.model.agents import certification as c
from sim.model.agents.firms import NO_DATE, SECTOR_ICT, SECTOR_INDUSTRY, SECTOR_SCITECH
from sim.model.evaluate import release
from sim.model.indicators import enterprise_rd_100m
from sim.model.params import FIRST_YEAR, BehaviourParams


def month(year: int, m: int = 0) -> int:
    """The model's month index of month ``m`` (0 = January) of ``year`` (months count from FIRST_YEAR)."""
    return (year - FIRST_YEAR) * 12 + m


def gates(rd_intensity, revenue=4000.0, **over):
    """HNTE gates of one firm that meets every other condition (3 equal years)."""
    state = dict(
        age_years=np.array([3.0]),
        revenue=np.array([revenue]),
        rd_3y=np.array([3 * revenue * rd_intensity]),
        revenue_3y=np.array([3 * revenue]),
        st_share=np.array([0.2]),
        hightech_share=np.array([0.7]),
        inv_patents=np.array([1]),
        class2_free=np.array([0]),
    )
    state.update({k: np.array([v]) for k, v in over.items()})
    return state


def hte_ok(rd_intensity, capability=75.0, **over):
    return bool(c.hte_eligible(np.array([capability]), **gates(rd_intensity, **over))[0])


# ------------------------------------------------------------------ HNTE gates and score
def test_hte_rd_threshold_small_firm():
    assert not hte_ok(0.049)  # revenue 4,000万 <= 5,000万: the 5% band applies
    assert hte_ok(0.051)


@pytest.mark.parametrize(
    "revenue, below, above", [(5000.0, 0.049, 0.05), (8000.0, 0.039, 0.041), (30000.0, 0.029, 0.031)]
)
def test_hte_rd_threshold_bands(revenue, below, above):
    assert not hte_ok(below, revenue=revenue)
    assert hte_ok(above, revenue=revenue)


@pytest.mark.parametrize("field, bad", [("st_share", 0.09), ("hightech_share", 0.59), ("age_years", 0.5)])
def test_hte_other_gates(field, bad):
    assert hte_ok(0.06)
    assert not hte_ok(0.06, **{field: bad})


def test_hte_pass_mark_is_strictly_above_70():
    """'70分以上(不含70分)': 70.0 fails, 70.5 passes."""
    assert not hte_ok(0.06, capability=70.0)
    assert hte_ok(0.06, capability=70.5)


def test_core_ip_one_unused_class2_item():
    assert hte_ok(0.06, inv_patents=0, class2_free=1)  # one Class-II item is core IP
    assert not hte_ok(0.06, inv_patents=0, class2_free=0)  # ... but not once it backed an application


def test_growth_rate_and_bands():
    """Growth is scored on 1/2 (x2/x1 + x1/x0) - 1, net assets and sales separately, 10 points each."""
    assert c.growth_rate(100.0, 110.0, 121.0) == pytest.approx(0.10)
    # 工作指引: "第一年末净资产或销售收入为0的, 按后两年计算; 第二年末...为0的, 按0分计算"
    assert c.growth_rate(0.0, 110.0, 143.0) == pytest.approx(0.30)  # two years of accounts: x2/x1 - 1
    assert c.growth_rate(0.0, 0.0, 121.0) == 0.0  # a single year of accounts: 0 points
    assert c.growth_rate(100.0, 0.0, 121.0) == 0.0  # a zero second year: 0 points
    points = c.growth_points(np.array([0.40, 0.35, 0.30, 0.03, 0.0, -0.1]))
    assert points.tolist() == [9.5, 9.5, 7.5, 1.5, 0.0, 0.0]


def score(
    conversions_3y=15, years=3, inv=1, class2=0, rd_last=200.0, st=0.25, coop=True, sales=0.4, assets=0.4
):
    a = np.array
    return float(
        c.hte_capability(
            a([inv]),
            a([class2]),
            a([conversions_3y]),
            a([years]),
            a([[rd_last] * 3]),
            a([st]),
            a([coop]),
            a([sales]),
            a([assets]),
        )[0]
    )


def test_capability_blocks():
    top = score()
    organisation = 6 + 3 + 3 + 2 + 1 + 4  # the four items; 1 of 2 for an open platform (no state)
    assert top == pytest.approx(c.IP_EXPERT_POINTS + c.IP_CLASS1_POINTS + 27.5 + organisation + 19.0)
    assert score(conversions_3y=0) == pytest.approx(top - 27.5 - 2.0)  # no conversion points, no system
    assert score(conversions_3y=6) == pytest.approx(top - 27.5 + 9.5)  # 2 a year: band D
    # a firm with two years of accounts averages over two (实际经营期不满三年的按实际经营时间计算)
    assert score(conversions_3y=6, years=2) == pytest.approx(top - 27.5 + 15.5)  # 3 a year: band C
    assert score(conversions_3y=3, years=1) == pytest.approx(top - 27.5 + 15.5)
    assert score(sales=0.0) == pytest.approx(top - 9.5)  # the two growth rates score separately
    assert score(inv=0, class2=0) == pytest.approx(top - c.IP_EXPERT_POINTS - c.IP_CLASS1_POINTS)
    assert score(coop=False) == pytest.approx(top - 3.0)
    assert score() <= 100


def test_organisation_scores_the_guidelines_four_items():
    """6 + 6 + 4 + 4 (工作指引): the R&D ledger kept each year operated, an institution and cooperation, a
    conversion system (and 1 of 2 for an open platform, which has no state), talent policies."""
    a = np.array
    rows = [  # rd_years, operating years, S&T staff, cooperation, conversions -> points
        ([100, 100, 100], 3, 0.25, True, 6, 6 + 3 + 3 + 2 + 1 + 4),
        ([100, 0, 0], 3, 0.25, True, 6, 3 + 3 + 3 + 2 + 1 + 4),  # R&D ledger in one year of three
        ([0, 0, 0], 3, 0.25, True, 6, 0 + 3 + 3 + 2 + 1 + 4),
        ([100, 100, 0], 2, 0.25, True, 6, 6 + 3 + 3 + 2 + 1 + 4),  # a two-year firm with R&D in both
        ([100, 100, 100], 3, 0.25, True, 0, 6 + 3 + 3 + 0 + 1 + 4),  # no conversion, no conversion system
        ([50, 50, 50], 3, 0.10, True, 6, 6 + 0 + 3 + 2 + 1 + 4),  # no R&D institution
        ([100, 100, 100], 3, 0.25, False, 6, 6 + 3 + 0 + 2 + 1 + 4),  # no cooperation
    ]
    rd, years, staff, coop, conv, expected = (a(col) for col in zip(*rows))
    assert c.organisation_points(rd, years, staff, coop, conv).tolist() == expected.tolist()


def test_organisation_reads_firm_state(tiny):
    """Through hte_state: equity raised is not cooperation with research institutions (it was, before); a
    firm that reported R&D in one year of three keeps half the ledger points."""
    m = tiny
    for row in range(3):
        make_firm(m, row, tech_bought=0, incubator=-1, funding_total=0.0, funded_month=NO_DATE)
        m.firms.table.rev_hist[row] = 1000.0  # flat: no growth points either way
        m.firms.table.rd_hist[row] = 60.0
    m.firms.table.funding_total[1], m.firms.table.funded_month[1] = (
        600.0,
        month(2019, 6),
    )  # a round in July 2019
    m.firms.table.rd_hist[2, 1:] = 0.0  # R&D reported in 2021 only
    m.params.conversion_rd_cost = 1e9
    capability = c.hte_state(m.firms, 2022, month(2022, 11))["capability"][:3]
    assert capability[1] == pytest.approx(capability[0])
    assert capability[0] - capability[2] == pytest.approx(3.0)


# ------------------------------------------------------------------ registry scoring
def test_techsme_score_bands():
    score_, staff = c.techsme_score(
        np.array([0.30, 0.12, 0.05]),
        np.array([0.06, 0.025, 0.0]),
        np.array([0.0, 0.0, 0.0]),
        np.array([1, 0, 0]),
        np.array([0, 4, 2]),
    )
    assert list(staff) == [20, 4, 0]
    assert list(score_) == [20 + 50 + 30, 4 + 10 + 24, 0 + 0 + 12]


def test_techsme_rd_scores_on_sales_or_total_costs():
    """国科发政〔2022〕16号 第七条(二): R&D / sales (2-6 %) or R&D / total costs (10-30 %), the firm's choice."""
    rd_costs = np.array([0.0999, 0.10, 0.15, 0.2, 0.25, 0.30, 0.9])
    score_, _ = c.techsme_score(np.zeros(7), np.full(7, 0.01), rd_costs, np.zeros(7, int), np.zeros(7, int))
    assert score_.tolist() == [0, 10, 20, 30, 40, 50, 50]
    score_, _ = c.techsme_score([0.0], [0.05], [0.12], [0], [0])  # the better basis counts: sales (40)
    assert score_.tolist() == [40]


def techsme(staff=50, revenue=5000.0, assets=5000.0, st=0.3, rd=0.06, inv=1, class2=0, hte=False, costs=0.0):
    a = lambda x: np.array([x])  # noqa: E731
    return bool(
        c.techsme_eligible(
            a(staff), a(revenue), a(assets), a(st), a(rd), a(costs), a(inv), a(class2), a(hte)
        )[0]
    )


def test_techsme_size_gates_and_score():
    assert techsme()
    assert techsme(staff=500, revenue=20000.0, assets=20000.0)  # 第六条(二): "不超过"
    assert not techsme(staff=501)
    assert not techsme(revenue=20001.0)
    assert not techsme(assets=20001.0)
    assert not techsme(st=0.12, rd=0.045, inv=0, class2=4)  # 4 + 30 + 24 = 58 < 60
    assert techsme(st=0.16, rd=0.045, inv=0, class2=4)  # 8 + 30 + 24 = 62
    assert not techsme(st=0.3, rd=0.01, inv=0, class2=2)  # 20 + 0 + 12 on sales ...
    assert techsme(st=0.3, rd=0.01, costs=0.2, inv=0, class2=2)  # ... 20 + 30 + 12 on total costs
    assert not techsme(st=0.05, rd=0.07, inv=1)  # a zero S&T-staff score fails ...
    assert techsme(st=0.05, rd=0.0, inv=0, hte=True)  # ... unless a valid HNTE confirms it directly (第八条)
    assert not techsme(staff=501, hte=True)  # direct confirmation still needs the size gates


def test_takeup_s_curve_and_the_2023_super_deduction():
    """The first year (2018) has its own share; from 2019 the S-curve starts at the 2019 level (here below
    the first year's: the firms that stayed out are the less inclined) and rises to the maximum."""
    p = BehaviourParams(
        techsme_takeup_2018=0.3,
        techsme_takeup_2019=0.12,
        techsme_takeup_max=0.8,
        techsme_takeup_speed=1.0,
        techsme_takeup_midyear=2022.0,
        superdeduction_2023=0.0,
    )
    path = [c.techsme_takeup(y, p) for y in range(2018, 2031)]
    assert path[0] == pytest.approx(0.3)
    assert path[1] == pytest.approx(0.12)
    assert all(b > a for a, b in zip(path[1:], path[2:]))
    assert 0.79 < path[-1] <= 0.8
    later = BehaviourParams(**{**p.__dict__, "techsme_takeup_2019": 0.2})
    assert c.techsme_takeup(2018, later) == pytest.approx(0.3)  # the first year does not read the 2019 level
    assert c.techsme_takeup(2019, later) == pytest.approx(0.2)
    cut = BehaviourParams(**{**p.__dict__, "superdeduction_2023": 0.2})
    assert c.techsme_takeup(2022, cut) == pytest.approx(c.techsme_takeup(2022, p))
    assert c.techsme_takeup(2023, cut) == pytest.approx(0.8 * c.techsme_takeup(2023, p))


# ------------------------------------------------------------------ upgrades
def test_gazelle_routes():
    hist = np.array([[2100.0, 1800.0, 1500.0, 1200.0, 1000.0]])  # CAGR (2100/1000)^0.25-1 = 20.4%
    args = (np.array([True]), np.array([0.03]), np.array([8.0]))
    assert c.gazelle_eligible(*args, hist)[0]
    slow = hist.copy()
    slow[0, 0] = 2000.0  # 18.9%
    assert not c.gazelle_eligible(*args, slow)[0]
    # route 2: headcount from 100 to 300 in four years (31.6% a year), rising last year
    staff = np.array([[300.0, 250.0, 200.0, 150.0, 100.0]])
    assert c.gazelle_eligible(*args, slow, staff)[0]
    assert not c.gazelle_eligible(*args, slow, staff * 0.9)[0]  # 90 four years ago: below 100
    assert not c.gazelle_eligible(np.array([False]), np.array([0.03]), np.array([8.0]), hist)[0]


def test_zjtx_gates():
    a = lambda x: np.array([x])  # noqa: E731
    base = dict(
        age_years=a(3.0),
        rd_last=a(150.0),
        rd_sales=a(0.05),
        revenue=a(3000.0),
        equity_2y=a(0.0),
        techsme_ok=a(True),
    )
    assert c.zjtx_eligible(**base)[0]
    assert not c.zjtx_eligible(**{**base, "rd_last": a(99.0)})[0]
    assert not c.zjtx_eligible(**{**base, "revenue": a(900.0)})[0]
    assert c.zjtx_eligible(**{**base, "revenue": a(900.0), "equity_2y": a(2500.0)})[0]


def test_above_scale_by_sector():
    """NBS bars: industry 2,000万; 信息传输、软件和信息技术服务业 2,000万; 科学研究和技术服务业 1,000万."""
    sector = np.array([SECTOR_INDUSTRY] * 2 + [SECTOR_ICT] * 2 + [SECTOR_SCITECH] * 2)
    revenue = np.array([1999.0, 2000.0, 1999.0, 2000.0, 999.0, 1000.0])
    assert c.above_scale(sector, revenue).tolist() == [False, True, False, True, False, True]


def test_entrants_split_into_the_service_sectors():
    """Firms drawn at entry: industry at ``manufacturing_share``, services half ICT, half S&T services (the
    sample sd of a share over ~5,000 firms is < 0.01: 0.03 tolerance)."""
    m = InnovationModel(seed=3, scale=0.05, end_year=2019)
    try:
        t = m.firms.table
        sector = t.sector[: t.n]
        services = sector != SECTOR_INDUSTRY
        assert abs((~services).mean() - m.start.manufacturing_share) < 0.03
        assert abs((sector[services] == SECTOR_ICT).mean() - 0.5) < 0.03
        assert set(np.unique(sector)) == {SECTOR_INDUSTRY, SECTOR_SCITECH, SECTOR_ICT}
    finally:
        release(m)


# ------------------------------------------------------------------ calendar rules on a tiny model
@pytest.fixture
def tiny():
    m = InnovationModel(seed=5, scale=0.002, end_year=2026)  # 60 firms
    yield m
    release(m)


def make_firm(m, row, revenue=4000.0, intensity=0.06, **cols):
    """Overwrite a firm row with a stable, HNTE-ready history: same revenue and intensity 5 years back."""
    t = m.firms.table
    t.alive[row] = True
    t.birth_month[row] = m.month - 10 * 12
    t.sector[row] = SECTOR_INDUSTRY
    t.revenue[row] = revenue
    t.rev_hist[row] = revenue / 1.3 ** np.arange(t.rev_hist.shape[1])  # growing 30% a year
    t.rd_intensity[row] = intensity
    t.rd_hist[row] = t.rev_hist[row, :3] * intensity
    t.rd_real_last[row] = revenue * intensity
    t.st_share[row] = 0.3
    t.hightech_share[row] = 0.8
    t.inv_patents[row] = 5
    t.conv_hist[row] = 10
    t.asset_ratio[row] = 1.0
    t.productivity[row] = 140.0
    t.hte_valid_until[row] = 0
    t.hte_failed_year[row] = 0
    t.techsme_year[row] = 0
    for k, v in cols.items():
        getattr(t, k)[row] = v


def test_hte_uses_the_three_years_ending_last_year(tiny):
    """December of Y certifies on the accounts of Y-1..Y-3: this year's R&D does not count yet."""
    m = tiny
    t = m.firms.table
    make_firm(m, 0, intensity=0.01)  # too little R&D in the closed years ...
    t.rd_ytd[0] = 4000.0  # ... whatever it spends this year
    make_firm(m, 1)
    m.params.hte_apply_prob = 1.0
    m.params.hte_pass_rate = 1.0
    c.certify_hte(m.firms, 2019, month(2019, 11), np.random.default_rng(0))
    assert t.hte_valid_until[0] == 0
    assert t.hte_valid_until[1] == 2021  # counts at the ends of 2019, 2020, 2021


def test_hte_failure_sits_out_a_year_and_renewal_is_all_cause(tiny):
    """A firm below the 70-point mark does not apply (consultants pre-score); one the review fails sits out."""
    m = tiny
    t = m.firms.table
    make_firm(m, 0, conv_hist=0, inv_patents=0, class2_ip=1, st_share=0.12, rev_hist=100.0)  # scores <= 70
    make_firm(m, 1)
    m.params.hte_apply_prob = 1.0
    m.params.hte_pass_rate = 0.0  # the review fails every applicant
    rng = np.random.default_rng(0)
    c.certify_hte(m.firms, 2019, month(2019, 11), rng)
    assert t.hte_failed_year[0] == 0 and t.hte_valid_until[0] == 0  # did not apply
    assert t.hte_failed_year[1] == 2019 and t.hte_valid_until[1] == 0  # applied and failed
    m.params.hte_pass_rate = 1.0
    c.certify_hte(m.firms, 2020, 23, rng)
    assert t.hte_valid_until[1] == 0  # sat out 2020
    c.certify_hte(m.firms, 2021, 35, rng)
    assert t.hte_valid_until[1] == 2023  # certified in 2021
    # renewal: of 200 identical expiring firms, hte_recert_rate of them renew (all-cause)
    big = InnovationModel(seed=6, scale=0.01, end_year=2026)
    try:
        for row in range(200):
            make_firm(big, row, hte_valid_until=2019)
        big.params.hte_recert_rate = 0.7
        out = c.certify_hte(big.firms, 2020, 23, np.random.default_rng(1))
        renewed = out["renewed"][:200].mean()
        assert 0.6 < renewed < 0.8  # binomial sd 0.032 at n=200; 3 sd either side
    finally:
        release(big)


def test_renewal_first_applications_and_records_of_certify_hte(tiny):
    """December 2021 on hand-built firms that all qualify (the gates and over 70 points), with no renewals
    (``hte_recert_rate`` 0) and no one applying or passing on their own (probabilities 0):

    - a certificate counted to 2020 is expiring: it is not renewed, and the firm is not a first applicant
      either (it is not certified anew); certificates counted to 2021 or 2022 are mid-term: untouched;
    - a firm without a certificate applies and passes only through the cultivation pool's lifts (apply and
      pass +1): it is certified to 2023, its first year recorded, and a firm certified before keeps its first
      year; the returned counts say so;
    - a Class-II item is used up only by a firm certified without an invention patent."""
    m = tiny
    t = m.firms.table
    make_firm(m, 0, hte_valid_until=2020, hte_first_year=2018)  # expiring
    make_firm(m, 1, hte_valid_until=2021, hte_first_year=2019)  # mid-term
    make_firm(m, 2, hte_valid_until=2022, hte_first_year=2020)  # mid-term
    make_firm(m, 3, inv_patents=0, class2_ip=3, class2_used=1)  # uncertified, core IP from Class-II items
    make_firm(m, 4, hte_first_year=2015)  # certified before, lapsed: a first application again
    make_firm(m, 5, inv_patents=0, class2_ip=0, class2_used=0)  # no core IP: never eligible
    m.params.hte_recert_rate = 0.0
    m.params.hte_apply_prob = m.params.hte_pass_rate = 0.0
    m.params.bunching_prob = 0.0
    rows = 6
    lift = np.zeros(t.n)
    lift[:rows] = 1.0
    out = c.certify_hte(m.firms, 2021, 35, np.random.default_rng(0), apply_lift=lift, pass_lift=lift)
    assert t.hte_valid_until[:rows].tolist() == [2020, 2021, 2022, 2023, 2023, 0]
    assert t.hte_first_year[:rows].tolist() == [2018, 2019, 2020, 2021, 2015, 0]
    assert out["first"][:rows].tolist() == [False, False, False, True, False, False]
    assert not out["renewed"][:rows].any()
    assert (out["hte_new"], out["hte_renewed"]) == (2, 0) and out["hte_expiring"] >= 1
    assert t.class2_used[:rows].tolist() == [0, 0, 0, 2, 0, 0]
    # without the lifts no one applies: the same firms stay uncertified
    make_firm(m, 3, inv_patents=0, class2_ip=3, class2_used=1)
    c.certify_hte(m.firms, 2021, 35, np.random.default_rng(0))
    assert t.hte_valid_until[3] == 0 and t.class2_used[3] == 1
    # every qualifying renewal goes through (rate 1): the expiring firm that qualifies, not the one whose
    # certificate lapses without core IP, and not the mid-term ones
    make_firm(m, 0, hte_valid_until=2020)
    make_firm(m, 5, hte_valid_until=2020, inv_patents=0, class2_ip=0)
    m.params.hte_recert_rate = 1.0
    out = c.certify_hte(m.firms, 2021, 35, np.random.default_rng(0))
    assert t.hte_valid_until[:3].tolist() == [2023, 2021, 2022] and t.hte_valid_until[5] == 2020
    assert out["renewed"][:rows].tolist() == [True, False, False, False, False, False]


def firm_scoring_exactly_70(m, row):
    """A firm meeting every gate whose capability is exactly 70: IP 27.5 (an invention patent), conversions
    15.5 (3 a year, band C), R&D organisation 16 (ledger 6, an R&D institution 3 but no cooperation, conversion
    system 2 and platform 1, talent 4), growth 5.5 + 5.5 (sales and net assets +20 % a year)."""
    t = m.firms.table
    make_firm(m, row, conv_hist=3, st_share=0.3, tech_bought=0, incubator=-1, funding_total=0.0)
    t.funded_month[row] = NO_DATE
    t.rev_hist[row] = [1440.0, 1200.0, 1000.0, 800.0, 700.0]
    t.rd_hist[row] = t.rev_hist[row, :3] * 0.06
    m.params.conversion_rd_cost = 1e9  # conversions from R&D projects negligible: 3 a year from the history
    m.params.hte_push_score = 0.0  # no coaching bonus (hte_push): the score is the guideline's alone


def test_hte_pass_mark_through_the_model(tiny, monkeypatch):
    """certify_hte applies the one rule function: a firm at exactly 70 is not certified, one point more is."""
    m = tiny
    t = m.firms.table
    for row in (0, 1):
        firm_scoring_exactly_70(m, row)
    m.params.hte_apply_prob = m.params.hte_pass_rate = 1.0
    st = c.hte_state(m.firms, 2019, month(2019, 11))
    assert st["capability"][:2].tolist() == [70.0, 70.0]
    assert c.hte_gates(**st["gates"])[:2].all()
    calls, rule = [], c.hte_eligible

    def spy(capability, **gates):
        calls.append(capability)
        return rule(capability, **gates)

    monkeypatch.setattr(c, "hte_eligible", spy)
    lift = np.zeros(t.n)
    lift[1] = 1.0
    c.certify_hte(m.firms, 2019, month(2019, 11), np.random.default_rng(0), score_lift=lift)
    assert calls, "certify_hte must decide eligibility through hte_eligible"
    assert t.hte_valid_until[0] == 0 and t.hte_valid_until[1] == 2021


def young_firm(m, row, first_year_revenue=1000.0, growth=0.4):
    """A firm founded in January 2020 that meets every HNTE gate in December 2022: two accounting years
    (2020, 2021) growing by ``growth``, an invention patent, 3 conversions a year, no equity raised."""
    t = m.firms.table
    make_firm(m, row, conv_hist=[3, 3, 0], funding_total=0.0, tech_bought=0, incubator=-1)
    t.birth_month[row] = month(2020)  # January 2020
    t.funded_month[row] = NO_DATE
    t.rev_hist[row] = [first_year_revenue * (1 + growth), first_year_revenue, 0.0, 0.0, 0.0]
    t.rd_hist[row] = t.rev_hist[row, :3] * 0.06
    m.params.conversion_rd_cost = 1e9
    m.params.hte_push_score = 0.0  # no coaching bonus (hte_push): the score is the guideline's alone


def test_young_firm_scores_growth_over_its_two_years(tiny):
    """A firm with two years of accounts is scored on them (按后两年计算), sales and net assets alike, through
    hte_state; with its 2 x 9.5 growth points it is certified (without them it scores below 70)."""
    m = tiny
    t = m.firms.table
    young_firm(m, 0)
    young_firm(m, 1, growth=0.0)  # the same firm without growth
    st = c.hte_state(m.firms, 2022, month(2022, 11))
    assert st["sales_growth"][0] == pytest.approx(0.4) and st["net_asset_growth"][0] == pytest.approx(0.4)
    assert st["sales_growth"][1] == 0.0 and st["capability"][0] - st["capability"][1] == pytest.approx(19.0)
    m.params.hte_apply_prob = m.params.hte_pass_rate = 1.0
    c.certify_hte(m.firms, 2022, month(2022, 11), np.random.default_rng(0))
    assert t.hte_valid_until[0] == 2024 and t.hte_valid_until[1] == 0


def test_a_founding_part_year_scores_as_reported_for_sales_but_not_for_net_assets(tiny):
    """A firm founded in July 2020 with a steady 1,000万 a year reports 500 for 2020: sales growth is read on
    the accounts as reported (+100 %, the guideline does not annualise), net assets, a year-end stock, on
    the yearly rate (no growth)."""
    m = tiny
    young_firm(m, 0, growth=0.0)
    t = m.firms.table
    t.birth_month[0] = month(2020, 6)  # July 2020
    t.rev_hist[0, :3] = [1000.0, 500.0, 0.0]
    st = c.hte_state(m.firms, 2022, month(2022, 11))
    assert st["sales_growth"][0] == pytest.approx(1.0) and st["net_asset_growth"][0] == pytest.approx(0.0)


def test_conversions_are_averaged_over_the_years_a_firm_operated(tiny):
    """实际经营期不满三年的按实际经营时间计算: 6 conversions in a firm's two years are 3 a year (band C, 15.5);
    the same 6 over an older firm's three years are 2 a year (band D, 9.5). Founding years count as years."""
    dec_2022 = 2022
    born = np.array(
        [month(2010), month(2020), month(2020, 11), month(2021)]
    )  # 2010, Jan 2020, Dec 2020, Jan 2021
    assert c.operating_years(born, dec_2022).tolist() == [3, 2, 2, 1]
    m = tiny
    young_firm(m, 0)
    young_firm(m, 1)
    m.firms.table.birth_month[1] = -100  # the same accounts, but an old firm: three years to average over
    m.firms.table.rd_hist[1, 2] = 1.0  # (with R&D in 2019 too, so that its R&D ledger scores in full)
    capability = c.hte_state(m.firms, dec_2022, month(2022, 11))["capability"]
    assert capability[0] - capability[1] == pytest.approx(15.5 - 9.5)


def test_net_assets_count_equity_raised_within_the_three_years(tiny):
    """Net assets follow revenue plus the equity of a round from the year end after it closed: a round in
    2021 lifts only the last of the three values read in December 2022; one in 2022 (after the accounts) none."""
    m = tiny
    t = m.firms.table
    for row, funded in enumerate(
        (month(2022, 6), month(2021, 6), month(2020, 6), NO_DATE)
    ):  # July 2022, July 2021, July 2020, never
        make_firm(m, row, funding_total=600.0, asset_ratio=1.0)
        t.rev_hist[row, :3] = 1000.0
        t.funded_month[row] = funded
    net = c.net_assets_hist(m.firms, 2022)[:4]
    assert net.tolist() == [[500.0] * 3, [1100.0, 500.0, 500.0], [1100.0, 1100.0, 500.0], [500.0] * 3]
    growth = c.hte_state(m.firms, 2022, month(2022, 11))["net_asset_growth"][:4]
    assert growth == pytest.approx([0.0, 0.6, 0.6, 0.0])  # 1/2 (1100/500 + 1) - 1, 1/2 (1 + 1100/500) - 1


def test_net_assets_take_a_founding_years_revenue_at_its_yearly_rate(tiny):
    """Net assets are a year-end stock: a firm founded in July 2020 has its half year of revenue (500万) at
    the yearly rate (1,000万) in 2020's net assets, a firm founded in December its one month (100万) at 1,200万;
    before founding there is nothing, and a whole year counts as it is."""
    m = tiny
    t = m.firms.table
    for row, born, revenue in (
        (0, month(2020, 6), (1000.0, 500.0, 0.0)),
        (1, month(2020, 11), (1000.0, 100.0, 0.0)),
    ):
        make_firm(m, row, asset_ratio=1.0, birth_month=born)
        t.rev_hist[row, :3] = revenue  # 2021, 2020, 2019
        t.funded_month[row] = NO_DATE
    net = c.net_assets_hist(m.firms, 2022)[:2]
    share = c.NET_ASSET_SHARE
    assert net.tolist() == [[share * 1000.0, share * 1000.0, 0.0], [share * 1000.0, share * 1200.0, 0.0]]


def test_class2_item_backs_one_application(tiny):
    m = tiny
    t = m.firms.table
    make_firm(m, 0, inv_patents=0, class2_ip=1, class2_used=0)
    m.params.hte_apply_prob = m.params.hte_pass_rate = 1.0
    c.certify_hte(m.firms, 2019, month(2019, 11), np.random.default_rng(0))
    assert t.hte_valid_until[0] == 2021 and t.class2_used[0] == 1
    st = c.hte_state(m.firms, 2022, month(2022, 11))
    assert st["gates"]["class2_free"][0] == 0  # the item is used up for the renewal in 2022


def test_registry_persists_for_eligible_registrants(tiny):
    """A firm registered in 2022 and still eligible in 2023 re-registers (renew prob 1); an ineligible one drops."""
    m = tiny
    t = m.firms.table
    make_firm(m, 0, techsme_year=2022)
    make_firm(m, 1, techsme_year=2022, st_share=0.05, inv_patents=0, class2_ip=0)  # zero staff score
    m.params.techsme_renew_prob = 1.0
    jan_2023 = month(2023)
    c.open_registry(m.firms, 2023, jan_2023, np.random.default_rng(0))
    months = t.techsme_apply_month[:2]
    assert jan_2023 + 1 <= months[0] <= jan_2023 + 8 and months[1] == NO_DATE  # a batch from Feb to Sep
    admitted = sum(c.admit_batch(m.firms, 2023, month) for month in range(jan_2023, jan_2023 + 12))
    assert t.techsme_year[0] == 2023 and t.techsme_year[1] == 2022 and admitted >= 1


def test_registry_evaluates_last_years_accounts(tiny):
    m = tiny
    t = m.firms.table
    make_firm(
        m, 0, intensity=0.0, rd_hist=0.0, st_share=0.12, inv_patents=0, class2_ip=0
    )  # fails on last year
    t.rd_ytd[0] = 1000.0  # this year's R&D is not evaluated until next year
    m.params.techsme_takeup_max = m.params.techsme_takeup_2018 = 1.0
    eligible = c.open_registry(m.firms, 2023, 48, np.random.default_rng(0))
    assert not eligible[0]


def test_a_valid_hnte_confirms_a_firm_for_the_registry(tiny):
    """第八条: a firm within the size gates that holds a valid HNTE certificate is confirmed directly, whatever
    its score, through the model's own path (``registry_eligible`` in ``open_registry``). Evaluated in January
    2023, a certificate counted to the end of 2023 or of 2022 is still held (the renewal is decided in
    December); one that ran to 2021 has lapsed. Every test firm scores zero on S&T staff, so the score route
    is closed; a firm above the size gates is not confirmed even with a certificate."""
    m = tiny
    t = m.firms.table
    for row, valid in enumerate((2023, 2022, 2021, 0)):
        make_firm(m, row, st_share=0.05, hte_valid_until=valid)
    make_firm(m, 4, revenue=30000.0, st_share=0.05, hte_valid_until=2023)  # above the 2亿 revenue gate
    assert c.registry_eligible(m.firms, 2023)[:5].tolist() == [True, True, False, False, False]
    m.params.techsme_takeup_max = m.params.techsme_takeup_2018 = 1.0
    m.params.superdeduction_2023 = 0.0  # every eligible firm applies
    jan_2023 = 48
    eligible = c.open_registry(m.firms, 2023, jan_2023, np.random.default_rng(0))
    assert eligible[:5].tolist() == [True, True, False, False, False]
    months = t.techsme_apply_month[:5]
    assert (months[:2] > jan_2023).all() and (months[2:] == NO_DATE).all()


# ------------------------------------------------------------------ the three reforms (T07)
def test_backlog_is_itemised_in_the_campaign_only(tiny):
    """A covered unit itemises its backlog during the campaign (to 2023); from 2024 only new achievements
    (T07 is a flow after the 2023 stock-take), and a backlog left over stays outside 单列管理."""
    from sim.model.agents.universities import OTHER_UNIT

    m = tiny
    m.params.itemise_rate = 1.0  # the whole backlog, so that the campaign year is exact
    unit = next(u for u in m.institutions if u.group == OTHER_UNIT)
    unit.achievement_rate = 0.0  # no new achievements: only the backlog can move
    unit.achievements, unit.itemised, unit.itemised_total = 1000, 0, 0
    rng = np.random.default_rng(0)
    unit.step_year(2023, reformed=True, hazard=0.0, reform_multiplier=2.0, rng=rng)
    assert unit.itemised_total == 1000 and unit.achievements == 0
    unit.achievements = 500  # a backlog left at the end of the campaign
    unit.step_year(2024, reformed=True, hazard=0.0, reform_multiplier=2.0, rng=rng)
    assert unit.itemised_total == 1000 and unit.achievements == 500
    unit.achievement_rate = 30.0  # 30 new achievements a year (Poisson: 0 or > 100 has odds < 1e-12)
    unit.step_year(2025, reformed=True, hazard=0.0, reform_multiplier=2.0, rng=rng)
    assert 1000 < unit.itemised_total < 1100 and unit.achievements == 500


# ------------------------------------------------------------------ patents and T05 scope
def test_patent_applied_in_2024_is_granted_in_2025_or_2026(tiny):
    m = tiny
    t = m.firms.table
    make_firm(m, 0, inv_patents=0, pat_pending=0)
    m.firms.add_patent_applications(np.array([0]), np.array([30]), np.random.default_rng(0))
    m.firms.patent(2024, np.random.default_rng(1))  # December 2024: nothing of this year's filing granted
    assert t.inv_patents[0] == 0
    assert t.pat_pending[0].sum() == 30
    t.rd_real_ytd[0] = 0.0
    m.firms.patent(2025, np.random.default_rng(2))
    m.firms.patent(2026, np.random.default_rng(3))
    assert t.inv_patents[0] == 30 and t.pat_pending[0].sum() == 0


def test_t05_counts_the_survey_scope_only(tiny):
    m = tiny
    t = m.firms.table
    t.alive[:] = False
    make_firm(m, 0, revenue=5000.0, rd_real_last=500.0)  # above-scale industrial: in scope
    make_firm(m, 1, revenue=800.0, rd_real_last=100.0)  # small: outside the R&D survey
    make_firm(m, 2, revenue=1500.0, rd_real_last=50.0, sector=SECTOR_SCITECH)  # above-scale S&T services
    make_firm(m, 3, revenue=1500.0, rd_real_last=30.0, sector=SECTOR_ICT)  # below the software bar (2,000万)
    scale = m.scale
    assert enterprise_rd_100m(m) == pytest.approx((500.0 + 50.0) / scale / 1e4)
    assert enterprise_rd_100m(m, survey_scope=False) == pytest.approx(680.0 / scale / 1e4)


def test_class2_grows_with_rd_and_shares_move_both_ways(tiny):
    m = tiny
    t = m.firms.table
    n = t.n
    t.alive[:n] = True
    t.rd_ytd[:n] = 0.0
    t.rd_real_ytd[:n] = 0.0
    before = t.class2_ip[:n].copy()
    hightech = t.hightech_share[:n].copy()
    m.firms.close_year(2019, np.random.default_rng(0))
    assert (t.class2_ip[:n] == before).all()  # no R&D, no new Class-II items
    assert (t.hightech_share[:n] < hightech).any() and (t.hightech_share[:n] > hightech).any()
    # S&T staff drift towards 0.08 + 3 x intensity: a high-R&D firm's share rises on average
    t.rd_intensity[:n] = 0.2
    t.st_share[:n] = 0.1
    m.firms.close_year(2020, np.random.default_rng(1))
    assert t.st_share[:n].mean() > 0.15


def test_gazelle_needs_revenue_still_rising():
    """Route 1 needs last year's revenue above the year before's (正增长), whatever the 4-year growth."""
    rising = np.array([[2500.0, 2400.0, 1500.0, 1200.0, 1000.0]])
    falling = np.array([[2500.0, 2600.0, 1500.0, 1200.0, 1000.0]])
    args = (np.array([True]), np.array([0.03]), np.array([8.0]))
    assert c.gazelle_eligible(*args, rising)[0]
    assert not c.gazelle_eligible(*args, falling)[0]


def test_increment_award_response():
    """Eligible firms raise planned increases by 1 / (1 - response x rate); decreases and others unchanged."""
    from types import SimpleNamespace

    from sim.model.policy import rd_subsidy

    inst = rd_subsidy.RDSubsidy.__new__(rd_subsidy.RDSubsidy)
    inst.effects = rd_subsidy.Effects(response=1.0)
    inst.levers = SimpleNamespace(rd_subsidy_rate=0.2)
    old = np.array([0.02, 0.02, 0.03, 0.02])
    new = np.array([0.03, 0.03, 0.02, 0.03])
    eligible = np.array([True, False, True, True])
    got = inst.respond(2024, old, new, eligible)
    assert got[0] == pytest.approx(0.02 + 0.01 / (1 - 0.2))  # response 1 x rate 0.2
    assert got[1] == 0.03 and got[2] == 0.02  # not eligible; a planned decrease
    inst.effects = rd_subsidy.Effects(response=0.5)
    assert inst.respond(2024, old, new, eligible)[0] == pytest.approx(0.02 + 0.01 / (1 - 0.1))
    award = rd_subsidy.XIAN_RD_INTENSITY_BAR
    assert inst.eligible(
        np.array([100.0, 99.0, 1000.0]), np.array([award, 0.05, 0.0]), np.array([True, True, True])
    ).tolist() == [True, False, True]


def test_special_audit_relabels_within_the_window_only():
    """An applicant whose 3-year R&D is within the bunching window below its threshold may relabel up to it
    in the special audit; one further below cannot, and a firm that does not seek a certificate does not."""
    revenue_3y = np.array([3000.0, 3000.0, 3000.0])
    gates = dict(
        revenue=np.array([1000.0] * 3), revenue_3y=revenue_3y, rd_3y=np.array([0.04, 0.02, 0.04]) * revenue_3y
    )
    c.audit_relabel(gates, seekers=np.array([True, True, False]), relabels=np.array([True, True, True]))
    assert gates["rd_3y"].tolist() == pytest.approx([0.05 * 3000.0, 0.02 * 3000.0, 0.04 * 3000.0])


def test_market_book_keeps_value_count_type_and_local_share():
    """The register of contracts on hand-built bookings: value and count per seller (scaled by the
    weight), value by contract type, and the local part (none by default, a mask or all)."""
    from sim.model.market import CONTRACT_TYPES, SELLERS, TechMarket

    m = TechMarket(InnovationModel(seed=0, scale=0.01, end_year=FIRST_YEAR))  # a fresh register
    seller, other = SELLERS[0], SELLERS[-1]
    kind = CONTRACT_TYPES[0]
    m.book(np.array([10.0, 30.0]), kind, seller, weight=2.0)  # not local by default
    m.book(np.array([5.0, 7.0, 9.0]), CONTRACT_TYPES[-1], other, local=np.array([True, False, True]))
    m.book(np.array([]), kind, seller, local=True)  # nothing booked
    m.book(np.array([4.0]), kind, seller, local=True)
    assert m.value[seller] == pytest.approx(84.0) and m.contracts[seller] == pytest.approx(5.0)
    assert m.value[other] == pytest.approx(21.0) and m.contracts[other] == pytest.approx(3.0)
    assert m.value_by_type[0] == pytest.approx(84.0) and m.value_by_type[-1] == pytest.approx(21.0)
    assert m.value_local == pytest.approx(4.0 + 14.0)
    m.reset_year()
    assert sum(m.value.values()) == 0 and m.value_local == 0 and not m.value_by_type.any()


def test_firms_contracts_are_counted_at_real_scale():
    """Firms' contracts are drawn at the model's scale and booked at real scale (each one counts 1 / scale),
    so the real-scale number of contracts firms sold in 2019 does not depend on the share of firms simulated.

    Mean of 3 seeds at scales 0.05 and 0.25 (about 640 and 3,200 contracts drawn a year): the two means agree
    within 15 % (the seed sd of one run's count is about 7 %, of a 3-seed mean about 4 %). A count not scaled
    by the firm's weight would differ 5-fold between the two scales. The same register keeps the value
    whole: by type it sums to the total, the local part is a share of it near the 38.86 % of 2023
    (``LOCAL_BUYER_SHARE``; pooled over the six runs within 0.2-0.6: one run's share swings from 0.22 to 0.49
    with its few largest contracts), and a firm contract is
    worth on average the lognormal mean of the value draws (within a factor 2: the pooled mean of ~9,600
    heavy-tailed draws at scale 0.25 has a standard error of ~12 %)."""
    from sim.model.market import LOCAL_BUYER_SHARE, SELLERS

    def register(scale: float) -> list[dict]:
        out = []
        for seed in range(3):
            m = InnovationModel(seed=seed, scale=scale, end_year=2019)
            try:
                m.run()
                mk = m.market
                out.append(
                    {
                        "contracts": mk.contracts[SELLERS[0]],
                        "value": mk.value[SELLERS[0]],
                        "total": sum(mk.value.values()),
                        "by_type": float(mk.value_by_type.sum()),
                        "local": mk.value_local,
                        "mean_value": m.params.contract_value_median
                        * np.exp(m.params.contract_value_sigma**2 / 2),
                    }
                )
            finally:
                release(m)
        return out

    small, large = register(0.05), register(0.25)
    assert SELLERS[0] == "firm"
    counts = [np.mean([r["contracts"] for r in runs]) for runs in (small, large)]
    assert counts[0] > 0 and counts[0] == pytest.approx(counts[1], rel=0.15), counts
    for r in small + large:
        assert r["by_type"] == pytest.approx(r["total"], rel=1e-9)
    local = sum(r["local"] for r in small + large) / sum(r["total"] for r in small + large)
    assert 0.2 < local < 0.6 and LOCAL_BUYER_SHARE == 0.3886, local
    per_contract = sum(r["value"] for r in large) / sum(r["contracts"] for r in large)
    assert 0.5 < per_contract / large[0]["mean_value"] < 2.0, (per_contract, large[0]["mean_value"])


def test_zjtx_equity_counts_rounds_of_the_last_two_years_only(tiny, monkeypatch):
    """专精特新's equity route ("≥ 2,000万 new equity in 2 years"): a round 23 months before the December
    review counts, one 24 months before does not (the window's boundary), whatever the amount."""
    m = tiny
    t = m.firms.table
    dec = month(2021, 11)
    t.alive[: t.n] = False
    small = dict(revenue=900.0, intensity=0.12, techsme_year=2021, funding_total=50000.0)  # under 1,000万
    inside, boundary = c.ZJTX_EQUITY_MONTHS - 1, c.ZJTX_EQUITY_MONTHS
    assert boundary == 24
    make_firm(m, 0, funded_month=dec - inside, **small)
    make_firm(m, 1, funded_month=dec - boundary, **small)
    t.alive[:2] = True
    m.params.zjtx_apply_prob = 1.0
    c.recognise_upgrades(m.firms, 2021, dec, np.random.default_rng(0))
    assert t.zjtx_first_year[:2].tolist() == [2021, 0]


def test_recognise_upgrades_on_hand_built_firms(tiny, monkeypatch):
    """December 2021, on the accounts of 2020 (every firm's history grows 30 % a year from 4,000万 down, R&D 6 %,
    so each passes the gazelle revenue route, the 专精特新 gates and the industry above-scale bar unless a row
    changes one thing). Take-up probabilities set to 1 so that the rule alone decides:

    - gazelle: needs a certificate valid in 2021, at most 15 years of age, and is recorded once;
    - 专精特新: needs the tech-SME list of 2020 or later, two years of age, revenue of 1,000万 or equity raised
      within the last 24 months; a title still valid is not re-reviewed, a lapsed one is renewed for three
      years (2021-2023) without counting as first;
    - above-scale: first year above the bar, and first year above it while holding a valid HNTE."""
    m = tiny
    t = m.firms.table
    dec = month(2021, 11)
    t.alive[: t.n] = False  # only the rows below take part
    make_firm(m, 0, hte_valid_until=2021, techsme_year=2020)  # every title, first time
    make_firm(m, 1, hte_valid_until=2020, techsme_year=2019)  # certificate lapsed, list too old
    make_firm(
        m, 2, hte_valid_until=2022, gazelle_first_year=2019, zjtx_valid_until=2021, zjtx_first_year=2019
    )
    make_firm(m, 3, hte_valid_until=2022, techsme_year=2021, zjtx_valid_until=2020, zjtx_first_year=2018)
    make_firm(m, 4, hte_valid_until=2022, techsme_year=2021, birth_month=dec - 16 * 12)  # 16 years old
    make_firm(m, 5, techsme_year=2021, birth_month=dec - 18)  # 1.5 years old
    # revenue 900万 (under 专精特新's 1,000万 and the bar; R&D 12 %: 108万), equity raised 23 / 30 months ago
    small = dict(revenue=900.0, intensity=0.12, techsme_year=2021, funding_total=2500.0)
    make_firm(m, 6, funded_month=dec - 23, **small)
    make_firm(m, 7, funded_month=dec - 30, **small)
    make_firm(
        m, 8, hte_valid_until=2022, techsme_year=2021, above_scale_first_year=2019, above_scale_hte_year=2020
    )
    t.alive[:9] = True
    monkeypatch.setattr(c, "RECOGNITION_TAKEUP", 1.0)
    m.params.zjtx_apply_prob = 1.0
    out = c.recognise_upgrades(m.firms, 2021, dec, np.random.default_rng(0))
    rows = slice(0, 9)
    assert t.gazelle_first_year[rows].tolist() == [2021, 0, 2019, 2021, 0, 0, 0, 0, 2021]
    assert t.zjtx_valid_until[rows].tolist() == [2023, 0, 2021, 2023, 2023, 0, 2023, 0, 2023]
    assert t.zjtx_first_year[rows].tolist() == [2021, 0, 2019, 2018, 2021, 0, 2021, 0, 2021]
    assert t.above_scale_first_year[rows].tolist() == [2021, 2021, 2021, 2021, 2021, 2021, 0, 0, 2019]
    assert t.above_scale_hte_year[rows].tolist() == [2021, 0, 2021, 2021, 2021, 0, 0, 0, 2020]
    assert out["above_scale_first"][rows].tolist() == [True] * 6 + [False] * 3
    assert (out["gazelle_new"], out["zjtx_new"], out["above_scale_hte_new"]) == (3, 4, 4)
    # a dead firm is recognised for nothing, and the take-up draw applies to the eligible
    make_firm(m, 9, hte_valid_until=2022, techsme_year=2021)
    t.alive[9] = False
    monkeypatch.setattr(c, "RECOGNITION_TAKEUP", 0.0)
    m.params.zjtx_apply_prob = 0.0
    make_firm(m, 10, hte_valid_until=2022, techsme_year=2021)
    out = c.recognise_upgrades(m.firms, 2022, month(2022, 11), np.random.default_rng(0))
    assert t.gazelle_first_year[9:11].tolist() == [0, 0] and t.zjtx_first_year[9:11].tolist() == [0, 0]
    assert t.above_scale_first_year[9:11].tolist() == [0, 2022]
    assert (out["gazelle_new"], out["zjtx_new"]) == (0, 0)


def test_seed_certificates_gives_qualifying_firms_the_state_they_were_certified_on():
    """The start state's HNTE (end-2016), re-seeded on a model of 2,400 firms whose certificates are cleared and
    whose R&D is set below every threshold: exactly ``hte_start x scale`` distinct firms, only from those that
    meet the high-tech product and S&T staff shares (at the bar counts) and are at least a year old; each gets
    R&D intensity between its latest-year threshold and 20 % above it, the matching R&D history, a Class-II
    item, and a certificate of the 2014-16 cohorts (counting to 2016-18) in about the assumed shares (binomial
    sd 0.022 at 500 firms: tolerance 0.07, 3 sd); larger firms are more often chosen."""
    m = InnovationModel(seed=3, scale=0.1, end_year=2017)
    try:
        t = m.firms.table
        n = t.n
        t.hte_valid_until[:n], t.hte_first_year[:n], t.class2_ip[:n] = 0, 0, 0
        t.rd_intensity[:n] = 0.001
        t.hightech_share[:n] = np.maximum(t.hightech_share[:n], 0.7)  # most firms qualify ...
        t.st_share[:n] = np.maximum(t.st_share[:n], 0.2)
        t.hightech_share[0:100] = c.HTE_MIN_HIGHTECH_SHARE - 0.01  # ... but these
        t.st_share[100:200] = c.HTE_MIN_ST_SHARE - 0.01
        t.birth_month[200:300] = -11  # founded within the last year
        t.hightech_share[300:400], t.st_share[300:400], t.birth_month[300:400] = (
            c.HTE_MIN_HIGHTECH_SHARE,
            c.HTE_MIN_ST_SHARE,
            -12,
        )
        c.seed_certificates(m.firms, 5000, np.random.default_rng(7))
        chosen = np.flatnonzero(t.hte_valid_until[:n] > 0)
        assert chosen.size == round(5000 * 0.1)
        assert chosen.min() >= 300 and (chosen < 400).any()
        thr = c.hte_rd_threshold(t.rev_hist[chosen, 0])
        ratio = t.rd_intensity[chosen] / thr
        assert ratio.min() >= 1.0 and ratio.max() <= 1.0 + c.SEED_RD_MARGIN and ratio.max() > 1.15
        np.testing.assert_allclose(t.rd_hist[chosen], t.rev_hist[chosen, :3] * t.rd_intensity[chosen, None])
        np.testing.assert_allclose(t.rd_real_last[chosen], t.rd_hist[chosen, 0] * t.rd_real_share[chosen])
        assert (t.class2_ip[chosen] >= c.HTE_CORE_IP_CLASS2).all()
        until = t.hte_valid_until[chosen]
        assert set(until.tolist()) == {2016, 2017, 2018}
        assert (t.hte_first_year[chosen] == until - 2).all()
        shares = np.array([(until == y).mean() for y in (2016, 2017, 2018)])
        assert np.abs(shares - np.array(c.HTE_COHORT_SHARES_START)).max() < 0.07
        others = np.setdiff1d(np.arange(400, n), chosen)
        assert np.median(t.revenue[chosen]) > np.median(t.revenue[others])
    finally:
        release(m)


def test_gazelle_boundaries():
    """Age at most 15 (10 for the size route), R&D strictly above 2.5 %, revenue still rising on last year
    (not two years back), 10亿 of revenue for the size route; a firm with nothing four years ago has no
    growth rate."""
    yes, rd = np.array([True]), np.array([0.03])
    hist = np.array([[2100.0, 1800.0, 1500.0, 1200.0, 1000.0]])
    assert c.gazelle_eligible(yes, rd, np.array([15.0]), hist)[0]
    assert not c.gazelle_eligible(yes, rd, np.array([15.1]), hist)[0]
    assert not c.gazelle_eligible(yes, np.array([0.025]), np.array([5.0]), hist)[0]
    flat = hist.copy()
    flat[0, 1] = 2100.0  # no rise on last year
    assert not c.gazelle_eligible(yes, rd, np.array([5.0]), flat)[0]
    staff = np.array([[300.0, 250.0, 310.0, 150.0, 100.0]])  # up on last year, below two years back
    slow = np.array([[1100.0, 1080.0, 1050.0, 1020.0, 1000.0]])
    assert c.gazelle_eligible(yes, rd, np.array([5.0]), slow, staff)[0]
    # the headcount route: at most 15 years too
    assert c.gazelle_eligible(yes, rd, np.array([15.0]), slow, staff)[0]
    assert not c.gazelle_eligible(yes, rd, np.array([15.1]), slow, staff)[0]
    big = np.array([[100000.0, 120000.0, 0.0, 0.0, 0.0]])  # size route: falling revenue is fine
    assert c.gazelle_eligible(yes, rd, np.array([10.0]), big)[0]
    assert not c.gazelle_eligible(yes, rd, np.array([10.5]), big)[0]
    assert not c.gazelle_eligible(yes, rd, np.array([5.0]), big - 1.0)[0]
    none_before = np.array([[5000.0, 3000.0, 2000.0, 1000.0, 0.0]])
    assert not c.gazelle_eligible(yes, rd, np.array([5.0]), none_before)[0]


def test_the_push_adds_points_and_a_certificate_lapsed_two_years_ago_can_apply(tiny):
    """The campaign's coaching adds ``hte_push_score x push`` points: a firm at exactly 70 points passes with
    it and not without. A certificate that counted to 2020 was up for renewal in December 2021 (and not renewed
    at 70 points); in December 2022 its holder applies afresh like any uncertified firm
    (``hte_valid_until < year - 1``)."""
    m = tiny
    t = m.firms.table
    for row in (0, 1):
        firm_scoring_exactly_70(m, row)
    t.hte_valid_until[1] = 2020
    m.params.hte_apply_prob = m.params.hte_pass_rate = 1.0
    m.params.bunching_prob = 0.0
    c.certify_hte(m.firms, 2021, month(2021, 11), np.random.default_rng(0))
    assert t.hte_valid_until[:2].tolist() == [0, 2020]  # 70 points: not above the mark
    m.params.hte_push_score = 2.0
    assert c.push_score(2022, m.params) > 0.5  # the push is well under way by 2022 (default parameters)
    c.certify_hte(m.firms, 2022, month(2022, 11), np.random.default_rng(0))
    assert t.hte_valid_until[:2].tolist() == [2024, 2024]


def test_seller_weights_read_the_closed_rd_years_and_the_valid_certificate(tiny):
    """A firm's contract rate goes as (mean R&D over its closed years / 100万)^elasticity, times 1 + the HNTE
    lift while its certificate is valid this year: a firm with one closed year is read on that year (not on a
    three-year total), an entrant on its planned R&D. The weights are fixed for the year; death removes a
    firm at once."""
    m = tiny
    t = m.firms.table
    year, e, lift = m.year, m.params.contract_knowledge_elasticity, m.params.hte_seller_lift
    assert e > 0 and lift > 0
    for row in range(6):
        make_firm(m, row)
        t.rd_hist[row] = [300.0, 300.0, 300.0]
    t.rd_hist[1] = [300.0, 0.0, 0.0]  # one closed year
    t.rd_hist[2] = 0.0  # entrant: 4,000万 x 6 % = 240万 planned
    t.hte_valid_until[3], t.hte_valid_until[4] = year, year - 1
    t.alive[5] = False
    w = m.market.seller_weights()[:6]
    assert w[0] == pytest.approx((300.0 / 100.0) ** e)
    assert w[1] == pytest.approx(w[0]) and w[4] == pytest.approx(w[0])
    assert w[2] == pytest.approx(w[0] * (240.0 / 300.0) ** e)
    assert w[3] == pytest.approx(w[0] * (1 + lift)) and w[5] == 0.0
    t.rd_hist[0] = 3000.0  # within the year: unchanged ...
    t.alive[1] = False  # ... but a death counts at once
    w2 = m.market.seller_weights()[:6]
    assert w2[0] == w[0] and w2[1] == 0.0


class _PoissonSpy:
    """A generator whose Poisson draws return ``k`` (a scalar draw) or zeros (an array draw), recording means."""

    def __init__(self, k: int):
        self.rng, self.k, self.means = np.random.default_rng(0), k, []

    def poisson(self, lam):
        self.means.append(np.asarray(lam, dtype=float).copy())
        return np.zeros(np.shape(lam), dtype=int) if np.ndim(lam) else self.k

    def __getattr__(self, name):
        return getattr(self.rng, name)


def test_monthly_contracts_answer_to_rate_demand_value_and_relative_capacity(tiny, monkeypatch):
    """The firms' monthly count is Poisson with a mean proportional to ``contract_rate`` and to demand in value
    over the median contract value, and to Shaanxi's seller capacity relative to its first month at
    ``supply_elasticity`` (doubling capacity multiplies it by 2^elasticity); the institutions' means are
    proportional to their R&D, ``univ_contract_rate`` and demand. Each contract a firm sells counts 1 / scale."""
    m = tiny
    mk, p = m.market, m.params
    year = m.year

    def firm_mean(**over) -> tuple[float, float]:
        spy = _PoissonSpy(k=10)
        mk.reset_year()
        mk.step_month(m.month, year, spy, np.random.default_rng(1))
        return float(spy.means[0]), float(spy.means[1].sum())

    base, base_inst = firm_mean()
    assert base > 0 and base_inst > 0
    assert mk.contracts["firm"] == pytest.approx(10 / m.scale)  # booked at real scale
    p.contract_rate *= 2
    p.univ_contract_rate *= 3
    twice, thrice = firm_mean()
    assert twice == pytest.approx(2 * base) and thrice == pytest.approx(3 * base_inst)
    demand = mk.demand_index(year)
    monkeypatch.setattr(mk, "demand_index", lambda y: 2 * demand)
    assert firm_mean() == pytest.approx((4 * base, 6 * base_inst))
    value = mk.value_index(year)
    monkeypatch.setattr(mk, "value_index", lambda y: 2 * value)
    assert firm_mean() == pytest.approx((2 * base, 3 * base_inst))
    weights = mk.seller_weights()
    monkeypatch.setattr(mk, "seller_weights", lambda: 2 * weights)
    assert firm_mean()[0] == pytest.approx(2 * base * 2**p.supply_elasticity)


def test_registry_opens_in_its_first_year_with_batches_from_february_to_september():
    """No one applies before ``REGISTRY_FIRST_YEAR``. In a year it is open, 200 eligible firms get batches in
    every month from February to September (one of them missing has probability ~1e-11) and no other month;
    an unregistered firm applies with the take-up plus ``takeup_boost``, a firm registered last year with
    ``techsme_renew_prob`` only (the boost is for newcomers)."""
    from sim.model.params import REGISTRY_FIRST_YEAR

    m = InnovationModel(seed=6, scale=0.01, end_year=2026)
    try:
        t = m.firms.table
        for row in range(200):
            make_firm(m, row, techsme_year=REGISTRY_FIRST_YEAR - 1 if row >= 100 else 0)
        m.params.techsme_takeup_2018 = m.params.techsme_takeup_max = 0.0  # no one registers unprompted
        m.params.techsme_renew_prob = 0.0
        before = month(REGISTRY_FIRST_YEAR - 1)
        assert not c.open_registry(m.firms, REGISTRY_FIRST_YEAR - 1, before, np.random.default_rng(0)).any()
        assert (t.techsme_apply_month[: t.n] == NO_DATE).all()
        jan = month(REGISTRY_FIRST_YEAR)
        boost = np.zeros(t.n)
        boost[:200] = 1.0
        eligible = c.open_registry(
            m.firms, REGISTRY_FIRST_YEAR, jan, np.random.default_rng(0), takeup_boost=boost
        )
        assert eligible[:200].all()
        applied = t.techsme_apply_month[:100]
        assert set((applied - jan + 1).tolist()) == set(c.REGISTRY_BATCH_MONTHS) == set(range(2, 10))
        assert (t.techsme_apply_month[100:200] == NO_DATE).all()  # registered last year, renew prob 0
        m.params.techsme_renew_prob = 1.0
        c.open_registry(m.firms, REGISTRY_FIRST_YEAR, jan, np.random.default_rng(0))
        assert (t.techsme_apply_month[:100] == NO_DATE).all() and (t.techsme_apply_month[100:200] > jan).all()
    finally:
        release(m)


def test_the_evaluations_read_the_last_closed_year_and_total_costs_include_rd(tiny):
    """``_accounts`` (what the registry and the HNTE review read) takes the last closed year's revenue and R&D
    (column 0 of the histories, not the year before), and R&D over total costs divides by the non-R&D costs
    (``NON_RD_COST_SHARE`` of revenue) plus the R&D itself."""
    m = tiny
    t = m.firms.table
    make_firm(m, 0, revenue=4000.0, intensity=0.06)
    a = c._accounts(m.firms, t.n)
    last_rev, last_rd = t.rev_hist[0, 0], t.rd_hist[0, 0]
    assert last_rev != t.rev_hist[0, 1] and a["rev"][0] == last_rev and a["rd"][0] == last_rd
    assert a["rd_sales"][0] == pytest.approx(last_rd / last_rev)
    assert c.total_costs(last_rev, last_rd) == pytest.approx(c.NON_RD_COST_SHARE * last_rev + last_rd)
    assert a["rd_costs"][0] == pytest.approx(last_rd / (c.NON_RD_COST_SHARE * last_rev + last_rd))
    assert a["staff"][0] == pytest.approx(last_rev / t.productivity[0])
    assert a["assets"][0] == pytest.approx(last_rev * t.asset_ratio[0])
    # no revenue last year: R&D over sales is 0 (not a division by zero), over total costs all of it if any
    make_firm(m, 1, revenue=4000.0, intensity=0.06)
    make_firm(m, 2, revenue=4000.0, intensity=0.06)
    t.rev_hist[1:3, 0] = 0.0
    t.rd_hist[1, 0], t.rd_hist[2, 0] = 50.0, 0.0
    a = c._accounts(m.firms, t.n)
    assert a["rd_sales"][1:3].tolist() == [0.0, 0.0] and a["rd_costs"][1:3].tolist() == [1.0, 0.0]
    assert a["staff"][1:3].tolist() == [1.0, 1.0]  # at least one employee


def test_the_push_raises_the_application_share_towards_all_eligible_firms():
    """``hte_apply_share``: ``hte_apply_prob`` plus the push's share of the firms not applying anyway, so it
    rises with the push from the base rate and never exceeds 1."""
    p = BehaviourParams()
    years = range(2010, 2041)
    shares = [c.hte_apply_share(y, p) for y in years]
    for y, share in zip(years, shares):
        assert share == pytest.approx(p.hte_apply_prob + (1 - p.hte_apply_prob) * c.hte_push(y, p))
    assert all(p.hte_apply_prob <= s <= 1.0 for s in shares) and shares == sorted(shares)


def test_a_tenant_scores_the_cooperation_item_and_so_does_a_buyer_still_converting(tiny):
    """The R&D-organisation block's cooperation item (``ORG_COOPERATION_POINTS``): a link to research
    institutions, read as an incubator tenancy or a technology bought while the firm is converting."""
    m = tiny
    t = m.firms.table
    make_firm(m, 0)
    t.incubator[0], t.tech_bought[0] = -1, 0
    rows = np.array([0])
    alone = c.hte_scores(m.firms, 2024, rows)["capability"][0]
    t.incubator[0] = 0
    tenant = c.hte_scores(m.firms, 2024, rows)["capability"][0]
    t.incubator[0], t.tech_bought[0] = -1, 1
    buyer = c.hte_scores(m.firms, 2024, rows)["capability"][0]
    assert tenant - alone == pytest.approx(c.ORG_COOPERATION_POINTS)
    # make_firm's firm converts (conv_hist 10), so a technology bought counts
    assert buyer - alone == pytest.approx(c.ORG_COOPERATION_POINTS)
