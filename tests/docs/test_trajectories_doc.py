"""docs/trajectories.md's code runs as written and prints what the page shows (FK checks each path)."""

import pathlib
import re

import numpy as np

import kinematics as kin

DOC = pathlib.Path(__file__).parents[2] / "docs" / "trajectories.md"


def test_the_example_runs_prints_what_the_page_says_and_meets_every_pose(capsys):
    text = DOC.read_text()
    namespace = {}
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    exec(compile(blocks[0], str(DOC), "exec"), namespace)
    shown = re.search(r"prints\n\n```\n(.*?)```", text, re.S).group(1)
    assert capsys.readouterr().out == shown
    exec(compile(blocks[1], str(DOC), "exec"), namespace)
    arm, T = namespace["arm"], namespace["T"]
    for result in (namespace["smooth"], namespace["avoiding"]):
        P = kin.forward_kinematics(arm, result.q)
        assert np.linalg.norm(P[:, :3, 3] - T[:, :3, 3], axis=-1).max() <= 1e-6
        angle = np.linalg.norm(kin.rotation_vector(T[:, :3, :3] @ np.swapaxes(P[:, :3, :3], -1, -2)), axis=-1)
        assert angle.max() <= 1e-6
    assert namespace["avoiding"].after["jerk"] < namespace["avoiding"].before["jerk"]
