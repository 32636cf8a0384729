"""Annual indicators by the official definitions, computed from model state at the year end.

* T01 technology contract turnover: flow, sum of the year's registered (seller-side) contracts, 亿元.
* T02 tech-SME registry: firms evaluated and admitted in the year (renewed yearly).
* T03 high-tech enterprises: valid certificates at the year end.
* T04 invention patents held at the year end (firms + universities and institutes).
* T05 enterprise share of R&D spending (statistical R&D, relabelling excluded), percent.
* T07 achievements under separate management (cumulative); T08 transferred and T09 new
  commercialisation firms, cumulative from 2024; T16a/b/c new above-scale high-tech,
  专精特新 and gazelle firms, cumulative from 2024.

Firm-side quantities are divided by the model's ``scale`` so indicators are in
real units whatever the simulated population size.
"""

from __future__ import annotations

import numpy as np

from sim.model.market import CONTRACT_TYPES
from sim.model.params import LAST_BASE_YEAR

PLAN_START = LAST_BASE_YEAR + 1  # cumulative plan targets count from 2024
WAN_PER_100M = 1e4


def firm_rd_100m(model) -> float:
    """Enterprise R&D of the year just closed, statistical scope (real part), 亿元."""
    t = model.firms.table
    n = t.n
    return float((t.rd_hist[:n, 0] * t.rd_real_share[:n]).sum() / model.scale / WAN_PER_100M)


def record_year(model, year: int) -> dict:
    """One row of annual indicators (call after the year-end rules)."""
    t, s = model.firms.table, model.scale
    n = t.n
    live = t.alive[:n]
    inst = model.institutions
    rd_ent = firm_rd_100m(model)
    rd_non = sum(u.rd for u in inst)
    if year < 2019:  # the 2018 row: institutions' R&D is set at its 2019 level; deflate by the trend
        rd_non /= np.exp(model.params.nonenterprise_rd_growth)
    firm_patents = float(t.inv_patents[:n][live].sum()) / s
    cum = model.cumulative
    row = {
        "year": year,
        "T01": model.market.turnover_100m() if year >= 2019 else np.nan,
        "T02": float((live & (t.techsme_year[:n] == year)).sum()) / s,
        "T03": float((live & (t.hte_valid_until[:n] >= year)).sum()) / s,
        "T04": firm_patents + sum(u.patents for u in inst),
        "T05": 100.0 * rd_ent / (rd_ent + rd_non),
        "T07": float(sum(u.itemised_total for u in inst)),
        "T08": float(cum["transferred"]),
        "T09": float(cum["spinoffs"]),
        "T16a": float(((t.above_scale_hte_year[:n] >= PLAN_START) & (t.above_scale_hte_year[:n] <= year)).sum()) / s,
        "T16b": float(((t.zjtx_first_year[:n] >= PLAN_START) & (t.zjtx_first_year[:n] <= year)).sum()) / s,
        "T16c": float(((t.gazelle_first_year[:n] >= PLAN_START) & (t.gazelle_first_year[:n] <= year)).sum()) / s,
        # context and decomposition
        **{f"T01_{name}": v / WAN_PER_100M for name, v in zip(CONTRACT_TYPES, model.market.value_by_type)},
        "rd_enterprise": rd_ent,
        "rd_nonenterprise": rd_non,
        "firms_alive": float(live.sum()) / s,
        "incubated": float((live & (t.incubator[:n] >= 0)).sum()) / s,
        "firm_patents": firm_patents,
        "contracts": (model.market.contracts_firms + model.market.contracts_vouchers) / s
        + model.market.contracts_institutions,
        "institutions_share_T01": model.market.institutions_share(),
        "local_share_T01": model.market.value_local / WAN_PER_100M / max(model.market.turnover_100m(), 1e-12),
        "reform_transferred": float(sum(u.reform_transferred_total for u in inst)),
        "reform_spinoffs": float(sum(u.spinoffs_total for u in inst)),
        "reform_itemised": float(sum(u.itemised_total for u in inst)),
        "reform_units_covered": float(sum(u.reformed for u in inst)),
        "vc_deals": model.capital.deals_this_year / s,
        "spend_vouchers": model.policy.spending(year).get("vouchers", 0.0),
        "spend_rd_subsidy": model.policy.spending(year).get("rd_subsidy", 0.0),
    }
    return row
