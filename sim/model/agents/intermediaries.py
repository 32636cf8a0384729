"""Technology-transfer institutions, proof-of-concept centres and the roadshow organiser.

Each is a Mesa agent built to its lever (``Intermediaries.build``); what they do each year is the
mechanics of their instruments (``sim/model/policy/tech_transfer.py``, ``poc_centres.py``,
``roadshows.py``), which draw from streams of their own, so a scenario with more intermediaries
shares every other draw with one with fewer (common random numbers).
"""

from __future__ import annotations

import mesa


class TechTransferInstitution(mesa.Agent):
    """Brokers transfers of university and institute achievements to firms."""

    def __init__(self, model, opened_year: int):
        super().__init__(model)
        self.opened_year = opened_year
        self.brokered = 0  # transfers brokered this year


class ProofOfConceptCentre(mesa.Agent):
    """Validates results so more of them mature into licences or spin-offs."""

    def __init__(self, model, opened_year: int):
        super().__init__(model)
        self.opened_year = opened_year
        self.validated = 0  # projects validated this year


class RoadshowOrganiser(mesa.Agent):
    """Runs the year's offline roadshows (the Qinchuangyuan roadshow matrix)."""

    def __init__(self, model):
        super().__init__(model)
        self.events = 0
        self.projects = 0


class Intermediaries:
    """The intermediary agents, built to their levers' counts."""

    def __init__(self, model):
        self.model = model
        self.ttis: list[TechTransferInstitution] = []
        self.pocs: list[ProofOfConceptCentre] = []
        self.roadshows = RoadshowOrganiser(model)

    def build(self, group: list, cls: type, target: int, year: int) -> int:
        """Open or close (newest first) agents of ``group`` to ``target``; returns how many opened."""
        opened = 0
        while len(group) < target:
            group.append(cls(self.model, year))
            opened += 1
        while len(group) > target:
            group.pop().remove()
        return opened
