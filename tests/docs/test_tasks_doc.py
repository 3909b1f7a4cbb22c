"""docs/tasks.md's code runs as written and does what its text says (an FK check of each answer)."""

import pathlib
import re

import numpy as np

import kinematics as kin

DOC = pathlib.Path(__file__).parents[2] / "docs" / "tasks.md"


def test_the_worked_dual_arm_example_runs_and_holds_the_box(capsys):
    namespace = {}
    for block in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S):
        exec(compile(block, str(DOC), "exec"), namespace)
    robot, result, level, grip, left = (namespace[k] for k in ("robot", "result", "level", "grip", "left"))
    for answer in (result, level):
        assert answer.success, answer.reason
        T = kin.frame_poses(robot, answer.q, ["left_tool", "right_tool"])
        assert np.abs(T[0] - left).max() < 1e-5 and np.abs(np.linalg.inv(T[0]) @ T[1] - grip).max() < 1e-5
    elbows = kin.frame_poses(robot, level.q, ["left_panda_joint4", "right_panda_joint4"])[:, 2, 3]
    assert abs(elbows[0] - elbows[1]) < 1e-3
    assert "True converged" in capsys.readouterr().out
