"""``python -m sim.study NAME``: lever studies (``make experiments``); code in ``sim/pipeline/study/``."""

from sim.pipeline.study.runner import main

if __name__ == "__main__":
    main()
