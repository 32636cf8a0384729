"""History matching (sim/calibration/history_matching.py) on a toy simulator whose fitting region is known."""

import numpy as np

from sim.calibration import history_matching as hm

TRUTH = np.array([0.3, 0.7, 0.5])


def toy(noise_rng):
    """Three parameters in the unit cube; outputs exp(linear + quadratic) in the first two, the third inert."""

    def simulate(wave, u):
        a, b = u[:, 0], u[:, 1]
        y = np.column_stack([1 + a, 2 + b, 1 + a * b, 3 + (a - b) ** 2])
        return np.exp(y + noise_rng.normal(0, 0.005, y.shape))

    def truth_outputs():
        a, b = TRUTH[0], TRUTH[1]
        return np.array([1 + a, 2 + b, 1 + a * b, 3 + (a - b) ** 2])

    return simulate, truth_outputs()


def test_waves_shrink_the_region_around_the_truth_and_keep_it():
    simulate, log_obs = toy(np.random.default_rng(0))
    var_obs = np.full(4, 0.02**2)  # the data known to +-2 %
    res = hm.history_match(3, simulate, log_obs, var_obs, ["p1", "p2", "p3", "p4"], waves=2, runs=256, seed=1)
    nroy = res.nroy
    assert len(nroy) > 0
    # the region is narrow in the two identified parameters and spans the inert one
    assert np.all(np.abs(np.median(nroy[:, :2], axis=0) - TRUTH[:2]) < 0.05)
    assert np.all(nroy[:, :2].std(axis=0) < 0.06)  # a uniform box has sd 0.29
    assert nroy[:, 2].std() > 0.2
    # the truth itself is not ruled out by the last wave's emulator (refit on the final region)
    em = hm.Emulator(seed=0).fit(res.waves[-1].u, np.log(simulate(0, res.waves[-1].u)))
    imp = hm.implausibility(em.predict(TRUTH[None]), em.var, log_obs, var_obs)
    assert hm.kth_largest(imp)[0] < 3.0
    # the region the last wave keeps is a few % of the box (estimated from its uniform candidates)
    assert res.waves[-1].nroy_share < 0.05


def test_data_no_run_can_reach_keep_the_last_nonempty_region():
    # an observation the simulator can never produce (output 0 would need log 1 + a = 0.2 for a in [0, 1])
    simulate, log_obs = toy(np.random.default_rng(1))
    log_obs = log_obs.copy()
    log_obs[:2] = [0.2, 0.5]
    res = hm.history_match(
        3, simulate, log_obs, np.full(4, 0.02**2), ["p1", "p2", "p3", "p4"], waves=2, runs=128, seed=2
    )
    assert len(res.waves) == 1  # wave 0 ruled everything out: no further waves run
    assert len(res.nroy) == 128  # and the ABC starts from wave 0's design (the last non-empty region)


def test_spread_sample_takes_all_points_and_jitters_copies_inside_the_box():
    rng = np.random.default_rng(0)
    pts = np.array([[0.0, 1.0], [0.5, 0.5]])
    out = hm.spread_sample(pts, 10, rng)
    assert out.shape == (10, 2) and np.all((out >= 0) & (out <= 1))
    assert {tuple(p) for p in pts} <= {tuple(p) for p in out}
