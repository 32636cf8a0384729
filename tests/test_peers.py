"""Peers for priors (sim/calibration/peers.py): the estimators on hand-made panels, the national driver,
and the command on the real panel."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibration import peers

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- hand-made panels
def ar1_panel(rho: float, mu: float, sigma: float, n_prov: int, n_years: int, seed: int) -> pd.DataFrame:
    """Levels (year x province) whose yearly log growth is a stationary AR(1) with the given parameters."""
    rng = np.random.default_rng(seed)
    g = np.empty((n_years, n_prov))
    g[0] = mu + sigma / np.sqrt(1 - rho**2) * rng.standard_normal(n_prov)  # stationary start
    for t in range(1, n_years):
        g[t] = mu + rho * (g[t - 1] - mu) + sigma * rng.standard_normal(n_prov)
    levels = 100.0 * np.exp(np.vstack([np.zeros(n_prov), np.cumsum(g, axis=0)]))
    years = range(2010, 2010 + n_years + 1)
    return pd.DataFrame(levels, index=years, columns=[f"P{i}" for i in range(n_prov)])


@pytest.mark.parametrize("rho", [0.2, 0.6])
def test_pooled_ar1_recovers_a_known_coefficient(rho):
    """30 provinces x 14 growth years (the panel's shape), five seeds.

    One fit's standard error is about sqrt((1 - rho^2) / (30 * 12)) <= 0.053; the mean of five is good to
    about 0.024, so +-0.06 (2.5 standard errors) for the mean and +-0.15 for each fit.
    """
    mu, sigma = 0.12, 0.04
    fits = [
        peers.fit_pooled_ar1(peers.ar1_pairs(peers.log_growth(ar1_panel(rho, mu, sigma, 30, 14, seed))))
        for seed in range(5)
    ]
    rhos = np.array([f.rho for f in fits])
    assert abs(rhos.mean() - rho) < 0.06
    assert np.all(np.abs(rhos - rho) < 0.15)
    assert np.mean([f.long_run for f in fits]) == pytest.approx(mu, abs=0.01)
    assert np.mean([f.sigma for f in fits]) == pytest.approx(sigma, rel=0.1)
    # the half-life follows from rho: ln 0.5 / ln rho
    assert peers.half_life(float(rhos.mean())) == pytest.approx(math.log(0.5) / math.log(rho), rel=0.35)


def test_bootstrap_interval_covers_the_truth_and_is_deterministic():
    levels = ar1_panel(0.5, 0.1, 0.03, 20, 12, seed=3)
    pairs = peers.ar1_pairs(peers.log_growth(levels))
    a = peers.fit_pooled_ar1(pairs, bootstrap=300, rng=np.random.default_rng(1))
    b = peers.fit_pooled_ar1(pairs, bootstrap=300, rng=np.random.default_rng(1))
    assert a == b
    lo, hi = a.rho_interval
    assert lo < a.rho < hi and hi - lo < 0.4
    assert a.half_life_interval[0] < a.half_life < a.half_life_interval[1]
    with pytest.raises(ValueError, match="rng"):
        peers.fit_pooled_ar1(pairs, bootstrap=10)


def test_no_fit_with_too_few_provinces_or_pairs():
    levels = ar1_panel(0.5, 0.1, 0.03, 2, 12, seed=0)
    assert peers.fit_pooled_ar1(peers.ar1_pairs(peers.log_growth(levels))) is None  # 2 provinces
    few = peers.ar1_pairs(peers.log_growth(ar1_panel(0.5, 0.1, 0.03, 5, 12, seed=0))).iloc[:3]
    assert peers.fit_pooled_ar1(few) is None


def test_half_life_edge_cases():
    assert peers.half_life(0.5) == pytest.approx(1.0)
    assert peers.half_life(0.0) == 0.0 and peers.half_life(-0.3) == 0.0
    assert peers.half_life(1.0) == math.inf
    assert math.isnan(peers.half_life(float("nan")))


def test_growth_is_not_bridged_across_gaps():
    years = [2000, 2005, 2010, 2012, 2013, 2014, 2015]
    table = pd.DataFrame({"A": [1.0, 2.0, 4.0, 5.0, 6.0, 7.0, 8.0]}, index=years)
    g = peers.log_growth(table)["A"]
    assert list(g.dropna().index) == [2013, 2014, 2015]
    assert g[2013] == pytest.approx(math.log(6 / 5))
    pairs = peers.ar1_pairs(peers.log_growth(table))
    assert list(pairs["year"]) == [2014, 2015]  # (g2013, g2014) and (g2014, g2015) only
    started = peers.ar1_pairs(peers.log_growth(table), start={"A": 2014})
    assert list(started["year"]) == [2015]  # the lag must be at or after the start year


def test_crossings_date_censor_and_exclude():
    table = pd.DataFrame(
        {
            "A": [1.0, 2.0, 5.0, 6.0],  # crosses 4 in 2012
            "B": [7.0, 8.0, 9.0, 9.5],  # above from its first year: censored
            "C": [1.0, 1.0, 1.0, 1.0],  # never
            "D": [np.nan, 1.0, 3.0, 4.5],  # crosses in 2013, not "before" 2013 when asked
            "Shaanxi": [1.0, 2.0, 3.0, 4.0],  # never its own peer
            "China": [10.0, 20.0, 30.0, 40.0],
        },
        index=[2010, 2011, 2012, 2013],
    )
    got = peers.crossings(table, 4.0, before=2013)
    assert got.to_dict("records") == [
        {"province": "A", "year": 2012, "censored": False},
        {"province": "B", "year": 2010, "censored": True},
    ]
    after = peers.growth_after(peers.log_growth(table), got, horizons=(1, 2))
    assert after.to_dict("records") == [
        {
            "province": "A",
            "crossing_year": 2012,
            "k": 1,
            "year": 2013,
            "growth": pytest.approx(math.log(6 / 5)),
        }
    ]
    summary = peers.summarise_growth(after, horizons=(1, 2))
    assert summary.loc[1, "n"] == 1 and summary.loc[2, "n"] == 0 and math.isnan(summary.loc[2, "median"])


def test_peer_analysis_refuses_unknown_names():
    with pytest.raises(ValueError, match="allowed values.*T01"):
        peers.peer_analysis("T09", "level")
    with pytest.raises(ValueError, match="allowed values.*share"):
        peers.peer_analysis("T01", "per_capita")


# --------------------------------------------------------------------------- the national driver
def test_aggregated_ar1_recovers_the_mean_through_gaps():
    """Levels observed with the panel's gaps; the posterior of mu must sit near the true 0.15."""
    levels = ar1_panel(0.5, 0.15, 0.03, 1, 23, seed=11)["P0"]
    levels.index = range(2000, 2024)
    observed = levels.loc[[2000, 2005, 2010, *range(2012, 2024)]]
    model = peers.fit_ar1_aggregated(observed)
    q = model.posterior_quantiles()
    assert q["mu"][0] < 0.15 < q["mu"][2]
    assert q["sigma"][0] < 0.03 < q["sigma"][2]
    assert model.weights.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="consecutive"):
        peers.fit_ar1_aggregated(observed.drop(index=2022))


def test_national_paths_are_deterministic_for_a_seed():
    years = [2024, 2025, 2030]
    a = peers.sample_national_growth(years, 500, seed=7)
    b = peers.sample_national_growth(years, 500, seed=7)
    c = peers.sample_national_growth(years, 500, seed=8)
    assert a.shape == (500, 3) and np.isfinite(a).all()
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    # a Generator in a known state gives the same paths as its seed
    assert np.array_equal(a, peers.sample_national_growth(years, 500, seed=np.random.default_rng(7)))
    # the first year's median starts between the long-run mean and the 2023 growth (0.252)
    med = np.median(a[:, 0])
    assert 0.15 < med < 0.30
    fixed = peers.sample_national_growth(years, 500, seed=7, long_run=0.05)
    assert np.median(fixed[:, -1]) < np.median(a[:, -1])  # a lower long-run mean pulls 2030 down


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"years": [2023, 2024], "n": 10, "seed": 1}, "2024"),
        ({"years": [], "n": 10, "seed": 1}, "empty"),
        ({"years": [2024], "n": 0, "seed": 1}, "n = 0"),
        ({"years": [2024], "n": 10, "seed": None}, "seed"),
        ({"years": [2024], "n": 10, "seed": 1, "long_run": 2.0}, "long_run"),
    ],
)
def test_national_paths_refuse_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        peers.sample_national_growth(**kwargs)


def test_shaanxi_share_and_hnte_turnover_on_the_panel():
    share = peers.shaanxi_share()
    assert share[2020] == pytest.approx(1758.7198 / 28251.5092, rel=1e-9)
    turnover = peers.hnte_turnover()
    assert list(turnover.columns) == [2020, 2021, 2022, 2023]
    assert turnover.at["Shaanxi", 2023] == pytest.approx(7526 / (3756 + 5772 + 7526))
    assert peers.steady_state_ratio(0.0) == pytest.approx(1 / 3)


# --------------------------------------------------------------------------- the command
KEY_ROW = re.compile(r"^\| `([\w.]+)` \| ([^|]+) \|")
#: Key numbers that the real panel must define (the peers by level of T01 are one province: no fit).
REQUIRED_FINITE = [
    "T04.level.rho",
    "T04.level.half_life_years",
    "T04.near.long_run_growth",
    "rd_total.level.rho",
    "rd_total.level.half_life_years",
    "T01.share.rho",
    "T01.near.rho",
    "HNTE.near.long_run_growth",
    "T01.level.growth_k1_median",
    "T04.level.growth_k3_median",
    "national.rho_median",
    "national.long_run_growth_median",
    "national.growth_2024_median",
    "national.growth_2030_q10",
    "national.growth_2030_q90",
    "shaanxi.share_2023",
    "hnte.shaanxi_ratio_2023",
]


def key_numbers(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        m = KEY_ROW.match(line)
        if m:
            out[m.group(1)] = float(m.group(2).replace(",", "")) if m.group(2).strip() != "n/a" else math.nan
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("peers")
    doc = out / "peers.md"
    assert peers.main(["--out", str(doc), "--figures", str(out / "peers_figures")]) == 0
    return doc


def test_command_writes_the_document_and_figures(generated):
    text = generated.read_text()
    numbers = key_numbers(text)
    for name in REQUIRED_FINITE:
        assert math.isfinite(numbers[name]), name
    assert numbers["shaanxi.share_2023"] == pytest.approx(4118.4641 / 61475.6578, abs=5e-4)
    assert 0 < numbers["national.rho_median"] < 1
    for name in ("peer_growth.png", "national_driver.png"):
        path = generated.parent / "peers_figures" / name
        assert path.is_file() and path.stat().st_size > 10_000
        assert f"(peers_figures/{name})" in text
    assert text.isascii()  # plain ASCII, like the figures


def test_committed_document_is_what_the_command_writes(generated):
    """docs/peers.md holds only numbers the command produces (provenance lines aside)."""

    def body(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith(("- command:", "- panel sha256"))]

    committed = (REPO / "docs" / "peers.md").read_text()
    assert body(committed) == body(generated.read_text())
    for name in ("peer_growth.png", "national_driver.png"):
        assert (REPO / "docs" / "peers_figures" / name).is_file()


@pytest.mark.parametrize(
    "args, message",
    [(["--draws", "5"], "draws"), (["--seed", "x"], "seed"), (["--out", "peers.txt"], ".md")],
)
def test_command_refuses_bad_arguments_and_writes_nothing(tmp_path, capsys, args, message):
    argv = ["--out", str(tmp_path / "peers.md"), "--figures", str(tmp_path / "figs"), *args]
    with pytest.raises(SystemExit) as exc:
        peers.main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "peers.md").exists() and not (tmp_path / "figs").exists()
