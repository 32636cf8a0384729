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
``<lever>.<effect>``) are built from the instruments' declarations, so each number is declared once, in
its instrument's module. A lever keeps its name everywhere: ``policy.voucher_budget`` in YAML, the
instrument's ``name``, ``spend_voucher_budget`` in the indicators, ``cost_voucher_budget`` in study tables,
``voucher_budget.additionality`` for its effects.

``Policy`` is the government in a run: the instruments and the spending ledger. It calls the instruments'
hooks (``sim.model.policy.instrument.Instrument``) and combines their results, so the model, the market
and the agents name no instrument. Adding an instrument: write its module, add it to ``INSTRUMENTS``.
"""

from __future__ import annotations

import dataclasses
import importlib
import zlib
from dataclasses import asdict, dataclass, field, fields, make_dataclass
from typing import Any

import numpy as np

from sim.model.params import MAX_END_YEAR, BehaviourParams, ConfigError
from sim.model.policy.instrument import (  # noqa: F401 (as_override, is_path: re-exported)
    FIRST_SCENARIO_YEAR,
    HOOKS,
    Instrument,
    Ledger,
    Lever,
    as_override,
    is_path,
)


def _registered(*paths: str) -> tuple[type[Instrument], ...]:
    """The instrument classes named ``"module.Class"`` (modules of this package), in the given order."""
    classes = []
    for path in paths:
        module, cls = path.rsplit(".", 1)
        classes.append(getattr(importlib.import_module(f"{__name__}.{module}"), cls))
    return tuple(classes)


#: Every instrument, one registration line each, in the order their actions run and their modifiers
#: combine. A new instrument is its module plus one line here; the model, the market and the agents
#: never change (``tests/test_instruments.py::test_a_new_instrument_is_one_module_and_one_line``).
INSTRUMENTS: tuple[type[Instrument], ...] = _registered(
    "reforms.Reforms",
    "incubators.Incubators",
    "high_energy_incubators.HighEnergyIncubators",
    "funds.Funds",
    "poc_centres.PocCentres",
    "tech_transfer.TechTransfer",
    "roadshows.Roadshows",
    "key_tech_projects.KeyTechProjects",
    "talents.Talents",
    "open_licensing.OpenLicensing",
    "rd_coverage.RdCoverage",
    "hte_cultivation.HteCultivation",
    "vouchers.Vouchers",
    "rd_subsidy.RDSubsidy",
    "tech_credit.TechCredit",
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
            _levers_validate(self, "policy")
        except ConfigError:
            object.__setattr__(self, name, old)
            raise


def _levers_post_init(self) -> None:
    _levers_validate(self, "policy")
    object.__setattr__(self, "_ready", True)


def _levers_validate(self, prefix: str = "policy", end_year: int = MAX_END_YEAR):
    """Check every lever (one value or a path, ``Lever.check``) and store it in its canonical form;
    ``ConfigError`` names the first bad field (and year). A path may run to ``end_year``."""
    for name, lever in LEVERS.items():
        key = f"{prefix}.{name}" if prefix else name
        object.__setattr__(self, name, lever.check(self.__dict__[name], key, end_year))
    return self


PolicyLevers = make_dataclass(
    "PolicyLevers",
    # typed Any: a lever is one number or a per-year path (Hydra's structured configs have no Union);
    # ``validate`` checks it, and the lever's number type is ``metadata["kind"]`` (``LEVERS[name].kind``)
    [(lever.name, Any, lever.field()) for lever in LEVERS.values()],
    namespace={
        "__doc__": "The plan's levers, one per instrument (defaults = the plan). Each is one value or a "
        "per-year path from 2024: a list (``voucher_budget=[0, 4, 4]``) or a mapping from year "
        "(``fund_size={2026: 1000}``); ``sim.model.policy.instrument.Lever`` states the rule. One value: "
        "build-up levers are the level reached in 2026, flow levers apply each year from 2024. 2019-2023 "
        "follow each lever's history (``sim/model/policy/<instrument>.py``).",
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
    """(``lever.effect``, dataclass field) for every effect parameter, in declaration order."""
    return [(f"{cls.name}.{f.name}", f) for cls in INSTRUMENTS for f in fields(cls.Effects)]


def _effect_stream(key: str) -> int:
    """The crc32 of an effect's stream key (``<instrument stream>.<effect>``): its draws never depend on names."""
    lever, name = key.split(".")
    return zlib.crc32(f"{BY_NAME[lever].stream}.{name}".encode())


def sample_effects(effects_seed: int) -> LeverEffects:
    """One draw of every effect, uniform on its range; each effect from its own stream of the seed.

    A draw depends only on the seed and the effect's stream key: adding an effect elsewhere never
    changes the others, and scenarios with the same replicate share every draw.
    """
    if effects_seed is None:
        raise ValueError("sample_effects needs a seed")
    values: dict[str, dict[str, float]] = {}
    for key, f in effect_fields():
        inst, name = key.split(".")
        lo, hi = f.metadata["range"]
        u = np.random.Generator(
            np.random.PCG64(np.random.SeedSequence([int(effects_seed), _effect_stream(key)]))
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


def calibrated_effects() -> dict[str, str]:
    """``{"instrument.effect": BehaviourParams field}`` for the effects the calibration fits beside the
    behaviour (a ``BehaviourParams`` field's ``effect`` metadata): the history pins them, so each run takes
    them from its behaviour parameters (the posterior's set) instead of drawing them from their range."""
    known = {k for k, _ in effect_fields()}
    out = {}
    for f in fields(BehaviourParams):
        key = f.metadata.get("effect")
        if key is None:
            continue
        if key not in known:
            raise ValueError(f"BehaviourParams.{f.name} names an unknown effect {key!r}")
        out[key] = f.name
    return out


def free_effect_fields() -> list[tuple[str, Any]]:
    """``effect_fields`` without the calibrated ones: the effects a run still draws from their range."""
    calibrated = calibrated_effects()
    return [(k, f) for k, f in effect_fields() if k not in calibrated]


def with_calibrated_effects(effects: LeverEffects, params) -> LeverEffects:
    """``effects`` with every calibrated effect (``calibrated_effects``) set from ``params``."""
    groups: dict[str, dict[str, float]] = {}
    for key, name in calibrated_effects().items():
        inst, effect = key.split(".")
        groups.setdefault(inst, {})[effect] = float(getattr(params, name))
    return dataclasses.replace(
        effects, **{inst: dataclasses.replace(getattr(effects, inst), **v) for inst, v in groups.items()}
    )


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
    """The instruments of a run, the spending ledger, and the combined hooks the model calls.

    ``policy["voucher_budget"]`` is an instrument (by its lever's name); ``levers`` the run's
    ``PolicyLevers`` (assigning a lever mid-run takes effect from its next use); ``ledger`` the spending.
    """

    levers: Any = None
    ledger: Ledger = field(default_factory=Ledger)

    def __post_init__(self):
        if self.levers is None:
            self.levers = PolicyLevers()
        elif not isinstance(self.levers, PolicyLevers):
            raise TypeError(f"levers must be a PolicyLevers, not {type(self.levers).__name__}")
        self.instruments: dict[str, Instrument] = {}
        self._hooks: dict[str, list] = {}

    def equip(self, model, effects: LeverEffects) -> None:
        """Create the run's instruments with their effect draws (a lever's path may run to the model's
        ``end_year``: ``ConfigError`` naming the lever and year beyond it)."""
        self.levers.validate("policy", end_year=model.end_year)
        self.install(
            {
                cls.name: cls(model, getattr(effects, cls.name), self.levers, self.ledger)
                for cls in INSTRUMENTS
            }
        )

    def install(self, instruments: dict[str, Instrument]) -> None:
        """Use ``instruments`` (in order); collect, for every hook, the methods of those overriding it."""
        self.instruments = dict(instruments)
        self._hooks = {
            hook: [
                getattr(inst, hook)
                for inst in self.instruments.values()
                if getattr(type(inst), hook) is not getattr(Instrument, hook)
            ]
            for hook in HOOKS
        }

    def __getitem__(self, name: str) -> Instrument:
        try:
            return self.instruments[name]
        except KeyError:
            raise KeyError(f"no instrument {name!r}; instruments: {', '.join(self.instruments)}") from None

    def lever(self, name: str, year: int) -> float:
        """Lever ``name``'s value in ``year`` (history to 2023, the scenario after)."""
        return LEVERS[name].level(getattr(self.levers, name), year)

    # ------------------------------------------------------------------ actions
    def start(self) -> None:
        for action in self._hooks["start"]:
            action()

    def open_year(self, year: int) -> None:
        for action in self._hooks["open_year"]:
            action(year)

    def act(self, month: int, year: int) -> None:
        for action in self._hooks["act"]:
            action(month, year)

    def close_year(self, year: int, results: dict[str, np.ndarray]) -> None:
        for action in self._hooks["close_year"]:
            action(year, results)

    # ------------------------------------------------------------------ modifiers
    def _sum(self, hook: str, start, *args):
        total = start
        for fn in self._hooks[hook]:
            value = fn(*args)
            if value is not None:
                total += value
        return total

    def _product(self, hook: str, start, *args):
        total = start
        for fn in self._hooks[hook]:
            value = fn(*args)
            if value is not None:
                total *= value
        return total

    def found_firms(self, month: int) -> list[np.ndarray]:
        """Rows of the firms every instrument founded this month."""
        return [rows for fn in self._hooks["found_firms"] if (rows := fn(month)) is not None]

    def growth_boost(self, month: int, n: int) -> np.ndarray:
        """Extra log revenue growth a year per firm row."""
        return self._sum("growth_boost", np.zeros(n), month)

    def exit_factor(self, month: int, n: int) -> np.ndarray:
        """Exit-hazard multiplier per firm row."""
        return self._product("exit_factor", np.ones(n), month)

    def patent_uplift(self, year: int, n: int) -> np.ndarray:
        """Multiplier of this year's patent applications per yuan of R&D, per firm row."""
        return self._product("patent_uplift", np.ones(n), year)

    def deal_weight(self, month: int, n: int) -> np.ndarray:
        """Funds' deal-flow weight multiplier per firm row."""
        return self._product("deal_weight", np.ones(n), month)

    def registry_takeup(self, year: int, n: int) -> np.ndarray:
        """Extra probability per firm row of registering as a tech SME."""
        return self._sum("registry_takeup", np.zeros(n), year)

    def hte_lift(self, year: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(apply, pass, score)`` extras per firm row for this December's HNTE applications."""
        lifts = [np.zeros(n), np.zeros(n), np.zeros(n)]
        for fn in self._hooks["hte_lift"]:
            value = fn(year)
            if value is not None:
                for total, extra in zip(lifts, value):
                    total += extra
        return lifts[0], lifts[1], lifts[2]

    def rd_response(self, plan) -> tuple[np.ndarray, np.ndarray | None]:
        """Next year's planned R&D intensity after every instrument's response, and the mask of firms the
        instruments give a reason to relabel R&D (``None``: none)."""
        new, incentive = plan.new, None
        for fn in self._hooks["rd_response"]:
            value = fn(dataclasses.replace(plan, new=new))
            if value is not None:
                new, mask = value
                if mask is not None:
                    incentive = mask if incentive is None else incentive | mask
        return new, incentive

    def reform_units(self, year: int) -> int:
        """Research units under the three reforms in ``year``."""
        return int(self._sum("reform_units", 0, year))

    def transfer_multiplier(self) -> float:
        """How many times faster a reformed unit commercialises its achievements."""
        return float(self._product("transfer_multiplier", 1.0))

    def contract_supply(self, units: int) -> np.ndarray:
        """Per-institution multiplier of contract sales."""
        return self._product("contract_supply", np.ones(units))

    # ------------------------------------------------------------------ books
    def spending(self, year: int) -> dict[str, float]:
        """亿元 paid in ``year`` by lever (every instrument, zeros included)."""
        return {cls.name: self.ledger.total(year, cls.name) for cls in INSTRUMENTS}
