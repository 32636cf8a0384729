"""Properties of the status rules, checked on many generated firms (hypothesis).

Each property says more than an example: e.g. more R&D never lowers a tech-SME score, the HNTE threshold
never rises with revenue, and growth never costs capability points.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model.agents import certification as c

share = st.floats(0.0, 1.0, allow_nan=False)
positive = st.floats(0.0, 1e6, allow_nan=False)
count = st.integers(0, 50)
rate = st.floats(-0.9, 3.0, allow_nan=False)
SETTINGS = settings(max_examples=200, deadline=None)


@SETTINGS
@given(share, share, share, share, count, count, count)
def test_techsme_score_never_falls_with_more_of_anything(st_share, rd, rd_costs, extra, inv, class2, more):
    def score(*args):
        return c.techsme_score(*(np.array([x]) for x in args))[0][0]

    base = score(st_share, rd, rd_costs, inv, class2)
    up = score(
        min(1.0, st_share + extra),
        min(1.0, rd + extra),
        min(1.0, rd_costs + extra),
        inv + more,
        class2 + more,
    )
    assert up >= base and 0 <= base <= 100
    assert base >= score(st_share, rd, 0.0, inv, class2)  # a second basis for R&D never costs points


@SETTINGS
@given(st.floats(0.0, 100.0, allow_nan=False), st.floats(1.0, 1e5, allow_nan=False))
def test_total_costs_basis_never_beats_sales_on_the_models_costs(intensity, revenue):
    """On the model's cost reading (non-R&D costs 90 % of revenue) R&D / costs = s / (0.9 + s): the cost basis,
    whose bands are 5x the sales bands, never scores more, so the registry is as before the 2022 check."""
    rd = intensity * revenue
    on_costs = c.banded(rd / c.total_costs(revenue, rd), c.RD_COSTS_BANDS)
    assert on_costs <= c.banded(intensity, c.RD_SALES_BANDS)


@SETTINGS
@given(positive, positive)
def test_hte_threshold_never_rises_with_revenue(a, b):
    lo, hi = sorted((a, b))
    assert c.hte_rd_threshold(np.array([hi]))[0] <= c.hte_rd_threshold(np.array([lo]))[0]
    assert c.hte_rd_threshold(np.array([lo]))[0] in (0.03, 0.04, 0.05)


@SETTINGS
@given(rate, rate)
def test_growth_points_are_monotone_and_bounded(a, b):
    lo, hi = sorted((a, b))
    p_lo, p_hi = c.growth_points(np.array([lo]))[0], c.growth_points(np.array([hi]))[0]
    assert 0 <= p_lo <= p_hi <= 10
    assert (p_lo == 0) == (lo <= 0)


@SETTINGS
@given(
    count,
    count,
    st.floats(0, 60, allow_nan=False),
    positive,
    share,
    st.booleans(),
    rate,
    rate,
    st.floats(0, 30, allow_nan=False),
    st.integers(1, 3),
)
def test_capability_is_bounded_and_monotone_in_conversions(
    inv, class2, conv, rd, st_share, coop, sales, assets, more, years
):
    a = np.array

    def score(conversions, years=3):
        return c.hte_capability(
            a([inv]),
            a([class2]),
            a([conversions]),
            a([years]),
            a([[rd] * 3]),
            a([st_share]),
            a([coop]),
            a([sales]),
            a([assets]),
        )[0]

    assert 0 <= score(conv) <= 100
    assert score(conv + more) >= score(conv)
    # the same conversions over fewer years of accounts are a higher yearly mean: never fewer points
    assert score(conv, years=years) >= score(conv, years=3)


@SETTINGS
@given(st.floats(0.0, 1.0, allow_nan=False), st.floats(1.0, 1e5, allow_nan=False), st.floats(1.0, 2.0))
def test_hte_eligibility_never_lost_by_more_rd(intensity, revenue, factor):
    def ok(x):
        state = dict(
            age_years=np.array([3.0]),
            revenue=np.array([revenue]),
            rd_3y=np.array([3 * revenue * x]),
            revenue_3y=np.array([3 * revenue]),
            st_share=np.array([0.2]),
            hightech_share=np.array([0.7]),
            inv_patents=np.array([1]),
            class2_free=np.array([0]),
        )
        return bool(c.hte_eligible(np.array([75.0]), **state)[0])

    assert ok(intensity * factor) >= ok(intensity)


@SETTINGS
@given(st.just(0.0) | st.floats(1.0, 1e6), st.floats(1.0, 1e6), st.floats(0.0, 1e6), st.floats(0.01, 100.0))
def test_growth_is_read_over_the_accounts_a_firm_has(x0, x1, x2, k):
    """A first year at 0 scores the last two years (按后两年计算): growing firms get points whatever their age;
    a second year at 0 scores 0; the rate does not depend on the unit of money."""
    young = float(c.growth_rate(0.0, x1, x2))
    assert young == pytest.approx(x2 / x1 - 1)
    assert (c.growth_points(young) > 0) == (young > 0) and (young > 0) == (x2 > x1 * (1 + 1e-12))
    assert float(c.growth_rate(x0, 0.0, x2)) == 0.0
    assert float(c.growth_rate(k * x0, k * x1, k * x2)) == pytest.approx(float(c.growth_rate(x0, x1, x2)))
