"""Every calibrated behaviour parameter belongs to one mechanism group, and every group is described."""

import pytest

from sim.model.mechanisms import GROUPS, MECHANISM, groups_of, mechanism_of
from sim.model.params import BehaviourParams


def test_every_calibrated_parameter_has_a_described_group():
    names = BehaviourParams.calibrated_names()
    groups = groups_of(names)
    assert sum(len(v) for v in groups.values()) == len(names)
    assert set(MECHANISM) == set(names), "a group for a parameter the model no longer has (or lacks one)"
    assert set(MECHANISM.values()) <= set(GROUPS)
    for what, data in GROUPS.values():
        assert what and data


def test_an_unknown_parameter_is_named():
    with pytest.raises(KeyError, match="no_such_parameter"):
        mechanism_of("no_such_parameter")
