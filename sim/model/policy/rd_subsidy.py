"""R&D input increment awards (制造业企业研发投入增量奖补; plan §6).

Mechanics, each December when firms plan next year's R&D: eligible firms (Xi'an rule: in the R&D
survey, R&D >= 100万 and intensity >= 1.72 %, or R&D >= 1,000万; mechanisms.md §4.1) expect the award
rate on any increase and raise planned increases by the factor 1 / (1 - response x rate): each
subsidy yuan brings ``response`` yuan of own R&D (no crowding out at 1). Part of the induced increase
is relabelled (``BehaviourParams.relabel_share``), which the R&D statistics do not count as real.
Awards for a year's increment are paid the next year (Xi'an 2019 trial rules: 次年兑现), capped per
firm.

Cost: awards paid = rate x last year's R&D increment of eligible firms, capped at ``AWARD_CAP``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.params import WAN_PER_100M
from sim.model.policy.instrument import Instrument, Lever, effect

LEVER = Lever(
    name="rd_subsidy_rate",
    kind=float,
    unit="share of the year-on-year R&D increment reimbursed",
    lo=0,
    hi=1,
    plan=0.10,
    plan_source="assumption: plan §6 继续推行研发投入增量奖补, rate not published; mechanisms.md §4.1 guess 5-10%",
    history={2017: 0.0, 2018: 0.0, 2019: 0.05, 2020: 0.05, 2021: 0.05, 2022: 0.05, 2023: 0.05},
    history_source="assumption: Xi'an 2019 trial rules for increment awards (mechanisms.md §4.1), rate guessed 5%; "
    "none before the trial",
    section="§6",
)

XIAN_RD_INTENSITY_BAR = 0.0172  # Xi'an 2023 award bar: intensity >= 1.72% (feo9b.cn, mechanisms.md §4.1)
RD_FLOOR, RD_LARGE = 100.0, 1000.0  # 万元: R&D >= 100万 with the intensity bar, or >= 1,000万 (same source)
AWARD_CAP = 1000.0  # 万元 per firm (mechanisms.md §4.1)
MAX_RESPONSE_FACTOR = 0.9  # response x rate is capped below 1 so the planned increment stays finite (guard)


@dataclass(frozen=True)
class Effects:
    response: float = effect(
        1.0,
        0.5,
        1.3,
        "extra own R&D per subsidy yuan",
        "mechanisms.md §4.2 / P19: ~1.0 for private SMEs and HNTE (0.5-1.3); Dimos & Pugh 2016 reject crowding out",
    )


class RDSubsidy(Instrument):
    stream = "rd_subsidy"  # random-stream key (stable across renames)
    summary = "Eligible above-scale firms raise planned R&D increases by 1/(1 - response x rate); awards on last year's increment are paid the next year."
    unit_costs = (
        "the award itself: rate x the year-on-year R&D increment, capped at 1,000万 a firm (mechanisms.md §4.1)",
    )
    lever = LEVER
    Effects = Effects
    primary_outcome = "T05"

    def rd_response(self, plan) -> tuple[np.ndarray, np.ndarray]:
        """Eligible firms raise planned increases; the awards for this year's increment are booked. The
        eligible firms have a reason to relabel R&D (returned as the incentive mask)."""
        eligible = self.eligible(plan.rd_last, plan.old, plan.in_survey)
        new = self.respond(plan.year, plan.old, plan.new, eligible)
        self.pay_awards(plan.year, plan.rd_last - plan.rd_before, eligible & (plan.rd_before > 0))
        return new, eligible

    def eligible(self, rd_last: np.ndarray, intensity: np.ndarray, in_survey: np.ndarray) -> np.ndarray:
        """The Xi'an eligibility rule on last year's R&D (万元) and intensity."""
        return in_survey & (
            ((rd_last >= RD_FLOOR) & (intensity >= XIAN_RD_INTENSITY_BAR)) | (rd_last >= RD_LARGE)
        )

    def respond(self, year: int, old: np.ndarray, new: np.ndarray, eligible: np.ndarray) -> np.ndarray:
        """Planned intensity for ``year + 1`` after the award expectation (only increases respond)."""
        k = min(MAX_RESPONSE_FACTOR, self.effects.response * self.level(year + 1))
        grow = eligible & (new > old)
        return np.where(grow, old + (new - old) / (1.0 - k), new)

    def pay_awards(self, year: int, increment: np.ndarray, eligible: np.ndarray) -> None:
        """Awards for ``year``'s increment (万元 per firm at model scale), paid and booked in ``year + 1``."""
        rate = self.level(year)
        award = np.where(eligible, np.minimum(rate * np.maximum(increment, 0.0), AWARD_CAP), 0.0)
        paid = float(award.sum()) / self.model.scale / WAN_PER_100M
        self.book(year + 1, "increment awards", paid, 1.0)
