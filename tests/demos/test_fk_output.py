"""`armgrad fk` output: strict JSON (null, never Infinity/NaN), nan/inf in the text, overflowing arms refused."""

import json
import math

import numpy as np
import pytest

import robots
from demos import cli, common
from demos.fk_cmd import fk_report


def strict_json(text):
    """json.loads that refuses NaN, Infinity and -Infinity, as JavaScript, jq and Go do."""
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_an_arm_whose_pose_would_overflow_is_refused_in_one_line(tmp_path, capsys):
    """Links of 1e308 m put the end effector at x = inf with NaN beside it: refused at loading,
    naming the file's key, so fk never prints a pose of inf/NaN (nor JSON's Infinity)."""
    arm = tmp_path / "huge.toml"
    arm.write_text('name = "huge"\n[planar]\nlengths = [1e308, 1e308]\n')
    for extra in ([], ["--json"]):
        assert cli.main(["fk", str(arm), "0", "0", *extra]) == 2
        out, err = capsys.readouterr()
        assert out == "" and len(err.strip().splitlines()) == 1
        assert "huge.toml" in err and "1e+308" in err.replace("1e308", "1e+308") and "Traceback" not in err


def test_fk_json_is_strict_at_the_bounds(capsys):
    """The largest lengths a chain takes still give a finite pose, printed as strict JSON."""
    big = robots.planar([1e6, 1e6])
    report = strict_json(common.dumps(fk_report(big, np.array([0.3, -0.2]))))
    assert all(math.isfinite(v) for row in report["pose"] for v in row)
    assert report["position"][0] == pytest.approx(1e6 * (math.cos(0.3) + math.cos(0.1)))


def test_fmt_vector_keeps_nan_and_inf_and_rounds_tiny_values_to_zero():
    assert common.fmt_vector([np.nan, np.inf, -np.inf, -0.0, -1e-9, 1.25], 2) == "[nan, inf, -inf, 0.00, 0.00, 1.25]"


def test_dumps_maps_non_finite_numbers_to_null():
    data = {"a": [1.5, np.nan, np.inf], "b": np.float64(-np.inf), "c": [[0.0, np.nan]], "d": "text", "e": 3}
    assert strict_json(common.dumps(data)) == {"a": [1.5, None, None], "b": None, "c": [[0.0, None]], "d": "text",
                                               "e": 3}
    assert '"a": [1.5, null, null]' in common.dumps(data)  # a list of numbers stays on one line
