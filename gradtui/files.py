"""Files as gradtui reads and writes them: atomic writes (a temporary file beside the target, then a
rename, so an interrupted write never leaves half a file and leaves the old file, if any, as it
was), and the checks that a file given to read is the kind its name says (its first bytes),
answered before TensorFlow or NumPy opens it."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import time
import zipfile
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
        raise _refused(f"directory {parent} is not writable ({why})", err.errno or errno.EACCES) from err
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


# What the first bytes of each kind of file look like, so a file of the wrong kind is refused before
# TensorFlow is imported, rather than by a loader's error text.
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
NPY_MAGIC = b"\x93NUMPY"


def content_problem(path: Path, suffix: str) -> str | None:
    """None if the file's first bytes fit its suffix, else what is wrong."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
            hdf5 = head == HDF5_MAGIC
            offset = 512  # HDF5 allows a user block of 512, 1024, 2048... bytes before the signature
            while suffix in (".h5", ".hdf5") and not hdf5 and offset <= 1 << 20:
                handle.seek(offset)
                found = handle.read(8)
                hdf5 = found == HDF5_MAGIC
                if len(found) < 8:
                    break
                offset *= 2
    except OSError as err:
        return f"cannot be read ({err.strerror or type(err).__name__})"
    if not head:
        return "is empty"
    if suffix in (".keras", ".npz"):
        kind = "a Keras .keras file" if suffix == ".keras" else "a NumPy .npz archive"
        if not head.startswith(ZIP_MAGIC):
            return f"is not {kind} (not a zip archive)"
        if not zipfile.is_zipfile(path):  # reads the central directory at the end: catches a cut-off file
            return f"is not a complete {kind.split(' ', 1)[1]} (the zip archive is damaged or cut off)"
    if suffix in (".h5", ".hdf5") and not hdf5:
        return "is not an HDF5 file (no HDF5 signature)"
    if suffix == ".npy" and not head.startswith(NPY_MAGIC):
        return "is not a NumPy .npy file (no NUMPY header)"
    return None


def file_problem(path: Path, suffixes: tuple[str, ...], what: str, allow_dir: bool = False) -> str | None:
    """None if `path` is a readable file of the right kind (or, with allow_dir, a SavedModel
    directory), else what is wrong with it, as the end of a sentence naming the path."""
    if allow_dir and path.is_dir():
        if (path / "saved_model.pb").exists():
            return None if os.access(path / "saved_model.pb", os.R_OK) else "is a SavedModel that is not readable"
        return f"is a directory, not {what} or a SavedModel (no saved_model.pb)"
    if path.suffix.lower() not in suffixes:
        return f"is not {what} (expected {' or '.join(suffixes)})"
    if not path.is_file():
        return "does not exist" if not path.exists() else "is not a file"
    if not os.access(path, os.R_OK):
        return "is not readable (permission denied)"
    return content_problem(path, path.suffix.lower())
