"""Single rules on hand-built state: certification, registry scoring, gazelle, 专精特新, take-up."""

import numpy as np
import pytest

from sim.model.agents import certification as c
from sim.model.params import BehaviourParams


def hte_ok(rd_intensity, revenue=4000.0, **over):
    """HNTE eligibility of one firm that meets every other condition (3 equal years)."""
    state = dict(
        age_years=np.array([3.0]),
        revenue=np.array([revenue]),
        rd_3y=np.array([3 * revenue * rd_intensity]),
        revenue_3y=np.array([3 * revenue]),
        st_share=np.array([0.2]),
        hightech_share=np.array([0.7]),
        inv_patents=np.array([1]),
        class2_ip=np.array([0]),
        capability=np.array([75]),
    )
    state.update({k: np.array([v]) for k, v in over.items()})
    return bool(c.hte_eligible(**state)[0])


def test_hte_rd_threshold_small_firm():
    # revenue 4,000万 <= 5,000万: the 5% band applies
    assert not hte_ok(0.049)
    assert hte_ok(0.051)


@pytest.mark.parametrize("revenue, below, above", [(5000.0, 0.049, 0.05), (8000.0, 0.039, 0.041), (30000.0, 0.029, 0.031)])
def test_hte_rd_threshold_bands(revenue, below, above):
    assert not hte_ok(below, revenue=revenue)
    assert hte_ok(above, revenue=revenue)


@pytest.mark.parametrize(
    "field, bad",
    [("st_share", 0.09), ("hightech_share", 0.59), ("age_years", 0.5), ("capability", 69)],
)
def test_hte_other_gates(field, bad):
    assert hte_ok(0.06)
    assert not hte_ok(0.06, **{field: bad})


def test_hte_core_ip():
    assert not hte_ok(0.06, inv_patents=0, class2_ip=1)
    assert hte_ok(0.06, inv_patents=0, class2_ip=c.HTE_CORE_IP_CLASS2)


def test_techsme_score_bands():
    score, staff = c.techsme_score(np.array([0.30, 0.12, 0.05]), np.array([0.06, 0.025, 0.0]),
                                   np.array([1, 0, 0]), np.array([0, 4, 2]))
    assert list(staff) == [20, 4, 0]
    assert list(score) == [20 + 50 + 30, 4 + 10 + 24, 0 + 0 + 12]


def techsme(staff=50, revenue=5000.0, assets=5000.0, st=0.3, rd=0.06, inv=1, class2=0, hte=False):
    a = lambda x: np.array([x])  # noqa: E731
    return bool(c.techsme_eligible(a(staff), a(revenue), a(assets), a(st), a(rd), a(inv), a(class2), a(hte))[0])


def test_techsme_size_gates_and_score():
    assert techsme()
    assert not techsme(staff=501)
    assert not techsme(revenue=20001.0)
    assert not techsme(assets=20001.0)
    # score 4 + 30 + 24 = 58 < 60 fails; 8 + 30 + 24 = 62 passes
    assert not techsme(st=0.12, rd=0.045, inv=0, class2=4)
    assert techsme(st=0.16, rd=0.045, inv=0, class2=4)
    # a zero S&T-staff score fails even with a high total ...
    assert not techsme(st=0.05, rd=0.07, inv=1)
    # ... unless a valid HNTE certificate confirms it directly
    assert techsme(st=0.05, rd=0.0, inv=0, hte=True)


def test_gazelle_route1_needs_20pct_cagr():
    hist = np.array([[2100.0, 1800.0, 1500.0, 1200.0, 1000.0]])  # CAGR (2100/1000)^0.25-1 = 20.4%
    ok = c.gazelle_eligible(np.array([True]), np.array([0.03]), np.array([8.0]), hist)
    assert ok[0]
    slow = hist.copy()
    slow[0, 0] = 2000.0  # CAGR 18.9%
    assert not c.gazelle_eligible(np.array([True]), np.array([0.03]), np.array([8.0]), slow)[0]
    assert not c.gazelle_eligible(np.array([False]), np.array([0.03]), np.array([8.0]), hist)[0]
    assert not c.gazelle_eligible(np.array([True]), np.array([0.02]), np.array([8.0]), hist)[0]


def test_zjtx_gates():
    a = lambda x: np.array([x])  # noqa: E731
    base = dict(age_years=a(3.0), rd_last=a(150.0), rd_sales=a(0.05), revenue=a(3000.0), equity_2y=a(0.0),
                techsme_ok=a(True))
    assert c.zjtx_eligible(**base)[0]
    assert not c.zjtx_eligible(**{**base, "rd_last": a(99.0)})[0]
    assert not c.zjtx_eligible(**{**base, "revenue": a(900.0)})[0]
    assert c.zjtx_eligible(**{**base, "revenue": a(900.0), "equity_2y": a(2500.0)})[0]


def test_takeup_rises_from_2018_level_to_max():
    p = BehaviourParams(techsme_takeup_2018=0.3, techsme_takeup_max=0.8, techsme_takeup_speed=1.0,
                        techsme_takeup_midyear=2022.0)
    path = [c.techsme_takeup(y, p) for y in range(2018, 2031)]
    assert path[0] == pytest.approx(0.3)
    assert all(b >= a for a, b in zip(path, path[1:]))
    assert path[4] == pytest.approx(0.3 + 0.5 * (0.5 - 1 / (1 + np.exp(4))) / (1 - 1 / (1 + np.exp(4))))
    assert 0.79 < path[-1] <= 0.8
