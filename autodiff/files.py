"""Files that appear whole or not at all: write to a temporary name, rename into place.

Every layer writes through `atomic_output` (the engine's `Module.save`, the kinematics chunk
store, the command's answers, pictures and animations), so a full disk, a crash or Ctrl-C never
leaves a truncated file, nor destroys the previous one: `os.replace` within one folder is
atomic on POSIX and Windows, and the old file stays until the new one is complete.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_output"]


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside `path`; move it onto `path` when the block completes.

    The temporary name keeps the extension (matplotlib, Pillow, ffmpeg and `np.savez` read the
    format from it) and starts with a dot, so a folder listing hides it. When the block raises,
    the temporary file is removed and `path` is left as it was.

    Args:
        path: the file to write; its folder must exist.

    Yields:
        pathlib.Path: where to write the content.

    Raises:
        OSError: the message names `path` and the cause (e.g. "cannot write out.csv: No space
            left on device"); the original error is its `__cause__`.

    Example:
        >>> import pathlib, tempfile
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "answers.csv"
        >>> with atomic_output(target) as tmp:
        ...     _ = tmp.write_text("x,y\\n1,2\\n")
        >>> target.read_text()
        'x,y\\n1,2\\n'
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".partial{path.suffix}")
        os.close(fd)
    except OSError as err:
        raise OSError(f"cannot write {path}: {err.strerror or err}") from err
    tmp = Path(tmp)
    try:
        yield tmp
        with open(tmp, "rb+") as f:  # the content reaches the disk before the name points at it
            os.fsync(f.fileno())
        os.chmod(tmp, _mode_for(path))  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise OSError(f"cannot write {path}: {err.strerror or err}") from err
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    """An existing file's permission bits, else those a plain open() would give (0o666 less umask)."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
