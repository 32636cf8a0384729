"""The province panel (sim/data/panel.py): loads tidy, filters, refuses unknown names, known values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.data import history, panel

REPO = Path(__file__).resolve().parents[1]
SHARED_PANEL = REPO.parent / "shared" / "data" / panel.PANEL_FILE


def test_panel_loads_tidy_with_one_row_per_province_year_indicator():
    df = panel.load_panel()
    assert tuple(df.columns) == panel.PANEL_COLUMNS
    assert not df.duplicated(["province", "year", "indicator"]).any()
    assert df["value"].notna().all() and (df["value"] > 0).all()
    assert df["year"].dtype.kind == "i"
    assert len(panel.provinces()) == 32 and panel.NATIONAL in panel.provinces()  # 31 provinces + China
    assert panel.year_span() == (2000, 2023)
    assert df["source"].str.contains("techme").all()
    # one unit per indicator
    assert (df.groupby("indicator")["unit"].nunique() == 1).all()


@pytest.mark.parametrize(
    "indicator, year, value",
    [
        ("invention_patents_valid", 2023, 102176),
        ("contracts_seller_value", 2020, 1758.72),
        ("contracts_seller_value", 2021, 2343.44),  # the province's own release gives the same
        ("hnte_recognised", 2018, 1553),
        ("hnte_recognised", 2023, 7526),
        ("rd_total", 2023, 846.04),
    ],
)
def test_known_shaanxi_values(indicator, year, value):
    assert panel.series(indicator)[year] == pytest.approx(value, abs=0.01)


def test_series_is_year_indexed_with_its_unit():
    s = panel.series("contracts_seller_value")
    assert s.index.is_monotonic_increasing and s.index.is_unique
    assert 2011 not in s.index and {2000, 2005, 2010, 2012, 2023} <= set(s.index)  # the table's years
    assert s.attrs["unit"] == "亿元" and s.attrs["province"] == "Shaanxi"
    national = panel.series("contracts_seller_value", province="China")
    assert national[2022] == pytest.approx(47791.02, abs=0.01)


def test_filters_combine():
    df = panel.load_panel(province=["Shaanxi", "Hubei"], indicator="rd_total", years=range(2018, 2024))
    assert set(df["province"]) == {"Shaanxi", "Hubei"}
    assert set(df["indicator"]) == {"rd_total"}
    assert sorted(df["year"].unique()) == list(range(2018, 2024))
    assert len(df) == 12
    one = panel.load_panel(province="Shaanxi", indicator="hnte_recognised", years=np.int64(2020))
    assert one["value"].tolist() == [3185.0]
    # a year inside the span that a table skips gives no rows, not an error
    assert panel.load_panel(indicator="contracts_seller_value", years=2011).empty


def test_by_province_table():
    table = panel.by_province("hnte_recognised", national=False)
    assert panel.NATIONAL not in table.columns and len(table.columns) == 31
    assert list(table.index) == list(range(2018, 2024))
    assert table.loc[2023, "Shaanxi"] == 7526
    assert panel.NATIONAL in panel.by_province("rd_total").columns


@pytest.mark.parametrize(
    "kwargs, field, allowed",
    [
        ({"province": "Shensi"}, "province", "Shaanxi"),
        ({"province": ["Shaanxi", "Atlantis"]}, "province", "Shaanxi"),
        ({"indicator": "rd_enterprise"}, "indicator", "rd_total"),
        ({"years": [2009, 2024]}, "years", "2000-2023"),
    ],
)
def test_unknown_values_are_refused_with_the_allowed_ones(kwargs, field, allowed):
    with pytest.raises(ValueError, match=field) as err:
        panel.load_panel(**kwargs)
    assert allowed in str(err.value)


def test_series_refuses_unknown_names():
    with pytest.raises(ValueError, match="unknown indicator.*invention_patents_valid"):
        panel.series("patents")
    with pytest.raises(ValueError, match="unknown province.*Shaanxi"):
        panel.series("rd_total", province="shaanxi")


def test_loaded_frames_are_copies():
    df = panel.load_panel(province="Shaanxi")
    df["value"] = 0.0
    assert panel.series("rd_total")[2023] > 800


def test_national_rows_are_the_yearbook_totals():
    """The ``China`` row is the national total; for R&D it equals the sum of the provinces."""
    table = panel.by_province("rd_total")
    provinces_sum = table.drop(columns=panel.NATIONAL).sum(axis=1)
    assert np.allclose(provinces_sum, table[panel.NATIONAL], rtol=1e-3)
    assert "China" not in panel.by_province("hnte_recognised").columns  # no national row for this table


def test_the_panel_is_hashed_and_shipped():
    assert panel.PANEL_FILE.endswith(history.HASHED_SUFFIXES)
    assert (history.data_dir() / panel.PANEL_FILE).is_file()
    text = (REPO / "pyproject.toml").read_text()
    assert '"data/*.csv"' in text  # package data: every csv of sim/data ships


@pytest.mark.skipif(not SHARED_PANEL.exists(), reason="shared/ folder not beside the repository")
def test_panel_is_a_verbatim_copy_of_shared():
    shipped = (history.data_dir() / panel.PANEL_FILE).read_bytes()
    assert shipped == SHARED_PANEL.read_bytes()


def test_a_malformed_panel_is_refused(monkeypatch, tmp_path):
    bad = pd.DataFrame(
        {
            "province": ["Shaanxi", "Shaanxi"],
            "province_zh": ["陕西", "陕西"],
            "year": [2023, 2023],
            "indicator": ["rd_total", "rd_total"],
            "value": [1.0, 2.0],
            "unit": ["亿元", "亿元"],
            "source": ["x", "x"],
        }
    )
    bad.to_csv(tmp_path / panel.PANEL_FILE, index=False)
    monkeypatch.setattr(panel, "data_dir", lambda: tmp_path)
    panel._read_panel.cache_clear()
    try:
        with pytest.raises(ValueError, match="more than one row"):
            panel.load_panel()
    finally:
        panel._read_panel.cache_clear()
