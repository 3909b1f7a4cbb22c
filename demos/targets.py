"""Targets files for `armgrad solve --targets`: read a chunk at a time (`TargetFile`) or whole (`read_targets`).

A file is a CSV or `.parquet` table whose header names x, y, z (x, y for planar arms) and
optionally roll, pitch, yaw (rad, fixed axes; degrees with `degrees`) or qx, qy, qz, qw (scalar
last); other columns are ignored (their names come back so the caller can say so). A structured
`.npy` (as `armgrad solve --out` writes) has the same columns; a plain `.npy` holds (B, 3)
positions, (B, 4, 4) poses or, for planar arms, (B, 2) positions.

What is wrong with the FILE (no file, no header, a missing column, no rows, not UTF-8, a plain
.npy of another shape) is a CommandError when it is opened, before any work. What is wrong with a
ROW (a cell that is not a number or not finite, a zero quaternion) is that row's problem: its
target is NaN, `problems` says why ("line 17, column z: 'abc' is not a number"), and the other
rows are read as usual, so one bad row does not stop a run of millions.

A TargetFile never holds more than the rows asked for (plus one block of the file): Parquet is
read with `iter_batches`, CSV with a forward reader, `.npy` as a memory map. Slices are meant to
be asked for in ascending order (as `kinematics.scale.iter_chunks` does); an earlier one restarts
the reader.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np

import kinematics as kin
from demos.common import QUAT_COLUMNS, RPY_COLUMNS, CommandError, need_pyarrow, rpy_to_rotation, _rotation

__all__ = ["TargetFile", "read_targets"]

BLOCK = 65_536  # rows parsed at a time


def read_targets(path: str | os.PathLike, chain: kin.Chain, degrees: bool = False, option: str = "--targets"):
    """All targets of a file, refusing it at the first malformed row (a path, say, must not have a hole).

    Returns:
        (targets, ignored): targets (B, 3) positions or (B, 4, 4) poses; ignored column names.

    Raises:
        CommandError: the file or one of its rows is malformed (the message names the line or row).
    """
    file = TargetFile(path, chain, degrees, option)
    targets = file[0:len(file)]
    if file.problems:
        raise CommandError(f"{option}: {file.path} {file.problems[min(file.problems)]}")
    return targets, file.ignored


class TargetFile:
    """A targets file, opened and checked; `file[lo:hi]` reads rows lo..hi-1.

    Args:
        path: the file (.csv, .parquet or .npy).
        chain: the arm (planar arms accept 2-D positions).
        degrees: roll, pitch, yaw columns are in degrees.
        option: the command-line option the file came from, which messages name.

    Attributes:
        path: the file, as a Path.
        ignored: names of the columns that are not targets.
        problems: {row (0-based): text} for the malformed rows among the last rows read.
    """

    def __init__(self, path, chain: kin.Chain, degrees: bool = False, option: str = "--targets"):
        self.path, self.chain, self.degrees, self.option = Path(path), chain, degrees, option
        if not self.path.is_file():
            raise CommandError(f"{self.option}: file not found: {self.path}")
        self.problems, self.ignored, self._plain, self._cursor = {}, [], None, None
        suffix = self.path.suffix.lower()
        if suffix == ".npy":
            self._open_npy()
        elif suffix == ".parquet":
            self._open_parquet()
        else:
            self._open_csv()

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, rows: slice) -> np.ndarray:
        """Targets (k, 3) or (k, 4, 4) of rows `rows` (a slice, step 1): NaN where a row is malformed."""
        lo, hi, _ = rows.indices(self._count)
        hi = max(lo, hi)
        if self._plain is not None:
            return self._read_plain(lo, hi)
        if self._cursor is None or lo < self._cursor.start:
            self._cursor = _Cursor(self._blocks(), len(self._used))
        values, numbers, self.problems = self._cursor.read(lo, hi)
        return self._targets(values, numbers, lo)

    # --------------------------------------------------------------------- opening

    def _open_npy(self):
        try:
            data = np.load(self.path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as err:
            raise CommandError(f"{self.option}: cannot read {self.path} as .npy: {err}") from None
        if data.dtype.names:  # a structured array (an answers .npy): its fields are the CSV's columns
            self._layout(list(data.dtype.names), "row")
            self._count, self._data = len(data), data
            self._check_rows("has columns but no targets")
            return
        if data.ndim == 1 and data.shape[0] in (2, 3):
            data = data[None]
        shapes = "(B, 3) positions or (B, 4, 4) poses" + (" or (B, 2) positions" if self.chain.planar else "")
        shape_ok = data.shape[1:] in ((3,), (4, 4)) or (data.shape[1:] == (2,) and self.chain.planar)
        if not np.issubdtype(data.dtype, np.number) or data.ndim not in (2, 3) or len(data) == 0 or not shape_ok:
            raise CommandError(f"{self.option}: {self.path} must hold {shapes}, got {data.dtype} {data.shape}")
        self._plain, self._count = data, len(data)

    def _open_parquet(self):
        pq = need_pyarrow(self.option, self.path)
        try:
            self._parquet = pq.ParquetFile(self.path)
        except (OSError, ValueError) as err:
            raise CommandError(f"{self.option}: cannot read {self.path} as Parquet: {err}") from None
        self._layout(self._parquet.schema_arrow.names, "row")
        self._count = self._parquet.metadata.num_rows
        self._check_rows("has columns but no targets")

    def _open_csv(self):
        # One pass now counts the rows and finds what is wrong with the file as a whole (its
        # encoding included) before any work; rows are parsed later, a block at a time.
        header, self._count = None, 0
        try:
            with self._csv_rows() as rows:
                for _, row in rows:
                    if header is None:
                        header = row
                    else:
                        self._count += 1
        except UnicodeDecodeError as err:
            raise CommandError(f"{self.option}: {self.path} is not UTF-8 text (byte {err.start}): "
                               "save it as UTF-8 CSV") from None
        if header is None:
            raise CommandError(f"{self.option}: {self.path} is empty; expected a header such as x,y,z")
        self._layout(header, "line")
        self._check_rows("has a header but no targets")

    def _layout(self, header: list, unit: str):
        """The used columns from a header: positions, then rpy or quaternion; what a row is called."""
        names = [str(name).strip().lower() for name in header]
        index = set(names)
        needed = ["x", "y"] + ([] if self.chain.planar and "z" not in index else ["z"])
        missing = [c for c in needed if c not in index]
        if missing:
            raise CommandError(f"{self.option}: {self.path}: the header must name {','.join(needed)} "
                               f"(and optionally roll,pitch,yaw or qx,qy,qz,qw); missing {','.join(missing)}")
        rpy = [c for c in RPY_COLUMNS if c in index]
        quat = [c for c in QUAT_COLUMNS if c in index]
        if rpy and quat:
            raise CommandError(f"{self.option}: {self.path}: give roll,pitch,yaw or qx,qy,qz,qw, not both")
        for found, full in ((rpy, RPY_COLUMNS), (quat, QUAT_COLUMNS)):
            if found and len(found) != len(full):
                raise CommandError(f"{self.option}: {self.path}: orientation needs all of {','.join(full)}; "
                                   f"found {','.join(found)}")
        self._used = needed + rpy + quat
        self._column = {name: header[names.index(name)] for name in self._used}  # as the file spells it
        self._index = [names.index(name) for name in self._used]
        self._n_position, self._rpy, self._quat, self._unit = len(needed), bool(rpy), bool(quat), unit
        self.ignored = [name for name in names if name not in self._used]

    def _check_rows(self, message: str):
        if self._count == 0:
            raise CommandError(f"{self.option}: {self.path} {message}")

    # --------------------------------------------------------------------- reading

    def _read_plain(self, lo: int, hi: int) -> np.ndarray:
        data = np.asarray(self._plain[lo:hi], dtype=np.float64)
        if data.shape[1:] == (2,):
            data = self.chain.lift(data)
        bad = ~np.isfinite(data.reshape(len(data), -1)).all(axis=1)
        self.problems = {lo + int(i): f"row {lo + int(i) + 1}: NaN or infinite values" for i in np.flatnonzero(bad)}
        return data

    def _blocks(self):
        """Yield (values (k, m), numbers (k,), problems {row: text}) for consecutive rows of the file.

        values: the used columns, NaN where a cell is malformed; numbers: each row's line (CSV)
        or row (1-based) number, as messages name it.
        """
        if hasattr(self, "_parquet"):
            names = [self._column[name] for name in self._used]
            first = 0
            for batch in self._parquet.iter_batches(batch_size=BLOCK, columns=names):
                yield self._parse_columns([batch.column(name) for name in names], first)
                first += batch.num_rows
        elif hasattr(self, "_data"):
            for first in range(0, self._count, BLOCK):
                part = self._data[first:first + BLOCK]
                yield self._parse_columns([part[self._column[name]] for name in self._used], first)
        else:
            yield from self._parse_csv()

    def _parse_columns(self, columns: list, first: int):
        """A block of a table (Parquet batch, structured array): whole columns at once, cell by cell
        only where a column has a malformed cell."""
        k = len(columns[0])
        values, problems = np.empty((k, len(columns))), {}
        for j, column in enumerate(columns):
            try:
                values[:, j] = column.to_numpy(zero_copy_only=False) if hasattr(column, "to_numpy") \
                    else np.asarray(column, dtype=np.float64)
                if np.isfinite(values[:, j]).all():
                    continue
            except (TypeError, ValueError):
                pass
            cells = column.to_pylist() if hasattr(column, "to_pylist") else column.tolist()
            for i, cell in enumerate(cells):
                values[i, j], problem = _number(cell)
                if problem and first + i not in problems:
                    problems[first + i] = f"row {first + i + 1}, column {self._used[j]}: {cell!r} {problem}"
        return values, np.arange(first + 1, first + k + 1), problems

    def _parse_csv(self):
        values, numbers, problems, row = [], [], {}, 0
        with self._csv_rows() as rows:
            next(rows)  # the header
            for line, cells in rows:
                parsed = []
                for j, name in zip(self._index, self._used):
                    text = cells[j].strip() if j < len(cells) else ""
                    value, problem = _number(text)
                    parsed.append(value)
                    if problem and row not in problems:
                        problems[row] = f"line {line}, column {name}: {text!r} {problem}"
                values.append(parsed)
                numbers.append(line)
                row += 1
                if len(values) == BLOCK:
                    yield np.array(values), np.array(numbers), problems
                    values, numbers, problems = [], [], {}
        if values:
            yield np.array(values), np.array(numbers), problems

    def _csv_rows(self):
        """A context manager yielding an iterator of (line number, cells) over the CSV's non-comment rows."""
        path = self.path

        class Rows:
            def __enter__(self):
                # utf-8-sig drops the byte-order mark Excel writes before the header ("\ufeffx" is not "x").
                self.file = open(path, newline="", encoding="utf-8-sig")
                reader = csv.reader(self.file)
                return ((reader.line_num, row) for row in reader if row and not row[0].lstrip().startswith("#"))

            def __exit__(self, *exc):
                self.file.close()

        return Rows()

    def _targets(self, values: np.ndarray, numbers: np.ndarray, lo: int) -> np.ndarray:
        """(k, 3) positions or (k, 4, 4) poses from the used columns (k, n_position [+ 3 | 4])."""
        position = values[:, :self._n_position]
        if position.shape[1] == 2:
            position = self.chain.lift(position)
        if not self._rpy and not self._quat:
            return position
        angles = values[:, self._n_position:]
        T = np.full((len(values), 4, 4), np.nan)
        T[:, 3] = [0.0, 0.0, 0.0, 1.0]
        T[:, :3, 3] = position
        finite = np.isfinite(angles).all(axis=1)
        if self._rpy:
            R = rpy_to_rotation(np.radians(angles[finite]) if self.degrees else angles[finite])
        else:
            norm = np.linalg.norm(angles, axis=1)
            for i in np.flatnonzero(finite & (norm < 1e-9)):
                self.problems.setdefault(lo + int(i), f"{self._unit} {numbers[i]}: the quaternion (qx, qy, qz, qw) "
                                                      "must not be zero")
            finite &= norm >= 1e-9
            R = _rotation().from_quat(angles[finite] / norm[finite, None]).as_matrix()
        T[finite, :3, :3] = R
        return T


class _Cursor:
    """Rows lo..hi-1 of a stream of blocks, asked for in ascending order (rows before lo are dropped unread)."""

    def __init__(self, blocks, width: int):
        self.blocks, self.start = blocks, 0
        self.values, self.numbers, self.problems = np.zeros((0, width)), np.zeros(0, dtype=int), {}

    def read(self, lo: int, hi: int):
        """(values (k, m), numbers (k,), {row: text}) of rows lo..hi-1 (k < hi - lo at the end of the file)."""
        while self.start + len(self.values) < hi:
            self._drop(lo)
            block = next(self.blocks, None)
            if block is None:
                break
            self.values = np.concatenate([self.values, block[0]])
            self.numbers = np.concatenate([self.numbers, block[1]])
            self.problems.update(block[2])
        self._drop(lo)
        k = min(hi, self.start + len(self.values)) - self.start
        out = self.values[:k], self.numbers[:k], {r: t for r, t in self.problems.items() if r < hi}
        self._drop(hi)
        return out

    def _drop(self, row: int):
        cut = min(max(0, row - self.start), len(self.values))
        self.values, self.numbers, self.start = self.values[cut:], self.numbers[cut:], self.start + cut
        self.problems = {r: t for r, t in self.problems.items() if r >= self.start}


def _number(cell):
    """(float value, "" or what is wrong with it) of a table cell."""
    try:
        value = float(cell)
    except (TypeError, ValueError):
        return math.nan, "is not a number"
    return (value, "") if math.isfinite(value) else (math.nan, "is not finite")
