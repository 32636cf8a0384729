"""The model wing: the Mesa model, its agents, the market, the policy instruments, parameters, outcomes."""

from sim.model.model import InnovationModel, release, run_replicate

__all__ = ["InnovationModel", "release", "run_replicate"]
