"""The instrument protocol: the model names no instrument, and a new instrument is one module and one line.

``Instrument`` (``sim/model/policy/instrument.py``) declares the hooks with no-op defaults; ``Policy``
combines the instruments that override them. These tests check the promise from both sides: the model's
wiring, market and agents never reach an instrument by name, and a toy instrument added as one module
plus one registration line runs, costs and acts without any other file changing.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sim.model.params import FIRST_YEAR
from sim.model.policy import INSTRUMENTS, Policy, PolicyLevers
from sim.model.policy.instrument import HOOKS, MODIFIERS, Instrument
from sim.paths import PACKAGE_DIR

MODEL_DIR = PACKAGE_DIR / "model"
#: The files that must name no instrument: the model's wiring, the market and every agent module.
INSTRUMENT_FREE = [
    MODEL_DIR / "model.py",
    MODEL_DIR / "market.py",
    *sorted((MODEL_DIR / "agents").glob("*.py")),
]


def _instrument_words() -> set[str]:
    """Every name an instrument goes by: lever names, stream keys, module names and class names."""
    words = set()
    for cls in INSTRUMENTS:
        words |= {cls.name, cls.stream, cls.__module__.rsplit(".", 1)[1], cls.__name__}
    return words


@pytest.mark.parametrize("path", INSTRUMENT_FREE, ids=lambda p: p.name)
def test_model_market_and_agents_name_no_instrument(path):
    """No attribute ``policy.<instrument>``, no import of an instrument module, no instrument class named."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    words = _instrument_words()
    policy_api = {name for name in dir(Policy) if not name.startswith("_")} | {
        "levers",
        "ledger",
        "instruments",
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
            if node.value.attr == "policy" and node.attr not in policy_api:
                found.append(f"line {node.lineno}: policy.{node.attr}")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sim.model.policy."):
            found.append(f"line {node.lineno}: from {node.module} import ...")
        if isinstance(node, ast.ImportFrom) and node.module == "sim.model.policy":
            found += [f"line {node.lineno}: imports {a.name}" for a in node.names if a.name in words]
        if isinstance(node, ast.Name) and node.id in {cls.__name__ for cls in INSTRUMENTS}:
            found.append(f"line {node.lineno}: {node.id}")
    assert not found, f"{path.name} reaches instruments by name: {found}"


def test_the_check_above_would_catch_a_named_instrument(tmp_path):
    """The structural test is not vacuous: the old wiring (``self.policy.vouchers.pay``) fails it."""
    bad = tmp_path / "model.py"
    bad.write_text("class M:\n    def pay(self):\n        self.policy.vouchers.pay(1, 2)\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="policy.vouchers"):
        test_model_market_and_agents_name_no_instrument(bad)


def test_every_hook_has_a_no_op_default_and_a_combination_rule():
    base = Instrument.__new__(Instrument)
    for hook in HOOKS:
        assert callable(getattr(Instrument, hook)), hook
    for hook in MODIFIERS:
        args = {"found_firms": (0,), "rd_response": (None,), "transfer_multiplier": (), "contract_supply": ()}
        assert getattr(base, hook)(*args.get(hook, (0,))) is None, f"{hook}: the default must be no effect"
    assert set(MODIFIERS.values()) <= {"sum", "product", "concatenate", "chain"}


def test_policy_combines_modifiers_in_registration_order():
    """Sums add, products multiply, and instruments without the hook are not called."""
    calls = []

    class A(Instrument):
        def growth_boost(self, month):
            calls.append("A")
            return np.array([0.1, 0.0])

        def exit_factor(self, month):
            return np.array([0.5, 1.0])

    class B(Instrument):
        def growth_boost(self, month):
            calls.append("B")
            return 0.2

        def exit_factor(self, month):
            return 3.0

    class C(Instrument):  # no modifiers: never called
        pass

    policy = Policy(PolicyLevers())
    policy.install({k: cls(None, None, policy.levers, policy.ledger) for k, cls in zip("abc", (A, B, C))})
    np.testing.assert_allclose(policy.growth_boost(0, 2), [0.3, 0.2])
    np.testing.assert_allclose(policy.exit_factor(0, 2), [1.5, 3.0])
    assert calls == ["A", "B"]
    assert policy.deal_weight(0, 2).tolist() == [1.0, 1.0] and policy.reform_units(2024) == 0


def test_a_lever_edited_mid_run_takes_effect_at_its_next_use():
    """The explorer assigns levers on the run's PolicyLevers: the instrument reads its lever in one hop."""
    from sim.model import InnovationModel

    model = InnovationModel(seed=1, scale=0.02, end_year=2024)
    inst = model.policy["voucher_budget"]
    assert inst.level(2024) == PolicyLevers().voucher_budget
    model.policy.levers.voucher_budget = 7.5
    assert inst.level(2024) == 7.5 and model.policy.lever("voucher_budget", 2024) == 7.5
    assert inst.level(2022) == inst.lever.history[2022]  # history is never edited


TOY_MODULE = '''
"""A toy instrument for the protocol test: grants raise every firm's growth and are booked."""
from dataclasses import dataclass

from sim.model.params import FIRST_YEAR
from sim.model.policy.instrument import Instrument, Lever, effect

LEVER = Lever(
    name="toy_grants", kind=float, unit="亿元 a year", lo=0, hi=10, plan=1.0,
    plan_source="assumption: a test", history={y: 0.0 for y in range(FIRST_YEAR, 2024)},
    history_source="assumption: a test",
)


@dataclass(frozen=True)
class Effects:
    boost: float = effect(0.2, 0.1, 0.3, "extra log growth a year while grants run", "assumption: a test")


class ToyGrants(Instrument):
    summary = "A test."
    unit_costs = ("the grant itself",)
    lever = LEVER
    Effects = Effects
    months_acted = 0

    def open_year(self, year):
        self.book(year, "grants", self.level(year), 1.0)

    def act(self, month, year):
        ToyGrants.months_acted += 1

    def growth_boost(self, month):
        return self.effects.boost if self.level(self.model.year) > 0 else None
'''

TOY_RUN = """
import json
from sim.model import InnovationModel
from sim.model.evaluate import release
from sim.model.policy import PolicyLevers
from sim.model.policy.toy import ToyGrants

out = {}
for grants in (0.0, 2.0):
    m = InnovationModel(levers=PolicyLevers(toy_grants=grants), seed=3, scale=0.02, end_year=2025)
    m.run()
    annual = m.annual_indicators()
    t = m.firms.table
    out[str(grants)] = {
        "spend": annual["spend_toy_grants"].tolist(),
        "revenue": float((t.revenue[: t.n] * t.alive[: t.n]).sum()),
    }
    release(m)
out["months_acted"] = ToyGrants.months_acted
print(json.dumps(out))
"""


@pytest.mark.slow
def test_a_new_instrument_is_one_module_and_one_line(tmp_path):
    """Copy the package, add a toy module and one line to INSTRUMENTS, change nothing else: the toy's lever
    is a validated field, its cost is booked under its lever's name, its monthly action runs, and its growth
    boost reaches the firms (paired seeds, lever 0 against 2)."""
    copy = tmp_path / "sim"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.csv", "*.npz"))
    for f in (PACKAGE_DIR / "data").glob("*.csv"):  # the data the model reads
        shutil.copy(f, copy / "data" / f.name)
    (copy / "model" / "policy" / "toy.py").write_text(textwrap.dedent(TOY_MODULE), encoding="utf-8")
    init = copy / "model" / "policy" / "__init__.py"
    text = init.read_text(encoding="utf-8")
    anchor = '    "tech_credit.TechCredit",\n'
    assert anchor in text
    init.write_text(text.replace(anchor, anchor + '    "toy.ToyGrants",\n'), encoding="utf-8")
    changed = [
        str(p.relative_to(copy))
        for p in copy.rglob("*.py")
        if (PACKAGE_DIR / p.relative_to(copy)).is_file()
        and (PACKAGE_DIR / p.relative_to(copy)).read_bytes() != p.read_bytes()
    ]
    assert changed == ["model/policy/__init__.py"]
    res = subprocess.run(
        [sys.executable, "-c", TOY_RUN],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    import json

    out = json.loads(res.stdout.strip().splitlines()[-1])
    # the start state's year to 2025: no grants to 2023 (history), then the lever's value, booked under its name
    history = 2023 - FIRST_YEAR + 2  # rows FIRST_YEAR - 1 .. 2023
    assert out["2.0"]["spend"] == [0.0] * history + [2.0, 2.0]
    assert out["0.0"]["spend"] == [0.0] * (history + 2)
    assert out["months_acted"] == 2 * (2025 - FIRST_YEAR + 1) * 12  # every month of both runs
    assert out["2.0"]["revenue"] > 1.2 * out["0.0"]["revenue"]  # +0.2 log growth for 2 years: ~ +49 %


def test_instrument_names_are_lever_names():
    """One name per lever: the instrument's name is its lever's, from YAML to the ledger."""
    for cls in INSTRUMENTS:
        assert cls.name == cls.lever.name
    assert len({cls.stream for cls in INSTRUMENTS}) == len(INSTRUMENTS)


def test_policy_refuses_an_unknown_instrument():
    policy = Policy(PolicyLevers())
    with pytest.raises(KeyError, match="no instrument 'vouchers'"):
        policy["vouchers"]
    with pytest.raises(TypeError, match="PolicyLevers"):
        Policy({"voucher_budget": 2.0})
