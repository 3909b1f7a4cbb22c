"""Finished chunks of a batch, kept beside the output file until the whole output is written.

`armgrad solve --targets F --out FILE` replaces FILE only when the run is complete. Until then
each finished chunk is its own file in `FILE.parts/`, with a manifest of what determines the
answers, so Ctrl-C (or a full disk, or a crash) loses at most the chunk being solved and a
re-run with the same options resumes:

    FILE.parts/manifest.json     robot, targets file, seed, chunk size, solver options (JSON)
    FILE.parts/chunk-000000.npz  the arrays of chunk 0 (its rows, in order), chunk-000001.npz, ...

Every file is written under a temporary name and renamed when complete
(`autodiff.files.atomic_output`), so a part is whole or absent. A part depends only on its
chunk's targets and the manifest, so parts may come from several processes (the scale-out
workers write them the same way) and in any order. This module needs only numpy and the
engine's file helper, so it can move down a layer unchanged.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np

from autodiff.files import atomic_output

__all__ = ["ChunkStore", "file_fingerprint", "fingerprint", "parts_folder"]

MANIFEST = "manifest.json"
_PART = re.compile(r"^chunk-(\d{6,})\.npz$")


def parts_folder(out) -> Path:
    """Where the finished chunks of `out` live: `out` + ".parts"."""
    return Path(f"{out}.parts")


def fingerprint(data) -> str:
    """sha256 of a JSON-able value (floats by their repr, so exact), as hex."""
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def file_fingerprint(path) -> dict:
    """{"size": bytes, "sha256": hex} of a file's content (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
            size += len(block)
    return {"size": size, "sha256": digest.hexdigest()}


class ChunkStore:
    """The parts folder of one run: a manifest plus one .npz file per finished chunk.

    Args:
        folder: the parts folder (see `parts_folder`).
        manifest: JSON-able dict of everything that determines the answers.

    Use `ChunkStore.open` to create a folder or take up the one an interrupted run left.
    """

    def __init__(self, folder, manifest: dict):
        self.folder = Path(folder)
        self.manifest = manifest

    @classmethod
    def open(cls, folder, manifest: dict) -> ChunkStore:
        """Create `folder` with `manifest`, or resume it when its manifest is the same.

        Raises:
            ValueError: the folder holds another run's chunks (the message names each value that
                differs and how to proceed) or has no readable manifest.
            OSError: the folder or its manifest cannot be written (the message names the path).
        """
        folder = Path(folder)
        path = folder / MANIFEST
        if folder.is_dir() and not path.exists() and not any(_PART.match(p.name) for p in folder.iterdir()):
            pass  # stopped between creating the folder and writing its manifest: nothing to lose
        elif folder.exists():
            try:
                old = json.loads(path.read_text())
            except (OSError, ValueError):
                raise ValueError(f"{folder}/ exists but has no readable {MANIFEST}: "
                                 f"delete {folder}/ to start over") from None
            # JSON turns tuples into lists: compare the new manifest as it would read back.
            new = json.loads(json.dumps(manifest))
            differ = [key for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]
            if differ:
                what = "; ".join(f"{key}: {_short(old.get(key))} there, {_short(new.get(key))} now" for key in differ)
                raise ValueError(f"{folder}/ holds the finished chunks of a run with other options ({what}): "
                                 f"re-run with that run's options to resume it, or delete {folder}/ to start over")
            return cls(folder, manifest)
        try:
            folder.mkdir(exist_ok=True)
        except OSError as err:
            raise OSError(f"cannot create {folder}/: {err.strerror or err}") from err
        with atomic_output(path) as tmp:
            tmp.write_text(json.dumps(manifest, indent=2) + "\n")
        return cls(folder, manifest)

    def path(self, index: int) -> Path:
        """The part file of chunk `index`."""
        return self.folder / f"chunk-{index:06d}.npz"

    def done(self) -> list:
        """Indices of the finished chunks, ascending (temporary files are ignored)."""
        found = (_PART.match(p.name) for p in self.folder.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def save(self, index: int, arrays: dict) -> None:
        """Write chunk `index`'s arrays (name -> array), whole or not at all."""
        with atomic_output(self.path(index)) as tmp:
            np.savez(tmp, **arrays)

    def load(self, index: int) -> dict:
        """Chunk `index`'s arrays, as saved.

        Raises:
            ValueError: the part cannot be read (the message names it).
        """
        path = self.path(index)
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except (OSError, ValueError) as err:
            raise ValueError(f"cannot read {path}: {err}; delete {self.folder}/ to start over") from None

    def remove(self) -> None:
        """Delete the folder, once the complete output is written."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _short(value) -> str:
    """A manifest value for a message: fingerprints and long values are only said to differ."""
    text = "none" if value is None else json.dumps(value)
    return text if len(text) <= 40 else "(another value)"
