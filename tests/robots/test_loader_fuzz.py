"""Fuzzing the loaders (hypothesis, bounded): mutate a valid URDF or arm file -- drop, duplicate
or nest elements, odd, huge, NaN or infinite numbers, missing attributes, truncation -- and the
loader either returns a chain whose FK is finite at a few configurations or raises its own error
(URDFError, ArmFileError) in one line of fewer than 500 characters; never another exception.

Each test runs 150 examples without a deadline (about 2 s in all); ARMGRAD_FUZZ_EXAMPLES=4000 runs
a longer campaign (both pass 4,000 each as written).
"""

import math
import os
import pathlib
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kinematics as kin
from robots import ArmFileError, URDFError, load, load_urdf

EXAMPLES = pathlib.Path(__file__).parents[2] / "robots" / "examples"
FUZZ = settings(max_examples=int(os.environ.get("ARMGRAD_FUZZ_EXAMPLES", 150)), deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

HEADER = '<?xml version="1.0"?>\n'
URDF_BODY = """<robot name="fuzz">
  <link name="base"/><link name="l1"/><link name="l2"/><link name="l3"/><link name="tool"/>
  <joint name="j1" type="revolute"><parent link="base"/><child link="l1"/>
    <origin xyz="0 0 0.3" rpy="0 0 0"/><axis xyz="0 0 1"/><limit lower="-2" upper="2" effort="1" velocity="1"/></joint>
  <joint name="j2" type="continuous"><parent link="l1"/><child link="l2"/>
    <origin xyz="0.1 0 0.2" rpy="0.1 0.2 0.3"/><axis xyz="0 1 0"/></joint>
  <joint name="j3" type="prismatic"><parent link="l2"/><child link="l3"/>
    <origin xyz="0 0 0.4"/><axis xyz="1 1 0"/><limit lower="0" upper="0.5"/></joint>
  <joint name="flange" type="fixed"><parent link="l3"/><child link="tool"/><origin xyz="0 0 0.1"/></joint>
  <transmission name="t1"><joint name="j1"/></transmission>
</robot>
"""

ODD_NUMBERS = ["nan", "NaN", "inf", "-inf", "Infinity", "1e308", "-1e308", "1.7976931348623157e308", "1e-320",
               "0", "-0", "1e200", "1e6", "1000001", "9" * 400, "abc", "", " ", "1 2", "1e", "0x10", "1_0"]
ATTRIBUTES = ["name", "type", "link", "xyz", "rpy", "lower", "upper"]
TYPES = ["revolute", "continuous", "prismatic", "fixed", "floating", "planar", "mimic", "", "Revolute"]
TOML_VALUES = ["nan", "inf", "-inf", "1e308", "-1e308", "1e-320", "0", "-0.0", "1e200", "2e6", "9" * 400, "true",
               '"x"', "[]", "{}", "[1, 2]", "[[1]]", '"continuous"', '"fixed"', '"prismatic"', '"degrees"']

mutation = st.tuples(st.sampled_from(["number", "drop", "duplicate", "attribute", "type", "nest", "truncate"]),
                     st.integers(0, 10_000), st.integers(0, 10_000))


def nth(matches, i):
    return matches[i % len(matches)] if matches else None


def mutate_urdf(body, op, i, j):
    if op == "number":
        m = nth(list(re.finditer(r"-?\d+(\.\d+)?", body)), i)
        return body if m is None else body[:m.start()] + ODD_NUMBERS[j % len(ODD_NUMBERS)] + body[m.end():]
    if op in ("drop", "duplicate"):
        elements = list(re.finditer(r"<(\w+)\b[^>]*/>|<(joint|link|transmission)\b.*?</\2>", body, re.S))
        m = nth(elements, i)
        if m is None:
            return body
        keep = m.group(0) * 2 if op == "duplicate" else ""
        return body[:m.start()] + keep + body[m.end():]
    if op == "attribute":
        m = nth(list(re.finditer(rf'\s({ATTRIBUTES[j % len(ATTRIBUTES)]})="[^"]*"', body)), i)
        return body if m is None else body[:m.start()] + body[m.end():]
    if op == "type":
        m = nth(list(re.finditer(r'type="\w*"', body)), i)
        return body if m is None else body[:m.start()] + f'type="{TYPES[j % len(TYPES)]}"' + body[m.end():]
    if op == "nest":
        m = nth(list(re.finditer(r">", body)), i)
        depth = [1, 5, 50, 99, 150, 1000, 5000][j % 7]
        return body if m is None else body[:m.end()] + "<x>" * depth + "</x>" * depth + body[m.end():]
    return body[:i % (len(body) + 1)]  # truncate


def configurations(chain):
    """Zero, the lower and upper limits, and a middle: continuous joints take 0, -π, π."""
    lower = np.where(np.isfinite(chain.lower), chain.lower, -math.pi)
    upper = np.where(np.isfinite(chain.upper), chain.upper, math.pi)
    return np.stack([np.zeros(chain.n), lower, upper, (lower + upper) / 2])


def check_outcome(load_it, error_type):
    try:
        chain = load_it()
    except error_type as err:
        message = str(err)
        assert "\n" not in message and len(message) < 500, message
        return
    assert np.all(np.isfinite(kin.forward_kinematics(chain, configurations(chain))))


@FUZZ
@given(st.lists(mutation, min_size=1, max_size=4), st.sampled_from([None, "tool", "l2"]))
@pytest.mark.filterwarnings("ignore::robots.URDFWarning")  # a mutation may zero a range: a warned lock, not a failure
def test_mutated_urdf_gives_a_chain_or_a_urdf_error(mutations, tip_link):
    body = URDF_BODY
    for op, i, j in mutations:
        body = mutate_urdf(body, op, i, j)
    check_outcome(lambda: load_urdf(HEADER + body, tip_link=tip_link), URDFError)


TOML_TEXTS = [p.read_text() for p in sorted(EXAMPLES.glob("*.toml"))]


def mutate_toml(text, op, i, j):
    lines = text.splitlines(keepends=True)
    if op == "number":
        m = nth(list(re.finditer(r"(?<![\w.])-?\d+(\.\d+)?(e-?\d+)?(?![\w.])", text)), i)
        return text if m is None else text[:m.start()] + TOML_VALUES[j % len(TOML_VALUES)] + text[m.end():]
    if op in ("drop", "duplicate", "attribute"):
        if not lines:
            return text
        k = i % len(lines)
        keep = lines[k] * 2 if op == "duplicate" else ""
        return "".join(lines[:k]) + keep + "".join(lines[k + 1:])
    if op == "type":
        m = nth(list(re.finditer(r'"\w+"', text)), i)
        return text if m is None else text[:m.start()] + TOML_VALUES[j % len(TOML_VALUES)] + text[m.end():]
    if op == "nest":
        m = nth(list(re.finditer(r"= ", text)), i)
        depth = [1, 3, 50, 200, 1000, 5000][j % 6]
        return text if m is None else text[:m.end()] + "[" * depth + "1" + "]" * depth + text[m.end() + 1:]
    return text[:i % (len(text) + 1)]  # truncate


@FUZZ
@given(st.integers(0, len(TOML_TEXTS) - 1), st.lists(mutation, min_size=1, max_size=4))
def test_mutated_arm_file_gives_a_chain_or_an_arm_file_error(tmp_path, which, mutations):
    text = TOML_TEXTS[which]
    for op, i, j in mutations:
        text = mutate_toml(text, op, i, j)
    path = tmp_path / "fuzzed.toml"
    path.write_text(text)
    check_outcome(lambda: load(path), ArmFileError)
