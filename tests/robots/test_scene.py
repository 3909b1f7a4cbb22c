"""robots.load_scene: scene files mean what they say, and every mistake names the key."""

import doctest

import numpy as np
import pytest

import robots.scene
from kinematics.collision import Box, Capsule, HalfSpace, PointCloud, Sphere
from kinematics.transforms import rpy_to_matrix
from robots.scene import SceneError, load_scene

SCENE = """
angles = "degrees"
[[sphere]]
name = "ball"
center = [0.5, 0.0, 0.3]
radius = 0.05
[[sphere]]
center = [0.4, 0.1, 0.2]
radius = 0.02
[[capsule]]
a = [0.4, -0.2, 0.1]
b = [0.4, 0.2, 0.1]
radius = 0.02
[[box]]
pose = { xyz = [0.6, 0, 0.2], rpy = [0, 0, 30] }
size = [0.2, 0.4, 0.1]
[[halfspace]]
normal = [0, 0, 2]
offset = -0.2
[[pointcloud]]
points = "cloud.npy"
radius = 0.01
[[pointcloud]]
points = [[0, 0, 1], [0, 1, 1]]
radius = 0.0
"""


def test_a_scene_of_every_kind(tmp_path):
    cloud = np.random.default_rng(0).uniform(-1, 1, (50, 3))
    np.save(tmp_path / "cloud.npy", cloud)
    (tmp_path / "scene.toml").write_text(SCENE)
    shapes = load_scene(tmp_path / "scene.toml")
    assert [type(s) for s in shapes] == [HalfSpace, Sphere, Sphere, Capsule, Box, PointCloud, PointCloud]
    floor, ball, small, rod, box, points, pair = shapes
    np.testing.assert_array_equal(floor.normal, [0, 0, 1])
    assert floor.offset == -0.1  # n·x <= offset with the normal made unit: 2z <= -0.2 is z <= -0.1
    np.testing.assert_array_equal(ball.center, [0.5, 0, 0.3])
    assert ball.radius == 0.05 and small.radius == 0.02
    np.testing.assert_array_equal(rod.b, [0.4, 0.2, 0.1])
    np.testing.assert_allclose(box.pose[:3, :3], rpy_to_matrix([0, 0, np.radians(30)])[:3, :3], atol=1e-15)
    np.testing.assert_array_equal(box.size, [0.2, 0.4, 0.1])
    np.testing.assert_array_equal(points.points, cloud)
    assert pair.points.shape == (2, 3) and pair.radius == 0.0


def test_named_scenes_label_each_obstacle_by_its_name_or_kind_and_index(tmp_path):
    np.save(tmp_path / "cloud.npy", np.zeros((3, 3)))
    (tmp_path / "scene.toml").write_text(SCENE)
    named = load_scene(tmp_path / "scene.toml", named=True)
    assert list(named) == ["halfspace[0]", "ball", "sphere[1]", "capsule[0]", "box[0]", "pointcloud[0]",
                           "pointcloud[1]"]
    assert named["ball"].radius == 0.05 and named["sphere[1]"].radius == 0.02
    (tmp_path / "twice.toml").write_text("[[sphere]]\nname = 'sphere[1]'\ncenter = [0, 0, 0]\nradius = 1\n"
                                         "[[sphere]]\ncenter = [0, 0, 0]\nradius = 1\n")
    with pytest.raises(SceneError, match=r"key 'sphere\[1\].name': 'sphere\[1\]' also names another obstacle"):
        load_scene(tmp_path / "twice.toml", named=True)
    assert len(load_scene(tmp_path / "twice.toml")) == 2  # unnamed lists do not care


@pytest.mark.parametrize("text, key, message", [
    ("[[spher]]\nradius = 1", "spher", "unknown key"),
    ("[[sphere]]\nradius = 1", "sphere[0].center", "missing field"),
    ("[[sphere]]\ncenter = [0, 0]\nradius = 1", "sphere[0].center", "expected a list of 3 numbers"),
    ("[[sphere]]\ncenter = [0, 0, 0]\nradius = -1", "sphere[0]", "radius"),
    ("[[sphere]]\ncenter = [0, 0, 0]\nradius = 1\ncolour = 'red'", "sphere[0].colour", "unknown key"),
    ("[[box]]\npose = { xyz = [0, 0, 0] }\nsize = [1, 0, 1]", "box[0]", "size"),
    ("[[box]]\npose = { xyz = [0, 0, 0], quat = [1, 0, 0, 0] }\nsize = [1, 1, 1]", "box[0].pose.quat", "unknown key"),
    ("[[halfspace]]\nnormal = [0, 0, 0]\noffset = 0", "halfspace[0]", "nonzero"),
    ("[[halfspace]]\nnormal = [0, 0, 1]\noffset = inf", "halfspace[0].offset", "finite number"),
    ("[[pointcloud]]\npoints = 'cloud.csv'\nradius = 0", "pointcloud[0].points", "expected a .npy file"),
    ("[[pointcloud]]\npoints = []\nradius = 0", "pointcloud[0].points", "non-empty list"),
    ("[[pointcloud]]\npoints = [[0, 0, 'x']]\nradius = 0", "pointcloud[0].points[0][2]", "finite number"),
    ("sphere = 3", "sphere", "expected an array of tables"),
    ("angles = 'grads'", "angles", "'radians', 'degrees'"),
    ("[[sphere]\n", None, "invalid TOML"),
])
def test_mistakes_name_the_key(tmp_path, text, key, message):
    path = tmp_path / "scene.toml"
    path.write_text(text)
    with pytest.raises(SceneError) as err:
        load_scene(path)
    assert err.value.key == key and message in str(err.value) and "\n" not in str(err.value)


def test_a_missing_point_cloud_file_names_it(tmp_path):
    path = tmp_path / "scene.toml"
    path.write_text("[[pointcloud]]\npoints = 'gone.npy'\nradius = 0")
    with pytest.raises(FileNotFoundError, match="key 'pointcloud\\[0\\].points': cannot read .*gone.npy"):
        load_scene(path)


def test_module_example_runs():
    failures, tried = doctest.testmod(robots.scene, verbose=False)
    assert tried > 0 and failures == 0
