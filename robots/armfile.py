"""Arm files: a user's own arm in TOML (the format is documented in docs/arm-files.md).

A file holds exactly one of three forms, plus optional `name`, `angles`, `base` and `tool`:

    [planar]                      # an n-link planar arm
    lengths = [1.0, 0.8, 0.6]
    limits = [-3.0, 3.0]          # optional: one pair for all joints, or one pair per joint

    convention = "modified"       # DH form: "standard" (default) or "modified"
    [[dh]]                        # one table per row; named fields only
    d = 0.333
    alpha = 0.0                   # a, offset, joint ("revolute" | "prismatic"), limits, name too

    [[joints]]                    # URDF-like joints, base to tip
    name = "shoulder"
    type = "revolute"             # "revolute" | "continuous" | "prismatic" | "fixed"
    origin = { xyz = [0, 0, 0.1], rpy = [0, 0, 0] }
    axis = [0, 0, 1]
    limits = [-2.9, 2.9]

`angles = "degrees"` makes every angle in the file (alpha, offset, rpy, revolute limits) be read
in degrees; the default is "radians". Lengths are always metres. `base` and `tool` are tables with
optional `xyz` and `rpy`, as `origin` above.

Every mistake -- a TOML syntax error, an unknown key, a missing field, a bad number -- raises
`ArmFileError` (a ValueError) naming the file, the key (e.g. `dh[2].alpha`) and what was expected.
Numbers are bounded so that FK and its gradients stay finite: lengths (`lengths`, `d`, `a`,
`xyz`) at most `kinematics.chain.MAX_LENGTH` (1e6 m) in magnitude, limits at most
`kinematics.chain.MAX_LIMIT` (1e6 rad or m; in degrees files, its equivalent), at most
`kinematics.chain.MAX_JOINTS` joints; arrays nested too deeply for the TOML parser are refused.

Example:
    >>> import pathlib
    >>> from kinematics import forward_kinematics
    >>> arm = load(pathlib.Path(__file__).parent / "examples" / "planar4.toml")
    >>> arm
    Chain('planar4', 4 joints RRRR)
    >>> np.round(forward_kinematics(arm, [0.0, 0.0, 0.0, 0.0])[:3, 3], 12)
    array([2.8, 0. , 0. ])
"""

from __future__ import annotations

import math
import os
import reprlib
import tomllib

import numpy as np

from kinematics import Chain, Joint
from kinematics.chain import MAX_JOINTS, MAX_LENGTH, MAX_LIMIT, plane_height
from kinematics.transforms import rpy_to_matrix

from .builders import DHRow, from_dh, planar

__all__ = ["load", "ArmFileError"]

_TOP = {"name", "angles", "convention", "base", "tool", "planar", "dh", "joints"}
_FORMS = ("planar", "dh", "joints")
_PLANAR = {"lengths", "limits"}
_DH = {"d", "a", "alpha", "offset", "joint", "limits", "name"}
_JOINT = {"name", "type", "origin", "axis", "limits"}
_POSE = {"xyz", "rpy"}
_JOINT_TYPES = ("revolute", "continuous", "prismatic", "fixed")


class ArmFileError(ValueError):
    """A mistake in an arm file; the message names the file and the key.

    Attributes:
        path: the file.
        key: the offending key as a dotted path, e.g. "dh[2].alpha" (None for the whole file).
    """

    def __init__(self, path, key, message):
        self.path, self.key = path, key
        super().__init__(f"{path}: {message}" if key is None else f"{path}: key {key!r}: {message}")


def read_toml(path, caller: str, what: str, error) -> tuple:
    """(path, parsed TOML, a _Reader raising `error`) for a TOML description file; every failure is
    one line: `error` for bad TOML, FileNotFoundError naming `what` for an unreadable file."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{caller}: path must be a str or os.PathLike, got {type(path).__name__}")
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as err:
        raise error(path, None, f"invalid TOML: {err}") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise error(path, None, f"invalid {what}: arrays or inline tables nested too deeply for the TOML parser "
                                "(a description needs at most 3 levels)") from None
    except OSError as err:
        raise FileNotFoundError(f"{caller}: cannot read {what} {path!r}: {err.strerror}") from None
    return path, data, _Reader(path, degrees=False, error=error)


class _Reader:
    """Typed access to the parsed TOML with errors that name the key."""

    def __init__(self, path, degrees, error=None):
        self.path = path
        self.angle = math.pi / 180.0 if degrees else 1.0  # factor taking the file's angles to radians
        self.error_class = error or ArmFileError  # scene files (robots.scene) share this reader

    def error(self, key, message):
        return self.error_class(self.path, key, message)

    def keys(self, table, allowed, key):
        """Refuse keys outside `allowed` in a table found at `key`."""
        if not isinstance(table, dict):
            raise self.error(key, f"expected a table, got {_show(table)}")
        unknown = sorted(set(table) - allowed)
        if unknown:
            where = f"{key}." if key else ""
            raise self.error(f"{where}{unknown[0]}", f"unknown key; expected some of {', '.join(sorted(allowed))}")
        return table

    def number(self, value, key, bound=math.inf):
        """A finite float; with `bound`, |value| <= bound (a length in metres, by default)."""
        # bool is an int in Python, but `d = true` is a mistake, not 1 m.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, f"expected a finite number, got {_show(value)}")
        try:
            value = float(value)  # a TOML integer may be too big for a float
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            raise self.error(key, f"expected a finite number, got {_show(value)}")
        if abs(value) > bound:
            raise self.error(key, f"{value:g} exceeds {bound:g} m in magnitude (kinematics.chain.MAX_LENGTH)")
        return value

    def vector(self, value, key, size, bound=math.inf):
        if not isinstance(value, list) or len(value) != size:
            raise self.error(key, f"expected a list of {size} numbers, got {_show(value)}")
        return np.array([self.number(v, f"{key}[{i}]", bound) for i, v in enumerate(value)])

    def limits(self, value, key, angular):
        """A (lower, upper) pair, in radians when `angular`; |value| <= MAX_LIMIT (rad or m)."""
        scale = self.angle if angular else 1.0
        bound = MAX_LIMIT / scale  # in the file's units
        lower, upper = self.vector(value, key, 2)
        for i, v in enumerate((lower, upper)):
            if abs(v) > bound:
                unit = "degrees" if angular and scale != 1.0 else ("rad" if angular else "m")
                raise self.error(f"{key}[{i}]", f"{v:g} exceeds {bound:g} {unit} in magnitude (kinematics.chain."
                                                "MAX_LIMIT; use a continuous joint for an unbounded one)")
        if lower > upper:
            raise self.error(key, f"expected lower <= upper, got {_show(value)}")
        return (float(lower * scale), float(upper * scale))

    def pose(self, table, key):
        """A (4, 4) transform from a table with optional xyz (m) and rpy (fixed axes, R = Rz Ry Rx)."""
        if table is None:
            return np.eye(4)
        self.keys(table, _POSE, key)
        xyz = self.vector(table.get("xyz", [0, 0, 0]), f"{key}.xyz", 3, MAX_LENGTH)
        rpy = self.vector(table.get("rpy", [0, 0, 0]), f"{key}.rpy", 3) * self.angle
        T = rpy_to_matrix(rpy)
        T[:3, 3] = xyz  # Trans(xyz) · Rot(rpy)
        return T

    def string(self, value, key, choices=None):
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {_show(value)}")
        if choices is not None and value not in choices:
            raise self.error(key, f"expected one of {', '.join(repr(c) for c in choices)}, got {value!r}")
        return value

    def read_angles(self, data):
        """The file's `angles` ("radians", the default, or "degrees"): the factor for every angle after."""
        angles = self.string(data.get("angles", "radians"), "angles", ("radians", "degrees"))
        self.angle = math.pi / 180.0 if angles == "degrees" else 1.0

    def required(self, table, field, key):
        if field not in table:
            raise self.error(f"{key}.{field}", "missing field")
        return table[field]


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 3, 6, 4, 40, 40


def _show(value):
    """A short repr: reprlib stops at 3 levels, so deeply nested values cost nothing."""
    text = _REPR.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def load(path) -> Chain:
    """The arm described by a TOML arm file.

    Args:
        path: the file (str or os.PathLike).

    Returns:
        A `kinematics.Chain` named by the file's `name` (default: the file's stem).

    Raises:
        ArmFileError (a ValueError): invalid TOML, an unknown key, a missing field or a bad
            value; the message names the file and the key.
        FileNotFoundError: the file cannot be read.
    """
    path, data, reader = read_toml(path, "load", "arm file", ArmFileError)
    reader.keys(data, _TOP, "")
    reader.read_angles(data)
    name = reader.string(data.get("name", os.path.splitext(os.path.basename(path))[0]), "name")
    forms = [form for form in _FORMS if form in data]
    if len(forms) != 1:
        found = f"found {', '.join(forms)}" if forms else "found none"
        raise ArmFileError(path, None, f"expected exactly one of the keys planar, dh, joints ({found})")
    form = forms[0]
    if "convention" in data and form != "dh":
        raise reader.error("convention", "only DH tables ([[dh]]) take a convention")
    base = reader.pose(data.get("base"), "base")
    tool = reader.pose(data.get("tool"), "tool")
    if form == "planar":
        arm = _planar(reader, data["planar"], name)
        try:
            tool = arm.tool @ tool
            height = plane_height(arm.joints, base, tool)
            return arm.replace(base=base, tool=tool, planar=height is not None, plane_z=height or 0.0)
        except ValueError as err:  # the last length and the tool together beyond MAX_LENGTH
            raise reader.error("tool", str(err)) from None
    if form == "dh":
        return _dh(reader, data, name, base, tool)
    return _joints(reader, data["joints"], name, base, tool)


def _planar(reader, table, name):
    reader.keys(table, _PLANAR, "planar")
    lengths = reader.required(table, "lengths", "planar")
    if not isinstance(lengths, list) or not lengths:
        raise reader.error("planar.lengths", f"expected a non-empty list of positive numbers, got {_show(lengths)}")
    _check_count(reader, "planar.lengths", len(lengths))
    values = [reader.number(v, f"planar.lengths[{i}]", MAX_LENGTH) for i, v in enumerate(lengths)]
    for i, v in enumerate(values):
        if v <= 0:
            raise reader.error(f"planar.lengths[{i}]", f"expected a positive length, got {v}")
    limits = table.get("limits")
    if limits is not None:
        if not isinstance(limits, list) or not limits:
            raise reader.error("planar.limits", "expected one [lower, upper] pair or one pair per link")
        if isinstance(limits[0], list):
            if len(limits) != len(values):
                raise reader.error("planar.limits", f"expected {len(values)} pairs (one per link), got {len(limits)}")
            limits = [reader.limits(p, f"planar.limits[{i}]", True) for i, p in enumerate(limits)]
        else:
            limits = reader.limits(limits, "planar.limits", True)
    return planar(values, limits=limits, name=name)


def _dh(reader, data, name, base, tool):
    convention = reader.string(data.get("convention", "standard"), "convention", ("standard", "modified"))
    rows = data["dh"]
    if not isinstance(rows, list) or not rows:
        raise reader.error("dh", "expected one or more [[dh]] tables")
    _check_count(reader, "dh", len(rows))
    parsed = []
    for k, row in enumerate(rows):
        key = f"dh[{k}]"
        reader.keys(row, _DH, key)
        joint = reader.string(row.get("joint", "revolute"), f"{key}.joint", ("revolute", "prismatic"))
        fields = {f: reader.number(row.get(f, 0.0), f"{key}.{f}", MAX_LENGTH if f in "da" else math.inf)
                  for f in ("d", "a", "alpha", "offset")}
        fields["alpha"] *= reader.angle
        fields["offset"] *= reader.angle  # the joint angle, also for a prismatic row
        limits = row.get("limits")
        if limits is not None:
            limits = reader.limits(limits, f"{key}.limits", joint == "revolute")
        label = reader.string(row["name"], f"{key}.name") if "name" in row else None
        parsed.append(DHRow(joint=joint, limits=limits, name=label, **fields))
    try:
        return from_dh(parsed, modified=convention == "modified", base=base, tool=tool, name=name)
    except ValueError as err:  # e.g. the last row's offsets and the tool together beyond MAX_LENGTH
        raise reader.error("tool" if "tool" in str(err) else "dh", str(err)) from None


def _joints(reader, rows, name, base, tool):
    if not isinstance(rows, list) or not rows:
        raise reader.error("joints", "expected one or more [[joints]] tables")
    _check_count(reader, "joints", sum(not (isinstance(r, dict) and r.get("type") == "fixed") for r in rows))
    joints, pending = [], np.eye(4)  # `pending`: fixed transforms since the last movable joint
    for k, row in enumerate(rows):
        key = f"joints[{k}]"
        reader.keys(row, _JOINT, key)
        kind = reader.string(row.get("type", "revolute"), f"{key}.type", _JOINT_TYPES)
        label = reader.string(row.get("name", f"joint{k + 1}"), f"{key}.name")
        origin = reader.pose(row.get("origin"), f"{key}.origin")
        if kind == "fixed":
            for field in ("axis", "limits"):
                if field in row:
                    raise reader.error(f"{key}.{field}", "a fixed joint takes only name, type and origin")
            pending = pending @ origin
            continue
        axis = reader.vector(reader.required(row, "axis", key), f"{key}.axis", 3)
        if not np.any(axis):
            raise reader.error(f"{key}.axis", "expected a nonzero axis")
        if kind == "continuous":
            if "limits" in row:
                raise reader.error(f"{key}.limits", "a continuous joint is unbounded; use type = \"revolute\" "
                                                    "for a joint with limits")
            limits = (-math.inf, math.inf)
        elif "limits" in row:
            limits = reader.limits(row["limits"], f"{key}.limits", kind == "revolute")
        else:
            raise reader.error(f"{key}.limits", f"missing field (a {kind} joint needs [lower, upper]; "
                                                "use type = \"continuous\" for an unbounded revolute joint)")
        try:
            joints.append(Joint(label, type="prismatic" if kind == "prismatic" else "revolute",
                                axis=axis, origin=pending @ origin, limits=limits))
        except ValueError as err:  # e.g. fixed offsets before it that add up beyond MAX_LENGTH
            raise reader.error(f"{key}.origin", str(err)) from None
        pending = np.eye(4)
    if not joints:
        raise reader.error("joints", "expected at least one revolute, continuous or prismatic joint")
    try:
        return Chain(joints, base=base, tool=pending @ tool, name=name)
    except ValueError as err:  # the fixed joints after the last movable one and the tool beyond MAX_LENGTH
        raise reader.error("tool", str(err)) from None


def _check_count(reader, key, count):
    """Refuse more than MAX_JOINTS joints before building any of them."""
    if count > MAX_JOINTS:
        raise reader.error(key, f"{count} joints is more than the {MAX_JOINTS} a chain supports "
                                "(kinematics.chain.MAX_JOINTS)")
