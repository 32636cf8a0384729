"""``CalibrateConfig``: the schema of ``configs/calibrate.yaml`` and the object ``python -m sim.calibrate``
runs on (``sim.calibration.calibrate``); the fit report (``sim.calibration.report``) and the backtest,
which calibrates once per origin, read it too."""

from __future__ import annotations

from dataclasses import dataclass

from sim.calibration.abc import ABCSettings, check_scale
from sim.model.params import ConfigError
from sim.runtime.config import flag, whole
from sim.runtime.parallel import check_backend


@dataclass
class CalibrateConfig(ABCSettings):
    """Schema of ``configs/calibrate.yaml`` and the object ``calibrate()`` runs on: the ABC's knobs
    (``ABCSettings``, declared there once) plus how to run and what to write. Validated on construction."""

    jobs: int = 2  # worker processes (executor=ray address=local: its CPUs)
    executor: str = "local"  # where the runs go: local | ray
    address: str = "auto"  # executor=ray: auto | local | host:port | ray://host:port
    ppc: bool = True  # posterior-predictive check (one run per accepted set) and fit report
    ppc_scale: float = 1.0  # scale of the check: the projections' scale
    write_posterior: bool = True  # copy posterior.csv/json into sim/data (the committed posterior)
    posterior_path: str = ""  # where to write it; empty = sim/data/posterior.csv
    docs: bool = True  # copy the report to docs/calibration_report.md (+ docs/calibration_figures)
    progress: bool = True  # progress bars on stderr

    def validate(self) -> "CalibrateConfig":
        super().validate()
        whole("jobs", self.jobs, 1, 4096)
        check_backend(self.executor, self.address)
        check_scale("ppc_scale", self.ppc_scale)
        for key in ("ppc", "write_posterior", "docs", "progress"):
            flag(key, getattr(self, key))
        if not isinstance(self.posterior_path, str):
            raise ConfigError(f"posterior_path = {self.posterior_path!r}: must be a path or empty")
        return self
