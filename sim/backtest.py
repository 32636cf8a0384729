"""``python -m sim.backtest``: rolling-origin backtest against naive forecasters (``make backtest``);
code in ``sim/calibration/backtest/``."""

from sim.calibration.backtest import main

if __name__ == "__main__":
    main()
