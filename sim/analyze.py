"""``python -m sim.analyze DIR``: merge runs and sweeps; code in ``sim/pipeline/analyze.py``."""

import sys

from sim.pipeline.analyze import main

if __name__ == "__main__":
    sys.exit(main())
