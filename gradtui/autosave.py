"""Where autosaves live and what they are called (no TensorFlow, no NumPy: the UI asks before loading).

One file per lab process, `autosave-<start time>-<pid>.npz` in the state directory, so two labs of
one user never overwrite each other. A lab deletes its own file when it quits with nothing unsaved;
the newest KEEP files are kept and older ones removed, so a crash or a dropped connection leaves the
last explorations to resume with `gradtui --resume`.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from gradtui import logs

PREFIX = "autosave-"
KEEP = 5
INTERVAL_SECONDS = 30.0  # at most this much work is lost to a kill -9 or a crash


def directory() -> Path:
    return logs.state_dir()


def path_for_this_lab(started: float | None = None) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(started if started is not None else time.time()))
    return directory() / f"{PREFIX}{stamp}-{os.getpid()}.npz"


def existing() -> list[Path]:
    """Autosaves, newest first (by modification time: the last one written is the one to resume)."""
    try:
        found = [p for p in directory().glob(f"{PREFIX}*.npz") if p.is_file()]
    except OSError:
        return []

    def mtime(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:
            return 0.0

    return sorted(found, key=mtime, reverse=True)


def newest(excluding: Path | None = None) -> Path | None:
    for path in existing():
        if excluding is None or path != excluding:
            return path
    return None


def prune(keep: int = KEEP) -> None:
    """Remove all but the newest `keep` autosaves."""
    for path in existing()[keep:]:
        with contextlib.suppress(OSError):
            path.unlink()


def describe(path: Path) -> str:
    """`autosave-... (saved 12 minutes ago)` for the notice that offers a resume."""
    try:
        age = max(0.0, time.time() - path.stat().st_mtime)
    except OSError:
        return path.name
    if age < 90:
        when = f"{int(age)} s ago"
    elif age < 90 * 60:
        when = f"{round(age / 60)} minutes ago"
    elif age < 48 * 3600:
        when = f"{round(age / 3600)} hours ago"
    else:
        when = f"{round(age / 86400)} days ago"
    return f"{path} (saved {when})"
