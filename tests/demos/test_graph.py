"""demos.graph: the layered layout, the PNG drawing and the `armgrad graph` command (Agg only)."""

import argparse
import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

import autodiff as ad
from autodiff import viz
from demos import cli, graph

matplotlib.use("Agg")  # no windows, whatever the environment says

REPO = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def labels_of(root):
    g = viz.graph(root)
    return g, [viz.node_label(n, viz.node_kind(n, root)) for n in g.nodes]


@pytest.mark.parametrize("edges, expected", [
    ([(0, 1), (1, 2)], [0, 1, 2]),  # a chain
    ([(0, 2), (1, 2), (2, 3)], [0, 0, 1, 2]),  # two inputs
    ([(0, 1), (1, 2), (2, 3), (0, 3)], [0, 1, 2, 3]),  # a long edge does not shorten the path
    ([(0, 1), (1, 2), (2, 4), (3, 4)], [0, 1, 2, 2, 3]),  # a late constant sits next to its user
])
def test_layers_longest_path_with_sources_next_to_their_users(edges, expected):
    assert graph.layers(len(expected), edges) == expected


def test_count_crossings():
    order = [[0, 1], [2, 3]]
    assert graph.count_crossings(order, [[(0, 2), (1, 3)]]) == 0
    assert graph.count_crossings(order, [[(0, 3), (1, 2)]]) == 1


def test_ordering_removes_avoidable_crossings():
    # Three parallel pairs given in a scrambled order: 2 crossings, 0 after ordering.
    order = [[0, 1, 2], [3, 4, 5]]
    edges = [[(0, 5), (1, 3), (2, 4)]]
    assert graph.count_crossings(order, edges) == 2
    assert graph.count_crossings(graph.order_layers(order, edges), edges) == 0


def test_layout_of_the_examples():
    for name, make in graph.EXAMPLES.items():
        root, _ = make()
        g, labels = labels_of(root)
        lay = graph.layout(g, labels)
        xy, size = lay["xy"], lay["size"]
        # Every edge points right, and no two boxes of a layer overlap.
        for s, t in g.edges:
            assert xy[s, 0] + size[s, 0] / 2 < xy[t, 0] - size[t, 0] / 2, name
        for k in set(lay["layer"]):
            ids = sorted((i for i, lk in enumerate(lay["layer"]) if lk == k), key=lambda i: xy[i, 1])
            for a, b in zip(ids, ids[1:]):
                assert xy[a, 1] + size[a, 1] / 2 <= xy[b, 1] - size[b, 1] / 2 + 1e-9, name
        assert len(lay["routes"]) == len(g.edges)
    # The expression and the MLP are trees: drawn without crossings.
    assert graph.layout(*labels_of(graph.example_mlp()[0]))["crossings"] == 0
    assert graph.layout(*labels_of(graph.example_expr()[0]))["crossings"] == 0


def test_draw_writes_a_png(tmp_path):
    x = ad.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    loss = ad.sum(ad.tanh(x) * 3.0)
    viz.retain_grads(loss)
    loss.backward(retain_graph=True)
    path = graph.draw(loss, tmp_path / "g.png", show_values=True, show_grads=True, names={"x": x}, title="t")
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 5000


def test_draw_refuses_a_freed_graph(tmp_path):
    x = ad.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    loss = ad.sum(x * x)
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        graph.draw(loss, tmp_path / "g.png")
    assert not (tmp_path / "g.png").exists()


def test_command_in_process(tmp_path, capsys):
    assert "demos.graph" in cli.COMMANDS
    assert cli.main(["graph", "--example", "arm", "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out.split()
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["graph_arm_backward.dot", "graph_arm_backward.png",
                     "graph_arm_forward.dot", "graph_arm_forward.png"]
    assert printed.count("wrote") == 4
    backward = (tmp_path / "out" / "graph_arm_backward.dot").read_text()
    assert "q: leaf" in backward and "grad [" in backward and "grad not kept" not in backward
    assert (tmp_path / "out" / "graph_arm_forward.png").read_bytes().startswith(PNG_SIGNATURE)


def test_command_bad_input(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert cli.main(["graph", "--out", str(blocker)]) == 2
    assert "exists and is not a directory" in capsys.readouterr().err
    with pytest.raises(cli.CommandError, match="unknown example 'nope'"):
        graph.run(argparse.Namespace(example="nope", out=str(tmp_path)))
    with pytest.raises(SystemExit):
        cli.main(["graph", "--example", "nope"])


def test_module_help_as_a_subprocess():
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-m", "demos.graph", "--help"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage: armgrad graph" in result.stdout
    assert "--example arm" in result.stdout  # the examples in the help


def _disk_full_write_text(self, data, *args, **kwargs):
    """Path.write_text on a full disk: the file is created and half written, then the write fails."""
    with open(self, "w") as f:
        f.write(data[: len(data) // 2])
        raise OSError(28, "No space left on device")


def test_full_disk_keeps_the_old_dot_file_and_names_it(tmp_path, capsys, monkeypatch):
    dot = tmp_path / "graph_expr_forward.dot"
    dot.write_text("digraph previous {}\n")
    monkeypatch.setattr(Path, "write_text", _disk_full_write_text)
    assert cli.main(["graph", "--example", "expr", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(dot) in err and "No space left on device" in err, err
    assert dot.read_text() == "digraph previous {}\n"  # not half a new graph
    assert [p.name for p in tmp_path.iterdir()] == [dot.name]  # no temporary left behind


def test_full_disk_keeps_the_old_png(tmp_path, monkeypatch):
    png = tmp_path / "g.png"
    png.write_bytes(b"old picture")

    def disk_full(self, fname, *args, **kwargs):
        with open(fname, "wb"):
            raise OSError(28, "No space left on device")

    import matplotlib.figure

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", disk_full)
    root, names = graph.example_expr()
    with pytest.raises(OSError, match=f"cannot write {png}: No space left on device"):
        graph.draw(root, png, names=names)
    assert png.read_bytes() == b"old picture" and [p.name for p in tmp_path.iterdir()] == ["g.png"]
