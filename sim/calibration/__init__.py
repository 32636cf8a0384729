"""Calibration of the behavioural parameters to 2019-2023 by approximate Bayesian computation.

* ``targets``: which data points are fitted, what the model reports for them, the distance.
* ``abc``: the algorithm (rejection on a scrambled Sobol design, then ABC population Monte Carlo).
* ``fitreport`` and ``report``: posterior-predictive check, error table, figures and the markdown report.
* ``backtest/``: the rolling-origin backtest against naive forecasters (``forecasters``, ``scores``).

The commands are ``python -m sim.calibrate`` (``calibrate.py``, schema ``config.CalibrateConfig``, config
``configs/calibrate.yaml``) and ``python -m sim.backtest`` (``backtest/``, config ``configs/backtest.yaml``).
"""
