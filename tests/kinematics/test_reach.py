"""kinematics.reach: orientation grids, voxels, and the planar3 map against its closed form."""

import numpy as np
import pytest

import robots
from kinematics import reach


def test_so3_grid_is_rotations_spread_over_so3():
    R = reach.so3_grid(256)
    np.testing.assert_allclose(np.swapaxes(R, -1, -2) @ R, np.broadcast_to(np.eye(3), R.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-12)
    # near-uniform: the tool z axes cover the sphere evenly (each octant holds about an eighth)
    z = R[:, :, 2]
    octants = np.bincount(((z > 0) * [1, 2, 4]).sum(axis=1), minlength=8)
    assert octants.min() >= 0.7 * 256 / 8 and octants.max() <= 1.3 * 256 / 8
    # and no two are close: the smallest angle between any two is not far below the mean spacing
    angle = np.arccos(np.clip((np.einsum("aij,bij->ab", R, R) - 1) / 2, -1, 1))
    np.fill_diagonal(angle, np.inf)
    assert angle.min() > 0.15
    assert np.array_equal(reach.so3_grid(64), reach.so3_grid(64))


def test_planar_map_matches_the_closed_form():
    arm = robots.get("planar3")  # links 1.0, 0.8, 0.6, joints ±π: the tool reaches p at angle θ iff the wrist
    m = reach.reachability(arm, resolution=0.25, orientations=12, max_restarts=20)  # p − 0.6 u(θ) is 0.2..1.8 away
    theta = 2 * np.pi * np.arange(12) / 12
    wrist = m.centres[:, None, :2] - 0.6 * np.stack([np.cos(theta), np.sin(theta)], axis=-1)
    r = np.linalg.norm(wrist, axis=-1)
    expected = ((r >= 0.2) & (r <= 1.8)).mean(axis=1)
    clear = np.all((np.abs(r - 0.2) > 0.02) & (np.abs(r - 1.8) > 0.02), axis=1)  # no query on a workspace edge
    assert clear.sum() > 100
    # never more than the truth (a success is an FK-checked answer), and the truth almost everywhere: a
    # failed query within the restart budget makes a fraction a lower bound (joints at ±π block some branches)
    assert np.all(m.fraction <= expected + 1e-12)
    assert np.mean(m.fraction[clear] == expected[clear]) >= 0.95
    assert np.all(m.fraction[np.linalg.norm(m.centres[:, :2], axis=1) > 2.4 + 1e-9] == 0)
    assert m.solves == m.queried.sum() + m.position_reached.sum() * 12 and m.manipulability.max() > 0
    assert np.all(m.manipulability[m.fraction == 0] == 0)


def test_the_position_early_out_skips_only_voxels_no_orientation_reaches():
    """A limited planar arm reaches a sector: the voxels inside the reach bound but outside the sector get one
    position query instead of O pose queries, and the map without the early-out has fraction 0 on all of them."""
    arm = robots.planar([1.0, 0.8, 0.6], limits=[(-0.8, 0.8)] * 3)
    fast = reach.reachability(arm, resolution=0.2, orientations=8, max_restarts=10)
    full = reach.reachability(arm, resolution=0.2, orientations=8, max_restarts=10, position_first=False)
    skipped = fast.queried & ~fast.position_reached
    assert skipped.sum() > 0.4 * fast.queried.sum() and np.array_equal(full.position_reached, full.queried)
    assert np.all(full.fraction[skipped] == 0) and np.all(fast.fraction[skipped] == 0)
    assert fast.solves == fast.queried.sum() + 8 * fast.position_reached.sum() < 0.7 * full.solves
    assert np.mean(fast.fraction == full.fraction) >= 0.98 and fast.fraction.max() > 0


def test_bad_arguments():
    arm = robots.get("planar2")
    for bad in (0, -0.1, float("inf"), "5"):
        with pytest.raises(ValueError, match="resolution"):
            reach.voxel_centres(arm, bad)
    with pytest.raises(ValueError, match="orientations"):
        reach.reachability(arm, orientations=0)
    with pytest.raises(ValueError, match="too many"):
        reach.voxel_centres(robots.get("panda"), 1e-4)
