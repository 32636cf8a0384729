"""Lever studies (``python -m sim.study NAME``): the runner and one module per study.

``runner.py`` (the Hydra app, run cache, outputs, publishing), ``design.py`` (lever ranges, one run
as a task, reach), ``index.py`` (the cross-study table) and the studies: ``contrast.py``,
``lever_curves.py``, ``sensitivity.py``, ``discovery.py``, ``portfolio.py``. Each study's question
and designs are in ``configs/study/NAME.yaml``; its committed findings in ``experiments/NAME/``.

``STUDIES`` is the one list of them (the runner, the index and ``make experiments`` read it:
``python -m sim.study --list``).
"""

#: The lever studies, in the order they are run and shown.
STUDIES = ("contrast", "lever_curves", "sensitivity", "discovery", "portfolio")
