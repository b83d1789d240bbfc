"""Advisory locks (`fcntl.flock`) on a sidecar file beside the one they guard.

The guarded file itself is replaced by an atomic rename on every write, so a lock on it would be a
lock on the old inode. The sidecar `.NAME.lock` (or an autosave's `autosave-*.lock`) is locked
instead; its holder checks after locking that the path still names the inode it locked (a holder
that unlinked it on release may have raced it), and retries if not. Locks go away with the process
that held them: a lab killed with -9 leaves no lock behind, only a stale file the next pruner removes.

The bottom layer: standard library only. Linux and macOS; elsewhere (no fcntl) locking is a no-op.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, writes stay atomic
    fcntl = None  # type: ignore[assignment]

WAIT_SECONDS = 5.0  # a second writer waits this long for the first to finish, then refuses
_POLL = 0.05


class FileBusy(OSError):
    """Another process is writing the file: one line naming it and the holder's pid if known."""


def sidecar(path: str | Path) -> Path:
    """The lock file that guards `path`: `.NAME.lock` beside it (through a symlink, beside its target)."""
    target = Path(path).expanduser().resolve()
    return target.parent / f".{target.name}.lock"


def _try_lock(fd: int) -> bool:
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _still_named(fd: int, lock_path: Path) -> bool:
    """The path still names the inode locked (not unlinked, or replaced, by a holder releasing it)."""
    try:
        return os.stat(lock_path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def acquire(lock_path: Path, wait: float) -> int | None:
    """The fd of `lock_path`, created if needed and locked; None if still held elsewhere after `wait` s."""
    deadline = time.monotonic() + wait
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        if _try_lock(fd):
            if _still_named(fd, lock_path):
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
                    os.write(fd, str(os.getpid()).encode())
                return fd
            os.close(fd)  # it was unlinked under us: lock the file now at that path
            continue
        os.close(fd)
        if time.monotonic() >= deadline:
            return None
        time.sleep(_POLL)


def release(fd: int, lock_path: Path, remove: bool = True) -> None:
    """Unlock; with `remove`, unlink the lock file first (while still holding it, so no one locks it
    between the unlink and the unlock without noticing: see _still_named)."""
    if remove:
        with contextlib.suppress(OSError):
            if _still_named(fd, lock_path):
                os.unlink(lock_path)
    os.close(fd)


def holder(lock_path: Path) -> str:
    """The pid written in a lock file, for the refusal line ('' if unreadable)."""
    try:
        text = lock_path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""


def is_held(lock_path: Path) -> bool:
    """Whether a live process holds `lock_path` now (a missing lock file is held by no one)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(lock_path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        if _try_lock(fd):
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        return True
    finally:
        os.close(fd)


@contextlib.contextmanager
def write_lock(path: str | Path, wait: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold the lock on `path` for the block: a second writer waits up to `wait` s, then gets FileBusy
    (never two writes of one file at once, so the identity check and the write are one step)."""
    lock_path = sidecar(path)
    try:
        fd = acquire(lock_path, wait)
    except OSError as err:  # a directory we cannot create the lock in: the write would fail as well
        raise OSError(err.errno, f"cannot lock {path}: {err.strerror}") from err
    if fd is None:
        pid = holder(lock_path)
        by = f"another gradtui (pid {pid})" if pid else "another process"
        raise FileBusy(f"{os.fspath(path)} is being written by {by}; not written (waited {wait:g} s)")
    try:
        yield
    finally:
        release(fd, lock_path)
