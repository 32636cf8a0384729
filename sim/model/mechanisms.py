"""The uncertain behaviour parameters grouped by the mechanism they belong to.

Studies report uncertainty by mechanism (``sensitivity``, ``discovery``, ``monitoring``), so that "the
dominant uncertainty" names something a research office can act on (what data would narrow it), not "the
behaviour posterior" as one block. Every calibrated parameter (``BehaviourParams`` with a prior) belongs
to exactly one group; ``tests/test_mechanisms.py`` checks it.
"""

from __future__ import annotations

#: group -> (what it is, in words; the data that would narrow it)
GROUPS: dict[str, tuple[str, str]] = {
    "demand": (
        "demand for technology and the T01 driver: the national market's growth, contract values, sellers' "
        "capacity",
        "the national technology-contract turnover of 2024-25 and Shaanxi's share; contract counts and values",
    ),
    "entry_growth": (
        "entry and growth of firms: founding flow, entrants' size, revenue growth and its fade",
        "new tech-SME registrations and HNTE first certifications; firm revenue aggregates",
    ),
    "certification": (
        "certification take-up: the tech-SME registry, HNTE applications, renewals and the provincial push",
        "the registry's mid-year count and the HNTE recognition lists of 2024-25",
    ),
    "rd_behaviour": (
        "R&D behaviour: firms' R&D intensity, its drift and size gradient, bunching and relabelling at the "
        "HNTE notch",
        "enterprise R&D (statistical scope) of 2024-25",
    ),
    "patenting": (
        "patenting: applications per yuan of R&D, its growth, university patents",
        "invention patents granted in 2024-25",
    ),
    "reforms": (
        "the reforms' pipeline: university and institute R&D, achievements, itemisation, transfers",
        "the reforms' itemised and transferred achievements; non-enterprise R&D",
    ),
    "incubation": (
        "what incubation does to tenants: the incubators' effects on registration, growth and exit "
        "(calibrated on 2017-2023 beside the behaviour)",
        "carriers' tenant statistics: tenants' tech-SME registrations, revenue growth and exits",
    ),
    "transfer_effects": (
        "what the reforms and the transfer institutions add: a reformed unit's contract supply, brokered "
        "deals and their additionality (calibrated on 2017-2023 beside the behaviour)",
        "contracts of reformed units; transfers brokered by the institutions",
    ),
}

#: parameter -> group (names of every era of BehaviourParams; unknown names fail the test)
MECHANISM: dict[str, str] = {
    # demand and the T01 driver
    "contract_rate": "demand",
    "contract_knowledge_elasticity": "demand",
    "hte_seller_lift": "demand",
    "supply_elasticity": "demand",
    "contract_value_median": "demand",
    "contract_value_growth": "demand",
    "national_growth_persistence": "demand",
    "national_growth_longrun": "demand",
    "univ_contract_rate": "demand",
    # entry and growth
    "entry_start": "entry_growth",
    "entry_growth": "entry_growth",
    "entrant_revenue_median": "entry_growth",
    "revenue_growth": "entry_growth",
    "trend_halflife": "entry_growth",
    # certification take-up
    "techsme_takeup_2018": "certification",
    "techsme_takeup_2019": "certification",
    "techsme_takeup_max": "certification",
    "techsme_takeup_speed": "certification",
    "techsme_takeup_midyear": "certification",
    "techsme_renew_prob": "certification",
    "superdeduction_2023": "certification",
    "conversion_rd_cost": "certification",
    "hte_apply_prob": "certification",
    "hte_push_midyear": "certification",
    "hte_push_speed": "certification",
    "hte_push_score": "certification",
    "hte_recert_rate": "certification",
    "zjtx_apply_prob": "certification",
    # R&D behaviour
    "rd_intensity_median": "rd_behaviour",
    "rd_drift": "rd_behaviour",
    "rd_size_elasticity": "rd_behaviour",
    "bunching_prob": "rd_behaviour",
    "relabel_share": "rd_behaviour",
    # patenting
    "patent_rate": "patenting",
    "patent_propensity_growth": "patenting",
    "univ_patents_per_100m": "patenting",
    # the reforms' pipeline
    "nonenterprise_rd_growth": "reforms",
    "commercialisation_hazard": "reforms",
    "itemise_rate": "reforms",
    "achievements_per_100m": "reforms",
    # lever effects the history pins
    "incubator_takeup_boost": "incubation",
    "incubator_growth_boost": "incubation",
    "incubator_exit_factor": "incubation",
    "reform_supply_multiplier": "transfer_effects",
    "transfer_institution_deals": "transfer_effects",
    "transfer_institution_additionality": "transfer_effects",
}


def mechanism_of(parameter: str) -> str:
    """The group of a behaviour parameter (``KeyError`` naming it when it has none)."""
    try:
        return MECHANISM[parameter]
    except KeyError:
        raise KeyError(
            f"behaviour parameter {parameter!r} has no mechanism group (sim/model/mechanisms.py)"
        ) from None


def groups_of(parameters) -> dict[str, list[str]]:
    """``{group: [parameters]}`` for the given parameters, groups in ``GROUPS`` order."""
    out: dict[str, list[str]] = {g: [] for g in GROUPS}
    for name in parameters:
        out[mechanism_of(name)].append(name)
    return {g: names for g, names in out.items() if names}
