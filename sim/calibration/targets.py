"""What the calibration fits: the 2019-2023 data points, the model's matching outputs, the distance.

A data point is one row of ``sim/data/fit_targets.csv`` (year-end or full-year value with a
plausible range ``[lo, hi]``); mid-year rows (``*_partial``) are left out because the model
reports year ends. The distance between a run and the data, over the fitted points, is

    d = sum_i ((sim_i - obs_i) / s_i)^2,    s_i = sqrt(h_i^2 + sigma_i^2)

where ``h_i = (hi - lo) / 2`` is the half-width of the point's range (derived values have
wider ranges, so they count less) and ``sigma_i`` is the run-to-run standard deviation of the
model output at the calibration scale (a floor for model stochasticity: a run cannot be asked
to land closer to a point than its own seed noise allows), measured by a pilot of replicates at
the prior centre (``noise_pilot``). ``s_i`` also holds the model discrepancy ``delta_i`` of the
point's series (``MODEL_DISCREPANCY``, relative to the observation: Kennedy & O'Hagan 2001): what a
model of this resolution is not expected to reproduce, so the fit is not bent to chase it:
``s_i^2 = h_i^2 + sigma_i^2 + (delta_i z_i)^2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.data.history import PARTIAL_SUFFIX, load_fit_targets
from sim.model.params import FIRST_YEAR, LAST_BASE_YEAR

FIT_YEARS = tuple(range(FIRST_YEAR, LAST_BASE_YEAR + 1))
#: Indicators in the distance (ids of ``sim.model.outcomes.OUTCOMES``), with what each informs.
FIT_INDICATORS = (
    "T01",  # technology contract turnover, 亿元 (the yearbook's seller-side value, every year)
    "contracts",  # their count: separates the growth of the count from that of the value per contract
    "T02",  # tech-SME registry, firms admitted in the year
    "T03",  # high-tech enterprises, valid certificates
    "hte_recognised",  # certificates granted in the year (the recognition lists): entry into HNTE
    "T04",  # invention patents held
    "patents_granted",  # granted in the year: the flow into T04 (propensity, lags, lapses apart)
    "T05",  # enterprise share of R&D, percent
    "rd_total",  # 亿元, every year: with T05 it pins enterprise and non-enterprise R&D
    "reform_itemised",  # three reforms, cumulative at end-2023
    "reform_transferred",
    "reform_spinoffs",
    "T02_h1",  # the registry by 30 June 2023: batch timing and level
    "institutions_share_T01",  # universities' and institutes' share of 2022 value: univ_contract_rate
    "zjtx_cumulative",  # 专精特新 recognised by 2023: zjtx_apply_prob
    "hte_revenue",  # 2020 revenue of high-tech enterprises: firm size and growth
)
#: Compared in the report, not in the distance: enterprise and non-enterprise R&D are T05 and rd_total again
#: (T05 = e / (e + n), rd_total = e + n), so fitting them too would count the same facts twice.
CONTEXT_INDICATORS = ("rd_enterprise", "rd_nonenterprise")
#: Context indicators fitted in the years where the named fitted indicator has no point: without T05, a
#: year's rd_total does not say how much of it the enterprises spent, so enterprise R&D (2017, 2018, 2020,
#: 2021: the yearbook's enterprise-funded series, DERIVATIONS.md) is a fact of its own there, and the growth
#: of enterprise R&D over 2017-2023 is pinned every year rather than at T05's three points.
FITTED_WHERE_MISSING = {"rd_enterprise": "T05"}
REPORT_INDICATORS = FIT_INDICATORS + CONTEXT_INDICATORS
#: What each simulation returns (fit and context indicators, and more), years 2018 (start state) to 2023.
OUTPUT_INDICATORS = REPORT_INDICATORS + ("firms_alive",)
OUTPUT_YEARS = tuple(range(FIRST_YEAR - 1, FIT_YEARS[-1] + 1))
#: Model discrepancy by series, as a share of the observation (a stated judgement, docs/calibration.md):
#: what the model does not represent. Contract counts jump with registration drives the model has no
#: mechanism for (2019 +40 %, 2020 -2 %, 2021 +33 %, 2022 -1 %: the panel); the recognition lists are dated
#: by publication, a late batch falls into the next year; the registry's mid-year count and the 2023
#: registry rest on derived values; the single points of the reforms, the 专精特新 count, the institutions'
#: share and the HNTE revenue are sums over sub-populations the model draws coarsely.
MODEL_DISCREPANCY = {
    "T01": 0.03,
    "contracts": 0.10,
    "T02": 0.05,
    "T03": 0.03,
    "hte_recognised": 0.08,
    "T04": 0.02,
    "patents_granted": 0.05,
    "T05": 0.02,
    "rd_total": 0.03,
    "reform_itemised": 0.10,
    "reform_transferred": 0.10,
    "reform_spinoffs": 0.10,
    "T02_h1": 0.10,
    "institutions_share_T01": 0.30,
    "zjtx_cumulative": 0.30,
    "hte_revenue": 0.15,
    "rd_enterprise": 0.03,  # as rd_total: the survey's own error (its enterprise-funded proxy: the range)
}
#: Floor on the model-noise sd, relative to the observed value: keeps a deterministic output
#: (e.g. non-enterprise R&D of 2019, fixed by the start state) from getting a zero floor.
MIN_RELATIVE_NOISE = 0.002


def outputs_from_annual(annual: pd.DataFrame) -> np.ndarray:
    """The model's annual table -> array (indicator, year) in ``OUTPUT_INDICATORS`` x ``OUTPUT_YEARS``."""
    frame = annual.reindex(index=list(OUTPUT_YEARS), columns=list(OUTPUT_INDICATORS))
    return frame.to_numpy(dtype=float).T.copy()


def outputs_from_tidy(results: pd.DataFrame) -> np.ndarray:
    """An ensemble's tidy results (``sim.pipeline.ensemble``) -> (replicate, indicator, year) array.

    Each replicate as ``outputs_from_annual`` makes it, in replicate order: what the fit report's
    functions take, so an ensemble run to 2023 can be checked against the data as the calibration does.
    """
    return np.stack(
        [
            outputs_from_annual(grp.pivot(index="year", columns="indicator", values="value"))
            for _, grp in results.groupby("replicate", sort=True)
        ]
    )


def load_points(indicators=REPORT_INDICATORS, years=FIT_YEARS, fitted=FIT_INDICATORS) -> pd.DataFrame:
    """The data points: indicator, year, value, lo, hi, half_width, derived, source, fitted (in the distance)."""
    df = load_fit_targets()
    keep = (
        df["indicator"].isin(indicators) & df["year"].isin(years) & ~df["kind"].str.endswith(PARTIAL_SUFFIX)
    )
    pts = df.loc[keep, ["indicator", "year", "value", "lo", "hi", "derived", "source_url"]].copy()
    order = {name: k for k, name in enumerate(OUTPUT_INDICATORS)}
    pts["_order"] = pts["indicator"].map(order)
    pts = pts.sort_values(["_order", "year"]).drop(columns="_order").reset_index(drop=True)
    if (pts["lo"] > pts["value"]).any() or (pts["hi"] < pts["value"]).any():
        bad = pts[(pts["lo"] > pts["value"]) | (pts["hi"] < pts["value"])]
        raise ValueError(f"fit target outside its own range: {bad[['indicator', 'year']].to_dict('records')}")
    pts["half_width"] = (pts["hi"] - pts["lo"]) / 2.0
    pts["fitted"] = pts["indicator"].isin(fitted)
    for name, other in FITTED_WHERE_MISSING.items():
        if other in fitted:
            covered = set(pts.loc[pts["indicator"] == other, "year"])
            pts.loc[(pts["indicator"] == name) & ~pts["year"].isin(covered), "fitted"] = True
    return pts


@dataclass
class FitTargets:
    """Data points plus the index of each point in a simulation's output array."""

    points: pd.DataFrame
    noise_sd: np.ndarray | None = None  # model run-to-run sd per point (set by ``with_noise``)

    def __post_init__(self):
        ind = {name: k for k, name in enumerate(OUTPUT_INDICATORS)}
        yrs = {y: k for k, y in enumerate(OUTPUT_YEARS)}
        unknown = set(self.points["indicator"]) - set(ind)
        if unknown:
            raise ValueError(f"no model output for fit indicators {sorted(unknown)}")
        self._rows = self.points["indicator"].map(ind).to_numpy()
        self._cols = self.points["year"].map(yrs).to_numpy()
        self.observed = self.points["value"].to_numpy(dtype=float)
        self.half_width = self.points["half_width"].to_numpy(dtype=float)
        rel = self.points["indicator"].map(MODEL_DISCREPANCY).fillna(0.0).to_numpy(dtype=float)
        self.discrepancy = rel * np.abs(self.observed)  # sd, in the observation's units
        fitted = (
            self.points["fitted"] if "fitted" in self.points else pd.Series(True, index=self.points.index)
        )
        self.fitted = fitted.to_numpy(dtype=bool)

    @classmethod
    def default(cls, through_year: int = FIT_YEARS[-1]) -> "FitTargets":
        """The data points of ``FIT_YEARS`` up to ``through_year`` (a backtest origin drops later points)."""
        return cls(load_points(years=[y for y in FIT_YEARS if y <= through_year]))

    def __len__(self) -> int:
        return len(self.points)

    def labels(self, fitted_only: bool = False) -> list[str]:
        return [
            f"{i} {y}"
            for i, y, f in zip(self.points["indicator"], self.points["year"], self.fitted)
            if f or not fitted_only
        ]

    def simulated(self, outputs: np.ndarray) -> np.ndarray:
        """Model values at the data points; ``outputs`` is (..., indicator, year)."""
        return outputs[..., self._rows, self._cols]

    def with_noise(self, pilot_outputs: np.ndarray) -> "FitTargets":
        """A copy whose distance floors each point by the run-to-run sd in ``pilot_outputs`` (n, ind, year)."""
        sims = self.simulated(np.asarray(pilot_outputs, dtype=float))
        sd = np.nanstd(sims, axis=0, ddof=1) if sims.shape[0] > 1 else np.zeros(len(self))
        sd = np.where(np.isfinite(sd), sd, 0.0)
        sd = np.maximum(sd, MIN_RELATIVE_NOISE * np.abs(self.observed))
        return FitTargets(self.points.copy(), noise_sd=sd)

    @property
    def scale(self) -> np.ndarray:
        """Per-point error scale s_i = sqrt(half_width^2 + noise_sd^2 + discrepancy^2)."""
        noise = self.noise_sd if self.noise_sd is not None else 0.0
        return np.sqrt(self.half_width**2 + noise**2 + self.discrepancy**2)

    def distance(self, outputs: np.ndarray) -> np.ndarray:
        """Sum of squared scaled errors over the fitted points; ``inf`` where a run failed (NaN output)."""
        z = (self.simulated(np.asarray(outputs, dtype=float)) - self.observed) / self.scale
        d = np.sum(z[..., self.fitted] ** 2, axis=-1)
        return np.where(np.isfinite(d), d, np.inf)

    def table(self) -> pd.DataFrame:
        """The points with their error scales (for the report)."""
        out = self.points[["indicator", "year", "value", "lo", "hi", "half_width", "derived"]].copy()
        out["fitted"] = self.fitted
        out["noise_sd"] = self.noise_sd if self.noise_sd is not None else np.nan
        out["discrepancy"] = self.discrepancy
        out["scale"] = self.scale
        return out
