"""Paired differences (``sim.pipeline.paired``): the bootstrap resamples pairs, and every output prints a
difference with the digits its interval needs and says when n is too small to resolve it."""

from __future__ import annotations

import numpy as np
import pytest

from sim.pipeline.paired import (
    MIN_PAIRS,
    NO_FLIP_BOUND,
    difference_text,
    format_difference,
    paired_difference,
)


def test_the_bootstrap_of_the_paired_median_takes_the_median_of_resampled_differences():
    """70 of 100 pairs do not differ, 30 drop by 1000 (the replicates with the largest values): the median
    of the paired differences is 0 in every resample that keeps them a majority (all but ~1e-5 of them),
    so the interval is [0, 0]. The difference of the two resampled medians (same indices or not) is about
    -30 with an interval of roughly (-45, -16): that version of the bootstrap fails here."""
    b = np.arange(100, dtype=float)
    a = b + np.where(np.arange(100) < 70, 0.0, -1000.0)
    assert np.median(a) - np.median(b) == pytest.approx(-30.0)  # what the wrong version centres on
    d = paired_difference(a, b)
    assert d["n"] == 100 and d["delta_median"] == 0.0
    assert (d["delta_median_lo"], d["delta_median_hi"]) == (0.0, 0.0)


def test_pairs_with_a_missing_value_are_dropped_together():
    a = np.array([1.0, np.nan, 3.0, 4.0])
    b = np.array([0.0, 1.0, np.nan, 2.0])
    d = paired_difference(a, b)
    assert d["n"] == 2 and d["delta_median"] == pytest.approx(1.5)


def test_min_pairs_is_where_a_collapsed_interval_stops_hiding_a_ten_point_change():
    """With no pair differing, the exact 95 % bound on the share of replicates a change flips is 3.7/n
    (rule of three): below MIN_PAIRS it is above 9 points, at MIN_PAIRS it is below 10."""
    assert NO_FLIP_BOUND == pytest.approx(-np.log(0.025))
    assert NO_FLIP_BOUND / MIN_PAIRS < 0.10
    assert NO_FLIP_BOUND / (MIN_PAIRS - 4) > 0.09


@pytest.mark.parametrize(
    ("args", "kwargs", "estimate", "interval"),
    [
        # a small effect keeps its significant figures instead of reading "+0.00 (+0.00 – +0.00)"
        ((0.0031, 0.0012, 0.0050, 200), {}, "+0.0031", "+0.0012 – +0.0050"),
        ((-0.25, -0.40, -0.10, 50), {}, "-0.25", "-0.40 – -0.10"),
        ((1234.5, 900.1, 1600.7, 100), {}, "+1,234", "+900 – +1,601"),
        ((0.02, -0.01, 0.05, 60), {"scale": 100, "unit": " pp"}, "+2.0 pp", "-1.0 pp – +5.0 pp"),
        # below MIN_PAIRS the interval is not shown, whatever it is
        ((0.0031, 0.0012, 0.0050, 12), {}, "+0.0031", "n too small to resolve: 12 pairs < 40"),
        # no pair differs: the collapsed interval is replaced by the exact bound (3.7 / 200 = 1.8 points)
        ((0.0, 0.0, 0.0, 200), {"proportion": True, "scale": 100, "unit": " pp"}, "0 pp", None),
        ((float("nan"), None, None, 0), {}, "n/a", "no pairs"),
    ],
)
def test_difference_text(args, kwargs, estimate, interval):
    got = difference_text(*args, **kwargs)
    assert got[0] == estimate
    if interval is not None:
        assert got[1] == interval
    else:
        assert got[1] == "no pair differs: within ±1.8 pp"  # no "|": it sits in markdown table cells


def test_format_difference_is_one_cell():
    assert format_difference(0.0031, 0.0012, 0.0050, 200) == "+0.0031 (+0.0012 – +0.0050)"
    assert "n too small to resolve" in format_difference(0.5, 0.1, 0.9, MIN_PAIRS - 1)
    assert "n too small" not in format_difference(0.5, 0.1, 0.9, MIN_PAIRS)
