"""robots.xacro: rtb-data's 60 xacro files expanded offline, FK of the expansions against plain URDFs
(rtb-data's, example-robot-data's) and pinocchio, $(find)/package:// lookup through package_paths
and ROS_PACKAGE_PATH, xacro's errors as one line, and the message when xacro is not installed.

rtb-data (PyPI `rtb-data`, in the [test] extra) ships ROS description packages under
rtbdata/xacro/ without package.xml files, and its folder names are not always the names its
files ask for: `$(find abb_irb140)` is the folder abb_irb140_description, `$(find
kuka_kr6_support)` is kuka_description/kuka_kr6 (ROS-Industrial's upstream package names).
`rtb_packages` maps those names to the folders, by these two rules, as a user would.
"""

import math
import os
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest

import kinematics as kin
import robots
from robots import URDFError, XacroError, expand_xacro
from robots.xacro import find_package, load_xacro, load_xacro_chain

from test_load_robot import _pinocchio_q  # tests/robots is on sys.path (rootdir, no packages)
from test_urdf_interop import example_robot_data

xacro = pytest.importorskip("xacro", reason="the xacro package (pip install 'armgrad[xacro]') expands the files")
try:
    import rtbdata
    RTB = pathlib.Path(rtbdata.__file__).parent
except ImportError:  # pragma: no cover - rtb-data is in the [test] extra
    RTB = None
needs_rtb = pytest.mark.skipif(RTB is None, reason="rtb-data is not installed (pip install rtb-data)")
REPO = pathlib.Path(__file__).parents[2]


def rtb_packages():
    """{package name: folder} for rtb-data: every folder under rtbdata/xacro (and kuka_description's
    folders), armer_xarm; then the names the files use: X for X_description, kuka_Y_support for kuka_Y."""
    tree = RTB / "xacro"
    packages = {"armer_xarm": RTB / "armer_xarm"}
    for folder in sorted(tree.iterdir()) + sorted((tree / "kuka_description").iterdir()):
        if folder.is_dir():
            packages.setdefault(folder.name, folder)
    for name, folder in list(packages.items()):
        if name.endswith("_description"):
            packages.setdefault(name.removesuffix("_description"), folder)
        if name.startswith("kuka_") and name not in ("kuka_resources", "kuka_description"):
            packages.setdefault(name + "_support", folder)
    return packages


def rtb_files():
    return sorted(p.relative_to(RTB).as_posix() for p in RTB.rglob("*.xacro"))


# What does not expand even with rtb_packages, and why (the measured counts are in test_rtb_data_counts).
NOT_EXPANDED = {
    # lms1xx (the SICK laser's description) is not part of rtb-data
    "xacro/clearpath_ridgeback_description/urdf/accessories/sick_lms1xx_mount.urdf.xacro": "package 'lms1xx' not found",
    "xacro/clearpath_ridgeback_description/urdf/accessories/sick_s300_mount.urdf.xacro": "package 'lms1xx' not found",
    # the kr210 macro uses ${deg} but, unlike the other KUKA macros, never includes common_constants.xacro
    "xacro/kuka_description/kuka_kr210/urdf/kr210l150.xacro": "name 'deg' is not defined",
}


@needs_rtb
def test_rtb_data_counts():
    """60 files: 35 expand with the plain xacro package (no lookup), 57 with rtb_packages; of those,
    36 are robots that load and 21 are libraries of macros or properties (an empty <robot>, meant to
    be included)."""
    files = rtb_files()
    assert len(files) == 60
    plain, looked_up, loaded, libraries, failed = [], [], [], [], {}
    for relative in files:
        try:
            expand_xacro(RTB / relative)
            plain.append(relative)
        except XacroError as err:
            assert "not found: searched package_paths (none given)" in str(err), str(err)
        try:
            text = expand_xacro(RTB / relative, package_paths=rtb_packages())
        except XacroError as err:
            failed[relative] = str(err)
            continue
        looked_up.append(relative)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # no joint of these files is locked by a zero range
                robots.urdf.load_robot_urdf(text, source=relative)
            loaded.append(relative)
        except URDFError as err:
            source = (RTB / relative).read_text()
            assert "has no <link> elements" in str(err) and ("<xacro:macro" in source or "<xacro:property" in source)
            libraries.append(relative)
    assert (len(plain), len(looked_up), len(loaded), len(libraries)) == (35, 57, 36, 21)
    assert set(plain) <= set(looked_up)
    assert sorted(failed) == sorted(NOT_EXPANDED)
    for relative, reason in NOT_EXPANDED.items():
        assert reason in failed[relative] and failed[relative].startswith(str(RTB)), failed[relative]


def _random_q(robot, count, seed):
    lower = np.where(np.isfinite(robot.lower), robot.lower, -math.pi)
    upper = np.where(np.isfinite(robot.upper), robot.upper, math.pi)
    return np.random.default_rng(seed).uniform(lower, upper, (count, robot.n))


@needs_rtb
@pytest.mark.parametrize("xacro_file, urdf_file, atol", [
    # needs $(find kuka_lbr_iiwa_support); the .urdf is the same numbers: exact
    ("kuka_description/kuka_lbr_iiwa/urdf/lbr_iiwa_14_r820.xacro", "kuka_description/kuka_lbr_iiwa/urdf/"
     "lbr_iiwa_14_r820.urdf", 1e-12),
    # needs $(find kuka_kr16_support) and $(find kuka_resources); the .urdf writes the macro's
    # ${radians(...)} limits and angles to 11 digits, hence 5e-12 differences
    ("kuka_description/kuka_kr16/urdf/kr16_2.xacro", "kuka_description/kuka_kr16/urdf/kr16_2.urdf", 1e-10),
])
def test_expanded_robot_matches_the_plain_urdf(xacro_file, urdf_file, atol):
    expanded = load_xacro(RTB / "xacro" / xacro_file, package_paths=rtb_packages())
    plain = robots.urdf.load_robot_urdf(RTB / "xacro" / urdf_file)
    assert expanded.joint_names == plain.joint_names and sorted(expanded.links) == sorted(plain.links)
    np.testing.assert_allclose(expanded.lower, plain.lower, rtol=0, atol=atol)
    assert [j.velocity for j in expanded.joints] == pytest.approx([j.velocity for j in plain.joints], abs=atol)
    q = _random_q(plain, 20, seed=3)
    np.testing.assert_allclose(kin.frame_poses(expanded, q, plain.links), kin.frame_poses(plain, q, plain.links),
                               rtol=0, atol=atol)


@needs_rtb
def test_qut_panda_chain_matches_example_robot_data_panda():
    folder = example_robot_data()
    if folder is None:
        pytest.skip("example-robot-data is not installed")
    arm = load_xacro_chain(RTB / "xacro/qut_frankie_description/robots/panda_arm.urdf.xacro", "panda_link0",
                           "panda_link8", package_paths=rtb_packages())
    reference = robots.load_urdf(folder / "panda_description/urdf/panda.urdf", "panda_link0", "panda_link8")
    assert arm.joint_names == reference.joint_names and not arm.planar
    assert [j.velocity for j in arm.joints] == [j.velocity for j in reference.joints] == [2.175] * 4 + [2.61] * 3
    q = _random_q(reference, 30, seed=4)
    np.testing.assert_allclose(kin.forward_kinematics(arm, q), kin.forward_kinematics(reference, q), rtol=0,
                               atol=1e-12)


PINOCCHIO_CASES = [  # (file, args, a link the args name)
    ("xacro/unimation_puma560_description/urdf/puma560_robot.urdf.xacro", None, None),  # plain: no lookup
    ("xacro/abb_irb140_description/urdf/irb140.xacro", None, None),  # $(find abb_irb140)
    ("xacro/kuka_description/kuka_kr6/urdf/kr6r900sixx.xacro", None, None),  # $(find) two packages deep
    ("xacro/qut_frankie_description/robots/dual_panda_example.urdf.xacro", {"arm_id_1": "left", "arm_id_2": "right"},
     "right_link8"),  # $(find) and $(arg)s
    ("xacro/trossen_descriptions/urdf/wx250s.urdf.xacro", {"robot_name": "arm7"}, "arm7/gripper_link"),
    ("armer_xarm/data/xacro/robots/xarm6/xarm6.xacro", None, None),  # a relative include
]


@needs_rtb
@pytest.mark.parametrize("relative, args, named", PINOCCHIO_CASES, ids=[c[0].split("/")[-1] for c in PINOCCHIO_CASES])
def test_expanded_robot_matches_pinocchio(relative, args, named):
    pin = pytest.importorskip("pinocchio", reason="pinocchio (pip install pin) is the oracle")
    text = expand_xacro(RTB / relative, args=args, package_paths=rtb_packages())
    robot = load_xacro(RTB / relative, args=args, package_paths=rtb_packages())
    if named is not None:
        assert named in robot.links
    model = pin.buildModelFromXML(text, mimic=True)
    data = model.createData()
    links = [f.name for f in model.frames if f.type == pin.FrameType.BODY]
    assert sorted(links) == sorted(robot.links)
    q = _random_q(robot, 3, seed=5)
    T = kin.frame_poses(robot, q, links)
    for b in range(len(q)):
        pin.framesForwardKinematics(model, data, _pinocchio_q(pin, model, robot, q[b]))
        expected = np.stack([data.oMf[model.getFrameId(link, pin.FrameType.BODY)].homogeneous for link in links])
        np.testing.assert_allclose(T[b], expected, rtol=0, atol=1e-12)


@needs_rtb
def test_args_change_the_expansion():
    path = RTB / "xacro/trossen_descriptions/urdf/wx250s.urdf.xacro"
    default = load_xacro(path)
    named = load_xacro(path, args={"robot_name": "arm7"})
    assert default.root == "/base_link" and named.root == "arm7/base_link"  # robot_name defaults to ""
    assert default.joint_names == named.joint_names
    with pytest.raises(TypeError, match="args must be a mapping"):
        expand_xacro(path, args=["robot_name:=x"])


# --- package lookup and errors on small files written here ------------------------------------------

XMLNS = 'xmlns:xacro="http://www.ros.org/wiki/xacro"'
PART = f"""<robot {XMLNS}>
  <xacro:macro name="link_named" params="name"><link name="${{name}}"/></xacro:macro>
</robot>
"""


def _top(include, name="t"):
    return f"""<robot name="{name}" {XMLNS}>
  <xacro:include filename="{include}"/>
  <xacro:link_named name="a"/><xacro:link_named name="b"/>
  <joint name="j" type="revolute"><parent link="a"/><child link="b"/><axis xyz="0 0 1"/>
    <limit lower="-1" upper="1" velocity="3"/></joint>
</robot>
"""


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """tmp_path/ws/src/deep/mypkg_folder (package.xml names it 'mypkg'), tmp_path/ws/plain_pkg (no
    package.xml), an ignored copy, and top files including through $(find) and package://."""
    monkeypatch.delenv("ROS_PACKAGE_PATH", raising=False)
    package = tmp_path / "ws" / "src" / "deep" / "mypkg_folder"
    (package / "urdf").mkdir(parents=True)
    (package / "package.xml").write_text("<package format='2'><name> mypkg </name></package>")
    (package / "urdf" / "part.xacro").write_text(PART)
    ignored = tmp_path / "ws" / "src" / "aaa_ignored" / "mypkg"  # sorted first, but under CATKIN_IGNORE
    (ignored / "urdf").mkdir(parents=True)
    (ignored.parent / "CATKIN_IGNORE").write_text("")
    (ignored / "package.xml").write_text("<package><name>mypkg</name></package>")
    plain = tmp_path / "ws" / "plain_pkg" / "urdf"
    plain.mkdir(parents=True)
    (plain / "part.xacro").write_text(PART)
    (tmp_path / "find.xacro").write_text(_top("$(find mypkg)/urdf/part.xacro"))
    (tmp_path / "url.xacro").write_text(_top("package://mypkg/urdf/part.xacro"))
    (tmp_path / "plain.xacro").write_text(_top("$(find plain_pkg)/urdf/part.xacro"))
    return tmp_path


def test_find_and_package_url_through_package_paths(tree):
    folder = tree / "ws" / "src" / "deep" / "mypkg_folder"
    for top in ("find.xacro", "url.xacro"):
        arm = load_xacro_chain(tree / top, package_paths={"mypkg": folder})
        assert arm.joint_names == ["j"] and arm.joints[0].velocity == 3.0
        assert arm.planar  # one joint about z at height 0


def test_ros_package_path_follows_the_ros_convention(tree, monkeypatch):
    # a package is a folder with package.xml, named by its <name>, found at any depth; CATKIN_IGNORE
    # hides a tree; a folder named like the package directly in an entry counts too
    monkeypatch.setenv("ROS_PACKAGE_PATH", os.pathsep.join([str(tree / "nowhere"), str(tree / "ws" / "src"),
                                                           str(tree / "ws")]))
    assert find_package("mypkg") == str(tree / "ws" / "src" / "deep" / "mypkg_folder")
    assert find_package("plain_pkg") == str(tree / "ws" / "plain_pkg")
    assert load_xacro_chain(tree / "find.xacro").n == 1
    assert load_xacro_chain(tree / "plain.xacro").n == 1
    # package_paths come before ROS_PACKAGE_PATH, and an earlier entry before a later one
    assert find_package("mypkg", {"mypkg": tree / "ws"}) == str(tree / "ws")
    other = tree / "ws2" / "mypkg"
    other.mkdir(parents=True)
    monkeypatch.setenv("ROS_PACKAGE_PATH", os.pathsep.join([str(tree / "ws2"), str(tree / "ws" / "src")]))
    assert find_package("mypkg") == str(other)
    monkeypatch.setenv("ROS_PACKAGE_PATH", str(tree / "ws" / "src" / "aaa_ignored"))  # an ignored entry
    with pytest.raises(XacroError, match="package 'mypkg' not found"):
        find_package("mypkg")


@needs_rtb
def test_ros_package_path_on_rtb_data(monkeypatch):
    # rtbdata/xacro as a ROS_PACKAGE_PATH entry: qut_frankie_description is a folder of that name
    monkeypatch.setenv("ROS_PACKAGE_PATH", str(RTB / "xacro"))
    robot = load_xacro(RTB / "xacro/qut_frankie_description/robots/panda_arm_hand.urdf.xacro")
    assert robot.joint_names[:7] == [f"panda_joint{i}" for i in range(1, 8)]
    assert find_package("ridgeback_description") == str(RTB / "xacro" / "clearpath_ridgeback_description")


def test_unknown_package_names_it_the_asking_file_and_the_search(tree, monkeypatch):
    asker = tree / "ws" / "plain_pkg" / "urdf" / "asks.xacro"  # an included file asks
    asker.write_text(f'<robot {XMLNS}><xacro:include filename="$(find no_such_pkg)/x.xacro"/></robot>')
    (tree / "top.xacro").write_text(f'<robot {XMLNS}><xacro:include filename="{asker}"/></robot>')
    monkeypatch.setenv("ROS_PACKAGE_PATH", str(tree / "ws"))
    with pytest.raises(XacroError) as info:
        expand_xacro(tree / "top.xacro", package_paths={"mypkg": tree})
    message = str(info.value)
    assert "\n" not in message and info.value.package == "no_such_pkg" and info.value.source == str(asker)
    assert message.startswith(f"{asker}: package 'no_such_pkg' not found")
    assert "package_paths (mypkg)" in message and f"ROS_PACKAGE_PATH ({str(tree / 'ws')!r})" in message
    monkeypatch.delenv("ROS_PACKAGE_PATH")
    with pytest.raises(XacroError, match=r"package 'mypkg' not found: searched package_paths \(none given\) and "
                                         r"ROS_PACKAGE_PATH \(not set\)"):
        expand_xacro(tree / "url.xacro")  # a package:// include
    with pytest.raises(XacroError, match="not a package name"):
        find_package("../etc")
    with pytest.raises(FileNotFoundError, match=r"package_paths\['mypkg'\]"):
        expand_xacro(tree / "find.xacro", package_paths={"mypkg": tree / "missing"})


@pytest.mark.parametrize("body, expected", [
    ('<link name="${undefined_length}"/>', "name 'undefined_length' is not defined"),
    ('<link name="$(arg not_declared)"/>', "Undefined substitution argument not_declared"),
    ('<xacro:include filename="part.xacro"/><xacro:link_named nam="a"/>', "Invalid parameter \"nam\" (in macro "
                                                                           "'link_named')"),
    ('<xacro:include filename="missing.xacro"/>', "cannot read {dir}/missing.xacro: No such file or directory"),
    ('<link name="a">', "malformed XML: mismatched tag: line 3, column 2"),
])
def test_xacro_errors_are_one_line_naming_the_file(tmp_path, body, expected):
    (tmp_path / "part.xacro").write_text(PART)
    path = tmp_path / "bad.xacro"
    path.write_text(f"<robot {XMLNS}>\n{body}\n</robot>\n")
    with pytest.raises(XacroError) as info:
        expand_xacro(path)
    assert str(info.value).startswith(f"{path}: {expected.format(dir=tmp_path)}"), str(info.value)
    assert "\n" not in str(info.value) and isinstance(info.value, ValueError)


def test_syntax_error_in_an_included_file_names_that_file(tmp_path):
    (tmp_path / "broken.xacro").write_text(f"<robot {XMLNS}>\n  <link name='a'>\n</robot>\n")
    (tmp_path / "top.xacro").write_text(f'<robot {XMLNS}><xacro:include filename="broken.xacro"/></robot>')
    with pytest.raises(XacroError) as info:
        expand_xacro(tmp_path / "top.xacro")
    assert str(info.value) == (f"{tmp_path / 'broken.xacro'}: malformed XML: mismatched tag: line 3, column 2 "
                               f"(expanding {tmp_path / 'top.xacro'})")


def test_hooks_are_restored(tree):
    from xacro import substitution_args

    before = substitution_args._eval_find, xacro.abs_filename_spec
    expand_xacro(tree / "url.xacro", package_paths={"mypkg": tree / "ws" / "plain_pkg"})
    assert (substitution_args._eval_find, xacro.abs_filename_spec) == before
    with pytest.raises(XacroError):
        expand_xacro(tree / "find.xacro")
    assert (substitution_args._eval_find, xacro.abs_filename_spec) == before
    # outside expand_xacro, xacro's $(find) is what it was (ROS 2's ament index, or what another
    # library put there: roboticstoolbox imports xacrodoc, which replaces _eval_find for good), and
    # it does not see package_paths
    with pytest.raises(xacro.XacroException, match="mypkg|ament_index_python"):
        xacro.process_file(str(tree / "find.xacro"))


def test_urdf_errors_name_the_xacro_file(tmp_path):
    path = tmp_path / "arm.urdf.xacro"
    path.write_text(f"""<robot name="r" {XMLNS}>
  <xacro:property name="lo" value="1"/>
  <link name="a"/><link name="b"/>
  <joint name="j" type="revolute"><parent link="a"/><child link="b"/><limit lower="${{lo}}" upper="-1"/></joint>
</robot>""")
    for load in (load_xacro, load_xacro_chain):
        with pytest.raises(URDFError, match=rf"^{path} \(expanded by xacro\), line \d+, <limit> in <joint name='j'>: "
                                            "joint 'j': limit lower=1.0 is above upper=-1.0"):
            load(path)


def test_zero_range_through_xacro(tmp_path):
    path = tmp_path / "wheel.xacro"
    path.write_text(f"""<robot name="r" {XMLNS}><link name="a"/><link name="b"/>
  <joint name="wheel" type="revolute"><parent link="a"/><child link="b"/><limit effort="1" velocity="0"/></joint>
</robot>""")
    with pytest.warns(robots.URDFWarning, match=rf"^{path} \(expanded by xacro\): 1 joint locked") as record:
        robot = load_xacro(path)
    assert len(record) == 1 and record[0].filename == __file__  # points at this line, not into robots/
    assert (robot.lower[0], robot.upper[0]) == (0.0, 0.0) and robot.joints[0].velocity is None
    assert load_xacro_chain(path, zero_range="continuous").joints[0].continuous


def test_missing_xacro_names_the_extra(tmp_path):
    # a real run without the package: a None in sys.modules makes `import xacro` raise ImportError
    (tmp_path / "a.xacro").write_text("<robot/>")
    code = ("import sys; sys.modules['xacro'] = None\n"
            "import robots\n"  # importing robots needs no xacro
            f"robots.expand_xacro({str(tmp_path / 'a.xacro')!r})\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == ("ImportError: robots.expand_xacro needs the xacro package, which "
                                                    "is not installed: pip install 'armgrad[xacro]'")


def test_module_example_runs():
    import doctest

    import robots.xacro as module

    failures, tried = doctest.testmod(module, verbose=False)
    assert tried > 0 and failures == 0
