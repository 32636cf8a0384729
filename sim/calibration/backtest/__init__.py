"""``python -m sim.backtest``: a rolling-origin backtest of the model against naive forecasters (``make backtest``).

For each origin year ``o`` (default 2019-2022, every origin the data allow):

1. **Calibrate** on the data up to ``o`` only: the same ABC as ``python -m sim.calibrate``
   (``sim.calibration.calibrate.calibrate`` with ``through_year = o``), at the budget of
   ``calibration.*``; the posterior is written into the origin's folder, never into ``sim/data``,
   and ``docs/`` is left alone.
2. **Project** to 2023 with the ensemble machinery of ``python -m sim``
   (``sim.pipeline.ensemble``: ``load_param_sets`` on the origin's posterior, ``plan_replicates``,
   ``run_ensemble``). Up to 2023 the levers follow their historical path whatever the scenario
   (``sim.model.policy``), so the projection is a forecast of what happened.
3. **Naive forecasters** (``sim.calibration.forecasters``) are fitted to the year-end observations
   ``2018..o`` of each indicator (``sim.data.history.observed``; 2018 is the model's start state).
4. **Score** every forecast of a year ``o + h <= 2023`` that has a year-end observation
   (``sim.calibration.scores``): relative CRPS, relative 90 % interval score, relative absolute
   error of the median, coverage of the 90 % interval (the 5 % and 95 % quantiles).

Writes into the run folder (``results/backtest/<date>/<time>/``) ``backtest.md``, ``backtest.json``,
``scores.csv``, ``figures/backtest_T0*.png`` and per origin the calibration and the projections;
with ``docs=true`` also ``docs/backtest.md``, ``docs/backtest.json`` and ``docs/backtest_figures/``.

One module a concern:

- ``config``: the schema ``BacktestConfig`` (``configs/backtest.yaml`` + ``configs/size/``), the
  indicators and years it covers, each origin's ``CalibrateConfig``;
- ``scoring``: the model's and the naive forecasters' rows of scores, the summary tables and the
  goal verdicts;
- ``plots``: the fans against the data, one figure per indicator;
- ``report``: the markdown report (``rerender``: the same from a finished backtest's ``backtest.json``);
- ``command``: calibrate, project, score and write (``run_backtest``), and the command (``COMMAND``,
  run by the app shell ``sim.runtime.shell``).

Why 2020 is an origin: it is the only one that reaches horizon 3 and it doubles the evidence at
horizon 2. The ABC needs no more data points than parameters (10 points, 2019-2020): what the data
do not pin stays at its prior and widens the fan, which is what a forecaster in 2020 would have had.
The naive forecasters have three points there (2018-2020), the minimum for a residual sd; GM(1,1)
needs four and is unavailable at 2020. 2019 is not allowed: two points leave the naive forecasters
no residual.
"""

from sim.calibration.backtest.command import COMMAND, main, project, run_backtest
from sim.calibration.backtest.config import (
    FIRST_DATA_YEAR,
    INDICATORS,
    LAST_YEAR,
    ORIGIN_RANGE,
    BacktestConfig,
    CalibrationBudget,
)
from sim.calibration.backtest.plots import plot_indicator
from sim.calibration.backtest.report import render_markdown
from sim.calibration.backtest.scoring import (
    FORECASTER_NAMES,
    GOAL_HORIZONS,
    GOAL_INDICATORS,
    MODEL,
    goal_verdicts,
    model_band,
    model_rows,
    naive_forecasts,
    naive_rows,
    observations,
    summary_tables,
)

__all__ = [
    "COMMAND",
    "FIRST_DATA_YEAR",
    "FORECASTER_NAMES",
    "GOAL_HORIZONS",
    "GOAL_INDICATORS",
    "INDICATORS",
    "LAST_YEAR",
    "MODEL",
    "ORIGIN_RANGE",
    "BacktestConfig",
    "CalibrationBudget",
    "goal_verdicts",
    "main",
    "model_band",
    "model_rows",
    "naive_forecasts",
    "naive_rows",
    "observations",
    "plot_indicator",
    "project",
    "render_markdown",
    "run_backtest",
    "summary_tables",
]
