"""Vectorised weighted sampling shared by the matching rules."""

from __future__ import annotations

import numpy as np


def weighted_rows(cum_weights: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` row indices drawn with replacement in proportion to weights, given their cumulative sum.

    The needles are sorted first (searchsorted is several times faster on sorted needles);
    the result is therefore in ascending row order, which no caller relies on being random.
    """
    if k <= 0 or cum_weights.size == 0 or cum_weights[-1] <= 0:
        return np.empty(0, dtype=np.int64)
    needles = np.sort(rng.random(k)) * cum_weights[-1]
    rows = np.searchsorted(cum_weights, needles, side="right")
    return np.minimum(rows, cum_weights.size - 1)
