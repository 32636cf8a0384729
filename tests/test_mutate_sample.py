"""``tests/mutate_sample.py``: the sample, the score's interval and the status of mutmut's exit codes."""

import json

import pytest
from mutate_sample import all_mutants, draw, module_of, status, wilson
from scipy.stats import binomtest


@pytest.mark.parametrize("k, n", [(8, 10), (1, 30), (250, 300), (299, 300)])
def test_wilson_interval_is_scipys(k, n):
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_wilson_interval_edges():
    assert wilson(0, 20)[0] == 0.0 and wilson(20, 20)[1] == 1.0
    assert wilson(0, 0) == (0.0, 1.0)
    a, b = wilson(150, 300), wilson(15, 30)
    assert b[1] - b[0] > a[1] - a[0]  # more mutants, a narrower interval


def test_the_sample_is_a_fixed_subset_per_seed():
    names = [f"m{i:03d}" for i in range(100)]
    a, b, c = draw(names, 10, 0), draw(list(reversed(names)), 10, 0), draw(names, 10, 1)
    assert a == b and a != c and len(set(a)) == 10 and set(a) <= set(names) and a == sorted(a)
    assert draw(names, 500, 0) == names


def test_mutmut_exit_codes_and_meta_files(tmp_path):
    assert [status(c) for c in (1, 3, 0, 33, 5, 36, None, 35)] == [
        "killed",
        "killed",
        "survived",
        "no tests",
        "no tests",
        "timeout",
        "not checked",
        "suspicious",
    ]
    meta = tmp_path / "mutants" / "sim" / "a.py.meta"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"exit_code_by_key": {"sim.a.x_f__mutmut_1": 1, "sim.a.x_f__mutmut_2": None}}))
    assert all_mutants(tmp_path) == {"sim.a.x_f__mutmut_1": 1, "sim.a.x_f__mutmut_2": None}
    assert module_of("sim.model.policy.vouchers.xǁVouchersǁact__mutmut_4") == "sim.model.policy.vouchers"
