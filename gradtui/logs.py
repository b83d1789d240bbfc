"""Where gradtui and TensorFlow log to: a file under the user's state dir and an in-memory tail.

Kept free of TensorFlow so the TUI can show the log view before (and without) the engine.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

LOGGER_NAME = "gradtui"


def state_dir() -> Path:
    """The per-user state dir (XDG), created on first use when it can be. A read-only or missing HOME is
    not an error here (it was a traceback from every command that names the dir): what writes there fails
    and says so, the log goes nowhere, an autosave goes to a fallback directory (saving.py)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    path = Path(base) / "gradtui"
    with contextlib.suppress(OSError):
        path.mkdir(parents=True, exist_ok=True)
    return path


def log_file() -> Path:
    return state_dir() / "gradtui.log"


class TailHandler(logging.Handler):
    """Keeps the last lines in memory so the UI can show them; thread-safe."""

    def __init__(self, maxlen: int = 2000) -> None:
        super().__init__()
        self.lines: collections.deque[tuple[int, str]] = collections.deque(maxlen=maxlen)
        self._serial = 0
        self._lock_tail = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:
            text = str(record.msg)
        with self._lock_tail:
            self._serial += 1
            self.lines.append((self._serial, text))

    def since(self, serial: int) -> list[tuple[int, str]]:
        """Lines newer than `serial`, oldest first."""
        with self._lock_tail:
            return [item for item in self.lines if item[0] > serial]


TAIL = TailHandler()
_configured = False


def logger() -> logging.Logger:
    """The product logger: to the log file and the in-memory tail, never to the terminal."""
    global _configured
    log = logging.getLogger(LOGGER_NAME)
    if not _configured:
        _configured = True
        log.setLevel(logging.INFO)
        log.propagate = False
        TAIL.setFormatter(logging.Formatter("%(levelname).1s %(name)s: %(message)s"))
        log.addHandler(TAIL)
        with contextlib.suppress(OSError):
            handler = logging.FileHandler(log_file(), encoding="utf-8")
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            log.addHandler(handler)
    return log


def adopt(name: str) -> None:
    """Route a third-party Python logger (tensorflow, absl) to our log file only, never stderr or the
    in-memory tail the Log tab shows: its warnings (tf.function retracing, with a URL) speak of
    TensorFlow's internals, not of the experiment, and read as gradtui's own problems there."""
    other = logging.getLogger(name)
    for handler in list(other.handlers):
        other.removeHandler(handler)
    other.propagate = False
    for handler in logger().handlers:
        if handler is not TAIL:
            other.addHandler(handler)
    other.setLevel(logging.WARNING)


@contextlib.contextmanager
def fd2_to_log() -> Iterator[None]:
    """Point file descriptor 2 at the log file for the duration.

    TensorFlow's C++ and absl logging write to fd 2 directly, below Python; on a Textual screen
    that draws garbage, and in a CLI it is noise. Python's own sys.stderr is flushed first.
    """
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    try:
        target = os.open(log_file(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        target = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(2)
    os.dup2(target, 2)
    os.close(target)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
