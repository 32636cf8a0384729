"""Calibration of the behavioural parameters to 2019-2023 by approximate Bayesian computation.

* ``targets``: which data points are fitted, what the model reports for them, the distance.
* ``abc``: the algorithm (rejection on a scrambled Sobol design, then ABC population Monte Carlo).
* ``fitreport``: posterior-predictive check, error table, figures and the markdown report.

The command is ``python -m sim.calibrate`` (``sim/calibration/calibrate.py``, config ``configs/calibrate.yaml``).
"""
