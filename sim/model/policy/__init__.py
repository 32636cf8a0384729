"""The plan's policy instruments: levers, their mechanics, their costs and their uncertain effects.

One module per instrument (read one file to learn what a lever does and costs):

| lever (``policy.<name>``) | module | plan § |
|---|---|---|
| ``voucher_budget`` | ``vouchers.py`` | §6 |
| ``rd_subsidy_rate`` | ``rd_subsidy.py`` | §6 |
| ``fund_size`` | ``funds.py`` | §11, §16 |
| ``incubators`` | ``incubators.py`` | §4 |
| ``high_energy_incubators`` | ``high_energy_incubators.py`` | §4 |
| ``poc_centres`` | ``poc_centres.py`` | §3 |
| ``tech_transfer_institutions`` | ``tech_transfer.py`` | §3 |
| ``roadshows_per_year`` | ``roadshows.py`` | §2 |
| ``reform_units`` | ``reforms.py`` | §1 |
| ``key_tech_projects`` | ``key_tech_projects.py`` | §8 |
| ``tech_credit`` | ``tech_credit.py`` | §16 |
| ``talents`` | ``talents.py`` | §15 |
| ``open_licensing`` | ``open_licensing.py`` | §3 |
| ``rd_coverage`` | ``rd_coverage.py`` | §6 |
| ``hte_cultivation`` | ``hte_cultivation.py`` | §6 |

``PolicyLevers`` (the Hydra schema ``policy.*``) and ``LeverEffects`` (the effect uncertainties,
``effects.<instrument>.<name>``) are built from the instruments' declarations, so each number is
declared once, in its instrument's module. ``Policy`` is the government in a run: lever values by
year, the instruments (as attributes: ``policy.vouchers``, ...) and the spending ledger.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass, field, fields, make_dataclass
from typing import Any

import numpy as np

from sim.model.params import ConfigError, validate
from sim.model.policy import (
    funds,
    high_energy_incubators,
    hte_cultivation,
    incubators,
    key_tech_projects,
    open_licensing,
    poc_centres,
    rd_coverage,
    rd_subsidy,
    reforms,
    roadshows,
    talents,
    tech_credit,
    tech_transfer,
    vouchers,
)
from sim.model.policy.instrument import Instrument, Ledger, Lever

#: Every instrument, in the order their yearly actions run each January.
INSTRUMENTS: tuple[type[Instrument], ...] = (
    reforms.Reforms,
    incubators.Incubators,
    high_energy_incubators.HighEnergyIncubators,
    funds.Funds,
    poc_centres.PocCentres,
    tech_transfer.TechTransfer,
    roadshows.Roadshows,
    key_tech_projects.KeyTechProjects,
    talents.Talents,
    open_licensing.OpenLicensing,
    rd_coverage.RdCoverage,
    hte_cultivation.HteCultivation,
    vouchers.Vouchers,
    rd_subsidy.RDSubsidy,
    tech_credit.TechCredit,
)
LEVERS: dict[str, Lever] = {cls.lever.name: cls.lever for cls in INSTRUMENTS}
BY_NAME: dict[str, type[Instrument]] = {cls.name: cls for cls in INSTRUMENTS}


# --------------------------------------------------------------------------- levers
def _levers_setattr(self, name: str, value: Any) -> None:
    """Assignment is validated and takes effect from the lever's next use, also mid-run."""
    known = type(self).__dataclass_fields__
    if name != "_ready" and name not in known:
        raise AttributeError(f"PolicyLevers has no lever {name!r}; levers: {', '.join(known)}")
    old = self.__dict__.get(name)
    object.__setattr__(self, name, value)
    if self.__dict__.get("_ready"):
        try:
            validate(self, "policy")
        except ConfigError:
            object.__setattr__(self, name, old)
            raise


def _levers_post_init(self) -> None:
    validate(self, "policy")
    object.__setattr__(self, "_ready", True)


def _levers_validate(self, prefix: str = "policy"):
    validate(self, prefix)
    return self


PolicyLevers = make_dataclass(
    "PolicyLevers",
    [(lever.name, lever.kind, lever.field()) for lever in LEVERS.values()],
    namespace={
        "__doc__": "The plan's levers, one per instrument (defaults = the plan). Build-up levers are the "
        "level reached in 2026; flow levers apply each year from 2024. 2019-2023 follow each lever's "
        "history (``sim/model/policy/<instrument>.py``).",
        "__post_init__": _levers_post_init,
        "__setattr__": _levers_setattr,
        "validate": _levers_validate,
        "__module__": __name__,
    },
)


def frozen_2023() -> PolicyLevers:
    """Every lever held at its 2023 level."""
    return PolicyLevers(**{name: lever.kind(lever.level_2023) for name, lever in LEVERS.items()})


SCENARIOS = {"plan": PolicyLevers, "frozen_2023": frozen_2023}


def scenario(name: str) -> PolicyLevers:
    try:
        return SCENARIOS[name]()
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; known: {sorted(SCENARIOS)}") from None


def level_2023(name: str) -> float:
    return LEVERS[name].level_2023


# --------------------------------------------------------------------------- effects
LeverEffects = make_dataclass(
    "LeverEffects",
    [(cls.name, cls.Effects, field(default_factory=cls.Effects)) for cls in INSTRUMENTS],
    frozen=True,
    namespace={
        "__doc__": "Every instrument's effect parameters (uncertainties with ranges and sources).",
        "__module__": __name__,
    },
)

EFFECT_MODES = ("sampled", "central")


def effect_fields() -> list[tuple[str, Any]]:
    """(``instrument.name``, dataclass field) for every effect parameter, in declaration order."""
    return [(f"{cls.name}.{f.name}", f) for cls in INSTRUMENTS for f in fields(cls.Effects)]


def sample_effects(effects_seed: int) -> LeverEffects:
    """One draw of every effect, uniform on its range; each effect from its own stream of the seed.

    A draw depends only on the seed and the effect's name: adding an effect elsewhere never changes
    the others, and scenarios with the same replicate share every draw.
    """
    if effects_seed is None:
        raise ValueError("sample_effects needs a seed")
    values: dict[str, dict[str, float]] = {}
    for key, f in effect_fields():
        inst, name = key.split(".")
        lo, hi = f.metadata["range"]
        u = np.random.Generator(
            np.random.PCG64(np.random.SeedSequence([int(effects_seed), zlib.crc32(key.encode())]))
        )
        values.setdefault(inst, {})[name] = float(lo + (hi - lo) * u.random())
    return LeverEffects(**{cls.name: cls.Effects(**values.get(cls.name, {})) for cls in INSTRUMENTS})


def central_effects() -> LeverEffects:
    return LeverEffects()


def make_effects(mode: str, effects_seed: int | None) -> LeverEffects:
    """``sampled``: drawn from ``effects_seed``; ``central``: every effect at its central value."""
    if mode == "central":
        return central_effects()
    if mode == "sampled":
        return sample_effects(effects_seed)
    raise ConfigError(f"effects = {mode!r}: must be one of {', '.join(EFFECT_MODES)}")


def effects_row(effects: LeverEffects) -> dict[str, float]:
    """Flat ``{"instrument.effect": value}`` (for timeseries, manifests and studies)."""
    return {f"{inst}.{k}": v for inst, group in asdict(effects).items() for k, v in group.items()}


def effects_from_row(row: dict[str, float]) -> LeverEffects:
    """Inverse of ``effects_row``: missing keys keep their central values; unknown keys are refused."""
    known = {k for k, _ in effect_fields()}
    unknown = sorted(set(row) - known)
    if unknown:
        raise ConfigError(f"unknown effect(s) {unknown}; known: {sorted(known)}")
    values: dict[str, dict[str, float]] = {}
    for key, v in row.items():
        inst, name = key.split(".")
        values.setdefault(inst, {})[name] = float(v)
    return LeverEffects(**{cls.name: cls.Effects(**values.get(cls.name, {})) for cls in INSTRUMENTS})


# --------------------------------------------------------------------------- the government in a run
@dataclass
class Policy:
    """Lever values by year, the instruments of a run, and the spending ledger.

    ``lever(name, year)`` is what instruments ask; ``policy.<instrument>`` is each instrument
    (``policy.vouchers``, ``policy.funds``, ...); ``ledger`` books public spending.
    """

    levers: Any = None
    ledger: Ledger = field(default_factory=Ledger)

    def __post_init__(self):
        self.levers = (self.levers if self.levers is not None else PolicyLevers()).validate()
        self.instruments: list[Instrument] = []

    def equip(self, model, effects: LeverEffects) -> None:
        """Create the run's instruments with their effect draws."""
        for cls in INSTRUMENTS:
            inst = cls(model, getattr(effects, cls.name))
            self.instruments.append(inst)
            setattr(self, cls.name, inst)

    def lever(self, name: str, year: int) -> float:
        return LEVERS[name].level(getattr(self.levers, name), year)

    def open_year(self, year: int) -> None:
        """January: every instrument's yearly action, in ``INSTRUMENTS`` order."""
        for inst in self.instruments:
            action = getattr(inst, "open_year", None)
            if action is not None:
                action(year)

    def growth_boost(self, month: int, n: int) -> np.ndarray:
        """Extra log revenue growth a year per firm row from every instrument that has one."""
        total = np.zeros(n)
        for inst in self.instruments:
            boost = getattr(inst, "growth_boost", None)
            if boost is not None:
                total += boost(month)
        return total

    def exit_factor(self, month: int, n: int) -> np.ndarray:
        """Exit-hazard multiplier per firm row from every instrument that has one."""
        total = np.ones(n)
        for inst in self.instruments:
            factor = getattr(inst, "exit_factor", None)
            if factor is not None:
                total *= factor(month)
        return total

    def spending(self, year: int) -> dict[str, float]:
        """亿元 paid in ``year`` by instrument (every instrument, zeros included)."""
        return {cls.name: self.ledger.total(year, cls.name) for cls in INSTRUMENTS}
