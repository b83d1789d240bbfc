"""Atomic file writes: a temporary file beside the target, then a rename, so an interrupted write
never leaves half a file (and leaves the old file, if any, as it was)."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

STALE_SECONDS = 300.0  # a temporary file this old was left by a killed write, not one in progress
_TEMP = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")  # tempfile.mkstemp(prefix=".NAME.", suffix=".tmp")


def _nearest_existing(directory: Path) -> Path:
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    return directory


def _refused(text: str, code: int = errno.EACCES) -> OSError:
    """An OSError whose text is `text` and whose errno says why (a caller may try another directory)."""
    err = OSError(text)
    err.errno = code
    return err


def check_writable(path: Path, create_parents: bool = False) -> None:
    """Raise OSError with a short reason if `path` cannot be written (before any work is done).

    With create_parents, missing directories are fine if the nearest existing one is writable.
    The directory is tested by really creating (and removing) a file in it: permission bits do not
    tell the truth for root, read-only mounts or pseudo file systems.
    """
    path = path.expanduser()
    parent = path.resolve().parent
    if create_parents:
        parent = _nearest_existing(parent)
    if not parent.is_dir():
        raise OSError(f"directory {parent} does not exist" if not parent.exists() else f"{parent} is not a directory")
    if path.is_dir():
        raise OSError(f"{path} is a directory")
    if not os.access(parent, os.W_OK):
        raise _refused(f"directory {parent} is not writable")
    try:
        fd, probe = tempfile.mkstemp(prefix=".gradtui-probe.", suffix=".tmp", dir=parent)
    except OSError as err:
        why = err.strerror or type(err).__name__
        raise _refused(f"directory {parent} is not writable ({why})", err.errno or errno.EACCES) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def _mode_for(path: Path) -> int:
    """The permission bits the written file should have: the old file's, else what open() would give."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def atomic_open(path: Path) -> Iterator[BinaryIO]:
    """A binary handle whose content replaces `path` only when the block ends normally.

    Readers see the old file or the whole new one, never a part: the data goes to a temporary file
    beside the target, which is renamed over it at the end. On any failure (including
    KeyboardInterrupt) the temporary file is removed and the old file stays. Large exports stream
    through it instead of building the whole document in memory.
    """
    path = path.expanduser()
    check_writable(path)
    target = path.resolve()  # through a symlink: replace the file it points at, keep the link
    directory = target.parent
    remove_stale_temporaries(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _mode_for(target))  # mkstemp makes 0600 files; an export should look like any other
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically (see atomic_open)."""
    with atomic_open(path) as handle:
        handle.write(data)


def remove_stale_temporaries(target: Path, now: float | None = None) -> list[Path]:
    """Remove what a killed write to `target` left: `.NAME.xxxxxxxx.tmp` files beside it, ours by
    name and owner, older than STALE_SECONDS (a write in progress elsewhere is younger)."""
    now = time.time() if now is None else now
    prefix = f".{target.name}."
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and _TEMP.fullmatch(name) and len(name) == len(prefix) + 12):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or now - info.st_mtime < STALE_SECONDS:
                continue
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (best effort: not every platform can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
