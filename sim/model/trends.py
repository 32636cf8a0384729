"""Growth processes with a stated long-run behaviour.

The inflow of new innovation firms, patenting per yuan of R&D and the value per contract grew fast
over the history (2017-2023). A projection must not compound those rates for ever (issue 9). Each such
process grows at its fitted rate to the last year of data; from the next year the rate fades towards its
long-run value with the half-life ``BehaviourParams.trend_halflife`` (an uncertainty, not identified by the
history). The last year of data is ``LAST_BASE_YEAR`` (2023) for a projection, and the origin for a
backtest's projection from an earlier year (``through``; ``RunConfig.data_through``), so that a backtest
tests the method the projection uses rather than one told when the surge ended.
"""

from __future__ import annotations

import math

from sim.model.params import FIRST_YEAR, LAST_BASE_YEAR


def growth_rate(
    year: int, recent: float, longrun: float, halflife: float, through: int = LAST_BASE_YEAR
) -> float:
    """Growth rate in ``year``: ``recent`` to ``through`` (the last year of data), then fading to ``longrun``
    with ``halflife`` years."""
    if year <= through:
        return recent
    fade = 0.5 ** ((year - through) / halflife)
    return longrun + (recent - longrun) * fade


def level(
    year: float, recent: float, longrun: float, halflife: float, through: int = LAST_BASE_YEAR
) -> float:
    """The process relative to its level at the start of FIRST_YEAR (2017) (``year`` may be fractional: mid-month)."""
    log_level = 0.0
    y = FIRST_YEAR
    while y + 1 <= year:
        log_level += growth_rate(y, recent, longrun, halflife, through)
        y += 1
    log_level += (year - y) * growth_rate(y, recent, longrun, halflife, through)
    return math.exp(log_level)
