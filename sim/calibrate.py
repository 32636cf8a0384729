"""``python -m sim.calibrate``: fit the posterior (``make calibrate``); code in ``sim/calibration/``."""

from sim.calibration.calibrate import main

if __name__ == "__main__":
    main()
