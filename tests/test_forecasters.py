"""Naive forecasters (sim/calibration/forecasters.py) and scores (sim/calibration/scores.py) on known answers."""

import numpy as np
import pytest
from scipy.stats import norm

from sim.calibration import scores
from sim.calibration.forecasters import FORECASTERS, NotEnoughData, Predictive, gm11_fit, gm11_values

YEARS = np.arange(2018, 2023)
TARGET = np.array([2023, 2024, 2025])


def test_linear_trend_extends_a_line_exactly():
    values = 1200.0 + 350.0 * (YEARS - 2018)
    p = FORECASTERS["linear"](YEARS, values, TARGET)
    np.testing.assert_allclose(p.median, 1200.0 + 350.0 * (TARGET - 2018), rtol=1e-12)
    assert np.all(p.sigma < 1e-6)


@pytest.mark.parametrize("name", ["loglinear", "rw_drift_log"])
def test_log_models_extend_an_exponential_exactly(name):
    values = 4301.0 * 1.37 ** (YEARS - 2018)
    p = FORECASTERS[name](YEARS, values, TARGET)
    np.testing.assert_allclose(p.median, 4301.0 * 1.37 ** (TARGET - 2018), rtol=1e-10)
    assert p.log


def test_linear_prediction_sd_matches_the_matrix_formula():
    """s^2 (1 + x0' (X'X)^-1 x0): the OLS prediction variance, computed independently."""
    values = np.array([3.0, 5.5, 6.0, 9.5, 10.0])
    p = FORECASTERS["linear"](YEARS, values, TARGET)
    X = np.column_stack([np.ones(len(YEARS)), YEARS - 2018.0])
    beta, ssr, *_ = np.linalg.lstsq(X, values, rcond=None)
    s2 = ssr[0] / (len(values) - 2)
    x0 = np.column_stack([np.ones(len(TARGET)), TARGET - 2018.0])
    var = s2 * (1 + np.einsum("ij,jk,ik->i", x0, np.linalg.inv(X.T @ X), x0))
    np.testing.assert_allclose(p.mu, x0 @ beta, rtol=1e-10)
    np.testing.assert_allclose(p.sigma, np.sqrt(var), rtol=1e-10)


def test_random_walk_with_drift_by_hand():
    """Steps 1 and 2: drift 1.5, s = sqrt(0.5); h years ahead sd = s sqrt(h + h^2 / 2)."""
    years, values = np.array([2019, 2020, 2021]), np.array([0.0, 1.0, 3.0])
    p = FORECASTERS["rw_drift"](years, values, [2022, 2023])
    np.testing.assert_allclose(p.mu, [4.5, 6.0])
    s = np.sqrt(0.5)
    np.testing.assert_allclose(p.sigma, [s * np.sqrt(1.5), s * 2.0])
    assert p.sigma[1] > p.sigma[0]  # grows with the horizon


@pytest.mark.parametrize("r", [1.05, 1.3, 1.6])
def test_gm11_on_an_exact_exponential(r):
    """For x0(k) = c r^(k-1) the grey equations hold exactly with a = -2(r-1)/(r+1), b = 2c/(r+1);
    the time response then grows by e^(-a) per year (close to r for small growth: GM(1,1)'s known bias)."""
    c = 1125.0
    x0 = c * r ** np.arange(5)
    a, b = gm11_fit(x0)
    assert a == pytest.approx(-2 * (r - 1) / (r + 1), rel=1e-10)
    assert b == pytest.approx(2 * c / (r + 1), rel=1e-10)
    p = FORECASTERS["gm11"](YEARS, x0, TARGET)
    k = TARGET - 2018
    expected = (1 - np.exp(a)) * (c - b / a) * np.exp(-a * k)
    np.testing.assert_allclose(p.median, expected, rtol=1e-10)
    np.testing.assert_allclose(p.median[1] / p.median[0], np.exp(2 * (r - 1) / (r + 1)), rtol=1e-10)
    assert abs(np.exp(-a) / r - 1) < 0.01 * (r - 1) / 0.05  # the bias grows with the growth rate


def test_gm11_reproduces_its_first_point_and_needs_four():
    x0 = np.array([10.0, 12.0, 15.0, 17.0])
    a, b = gm11_fit(x0)
    assert gm11_values(x0[0], a, b, np.array([0]))[0] == 10.0
    with pytest.raises(NotEnoughData):
        FORECASTERS["gm11"](YEARS[:3], x0[:3], TARGET)


def test_gaps_and_short_series_are_refused():
    with pytest.raises(NotEnoughData, match="consecutive"):
        FORECASTERS["rw_drift"]([2018, 2019, 2021], [1.0, 2.0, 3.0], [2022])
    with pytest.raises(NotEnoughData, match="at least 3"):
        FORECASTERS["linear"]([2019, 2022], [1.0, 2.0], [2023])
    assert FORECASTERS["linear"]([2018, 2019, 2021], [1.0, 2.0, 3.5], [2022]).median.shape == (1,)


def test_lognormal_predictive_quantiles_and_crps():
    p = Predictive(np.array([2023]), np.array([np.log(100.0)]), np.array([0.2]), log=True)
    assert p.quantile(0.05)[0] == pytest.approx(100 * np.exp(-0.2 * norm.ppf(0.95)))
    assert p.median[0] == pytest.approx(100.0)
    sample = np.exp(np.random.default_rng(0).normal(np.log(100.0), 0.2, 200_000))
    # sample CRPS: Monte Carlo error about 0.1 % of the score at this size
    assert p.crps([120.0])[0] == pytest.approx(scores.crps_ensemble(120.0, sample), rel=0.01)


def test_linear_interval_coverage_near_nominal():
    """Trend + N(0, 1) noise, 8 points, 3000 draws: the normal interval on the prediction sd covers
    about P(|t_6| < 1.645) = 0.85 (normal, not t); parameter uncertainty left out gives ~0.74.
    Tolerance: 3 sd of a binomial share at n = 3000 is 0.02."""
    rng = np.random.default_rng(1)
    years = np.arange(2016, 2026)
    hits = []
    for _ in range(3000):
        y = 5 + 0.7 * (years - 2016) + rng.normal(size=len(years))
        p = FORECASTERS["linear"](years[:-2], y[:-2], years[-2:])
        hits.append((p.quantile(0.05) <= y[-2:]) & (y[-2:] <= p.quantile(0.95)))
    cover = np.mean(hits)
    assert 0.83 <= cover <= 0.87, cover


def test_weighted_crps_ensemble_by_hand():
    x, w, y = np.array([1.0, 3.0]), np.array([1.0, 3.0]), 2.5
    p = w / w.sum()
    hand = np.sum(p * np.abs(x - y)) - 0.5 * np.sum(p[:, None] * p[None, :] * np.abs(x[:, None] - x[None, :]))
    assert scores.crps_ensemble(y, x, w) == pytest.approx(hand)
    # a failed (NaN) run is dropped with its weight
    two = scores.crps_ensemble([y, y], np.array([[1.0, 3.0], [1.0, np.nan]]), w)
    np.testing.assert_allclose(two, [hand, 1.5])


def test_interval_score_and_score_point():
    assert scores.interval_score(5.0, 1.0, 4.0) == pytest.approx(3 + 20 * 1)  # above: width + 2/0.1 * 1
    assert scores.interval_score(0.5, 1.0, 4.0) == pytest.approx(3 + 20 * 0.5)
    assert scores.interval_score(2.0, 1.0, 4.0) == pytest.approx(3)
    row = scores.score_point(obs=200.0, crps=10.0, median=190.0, lo=150.0, hi=210.0)
    assert row == {"crps_rel": 0.05, "is90_rel": 0.3, "abs_err_rel": 0.05, "covered90": True}
