"""robots.visuals: a URDF's visual meshes, read and placed on a chain's frames (for armgrad teach)."""

import argparse
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import kinematics as kin
import robots
from robots.geometry import GeometryWarning
from robots.robot import example_robot_data
from robots.visuals import visual_meshes

pytest.importorskip("trimesh", reason="trimesh (armgrad[collision], in the test extra) is not installed")

PRIMITIVES = """<robot name="r">
  <link name="a"><visual><origin xyz="0 0 0.5" rpy="0 0 1.5707963267948966"/>
    <geometry><box size="0.2 0.4 0.6"/></geometry></visual></link>
  <link name="b"><visual><geometry><cylinder radius="0.1" length="0.3"/></geometry></visual>
    <visual><origin xyz="1 0 0"/><geometry><sphere radius="0.05"/></geometry></visual>
    <visual><geometry><mesh filename="package://nowhere/m.stl"/></geometry></visual></link>
  <joint name="j" type="revolute"><parent link="a"/><child link="b"/><axis xyz="0 0 1"/>
    <limit lower="-1" upper="1" effort="1" velocity="1"/></joint>
</robot>"""


def test_primitives_are_built_in_the_visual_frame_and_a_missing_package_is_named():
    with pytest.warns(GeometryWarning, match="package 'nowhere'"):
        meshes = visual_meshes(PRIMITIVES)
    (V, F), = meshes["a"]
    np.testing.assert_allclose(V.min(axis=0), [-0.2, -0.1, 0.2], atol=1e-12)  # the box turned by 90° about z
    np.testing.assert_allclose(V.max(axis=0), [0.2, 0.1, 0.8], atol=1e-12)
    cylinder, sphere = meshes["b"]
    assert np.abs(np.linalg.norm(cylinder[0][:, :2], axis=1).max() - 0.1) < 1e-9
    np.testing.assert_allclose(np.linalg.norm(sphere[0] - [1, 0, 0], axis=1), 0.05, atol=1e-9)
    assert F.dtype.kind == "i" and F.max() < len(V)


def _panda_args():
    folder = example_robot_data()
    if folder is None:
        pytest.skip("example-robot-data is not installed: its Panda meshes are the data of this test")
    path = os.path.join(folder, "panda_description", "urdf", "panda.urdf")
    return argparse.Namespace(robot=path, base=None, tip="panda_link8", frame=None, zero_range=None, xacro_args=[],
                              packages=[f"example-robot-data={os.path.dirname(folder)}"], meshes=True, scene=None)


def test_panda_meshes_ride_on_the_chain_frames_as_on_the_tree():
    pytest.importorskip("collada", reason="pycollada (in the test extra) reads the Panda's .dae visuals")
    from demos import common, teach

    args = _panda_args()
    chain = common.robot_from_args(args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GeometryWarning)  # the fingers and the hand: not on the chain
        placed = teach.chain_meshes(args, chain)
        tree = robots.load_robot(args.robot)
        meshes = visual_meshes(args.robot, {"example-robot-data": os.path.dirname(example_robot_data())})
    assert len(placed) == 8 and sum(map(len, placed.values())) == 9  # links 0-7, and the hand fixed to link 8
    chain_tree = kin.Robot.from_chain(chain)
    q = np.random.default_rng(0).uniform(chain.lower, chain.upper, (3, chain.n))
    q_tree = np.zeros((3, tree.n))
    q_tree[:, [tree.index[j] for j in chain_tree.joint_names]] = q
    for k in range(3):
        world_chain = np.concatenate([
            V @ T[:3, :3].T + T[:3, 3] for frame, items in placed.items()
            for T in [kin.frame_poses(chain_tree, q[k], [frame])[0]] for V, _ in items])
        world_tree = np.concatenate([
            V @ T[:3, :3].T + T[:3, 3] for link in [f"panda_link{i}" for i in range(8)] + ["panda_hand"]
            for T in [kin.frame_poses(tree, q_tree[k], [link])[0]] for V, _ in meshes[link]])
        np.testing.assert_allclose(np.sort(world_chain, axis=0), np.sort(world_tree, axis=0), atol=1e-9)


def test_without_trimesh_one_warning_and_capsules():
    code = ("import sys, warnings; sys.modules['trimesh'] = None; from robots.visuals import visual_meshes; "
            "warnings.simplefilter('error'); visual_meshes('<robot name=\"r\"><link name=\"a\"/></robot>')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert out.returncode != 0 and "pip install 'armgrad[collision]'" in out.stderr


def test_other_descriptions_are_refused():
    with pytest.raises(ValueError, match="reads URDF, xacro and MJCF"):
        visual_meshes(os.path.join(os.path.dirname(robots.__file__), "examples", "planar4.toml"))


def test_mjcf_visual_meshes_sit_where_mujoco_puts_them(tmp_path):
    mujoco = pytest.importorskip("mujoco", reason="mujoco (in the test extra) is the oracle for MJCF placement")
    import trimesh

    # an off-centre, lopsided mesh, so that MuJoCo's re-centring to the inertial frame matters
    box = trimesh.creation.box(extents=(0.3, 0.1, 0.05))
    box.apply_translation((0.2, 0.05, -0.1))
    box.export(tmp_path / "part.stl")
    xml = tmp_path / "arm.xml"
    xml.write_text("""<mujoco><compiler meshdir="."/>
      <asset><mesh name="part" file="part.stl" scale="1 -1 0.8"/></asset>
      <worldbody><body name="upper" pos="0 0 0.1" euler="10 20 30">
        <joint name="shoulder" axis="0 1 0" range="-90 90"/>
        <geom type="mesh" mesh="part" pos="0.05 0 0.2" euler="0 45 0" contype="0" conaffinity="0"/>
        <geom type="capsule" fromto="0 0 0 0 0 0.4" size="0.03"/>
        <body name="lower" pos="0 0 0.4"><joint name="elbow" axis="0 1 0" range="-90 90"/>
          <geom type="sphere" size="0.03"/></body>
      </body></worldbody></mujoco>""")
    meshes = visual_meshes(str(xml))
    assert set(meshes) == {"upper"}
    (V, F), = meshes["upper"]
    model = mujoco.MjModel.from_xml_path(str(xml))
    data = mujoco.MjData(model)
    tree = robots.load_robot(str(xml))
    for qpos in ([0.0, 0.0], [0.7, -0.4]):
        data.qpos[:] = qpos
        mujoco.mj_kinematics(model, data)
        g = 0  # the mesh geom
        start, count = model.mesh_vertadr[0], model.mesh_vertnum[0]
        vertices = model.mesh_vert[start:start + count].astype(float)
        theirs = data.geom_xpos[g] + vertices @ data.geom_xmat[g].reshape(3, 3).T
        T = kin.frame_poses(tree, np.array(qpos), ["upper"])[0]
        ours = V @ T[:3, :3].T + T[:3, 3]
        # the same point set (MuJoCo keeps float32 vertices: 1e-6)
        d = np.linalg.norm(theirs[:, None] - ours[None], axis=-1)
        assert d.min(axis=1).max() < 1e-6 and d.min(axis=0).max() < 1e-6
