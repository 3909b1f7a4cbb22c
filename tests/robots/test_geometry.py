"""robots.geometry: every collision shape ENCLOSES what the description says.

The oracle is geometry by hand: points sampled densely on each described shape's surface (and a
mesh's own vertices, read by trimesh) must all lie within the fitted shape, by a point–segment
distance written here in numpy. A fit that is too loose is caught by volume bounds.
"""

import math
import warnings

import numpy as np
import pytest

import robots
from kinematics.collision import Capsule, Sphere
from kinematics.transforms import rot_x, rot_z, translation
from robots.geometry import GeometryWarning, box_shape, collision_model, cylinder_shape, enclosing_capsule

RNG = np.random.default_rng(0)


def outside(shape, points):
    """How far each point lies outside the shape (<= 0 inside), by hand."""
    p = np.asarray(points, dtype=float)
    if isinstance(shape, Sphere):
        return np.linalg.norm(p - shape.center, axis=-1) - shape.radius
    d = shape.b - shape.a
    t = np.clip((p - shape.a) @ d / max(d @ d, 1e-300), 0.0, 1.0)
    return np.linalg.norm(p - (shape.a + t[:, None] * d), axis=-1) - shape.radius


def volume(shape):
    r = shape.radius
    length = 0.0 if isinstance(shape, Sphere) else float(np.linalg.norm(shape.b - shape.a))
    return math.pi * r * r * length + 4 / 3 * math.pi * r ** 3


def cylinder_surface(radius, half_length, n=4000):
    phi, z = RNG.uniform(0, 2 * np.pi, n), RNG.uniform(-half_length, half_length, n)
    rim = np.c_[radius * np.cos(phi), radius * np.sin(phi), z]
    r = radius * np.sqrt(RNG.uniform(0, 1, n))
    caps = np.c_[r * np.cos(phi), r * np.sin(phi), np.where(RNG.uniform(size=n) < 0.5, -half_length, half_length)]
    return np.vstack([rim, caps])


def box_surface(half, n=4000):
    p = RNG.uniform(-1, 1, (n, 3))
    face = RNG.integers(0, 3, n)
    p[np.arange(n), face] = np.sign(p[np.arange(n), face])
    corners = np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).T.reshape(-1, 3)
    return np.vstack([p, corners]) * half


def apply(T, points):
    return points @ T[:3, :3].T + T[:3, 3]


POSE = translation([0.1, -0.2, 0.3]) @ rot_x(0.4) @ rot_z(1.1)


@pytest.mark.parametrize("points", [
    RNG.normal(size=(500, 3)) * [0.3, 0.05, 0.02],  # elongated
    RNG.normal(size=(500, 3)),  # round
    RNG.normal(size=(1, 3)),  # one point
    RNG.normal(size=(2, 3)),
    np.outer(np.linspace(-1, 1, 20), [1.0, 2.0, -0.5]),  # collinear
    np.c_[RNG.uniform(-1, 1, (200, 2)), np.zeros(200)],  # flat
    np.full((5, 3), 7.0),  # coincident
])
def test_enclosing_capsule_contains_every_point(points):
    a, b, r = enclosing_capsule(points)
    assert outside(Capsule(a, b, r), points).max() <= 0
    hull_radius = np.linalg.norm(points - points.mean(axis=0), axis=1).max()
    assert volume(Capsule(a, b, r)) <= 4 / 3 * math.pi * hull_radius ** 3 * (1 + 1e-9) + 1e-30  # never worse


def test_enclosing_capsule_of_a_long_cylinders_points_is_nearly_that_cylinder():
    points = cylinder_surface(0.05, 0.4)
    a, b, r = enclosing_capsule(points)
    assert outside(Capsule(a, b, r), points).max() <= 0
    # the capsule of radius 0.05 on the exact axis encloses it with volume cylinder · (1 + 4r / 3L) =
    # 1.083×; the fit's axis and centre come from samples (here 1.10×)
    assert volume(Capsule(a, b, r)) <= 1.15 * math.pi * 0.05 ** 2 * 0.8


@pytest.mark.parametrize("radius, half_length, kind", [(0.05, 0.4, Capsule), (0.3, 0.01, Sphere), (0.1, 0.1, Capsule)])
def test_cylinder_shape_encloses_the_cylinder(radius, half_length, kind):
    shape = cylinder_shape(POSE, radius, half_length)
    assert isinstance(shape, kind)
    assert outside(shape, apply(POSE, cylinder_surface(radius, half_length))).max() <= 1e-15


@pytest.mark.parametrize("half, kind", [([0.3, 0.05, 0.04], Capsule), ([0.1, 0.1, 0.1], Sphere),
                                        ([0.02, 0.2, 0.03], Capsule)])
def test_box_shape_encloses_the_box(half, kind):
    shape = box_shape(POSE, np.array(half))
    assert isinstance(shape, kind)
    assert outside(shape, apply(POSE, box_surface(np.array(half)))).max() <= 1e-15


STL = """solid tetra
facet normal 0 0 1
outer loop
vertex 0 0 0
vertex 0.2 0 0
vertex 0 0.1 0
endloop
endfacet
facet normal 0 1 0
outer loop
vertex 0 0 0
vertex 0 0 0.3
vertex 0.2 0 0
endloop
endfacet
endsolid tetra
"""


def urdf(mesh_file="meshes/tetra.stl"):
    return f"""<robot name="shapes">
  <link name="base"><collision><origin xyz="0 0 0.1" rpy="0.3 0 0"/><geometry><box size="0.2 0.1 0.4"/></geometry>
    </collision></link>
  <link name="arm">
    <collision><geometry><sphere radius="0.05"/></geometry></collision>
    <collision><origin xyz="0.2 0 0" rpy="0 1.5707963 0"/><geometry><cylinder radius="0.03" length="0.4"/></geometry>
    </collision>
    <collision><origin xyz="0.1 0.2 0"/><geometry><mesh filename="{mesh_file}" scale="1 2 1"/></geometry></collision>
  </link>
  <link name="bare"/>
  <joint name="j" type="continuous"><parent link="base"/><child link="arm"/><axis xyz="0 0 1"/></joint>
  <joint name="k" type="fixed"><parent link="arm"/><child link="bare"/></joint>
</robot>"""


def tetra_points():
    return np.array([[0, 0, 0], [0.2, 0, 0], [0, 0.1, 0], [0, 0, 0.3]]) * [1, 2, 1] + [0.1, 0.2, 0]


def test_urdf_collision_shapes_enclose_each_described_shape(tmp_path):
    pytest.importorskip("trimesh", reason="trimesh (the [collision] extra, in [test]) reads the mesh")
    (tmp_path / "meshes").mkdir()
    (tmp_path / "meshes" / "tetra.stl").write_text(STL)
    path = tmp_path / "shapes.urdf"
    path.write_text(urdf())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = collision_model(path)
    assert list(model) == ["base", "arm"] and len(model["arm"]) == 3  # "bare" has none
    box_pose = translation([0, 0, 0.1]) @ rot_x(0.3)
    assert outside(model["base"][0], apply(box_pose, box_surface(np.array([0.1, 0.05, 0.2])))).max() <= 1e-15
    sphere, cylinder, mesh = model["arm"]
    assert isinstance(sphere, Sphere) and sphere.radius == 0.05 and not sphere.center.any()
    cylinder_pose = translation([0.2, 0, 0]) @ np.array([[0, 0, 1, 0], [0, 1, 0, 0], [-1, 0, 0, 0], [0, 0, 0, 1.0]])
    assert outside(cylinder, apply(cylinder_pose, cylinder_surface(0.03, 0.2))).max() <= 1e-6  # rpy 1.5707963
    assert outside(mesh, tetra_points()).max() <= 0 and mesh.radius < 0.2
    # package:// through package_paths, as the xacro loader resolves packages
    path.write_text(urdf("package://my_pkg/meshes/tetra.stl"))
    again = collision_model(path, package_paths={"my_pkg": tmp_path})["arm"][2]
    np.testing.assert_array_equal(np.r_[again.a, again.b, again.radius], np.r_[mesh.a, mesh.b, mesh.radius])


@pytest.mark.parametrize("mesh_file, reason", [
    ("package://nowhere/tetra.stl", "package 'nowhere' of package://nowhere/tetra.stl is not in package_paths"),
    ("missing.stl", "missing.stl not found"),
])
def test_unreadable_meshes_warn_once_naming_the_link(tmp_path, mesh_file, reason):
    path = tmp_path / "shapes.urdf"
    path.write_text(urdf(mesh_file))
    with pytest.warns(GeometryWarning) as record:
        model = collision_model(path)
    assert len(record) == 1 and record[0].filename == __file__
    assert "1 collision shape not read, so those links lack them: arm: " in str(record[0].message)
    assert reason in str(record[0].message)
    assert len(model["arm"]) == 2  # the sphere and the cylinder are kept


@pytest.mark.parametrize("geometry, message", [
    ("<geometry/>", "<collision> needs a <geometry> with one shape"),
    ('<geometry><cone radius="1"/></geometry>', "unknown collision geometry <cone>"),
    ('<geometry><sphere radius="-1"/></geometry>', "<sphere> needs a positive radius"),
    ('<geometry><cylinder radius="1"/></geometry>', "<cylinder> needs a positive length"),
    ('<geometry><box size="1 0 1"/></geometry>', "<box> needs size with three positive lengths"),
    ('<geometry><box size="1 1"/></geometry>', "expected 3 numbers, got 2"),
    ('<origin xyz="2e6 0 0"/><geometry><sphere radius="1"/></geometry>', "link 'a': origin xyz='2e6 0 0' exceeds"),
])
def test_bad_collision_geometry_names_link_and_line(geometry, message):
    text = f'<robot name="r">\n<link name="a">\n<collision>{geometry}</collision></link></robot>'
    with pytest.raises(robots.URDFError, match=message) as err:
        collision_model(text)
    assert err.value.line == 3


def test_the_panda_meshes_are_enclosed_link_by_link():
    trimesh = pytest.importorskip("trimesh", reason="trimesh (the [collision] extra, in [test]) reads the meshes")
    data = robots.example_robot_data()
    if data is None:
        pytest.skip("example-robot-data is not installed (pip install example-robot-data, in the [test] extra)")
    folder = data / "panda_description"
    model = collision_model(folder / "urdf" / "panda.urdf", package_paths={"example-robot-data": data.parent})
    assert list(model)[:9] == [f"panda_link{k}" for k in range(8)] + ["panda_hand"]
    for k in range(8):
        vertices = trimesh.load(folder / "meshes" / "collision" / f"link{k}.stl", force="mesh").vertices
        (capsule,) = model[f"panda_link{k}"]
        assert outside(capsule, vertices).max() <= 0, k  # the link meshes have no <origin>
        assert 0.04 < capsule.radius < 0.13  # a Panda link is 8–20 cm across


MJCF = """<mujoco><default><default class="visual"><geom contype="0" conaffinity="0"/></default></default>
<asset><mesh name="blob" vertex="0 0 0 1 0 0 0 1 0 0 0 1"/></asset>
<worldbody><geom type="plane" size="1 1 0.1"/>
<body name="a" pos="0.1 0 0.2" euler="10 20 30"><joint name="j"/>
  <geom name="ball" size="0.05" pos="0.1 0 0"/>
  <geom name="pill" type="capsule" fromto="0 0 0 0.3 0.1 -0.2" size="0.02"/>
  <geom name="can" type="cylinder" size="0.03 0.2" pos="0 0.1 0" axisangle="1 0 0 40"/>
  <geom name="brick" type="box" size="0.1 0.02 0.03"/>
  <geom name="egg" type="ellipsoid" size="0.05 0.2 0.1" pos="0 0 0.3"/>
  <geom name="ghost" class="visual" size="1"/>
  <geom name="blob" type="mesh" mesh="blob"/>
</body></worldbody></mujoco>"""


def test_mjcf_geoms_that_collide_become_enclosing_shapes():
    records = {g.name: g for g in robots.mjcf.read_mjcf(MJCF).geoms}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = collision_model(MJCF)
    assert list(model) == ["a"]  # the plane is not link geometry
    ball, pill, can, brick, egg, blob = model["a"]  # the visual geom (contype = conaffinity = 0) is not there
    assert isinstance(blob, Capsule) and outside(blob, np.r_[np.zeros((1, 3)), np.eye(3)]).max() <= 0
    assert isinstance(ball, Sphere) and ball.radius == 0.05
    np.testing.assert_allclose(ball.center, records["ball"].pose[:3, 3], atol=1e-15)
    np.testing.assert_allclose(sorted([tuple(pill.a), tuple(pill.b)]), [(0, 0, 0), (0.3, 0.1, -0.2)], atol=1e-15)
    assert pill.radius == 0.02
    assert outside(can, apply(records["can"].pose, cylinder_surface(0.03, 0.2))).max() <= 1e-15
    assert outside(brick, apply(records["brick"].pose, box_surface(np.array([0.1, 0.02, 0.03])))).max() <= 1e-15
    u = RNG.normal(size=(4000, 3))
    surface = u / np.linalg.norm(u, axis=1, keepdims=True) * [0.05, 0.2, 0.1]
    assert outside(egg, apply(records["egg"].pose, surface)).max() <= 1e-15


# -- MJCF mesh geoms: MuJoCo's own compiled vertices are the oracle -----------------------------------

PANDA_MJCF = """<mujoco model="panda_meshes">
  <compiler angle="radian" meshdir="assets/collision"/>
  <default><default class="stretched"><mesh scale="1.1 0.9 1.25"/></default></default>
  <asset>
    <mesh file="link1.stl"/>
    <mesh name="link2_big" class="stretched" file="link2.stl"/>
    <mesh name="link3_mirror" file="link3.stl" scale="1 -1 0.8"/>
    <mesh name="link4_ref" file="link4.stl" refpos="0.01 -0.02 0.03" refquat="0.9 0.1 -0.3 0.2"/>
  </asset>
  <include file="parts/hand.xml"/>
  <worldbody>
    <body name="l1" pos="0 0 0.333" euler="0.1 0.2 0.3"><joint name="j1"/>
      <geom type="mesh" mesh="link1" pos="0.01 0.02 -0.03" quat="0.9 0.2 -0.1 0.3"/>
      <geom type="mesh" mesh="link1" contype="0" conaffinity="0"/>
      <body name="l2" pos="0 0.1 0" xyaxes="1 0 0 0 0 1"><joint name="j2" axis="0 1 0"/>
        <geom type="mesh" mesh="link2_big" pos="0 0 0.05" euler="0.5 -0.2 1.0"/>
        <frame pos="0.02 0 0" axisangle="0 0 1 0.7"><geom type="mesh" mesh="link3_mirror" pos="0 0.1 0"/></frame>
        <body name="l3" pos="0.3 0 0"><joint name="j3" axis="1 0 0"/>
          <geom type="mesh" mesh="link4_ref" pos="0.1 0 0"/>
          <geom type="mesh" mesh="hand" pos="0 0.05 0.1" zaxis="1 1 0"/>
        </body>
      </body>
    </body>
  </worldbody>
</mujoco>"""
PANDA_PARTS = '<mujoco><asset><mesh file="hand.stl"/></asset></mujoco>'  # found beside this file (MuJoCo 4)


def panda_mjcf(tmp_path):
    """An MJCF in tmp_path whose mesh geoms use example-robot-data's Panda collision meshes (module
    docstring of robots.mjcf: meshdir, a mesh class, scales, a mirror, legacy refpos/refquat, an
    included asset found beside its file), or a skip naming what is missing."""
    pytest.importorskip("trimesh", reason="trimesh (the [collision] extra, in [test]) reads the meshes")
    data = robots.example_robot_data()
    if data is None:
        pytest.skip("example-robot-data is not installed (pip install example-robot-data, in the [test] extra)")
    import shutil

    meshes = data / "panda_description" / "meshes" / "collision"
    (tmp_path / "assets" / "collision").mkdir(parents=True)
    (tmp_path / "parts").mkdir()
    for k in range(1, 5):
        shutil.copy(meshes / f"link{k}.stl", tmp_path / "assets" / "collision")
    shutil.copy(meshes / "hand.stl", tmp_path / "parts")
    (tmp_path / "parts" / "hand.xml").write_text(PANDA_PARTS)
    path = tmp_path / "panda_meshes.xml"
    path.write_text(PANDA_MJCF)
    return path, meshes


def mujoco_world_vertices(model, data, k):
    """(N, 3) MuJoCo's vertices of mesh geom k in the world: geom_xpos + geom_xmat · mesh_vert."""
    mesh = model.geom_dataid[k]
    start, count = model.mesh_vertadr[mesh], model.mesh_vertnum[mesh]
    return data.geom_xpos[k] + model.mesh_vert[start:start + count].astype(float) @ data.geom_xmat[k].reshape(3, 3).T


def test_mjcf_mesh_capsules_enclose_mujocos_compiled_meshes_at_every_q(tmp_path, monkeypatch):
    mujoco = pytest.importorskip("mujoco", reason="mujoco (in the [test] extra) is the oracle")
    import kinematics as kin

    path, _ = panda_mjcf(tmp_path)
    monkeypatch.chdir(tmp_path.parent)  # relative meshdirs are from the model's folder, not the working one
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shapes = collision_model(path)
    robot = robots.load_robot(path)
    model = mujoco.MjModel.from_xml_path(str(path))
    data = mujoco.MjData(model)
    assert model.nmesh == 5 and list(shapes) == ["l1", "l2", "l3"]
    # MuJoCo's mesh geoms that collide, by body, in order: one capsule each (the visual copy has none)
    colliding = [k for k in range(model.ngeom) if model.geom_contype[k] or model.geom_conaffinity[k]]
    pairs = [(k, shape) for link in shapes for k, shape in
             zip([k for k in colliding if model.body(model.geom_bodyid[k]).name == link], shapes[link], strict=True)]
    assert len(pairs) == 5 and all(isinstance(shape, Capsule) for _, shape in pairs)
    mjcf = robots.mjcf.read_mjcf(path)  # its geoms are in MuJoCo's order
    trimesh = pytest.importorskip("trimesh")
    written = {name: trimesh.load(mesh.file, force="mesh").vertices for name, mesh in mjcf.meshes.items()}
    rng = np.random.default_rng(3)
    for q in rng.uniform(-np.pi, np.pi, (6, robot.n)):
        for column, name in enumerate(robot.joint_names):
            data.qpos[model.jnt_qposadr[model.joint(name).id]] = q[column]
        mujoco.mj_kinematics(model, data)
        for k, shape in pairs:
            T = kin.frame_poses(robot, q, [model.body(model.geom_bodyid[k]).name])[0]
            placed = Capsule(apply(T, shape.a[None])[0], apply(T, shape.b[None])[0], shape.radius)
            # in float64: MuJoCo's geom pose without its re-centring (mesh_pos, mesh_quat) is armgrad's
            # FK · the geom's pose as written, and the file's vertices placed there lie in the capsule
            geom, asset = mjcf.geoms[k], mjcf.meshes[mjcf.geoms[k].mesh]
            R = np.zeros(9)
            mujoco.mju_quat2Mat(R, model.mesh_quat[model.geom_dataid[k]])
            inverse = np.eye(4)
            inverse[:3, :3] = R.reshape(3, 3).T
            inverse[:3, 3] = -inverse[:3, :3] @ model.mesh_pos[model.geom_dataid[k]]
            mujoco_pose = np.eye(4)
            mujoco_pose[:3, :3], mujoco_pose[:3, 3] = data.geom_xmat[k].reshape(3, 3), data.geom_xpos[k]
            np.testing.assert_allclose(T @ geom.pose, mujoco_pose @ inverse, rtol=0, atol=1e-9)
            assert outside(placed, apply(T @ geom.pose, asset.place(written[asset.name]))).max() <= 1e-12
            world = mujoco_world_vertices(model, data, k)
            # mesh_vert is float32: each coordinate is off by up to 2^-24 of the vertex's size (5e-9 here)
            tolerance = 1e-9 + 2.0 ** -23 * np.abs(model.mesh_vert).max()
            gap = outside(placed, world)
            assert gap.max() <= tolerance, (model.mesh(model.geom_dataid[k]).name, gap.max())
            assert gap.max() >= -1e-6  # and tight: some vertex is on the capsule's surface


def test_mjcf_mesh_capsules_are_the_urdf_loaders_capsules_of_the_same_meshes(tmp_path):
    # the two loaders agree: a mesh geom scaled in MJCF and the same mesh scaled in a URDF give the
    # same capsule up to the rigid motion between their frames (enclosing_capsule is equivariant)
    path, meshes = panda_mjcf(tmp_path)
    shapes = collision_model(path)
    for ours, mesh, scale in [(shapes["l1"][0], "link1", "1 1 1"), (shapes["l2"][0], "link2", "1.1 0.9 1.25"),
                              (shapes["l2"][1], "link3", "1 -1 0.8")]:
        urdf = (f'<robot name="r"><link name="a"><collision><geometry><mesh filename="{meshes / mesh}.stl" '
                f'scale="{scale}"/></geometry></collision></link></robot>')
        (reference,) = collision_model(urdf)["a"]
        assert abs(ours.radius - reference.radius) <= 1e-9 * reference.radius
        assert abs(np.linalg.norm(ours.b - ours.a) - np.linalg.norm(reference.b - reference.a)) <= 1e-9


def test_mjcf_meshes_that_cannot_be_read_warn_once_naming_link_mesh_and_file(tmp_path):
    (tmp_path / "main.xml").write_text("""<mujoco><compiler meshdir="meshes"/>
<asset><mesh file="gone.stl"/><mesh name="ball" builtin="sphere" params="3"/>
  <mesh name="blob" vertex="0 0 0 1 0 0 0 1 0 0 0 1"/></asset>
<worldbody><body name="a"><joint/><geom size="0.05"/><geom type="mesh" mesh="gone"/>
  <geom type="mesh" mesh="ball"/><geom type="box" mesh="blob" size="1 1 1"/></body></worldbody></mujoco>""")
    with pytest.warns(GeometryWarning) as record:
        model = collision_model(tmp_path / "main.xml")
    assert len(record) == 1 and record[0].filename == __file__
    text = str(record[0].message)
    assert "3 collision shapes not read, so those links lack them: " in text
    assert f"a: mesh file {tmp_path / 'meshes' / 'gone.stl'} not found (mesh 'gone', main.xml line 2)" in text
    assert "a: mesh 'ball' is MuJoCo's builtin 'sphere' (builtin meshes are not read)" in text
    # MuJoCo sizes a primitive that names a mesh by fitting it to the mesh, ignoring its size
    assert "a: box geom (unnamed, mesh 'blob') is sized by fitting it to mesh 'blob'" in text
    (sphere,) = model["a"]  # the sphere is kept
    assert isinstance(sphere, Sphere) and sphere.radius == 0.05


def test_xacro_descriptions_are_expanded_first(tmp_path):
    pytest.importorskip("xacro", reason="the xacro package (the [xacro] extra, in [test]) expands the file")
    path = tmp_path / "arm.urdf.xacro"
    path.write_text("""<robot name="arm" xmlns:xacro="http://www.ros.org/wiki/xacro">
  <xacro:property name="r" value="0.04"/>
  <link name="a"><collision><geometry><sphere radius="${2 * r}"/></geometry></collision></link></robot>""")
    (sphere,) = collision_model(path)["a"]
    assert isinstance(sphere, Sphere) and sphere.radius == 0.08


# -- the built-in arms' stored models --------------------------------------------------------------

MESHES = {  # built-in: {URDF link: its collision mesh under example-robot-data's robots/ folder}
    "panda": {f"panda_link{k}": f"panda_description/meshes/collision/link{k}.stl" for k in range(8)},
    "ur5": {link: f"ur_description/meshes/ur5/collision/{mesh}.stl" for link, mesh in [
        ("base_link", "base"), ("shoulder_link", "shoulder"), ("upper_arm_link", "upperarm"),
        ("forearm_link", "forearm"), ("wrist_1_link", "wrist1"), ("wrist_2_link", "wrist2"),
        ("wrist_3_link", "wrist3")]},
}
MESHES["panda_hand"] = MESHES["panda"] | {"panda_hand": "panda_description/meshes/collision/hand.stl"}


@pytest.mark.parametrize("name", ["panda", "panda_hand", "ur5"])
def test_builtin_models_enclose_the_meshes_they_come_from_at_every_q(name):
    trimesh = pytest.importorskip("trimesh", reason="trimesh (the [collision] extra, in [test]) reads the meshes")
    data = robots.example_robot_data()
    if data is None:
        pytest.skip("example-robot-data is not installed (pip install example-robot-data, in the [test] extra)")
    import kinematics as kin
    from robots.geometry import BUILTIN_SOURCES, builtin_model, fit_builtin

    stored = builtin_model(name)
    assert collision_model(name).keys() == stored.keys()
    fresh = fit_builtin(name, data)  # the stored numbers are today's fit (refit: write_builtin_models)
    assert stored.keys() == fresh.keys()
    for frame, shapes in stored.items():
        np.testing.assert_allclose([np.r_[s.a, s.b, s.radius] for s in shapes],
                                   [np.r_[a, b, r] for a, b, r in fresh[frame]], rtol=0, atol=1e-12)
    # the oracle: each mesh's vertices placed by the URDF's FK lie inside the stored capsules placed
    # by the built-in's FK, at random q (the model's frames and offsets, not just its sizes)
    relative, keep, _ = BUILTIN_SOURCES[name]
    urdf = robots.load_robot(data / relative)
    tree = kin.Robot.from_chain(robots.get(name))
    q = np.random.default_rng(5).uniform(tree.lower, tree.upper, (4, tree.n))
    q_urdf = np.zeros((4, urdf.n))
    q_urdf[:, [urdf.index[j] for j in tree.joint_names]] = q
    turn = rot_z(BUILTIN_SOURCES[name][2])  # the built-in's world in the URDF's
    frames = list(stored)
    capsules = [(frame, s) for frame in frames for s in stored[frame]]
    assert len(capsules) == len(keep)
    for link in keep:
        vertices = trimesh.load(data / MESHES[name][link], force="mesh").vertices
        for k in range(len(q)):
            world = apply(kin.frame_poses(urdf, q_urdf[k], [link])[0], vertices)
            inside = []
            for frame, shape in capsules:
                T = turn @ kin.frame_poses(tree, q[k], [frame])[0]
                placed = Capsule(apply(T, shape.a[None])[0], apply(T, shape.b[None])[0], shape.radius)
                inside.append(outside(placed, world).max() <= 1e-12)
            assert any(inside), (link, k)  # one capsule holds the whole link


def test_arms_without_a_stored_model_say_which_have_one():
    from robots.geometry import builtin_model

    with pytest.raises(ValueError, match="no built-in collision model for 'puma560'; built-in models: panda, "
                                         "panda_hand, ur5"):
        builtin_model("puma560")


# -- a description's model on a chain cut out of its tree ------------------------------------------

def placed(shape, T):
    """(first end, second end, radius) of a shape moved by the pose T (4, 4)."""
    ends = [shape.center] * 2 if isinstance(shape, Sphere) else [shape.a, shape.b]
    return np.concatenate([apply(T, np.array(ends)).ravel(), [shape.radius]])


def pinocchio_poses(path, tree, q_tree, links):
    """{link: (4, 4)} world poses of a URDF's links by pinocchio (the oracle) at armgrad's tree q (n,)."""
    pin = pytest.importorskip("pinocchio", reason="pinocchio (pip install pin) is the oracle")
    model = pin.buildModelFromXML(open(path).read(), mimic=True)
    data = model.createData()
    configuration = pin.neutral(model)
    for name, value in zip(tree.joint_names, q_tree):
        configuration[model.joints[model.getJointId(name)].idx_q] = value
    pin.framesForwardKinematics(model, data, configuration)
    return {link: data.oMf[model.getFrameId(link, pin.FrameType.BODY)].homogeneous for link in links}


PANDA_PRIMITIVES = "panda_description/urdf/panda_collision.urdf"  # spheres and cylinders, no meshes


@pytest.mark.parametrize("frame, base, left_out", [
    ("panda_hand_tcp", None, ["panda_leftfinger", "panda_rightfinger"]),  # fingers: a joint off the chain
    ("panda_link5", "panda_link2", ["panda_link0", "panda_link1", "panda_link6", "panda_link7", "panda_hand",
                                    "panda_leftfinger", "panda_rightfinger"]),  # above the base, below the end
    ("panda_link8", None, ["panda_leftfinger", "panda_rightfinger"]),  # the hand is fixed beyond the end: it rides
])
def test_chain_geometry_places_every_shape_where_the_tree_does(frame, base, left_out):
    from robots.geometry import chain_geometry

    data = robots.example_robot_data()
    if data is None or not (data / PANDA_PRIMITIVES).is_file():
        pytest.skip("example-robot-data (with panda_collision.urdf) is not installed")
    import kinematics as kin

    path = data / PANDA_PRIMITIVES
    tree = robots.load_robot(path)
    model = collision_model(path)
    chain = tree.chain(frame, base=base)
    with pytest.warns(GeometryWarning) as caught:
        mapped = chain_geometry(tree, chain, model, base)
    assert len(caught) == 1
    for link in left_out:
        assert f"{link} (" in str(caught[0].message)
    kept = [link for link in model if link not in left_out]
    assert sum(map(len, mapped.values())) == sum(len(model[link]) for link in kept) > 0
    chain_tree = kin.Robot.from_chain(chain)
    for q in np.random.default_rng(3).uniform(chain_tree.lower, chain_tree.upper, (4, chain_tree.n)):
        q_tree = np.zeros(tree.n)
        q_tree[[tree.index[j] for j in chain_tree.joint_names]] = q
        world = pinocchio_poses(path, tree, q_tree, kept + [base or tree.root])
        to_base = np.linalg.inv(world[base or tree.root])  # the chain's base frame is base's
        expected = np.array([placed(s, to_base @ world[link]) for link in kept for s in model[link]])
        got = np.array([placed(s, kin.frame_poses(chain_tree, q, [f])[0]) for f in mapped for s in mapped[f]])
        gap = np.abs(got[:, None] - expected[None]).max(axis=-1)  # (got, expected): each got shape is one expected
        match = gap.argmin(axis=1)
        assert sorted(match) == list(range(len(expected)))
        assert gap[np.arange(len(got)), match].max() <= 1e-12


def test_chain_geometry_of_a_builtin_sub_chain_and_a_chain_from_another_tree():
    import kinematics as kin
    from robots.geometry import chain_geometry

    arm = robots.get("panda")
    tree = kin.Robot.from_chain(arm)
    sub = tree.chain("panda_joint4")
    with pytest.warns(GeometryWarning, match="panda_joint5 .moved by joint 'panda_joint5'"):
        mapped = chain_geometry(tree, sub, arm.geometry)
    assert list(mapped) == ["base", "panda_joint1", "panda_joint2", "panda_joint3", "panda_joint4"]
    q = np.random.default_rng(1).uniform(sub.lower, sub.upper, (3, 4))
    full = np.c_[q, np.zeros((3, 3))]
    for f in mapped:
        for s, t in zip(mapped[f], arm.geometry[f]):
            for k in range(3):
                np.testing.assert_allclose(placed(s, kin.frame_poses(kin.Robot.from_chain(sub), q[k], [f])[0]),
                                           placed(t, kin.frame_poses(tree, full[k], [f])[0]), rtol=0, atol=1e-12)
    unrelated = kin.Robot.from_chain(robots.from_dh([{"d": 0.3, "a": 0.0, "alpha": 0.5}] * 7))  # other joint names
    with pytest.raises(ValueError, match="'panda_joint1'.* of chain 'panda' are not free joints of robot"):
        chain_geometry(unrelated, arm, arm.geometry)
    bent = kin.Chain([j if j.name != "panda_joint3" else kin.Joint(j.name, axis=[1, 0, 0], origin=j.origin,
                                                                  limits=j.limits) for j in arm.joints])
    with pytest.raises(ValueError, match="'panda_joint3' of robot .* does not ride on chain frame 'panda_joint3'"):
        chain_geometry(tree, bent, {"panda_joint3": arm.geometry["panda_joint3"]})
