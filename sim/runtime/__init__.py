"""What every wing uses: the app shell of the four commands, atomic writes, config checks, the one
parallel runner, provenance.

The pipeline (projections, studies) and calibration (ABC, backtest) import from here, one way;
nothing here imports either wing.
"""
