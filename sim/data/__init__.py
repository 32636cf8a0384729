"""What every projection reads: the official history with its sources, the fit targets, and the
calibrated posterior, each beside its loader (``history.py``, ``posterior.py``).

The model wing never reads these files; the pipeline (projections) and calibration (which writes the
posterior) both import them from here, one way.
"""
