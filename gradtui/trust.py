"""Which model files may run code when loaded: a permission given at launch, never read from a file.

A SavedModel directory is a TensorFlow graph, and a graph can hold any op (write files, read them,
open sockets); a `.keras`/`.h5` file that Keras's safe mode refuses holds Python code (a Lambda
layer). Such a file loads only if the person at the keyboard trusted its path: `--trust-model`
next to `--model PATH` on the command line, or a `y` typed at the lab's confirm prompt naming the
path. Nothing a demo script or a session file holds can reach `grant`: the trusted paths live in
this process only, outside LabConfig, so no setting, `set` line or saved config carries them.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from gradtui.errors import TRUST_FLAG, UntrustedModel

FLAG = TRUST_FLAG
__all__ = ["FLAG", "UntrustedModel", "grant", "is_trusted", "revoke_all"]

_lock = threading.Lock()
_trusted: set[str] = set()


def _key(path: str | Path) -> str:
    """The file a path names, through symlinks, so another spelling of it is the same grant."""
    return os.path.realpath(Path(path).expanduser())


def grant(path: str | Path) -> None:
    """Trust the model file or SavedModel directory at `path` for the rest of this process."""
    with _lock:
        _trusted.add(_key(path))


def is_trusted(path: str | Path) -> bool:
    with _lock:
        return _key(path) in _trusted


@contextlib.contextmanager
def pinned(path: str | Path) -> Iterator[tuple[Path, bool]]:
    """(a path to load from, whether the person trusted it): the file is resolved once, opened once, and
    judged as that one file; what the caller loads through the yielded path is the very file opened
    (on Linux, a link to /proc/self/fd/N in a private directory, keeping the file's name and suffix),
    so a symlink swapped in between the check and the load is not followed."""
    real = os.path.realpath(Path(path).expanduser())
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    if os.path.isdir(real):
        flags |= getattr(os, "O_DIRECTORY", 0)
    fd = os.open(real, flags)
    try:
        trusted = is_trusted(real)  # judged after the open: the grant names the file that was opened
        handle = f"/proc/self/fd/{fd}"
        if not os.path.exists(handle):  # no /proc (macOS): the resolved path, checked once
            yield Path(real), trusted
            return
        with tempfile.TemporaryDirectory(prefix="gradtui-model-") as private:
            link = Path(private) / Path(real).name
            os.symlink(handle, link)
            yield link, trusted
    finally:
        os.close(fd)


def revoke_all() -> None:
    """Forget every grant (a new process starts with none; tests start each case with none)."""
    with _lock:
        _trusted.clear()
