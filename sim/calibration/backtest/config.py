"""The backtest's schema (``configs/backtest.yaml`` + ``configs/size/*.yaml``) and what it covers.

``BacktestConfig`` is what Hydra composes and the object the backtest runs on (validated on
construction). Its ``calibration`` is each origin's ABC budget: ``CalibrationBudget`` holds the fields
of ``CalibrateConfig`` except those the backtest sets itself per origin (``CALIBRATION_FIXED``), so
every knob is declared once, in ``sim/calibration/config.py``.
"""

from __future__ import annotations

import typing
from dataclasses import asdict, dataclass, field, fields, make_dataclass
from typing import Any

from sim.calibration.config import CalibrateConfig
from sim.calibration.targets import FIT_YEARS
from sim.model.params import FIRST_YEAR, ConfigError
from sim.runtime.config import is_number, unknown_key, whole

INDICATORS = ("T01", "T02", "T03", "T04", "T05")
LAST_YEAR = FIT_YEARS[-1]  # the last year with data: projections end here
FIRST_DATA_YEAR = FIRST_YEAR - 1  # the naive forecasters' window starts at the model's start state
#: the first origin leaves three fitted years (FIRST_YEAR to FIRST_YEAR + 2) before it
ORIGIN_RANGE = (FIRST_YEAR + 2, LAST_YEAR - 1)
#: Calibration settings the backtest sets itself (per origin), not the user.
CALIBRATION_FIXED = ("seed", "jobs", "through_year", "write_posterior", "posterior_path", "docs", "progress")


def _budget_schema() -> type:
    """``CalibrationBudget``: ``CalibrateConfig``'s fields and defaults but ``CALIBRATION_FIXED``."""
    hints = typing.get_type_hints(CalibrateConfig)
    return make_dataclass(
        "CalibrationBudget",
        [
            (f.name, hints[f.name], field(default=f.default))
            for f in fields(CalibrateConfig)
            if f.name not in CALIBRATION_FIXED
        ],
        namespace={
            "__module__": __name__,
            "__doc__": "Each origin's ABC budget (``calibration.*``): ``CalibrateConfig``'s fields but those "
            "the backtest sets.",
            # why the fixed keys are refused (sim.runtime.config.unknown_key says it)
            "fixed_keys": {key: "set by the backtest" for key in CALIBRATION_FIXED},
        },
    )


CalibrationBudget = _budget_schema()


@dataclass
class BacktestConfig:
    """Schema of ``configs/backtest.yaml`` (+ ``configs/size/*.yaml``); the object the backtest runs on.

    ``calibration`` may be given as a dict of the budget fields to change (from Python).
    """

    size: str = "full"  # name of the budget preset (configs/size/<size>.yaml)
    seed: int = 0  # root seed of every origin's calibration and projection ensemble
    origins: list[int] = field(default_factory=lambda: list(range(ORIGIN_RANGE[0], ORIGIN_RANGE[1] + 1)))
    replicates: int = 200  # projection replicates per origin
    scale: float = 1.0  # share of the firm population in the projections (the projections' scale)
    jobs: int = 2  # worker processes (results do not depend on it)
    calibration: CalibrationBudget = field(default_factory=CalibrationBudget)  # each origin's ABC budget
    docs: bool = True  # copy backtest.md/json and figures into docs/
    progress: bool = True  # progress bars on stderr

    def __post_init__(self) -> None:
        if isinstance(self.calibration, dict):
            self.calibration = _budget(self.calibration)
        if is_number(self.scale):
            self.scale = float(self.scale)
        self.validate()

    def validate(self) -> "BacktestConfig":
        whole("seed", self.seed, 0)
        whole("replicates", self.replicates, 2, 100_000)
        whole("jobs", self.jobs, 1, 4096)
        if not is_number(self.scale) or not 0.001 <= self.scale <= 50:
            raise ConfigError(f"scale = {self.scale!r}: allowed range is [0.001, 50]")
        o = list(self.origins)
        lo, hi = ORIGIN_RANGE
        if (
            not o
            or len(set(o)) != len(o)
            or any(isinstance(y, bool) or not isinstance(y, int) or not lo <= y <= hi for y in o)
        ):
            raise ConfigError(f"origins = {o!r}: must be distinct whole years in [{lo}, {hi}], at least one")
        if not isinstance(self.calibration, CalibrationBudget):
            raise ConfigError("calibration: must be the calibration budget (CalibrateConfig's fields)")
        self.calibration_config(o[0])
        return self

    def calibration_config(self, origin: int) -> CalibrateConfig:
        """The calibration of one origin: the budget of ``calibration``, the data up to ``origin``."""
        try:  # validated on construction
            return CalibrateConfig(
                **asdict(self.calibration),
                seed=self.seed,
                jobs=self.jobs,
                through_year=int(origin),
                write_posterior=False,
                posterior_path="",
                docs=False,
                progress=self.progress,
            )
        except ConfigError as exc:
            raise ConfigError(f"calibration.{exc}") from None


def _budget(changes: dict[str, Any]) -> Any:
    """The budget with ``changes``; ``ConfigError`` naming a key the budget does not have."""
    names = {f.name for f in fields(CalibrationBudget)}
    for key in changes:
        if key not in names:
            raise ConfigError(unknown_key(BacktestConfig, f"calibration.{key}"))
    return CalibrationBudget(**changes)
