"""The shipped history and fit targets: complete, sourced, consistent, and hashed for provenance."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sim.data import history

REPO = Path(__file__).resolve().parents[1]
SHARED_RAW = REPO.parent / "shared" / "data" / history.RAW_HISTORY_FILE
HEADLINE = ["T01", "T02", "T03", "T04", "T05"]
FIT_COLUMNS = "indicator year value lo hi kind derived source_url quote_or_derivation".split()
#: The yearbook series (sim/data/panel.py) reach back to 2010 (T01 from 2012).
FIRST_TARGET_YEAR = 2010


@pytest.fixture(scope="module")
def targets():
    return history.load_fit_targets()


def test_fit_targets_load_with_expected_columns(targets):
    assert list(targets.columns) == FIT_COLUMNS
    assert set(HEADLINE) <= set(targets["indicator"])
    assert targets["year"].between(FIRST_TARGET_YEAR, 2023).all()
    assert targets[["value", "lo", "hi"]].notna().all().all()


def test_every_row_has_a_source_or_a_derivation(targets):
    assert targets["source_url"].str.startswith("http").all()
    assert (targets["quote_or_derivation"].str.strip().str.len() > 0).all()
    derived = targets[targets["derived"]]
    assert derived["quote_or_derivation"].str.contains("DERIVATIONS.md").all()


def test_ranges_bracket_values(targets):
    derived = targets[targets["derived"]]
    assert ((derived["lo"] < derived["value"]) & (derived["value"] < derived["hi"])).all()
    assert ((targets["lo"] <= targets["value"]) & (targets["value"] <= targets["hi"])).all()


def test_kinds_are_from_the_documented_vocabulary(targets):
    base = targets["kind"].str.removesuffix(history.PARTIAL_SUFFIX)
    assert set(base) <= {"flow", "stock", "registry", "share", "cumulative"}


def test_t05_2019_is_enterprise_over_total_rd(targets):
    t05 = history.observed("T05")
    assert t05[2019] == pytest.approx(301.23 / 584.58 * 100, abs=0.01)
    # enterprise + non-enterprise = total in every year the three are given
    total, ent, non = (history.observed(k) for k in ("rd_total", "rd_enterprise", "rd_nonenterprise"))
    for year in non.index:
        assert ent[year] + non[year] == pytest.approx(total[year], abs=0.15)
        assert 100 * ent[year] / total[year] == pytest.approx(t05[year], abs=0.05)


def test_observed_returns_year_end_values_only():
    t02 = history.observed("T02")
    assert t02.index.is_monotonic_increasing and t02.index.is_unique
    assert t02[2023] == 21000  # the derived year-end count, not the 30 Jun 13,154
    assert history.observed("T04")[2020] == 54646  # the yearbook's year end, not the 30 Jul 50,797
    with pytest.raises(KeyError):
        history.observed("T99")


def test_year_end_values_are_not_below_same_year_partial_counts(targets):
    partial = targets[targets["kind"].str.endswith(history.PARTIAL_SUFFIX)]
    for row in partial.itertuples():
        if row.indicator == "incubator_tenants":
            continue  # a stock that can fall within a year
        year_end = history.observed(row.indicator).get(row.year)
        if year_end is not None:
            assert year_end >= row.value, row


def test_raw_history_loads_as_text():
    raw = history.load_raw_history()
    assert list(raw.columns) == ["indicator", "year", "value", "unit", "kind", "source_url", "quote"]
    assert len(raw) > 50
    assert (raw["source_url"].str.len() > 0).all()


@pytest.mark.skipif(not SHARED_RAW.exists(), reason="shared/ folder not beside the repository")
def test_raw_history_is_a_verbatim_copy_of_shared():
    shipped = (history.data_dir() / history.RAW_HISTORY_FILE).read_bytes()
    assert shipped == SHARED_RAW.read_bytes()


def test_data_hash_changes_when_a_data_file_changes(tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(Path(str(history.data_dir())), copy)
    base = history.data_hash(copy)
    assert base == history.data_hash()  # same bytes, same hash
    assert len(base) == 64

    (copy / "SOURCES.md").write_text("documentation is not hashed\n")
    assert history.data_hash(copy) == base

    targets_file = copy / history.FIT_TARGETS_FILE
    targets_file.write_bytes(targets_file.read_bytes().replace(b"4118.4641", b"4118.4642"))
    edited = history.data_hash(copy)
    assert edited != base

    panel_file = copy / "china_province_panel_to_2023.csv"
    panel_file.write_bytes(panel_file.read_bytes().replace(b"102176.0", b"102177.0"))
    assert history.data_hash(copy) != edited  # the province panel is hashed too
    edited = history.data_hash(copy)
    inputs = history.data_hash(copy, exclude_prefix="posterior")

    (copy / "posterior.json").write_text("{}")
    (copy / "posterior.csv").write_text("x\n")
    assert history.data_hash(copy) != edited
    # ...but the calibration's input hash leaves its own output (posterior.*) out
    assert history.data_hash(copy, exclude_prefix="posterior") == inputs


def test_data_hash_defaults_to_package_data(monkeypatch, tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    monkeypatch.setattr(history, "data_dir", lambda: tmp_path)
    first = history.data_hash()
    (tmp_path / "a.csv").write_text("x\n2\n")
    assert history.data_hash() != first


# --------------------------------------------------------------------------- the yearbook rows
#: fit-target indicator -> the panel indicator its yearbook rows quote (DERIVATIONS.md)
YEARBOOK_ROWS = {
    "T01": "contracts_seller_value",
    "contracts": "contracts_seller_count",
    "T04": "invention_patents_valid",
    "patents_granted": "invention_patents_granted",
    "rd_total": "rd_total",
    "hte_recognised": "hnte_recognised",
}
YEARBOOK_URL = "https://github.com/huhuaping/techme/"


@pytest.mark.parametrize("indicator", sorted(YEARBOOK_ROWS))
def test_yearbook_rows_quote_the_panel_in_every_year_it_has(targets, indicator):
    from sim.data import panel

    rows = targets[(targets["indicator"] == indicator) & targets["source_url"].str.startswith(YEARBOOK_URL)]
    official = panel.series(YEARBOOK_ROWS[indicator])
    first = 2012 if indicator == "T01" else FIRST_TARGET_YEAR
    official = official[official.index >= first]
    assert rows["year"].tolist() == official.index.tolist()  # every panel year, in order, once
    assert rows["value"].to_numpy() == pytest.approx(official.to_numpy(), rel=1e-9)
    assert not rows["derived"].any()
    # +-2 % for official counts; +-5 % for the recognition lists (publication dating, DERIVATIONS.md)
    rel = 0.05 if indicator == "hte_recognised" else 0.02
    # (bounds of counts are rounded to whole units: 0.5 / 1,553 < 5e-4)
    assert (rows["lo"] / rows["value"]).to_numpy() == pytest.approx(1 - rel, abs=5e-4)
    assert (rows["hi"] / rows["value"]).to_numpy() == pytest.approx(1 + rel, abs=5e-4)


def test_t01_and_t04_are_one_caliber(targets):
    """Every year-end T01 and T04 row is the yearbook's (no mixed release / derived rows left)."""
    for ind in ("T01", "T04"):
        year_end = targets[
            (targets["indicator"] == ind) & ~targets["kind"].str.endswith(history.PARTIAL_SUFFIX)
        ]
        assert year_end["source_url"].str.startswith(YEARBOOK_URL).all(), ind
    assert history.observed("T01")[2020] == pytest.approx(1758.72, abs=0.01)
    assert history.observed("T04")[2023] == 102176
