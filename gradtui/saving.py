"""One save of bytes to a path that is never silent and never writes over someone else's work.

`save_bytes` holds the path's write lock (file_lock.py), checks that the file is still what this
process loaded or last wrote (file_identity.py), writes atomically, and remembers what it wrote.
When the disk is full or the directory refuses (ENOSPC, EDQUOT, EACCES, EROFS...), it tries the
fallback directories in order ($TMPDIR, then the working directory) and says where it wrote. Its
SaveOutcome is one line for the lab's status row and for what a command prints at exit; a save
that landed nowhere is `saved` False, and the caller exits non-zero.

Standard library only (no NumPy, no TensorFlow): the lab's saver thread and `gradtui run` call it.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gradtui import file_lock
from gradtui.file_identity import FileIdentity, changed_since, describe_change, identify
from gradtui.files import atomic_write_bytes
from gradtui.safe_text import visible

# a failure another directory may not have: the disk or quota is full, the directory refuses writes
FALLBACK_ERRNOS = frozenset(
    code
    for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EACCES, errno.EPERM, errno.EROFS, errno.EFBIG)
    if code is not None
)
StepOf = Callable[[Path], "int | None"]


@dataclass(frozen=True)
class SaveOutcome:
    """Where a save landed. `written` None: nowhere (see `failure`), or refused (see `conflict`)."""

    requested: Path
    written: Path | None = None
    identity: FileIdentity | None = None  # of the file written: remember it for the next save
    failure: str | None = None  # why `requested` could not be written (None when it was)
    conflict: str | None = None  # the file changed since it was loaded, or another process writes it

    @property
    def saved(self) -> bool:
        return self.written is not None

    @property
    def where_asked(self) -> bool:
        return self.written is not None and self.written == self.requested

    def line(self, what: str = "save") -> str:
        """One line for the status row or stderr: `save failed: no space left on /data; saved to /tmp/s.npz
        instead`, `saved to s.npz`, or the conflict."""
        asked = visible(self.requested)
        if self.conflict is not None:
            return f"{what} refused: {self.conflict}; not written over"
        if self.where_asked:
            return f"saved to {asked}"
        if self.written is not None:
            return f"{what} failed: {self.failure}; saved to {visible(self.written)} instead"
        return f"{what} failed: {self.failure}; not saved anywhere"


def reason(err: OSError, path: Path) -> str:
    """`no space left on /data` (the directory that is full), else the error's own words."""
    directory = visible(path.expanduser().absolute().parent)
    if err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return f"{(err.strerror or 'no space left').lower()} on {directory}"
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.ENOENT):
        return f"cannot write to {directory} ({(err.strerror or 'refused').lower()})"
    return visible(err.strerror or str(err))


def fallback_dirs() -> list[Path]:
    """Where a save goes when its own directory cannot take it: $TMPDIR (or the system's temp dir), then
    the working directory."""
    found: list[Path] = []
    for candidate in (tempfile.gettempdir(), os.getcwd()):
        path = Path(candidate).absolute()
        if path not in found:
            found.append(path)
    return found


def fallback_target(directory: Path, name: str) -> Path:
    """`directory/name`, or `name` with this pid when a file of that name is there already (not ours to replace)."""
    target = directory / name
    if not target.exists():
        return target
    stem, dot, suffix = name.partition(".")
    return directory / f"{stem}-{os.getpid()}{dot}{suffix}"


def save_bytes(
    path: str | Path,
    data: bytes,
    since: FileIdentity | None = None,
    step_of: StepOf | None = None,
    step: int | None = None,
    fallbacks: Sequence[Path] | None = None,
    fallback_name: str | None = None,
    wait: float = file_lock.WAIT_SECONDS,
    make_dir: bool = False,
) -> SaveOutcome:
    """Write `data` to `path` atomically under its lock.

    `since`: what this process last saw there (FileIdentity.absent() for a file it will create); if the
    file changed since, nothing is written and the outcome's `conflict` says what changed (its step
    count through `step_of`), so the lab can ask and `gradtui run` can refuse. None: no check (a path
    the person just chose). `step`: the step count of what is written, kept in the identity.
    `fallbacks`: directories tried in order when `path` cannot be written (default: fallback_dirs());
    pass () for none. `fallback_name`: a name unique to this writer, replaced there on each save (default: the same
    name, or with this pid added when a file of that name is there). `make_dir`: create the directory first
    (the state dir of an autosave; one that cannot be created, on a read-only HOME, sends it to a fallback).
    """
    target = Path(path).expanduser()
    try:
        if make_dir:
            target.parent.mkdir(parents=True, exist_ok=True)
        with file_lock.write_lock(target, wait):
            if since is not None:
                now = changed_since(target, since)
                if now is not None:
                    if now.exists and step_of is not None:
                        now = FileIdentity(now.exists, now.size, now.mtime_ns, now.inode, now.sha256, step_of(target))
                    return SaveOutcome(target, conflict=visible(describe_change(target, since, now)))
            atomic_write_bytes(target, data)
            return SaveOutcome(target, target, identify(target, data, step))
    except file_lock.FileBusy as err:
        return SaveOutcome(target, conflict=visible(str(err)))
    except OSError as err:
        failure = reason(err, target)
        if err.errno not in FALLBACK_ERRNOS and not (make_dir and err.errno in (errno.ENOTDIR, errno.ENOENT)):
            return SaveOutcome(target, failure=failure)
    tried = [failure]
    here = target.absolute().parent
    for directory in fallback_dirs() if fallbacks is None else fallbacks:
        if directory.absolute() == here:
            continue
        # a name the caller made unique (an autosave's) is replaced each time; another is never
        other = directory / fallback_name if fallback_name else fallback_target(directory, target.name)
        try:
            atomic_write_bytes(other, data)
        except OSError as err:
            tried.append(reason(err, other))
            continue
        return SaveOutcome(target, other, identify(other, data, step), failure=failure)
    return SaveOutcome(target, failure="; ".join(tried))
