"""Paired differences (``sim.pipeline.paired``): the bootstrap resamples pairs, and every output prints a
difference with the digits its interval needs and says when n is too small to resolve it."""

from __future__ import annotations

import numpy as np
import pytest

from sim.pipeline.paired import (
    BOOT_SEED,
    MIN_PAIRS,
    NO_FLIP_BOUND,
    boot_indices,
    difference_text,
    format_difference,
    interval,
    paired_difference,
    paired_mean_difference,
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


# --------------------------------------------------------------------------- the statistics themselves
def test_delta_p_counts_reach_as_strictly_above_the_target_pair_by_pair():
    """Reach is value > target (the plan's 突破): a value equal to the target does not reach it."""
    a = np.array([5.0, 6.0, 4.0, 7.0])
    b = np.array([5.0, 4.0, 6.0, 4.0])
    d = paired_difference(a, b, target=5.0)
    assert (d["p_a"], d["p_b"]) == (0.5, 0.25)  # a: 6, 7 above 5; b: 6 only; the 5s reach nothing
    assert d["delta_p"] == 0.25
    assert d["delta_median"] == 1.0  # differences 0, 2, -2, 3


def test_every_pair_flipping_gives_a_collapsed_interval_at_one():
    a, b = np.full(50, 2.0), np.zeros(50)
    d = paired_difference(a, b, target=1.0)
    assert (d["delta_p"], d["delta_p_lo"], d["delta_p_hi"]) == (1.0, 1.0, 1.0)
    assert (d["delta_median"], d["delta_median_lo"], d["delta_median_hi"]) == (2.0, 2.0, 2.0)


def test_the_delta_p_interval_has_the_binomial_width_of_the_flips():
    """Half of 400 pairs flip from miss to reach: ΔP = 0.5, whose 95 % interval is 0.5 ± 1.96 √(0.25/400) =
    ± 0.049 (normal approximation, accurate at n = 400). Tolerance: ± 0.01 on each bound, several times the
    bootstrap's own Monte Carlo error at B = 2000 (about 0.002). A 90 % or a 99 % interval misses it."""
    rng = np.random.default_rng(3)
    flips = rng.permutation(np.repeat([1.0, 0.0], 200))
    d = paired_difference(flips * 2.0, np.zeros(400), target=1.0)
    half = 1.96 * np.sqrt(0.25 / 400)
    assert d["delta_p"] == 0.5
    assert d["delta_p_lo"] == pytest.approx(0.5 - half, abs=0.01)
    assert d["delta_p_hi"] == pytest.approx(0.5 + half, abs=0.01)
    narrow = paired_difference(flips * 2.0, np.zeros(400), target=1.0, level=0.5)
    assert narrow["delta_p_hi"] - narrow["delta_p_lo"] < 0.5 * (d["delta_p_hi"] - d["delta_p_lo"])


def test_the_median_interval_has_the_width_of_the_sampling_distribution_of_a_median():
    """Paired differences ~ N(0, 1), n = 400: the median's standard error is √(π/2)/√n = 0.0627, so its 95 %
    interval is about ± 0.123. Averaged over 8 seeds (each bootstrap width varies by ~15 %), the half-width
    is within 15 % of that; the interval resamples pairs, so the differences' spread alone sets it."""
    halves = []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        b = rng.normal(100.0, 30.0, 400)  # large, common spread that pairing removes
        a = b + rng.normal(0.0, 1.0, 400)
        d = paired_difference(a, b)
        assert d["delta_median_lo"] < d["delta_median"] < d["delta_median_hi"]
        halves.append((d["delta_median_hi"] - d["delta_median_lo"]) / 2)
    assert np.mean(halves) == pytest.approx(1.96 * np.sqrt(np.pi / 2) / 20, rel=0.15)


def test_no_pairs_left_gives_nan_everywhere():
    a = np.array([np.nan, 1.0])
    b = np.array([2.0, np.nan])
    d = paired_difference(a, b, target=0.0)
    assert d["n"] == 0
    keys = (
        "delta_median",
        "delta_median_lo",
        "delta_median_hi",
        "p_a",
        "p_b",
        "delta_p",
        "delta_p_lo",
        "delta_p_hi",
    )
    assert all(np.isnan(d[k]) for k in keys)
    assert set(paired_difference(a, b)) == {"n", "delta_median", "delta_median_lo", "delta_median_hi"}


def test_one_pair_is_a_difference_not_missing():
    d = paired_difference(np.array([3.0]), np.array([1.0]), target=2.0)
    assert (d["n"], d["delta_median"], d["delta_p"], d["delta_p_lo"]) == (1, 2.0, 1.0, 1.0)


@pytest.mark.parametrize(("a", "b"), [(np.zeros(3), np.zeros(4)), (np.zeros((2, 2)), np.zeros((2, 2)))])
def test_arrays_that_are_not_the_same_replicates_are_refused(a, b):
    with pytest.raises(ValueError, match="same replicates"):
        paired_difference(a, b)


def test_boot_indices_resample_every_replicate_and_are_fixed_by_the_seed():
    idx = boot_indices(3, 2000)
    assert idx.shape == (2000, 3) and set(np.unique(idx)) == {0, 1, 2}
    assert np.array_equal(idx, boot_indices(3, 2000))
    assert not np.array_equal(idx, boot_indices(3, 2000, seed=BOOT_SEED + 1))


def test_interval_is_the_central_percentile_range_and_ignores_nan():
    stat = np.r_[np.arange(1001.0), np.nan]
    assert interval(stat) == pytest.approx((25.0, 975.0))
    assert interval(stat, 0.5) == (250.0, 750.0)
    one = interval(np.array([4.0]))
    assert one == (4.0, 4.0)
    assert all(np.isnan(interval(np.array([np.nan]))))


def test_paired_mean_difference_of_reach_indicators():
    """P(all five) under two settings, as 0/1 per replicate: 30 of 100 pairs gain, none lose."""
    a = np.r_[np.ones(30), np.zeros(70), np.nan]
    b = np.r_[np.zeros(100), 1.0]
    mean, lo, hi = paired_mean_difference(a, b)
    half = 1.96 * np.sqrt(0.3 * 0.7 / 100)  # binomial, as above; tolerance ± 0.02 at n = 100
    assert mean == pytest.approx(0.3)
    assert lo == pytest.approx(0.3 - half, abs=0.02) and hi == pytest.approx(0.3 + half, abs=0.02)
    assert all(np.isnan(paired_mean_difference(np.array([np.nan]), np.array([1.0]))))
    assert paired_mean_difference(np.zeros(5), np.zeros(5)) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        # zero keeps no sign and no trailing zeros; the interval keeps the digits its width needs
        ((0.0, -0.01, 0.01, 100), {}, ("0", "-0.010 – +0.010")),
        # an interval that is only the rounding of equal numbers is no width: digits from the value
        ((250.0, 250.0, 250.0 + 1e-8, 100), {}, ("+250", "+250 – +250")),
        # no interval: the estimate alone, signed, with its own digits
        ((0.0042, None, 0.01, 100), {}, ("+0.0042", "no interval")),
        ((0.0042, float("nan"), 0.01, 100), {"unit": " pp"}, ("+0.0042 pp", "no interval")),
        # a collapsed interval that is not a proportion keeps its bounds
        ((0.0, 0.0, 0.0, 100), {}, ("0", "0 – 0")),
        # a proportion with a non-zero estimate is a difference like any other
        ((0.05, 0.0, 0.1, 100), {"proportion": True}, ("+0.05", "0 – +0.10")),
        # a proportion whose interval touches zero on one side only is not "no pair differs"
        ((0.0, 0.0, 0.02, 100), {"proportion": True}, ("0", "0 – +0.020")),
        ((1.0, 0.5, 1.5, 1), {}, ("+1.0", "n too small to resolve: 1 pairs < 40")),
        ((1.0, 0.5, 1.5, 5), {"min_pairs": 5}, ("+1.0", "+0.5 – +1.5")),
    ],
)
def test_difference_text_edges(args, kwargs, expected):
    assert difference_text(*args, **kwargs) == expected


def test_no_pair_differs_bound_shrinks_with_n_and_uses_the_unit():
    assert difference_text(0.0, 0.0, 0.0, 400, proportion=True)[1] == "no pair differs: within ±0.0092"
    assert difference_text(0.0, 0.0, 0.0, 40, proportion=True, scale=100, unit=" pp")[1] == (
        "no pair differs: within ±9.2 pp"
    )


def test_format_difference_passes_its_options_on():
    assert format_difference(0.02, -0.01, 0.05, 60, scale=100, unit=" pp") == "+2.0 pp (-1.0 pp – +5.0 pp)"
