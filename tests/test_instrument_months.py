"""Instruments' rules, read off one instrument acting on a real model state.

``tests/test_instruments.py`` checks every instrument's direction, ledger and history; these tests check
the documented mechanics of an instrument's monthly action number by number: how many it issues, who
receives, what the market registers, what the ledger books. The model is run to June 2025 with the lever
far past the plan, then the instrument's ``act`` is called for twelve consecutive months on that state (each
month draws from its own random stream, keyed by the model's clock), so the counts are large enough to compare with their rule.

Tolerances are 5 standard deviations of the counts' own sampling noise (binomial or Poisson), stated per
check: a correct rule fails with probability below 1e-6, a rule off by a factor of 1.3 or more fails.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import pytest

from sim.model import InnovationModel
from sim.model.agents.firms import RD_INTENSITY_CAP
from sim.model.evaluate import release
from sim.model.params import FIRST_YEAR, MONTHS, WAN_PER_100M
from sim.model.policy import LEVERS, PolicyLevers

SCALE = 0.05
YEAR = 2025
JANUARY = (YEAR - FIRST_YEAR) * MONTHS
JUNE = JANUARY + 5
CALLS = 12
SDS = 5.0


def act_months(m, inst, dated: str | None = None) -> np.ndarray | None:
    """``inst.act`` for ``CALLS`` months from June 2025 on the paused state. The model's clock moves with
    them, because an instrument's random stream is keyed by ``model.month``; it is put back after. With
    ``dated``, a firm-table column of months: the rows (of those there before) it dates to one of these months."""
    n = m.firms.table.n
    hit = np.zeros(n, dtype=bool)
    for k in range(CALLS):
        m.month = JUNE + k
        inst.act(JUNE + k, YEAR)
        if dated:
            hit |= getattr(m.firms.table, dated)[:n] == JUNE + k
    m.month = JUNE
    return hit if dated else None


@contextmanager
def acting(lever: str, value, month: int = JUNE):
    """``(model, instrument, its effects, the firm table)``: a model (seed 5) with ``lever`` at ``value``,
    stopped before ``month``'s step (June 2025 by default); the model is released after."""
    levers = replace(PolicyLevers(), **{lever: LEVERS[lever].kind(value)})
    m = InnovationModel(levers=levers, seed=5, scale=SCALE, end_year=2026)
    try:
        while m.month < month:
            m.step()
        inst = m.policy[lever]
        yield m, inst, inst.effects, m.firms.table
    finally:
        release(m)


def recording_bookings(m) -> list[dict]:
    """Every ``market.book`` call from here on, with its arguments (the calls still book)."""
    calls, book = [], m.market.book

    def record(values, kind, seller, local=False, weight=1.0):
        values = np.asarray(values, dtype=float)
        calls.append({"values": values, "kind": kind, "seller": seller, "local": local, "weight": weight})
        book(values, kind, seller, local, weight)

    m.market.book = record
    return calls


def near(observed: float, expected: float, sd: float) -> bool:
    return abs(observed - expected) <= SDS * sd


def market_state(m) -> dict:
    mk = m.market
    return {
        "value": dict(mk.value),
        "contracts": dict(mk.contracts),
        "local": float(mk.value_local),
        "by_type": np.array(mk.value_by_type, dtype=float),
    }


def test_a_year_of_vouchers_follows_the_voucher_rules():
    """Vouchers at 40 亿元 a year (``sim/model/policy/vouchers.py``): each month issues Poisson(budget /
    ``VOUCHER_VALUE`` / 12 x scale) vouchers; ``REDEEM`` of them are redeemed and booked at real scale at
    10万 each; ``additionality`` of the redeemed buy a new service, only by live small firms (revenue below
    ``SMALL_BUYER_REVENUE``), each a technology bought and ``rd_lift`` of R&D intensity; ``registered_share`` of
    those are local service contracts, ``UNIV_PROVIDER_SHARE`` of them sold by institutions, at a mean price
    of ``VOUCHER_VALUE`` / ``GOV_SHARE`` x exp(sigma^2 / 2)."""
    from sim.model.policy import vouchers as v

    budget = 40.0
    with acting("voucher_budget", budget) as (m, inst, e, t):
        n = t.n
        small = t.alive[:n] & (t.revenue[:n] < v.SMALL_BUYER_REVENUE)
        bought, rd = t.tech_bought[:n].copy(), t.rd_intensity[:n].copy()
        key = (YEAR, "voucher_budget", "vouchers redeemed")
        ledger_before = m.policy.ledger.rows.get(key, [0.0, 0.0, 0.0])[:]
        before = market_state(m)
        booked = recording_bookings(m)
        act_months(m, inst)
        assert t.n == n  # vouchers found no firm

        # issued and redeemed: Poisson(mu) thinned by REDEEM is Poisson(mu x REDEEM), sd sqrt(mean)
        row = m.policy.ledger.rows[key]
        redeemed = (row[0] - ledger_before[0]) * m.scale
        mean_redeemed = CALLS * budget * WAN_PER_100M / v.VOUCHER_VALUE / MONTHS * SCALE * v.REDEEM
        assert near(redeemed, mean_redeemed, np.sqrt(mean_redeemed)), (redeemed, mean_redeemed)
        assert row[2] - ledger_before[2] == pytest.approx(redeemed / m.scale * v.VOUCHER_VALUE / WAN_PER_100M)

        # buyers: live small firms only; one technology per additional voucher, each with its R&D lift
        gained = t.tech_bought[:n] - bought
        assert gained.sum() > 0 and not (gained[~small] > 0).any()
        extra = int(gained.sum())
        p_extra = min(1.0, e.additionality / v.REDEEM)
        assert near(extra, redeemed * p_extra, np.sqrt(redeemed * p_extra * (1 - p_extra))), (extra, redeemed)
        lifted = t.rd_intensity[:n] - rd
        once = (gained == 1) & (rd + e.rd_lift < RD_INTENSITY_CAP)  # below the cap: the whole lift
        np.testing.assert_allclose(lifted[once], e.rd_lift)

        # registered services: local service contracts, split between institutions and firms
        sold = {s: [c for c in booked if c["seller"] == s] for s in ("institution", "firm")}
        assert {c["seller"] for c in booked} == set(sold)  # no other seller
        assert all(c["kind"] == "service" and c["local"] is True for c in booked)
        registered = sum(c["values"].size for c in booked)
        q = e.registered_share
        assert near(registered, extra * q, np.sqrt(extra * q * (1 - q))), (registered, extra)
        u = v.UNIV_PROVIDER_SHARE
        by_institution = sum(c["values"].size for c in sold["institution"])
        assert near(by_institution, registered * u, np.sqrt(registered * u * (1 - u))), (
            by_institution,
            registered,
        )
        # the market's registered value (real scale) is the booked contracts', every one local
        after = market_state(m)
        value = sum(after["value"][s] - before["value"][s] for s in after["value"])
        assert value == pytest.approx(sum(float(c["values"].sum()) * c["weight"] for c in booked))
        assert after["local"] - before["local"] == pytest.approx(value)
        service = after["by_type"] - before["by_type"]
        assert service.max() == pytest.approx(value) and np.count_nonzero(service) == 1
        # mean price (real scale): lognormal mean, its sd / sqrt(count) as the noise
        mean_price = v.VOUCHER_VALUE / v.GOV_SHARE * np.exp(v.PRICE_SIGMA**2 / 2)
        price_sd = mean_price * np.sqrt(np.exp(v.PRICE_SIGMA**2) - 1)
        assert near(value * m.scale / registered, mean_price, price_sd / np.sqrt(registered))


def test_a_year_of_tech_credit_follows_the_loan_rules():
    """Tech credit at 2,000 亿元 a year (``sim/model/policy/tech_credit.py``): each month lends Poisson(volume /
    mean loan) loans of lognormal size (median ``LOAN_MEDIAN``), only to live registered tech SMEs and HNTE
    (registered or certified within a year), drawn by the square root of revenue; a borrower's loans are
    dated and summed, it spends ``rd_per_loan_yuan`` of each yuan on R&D, and the ledger books
    ``FISCAL_COST_SHARE`` of the volume at real scale."""
    from sim.model.policy import tech_credit as c

    level = 2000.0
    with acting("tech_credit", level) as (m, inst, e, t):
        n = t.n
        sme, hte = t.techsme_year[:n] >= YEAR - 1, t.hte_valid_until[:n] >= YEAR - 1
        ok = t.alive[:n] & (sme | hte)
        assert 0 < ok.sum() < t.alive[:n].sum()  # the rule excludes some live firms
        loans, rd = t.loans_total[:n].copy(), t.rd_ytd[:n].copy()
        key = (YEAR, "tech_credit", "loans")
        ledger_before = m.policy.ledger.rows.get(key, [0.0, 0.0, 0.0])[:]
        borrowed = act_months(m, inst, dated="credit_month")
        lent = t.loans_total[:n] - loans
        assert (lent[borrowed] > 0).all() and (lent[~borrowed] == 0).all()
        assert not (borrowed & ~ok).any()  # only eligible firms borrow
        assert (borrowed & sme & ~hte).any() and (borrowed & hte & ~sme).any()  # either qualification will do
        assert (borrowed & (t.techsme_year[:n] == YEAR - 1) & ~hte).any()  # last year's registration counts
        # the volume: a Poisson number of lognormal loans; its sd from both (compound Poisson: sqrt(k E[L^2]))
        mean_loan = c.LOAN_MEDIAN * np.exp(c.LOAN_SIGMA**2 / 2)
        volume = CALLS * level / MONTHS * WAN_PER_100M * SCALE
        sd = np.sqrt(volume / mean_loan * c.LOAN_MEDIAN**2 * np.exp(2 * c.LOAN_SIGMA**2))
        assert near(lent.sum(), volume, sd), (lent.sum(), volume)
        row = m.policy.ledger.rows[key]
        assert row[0] - ledger_before[0] == pytest.approx(lent.sum() / m.scale / WAN_PER_100M)
        assert row[2] - ledger_before[2] == pytest.approx((row[0] - ledger_before[0]) * c.FISCAL_COST_SHARE)
        np.testing.assert_allclose((t.rd_ytd[:n] - rd)[borrowed], e.rd_per_loan_yuan * lent[borrowed])
        # for UPLIFT_MONTHS after its loan a borrower exits at hazard + extra_default, and grows growth_uplift
        # faster if it is young (under YOUNG_YEARS)
        last = JUNE + CALLS - 1
        recent = (last - t.credit_month[:n]) < c.UPLIFT_MONTHS  # this year's borrowers and last year's
        assert (recent & ~borrowed).any()
        factor = inst.exit_factor(last)
        base = m.firms.base_exit_hazard(last)
        np.testing.assert_allclose(factor[:n][recent] * base[:n][recent], base[:n][recent] + e.extra_default)
        assert (factor[:n][~recent] == 1).all()
        young = (last - t.birth_month[:n]) < c.YOUNG_YEARS * MONTHS
        boost = inst.growth_boost(last)
        assert (boost[:n][recent & young] == e.growth_uplift).all() and (recent & young).any()
        assert (boost[:n][~(recent & young)] == 0).all() and (recent & ~young).any()
        after = JUNE + c.UPLIFT_MONTHS  # June's borrowers are past their window, May 2026's are not
        june = t.credit_month[:n] == JUNE
        assert (inst.growth_boost(after)[:n][june] == 0).all() and (
            inst.exit_factor(after)[:n][june] == 1
        ).all()
        # drawn by sqrt(revenue): a firm with weight w is among k draws with probability 1 - (1 - w)^k, so the
        # borrowers' mean sqrt-revenue is where that puts it, not where a uniform draw would
        root = np.sqrt(t.revenue[:n][ok])
        k = volume / mean_loan
        chosen = 1.0 - (1.0 - root / root.sum()) ** k
        weighted, uniform = (chosen * root).sum() / chosen.sum(), root.mean()
        assert weighted > 1.2 * uniform, (weighted, uniform)  # the two rules are distinguishable here
        got = np.sqrt(t.revenue[:n][borrowed]).mean()
        assert abs(got - weighted) < abs(got - uniform), (got, weighted, uniform)


def test_the_contracts_an_instrument_books_count_at_real_scale():
    """The market counts contracts at real scale (``Market.contracts``, as ``_draw`` and ``book_transfers`` do):
    a contract an instrument books at a model of scale s stands for 1/s real ones, as its value does."""
    with acting("voucher_budget", 40.0) as (m, inst, _, _):
        before = market_state(m)
        booked = recording_bookings(m)
        act_months(m, inst)
        registered = sum(c["values"].size for c in booked)
        assert registered > 0
        counted = sum(m.market.contracts.values()) - sum(before["contracts"].values())
        assert counted == pytest.approx(registered / m.scale)


def test_a_year_of_roadshows_follows_the_roadshow_rules():
    """Roadshows at 3,000 events (``sim/model/policy/roadshows.py``), the year's action in January 2025: five
    projects an event, half firms and half university results. Poisson(firm projects x scale) live young
    firms (under ``PITCH_AGE_YEARS``) pitch once each: dated, their revenue raised by ``revenue_lift``, and
    funds weigh them ``1 + funding_weight`` in their deal flow for 12 months. Binomial(result projects,
    ``close_rate``) results close transfers out of the institutions' stocks, each a registered local licence
    contract and a technology for local buyers; the ledger books the events at ``COST_PER_EVENT``."""
    from sim.model.policy import roadshows as r

    events = 3000
    with acting("roadshows_per_year", events, month=JANUARY) as (m, inst, e, t):
        n = t.n
        young = t.alive[:n] & ((m.month - t.birth_month[:n]) < r.PITCH_AGE_YEARS * MONTHS)
        revenue, bought = t.revenue[:n].copy(), t.tech_bought[:n].copy()
        moved_before = sum(u.transferred for u in m.institutions)
        booked = recording_bookings(m)
        inst.open_year(YEAR)
        org = m.intermediaries.roadshows
        assert (org.events, org.projects) == (events, events * r.PROJECTS_PER_EVENT)
        row = m.policy.ledger.rows[(YEAR, "roadshows_per_year", "events")]
        assert row[0] == events and row[2] == pytest.approx(events * r.COST_PER_EVENT)

        pitched = t.roadshow_month[:n] == m.month
        mean = org.projects * r.FIRM_SHARE * SCALE
        assert near(pitched.sum(), mean, np.sqrt(mean)), (pitched.sum(), mean)
        assert not (pitched & ~young).any()  # only live young firms pitch
        np.testing.assert_allclose(t.revenue[:n][pitched], revenue[pitched] * (1 + e.revenue_lift))
        assert (t.revenue[:n][~pitched] == revenue[~pitched]).all()
        weight = inst.deal_weight(m.month + MONTHS - 1)
        assert (weight[pitched] == 1 + e.funding_weight).all() and (weight[~pitched] == 1).all()
        assert (inst.deal_weight(m.month + MONTHS) == 1).all()  # 12 months, not 13

        moved = sum(u.transferred for u in m.institutions) - moved_before
        results = org.projects * (1 - r.FIRM_SHARE)
        closing = results * e.close_rate
        assert near(moved, closing, np.sqrt(closing * (1 - e.close_rate))), (moved, closing)
        assert [c["values"].size for c in booked] == [moved]
        assert booked[0]["kind"] == "transfer_licence_consulting" and booked[0]["local"] is True
        gained = (t.tech_bought[:n] - bought).sum()  # local buyers: Poisson(transfers x scale)
        assert gained > 0 and near(gained, moved * SCALE, np.sqrt(moved * SCALE)), (gained, moved)


def test_a_cultivation_pool_is_chosen_and_lifted_by_its_rules():
    """HNTE cultivation (``sim/model/policy/hte_cultivation.py``), January 2025 at 10,000 firms: Poisson(level x
    scale) members, only live registered tech SMEs without a valid certificate, the closest to HNTE's R&D bar
    first (3-year R&D over revenue against the bar of their revenue band, capped at 1); industrial members
    within ``XSG_BAND`` below the above-scale bar cross it with ``xsg_lift`` (revenue set just past it); this
    year's members apply, pass and score more by the lifts, others not; coaching is booked per member."""
    from sim.model.agents.certification import ABOVE_SCALE_REVENUE, SECTOR_INDUSTRY, hte_rd_threshold
    from sim.model.policy import hte_cultivation as h

    level = 10_000
    with acting("hte_cultivation", level, month=JANUARY) as (m, inst, e, t):
        n = t.n
        cand = t.alive[:n] & (t.techsme_year[:n] >= YEAR - 1) & (t.hte_valid_until[:n] < YEAR)
        assert cand.sum() > 1.5 * level * SCALE  # the draw, not the candidates, sets the number
        # every candidate in industry, alternately just inside and just outside the band below the above-scale
        # bar, so enough members are near it to see the crossing rule (~10 expected at xsg_lift 0.035)
        rows = np.flatnonzero(cand)
        t.sector[rows] = SECTOR_INDUSTRY
        below = np.where(np.arange(rows.size) % 2 == 0, 1 - h.XSG_BAND / 2, 1 - 1.5 * h.XSG_BAND)
        t.rev_hist[rows, 0] = t.revenue[rows] = below * ABOVE_SCALE_REVENUE
        rd3, rev3 = t.rd_hist[:n].sum(axis=1), t.rev_hist[:n, :3].sum(axis=1)
        ready = np.minimum(
            np.divide(rd3, rev3, out=np.zeros(n), where=rev3 > 0) / hte_rd_threshold(t.rev_hist[:n, 0]), 1.0
        )
        revenue = t.revenue[:n].copy()
        inst.open_year(YEAR)

        members = t.pool_year[:n] == YEAR
        assert not (members & ~cand).any()
        assert near(members.sum(), level * SCALE, np.sqrt(level * SCALE)), members.sum()
        # the readiest first: no candidate left out is readier than a member by more than the tie-break (0.01)
        assert ready[cand & ~members].max() <= ready[members].min() + 0.01
        row = m.policy.ledger.rows[(YEAR, "hte_cultivation", "pool members coached")]
        assert row[0] == pytest.approx(members.sum() / SCALE)
        assert row[2] == pytest.approx(members.sum() / SCALE * h.COACHING_PER_FIRM / WAN_PER_100M)

        rev = t.rev_hist[:n, 0]
        near_bar = (
            members
            & (t.sector[:n] == SECTOR_INDUSTRY)
            & (rev < ABOVE_SCALE_REVENUE)
            & (rev >= (1 - h.XSG_BAND) * ABOVE_SCALE_REVENUE)
        )
        crossed = t.revenue[:n] != revenue
        assert not (crossed & ~near_bar).any()
        k, p = near_bar.sum(), e.xsg_lift
        assert k * p > 5 and crossed.sum() > 0, (crossed.sum(), k)  # P(none) = exp(-5) at most
        assert near(crossed.sum(), k * p, np.sqrt(k * p * (1 - p))), (crossed.sum(), k)
        np.testing.assert_array_equal(
            t.revenue[:n][crossed], np.maximum(revenue[crossed], ABOVE_SCALE_REVENUE * 1.02)
        )

        apply, pass_, score = inst.hte_lift(YEAR)
        for lift, size in ((apply, e.apply_lift), (pass_, e.pass_lift), (score, e.score_lift)):
            assert (lift[members] == size).all() and (lift[~members] == 0).all()
        assert not inst.hte_lift(YEAR + 1)[0].any()  # membership is for the year

        # December: rewards for the members' first certificates and first above-scale entries only
        rng = np.random.default_rng(0)
        first_hte, first_above = rng.random(n) < 0.3, rng.random(n) < 0.2
        inst.close_year(YEAR, {"first_hte": first_hte, "first_above_scale": first_above})
        rewards = m.policy.ledger.rows
        hte, xsg = (
            rewards[(YEAR, "hte_cultivation", "first HNTE rewards")],
            rewards[(YEAR, "hte_cultivation", "小升规 rewards")],
        )
        assert hte[0] == pytest.approx((first_hte & members).sum() / SCALE) and (first_hte & ~members).any()
        assert hte[2] == pytest.approx(hte[0] * h.REWARD_FIRST_HNTE / WAN_PER_100M)
        assert xsg[0] == pytest.approx((first_above & members).sum() / SCALE)
        assert xsg[2] == pytest.approx(xsg[0] * h.REWARD_XSG / WAN_PER_100M)


def test_the_rd_coverage_campaign_converts_its_pool_by_its_rule():
    """R&D coverage at 1.0 (``sim/model/policy/rd_coverage.py``), January 2025: of the pool of non-reporting
    above-scale industrial firms, Binomial(pool x scale, (target - 2023 share) x ``efficacy``) start reporting:
    they join the table as mature industrial firms above the above-scale bar, with ``new_reporter_intensity``
    of R&D, ``relabel_share`` of it relabelled, and no R&D history; the pool shrinks by them at real scale and
    each is rewarded ``REWARD_PER_NEW_REPORTER``."""
    from sim.model.agents.certification import ABOVE_SCALE_REVENUE, SECTOR_INDUSTRY
    from sim.model.policy import rd_coverage as c

    with acting("rd_coverage", 1.0, month=JANUARY) as (m, inst, e, t):
        n, pool = t.n, inst.pool
        assert pool * SCALE > 100
        inst.open_year(YEAR)
        new = np.arange(n, t.n)
        k = new.size
        p = (1.0 - inst.lever.level_2023) * e.efficacy
        assert 0 < p < 1 and near(k, int(pool * SCALE) * p, np.sqrt(pool * SCALE * p * (1 - p))), (k, pool)
        assert inst.pool == pytest.approx(pool - k / SCALE)
        row = m.policy.ledger.rows[(YEAR, "rd_coverage", "new R&D reporters")]
        assert row[0] == pytest.approx(k / SCALE) and row[2] == pytest.approx(
            k / SCALE * c.REWARD_PER_NEW_REPORTER
        )
        assert t.alive[new].all() and (t.sector[new] == SECTOR_INDUSTRY).all()
        assert (t.revenue[new] >= ABOVE_SCALE_REVENUE * 1.02).all()
        assert (t.rd_intensity[new] == e.new_reporter_intensity).all()
        np.testing.assert_allclose(t.rd_real_share[new], 1.0 - e.relabel_share)
        assert (t.rd_hist[new] == 0).all() and (t.rd_real_last[new] == 0).all()
        assert ((m.month - t.birth_month[new]) >= 10 * MONTHS).all()  # mature firms
        # a target at the 2023 share pushes no one: no conversion, no reward
        m.policy.levers.rd_coverage = inst.lever.level_2023
        m.month += MONTHS
        inst.open_year(YEAR + 1)
        assert t.n == n + k and (YEAR + 1, "rd_coverage", "new R&D reporters") not in m.policy.ledger.rows


def test_open_licensing_offers_its_share_of_patents_to_small_licensees():
    """Open licensing at 1.0 (``sim/model/policy/open_licensing.py``), January 2025: the lever's share of the
    institutions' patents is offered (booked at ``COST_PER_OFFERED`` each); ``licensed`` of them find takers
    with ``licences_per_patent`` licences each, registered as local licence contracts at ``fee``; Poisson(licences
    x scale) small firms (revenue below ``SMALL_LICENSEE_REVENUE``) take a technology and patent
    ``adopter_uplift`` more for ``ADOPTION_YEARS``, once per licence they hold."""
    from sim.model.policy import open_licensing as o

    with acting("open_licensing", 1.0, month=JANUARY) as (m, inst, e, t):
        n = t.n
        small = t.alive[:n] & (t.revenue[:n] < o.SMALL_LICENSEE_REVENUE)
        bought = t.tech_bought[:n].copy()
        patents = m.institutions.totals()["patents"]
        booked = recording_bookings(m)
        inst.open_year(YEAR)
        offered = int(round(inst.level(YEAR) * patents))  # a build-up lever: 2025 is on its way to 1.0
        assert offered > 0.5 * patents
        row = m.policy.ledger.rows[(YEAR, "open_licensing", "patents offered")]
        assert row[0] == offered and row[2] == pytest.approx(offered * o.COST_PER_OFFERED)
        # licences: a Poisson mixture over Binomial(offered, licensed) patents
        mean = offered * e.licensed * e.licences_per_patent
        sd = np.sqrt(mean + offered * e.licensed * (1 - e.licensed) * e.licences_per_patent**2)
        (contracts,) = booked
        licences = contracts["values"].size
        assert near(licences, mean, sd), (licences, mean)
        assert contracts["kind"] == "transfer_licence_consulting" and contracts["local"] is True
        assert (contracts["values"] == e.fee).all() and contracts["seller"] == "institution"
        gained = t.tech_bought[:n] - bought
        assert not (gained[~small] > 0).any()
        assert near(gained.sum(), licences * SCALE, np.sqrt(licences * SCALE)), (gained.sum(), licences)
        this_year = inst.until == YEAR + o.ADOPTION_YEARS - 1
        # licensees are kept through their last year (2023's licensees through 2025), then dropped
        assert (inst.until >= YEAR).all() and (inst.until == YEAR).any()
        licensees, licensed = np.unique(inst.adopters[this_year], return_counts=True)
        assert (gained[licensees] == licensed).all() and gained.sum() == licensed.sum()
        holders, held = np.unique(inst.adopters, return_counts=True)  # this year's and the 2 before
        uplift = inst.patent_uplift(YEAR)
        np.testing.assert_allclose(uplift[holders], (1 + e.adopter_uplift) ** held)
        assert (np.delete(uplift, holders) == 1).all()


def transferred(m) -> tuple[int, int]:
    """The institutions' results moved out so far, and their spin-offs."""
    return sum(u.transferred for u in m.institutions), sum(u.spinoffs_total for u in m.institutions)


def test_proof_of_concept_centres_validate_and_transfer_by_their_rule():
    """Proof-of-concept centres at 400 (``sim/model/policy/poc_centres.py``), January 2025: the centres open to
    the lever's number; they validate Poisson(centres x ``projects``) results, split among them, each booked at
    ``GRANT_PER_PROJECT``; of those, the success rate above what two years of the institutions' own
    ``commercialisation_hazard`` would move anyway transfers (licence contracts, no local buyer)."""
    from sim.model.policy import poc_centres as pc

    with acting("poc_centres", 400, month=JANUARY) as (m, inst, e, t):
        moved_before, _ = transferred(m)
        bought = m.firms.table.tech_bought.copy()
        booked = recording_bookings(m)
        inst.open_year(YEAR)
        centres = m.intermediaries.pocs
        assert len(centres) == inst.level(YEAR) > 0
        validated = sum(c.validated for c in centres)
        mean = len(centres) * e.projects
        assert near(validated, mean, np.sqrt(mean)), (validated, mean)
        row = m.policy.ledger.rows[(YEAR, "poc_centres", "validated projects")]
        assert row[0] == validated and row[2] == pytest.approx(validated * pc.GRANT_PER_PROJECT)
        h = m.params.commercialisation_hazard
        p = e.success - (1 - (1 - h) ** 2)
        moved = transferred(m)[0] - moved_before
        assert p > 0 and near(moved, validated * p, np.sqrt(validated * p * (1 - p))), (moved, validated, p)
        assert [c["values"].size for c in booked] == [moved] and booked[0]["local"] is True
        assert (m.firms.table.tech_bought[: bought.size] == bought).all()  # no buyer named


def test_technology_transfer_institutions_broker_by_their_rule():
    """Technology-transfer institutions at 500 (``sim/model/policy/tech_transfer.py``), January 2025: the
    institutions open to the lever's number, each booked at ``SUBSIDY_PER_INSTITUTION``; they move Poisson(
    institutions x ``deals`` x ``additionality``) results out of the stocks, split among them, each a local
    licence contract whose local buyers (Poisson(moved x scale)) acquire the technology."""
    from sim.model.policy import tech_transfer as tt

    with acting("tech_transfer_institutions", 500, month=JANUARY) as (m, inst, e, t):
        n = t.n
        moved_before, _ = transferred(m)
        bought = t.tech_bought[:n].copy()
        booked = recording_bookings(m)
        inst.open_year(YEAR)
        group = m.intermediaries.ttis
        assert len(group) == inst.level(YEAR) > 0
        row = m.policy.ledger.rows[(YEAR, "tech_transfer_institutions", "institutions supported")]
        assert row[0] == len(group) and row[2] == pytest.approx(len(group) * tt.SUBSIDY_PER_INSTITUTION)
        moved = transferred(m)[0] - moved_before
        mean = len(group) * e.deals * e.additionality
        assert near(moved, mean, np.sqrt(mean)), (moved, mean)
        assert sum(x.brokered for x in group) == moved
        assert [c["values"].size for c in booked] == [moved] and booked[0]["local"] is True
        gained = (t.tech_bought[:n] - bought).sum()
        assert near(gained, moved * SCALE, np.sqrt(moved * SCALE)), (gained, moved)


def test_rd_subsidy_awards_are_the_rate_of_the_increment_capped_and_paid_next_year():
    """The increment award (``sim/model/policy/rd_subsidy.py``): an eligible firm is paid the year's rate times
    its R&D increment (none for a fall), at most ``AWARD_CAP`` a firm, booked in the next year at real scale;
    eligibility needs the R&D survey and either ``RD_FLOOR`` of R&D at ``XIAN_RD_INTENSITY_BAR`` intensity or
    ``RD_LARGE`` of R&D."""
    from sim.model.policy import rd_subsidy as r

    m = InnovationModel(seed=1, scale=SCALE, end_year=2024)
    try:
        inst = m.policy["rd_subsidy_rate"]
        rate = inst.level(2024)
        assert rate > 0
        increment = np.array([100.0, -50.0, 2 * r.AWARD_CAP / rate, 100.0])
        eligible = np.array([True, True, True, False])
        inst.pay_awards(2024, increment, eligible)
        assert (2024, "rd_subsidy_rate", "increment awards") not in m.policy.ledger.rows
        row = m.policy.ledger.rows[(2025, "rd_subsidy_rate", "increment awards")]
        assert row[2] == pytest.approx((rate * 100.0 + r.AWARD_CAP) / SCALE / WAN_PER_100M)

        rd = np.array([r.RD_FLOOR, r.RD_FLOOR, r.RD_FLOOR * 0.99, r.RD_LARGE, r.RD_LARGE])
        intensity = np.array([r.XIAN_RD_INTENSITY_BAR, r.XIAN_RD_INTENSITY_BAR * 0.99, 1.0, 0.0, 0.0])
        survey = np.array([True, True, True, True, False])
        assert inst.eligible(rd, intensity, survey).tolist() == [True, False, False, True, False]
    finally:
        release(m)


def test_key_technology_projects_pair_leaders_and_solvers_and_pay_them_by_their_rule():
    """Key-technology projects at 1,500 a year (``sim/model/policy/key_tech_projects.py``), January 2025:
    Poisson(level x scale) new projects, each led by a live above-scale firm with at least ``LEADER_MIN_RD`` of
    R&D and solved by an institution (``INSTITUTION_SOLVER_SHARE``) or a live firm, never both, for
    ``DURATION_YEARS``. Each active project spends grant x (1 + ``cofunding_ratio``) a year: the solver gets
    ``SOLVER_SHARE`` of it (firm R&D or the unit's extra R&D), the leader the rest plus ``additional_rd`` x the
    grant; ``registered_share`` of the solvers' parts are local development contracts sold by the solver's side;
    the ledger books the project-years at the grant a year."""
    from sim.model.agents.certification import above_scale
    from sim.model.policy import key_tech_projects as kt

    level = 1500
    with acting("key_tech_projects", level, month=JANUARY) as (m, inst, e, t):
        n = t.n
        alive = t.alive[:n].copy()
        leader_ok = (
            alive & above_scale(t.sector[:n], t.rev_hist[:n, 0]) & (t.rd_hist[:n, 0] >= kt.LEADER_MIN_RD)
        )
        rd, bought = t.rd_ytd[:n].copy(), t.tech_bought[:n].copy()
        unit_rd = np.array([u.extra_rd for u in m.institutions])
        booked = recording_bookings(m)
        inst.open_year(YEAR)

        new = inst.last_year == YEAR + kt.DURATION_YEARS - 1
        assert near(new.sum(), level * SCALE, np.sqrt(level * SCALE)), new.sum()
        assert (inst.last_year >= YEAR).all() and (~new).any()  # last year's cohort runs on
        assert leader_ok[inst.leader[new]].all()
        by_firm = inst.solver_firm >= 0
        assert ((inst.solver_unit >= 0) != by_firm).all()  # one solver each
        assert (inst.solver_unit[by_firm] == -1).all() and (inst.solver_firm[~by_firm] == -1).all()
        solvers = inst.solver_firm[new & by_firm]
        assert alive[solvers].all() and (t.rd_hist[solvers, 0] > 0).all()  # drawn by last year's R&D
        assert np.unique(solvers).size > 1
        k, s = new.sum(), kt.INSTITUTION_SOLVER_SHARE
        assert near((new & ~by_firm).sum(), k * s, np.sqrt(k * s * (1 - s)))

        grant = kt.GRANT_PER_PROJECT / kt.DURATION_YEARS
        spend = grant * (1 + e.cofunding_ratio)
        to_solver = kt.SOLVER_SHARE * spend
        lead = (1 - kt.SOLVER_SHARE) * spend + e.additional_rd * grant
        expected = np.bincount(inst.leader, minlength=n) * lead
        expected += np.bincount(inst.solver_firm[by_firm], minlength=n) * to_solver
        np.testing.assert_allclose(t.rd_ytd[:n] - rd, expected * alive)
        per_unit = np.bincount(inst.solver_unit[~by_firm], minlength=unit_rd.size)
        got = np.array([u.extra_rd for u in m.institutions]) - unit_rd
        np.testing.assert_allclose(got, per_unit * to_solver / SCALE / WAN_PER_100M)

        sellers = {c["seller"]: c for c in booked}
        assert set(sellers) <= {"firm", "institution"} and all(c["local"] is True for c in booked)
        # each registered project stands for 1/SCALE real ones: its value and its count (``TechMarket.book``)
        assert all(
            c["kind"] == "development" and (c["values"] == to_solver).all() and c["weight"] == 1 / SCALE
            for c in booked
        )
        registered = sum(c["values"].size for c in booked)
        active, q = inst.leader.size, e.registered_share
        assert near(registered, active * q, np.sqrt(active * q * (1 - q))), (registered, active)
        firm_share = sellers["firm"]["values"].size / registered
        assert abs(firm_share - by_firm.mean()) < SDS * np.sqrt(
            by_firm.mean() * (1 - by_firm.mean()) / registered
        )
        row = m.policy.ledger.rows[(YEAR, "key_tech_projects", "project-years funded")]
        assert row[0] == pytest.approx(active / SCALE) and row[2] == pytest.approx(
            active / SCALE * grant / WAN_PER_100M
        )

        # a project yields its technology when it ends, with probability ``success``: none in 2025, and in
        # 2026 the leaders of 2024's projects
        assert (t.tech_bought[:n] == bought).all()
        ending = inst.leader[inst.last_year == YEAR + 1]
        m.month += MONTHS
        inst.open_year(YEAR + 1)
        gained = t.tech_bought[:n] - bought
        assert not np.delete(gained, ending).any()  # no one else
        k, p = ending.size, e.success
        assert near(gained.sum(), k * p, np.sqrt(k * p * (1 - p))), (gained.sum(), k)


def test_talent_recruits_are_placed_and_paid_by_their_rule():
    """Talents at 10,000 recruits (``sim/model/policy/talents.py``), January 2025: Poisson(recruits x
    ``share_in_firms`` x scale) join firms drawn by last year's R&D, each bringing ``TEAM_SIZE`` S&T staff (the
    host's S&T share rises by the team over its staff, capped at 1); Poisson(recruits x the rest) join
    institutions drawn by their R&D; each stays ``UPLIFT_YEARS``, and the ledger books every recruit at real
    scale at ``COST_PER_RECRUIT``."""
    from sim.model.policy import talents as tl

    recruits = 10_000
    with acting("talents", recruits, month=JANUARY) as (m, inst, e, t):
        n = t.n
        share = t.st_share[:n].copy()
        firms_before, units_before = inst.firm_rows.size, inst.unit_idx.size
        inst.open_year(YEAR)
        until = YEAR + tl.UPLIFT_YEARS - 1
        rows = inst.firm_rows[firms_before:]
        units = inst.unit_idx[units_before:]
        assert (inst.firm_until[firms_before:] == until).all() and (
            inst.unit_until[units_before:] == until
        ).all()
        mean_firm, mean_unit = recruits * e.share_in_firms * SCALE, recruits * (1 - e.share_in_firms)
        assert near(rows.size, mean_firm, np.sqrt(mean_firm)) and near(
            units.size, mean_unit, np.sqrt(mean_unit)
        )
        assert (t.rd_hist[rows, 0] > 0).all() and t.alive[rows].all()
        staff = np.maximum(1.0, t.rev_hist[:n, 0] / t.productivity[:n])
        added = np.bincount(rows, minlength=n) * tl.TEAM_SIZE / staff
        np.testing.assert_allclose(t.st_share[:n], np.clip(share + added, 0, 1))
        row = m.policy.ledger.rows[(YEAR, "talents", "recruits")]
        assert row[0] == pytest.approx(rows.size / SCALE + units.size)
        assert row[2] == pytest.approx(row[0] * tl.COST_PER_RECRUIT)


def test_high_energy_carriers_found_pushed_firms_and_lift_only_their_tenants():
    """High-energy incubators at 300 (``sim/model/policy/high_energy_incubators.py``): each month their carriers
    (not the provincial ones) found Poisson(carriers x ``pushes`` / 12 x scale) firms from pushed results; their
    own tenants grow by the carriers' tenant boost x (1 + ``extra_boost``) and exit at the tenant factor, other
    firms (the provincial carriers' tenants too) are untouched; the ledger books the carriers' grants."""
    from sim.model.agents.carriers import HIGH_ENERGY, PROVINCIAL
    from sim.model.agents.firms import ORIGIN_PUSHED
    from sim.model.policy import high_energy_incubators as he

    with acting("high_energy_incubators", 300) as (m, inst, e, t):
        carriers = m.incubators
        count = carriers.count(HIGH_ENERGY)
        assert 0 < count < carriers.count(PROVINCIAL)  # the provincial ones would found more
        t = m.firms.table
        n = t.n
        founded = []
        for k in range(CALLS):
            m.month = JUNE + k
            founded.append(inst.found_firms(JUNE + k))
        m.month = JUNE
        rows = np.concatenate(founded)
        np.testing.assert_array_equal(rows, np.arange(n, t.n))
        assert (t.origin[rows] == ORIGIN_PUSHED).all()
        mean = CALLS * count * e.pushes / MONTHS * SCALE
        assert near(rows.size, mean, np.sqrt(mean)), (rows.size, mean)

        own, provincial = carriers.tenants_of(HIGH_ENERGY), carriers.tenants_of(PROVINCIAL)
        assert own.any() and provincial.any()
        boost, factor = inst.growth_boost(JUNE), inst.exit_factor(JUNE)
        assert (boost[own] == carriers.tenant_growth_boost * (1 + e.extra_boost)).all() and (
            boost[~own] == 0
        ).all()
        assert (factor[own] == carriers.tenant_exit_factor).all() and (factor[~own] == 1).all()
        assert carriers.tenant_growth_boost > 0 and carriers.tenant_exit_factor < 1
        row = m.policy.ledger.rows[(YEAR, "high_energy_incubators", "operating grants")]
        assert row[0] == count and row[2] == pytest.approx(count * he.GRANT_PER_CARRIER)


def test_the_ledger_refuses_negative_spending_naming_the_item():
    from sim.model.policy.instrument import Ledger

    ledger = Ledger()
    for quantity, cost in ((-1.0, 1.0), (1.0, -1.0), (-1.0, -1.0)):
        with pytest.raises(ValueError, match="vouchers.redeemed: negative spending"):
            ledger.book(2025, "vouchers", "redeemed", quantity, cost)
    ledger.book(2025, "vouchers", "redeemed", 2.0, 0.5)
    ledger.book(2025, "vouchers", "redeemed", 1.0, 0.5)
    assert ledger.total(2025, "vouchers") == pytest.approx(1.5) and ledger.total(2024) == 0


def test_a_year_of_fund_rounds_is_booked_at_the_governments_share():
    """Funds at 1,500 亿元 (``sim/model/policy/funds.py``): the tickets of each month's rounds are the funded
    firms' new equity (their rounds dated that month), and the ledger books the government's share
    (``gov_share``) of the volume at real scale."""
    with acting("fund_size", 1500.0) as (m, inst, e, t):
        n = t.n
        equity = t.funding_total[:n].copy()
        key = (YEAR, "fund_size", "public capital invested")
        before = m.policy.ledger.rows.get(key, [0.0, 0.0, 0.0])[:]
        funded = act_months(m, inst, dated="funded_month")
        raised = t.funding_total[:n] - equity
        assert funded.sum() > 10 and (raised[funded] > 0).all() and (raised[~funded] == 0).all()
        row = m.policy.ledger.rows[key]
        assert row[0] - before[0] == pytest.approx(raised.sum() / SCALE / WAN_PER_100M)
        assert row[2] - before[2] == pytest.approx((row[0] - before[0]) * inst.effects.gov_share)
