"""benchmarks.others: pink and mink on Panda targets, judged by armgrad's FK (each where installed).

Oracles: armgrad's FK of the built-in Panda. The libraries' own models must put the tool where
armgrad does (pinocchio's panda_link8 from example-robot-data, MuJoCo's site on the MJCF written
from the chain) to 1e-12; answers are checked by `benchmarks.ik.judge`. Neither library restarts,
so only sanity is asserted of them: shapes, limits, at least one target solved.
"""

import importlib.util
import sys

import numpy as np
import pytest

import kinematics as kin
import robots
from benchmarks import others
from benchmarks.ik import judge, make_targets

PANDA = robots.get("panda")
HAS_PINK = all(importlib.util.find_spec(m) for m in ("pink", "pinocchio", "qpsolvers"))
HAS_MINK = all(importlib.util.find_spec(m) for m in ("mink", "mujoco", "qpsolvers"))


def needs(library):
    installed = {"pink": HAS_PINK, "mink": HAS_MINK}[library]
    package = {"pink": "pin-pink", "mink": "mink"}[library]
    return pytest.mark.skipif(not installed, reason=f"{library} is not installed (pip install {package}); an optional "
                                                    "comparison, not in the test extra")


LIBRARIES = [pytest.param("pink", marks=needs("pink")), pytest.param("mink", marks=needs("mink"))]


def random_q(count, seed):
    return np.random.default_rng(seed).uniform(PANDA.lower, PANDA.upper, size=(count, PANDA.n))


@needs("pink")
def test_pink_tool_frame_is_armgrads_tool():
    import pinocchio as pin

    try:
        model, frame = others.pink_model()
    except ImportError as missing:
        pytest.skip(str(missing))
    data, fid = model.createData(), model.getFrameId(frame)
    assert model.nq == 7
    np.testing.assert_array_equal(model.lowerPositionLimit, PANDA.lower)
    np.testing.assert_array_equal(model.upperPositionLimit, PANDA.upper)
    q = random_q(32, seed=11)
    for row, T in zip(q, kin.forward_kinematics(PANDA, q)):
        pin.framesForwardKinematics(model, data, row)
        np.testing.assert_allclose(data.oMf[fid].homogeneous, T, rtol=0, atol=1e-12)


@needs("mink")
def test_mink_site_is_armgrads_tool():
    import mujoco

    model = mujoco.MjModel.from_xml_string(others.chain_mjcf(PANDA))
    data = mujoco.MjData(model)
    assert model.nq == 7
    np.testing.assert_array_equal(model.jnt_range, np.stack([PANDA.lower, PANDA.upper], axis=1))
    site = model.site("tool").id
    q = random_q(32, seed=12)
    for row, T in zip(q, kin.forward_kinematics(PANDA, q)):
        data.qpos[:] = row
        mujoco.mj_kinematics(model, data)
        np.testing.assert_allclose(data.site_xpos[site], T[:3, 3], rtol=0, atol=1e-12)
        np.testing.assert_allclose(data.site_xmat[site].reshape(3, 3), T[:3, :3], rtol=0, atol=1e-12)


@pytest.mark.parametrize("library", LIBRARIES)
def test_solves_a_few_targets_within_limits(library, capsys):
    solve = dict(others.SOLVERS)[library]
    targets = make_targets(PANDA, 5, seed=0)
    try:
        q, info = solve(targets, return_info=True)
    except ImportError as missing:  # pink without example-robot-data's URDF
        pytest.skip(str(missing))
    assert q.shape == (5, 7) and info["seconds"].shape == (5,) and info["iterations"].shape == (5,)
    # The limits reach the QP: every answer within 1e-6 of them. (The QP holds its limit constraint
    # to its solver's tolerance: mink 1.3 with MuJoCo 4 overshot one by 2e-7 here. The benchmark
    # judges such an answer a limit violation, as it judges every solver's.)
    assert np.all(q >= PANDA.lower - 1e-6) and np.all(q <= PANDA.upper + 1e-6)
    solved, violations = judge(PANDA, q, targets)
    with capsys.disabled():
        print(f"\n{library}: {solved.sum()} of 5 targets solved (armgrad's FK, 1e-6 m / 1e-6 rad), "
              f"{violations} outside the limits")
    assert solved.sum() >= 1
    assert np.all(info["iterations"][solved] < others.MAX_ITERATIONS)


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_start_at_the_answer_takes_no_step(library):
    solve = dict(others.SOLVERS)[library]
    q_true = random_q(3, seed=13)
    try:
        q, info = solve(kin.forward_kinematics(PANDA, q_true), q_true, return_info=True)
    except ImportError as missing:
        pytest.skip(str(missing))
    np.testing.assert_array_equal(q, q_true)
    np.testing.assert_array_equal(info["iterations"], 0)


@pytest.mark.parametrize("module, package", [("pink", "pin-pink"), ("mink", "mink")])
def test_a_missing_library_is_an_import_error_of_one_line(monkeypatch, module, package):
    monkeypatch.setitem(sys.modules, module, None)  # what `import` does for an absent module
    solve = dict(others.SOLVERS)[module]
    with pytest.raises(ImportError) as raised:
        solve(np.eye(4))
    message = str(raised.value)
    assert "\n" not in message and f"pip install {package}" in message and f"{module}_solve" in message


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("targets, q_start, message", [
    (np.eye(3), None, "targets must be finite"),
    (np.full((4, 4), np.nan), None, "targets must be finite"),
    (np.eye(4), np.zeros(6), "q_start must be \\(7,\\) or \\(1, 7\\)"),
    (np.eye(4), np.zeros(7), "inside the Panda's joint limits"),  # joint 4's range is [-3.07, -0.07]
    (np.eye(4), np.full(7, np.nan), "inside the Panda's joint limits"),
])
def test_bad_input(library, targets, q_start, message):
    with pytest.raises(ValueError, match=message):
        dict(others.SOLVERS)[library](targets, q_start)
