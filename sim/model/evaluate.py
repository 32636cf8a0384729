"""The one evaluator: one model run, from what it depends on to its outcomes.

    from sim.model.evaluate import ModelRun, evaluate
    out = evaluate(ModelRun(levers, params, effects, seed=1, scale=0.1, end_year=2026))
    out.at(2026, ["T01", "T02"])    # values of indicators in a year
    out.cost(), out.costs()         # public cost 2024-2026 (亿元): all instruments, and by instrument
    out.frame()                     # the annual table: index year, one column per indicator

``evaluate`` builds the Mesa model, runs it to December of ``end_year`` and releases it; it
returns the annual indicators as plain arrays (``Indicators``, cheap to pickle back from a
worker). Every caller runs models through it, on the one parallel runner
(``sim.runtime.parallel.Executor``): ensembles and the backtest (``sim.pipeline.ensemble``),
the lever studies (``sim.pipeline.study.design``), the calibration (``sim.calibration.abc``),
the explorer (``sim.pipeline.explorer``) and the EMA Workbench model (``sim.ema``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import mesa
import numpy as np
import pandas as pd

from sim.model.agents import mesa_bulk
from sim.model.model import InnovationModel
from sim.model.outcomes import SPENDING
from sim.model.params import LAST_BASE_YEAR, PLAN_YEAR

#: The plan's years (2024-2026 inclusive): a run's public cost is its spending summed over them.
COST_YEARS = (LAST_BASE_YEAR + 1, PLAN_YEAR)
COST = "cost"  # the public cost of 2024-2026 over every instrument, 亿元
#: Each instrument's public cost of 2024-2026, named after its spending column (``spend_x`` -> ``cost_x``).
INSTRUMENT_COSTS: dict[str, str] = {s: f"cost_{s.removeprefix('spend_')}" for s in SPENDING}


@dataclass(frozen=True)
class ModelRun:
    """What one model run depends on (the task of the one evaluator).

    ``levers``: ``PolicyLevers`` (None: the plan); ``params``: ``BehaviourParams`` (None: central
    values); ``effects``: ``LeverEffects`` (None: central values); ``seed``: the model seed;
    ``scale``: share of the real firm population simulated; ``end_year``: the last year run;
    ``data_through``: the last year of data the run reads (``RunConfig``; a backtest sets its origin).
    """

    levers: Any = None
    params: Any = None
    effects: Any = None
    seed: int = 0
    scale: float = 1.0
    end_year: int = PLAN_YEAR
    data_through: int = LAST_BASE_YEAR


def period_sum(years: Sequence[int], values: np.ndarray, period: tuple[int, int] = COST_YEARS) -> np.ndarray:
    """``values`` (one row per year of ``years``) summed over the years of ``period`` (inclusive).

    NaN where the run holds none of those years (it ended before them). The one rule for the
    public cost of 2024-2026: runs (``Indicators.costs``) and ensembles (``report.public_cost``).
    """
    years = np.asarray(years)
    values = np.asarray(values, dtype=float)
    inside = (years >= period[0]) & (years <= period[1])
    if not inside.any():
        return np.full(values.shape[1:], np.nan)
    return values[inside].sum(axis=0)


@dataclass(frozen=True)
class Indicators:
    """One run's annual indicators as plain arrays (cheap to pickle back from a worker)."""

    years: np.ndarray  # (n_years,) int
    names: tuple[str, ...]  # (n_indicators,)
    values: np.ndarray  # (n_years, n_indicators) float

    @classmethod
    def of(cls, annual: pd.DataFrame) -> "Indicators":
        """From a model's annual table (index year, one column per indicator)."""
        values = annual.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        return cls(annual.index.to_numpy(dtype=np.int64), tuple(map(str, annual.columns)), values)

    def frame(self) -> pd.DataFrame:
        """The annual table: index ``year``, one column per indicator."""
        return pd.DataFrame(self.values, index=pd.Index(self.years, name="year"), columns=list(self.names))

    def columns(self, names: Sequence[str]) -> list[int]:
        """Column positions of ``names`` (``KeyError`` naming the indicators this run lacks)."""
        where = {n: k for k, n in enumerate(self.names)}
        missing = [n for n in names if n not in where]
        if missing:
            raise KeyError(f"the run reported no indicator {missing}")
        return [where[n] for n in names]

    def select(self, names: Sequence[str]) -> "Indicators":
        """Only the indicators ``names``, in that order."""
        return Indicators(self.years, tuple(names), self.values[:, self.columns(names)])

    def at(self, year: int, names: Sequence[str]) -> np.ndarray:
        """Values of ``names`` in ``year`` (``KeyError`` when the run did not reach it)."""
        row = np.flatnonzero(self.years == year)
        if row.size == 0:
            raise KeyError(f"the run holds no year {year} (years {self.years[0]}-{self.years[-1]})")
        return self.values[row[0], self.columns(names)]

    def costs(self) -> dict[str, float]:
        """Public cost of 2024-2026 by instrument (亿元; keys ``INSTRUMENT_COSTS``, in ``SPENDING`` order):
        each instrument's spending column summed over ``COST_YEARS``."""
        per = period_sum(self.years, self.values[:, self.columns(SPENDING)])
        return dict(zip(INSTRUMENT_COSTS.values(), per.tolist()))

    def cost(self) -> float:
        """Public cost of 2024-2026 over every instrument (亿元): the sum of ``costs``."""
        return float(np.sum(list(self.costs().values())))


def evaluate(run: ModelRun) -> Indicators:
    """Build, run and release one model; return its annual indicators."""
    model = InnovationModel(
        levers=run.levers,
        params=run.params,
        seed=run.seed,
        end_year=run.end_year,
        scale=run.scale,
        effects=run.effects,
        data_through=run.data_through,
    )
    try:
        model.run()
        return Indicators.of(model.annual_indicators())
    finally:
        release(model)


def release(model: mesa.Model) -> None:
    """Free a finished model: Mesa 3.3.1 keeps every model alive through Agent._ids (mesa#3179)."""
    mesa_bulk.release(model)
