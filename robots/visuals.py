"""The visual shapes of a URDF's links (or an MJCF's bodies) as triangle meshes, for views (`visual_meshes`).

`<link><visual>`: `<origin>` (as for joints) and one `<geometry>`: `<mesh filename scale>` (read by
trimesh, the optional extra `pip install 'armgrad[collision]'`; `package://pkg/rest` through
`package_paths`, `file://` and absolute paths as they are, relative ones beside the file), `<box
size>`, `<cylinder radius length>` and `<sphere radius>` (built by trimesh too). What cannot be
read (no trimesh, a missing file or package, an unreadable mesh) is left out, with one
`GeometryWarning` naming every such link and why: a view then draws the link as a capsule.
MJCF: the mesh geoms that are visual (contype = conaffinity = 0; all mesh geoms when none is),
placed as MuJoCo places them (`_mjcf_meshes`).

Kinematics never need these: `armgrad teach` draws them on the frames of the chain it solves
(`robots.geometry.chain_frames` places each link).
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from .geometry import INSTALL_HINT, GeometryWarning, mesh_path

__all__ = ["visual_meshes"]


def visual_meshes(path_or_xml, package_paths=None, args=None) -> dict:
    """{link: [(vertices (N, 3) in the link's frame, faces (M, 3) int), ...]} of a URDF, xacro or MJCF file.

    Args:
        path_or_xml: a .urdf, .xacro or .xml (URDF or MJCF) file, or URDF or MJCF text.
        package_paths: {package: folder} for `package://` mesh files (and xacro's $(find ...)).
        args: xacro only: {name: value}.

    Warns:
        GeometryWarning: visuals that could not be read, naming each link and why (one warning).
    """
    from .robot import description_kind, root_tag

    text = isinstance(path_or_xml, str) and path_or_xml.lstrip().startswith("<") and not os.path.isfile(path_or_xml)
    kind = ("mjcf" if root_tag(path_or_xml) == "mujoco" else "urdf") if text else description_kind(path_or_xml)
    folder = os.getcwd() if text else os.path.dirname(os.path.abspath(os.fspath(path_or_xml)))
    if kind == "xacro":
        from .xacro import expand_xacro

        path_or_xml = expand_xacro(path_or_xml, args, package_paths)
    elif kind not in ("urdf", "mjcf"):
        raise ValueError(f"visual_meshes: reads URDF, xacro and MJCF files, not a {kind} description")
    try:
        import trimesh
    except ImportError:
        warnings.warn(f"visual meshes are not read without trimesh ({INSTALL_HINT}); links are drawn as capsules",
                      GeometryWarning, stacklevel=2)
        return {}
    meshes, skipped = {}, []
    if kind == "mjcf":
        _mjcf_meshes(trimesh, path_or_xml, meshes, skipped)
    else:
        _urdf_meshes(trimesh, path_or_xml, folder, package_paths, meshes, skipped)
    if skipped:
        warnings.warn(f"{len(skipped)} visual shape{'s' if len(skipped) > 1 else ''} not read (drawn as capsules): "
                      + "; ".join(skipped[:8]) + (f"; ... ({len(skipped) - 8} more)" if len(skipped) > 8 else ""),
                      GeometryWarning, stacklevel=2)
    return meshes


def _urdf_meshes(trimesh, path_or_xml, folder, package_paths, meshes, skipped):
    """Adds a URDF's `<visual>` meshes to `meshes` {link: [(V, F)]} (what cannot be read, to `skipped`)."""
    from .urdf import _parse, origin_pose

    reader, _, _, links, _, _, _ = _parse(path_or_xml)
    for link, element in links.items():
        for visual in (c for c in element.children if c.tag == "visual"):
            geometry = visual.find("geometry")
            shape = None if geometry is None or not geometry.children else geometry.children[0]
            if shape is None:
                continue  # a visual without geometry shows nothing: nothing to draw
            mesh = _mesh(trimesh, reader, shape, folder, package_paths or {}, link, skipped)
            if mesh is None:
                continue
            T = origin_pose(reader, visual.find("origin"), f"link {link!r}")
            V = np.asarray(mesh.vertices, dtype=float) @ T[:3, :3].T + T[:3, 3]
            meshes.setdefault(link, []).append((V, np.asarray(mesh.faces, dtype=np.int64)))


def _mjcf_meshes(trimesh, path_or_xml, meshes, skipped):
    """Adds an MJCF's mesh geoms to `meshes` {body: [(V, F)]}: its visual ones (contype = conaffinity = 0),
    or every mesh geom when it has no visual ones.

    A geom's vertices in its body are geom.pose · `MeshAsset.place(file vertices)` (MuJoCo's
    re-centring moves the geom by the same offset); a mesh given by a `vertex` list is drawn as its
    convex hull, as MuJoCo uses it.
    """
    from .mjcf import read_mjcf

    mjcf = read_mjcf(path_or_xml)
    geoms = [g for g in mjcf.geoms if g.type == "mesh" and g.mesh is not None and g.link != "world"]
    visual = [g for g in geoms if not g.collides]
    for geom in visual or geoms:
        asset = mjcf.meshes[geom.mesh]
        if asset.vertices is not None:
            mesh = trimesh.convex.convex_hull(asset.vertices)
        elif asset.file is None or not os.path.isfile(asset.file):
            skipped.append(f"{geom.link}: mesh file {asset.file} of mesh {asset.name!r} not found (tried "
                           f"{', '.join(asset.tried) or 'no file'})")
            continue
        else:
            try:
                mesh = trimesh.load(asset.file, force="mesh")
            except Exception as err:  # trimesh raises many kinds for unreadable files; the body is named
                skipped.append(f"{geom.link}: cannot read mesh {asset.file}: {type(err).__name__}: {err}")
                continue
        V = asset.place(mesh.vertices) @ geom.pose[:3, :3].T + geom.pose[:3, 3]
        meshes.setdefault(geom.link, []).append((V, np.asarray(mesh.faces, dtype=np.int64)))


def _mesh(trimesh, reader, shape, folder, package_paths, link, skipped):
    """The trimesh of one `<geometry>` child in the visual's frame, or None (recorded in `skipped`)."""
    if shape.tag == "box":
        return trimesh.creation.box(extents=reader.numbers(shape, "size", 3, None))
    if shape.tag == "cylinder":
        return trimesh.creation.cylinder(radius=float(reader.attr(shape, "radius")),
                                         height=float(reader.attr(shape, "length")))
    if shape.tag == "sphere":
        return trimesh.creation.icosphere(subdivisions=2, radius=float(reader.attr(shape, "radius")))
    if shape.tag != "mesh":
        skipped.append(f"{link}: unknown visual geometry <{shape.tag}> (line {shape.line})")
        return None
    path = mesh_path(reader.attr(shape, "filename"), folder, package_paths, link, skipped, shape.line)
    if path is None:
        return None
    try:
        mesh = trimesh.load(path, force="mesh")
    except Exception as err:  # trimesh raises many kinds for unreadable files; the link is named, not hidden
        skipped.append(f"{link}: cannot read mesh {path}: {type(err).__name__}: {err}")
        return None
    if not len(mesh.faces):
        skipped.append(f"{link}: mesh {path} has no faces")
        return None
    mesh.apply_scale(reader.numbers(shape, "scale", 3, [1.0, 1.0, 1.0]))
    return mesh
