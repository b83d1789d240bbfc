"""Saves, autosaves, the final save on quit and export writes, and the one `dirty` flag they share.

The engine thread copies what a file holds (the history is bounded, so that is quick; during play it
happens between two chunks), and a writer thread of its own compresses and writes it atomically. Writer
threads are not daemons, so quitting finishes a write in progress. `dirty` is set by the engine thread
and by writer threads whose write failed, and read by the UI: it lives under a lock.

Every write goes through saving.save_bytes: under the file's lock, never over a file that changed on
disk since this lab loaded or last wrote it (the lab asks first: SaveConflict), to a fallback
directory when the disk is full, and never silently (SaveProblem). The lab's autosave is an
AutosaveSlot (autosave.py): locked while the lab runs, so no other lab prunes it, and written again
when it goes missing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from textual.message import Message

from gradtui import autosave as autosaves
from gradtui import logs
from gradtui.config import LabConfig
from gradtui.file_identity import FileIdentity, identify
from gradtui.lab.history import History
from gradtui.lab.pins import Pin
from gradtui.lab.results import Divergence, ModelSummary
from gradtui.saving import SaveOutcome, save_bytes
from gradtui.tui.engine.protocol import EngineSession, Sessions
from gradtui.tui.messages import EngineFailed, FileWritten, SaveConflict, SaveProblem

Written = Literal["session", "history", "autosave"]


@dataclass
class Frozen:
    """A session's recorded run, copied: what an export writes while the engine goes on."""

    config: LabConfig
    summary: ModelSummary
    history: History
    notes: list[str]
    divergence: Divergence | None

    @classmethod
    def of(cls, session: EngineSession) -> Frozen:
        history = History(session.history.dims, recent=session.history.recent, buckets=session.history.buckets)
        history.append(session.history.to_dict())
        return cls(session.config, session.summary, history, list(session.notes), session.divergence)


class Saver:
    """Owns the writes, what is unsaved, and which file this lab last loaded or wrote. Methods say which
    thread calls them."""

    def __init__(self, sessions: Sessions, post: Callable[[Message], None]) -> None:
        self._sessions = sessions
        self._post = post
        self._lock = threading.Lock()
        self._dirty = False  # something changed since the last save or autosave
        self._saved_since_autosave = False  # a save to a file made the autosave unneeded
        self._autosave_wanted = threading.Event()
        self._writers: list[threading.Thread] = []
        self._known: tuple[Path, FileIdentity] | None = None  # the file loaded or last written, as it was then
        self._autosave_failing = False
        self.slot = autosaves.AutosaveSlot()  # locked from now until the lab exits
        self.autosave_path = self.slot.path
        self.log = logs.logger()

    @property
    def dirty(self) -> bool:
        with self._lock:
            return self._dirty

    def changed(self) -> None:
        """Engine thread: the session changed (set before a command: an autosave during it clears it)."""
        with self._lock:
            self._dirty = True

    def opened(self) -> None:
        """Engine thread: a session file was opened, which holds it all."""
        with self._lock:
            self._dirty = False

    def loaded_from(self, path: str | Path, identity: FileIdentity, step: int | None) -> None:
        """Engine thread: the session came from `path`, which was `identity` before it was read (a save over
        it asks first if it has changed since)."""
        known = FileIdentity(identity.exists, identity.size, identity.mtime_ns, identity.inode, identity.sha256, step)
        with self._lock:
            self._known = (_absolute(path), known)

    # -- autosave --------------------------------------------------------------------------------

    def _autosave_needed(self) -> bool:
        return self.slot.needs_write(self.dirty)  # unsaved work, or the last autosave went missing

    def want_autosave(self) -> bool:
        """UI thread (its timer): ask for an autosave if anything is unsaved; whether one was asked."""
        if not self._autosave_needed():
            return False
        self._autosave_wanted.set()
        return True

    @property
    def autosave_wanted(self) -> bool:
        return self._autosave_wanted.is_set()

    def autosave_if_wanted(self, session: EngineSession | None, pins: tuple[Pin, ...]) -> None:
        """Engine thread (a command, or between two chunks of a run): autosave if it was asked for."""
        if not self._autosave_wanted.is_set():
            return
        self._autosave_wanted.clear()
        if session is None or not self._autosave_needed():
            return
        session.pins = pins
        arrays = self._sessions.pack(session)
        step = _step(session)
        with self._lock:
            self._dirty, self._saved_since_autosave = False, False

        def write() -> None:
            data = self._sessions.to_bytes(arrays, compress=False)  # a few MB at most: speed over size
            outcome = self.slot.write(data, step=step)
            if not outcome.saved:
                with self._lock:
                    self._dirty = True
            if not outcome.where_asked:
                self._autosave_failing = True
                self.log.warning("%s", outcome.line("autosave"))
                self._post(SaveProblem("autosave", outcome.line("autosave")))
            elif self._autosave_failing:
                self._autosave_failing = False
                self._post(SaveProblem("autosave", ""))  # written where it belongs again: the alert goes

        self._write("autosave", str(self.autosave_path), write)

    @property
    def last_autosave(self) -> SaveOutcome | None:
        return self.slot.last

    # -- saves and exports -----------------------------------------------------------------------

    def save(self, session: EngineSession, pins: tuple[Pin, ...], path: str, overwrite: bool = False) -> None:
        """Engine thread: the session (and the engine's pins) to `path`. Over the file this lab loaded or
        last wrote, only if it is unchanged on disk (else SaveConflict, unless `overwrite`: the person said
        so); over a file that did not exist when asked, only if no one created it meanwhile."""
        session.pins = pins
        arrays = self._sessions.pack(session)
        step = _step(session)
        target = _absolute(path)
        with self._lock:
            self._dirty = False
            known = self._known
        since: FileIdentity | None = None
        if overwrite:
            since = None
        elif known is not None and known[0] == target:
            since = known[1]
        elif not target.exists():
            since = FileIdentity.absent()

        def write() -> None:
            data = self._sessions.to_bytes(arrays, compress=True)
            outcome = save_bytes(path, data, since=since, step_of=self._sessions.step_of, step=step)
            if outcome.conflict is not None:
                with self._lock:
                    self._dirty = True
                self._post(SaveConflict(path, outcome.conflict))
                return
            if outcome.written is None or outcome.identity is None:
                with self._lock:
                    self._dirty = True
                self.log.warning("%s", outcome.line("save"))
                self._post(SaveProblem("save", outcome.line("save")))
                return
            with self._lock:
                self._known = (outcome.written.absolute(), outcome.identity)
                self._saved_since_autosave = True
            if outcome.where_asked:
                self._post(FileWritten("session", path))
            else:
                self.log.warning("%s", outcome.line("save"))
                self._post(SaveProblem("save", outcome.line("save")))

        self._write("session", path, write)

    def export(self, session: EngineSession, pins: tuple[Pin, ...], path: str) -> None:
        """Engine thread: the history and pins as CSV, JSON or .npz (the play may go on while it is written)."""
        from gradtui.lab.export import write_history

        frozen = Frozen.of(session)
        self._write("history", path, lambda: write_history(path, frozen, pins))

    def _write(self, what: Written, path: str, write: Callable[[], object]) -> None:
        """Write on a thread of its own (not a daemon: a quit waits for it), then say so."""

        def run() -> None:
            try:
                write()
            except Exception as err:
                with self._lock:
                    self._dirty = True
                self.log.exception("writing %s failed", path)
                reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
                self._post(EngineFailed(what if what != "session" else "save", f"could not write {path}: {reason}"))
                return
            if what == "history":
                self._post(FileWritten(what, path))

        self._writers = [t for t in self._writers if t.is_alive()]
        thread = threading.Thread(target=run, name=f"gradtui-write {path}", daemon=False)
        self._writers.append(thread)
        thread.start()

    # -- quitting --------------------------------------------------------------------------------

    def nothing_unsaved(self, timeout: float) -> bool:
        """On quit: True (after waiting for writes in progress) when nothing is unsaved; then an autosave
        made unneeded by a save since is removed."""
        self.join_writes(timeout)
        if self._autosave_needed():
            return False
        with self._lock:
            saved = self._saved_since_autosave
        if saved:
            self.slot.close(discard=True)
        return True

    def join_writes(self, timeout: float) -> list[str]:
        """Wait for writes in progress; the names of those still unfinished after `timeout`."""
        deadline = time.monotonic() + timeout
        for thread in list(self._writers):
            thread.join(max(0.0, deadline - time.monotonic()))
        return [t.name.removeprefix("gradtui-write ") for t in self._writers if t.is_alive()]

    def close(self) -> None:
        """The lab is leaving: release the autosave's lock (its file stays for --resume)."""
        self.slot.close()


def _absolute(path: str | Path) -> Path:
    return Path(path).expanduser().absolute()


def _step(session: EngineSession) -> int | None:
    history = session.history
    return int(history.last("step")) if len(history) else None


def identify_for_load(path: str) -> FileIdentity:
    """The file about to be opened, as it is now (before reading it: a change during the read counts)."""
    try:
        return identify(path)
    except OSError:
        return FileIdentity.absent()
