"""What a file was when this process last loaded or wrote it, and whether it changed since.

A writer that remembers nothing overwrites whatever another process saved in between: the lab saves
`s.npz`, `gradtui run --session s.npz` adds 50 steps and saves, and the lab's next save would throw
those 50 steps away. So the lab and `gradtui run` keep the identity of the file they loaded or last
wrote (size, mtime, inode, and a SHA-256 of its bytes) and compare before writing over it. A file
touched but not changed (same bytes) is the same file; a file replaced by the same bytes too.

The bottom layer: standard library only. What changed is told by the caller's `step` (a session's
step count, read cheaply from the file: lab/session_peek.py).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileIdentity:
    """A file as seen once: `exists` False for a path that held nothing (a session to be created)."""

    exists: bool
    size: int = 0
    mtime_ns: int = 0
    inode: int = 0
    sha256: str = ""
    step: int | None = None  # the session's step count then, if the caller knows it

    @classmethod
    def absent(cls) -> FileIdentity:
        return cls(False)

    def same_stat(self, other: FileIdentity) -> bool:
        """Cheap: same size, mtime and inode (nothing wrote it since, as far as the clock can tell)."""
        return (self.exists, self.size, self.mtime_ns, self.inode) == (
            other.exists,
            other.size,
            other.mtime_ns,
            other.inode,
        )


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def identify(path: str | Path, data: bytes | None = None, step: int | None = None) -> FileIdentity:
    """The identity of the file at `path` now (`data`: the bytes just written there, so they need not be
    read back). A missing path gives FileIdentity.absent(); other OSErrors propagate."""
    target = Path(path).expanduser()
    try:
        info = target.stat()
    except FileNotFoundError:
        return FileIdentity.absent()
    digest = hashlib.sha256(data).hexdigest() if data is not None else _hash_file(target)
    return FileIdentity(True, info.st_size, info.st_mtime_ns, info.st_ino, digest, step)


def changed_since(path: str | Path, before: FileIdentity) -> FileIdentity | None:
    """None if the file at `path` is still what `before` saw (by stat, or by its bytes when only the
    stat differs); else its identity now (hash included; `exists` False if it was removed)."""
    target = Path(path).expanduser()
    try:
        info = target.stat()
    except FileNotFoundError:
        return None if not before.exists else FileIdentity.absent()
    now = FileIdentity(True, info.st_size, info.st_mtime_ns, info.st_ino, before.sha256)
    if before.exists and now.same_stat(before):
        return None
    if before.exists and info.st_size == before.size:
        digest = _hash_file(target)
        if digest == before.sha256:
            return None
        return FileIdentity(True, info.st_size, info.st_mtime_ns, info.st_ino, digest)
    return FileIdentity(True, info.st_size, info.st_mtime_ns, info.st_ino, "")


def describe_change(path: str | Path, before: FileIdentity, now: FileIdentity) -> str:
    """`s.npz changed on disk since it was loaded (step 120 then, step 170 now)`: what the person is asked
    about (the lab) or told (headless). Steps are shown when both are known."""
    name = os.fspath(path)
    if not now.exists:
        return f"{name} was removed since it was {'loaded' if before.exists else 'checked'}"
    if not before.exists:
        return f"{name} was created by someone else since this session started" + (
            f" (it is at step {now.step})" if now.step is not None else ""
        )
    steps = ""
    if before.step is not None and now.step is not None:
        steps = f" (step {before.step} then, step {now.step} now)"
    elif now.step is not None:
        steps = f" (it is at step {now.step} now)"
    return f"{name} changed on disk since it was loaded or saved here{steps}"
