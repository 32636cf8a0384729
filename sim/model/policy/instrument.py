"""What every policy instrument is made of.

An instrument (one module per lever under ``sim/model/policy/``) owns

* its ``Lever``: the public name, unit, allowed range, the plan's value with its source, and the
  history path (FIRST_YEAR-2023) with its sources (every run follows that path to 2023, so history is the same in
  every scenario);
* its ``Effects``: a dataclass of effect parameters, each an uncertainty with a range and a source
  (``effect``); every replicate draws them (``sim.model.policy.sample_effects``), except those a
  ``BehaviourParams`` field declares calibrated (``effect`` metadata: ``with_calibrated_effects``);
* its mechanics: the hooks of the stage protocol it overrides (``Instrument``), which ``Policy`` calls
  in the model's stage order; the model names no instrument;
* its public-cost ledger: money actually paid out, booked as quantity x unit cost in 亿元 at real
  scale (``Ledger``), each unit cost a sourced constant or a stated assumption in its module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Real
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from sim.model.params import FIRST_YEAR, LAST_BASE_YEAR, MAX_END_YEAR, PLAN_YEAR, ConfigError

#: The start state's year (the year end the run starts from): ``start`` hooks build to their lever's level then
START_YEAR = FIRST_YEAR - 1

if TYPE_CHECKING:  # pragma: no cover
    from sim.model.model import InnovationModel


#: The first year a scenario sets: every run follows each lever's history to ``LAST_BASE_YEAR``.
FIRST_SCENARIO_YEAR = LAST_BASE_YEAR + 1


def is_path(value: Any) -> bool:
    """True when a lever's setting is a per-year path (a list or a mapping), not one value."""
    return isinstance(value, (list, tuple, Mapping))


def as_override(value: Any) -> str:
    """A lever's setting as a Hydra override value: ``2.0``, ``[0.0,4.0,4.0]`` or ``{2026:500.0}``."""
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{as_override(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(as_override(v) for v in value) + "]"
    return repr(value) if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Lever:
    """A lever's declaration: one field of ``PolicyLevers`` and its history.

    A scenario sets a lever from 2024 (``FIRST_SCENARIO_YEAR``) to ``end_year``, in one of two ways:

    * **one value**: ``build_up`` levers are counts reached in 2026, built linearly from the 2023 level
      over 2024-2026 and held after; the others are flows (budgets, rates, counts a year) at their value
      in every year from 2024;
    * **a path** (``level`` per year, the same rule for flows and build-up levers): a list gives the
      lever in 2024, 2025, ... (``[0, 4, 4]``), a mapping gives it from a year on (``{2026: 500}``).
      Each given year's value holds until the next given year, and the last one to ``end_year``. Years
      before a mapping's first year follow the plan (the lever's plan value: a flow at it, a build-up
      lever on its way to it). A path's values are the lever's level in those years: a build-up lever
      is not ramped towards them.

    The history years (``FIRST_YEAR``-2023) always follow ``history``.
    """

    name: str
    kind: type  # float or int
    unit: str
    lo: float
    hi: float
    plan: float
    plan_source: str
    history: dict[int, float]
    history_source: str
    build_up: bool = False
    section: str = ""

    def __post_init__(self):
        missing = [y for y in range(FIRST_YEAR, LAST_BASE_YEAR + 1) if y not in self.history]
        if missing:
            raise ValueError(f"lever {self.name}: no history for {missing}")

    @property
    def level_2023(self) -> float:
        return float(self.history[LAST_BASE_YEAR])

    def field(self):
        """The ``PolicyLevers`` dataclass field (default = the plan's value; one value or a path)."""
        return field(
            default=self.kind(self.plan),
            metadata={
                "kind": self.kind,
                "unit": self.unit,
                "range": (self.lo, self.hi),
                "source": self.plan_source,
                "history_source": self.history_source,
                "section": self.section,
                "build_up": self.build_up,
                "level_2023": self.level_2023,
            },
        )

    # ------------------------------------------------------------------ checking a setting
    def check(self, value: Any, key: str, end_year: int = MAX_END_YEAR) -> Any:
        """``value`` (one number or a path) in its canonical form, or ``ConfigError`` naming ``key``.

        Canonical: numbers in the lever's kind (``-0.0`` as ``0.0``); a list as a list; a mapping with
        ``int`` years in order (``"2026"`` from JSON is 2026). Each value of a path is checked against
        the lever's range with its year named (``policy.voucher_budget[2025] = -1: ...``); years before
        2024 or after ``end_year`` are refused by name.
        """
        if isinstance(value, Mapping):
            return self._check_mapping(value, key, end_year)
        if isinstance(value, (list, tuple)):
            if not value:
                raise ConfigError(f"{key} = {value!r}: an empty path; {self._forms()}")
            years = range(FIRST_SCENARIO_YEAR, FIRST_SCENARIO_YEAR + len(value))
            self._check_years(key, years, end_year, listed=True)
            return [self._check_number(v, f"{key}[{y}]") for y, v in zip(years, value)]
        return self._check_number(value, key)

    def _forms(self) -> str:
        return (
            f"give one number, a list from {FIRST_SCENARIO_YEAR} ([0, 4, 4]: one value a year) "
            f"or a mapping from year ({{{PLAN_YEAR}: 500}})"
        )

    def _check_number(self, value: Any, key: str) -> float | int:
        lo, hi, unit = self.lo, self.hi, self.unit
        if isinstance(value, bool) or not isinstance(value, Real):
            raise ConfigError(f"{key} = {value!r}: must be a number between {lo} and {hi} ({unit})")
        if self.kind is int and math.isfinite(value) and float(value) != int(value):
            raise ConfigError(f"{key} = {value!r}: must be a whole number between {lo} and {hi} ({unit})")
        if not (lo <= value <= hi) or value != value:  # value != value catches NaN
            raise ConfigError(f"{key} = {value!r}: allowed range is [{lo}, {hi}] ({unit})")
        return int(value) if self.kind is int else float(value) + 0.0  # + 0.0 turns -0.0 into 0.0

    def _check_mapping(self, value: Mapping, key: str, end_year: int) -> dict[int, float | int]:
        if not value:
            raise ConfigError(f"{key} = {{}}: an empty path; {self._forms()}")
        years: dict[int, Any] = {}
        for k, v in value.items():
            year = _year(k)
            if year is None:
                raise ConfigError(
                    f"{key}: {k!r} is not a year; a mapping's keys are years from {FIRST_SCENARIO_YEAR} "
                    f"({self._forms()})"
                )
            if year in years:
                raise ConfigError(f"{key}[{year}]: given twice")
            years[year] = v
        self._check_years(key, sorted(years), end_year)
        return {y: self._check_number(years[y], f"{key}[{y}]") for y in sorted(years)}

    @staticmethod
    def _check_years(key: str, years: Any, end_year: int, listed: bool = False) -> None:
        for year in years:
            if year < FIRST_SCENARIO_YEAR:
                raise ConfigError(
                    f"{key}[{year}]: before {FIRST_SCENARIO_YEAR}; every run follows the lever's history "
                    f"to {LAST_BASE_YEAR}, a path sets years from {FIRST_SCENARIO_YEAR}"
                )
            if year > end_year:
                last = (
                    f"end_year = {end_year}"
                    if end_year < MAX_END_YEAR
                    else f"{MAX_END_YEAR}, the latest end_year"
                )
                why = (
                    f"; a list gives one value a year from {FIRST_SCENARIO_YEAR}, so at most "
                    f"{end_year - LAST_BASE_YEAR}"
                    if listed
                    else ""
                )
                raise ConfigError(f"{key}[{year}]: after the last simulated year ({last}){why}")

    # ------------------------------------------------------------------ the lever in a year
    def path(self, value: Any) -> dict[int, float] | None:
        """The years a path sets and their values (a list from 2024 on); None for one value."""
        if isinstance(value, Mapping):
            return {int(y): float(v) for y, v in value.items()}
        if isinstance(value, (list, tuple)):
            return {FIRST_SCENARIO_YEAR + i: float(v) for i, v in enumerate(value)}
        return None

    def last_year(self, value: Any) -> int | None:
        """The last year a path sets (None for one value)."""
        given = self.path(value)
        return max(given) if given else None

    def level(self, value: Any, year: int) -> float:
        """The lever in ``year`` when the scenario sets it to ``value`` (one number or a path)."""
        if year <= LAST_BASE_YEAR:
            return float(self.history[max(year, min(self.history))])
        if is_path(value):
            given = self.path(value)
            set_by = [y for y in given if y <= year]
            if set_by:
                return given[max(set_by)]
            value = self.plan  # before a mapping's first year: the plan
        if not self.build_up:
            return float(value)
        start = self.level_2023
        frac = min(1.0, (year - LAST_BASE_YEAR) / (PLAN_YEAR - LAST_BASE_YEAR))
        level = start + frac * (value - start)
        return float(np.round(level)) if self.kind is int else float(level)


def _year(key: Any) -> int | None:
    """A mapping key as a year (``2026`` or ``"2026"``), or None."""
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return key
    if isinstance(key, str) and key.strip().isdigit():
        return int(key)
    return None


def effect(central: float, lo: float, hi: float, unit: str, source: str):
    """An effect parameter: an uncertainty drawn uniformly on [lo, hi] per replicate; ``central`` otherwise."""
    if not lo <= central <= hi:
        raise ValueError(f"effect central {central} outside its range [{lo}, {hi}]")
    return field(default=central, metadata={"range": (lo, hi), "unit": unit, "source": source})


@dataclass(frozen=True)
class NoEffects:
    """An instrument whose effects are all carried by behavioural parameters or other instruments."""


class Ledger:
    """Public money paid out, by (year, instrument, item): quantity, unit cost and amount in 亿元."""

    def __init__(self):
        self.rows: dict[tuple[int, str, str], list[float]] = {}

    def book(self, year: int, instrument: str, item: str, quantity: float, unit_cost_100m: float) -> None:
        """Add ``quantity`` (real scale) at ``unit_cost_100m`` 亿元 each."""
        if quantity < 0 or unit_cost_100m < 0:
            raise ValueError(f"{instrument}.{item}: negative spending ({quantity} x {unit_cost_100m})")
        row = self.rows.setdefault((int(year), instrument, item), [0.0, float(unit_cost_100m), 0.0])
        row[0] += float(quantity)
        row[2] += float(quantity) * float(unit_cost_100m)

    def total(self, year: int, instrument: str | None = None) -> float:
        return sum(
            (
                r[2]
                for (y, name, _), r in self.rows.items()
                if y == year and (instrument is None or name == instrument)
            ),
            0.0,
        )

    def quantity(self, year: int, instrument: str, item: str) -> float:
        return self.rows.get((int(year), instrument, item), [0.0])[0]

    def records(self) -> list[dict[str, Any]]:
        """One dict per (year, instrument, item), for tables."""
        return [
            {
                "year": y,
                "instrument": i,
                "item": it,
                "quantity": r[0],
                "unit_cost_100m": r[1],
                "amount_100m": r[2],
            }
            for (y, i, it), r in sorted(self.rows.items())
        ]


class Instrument:
    """Base class of the plan's instruments: the stage protocol, lever access, effects and cost booking.

    The model calls no instrument by name. ``Policy`` collects, for every hook below, the instruments that
    override it (the Starsim way: ``Loop.collect_funcs``) and combines their results: actions run in
    ``INSTRUMENTS`` order, modifiers combine as documented on each hook. A new instrument is one module
    with a subclass overriding the hooks it needs, plus one line in ``INSTRUMENTS``.

    Actions (return nothing):

    * ``start()``: on the start state (end of ``START_YEAR``), before the first month;
    * ``open_year(year)``: January, after the universities' year;
    * ``act(month, year)``: every month, after the technology market and before exits;
    * ``close_year(year, results)``: December, after certification (``results``: the year's
      ``first_hte`` and ``first_above_scale`` masks over firm rows).

    Modifiers (``None``: no effect; per-firm values are arrays over firm rows, or scalars):

    * ``found_firms(month)``: rows of firms the instrument founded this month (concatenated);
    * ``growth_boost(month)``: extra log revenue growth a year (summed);
    * ``exit_factor(month)``: exit-hazard multiplier (multiplied);
    * ``deal_weight(month)``: weight in funds' deal flow (multiplied);
    * ``registry_takeup(year)``: extra probability of registering as a tech SME (summed);
    * ``hte_lift(year)``: ``(apply, pass, score)`` extras of HNTE applicants (summed);
    * ``rd_response(plan)``: next year's planned R&D intensity given a ``sim.model.agents.firms.RdPlan``
      and the mask of firms it gives a reason to relabel R&D (chained: each sees the previous plan;
      masks or-ed);
    * ``reform_units(year)``: research units under the three reforms (summed);
    * ``transfer_multiplier()``: how many times faster a reformed unit commercialises (multiplied);
    * ``contract_supply()``: per-institution multiplier of contract sales (multiplied);
    * ``patent_uplift(year)``: multiplier of this December's patent applications per yuan of R&D
      (multiplied; recomputed each year from what is active, so an uplift lasts as long as its cause).
    """

    name: ClassVar[str]  # = lever.name: one name from YAML (policy.<name>) to spend_<name> and cost_<name>
    #: Key of the instrument's random streams and effect draws. It never changes when names do, so
    #: renaming an instrument leaves every run's draws as they were.
    stream: ClassVar[str]
    summary: ClassVar[str]  # the mechanics in a sentence (docs/levers.md)
    unit_costs: ClassVar[tuple[str, ...]]  # each unit cost in words, with its source (docs/levers.md)
    lever: ClassVar[Lever]
    Effects: ClassVar[type] = NoEffects
    #: The indicator this instrument moves first; the paired direction test checks it rises with the lever.
    primary_outcome: ClassVar[str] = "T01"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "lever" in cls.__dict__:
            cls.name = cls.lever.name
            if "stream" not in cls.__dict__:
                cls.stream = cls.name

    def __init__(self, model: InnovationModel, effects: Any, levers: Any, ledger: Ledger):
        self.model = model
        self.effects = effects
        self.levers = levers  # the run's PolicyLevers: edits to it take effect at the lever's next use
        self.ledger = ledger

    # ------------------------------------------------------------------ actions
    def start(self) -> None:
        """The start state (end of ``START_YEAR``)."""

    def open_year(self, year: int) -> None:
        """January."""

    def act(self, month: int, year: int) -> None:
        """Every month, after the technology market."""

    def close_year(self, year: int, results: dict[str, np.ndarray]) -> None:
        """December, after certification."""

    # ------------------------------------------------------------------ modifiers
    def found_firms(self, month: int) -> np.ndarray | None:
        return None

    def growth_boost(self, month: int) -> np.ndarray | float | None:
        return None

    def exit_factor(self, month: int) -> np.ndarray | float | None:
        return None

    def patent_uplift(self, year: int) -> np.ndarray | float | None:
        return None

    def deal_weight(self, month: int) -> np.ndarray | float | None:
        return None

    def registry_takeup(self, year: int) -> np.ndarray | float | None:
        return None

    def hte_lift(self, year: int) -> tuple[Any, Any, Any] | None:
        return None

    def rd_response(self, plan: Any) -> tuple[np.ndarray, np.ndarray | None] | None:
        return None

    def reform_units(self, year: int) -> int | None:
        return None

    def transfer_multiplier(self) -> float | None:
        return None

    def contract_supply(self) -> np.ndarray | float | None:
        return None

    # ------------------------------------------------------------------ helpers
    def level(self, year: int) -> float:
        """The lever's value in ``year`` (history to 2023, the scenario after: one value or a path)."""
        return self.lever.level(getattr(self.levers, self.name), year)

    def book(self, year: int, item: str, quantity: float, unit_cost_100m: float) -> None:
        self.ledger.book(year, self.name, item, quantity, unit_cost_100m)

    def rng(self, purpose: str = "") -> np.random.Generator:
        """This instrument's own random stream for the current month (its extra events never shift other
        processes' draws)."""
        return self.model.streams.at(
            f"policy.{self.stream}{'.' + purpose if purpose else ''}", self.model.month
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name})"


#: The hooks of the protocol: actions, then modifiers with how ``Policy`` combines them.
ACTIONS = ("start", "open_year", "act", "close_year")
MODIFIERS = {
    "found_firms": "concatenate",
    "growth_boost": "sum",
    "exit_factor": "product",
    "deal_weight": "product",
    "registry_takeup": "sum",
    "hte_lift": "sum",
    "rd_response": "chain",
    "reform_units": "sum",
    "transfer_multiplier": "product",
    "contract_supply": "product",
    "patent_uplift": "product",
}
HOOKS = (*ACTIONS, *MODIFIERS)
