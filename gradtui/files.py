"""Atomic file writes: a temporary file beside the target, then a rename, so an interrupted write
never leaves half a file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def check_writable(path: Path, create_parents: bool = False) -> None:
    """Raise OSError with a short reason if `path` cannot be written (before any work is done).

    With create_parents, missing directories are fine if the nearest existing one is writable.
    """
    parent = path.expanduser().resolve().parent
    if create_parents:
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
    if not parent.is_dir():
        raise OSError(f"directory {parent} does not exist" if not parent.exists() else f"{parent} is not a directory")
    if not os.access(parent, os.W_OK):
        raise OSError(f"directory {parent} is not writable")
    if path.is_dir():
        raise OSError(f"{path} is a directory")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = path.expanduser()
    check_writable(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.resolve().parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
