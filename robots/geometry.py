"""Collision shapes of a robot's links, from its description: spheres and capsules that ENCLOSE
what the file describes (`collision_model`).

An IK answer free of these shapes' collisions is then free of the described shapes' collisions:
every conversion below encloses, never approximates from inside.

- URDF `<link><collision>`: `<origin>` (as for joints) and one `<geometry>`:
  - `<sphere radius>`: that sphere;
  - `<cylinder radius length>` (axis z): the smaller (by volume) of the capsule of radius r on
    the axis segment ±length/2 and the sphere of radius √(r² + (length/2)²);
  - `<box size>` (full side lengths): the smaller of the capsule along the longest side, radius
    the half-diagonal of the other two, and the circumscribed sphere;
  - `<mesh filename scale>`: `enclosing_capsule` of its vertices (read with `trimesh`, the
    optional extra `pip install 'armgrad[collision]'`). `package://pkg/rest` resolves through
    `package_paths` ({pkg: folder}), `file://` and absolute paths as they are, relative ones
    beside the URDF file.
- MJCF geoms that collide (`contype` or `conaffinity` nonzero, `robots.mjcf.Geom.collides`):
  sphere; capsule (radius, half-length or `fromto`) as it is; cylinder and box as above (MJCF
  sizes are half-lengths); ellipsoid radii a ≥ b ≥ c: the capsule along a of radius b on ±(a − b)
  (it encloses: the squared distance to the segment end is convex in x on [a − b, a] and ≤ b² at
  both ends). Planes and height fields are not link geometry (skipped). Mesh geoms (`type="mesh"`):
  `enclosing_capsule` of their vertices in the body frame, geom pose · (scale ⊙ vertices) (with the
  asset's legacy refpos/refquat: `robots.mjcf.MeshAsset.place`), the vertices from the asset's
  file (trimesh; found as MuJoCo finds it, `<compiler meshdir>` and all) or its `vertex` list.
  MuJoCo re-centres a mesh on its inertial frame but moves the geom to match, so the file's
  vertices under the file's geom pose are where MuJoCo collides them (checked with mj_kinematics).
  A primitive geom that names a mesh is sized by MuJoCo's fit to that mesh, which is not
  reproduced here: it is skipped with the warning below, as are builtin (procedural) meshes.

A mesh that cannot be read (the file is missing, its package is unknown, trimesh is not
installed) leaves its link without that shape: one `GeometryWarning` per call names every such
link and why, so nothing is dropped silently.

Shapes are `kinematics.collision.Sphere` and `Capsule` with coordinates in their LINK's frame
(the link frames of `robots.load_robot` for the same file).

Glossary: p points (N, 3); u the capsule's unit axis; t, ρ a point's axial and radial coordinates.
"""

from __future__ import annotations

import functools
import math
import os
import warnings

import numpy as np

from kinematics.collision import Capsule, Sphere
from kinematics.transforms import rot_z

__all__ = ["collision_model", "chain_geometry", "builtin_model", "enclosing_capsule", "cylinder_shape", "box_shape",
           "GeometryWarning"]

INSTALL_HINT = "pip install 'armgrad[collision]'"


class GeometryWarning(UserWarning):
    """Link geometry that could not be read (a mesh file or package missing, trimesh absent)."""


# -- enclosing shapes ---------------------------------------------------------------------------

def enclosing_capsule(points, radius_steps: int = 64):
    """A capsule that contains every point, small by volume: (a (3,), b (3,), radius).

    The axis is the points' principal direction; across it the capsule is centred on the
    middle of the points' extent. For a radius r >= ρ_max (the largest distance from the axis),
    a point at axial coordinate t and radius ρ lies inside the capsule on [t_a, t_b] exactly when
    t_a <= t + √(r² − ρ²) and t_b >= t − √(r² − ρ²), so t_a = min(t + √(r² − ρ²)) and
    t_b = max(t − √(r² − ρ²)) are the tightest ends (swapped when they cross: a longer segment
    only encloses more). r is chosen among `radius_steps` values from ρ_max to ρ_max + the
    points' half-length, by the capsule's volume π r² L + 4/3 π r³.

    Args:
        points: (N, 3), N >= 1, finite.

    Returns:
        (a, b, radius): the segment's ends (3,) and the radius, such that every point is within
        radius of the segment (to rounding: the radius carries a 1e-12 relative margin).
    """
    p = np.asarray(points, dtype=float).reshape(-1, 3)
    if len(p) == 0 or not np.all(np.isfinite(p)):
        raise ValueError(f"enclosing_capsule: expected (N, 3) finite points with N >= 1, got shape {p.shape}")
    mean = p.mean(axis=0)
    _, _, vt = np.linalg.svd(p - mean, full_matrices=False)
    u = vt[0]
    e1 = vt[1] if len(vt) > 1 else _perpendicular(u)
    e2 = np.cross(u, e1)
    local = (p - mean) @ np.stack([u, e1, e2], axis=1)  # (N, 3): t, then two radial coordinates
    middle = 0.5 * (local[:, 1:].min(axis=0) + local[:, 1:].max(axis=0))
    center = mean + middle[0] * e1 + middle[1] * e2
    t = local[:, 0]
    rho = np.hypot(local[:, 1] - middle[0], local[:, 2] - middle[1])
    rho_max, half_length = float(rho.max()), 0.5 * float(t.max() - t.min())
    best = None
    for r in np.linspace(rho_max, rho_max + half_length, radius_steps) if half_length > 0 else [rho_max]:
        reach = np.sqrt(np.maximum(r * r - rho * rho, 0.0))
        ta, tb = float(np.min(t + reach)), float(np.max(t - reach))
        ta, tb = min(ta, tb), max(ta, tb)
        volume = math.pi * r * r * (tb - ta) + 4.0 / 3.0 * math.pi * r ** 3
        if best is None or volume < best[0]:
            best = (volume, ta, tb, r)
    _, ta, tb, r = best
    r = r * (1.0 + 1e-12) + 1e-15 * (1.0 + float(np.abs(p).max()))  # rounding in the checks above
    return center + ta * u, center + tb * u, r


def _perpendicular(u):
    """A unit vector perpendicular to the unit vector u."""
    v = np.cross(u, [1.0, 0.0, 0.0] if abs(u[0]) < 0.9 else [0.0, 1.0, 0.0])
    return v / np.linalg.norm(v)


def _capsule_along(T, k: int, half: float, radius: float) -> Capsule:
    """The capsule on pose T's k-th axis through its origin, from −half to +half."""
    axis = T[:3, k] * half
    return Capsule(T[:3, 3] - axis, T[:3, 3] + axis, float(radius))


def _capsule_volume(radius, length):
    return math.pi * radius * radius * length + 4.0 / 3.0 * math.pi * radius ** 3


def cylinder_shape(pose, radius: float, half_length: float):
    """The smaller enclosing shape of a cylinder along `pose`'s z axis: a capsule on the axis with
    the cylinder's radius, or the circumscribed sphere (kinematics.collision shapes, pose's frame)."""
    T = np.asarray(pose, dtype=float)
    sphere = math.hypot(radius, half_length)
    if 4.0 / 3.0 * math.pi * sphere ** 3 <= _capsule_volume(radius, 2.0 * half_length):
        return Sphere(T[:3, 3], sphere)
    return _capsule_along(T, 2, half_length, radius)


def box_shape(pose, half):
    """The smaller enclosing shape of a box (half side lengths `half` (3,), frame `pose`): the
    capsule along its longest side with the half-diagonal of the other two as radius, or the
    circumscribed sphere."""
    T, half = np.asarray(pose, dtype=float), np.asarray(half, dtype=float)
    k = int(np.argmax(half))
    others = np.delete(half, k)
    radius, sphere = float(np.hypot(*others)), float(np.linalg.norm(half))
    if 4.0 / 3.0 * math.pi * sphere ** 3 <= _capsule_volume(radius, 2.0 * half[k]):
        return Sphere(T[:3, 3], sphere)
    return _capsule_along(T, k, half[k], radius)


def _ellipsoid_shape(pose, radii):
    """Capsule along the largest radius a, of the middle radius b, on ±(a − b) (module docstring)."""
    T, radii = np.asarray(pose, dtype=float), np.asarray(radii, dtype=float)
    order = np.argsort(radii)[::-1]
    a, b = radii[order[0]], radii[order[1]]
    return _capsule_along(T, order[0], a - b, b)


# -- descriptions ---------------------------------------------------------------------------------

def collision_model(path_or_xml, package_paths=None, args=None) -> dict:
    """The collision shapes of every link a description gives some: {link: (Sphere | Capsule, ...)}.

    Args:
        path_or_xml: a built-in arm's name (its stored model, `builtin_model`), a .urdf, .xacro
            or .xml (URDF or MJCF, by its root element) file, or URDF or MJCF text.
        package_paths: {package: folder} for URDF `package://package/...` mesh files (and a
            xacro file's `$(find package)`).
        args: xacro only: {name: value}, the file's xacro arguments (as `robots.load_robot`).

    Returns:
        {link name: tuple of kinematics.collision shapes in that link's frame}, links in the
        file's order; links without collision geometry are absent.

    Warns:
        GeometryWarning: meshes that could not be read, naming each link and why (one warning).

    Raises:
        URDFError, MJCFError: the description itself is malformed (as the loaders).
        ValueError: an unknown kind of file, a bad `<geometry>` (naming file, link and line).
    """
    from .catalog import available
    from .robot import description_kind, root_tag

    if isinstance(path_or_xml, str) and path_or_xml in available():
        return builtin_model(path_or_xml)
    text = isinstance(path_or_xml, str) and path_or_xml.lstrip().startswith("<") and not os.path.isfile(path_or_xml)
    kind = ("mjcf" if root_tag(path_or_xml) == "mujoco" else "urdf") if text else description_kind(path_or_xml)
    if args and kind != "xacro":
        raise ValueError(f"collision_model: args apply to .xacro files only, not to a {kind} description")
    skipped = []
    if kind == "xacro":  # expanded as robots.load_robot does; relative meshes sit beside the .xacro file
        from .xacro import expand_xacro

        folder = os.path.dirname(os.path.abspath(os.fspath(path_or_xml)))
        model = _urdf_model(expand_xacro(path_or_xml, args, package_paths), package_paths or {}, skipped,
                            folder)
    elif kind == "urdf":
        model = _urdf_model(path_or_xml, package_paths or {}, skipped)
    elif kind == "mjcf":
        model = _mjcf_model(path_or_xml, skipped)
    else:
        raise ValueError(f"collision_model: {kind} descriptions carry no collision geometry; give a URDF, xacro or "
                         "MJCF file")
    if skipped:
        warnings.warn(f"{'<string>' if text else os.fspath(path_or_xml)}: {len(skipped)} collision shape"
                      f"{'s' if len(skipped) > 1 else ''} not read, so those links lack them: "
                      + "; ".join(skipped[:8]) + (f"; ... ({len(skipped) - 8} more)" if len(skipped) > 8 else ""),
                      GeometryWarning, stacklevel=2)
    return model


def _urdf_model(path_or_xml, package_paths, skipped, folder=None) -> dict:
    """{link: shapes} of a URDF; relative mesh names are looked up in `folder` (default: the file's)."""
    from .urdf import _parse, origin_pose

    reader, robot, _, links, _, _, _ = _parse(path_or_xml)
    if folder is None:
        folder = os.path.dirname(os.path.abspath(reader.source)) if reader.source != "<string>" else os.getcwd()
    model = {}
    for link, element in links.items():
        shapes = []
        for collision in (c for c in element.children if c.tag == "collision"):
            T = origin_pose(reader, collision.find("origin"), f"link {link!r}")
            geometry = collision.find("geometry")
            shape = None if geometry is None or not geometry.children else geometry.children[0]
            if shape is None:
                raise reader.error(collision, f"link {link!r}: <collision> needs a <geometry> with one shape")
            if shape.tag == "sphere":
                shapes.append(Sphere(T[:3, 3], _positive(reader, shape, "radius")))
            elif shape.tag == "cylinder":
                shapes.append(cylinder_shape(T, _positive(reader, shape, "radius"),
                                             0.5 * _positive(reader, shape, "length")))
            elif shape.tag == "box":
                size = reader.numbers(shape, "size", 3, None) if "size" in shape.attrs else None
                if size is None or np.any(size <= 0):
                    raise reader.error(shape, f"link {link!r}: <box> needs size with three positive lengths")
                shapes.append(box_shape(T, 0.5 * size))
            elif shape.tag == "mesh":
                points = _mesh_points(reader, shape, folder, package_paths, link, skipped)
                if points is not None:
                    a, b, r = enclosing_capsule(points @ T[:3, :3].T + T[:3, 3])
                    shapes.append(Capsule(a, b, r))
            else:
                raise reader.error(shape, f"link {link!r}: unknown collision geometry <{shape.tag}>; "
                                          "expected sphere, cylinder, box or mesh")
        if shapes:
            model[link] = tuple(shapes)
    return model


def _positive(reader, element, key) -> float:
    value = float(reader.numbers(element, key, 1, [math.nan])[0]) if key in element.attrs else math.nan
    if not value > 0:
        raise reader.error(element, f"<{element.tag}> needs a positive {key}")
    return value


def mesh_path(filename: str, folder, package_paths: dict, link: str, skipped: list, line: int):
    """A URDF mesh file's path, or None with the reason appended to `skipped`.

    `package://pkg/rest` resolves through package_paths, `file://path` and absolute paths are as
    they are, and relative ones lie in `folder` (the description's).
    """
    if filename.startswith("package://"):
        package, _, rest = filename[len("package://"):].partition("/")
        if package not in package_paths:
            skipped.append(f"{link}: package {package!r} of {filename} is not in package_paths (line {line})")
            return None
        path = os.path.join(package_paths[package], rest)
    elif filename.startswith("file://"):
        path = filename[len("file://"):]
    else:
        path = filename if os.path.isabs(filename) else os.path.join(folder, filename)
    if not os.path.isfile(path):
        skipped.append(f"{link}: mesh file {path} not found (line {line})")
        return None
    return path


def _mesh_points(reader, element, folder, package_paths, link, skipped):
    """(N, 3) scaled vertices of a URDF mesh in its collision frame, or None (recorded in `skipped`)."""
    scale = reader.numbers(element, "scale", 3, [1.0, 1.0, 1.0])
    path = mesh_path(reader.attr(element, "filename"), folder, package_paths, link, skipped, element.line)
    points = None if path is None else _mesh_vertices(path, link, skipped)
    return None if points is None else points * scale


def _mesh_vertices(path, link, skipped):
    """(N, 3) the vertices of the mesh file `path` (which exists) as the file gives them, read with
    trimesh, or None (the reason recorded in `skipped`, naming `link`)."""
    try:
        import trimesh
    except ImportError:
        skipped.append(f"{link}: reading meshes needs trimesh ({INSTALL_HINT})")
        return None
    try:
        mesh = trimesh.load(path, force="mesh")
        points = np.asarray(mesh.vertices, dtype=float)
    except Exception as err:  # trimesh raises many kinds for unreadable files; the link is named, not hidden
        skipped.append(f"{link}: cannot read mesh {path}: {type(err).__name__}: {err}")
        return None
    if points.size == 0:
        skipped.append(f"{link}: mesh {path} has no vertices")
        return None
    return points


def _mjcf_model(path_or_xml, skipped) -> dict:
    from .mjcf import read_mjcf

    mjcf = read_mjcf(path_or_xml)
    model = {}
    for geom in mjcf.geoms:
        if not geom.collides or geom.type in ("plane", "hfield", "sdf"):
            continue
        size = np.array(geom.size, dtype=float)
        if geom.mesh is not None:
            if geom.type != "mesh":  # MuJoCo fits the primitive to the mesh (its inertia box): not enclosed
                skipped.append(f"{geom.link}: {geom.type} geom {_label(geom)} is sized by fitting it to mesh "
                               f"{geom.mesh!r} (not read; give its size, or type=\"mesh\")")
                continue
            points = _mjcf_mesh_points(mjcf.meshes[geom.mesh], geom, skipped)
            if points is not None:  # body frame = geom.pose · (the asset's placed vertices)
                a, b, r = enclosing_capsule(points @ geom.pose[:3, :3].T + geom.pose[:3, 3])
                model.setdefault(geom.link, []).append(Capsule(a, b, r))
            continue
        half = None if geom.fromto is None else 0.5 * float(np.linalg.norm(np.subtract(geom.fromto[3:],
                                                                                        geom.fromto[:3])))
        if geom.type == "sphere":
            shape = Sphere(geom.pose[:3, 3], float(size[0]))
        elif geom.type == "capsule":
            h = half if half is not None else float(size[1])
            shape = _capsule_along(geom.pose, 2, h, size[0])
        elif geom.type == "cylinder":
            shape = cylinder_shape(geom.pose, float(size[0]), half if half is not None else float(size[1]))
        elif geom.type == "box":  # with fromto: size holds the two half-widths, fromto the length
            shape = box_shape(geom.pose, size if half is None else [size[0], size[1], half])
        else:  # ellipsoid
            shape = _ellipsoid_shape(geom.pose, size if half is None else [size[0], size[1], half])
        model.setdefault(geom.link, []).append(shape)
    return {link: tuple(shapes) for link, shapes in model.items()}


def _label(geom) -> str:
    return repr(geom.name) if geom.name else f"(unnamed, mesh {geom.mesh!r})"


def _mjcf_mesh_points(asset, geom, skipped):
    """(N, 3) a mesh geom's vertices in its geom frame (`MeshAsset.place`), or None (recorded in
    `skipped`): from the asset's `vertex` list or its file (read with trimesh)."""
    link, where = geom.link, f"mesh {asset.name!r}, {os.path.basename(asset.source)} line {asset.line}"
    if asset.builtin is not None:
        skipped.append(f"{link}: mesh {asset.name!r} is MuJoCo's builtin {asset.builtin!r} (builtin meshes are "
                       "not read)")
        return None
    if asset.vertices is not None and asset.file is not None:
        skipped.append(f"{link}: mesh {asset.name!r} gives both a file and a vertex list ({where}; MuJoCo "
                       "refuses that)")
        return None
    if asset.file is None:
        points = asset.vertices
        if points is None:
            skipped.append(f"{link}: mesh {asset.name!r} gives neither a file nor a vertex list ({where})")
            return None
    else:
        if not os.path.isfile(asset.file):  # name every place MuJoCo would look
            skipped.append(f"{link}: mesh file {' or '.join(asset.tried)} not found ({where})")
            return None
        points = _mesh_vertices(asset.file, link, skipped)
        if points is None:
            return None
    return asset.place(points)


# -- a description's model on a chain -------------------------------------------------------------

def chain_geometry(tree, chain, model, base=None, *, base_pose=None, samples: int = 5) -> dict:
    """A collision model on a tree's frames, re-expressed on the frames of a chain cut out of it.

    `model`'s keys are frames of `tree` (its links, as `collision_model` gives them for the file
    `tree` was loaded from); the answer's keys are frames of `kinematics.Robot.from_chain(chain)`
    ("base", one frame per joint of the chain named after it, "tool"), as `kinematics.Avoid` and
    `AvoidSelf` take them.

    A frame rides on the rigid body it is fixed to (walking up through fixed joints to the first
    movable joint, or the root): the body of a movable joint of the chain is that joint's frame,
    the body that holds `base` is "base". Everything else is left out (one `GeometryWarning` names
    the frames with shapes that were): bodies moved by joints the chain does not have (a
    gripper's fingers, another arm) and bodies above `base` that move against it. A fixed child
    off the path (a camera on the wrist, a hand beyond the end frame) rides along.

    The constant transform C from a tree frame to its chain frame is measured by FK of both at
    `samples` random q (the chain's limits clipped to ±3; other tree joints at 0) and must be
    constant to 1e-9 (a URDF's rounded numbers drift by 1.5e-11 against a DH model, which the
    radii absorb: each grows by 3 · drift · (1 + |x|max + r), so the shapes still enclose), so a
    chain that is not cut from `tree` fails instead of giving misplaced shapes.

    Args:
        tree: a kinematics.Robot.
        chain: a kinematics.Chain whose joints are joints of `tree` by name: `tree.chain(frame,
            base)`, or a model of the same arm whose base frame is `base_pose` in `base`'s frame.
        model: {frame of tree: Sphere | Capsule | sequence of them}, coordinates in that frame.
        base: the tree link the chain starts at (None: the root).
        base_pose: (4, 4) the chain's base frame in `base`'s frame (None: the identity, as for
            `tree.chain`).
        samples: configurations for the measurement, >= 2.

    Returns:
        {chain frame: tuple of Sphere | Capsule}, frames in the order their first shape comes in `model`.

    Warns:
        GeometryWarning: frames with shapes that the chain does not carry (named, with why).

    Raises:
        ValueError: a model key or chain joint the tree lacks, a frame whose offset to its chain
            frame is not constant (the chain is not cut from this tree at `base`).
    """
    model = {frame: (shapes,) if isinstance(shapes, Sphere | Capsule) else tuple(shapes)
             for frame, shapes in model.items()}
    carried = chain_frames(tree, chain, [f for f, shapes in model.items() if shapes], base, base_pose=base_pose,
                           samples=samples, what="collision shapes")
    mapped = {}
    for frame, (carrier, C, drift) in carried.items():
        mapped.setdefault(carrier, []).extend(_moved(shape, C, drift) for shape in model[frame])
    return {frame: tuple(shapes) for frame, shapes in mapped.items()}


def chain_frames(tree, chain, frames, base=None, *, base_pose=None, samples: int = 5, what: str = "shapes") -> dict:
    """Where frames of a tree ride on a chain cut out of it: {frame: (chain frame, C (4, 4), drift)}.

    The rules, the measurement of the constant transform C (the tree frame in its chain frame) and
    the errors are `chain_geometry`'s; drift is C's largest change over the sampled q (<= 1e-9).
    Frames the chain does not carry are left out, named in one `GeometryWarning` (saying that their
    `what` are dropped).
    """
    import kinematics as kin

    chain_tree = kin.Robot.from_chain(chain)
    on_path = {joint.name for joint in chain.joints}  # masters off the path move nothing here
    missing = [j for j in chain_tree.joint_names if j not in tree.index]
    if missing:
        raise ValueError(f"chain_geometry: joint(s) {', '.join(map(repr, missing))} of chain {chain.name!r} are not "
                         f"free joints of robot {tree.name!r}")
    base = tree.root if base is None else base
    if base not in tree.links:
        raise ValueError(f"chain_geometry: base {base!r} is not a link of robot {tree.name!r}")
    home = _body(tree, base)
    carriers, left_out = {}, []
    for frame in frames:
        if frame not in tree.frames:
            raise ValueError(f"chain_geometry: the model names {frame!r}, which is not a frame of robot {tree.name!r}")
        body = _body(tree, frame)
        joint = None if body == tree.root else tree.parent_joint[body].name
        carrier = "base" if body == home else joint if joint in on_path else None
        if carrier is None:
            left_out.append(f"{frame} (fixed to the root, which moves against the chain's base)" if joint is None
                            else f"{frame} (moved by joint {joint!r}, which the chain does not have)")
            continue
        carriers[frame] = carrier
    if left_out:
        warnings.warn(f"robot {tree.name!r}: {len(left_out)} link(s) with {what} are not carried by the "
                      f"chain from {base!r} and are left out: " + "; ".join(left_out), GeometryWarning, stacklevel=3)
    if not carriers:
        return {}
    rng = np.random.default_rng(0)
    q = rng.uniform(np.maximum(chain_tree.lower, -3), np.minimum(chain_tree.upper, 3), (samples, chain_tree.n))
    q_tree = np.zeros((samples, tree.n))
    q_tree[:, [tree.index[j] for j in chain_tree.joint_names]] = q
    frames = list(carriers)
    A = kin.frame_poses(tree, q_tree, frames)  # (S, K, 4, 4) in the tree's root frame
    if base != tree.root:
        A = np.linalg.inv(kin.frame_poses(tree, q_tree, [base]))[:, :1] @ A  # in base's frame
    B = kin.frame_poses(chain_tree, q, [carriers[f] for f in frames])
    if base_pose is not None:
        B = np.asarray(base_pose, dtype=float) @ B
    C = np.linalg.inv(B) @ A  # each tree frame in its chain frame: constant on one body
    out = {}
    for k, frame in enumerate(frames):
        drift = float(np.abs(C[:, k] - C[0, k]).max())
        if drift > 1e-9:
            raise ValueError(f"chain_geometry: frame {frame!r} of robot {tree.name!r} does not ride on chain frame "
                             f"{carriers[frame]!r} (its offset changes by {drift:.2g} over random q): the chain is "
                             f"not cut from this robot at {base!r}")
        out[frame] = (carriers[frame], C[0, k], drift)
    return out


def _body(tree, frame) -> str:
    """The top link of the rigid body holding `frame`: up through fixed joints to a movable joint's child, or the
    root."""
    link = tree.offsets[frame][0] if frame in tree.offsets else frame
    while link != tree.root and tree.parent_joint[link].motion is None:
        link = tree.parent_joint[link].parent
    return link


def _moved(shape, C, drift):
    """`shape` in the frame that holds its frame at C (4, 4); the radius grows with the drift (`chain_geometry`)."""
    ends = [shape.center] if isinstance(shape, Sphere) else [shape.a, shape.b]
    ends = [C[:3, :3] @ p + C[:3, 3] for p in ends]
    # the drift moves a point by at most drift · (1 + |x|): the radius takes it, so the shape still encloses
    radius = float(shape.radius) + 3 * drift * (1.0 + max(np.abs(p).max() for p in ends) + shape.radius)
    return Sphere(ends[0], radius) if isinstance(shape, Sphere) else Capsule(ends[0], ends[1], radius)


# -- built-in arms ------------------------------------------------------------------------------

_UR_LINKS = ["base_link", "shoulder_link", "upper_arm_link", "forearm_link", "wrist_1_link", "wrist_2_link",
             "wrist_3_link"]
BUILTIN_SOURCES = {
    # built-in name: (URDF under example-robot-data's robots/ folder, URDF links whose geometry to keep,
    #                 rotation about z taking the built-in's base frame to the URDF's root frame)
    "panda": ("panda_description/urdf/panda.urdf", [f"panda_link{k}" for k in range(8)], 0.0),
    "panda_hand": ("panda_description/urdf/panda.urdf", [f"panda_link{k}" for k in range(8)] + ["panda_hand"], 0.0),
    # ur_description's base_link is UR's DH base turned by π about z (its tool0 = Rz(π) · DH flange)
    "ur5": ("ur_description/urdf/ur5_robot.urdf", _UR_LINKS, math.pi),
}
"""Where the built-in models come from: example-robot-data's collision meshes, fitted by
`enclosing_capsule` (`write_builtin_models` refits them into robots/data/collision.json).
The Panda's fingers move with their own joint, which the built-in chains do not have: they are not
in the model (the hand's capsule encloses the hand, not the open fingers)."""

_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "collision.json")


@functools.lru_cache(maxsize=1)
def _stored() -> dict:
    import json

    with open(_DATA, encoding="utf-8") as f:
        return json.load(f)


def builtin_names() -> tuple:
    """The built-in arms that have a stored collision model."""
    return tuple(_stored())


def builtin_model(name: str) -> dict:
    """The stored collision model of a built-in arm: {frame of `Robot.from_chain(robots.get(name))`:
    (Capsule, ...)}, shapes in those frames (`BUILTIN_SOURCES` says where they come from).

    Raises:
        ValueError: an arm without a stored model (the message lists those with one).
    """
    stored = _stored()
    if name not in stored:
        raise ValueError(f"no built-in collision model for {name!r}; built-in models: {', '.join(stored)} "
                         "(for other arms: robots.collision_model(their URDF or MJCF file))")
    return {frame: tuple(Capsule(a, b, r) for a, b, r in shapes) for frame, shapes in stored[name].items()}


def fit_builtin(name: str, data_folder) -> dict:
    """Fit `name`'s model anew from example-robot-data's meshes (`BUILTIN_SOURCES`), in the frames of
    the built-in chain's tree: {frame: [(a, b, radius), ...]} as lists (JSON-ready).

    The URDF's links are mapped onto the built-in chain by `chain_geometry` (the built-in's base
    turned by `BUILTIN_SOURCES`' angle about z into the URDF's root), so a mismatched model fails.
    """
    from .catalog import get
    from .urdf import load_robot_urdf

    relative, keep, turn = BUILTIN_SOURCES[name]
    path = os.path.join(os.fspath(data_folder), relative)
    model = collision_model(path, package_paths={"example-robot-data": os.path.dirname(os.fspath(data_folder))})
    kept = {link: model[link] for link in keep if link in model}
    mapped = chain_geometry(load_robot_urdf(path), get(name), kept, base_pose=rot_z(turn))
    return {frame: [[s.a.tolist(), s.b.tolist(), float(s.radius)] for s in shapes] for frame, shapes in mapped.items()}


def write_builtin_models(data_folder=None) -> str:
    """Refit every built-in model (`fit_builtin`) into robots/data/collision.json; returns a summary.

    Run after a change to the fitting or to `BUILTIN_SOURCES`:
    `python -c "import robots.geometry as g; print(g.write_builtin_models())"`.
    """
    import json

    from .robot import example_robot_data

    folder = data_folder or example_robot_data()
    if folder is None:
        raise FileNotFoundError("robots.geometry: example-robot-data is not installed (pip install example-robot-data)")
    models = {name: fit_builtin(name, folder) for name in BUILTIN_SOURCES}
    with open(_DATA, "w", encoding="utf-8") as f:
        json.dump(models, f, indent=1)
        f.write("\n")
    _stored.cache_clear()
    return f"wrote {_DATA}: " + ", ".join(f"{n} ({sum(map(len, m.values()))} capsules)" for n, m in models.items())
