"""Annual indicators by the official definitions, computed from model state at the year end.

Every key is an outcome of ``sim.model.outcomes.OUTCOMES`` (a test checks the two agree):

* T01 technology contract turnover: the year's registered (seller-side) contracts, 亿元.
* T02 tech-SME registry: firms admitted in the year's batches (evaluated on last year's accounts).
* T03 high-tech enterprises: valid certificates at the year end.
* T04 invention patents held at the year end (firms + universities and institutes).
* T05 enterprise share of R&D: the R&D survey's scope (above-scale firms, ``certification.above_scale``
  on the year's revenue), relabelled R&D excluded, over enterprise + non-enterprise R&D, percent.
* T07-T09: the three reforms on their official basis, cumulative since the reforms began (the Jan-2024
  release's 84,372 itemised, 12,268 transferred and 1,003 firms count from the start).
* T16a/b/c: new above-scale high-tech, 专精特新 and gazelle firms, cumulative from 2024.

Firm-side quantities are divided by the model's ``scale`` so indicators are in real units whatever the
simulated population size.
"""

from __future__ import annotations

import numpy as np

from sim.model.agents.certification import above_scale
from sim.model.market import CONTRACT_TYPES
from sim.model.params import FIRST_YEAR, LAST_BASE_YEAR, REGISTRY_FIRST_YEAR, WAN_PER_100M

#: Provincial 专精特新 recognitions count from 2019 (the fit point: 822 recognised by Oct 2023,
#: shaanxi_history_to_2023.csv; earlier provincial lists are not in the count, assumption)
ZJTX_FIRST_YEAR = 2019

PLAN_START = LAST_BASE_YEAR + 1  # cumulative plan targets count from 2024


def enterprise_rd_100m(model, survey_scope: bool = True) -> float:
    """Real enterprise R&D of the year just closed, 亿元 (statistical scope: above-scale firms)."""
    t = model.firms.table
    n = t.n
    rd = t.rd_real_last[:n] * t.alive[:n]
    if survey_scope:
        rd = rd * above_scale(t.sector[:n], t.rev_hist[:n, 0])
    return float(rd.sum() / model.scale / WAN_PER_100M)


def record_year(model, year: int, registry: dict, certification: dict) -> dict:
    """One row of annual indicators (call after the year-end rules and the books are closed).

    ``registry``: admitted counts of the year (``total``, ``by_june``, model scale); ``certification``:
    the year's HNTE counts (``hte_renewed``, ``hte_expiring``).
    """
    t, s = model.firms.table, model.scale
    n = t.n
    live = t.alive[:n]
    inst = model.institutions.totals()
    rd_ent = enterprise_rd_100m(model)
    rd_non = model.institutions.rd_total()
    if year < FIRST_YEAR:  # the start-state row: institutions' R&D is set at its 2019 level; deflate by the trend
        rd_non /= np.exp(model.params.nonenterprise_rd_growth)
    firm_patents = float(t.inv_patents[:n][live].sum()) / s
    market = model.market
    turnover = market.turnover_100m()
    spending = model.policy.spending(year)

    def since_plan(col: str) -> float:
        first = t.col(col)
        return float(((first >= PLAN_START) & (first <= year)).sum()) / s

    return {
        "year": year,
        "T01": turnover if year >= FIRST_YEAR else np.nan,
        "T02": registry["total"] / s if year >= REGISTRY_FIRST_YEAR else np.nan,
        "T03": float((live & (t.hte_valid_until[:n] >= year)).sum()) / s,
        "T04": firm_patents + inst["patents"],
        "T05": 100.0 * rd_ent / (rd_ent + rd_non),
        "T07": inst["itemised"],
        "T08": inst["transferred"],
        "T09": inst["spinoffs"],
        "T16a": since_plan("above_scale_hte_year"),
        "T16b": since_plan("zjtx_first_year"),
        "T16c": since_plan("gazelle_first_year"),
        **{f"T01_{name}": v / WAN_PER_100M for name, v in zip(CONTRACT_TYPES, market.value_by_type)},
        "T02_h1": registry["by_june"] / s if year >= REGISTRY_FIRST_YEAR else np.nan,
        "rd_enterprise": rd_ent,
        "rd_enterprise_all": enterprise_rd_100m(model, survey_scope=False),
        "rd_nonenterprise": rd_non,
        "firms_alive": float(live.sum()) / s,
        "incubated": float((live & (t.incubator[:n] >= 0)).sum()) / s,
        "firm_patents": firm_patents,
        "patents_granted": (model.firms.patents_granted / s + inst["granted"]) if year >= FIRST_YEAR else np.nan,
        "rd_total": rd_ent + rd_non,
        "hte_recognised": (
            (certification.get("hte_new", 0) + certification.get("hte_renewed", 0)) / s
            if year >= FIRST_YEAR
            else np.nan
        ),
        "contracts": sum(market.contracts.values()),
        "institutions_share_T01": market.institutions_share() if year >= FIRST_YEAR else np.nan,
        "local_share_T01": market.value_local / WAN_PER_100M / turnover if turnover > 0 else np.nan,
        "reform_itemised": inst["itemised"],
        "reform_transferred": inst["transferred"],
        "reform_spinoffs": inst["spinoffs"],
        "reform_units_covered": inst["units_covered"],
        "zjtx_valid": float((live & (t.zjtx_valid_until[:n] >= year)).sum()) / s,
        "zjtx_cumulative": float((t.zjtx_first_year[:n] >= ZJTX_FIRST_YEAR).sum()) / s,
        "hte_revenue": float(t.rev_hist[:n, 0][live & (t.hte_valid_until[:n] >= year)].sum())
        / s
        / WAN_PER_100M,
        "hte_renewal_rate": (
            certification["hte_renewed"] / certification["hte_expiring"]
            if certification.get("hte_expiring")
            else np.nan
        ),
        "vc_deals": model.capital.deals_this_year / s,
        **{f"spend_{name}": v for name, v in spending.items()},
        "spend_total": float(sum(spending.values())),
    }
