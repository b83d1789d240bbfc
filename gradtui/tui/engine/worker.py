"""The engine's thread: it owns the lab session and runs commands from a queue, in order.

Session methods are not safe against each other, so every call goes through this one thread. A
command is named (Command) and is either an edit, which always runs, or a run, which a pause drops
if it has not started (its epoch is old). Each runs guarded: a failure becomes an EngineFailed
message and the session is kept. The commands themselves are driver.Engine's.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from textual.message import Message
from textual.message_pump import MessagePump

from gradtui import logs, trust
from gradtui.config import ConfigError
from gradtui.lab import progress
from gradtui.lab.results import LabError
from gradtui.tui.engine.protocol import EngineSession, Sessions
from gradtui.tui.engine.saver import Saver
from gradtui.tui.messages import EngineFailed, EngineState, State

Command = Literal[
    "build", "apply", "load", "step", "run", "play", "undo", "reset", "snapshot", "restore", "pin", "unpin",
    "save", "autosave", "export", "why", "preview",
]  # fmt: skip
# after this long with no command the engine works ahead (Worker._idle_work): long enough that a key pressed
# right after "ready", or keys pressed in a row, never wait for it
IDLE_SECONDS = 1.5
# commands that change what a save holds
CHANGES: frozenset[Command] = frozenset(
    {"step", "run", "play", "undo", "reset", "snapshot", "restore", "apply", "pin", "unpin"}
)


@dataclass
class _Command:
    name: Command
    fn: Callable[[], None]
    epoch: int
    cancellable: bool  # runs are dropped when paused before they start; edits never are
    dropped: Callable[[], None] | None = None  # called instead of fn when the command is dropped


class Worker:
    """The thread, its queue and its states; every public method is called from the UI thread."""

    def __init__(self, target: MessagePump, sessions: Sessions) -> None:
        self._target = target
        self._sessions = sessions
        self._untrusted: tuple[str, Command, Callable[[], None]] | None = None  # (path, command, its function)
        self._queue: queue.Queue[_Command | None] = queue.Queue()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._epoch = 0
        self._pending = 1  # the first build: pending from the start, though the thread starts after the first frame
        self._closing = False
        self._thread = threading.Thread(target=self._main, name="gradtui-engine", daemon=True)
        self.session: EngineSession | None = None
        self.saver = Saver(sessions, self._post)
        self.running = False  # a step/run/play is executing now (a single step too, which never says "running")
        self.changes = 0  # commands run that changed what a save holds (a save notes the count it saved)
        self.log = logs.logger()
        self._loading_told = False  # a build phase said "loading" since the last resting state was posted

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start importing TensorFlow and building the first session (the app calls this once its first
        frame is on screen: the import holds the GIL for long stretches and would hold that frame back)."""
        with self._lock:
            if self._closing or self._thread.ident is not None:  # closed before the first frame, or started
                return
        self._thread.start()

    def shutdown(self, timeout: float = 1.0) -> bool:
        """Stop the current run, drop queued work, and wait (briefly) for the thread to finish."""
        with self._lock:
            self._closing = True
            self._epoch += 1
            self._stop.set()
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.saver.close()  # the autosave's lock: other labs may prune the file once this one is gone
        return not self._thread.is_alive()

    @property
    def idle(self) -> bool:
        """Nothing queued or executing (tests wait on this)."""
        with self._lock:
            return self._pending == 0

    # -- commands (UI thread) --------------------------------------------------------------------

    def pause(self) -> bool:
        """Stop the running step at its next chunk boundary and drop queued runs. True if one was running."""
        with self._lock:
            self._epoch += 1
            self._stop.set()
            return self.running

    # -- the thread ------------------------------------------------------------------------------

    def _submit(
        self,
        name: Command,
        fn: Callable[[], None],
        cancellable: bool = False,
        dropped: Callable[[], None] | None = None,
    ) -> None:
        with self._lock:
            if self._closing:
                if dropped is not None:
                    dropped()
                return
            self._pending += 1
            epoch = self._epoch
        self._queue.put(_Command(name, fn, epoch, cancellable, dropped))

    def _main(self) -> None:
        with progress.reporting(self._phase):  # a (re)build says what it does
            self._serve()

    def _phase(self, phase: str) -> None:
        self._loading_told = True
        self._set_state("loading", phase)

    def _serve(self) -> None:
        try:
            self._first_build()
        finally:
            self._done()
        idle_work = True
        while True:
            try:
                cmd = self._queue.get(timeout=IDLE_SECONDS) if idle_work else self._queue.get()
            except queue.Empty:  # nothing asked for a while: work ahead (tracing), one piece at a time
                idle_work = self._idle_work()
                continue
            idle_work = True  # a command may leave new work for the next idle spell (a new session)
            if cmd is None:
                return
            try:
                with self._lock:
                    skip = self._closing or (cmd.cancellable and cmd.epoch != self._epoch)
                    if not skip and cmd.cancellable:
                        self._stop.clear()
                if skip:
                    if cmd.dropped is not None:
                        cmd.dropped()
                    continue
                if self.session is None and cmd.name != "apply" and cmd.name != "load":
                    if cmd.dropped is not None:
                        cmd.dropped()
                    self._post(EngineFailed(cmd.name, "the engine is not ready (no model loaded)"))
                    continue
                if cmd.name in CHANGES:
                    self.saver.changed()  # set first: an autosave during the command clears it
                    self.changes += 1
                loaded = self.session
                self._guarded(cmd.name, cmd.fn)
                if self._loading_told:  # a rebuild inside a command that posts no resting state (the Why
                    self._settle()  # tab's attributing graph): else "loading" would stay on screen for good
                if cmd.name == "load" and self.session is not loaded:
                    self.saver.opened()
            finally:
                self._done()

    def _done(self) -> None:
        with self._lock:
            self._pending -= 1

    def _idle_work(self) -> bool:
        """One piece of work done ahead while no command waits; False once there is none left (until
        the next command). The Explainer traces the step preview here."""
        return False

    def _first_build(self) -> None:
        """The thread's first work, before any queued command (the engine builds or opens its session)."""
        raise NotImplementedError

    def _guarded(self, name: Command, fn: Callable[[], None]) -> None:
        """Run one command; any failure becomes an EngineFailed message and the session is kept."""
        try:
            fn()
        except trust.UntrustedModel as err:
            self._untrusted = (err.path, name, fn)
            self._post(EngineFailed(name, err.message, err.field, untrusted=err.path))
            self._settle()
        except ConfigError as err:
            self._post(EngineFailed(name, err.message, err.field))
            self._settle()
        except LabError as err:
            self._post(EngineFailed(name, str(err)))
            self._settle()
        except Exception as err:
            self.log.exception("engine command %s failed", name)
            self._post(EngineFailed(name, f"{type(err).__name__}: {err}"))
            self._settle()

    def _session(self) -> EngineSession:
        if self.session is None:
            raise LabError("the engine is not ready (no model loaded)")
        return self.session

    def _settle(self, paused: bool = False) -> None:
        """Post the resting state after a command."""
        self._loading_told = False
        session = self.session
        if session is None:
            self._set_state("error", "no model loaded")
        elif session.divergence is not None:
            d = session.divergence
            self._set_state("diverged", f"step {d.step}: {d.where}")
        elif paused:
            self._set_state("paused")
        else:
            self._set_state("ready")

    def _set_state(self, state: State, detail: str = "") -> None:
        self._post(EngineState(state, detail))  # the UI's EngineView keeps the state from these

    def _post(self, message: Message) -> None:
        self._target.post_message(message)
