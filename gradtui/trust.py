"""Which model files may run code when loaded: a permission given at launch, never read from a file.

A SavedModel directory is a TensorFlow graph, and a graph can hold any op (write files, read them,
open sockets); a `.keras`/`.h5` file that Keras's safe mode refuses holds Python code (a Lambda
layer). Such a file loads only if the person at the keyboard trusted its path: `--trust-model`
next to `--model PATH` on the command line, or a `y` typed at the lab's confirm prompt naming the
path. Nothing a demo script or a session file holds can reach `grant`: the trusted paths live in
this process only, outside LabConfig, so no setting, `set` line or saved config carries them.
"""

from __future__ import annotations

import os
import threading
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


def revoke_all() -> None:
    """Forget every grant (a new process starts with none; tests start each case with none)."""
    with _lock:
        _trusted.clear()
