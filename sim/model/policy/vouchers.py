"""Innovation vouchers (科技创新券, 小微企业服务补贴券; plan §6).

Mechanics, each month from the voucher stream: the year's budget is issued as vouchers of
``VOUCHER_VALUE`` to small local firms (revenue below ``SMALL_BUYER_REVENUE``); redeemed vouchers
pay ``GOV_SHARE`` of a technology service bought from a provider (a university or institute with
probability ``UNIV_PROVIDER_SHARE``, otherwise a firm). Additional purchases (``additionality``) are
real new services: the registered ones (``registered_share``) are contracts counted by T01 on the
provider's side, and the buyer acquires a technology (a conversion for its HNTE capability score)
and raises its R&D intensity (``rd_lift``). Deadweight vouchers pay for services that would have
happened anyway: they cost money and change nothing.

Cost: vouchers redeemed x their value (the public share of the price).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.params import MONTHS, WAN_PER_100M
from sim.model.policy.instrument import Instrument, Lever, effect

LEVER = Lever(
    name="voucher_budget",
    kind=float,
    unit="亿元 a year",
    lo=0,
    hi=50,
    plan=2.0,
    plan_source="assumption: plan §6 continues 科技创新券 with no amount; mechanisms.md §3 prior 0.5-2 亿/yr; plan "
    "value at the top of that range",
    history={2017: 0.3, 2018: 0.4, 2019: 0.5, 2020: 0.5, 2021: 0.8, 2022: 1.0, 2023: 1.0},
    history_source="assumption: voucher programmes ran at ~0.5-1 亿/yr (mechanisms.md §3 prior 0.5-2; no Shaanxi "
    "figure published)",
    section="§6",
)

VOUCHER_VALUE = 10.0  # 万元 per voucher: mechanisms.md §3, 5-20万 (guess)
GOV_SHARE = 0.4  # share of the service price the voucher pays: mechanisms.md §3, 0.3-0.5 (guess)
REDEEM = 0.9  # share of vouchers used: Cornet, Vroomen & van der Steeg 2006 (mechanisms.md §3)
SMALL_BUYER_REVENUE = (
    2000.0  # 万元: vouchers go to small and micro firms (assumption: below the above-scale bar)
)
PRICE_SIGMA = 0.5  # sd of log service price (assumption)
UNIV_PROVIDER_SHARE = 0.5  # assumption: half of voucher-funded services come from universities and institutes


@dataclass(frozen=True)
class Effects:
    additionality: float = effect(
        0.65,
        0.5,
        0.8,
        "share of redeemed vouchers buying a service that would not happen otherwise",
        "mechanisms.md §3: 0.8 of issued in the Dutch lottery (Cornet et al. 2006); 0.5-0.8 for China (guess)",
    )
    registered_share: float = effect(
        0.45,
        0.3,
        0.6,
        "share of voucher-funded services registered as technology contracts",
        "mechanisms.md §3: 0.3-0.6 (small contracts often go unregistered; guess)",
    )
    rd_lift: float = effect(
        0.003,
        0.0,
        0.01,
        "R&D intensity points a buyer adds after an additional voucher service",
        "guess anchored on Cornet et al. long run: more R&D and WBSO take-up (mechanisms.md §3)",
    )


class Vouchers(Instrument):
    stream = "vouchers"  # random-stream key (stable across renames)
    summary = "Small firms' vouchers buy technology services from providers; additional ones become registered service contracts, and the buyer acquires a technology and raises its R&D."
    unit_costs = (
        "10万 per voucher redeemed (mechanisms.md §3: 5-20万, guess); the voucher pays 40% of the price",
    )
    lever = LEVER
    Effects = Effects
    primary_outcome = "T01"

    def act(self, month: int, year: int) -> None:
        """This month's vouchers: issue, redeem, buy services, register contracts, book the cost."""
        m, e = self.model, self.effects
        rng = self.rng()
        t = m.firms.table
        n = t.n
        issued = rng.poisson(self.level(year) * WAN_PER_100M / VOUCHER_VALUE / MONTHS * m.scale)
        small = np.flatnonzero(t.alive[:n] & (t.revenue[:n] < SMALL_BUYER_REVENUE))
        if issued == 0 or small.size == 0:
            return
        redeemed = int(rng.binomial(issued, REDEEM))
        extra = int(rng.binomial(redeemed, min(1.0, e.additionality / REDEEM)))
        buyers = rng.choice(small, size=extra, replace=True)
        m.firms.acquire_technology(buyers, rd_lift=e.rd_lift)
        registered = int(rng.binomial(extra, e.registered_share))
        price = VOUCHER_VALUE / GOV_SHARE * np.exp(PRICE_SIGMA * rng.standard_normal(registered))
        by_institution = rng.random(registered) < UNIV_PROVIDER_SHARE
        # a voucher drawn at scale s stands for 1/s real ones: its value and its count (``TechMarket.book``)
        m.market.book(price[by_institution], "service", "institution", local=True, weight=1 / m.scale)
        m.market.book(price[~by_institution], "service", "firm", local=True, weight=1 / m.scale)
        self.book(year, "vouchers redeemed", redeemed / m.scale, VOUCHER_VALUE / WAN_PER_100M)
