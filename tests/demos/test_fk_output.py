"""`armgrad fk` output that overflowed: strict JSON (null, never Infinity/NaN) and nan/inf in the text."""

import json
import math

import numpy as np
import pytest

import robots
from demos import cli, common


def strict_json(text):
    """json.loads that refuses NaN, Infinity and -Infinity, as JavaScript, jq and Go do."""
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def overflowing_arm(monkeypatch):
    """A planar arm with links of 1e308 m: at q = 0 its end effector is at x = inf, with NaN beside it."""
    chain = robots.planar([1e308, 1e308])
    monkeypatch.setattr(common, "resolve_robot", lambda *args: chain)
    return chain


def test_fk_json_is_strict_when_the_pose_overflows(overflowing_arm, capsys):
    assert cli.main(["fk", "huge", "0", "0", "--json"]) == 0
    out, err = capsys.readouterr()
    report = strict_json(out)
    assert report["position"][0] is None  # inf
    assert all(v is None or math.isfinite(v) for row in report["pose"] for v in row)
    assert report["rotation_matrix"] == np.eye(3).tolist()  # finite numbers stay numbers
    assert "not finite" in err and "Warning" not in err


def test_fk_text_prints_nan_and_inf(overflowing_arm, capsys):
    assert cli.main(["fk", "huge", "0", "0"]) == 0
    out = capsys.readouterr().out
    position = next(line for line in out.splitlines() if line.startswith("position"))
    assert "inf" in position and "nan" in position and "0.000000" not in position


def test_fmt_vector_keeps_nan_and_inf_and_rounds_tiny_values_to_zero():
    assert common.fmt_vector([np.nan, np.inf, -np.inf, -0.0, -1e-9, 1.25], 2) == "[nan, inf, -inf, 0.00, 0.00, 1.25]"


def test_dumps_maps_non_finite_numbers_to_null():
    data = {"a": [1.5, np.nan, np.inf], "b": np.float64(-np.inf), "c": [[0.0, np.nan]], "d": "text", "e": 3}
    assert strict_json(common.dumps(data)) == {"a": [1.5, None, None], "b": None, "c": [[0.0, None]], "d": "text",
                                               "e": 3}
    assert '"a": [1.5, null, null]' in common.dumps(data)  # a list of numbers stays on one line
