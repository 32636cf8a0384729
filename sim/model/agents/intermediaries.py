"""Technology-transfer institutions, proof-of-concept centres and the roadshow organiser.

Each is a Mesa agent built per the levers. Once a year they add what the
research notes say they add: brokered transfers (TTIs), validated projects that
become licences or spin-offs (PoC centres), pitched projects that close a deal
or a transfer (roadshows). Their effects are *extra* events drawn from streams
of their own, so a scenario with more intermediaries shares every other draw
with one with fewer (common random numbers).
"""

from __future__ import annotations

import mesa
import numpy as np

POC_BASELINE_SUCCESS = 0.075  # unvalidated ring-fenced items: 0.05-0.1 (mechanisms.md §7)
ROADSHOW_FIRM_SHARE = 0.5  # assumption: half the pitched projects are firms, half university results


class TechTransferInstitution(mesa.Agent):
    """Brokers transfers of university and institute achievements to firms."""

    def __init__(self, model, opened_year: int):
        super().__init__(model)
        self.opened_year = opened_year
        self.brokered = 0


class ProofOfConceptCentre(mesa.Agent):
    """Validates results so more of them mature into licences or spin-offs."""

    def __init__(self, model, opened_year: int):
        super().__init__(model)
        self.opened_year = opened_year
        self.validated = 0


class RoadshowOrganiser(mesa.Agent):
    """Runs the year's offline roadshows (the Qinchuangyuan roadshow matrix)."""

    def __init__(self, model):
        super().__init__(model)
        self.events = 0
        self.projects = 0


class Intermediaries:
    """Builds intermediaries to the lever levels and computes their yearly effects."""

    def __init__(self, model):
        self.model = model
        self.ttis: list[TechTransferInstitution] = []
        self.pocs: list[ProofOfConceptCentre] = []
        self.roadshows = RoadshowOrganiser(model)

    def build_to(self, year: int, ttis: int, pocs: int) -> None:
        for group, target, cls in ((self.ttis, ttis, TechTransferInstitution), (self.pocs, pocs, ProofOfConceptCentre)):
            while len(group) < target:
                group.append(cls(self.model, year))
            while len(group) > target:
                group.pop().remove()

    def poc_multiplier(self, itemised_stock: int) -> float:
        """Raise of the reformed units' transfer hazard from validated projects (>= 1)."""
        s = self.model.start
        validated = len(self.pocs) * s.poc_projects
        extra = validated * (s.poc_success - POC_BASELINE_SUCCESS)
        expected = max(1.0, itemised_stock * self.model.params.commercialisation_hazard)
        return 1.0 + max(0.0, extra) / expected

    def extra_transfers(self, rng) -> int:
        """Transfers brokered by TTIs plus university projects closing after a roadshow."""
        s = self.model.start
        brokered = int(rng.poisson(len(self.ttis) * s.tti_deals))
        per = np.zeros(len(self.ttis), dtype=int) if self.ttis else np.zeros(0, dtype=int)
        if self.ttis:
            per = rng.multinomial(brokered, np.full(len(self.ttis), 1 / len(self.ttis)))
            for a, b in zip(self.ttis, per.tolist()):
                a.brokered = b
        pitched_results = self.roadshows.projects * (1 - ROADSHOW_FIRM_SHARE)
        closed = int(rng.binomial(int(pitched_results), s.roadshow_close_rate))
        return brokered + closed

    def hold_roadshows(self, events: float, month: int, rng) -> None:
        """Pitch firms at this year's roadshows: they enter funds' deal flow for a year."""
        m, s = self.model, self.model.start
        r = self.roadshows
        r.events = int(events)
        r.projects = int(round(events * s.roadshow_projects))
        t = m.firms.table
        n = t.n
        k = int(rng.poisson(r.projects * ROADSHOW_FIRM_SHARE * m.scale))
        young = np.flatnonzero(t.alive[:n] & ((month - t.birth_month[:n]) < 10 * 12))
        if k and young.size:
            chosen = rng.choice(young, size=min(k, young.size), replace=False)
            t.roadshow_month[chosen] = month
