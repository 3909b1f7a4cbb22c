"""`armgrad reach`: the planar3 map through the command, its files, its picture, and its workers."""

import numpy as np
import pytest

from tests.demos.test_cli_commands import armgrad


def _read_csv(path):
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    assert open(path).readline().strip() == "x,y,z,fraction,manipulability,queried,position_reached"
    return data


def _closed_form(centres, orientations):
    theta = 2 * np.pi * np.arange(orientations) / orientations
    wrist = centres[:, None, :2] - 0.6 * np.stack([np.cos(theta), np.sin(theta)], axis=-1)
    r = np.linalg.norm(wrist, axis=-1)
    return ((r >= 0.2) & (r <= 1.8)).mean(axis=1)


def test_a_planar_map_is_written_with_its_picture(capsys, tmp_path):
    out = tmp_path / "map.csv"
    status, stdout, _ = armgrad(capsys, "reach", "planar3", "--resolution", "0.3", "--orientations", "8",
                                "--out", str(out), "--no-progress")
    assert status == 0 and "fractions are lower bounds for --max-restarts 20" in stdout
    table = _read_csv(out)
    assert table.shape[1] == 7 and len(table) == 17 * 17
    assert np.all(table[:, 3] <= _closed_form(table[:, :3], 8) + 1e-12)  # never above the truth
    assert np.all(table[np.linalg.norm(table[:, :2], axis=1) > 2.4, 3] == 0)
    from PIL import Image

    picture = np.asarray(Image.open(out.with_suffix(".png")).convert("RGB"))
    assert picture.std() > 20  # a map, not a blank canvas


def test_npy_and_parquet_hold_the_same_map(capsys, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow (armgrad[scale], in the test extra) writes Parquet")
    common = ["reach", "planar2", "--resolution", "0.4", "--orientations", "4", "--no-progress", "--no-pictures"]
    tables = {}
    for suffix in ("csv", "npy", "parquet"):
        out = tmp_path / f"map.{suffix}"
        status, _, _ = armgrad(capsys, *common, "--out", str(out))
        assert status == 0 and not out.with_suffix(".png").exists()
        if suffix == "csv":
            tables[suffix] = _read_csv(out)
        elif suffix == "npy":
            tables[suffix] = np.load(out)
        else:
            t = pq.read_table(out)
            assert t.column_names == ["x", "y", "z", "fraction", "manipulability", "queried", "position_reached"]
            tables[suffix] = np.column_stack([t[c].to_numpy().astype(float) for c in t.column_names])
    np.testing.assert_array_equal(tables["csv"], tables["npy"])
    np.testing.assert_array_equal(tables["npy"], tables["parquet"])


def test_two_workers_make_the_same_map(capsys, tmp_path):
    pytest.importorskip("distributed", reason="dask.distributed (armgrad[scale], in the test extra) runs workers")
    common = ["reach", "planar3", "--resolution", "0.4", "--orientations", "6", "--chunk-size", "200",
              "--no-progress", "--no-pictures"]
    here, there = tmp_path / "here.csv", tmp_path / "there.csv"
    assert armgrad(capsys, *common, "--out", str(here))[0] == 0
    status, stdout, _ = armgrad(capsys, *common, "--workers", "2", "--out", str(there))
    assert status == 0 and "2 local workers" in stdout
    np.testing.assert_array_equal(_read_csv(here), _read_csv(there))


@pytest.mark.parametrize("option, message", [
    (["--resolution", "0"], "--resolution"), (["--orientations", "0"], "--orientations"),
    (["--out", "map.txt"], "expected a .parquet, .csv or .npy"),
])
def test_bad_options_are_one_line(capsys, tmp_path, option, message):
    argv = ["reach", "planar2", "--out", str(tmp_path / "m.csv"), "--no-progress", *option]
    if option[0] == "--out":
        argv = ["reach", "planar2", "--no-progress", "--out", str(tmp_path / option[1])]
    status, _, stderr = armgrad(capsys, *argv)
    assert status == 2 and message in stderr and len(stderr.strip().splitlines()) == 1
