"""The province panel of the *China Statistical Yearbook on Science and Technology*, 2000-2023.

``china_province_panel_to_2023.csv``: the 31 provinces and the national total (``China``), one row per
province, year and indicator (units and reading notes in ``sim/data/SOURCES.md``). The model stays
Shaanxi's; the other provinces inform priors (``sim.calibration.peers``) and the fit targets
(``fit_targets.csv``) quote Shaanxi's rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from numbers import Integral

import pandas as pd

from sim.data.history import data_dir

PANEL_FILE = "china_province_panel_to_2023.csv"
PANEL_COLUMNS = ("province", "province_zh", "year", "indicator", "value", "unit", "source")
#: The national total's name in the ``province`` column (the yearbook's 全国 row).
NATIONAL = "China"
#: The province the model simulates.
SHAANXI = "Shaanxi"


@lru_cache(maxsize=1)
def _read_panel() -> pd.DataFrame:
    with (data_dir() / PANEL_FILE).open("rb") as fh:
        df = pd.read_csv(
            fh,
            dtype={
                "province": str,
                "province_zh": str,
                "year": int,
                "indicator": str,
                "value": float,
                "unit": str,
                "source": str,
            },
        )
    if tuple(df.columns) != PANEL_COLUMNS:
        raise ValueError(f"{PANEL_FILE}: columns {list(df.columns)}, expected {list(PANEL_COLUMNS)}")
    if df.duplicated(["province", "year", "indicator"]).any():
        raise ValueError(f"{PANEL_FILE}: more than one row for a (province, year, indicator)")
    return df.sort_values(["indicator", "province", "year"]).reset_index(drop=True)


def provinces() -> list[str]:
    """Province names in the panel (English, as in the ``province`` column), ``China`` included."""
    return sorted(_read_panel()["province"].unique())


def indicators() -> list[str]:
    """Indicator names in the panel."""
    return sorted(_read_panel()["indicator"].unique())


def year_span() -> tuple[int, int]:
    """First and last year in the panel."""
    years = _read_panel()["year"]
    return int(years.min()), int(years.max())


def unit(indicator: str) -> str:
    """The unit of ``indicator`` (亿元 = 100 million yuan, contracts, patents, firms, percent)."""
    _check_names("indicator", [indicator], indicators())
    df = _read_panel()
    return str(df.loc[df["indicator"] == indicator, "unit"].iloc[0])


def _as_list(value) -> list:
    if isinstance(value, (str, Integral)):
        return [value]
    return list(value)


def _check_names(field: str, asked: list, allowed: list) -> None:
    unknown = [a for a in asked if a not in allowed]
    if unknown:
        raise ValueError(f"unknown {field} {unknown}: allowed values are {allowed}")


def load_panel(
    province: str | Iterable[str] | None = None,
    indicator: str | Iterable[str] | None = None,
    years: int | Iterable[int] | None = None,
) -> pd.DataFrame:
    """The panel as a tidy table, optionally filtered; ``None`` keeps every value of a filter.

    Columns: province, province_zh, year (int), indicator, value (float), unit, source. ``years`` is
    a year or an iterable of years (e.g. ``range(2012, 2024)``); a year the panel does not span, or
    an unknown province or indicator, is an error naming the allowed values. A year within the span
    that an indicator skips (e.g. 2011 for the contract tables) simply has no rows.
    """
    df = _read_panel()
    keep = pd.Series(True, index=df.index)
    if province is not None:
        names = _as_list(province)
        _check_names("province", names, provinces())
        keep &= df["province"].isin(names)
    if indicator is not None:
        names = _as_list(indicator)
        _check_names("indicator", names, indicators())
        keep &= df["indicator"].isin(names)
    if years is not None:
        wanted = [int(y) for y in _as_list(years)]
        first, last = year_span()
        outside = sorted(y for y in wanted if not first <= y <= last)
        if outside:
            raise ValueError(f"years {outside} outside the panel: allowed years are {first}-{last}")
        keep &= df["year"].isin(wanted)
    return df.loc[keep].reset_index(drop=True)


def series(indicator: str, province: str = SHAANXI) -> pd.Series:
    """One province's values of one indicator, indexed by year (only the years the panel has)."""
    rows = load_panel(province=province, indicator=indicator)
    out = rows.set_index("year")["value"].sort_index()
    out.name = indicator
    out.attrs["unit"] = unit(indicator)
    out.attrs["province"] = province
    return out


def by_province(indicator: str, national: bool = True) -> pd.DataFrame:
    """One indicator as a (year x province) table; ``national=False`` drops the ``China`` column.

    Missing cells (a province or year the yearbook table lacks) are NaN.
    """
    rows = load_panel(indicator=indicator)
    if not national:
        rows = rows[rows["province"] != NATIONAL]
    table = rows.pivot(index="year", columns="province", values="value").sort_index()
    table.columns.name = None
    return table
