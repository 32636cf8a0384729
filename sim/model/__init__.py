"""The model wing: the Mesa model, its agents, the market, the policy instruments, parameters, outcomes.

One model run from its inputs to its outcomes: ``sim.model.evaluate`` (``evaluate(ModelRun(...))``).
"""

from sim.model.model import InnovationModel

__all__ = ["InnovationModel"]
