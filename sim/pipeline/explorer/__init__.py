"""The lever explorer (``make app``): move a lever, watch the ensemble's fan charts, P(reach) and cost.

* ``adapter``: the one module that calls the model wing and the pipeline helpers;
* ``stats``: what is shown, with its Monte Carlo error; ``charts``: the fan charts (ECharts);
* ``engine``: the background ensemble (worker processes, newest setting first);
* ``page``: the Solara page. ``sim/app.py`` serves it on the loopback interface.
"""
