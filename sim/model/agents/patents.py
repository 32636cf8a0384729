"""Invention patents: the examination lag between application and grant (firms and institutions).

An application filed in year Y is granted at the end of Y+1 (a third) or Y+2 (two thirds): the mean
lag is 1.67 years. Source: CNIPA's invention examination takes about 1.5-2 years (issue 8; CNIPA's
average examination period was 16.5 months in 2023, plus publication and formalities). Patents that
are not granted are not modelled: the production rates are calibrated to granted patents held.
"""

from __future__ import annotations

import numpy as np

GRANT_LAG_SHARES = np.array([1 / 3, 2 / 3])  # share of a year's applications granted after 1 and 2 years
