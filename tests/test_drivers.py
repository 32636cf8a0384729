"""The exogenous drivers (sim/model/drivers.py) and the last year of data a run reads (``data_through``).

A backtest's projection from an origin must read no data after it: the national market is projected from
the origin by its AR(1), and the recent growth rates fade from the origin (sim/model/trends.py), as a
projection from 2023 does.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.data import panel
from sim.model import InnovationModel, drivers, trends
from sim.model.evaluate import release
from sim.model.params import LAST_BASE_YEAR, ConfigError, RunConfig


class ZeroShocks:
    """An rng whose normal draws are all 0: the AR(1) path is its mean path."""

    def standard_normal(self, n):
        return np.zeros(n)


def test_the_national_series_are_the_panels():
    for copy, indicator in (
        (drivers.NATIONAL_CONTRACT_VALUE, "contracts_seller_value"),
        (drivers.NATIONAL_ENTERPRISE_RD, "rd_funds_enterprise"),
    ):
        data = panel.series(indicator, "China")
        for year, value in copy.items():
            assert value == pytest.approx(data[year], rel=1e-9), (indicator, year)


@pytest.mark.parametrize("through", [2019, 2021, LAST_BASE_YEAR])
def test_the_national_market_is_observed_to_its_last_year_of_data_and_projected_after(through):
    rho, mu = 0.5, 0.1
    nm = drivers.NationalMarket(2017, 2026, rho, mu, ZeroShocks(), observed_through=through)
    data = drivers.NATIONAL_CONTRACT_VALUE
    for year in range(2017, through + 1):
        assert nm.value[year] == data[year]
    # after it: g[Y] = mu + rho (g[Y-1] - mu), from the last observed growth
    g = math.log(data[through] / data[through - 1])
    level = data[through]
    for year in range(through + 1, 2027):
        g = mu + rho * (g - mu)
        level *= math.exp(g)
        assert nm.value[year] == pytest.approx(level, rel=1e-12)
    # capacity: observed to it, then its mean growth from 2016 to it
    rd = drivers.NATIONAL_ENTERPRISE_RD
    assert nm.capacity(through) == pytest.approx(rd[through] / rd[2017])
    growth = math.log(rd[through] / rd[2016]) / (through - 2016)
    assert nm.capacity(through + 2) == pytest.approx(rd[through] * math.exp(2 * growth) / rd[2017])
    if through < LAST_BASE_YEAR:  # the projection differs from what happened: it was not read
        assert nm.value[through + 1] != pytest.approx(data[through + 1], rel=1e-3)


def test_a_last_year_of_data_outside_the_series_is_refused():
    with pytest.raises(ValueError, match="observed_through"):
        drivers.NationalMarket(2017, 2026, 0.5, 0.1, ZeroShocks(), observed_through=LAST_BASE_YEAR + 1)
    with pytest.raises(ConfigError, match="data_through"):
        RunConfig(data_through=LAST_BASE_YEAR + 1)


def test_recent_growth_fades_after_the_last_year_of_data():
    recent, longrun, half = 0.2, 0.05, 2.0
    assert trends.growth_rate(2019, recent, longrun, half, through=2019) == recent
    assert trends.growth_rate(2021, recent, longrun, half, through=2019) == pytest.approx(
        longrun + (recent - longrun) * 0.5
    )
    assert trends.growth_rate(2021, recent, longrun, half) == recent  # the default: data to 2023
    assert trends.level(2022, recent, longrun, half, through=2019) < trends.level(2022, recent, longrun, half)


def _run(data_through: int, end_year: int):
    m = InnovationModel(seed=3, scale=0.05, end_year=end_year, data_through=data_through)
    m.run()
    out = m.annual_indicators()
    release(m)
    return out


def test_a_run_reads_no_national_data_after_its_last_year_of_data(monkeypatch):
    """With data to 2019, changing the national series after 2019 changes nothing; with data to 2023 the
    same change moves T01 (so the check can fail)."""
    before, full_before = _run(2019, 2021), _run(LAST_BASE_YEAR, 2021)
    later = {y: v * 1.5 for y, v in drivers.NATIONAL_CONTRACT_VALUE.items() if y > 2019}
    later_rd = {y: v * 1.5 for y, v in drivers.NATIONAL_ENTERPRISE_RD.items() if y > 2019}
    monkeypatch.setattr(drivers, "NATIONAL_CONTRACT_VALUE", {**drivers.NATIONAL_CONTRACT_VALUE, **later})
    monkeypatch.setattr(drivers, "NATIONAL_ENTERPRISE_RD", {**drivers.NATIONAL_ENTERPRISE_RD, **later_rd})
    assert _run(2019, 2021).equals(before)
    assert not _run(LAST_BASE_YEAR, 2021)["T01"].equals(full_before["T01"])


def test_the_backtest_projects_from_its_origin_with_the_data_to_it(monkeypatch, tmp_path):
    from sim.calibration.backtest import command
    from sim.calibration.backtest.config import BacktestConfig
    from sim.pipeline import ensemble

    seen = {}

    def fake_run_ensemble(levers, plan, **kwargs):
        seen.update(kwargs)
        return None

    monkeypatch.setattr(ensemble, "run_ensemble", fake_run_ensemble)
    monkeypatch.setattr(ensemble, "load_param_sets", lambda path: ensemble.ParamSets([]))
    monkeypatch.setattr(ensemble, "plan_replicates", lambda *a, **k: [])
    command.project(BacktestConfig(), tmp_path / "posterior.csv", 2020)
    assert seen["data_through"] == 2020
