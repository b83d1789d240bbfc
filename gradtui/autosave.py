"""Where autosaves live, which lab owns which, and which one `--resume` opens (no TensorFlow).

One file per lab process, `autosave-<start time>-<pid>.npz` in the state directory, so two labs of
one user never overwrite each other. A running lab holds an advisory lock on `autosave-...-<pid>.lock`
for as long as it runs (AutosaveSlot): pruning keeps the newest KEEP *finished* autosaves (those
whose lab is gone) and never touches a running lab's, however many there are. A lab that finds its
file gone (removed by hand, or by an older gradtui's pruning) writes it again at the next change.

`--resume` opens the newest autosave that reads back whole (every CRC checked, no TensorFlow):
damaged ones are renamed `.damaged`, out of the five slots, and named in one line. `gradtui
sessions` lists them all, and `gradtui --resume N` opens the N-th of that list.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gradtui import file_lock, logs
from gradtui.file_identity import FileIdentity, changed_since
from gradtui.safe_text import visible
from gradtui.saving import SaveOutcome, fallback_dirs, save_bytes

if TYPE_CHECKING:
    from gradtui.lab.session_peek import SessionInfo

PREFIX = "autosave-"
KEEP = 5
INTERVAL_SECONDS = 30.0  # at most this much work is lost to a kill -9 or a crash
DAMAGED = ".damaged"


def directory() -> Path:
    return logs.state_dir()


def path_for_this_lab(started: float | None = None) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(started if started is not None else time.time()))
    return directory() / f"{PREFIX}{stamp}-{os.getpid()}.npz"


def lock_path(path: Path) -> Path:
    """`autosave-...-<pid>.lock` beside `autosave-...-<pid>.npz`: held by the lab that writes it."""
    return path.with_suffix(".lock")


def is_running(path: Path) -> bool:
    """Whether the lab that owns this autosave is still running (it holds the lock)."""
    return file_lock.is_held(lock_path(path))


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


def resume_opens(path: Path) -> bool:
    """Whether a plain `gradtui --resume` will surely open `path`: it is the newest autosave and no other lab is
    running (a running lab's autosave, written or still to come, will be newer). Two labs HUP'd together
    must not both say `--resume` reopens their work: it opens only one of them. (A running lab may be about
    to finish with a newer autosave, so any other running lab makes the answer no.)"""
    if newest() != path:
        return False
    mine = lock_path(path)
    try:
        locks = [lock for lock in directory().glob(f"{PREFIX}*.lock") if lock != mine]
    except OSError:
        return False
    return not any(file_lock.is_held(lock) for lock in locks)


def prune(keep: int = KEEP) -> list[Path]:
    """Remove all but the newest `keep` finished autosaves; a running lab's is never removed nor counted.
    Lock files left by labs that are gone (killed) go too. The paths removed."""
    removed: list[Path] = []
    finished = [p for p in existing() if not is_running(p)]
    for path in finished[keep:]:
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    with contextlib.suppress(OSError):
        for stale in directory().glob(f"{PREFIX}*.lock"):
            _remove_if_free(stale)
    return removed


def _remove_if_free(lock: Path) -> None:
    """A lock file no process holds and whose autosave is gone: left by a lab that was killed."""
    if lock.with_suffix(".npz").exists():
        return
    fd = file_lock.acquire(lock, 0.0)
    if fd is not None:
        file_lock.release(fd, lock, remove=True)


class AutosaveSlot:
    """This lab's autosave: its path, the lock that keeps other labs' pruning off it, and what was last
    written (so a file removed behind the lab's back is noticed and written again).

    The lab's saver calls `needs_write(dirty)` on its timer and on a signal, `write(data)` to save (the
    outcome's `line()` goes on the status row when it did not land where asked), and on a clean quit
    `close(discard=True)`.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or path_for_this_lab()
        self._lock_path = lock_path(self.path)
        self._fd: int | None = None
        with contextlib.suppress(OSError):  # an unwritable state dir: the saves will say so themselves
            self._fd = file_lock.acquire(self._lock_path, 0.0)
        self.written: Path | None = None  # where the last autosave landed (this path, or a fallback)
        self.identity: FileIdentity | None = None
        self.last: SaveOutcome | None = None

    @property
    def locked(self) -> bool:
        return self._fd is not None

    def lost(self) -> bool:
        """The last autosave written is gone, or something else was written over it."""
        if self.written is None or self.identity is None:
            return False
        try:
            return changed_since(self.written, self.identity) is not None
        except OSError:
            return True

    def needs_write(self, dirty: bool) -> bool:
        """Autosave now: something changed since the last one, or the last one was lost."""
        return dirty or self.lost()

    def write(self, data: bytes, step: int | None = None) -> SaveOutcome:
        """Write the autosave (to a fallback directory if the state dir cannot take it), prune others."""
        if self._fd is None:  # the lock could not be taken at start (state dir missing then): try again
            with contextlib.suppress(OSError):
                self._fd = file_lock.acquire(self._lock_path, 0.0)
        outcome = save_bytes(
            self.path, data, step=step, fallbacks=fallback_dirs(), fallback_name=self.path.name, make_dir=True
        )
        self.last = outcome
        if outcome.written is not None:
            if self.written is not None and self.written != outcome.written:
                with contextlib.suppress(OSError):
                    self.written.unlink()  # an older copy in a fallback (or here): one autosave per lab
            self.written, self.identity = outcome.written, outcome.identity
        with contextlib.suppress(OSError):
            prune()
        return outcome

    def close(self, discard: bool = False) -> None:
        """Release the lock; with `discard` (a clean quit: nothing unsaved), remove the autosave first."""
        if discard and self.written is not None:
            with contextlib.suppress(OSError):
                self.written.unlink()
            self.written = self.identity = None
        if self._fd is not None:
            file_lock.release(self._fd, self._lock_path, remove=True)
            self._fd = None


# ---- resuming ------------------------------------------------------------------------------------


def listing(check: Callable[[Path], SessionInfo] | None = None) -> list[SessionInfo]:
    """Every autosave, newest first, each read whole (`gradtui sessions`, `--resume N`)."""
    if check is None:
        from gradtui.lab.session_peek import peek

        check = peek
    return [check(path) for path in existing()]


def move_aside(path: Path) -> Path:
    """Rename a damaged autosave to `NAME.npz.damaged` (kept for a look, out of the five slots)."""
    target = path.with_name(path.name + DAMAGED)
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.{n}{DAMAGED}")
    path.rename(target)
    return target


@dataclass(frozen=True)
class ResumeChoice:
    """The autosave `--resume` opens (None: none readable) and the line naming damaged ones moved aside."""

    path: Path | None
    notice: str | None


def newest_readable(check: Callable[[Path], SessionInfo] | None = None) -> ResumeChoice:
    """The newest autosave that reads back whole; every newer one that does not is moved aside. A lab that
    is still running has lost nothing: its autosave is chosen only when no finished lab's is readable (a
    lab playing in another terminal autosaves every 30 s, and was opened instead of the dropped one)."""
    if check is None:
        from gradtui.lab.session_peek import peek

        check = peek
    moved: list[str] = []
    chosen: Path | None = None
    running: list[Path] = []
    for path in existing():
        if is_running(path):  # a running lab writes atomically; leave its file to it
            running.append(path)
            continue
        info = check(path)
        if info.readable:
            chosen = path
            break
        try:
            aside = move_aside(path)
            moved.append(f"{aside.name} ({info.problem})")
        except OSError as err:
            moved.append(f"{path.name} ({info.problem}; could not move it aside: {err.strerror})")
    if chosen is None:
        chosen = next((path for path in running if check(path).readable), None)
    notice = None
    if moved:
        count = "a damaged autosave" if len(moved) == 1 else f"{len(moved)} damaged autosaves"
        notice = visible(f"--resume: skipped {count}, moved aside: {'; '.join(moved)}")
    return ResumeChoice(chosen, notice)


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
