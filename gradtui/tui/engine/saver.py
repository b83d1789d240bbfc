"""Saves, autosaves, the final save on quit and export writes, and the one `dirty` flag they share.

The engine thread copies what a file holds (the history is bounded, so that is quick; during play it
happens between two chunks), and a writer thread of its own compresses and writes it atomically. Writer
threads are not daemons, so quitting finishes a write in progress. Autosaves (autosave.py) go to one
file per lab process while anything is unsaved. `dirty` is set by the engine thread and by writer
threads whose write failed, and read by the UI: it lives under a lock.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from textual.message import Message

from gradtui import autosave as autosaves
from gradtui import logs
from gradtui.config import LabConfig
from gradtui.lab.history import History
from gradtui.lab.pins import Pin
from gradtui.lab.results import Divergence, ModelSummary
from gradtui.tui.engine.protocol import EngineSession, Sessions
from gradtui.tui.messages import EngineFailed, FileWritten

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
    """Owns the writes and whether anything is unsaved. Methods say which thread calls them."""

    def __init__(self, sessions: Sessions, post: Callable[[Message], None]) -> None:
        self._sessions = sessions
        self._post = post
        self._lock = threading.Lock()
        self._dirty = False  # something changed since the last save or autosave
        self._saved_since_autosave = False  # a save to a file made the autosave unneeded
        self._autosave_wanted = threading.Event()
        self._writers: list[threading.Thread] = []
        self.autosave_path = autosaves.path_for_this_lab()
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

    # -- autosave --------------------------------------------------------------------------------

    def want_autosave(self) -> bool:
        """UI thread (its timer): ask for an autosave if anything is unsaved; whether one was asked."""
        if not self.dirty:
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
        if session is None or not self.dirty:
            return
        session.pins = pins
        arrays = self._sessions.pack(session)
        with self._lock:
            self._dirty, self._saved_since_autosave = False, False
        path = self.autosave_path

        def write() -> None:
            self._sessions.write(path, arrays, compress=False)  # a few MB at most: speed over size
            autosaves.prune()

        self._write("autosave", str(path), write)

    # -- saves and exports -----------------------------------------------------------------------

    def save(self, session: EngineSession, pins: tuple[Pin, ...], path: str) -> None:
        """Engine thread: the session (and the engine's pins) to `path`."""
        session.pins = pins
        arrays = self._sessions.pack(session)
        with self._lock:
            self._dirty = False
        self._write("session", path, lambda: self._sessions.write(path, arrays, compress=True))

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
            if what == "session":
                with self._lock:
                    self._saved_since_autosave = True
            if what != "autosave":
                self._post(FileWritten(what, path))

        self._writers = [t for t in self._writers if t.is_alive()]
        thread = threading.Thread(target=run, name=f"gradtui-write {path}", daemon=False)
        self._writers.append(thread)
        thread.start()

    # -- quitting --------------------------------------------------------------------------------

    def nothing_unsaved(self, timeout: float) -> bool:
        """On quit: True (after waiting for writes in progress) when nothing is unsaved; then an autosave
        made unneeded by a save since is removed."""
        if self.dirty:
            return False
        with self._lock:
            saved = self._saved_since_autosave
        if saved:
            with contextlib.suppress(OSError):
                self.autosave_path.unlink()
        self.join_writes(timeout)
        return True

    def join_writes(self, timeout: float) -> list[str]:
        """Wait for writes in progress; the names of those still unfinished after `timeout`."""
        deadline = time.monotonic() + timeout
        for thread in list(self._writers):
            thread.join(max(0.0, deadline - time.monotonic()))
        return [t.name.removeprefix("gradtui-write ") for t in self._writers if t.is_alive()]
