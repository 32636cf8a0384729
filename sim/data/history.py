"""Shaanxi history and the calibration targets shipped in ``sim/data``.

Sources and column meanings: ``sim/data/SOURCES.md``; derived values: ``sim/data/DERIVATIONS.md``.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import pandas as pd

FIT_TARGETS_FILE = "fit_targets.csv"
RAW_HISTORY_FILE = "shaanxi_history_to_2023.csv"
#: Suffixes of the files in ``sim/data`` that code reads; documentation (``*.md``) is not hashed.
HASHED_SUFFIXES = (".csv", ".json", ".npz")
#: ``kind`` suffix of mid-year rows (date in ``quote_or_derivation``); not year-end observations.
PARTIAL_SUFFIX = "_partial"


def data_dir() -> Traversable:
    """The package's data folder (works installed, editable or from a source tree)."""
    return resources.files("sim") / "data"


def _read_csv(name: str, **kwargs) -> pd.DataFrame:
    with (data_dir() / name).open("rb") as fh:
        return pd.read_csv(fh, **kwargs)


def load_fit_targets() -> pd.DataFrame:
    """Calibration targets, one row per (indicator, year, kind): value with plausible range [lo, hi].

    Columns: indicator, year (int), value, lo, hi (float), kind, derived (bool), source_url,
    quote_or_derivation.
    """
    df = _read_csv(
        FIT_TARGETS_FILE,
        dtype={"indicator": str, "year": int, "value": float, "lo": float, "hi": float, "kind": str},
    )
    df["derived"] = df["derived"].astype(int).astype(bool)
    return df


def load_raw_history() -> pd.DataFrame:
    """The official-figures table as reported: every column kept as text (values hold "≈", ">", ranges)."""
    return _read_csv(RAW_HISTORY_FILE, dtype=str, keep_default_na=False)


def data_hash(directory: Path | Traversable | None = None, exclude_prefix: str | None = None) -> str:
    """SHA-256 over the data files code reads (name and bytes, sorted by name), for run provenance.

    ``directory`` defaults to the package's ``sim/data``; files whose name starts with
    ``exclude_prefix`` are left out (the calibration hashes its inputs without its own output).
    """
    folder = data_dir() if directory is None else directory
    files = sorted(
        (
            f
            for f in folder.iterdir()
            if f.is_file()
            and f.name.endswith(HASHED_SUFFIXES)
            and not (exclude_prefix and f.name.startswith(exclude_prefix))
        ),
        key=lambda f: f.name,
    )
    digest = hashlib.sha256()
    for f in files:
        content = f.read_bytes()
        digest.update(f"{f.name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def observed(indicator: str) -> pd.Series:
    """Year-end (or full-year) values of one indicator, indexed by year; mid-year rows excluded."""
    df = load_fit_targets()
    rows = df[(df["indicator"] == indicator) & ~df["kind"].str.endswith(PARTIAL_SUFFIX)]
    if rows.empty:
        raise KeyError(f"no year-end observations for indicator {indicator!r}")
    if rows["year"].duplicated().any():
        raise ValueError(f"indicator {indicator!r} has two year-end rows for one year")
    series = rows.set_index("year")["value"].sort_index()
    series.name = indicator
    return series
