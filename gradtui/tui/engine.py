"""The engine driver: one thread owns the lab Session and runs commands from a queue, in order.

Session methods are not safe against each other, so every call goes through this one thread.
TensorFlow is imported here, lazily, inside the thread, which starts once the first frame is painted.
Results go back to the UI as messages (messages.py); the UI reads the session through EngineView
(view.py) on its own timer, which History makes safe. Pause is a flag the running step polls between compiled chunks,
so Pause and quit take effect within a chunk (the session sizes chunks to ~0.1 s of work).

Saves never hold the keys: the engine thread copies what a file holds (the history is bounded, so
that is quick; during play it happens between two chunks), and a writer thread compresses and
writes it atomically. Writer threads are not daemons, so quitting finishes a write in progress.
Autosaves (autosave.py) go to one file per lab process while anything is unsaved.
"""

from __future__ import annotations

import contextlib
import gc
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message
from textual.message_pump import MessagePump

from gradtui import autosave as autosaves
from gradtui import logs, trust
from gradtui.config import ConfigError, LabConfig
from gradtui.lab import pins
from gradtui.lab.history import History
from gradtui.lab.results import Divergence, LabError, ModelSummary, StepReport
from gradtui.tui.messages import (
    ConfigApplied,
    EngineFailed,
    EngineState,
    FileWritten,
    HistoryChanged,
    Origin,
    PinsChanged,
    Replaced,
    SessionReady,
    State,
    StepKind,
    StepsDone,
)

if TYPE_CHECKING:
    from gradtui.lab.session import Session

PLAY_LIMIT = 10_000_000  # "until paused": one undo entry for the whole played stretch
STEP_QUEUE = 100  # step presses waiting at most; more are refused (and the UI says so)
FINAL_SAVE_SECONDS = 20.0  # on quit or a signal: how long to wait for the last autosave
CHANGES = frozenset({"step", "run", "play", "undo", "reset", "snapshot", "restore", "apply", "pin", "unpin"})


@dataclass
class _Command:
    name: str
    fn: Callable[[], None]
    epoch: int
    cancellable: bool  # runs are dropped when paused before they start; edits never are
    dropped: Callable[[], None] | None = None  # called instead of fn when the command is dropped


@dataclass
class _Frozen:
    """A session's recorded run, copied: what an export writes while the engine goes on."""

    config: LabConfig
    summary: ModelSummary
    history: History
    notes: list[str]
    divergence: Divergence | None

    @classmethod
    def of(cls, session: Session) -> _Frozen:
        history = History(session.history.dims, recent=session.history.recent, buckets=session.history.buckets)
        history.append(session.history.to_dict())
        return cls(session.config, session.summary, history, list(session.notes), session.divergence)


class Engine:
    """Owns the Session on a single worker thread; every public method is called from the UI thread."""

    def __init__(
        self,
        target: MessagePump,
        config: LabConfig,
        session_file: str | None = None,
    ) -> None:
        self._target = target
        self._initial_config = config
        self._session_file = session_file
        self._untrusted: tuple[str, str, Callable[[], None]] | None = None  # (path, command, its function)
        self._queue: queue.Queue[_Command | None] = queue.Queue()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._epoch = 0
        self._pending = 1  # the first build: pending from the start, though the thread starts after the first frame
        self._closing = False
        self._thread = threading.Thread(target=self._main, name="gradtui-engine", daemon=True)
        self.session: Session | None = None
        # pinned reference runs: replaced whole by the engine thread, read by the UI (a tuple, never edited)
        self.pins: tuple[pins.Pin, ...] = ()
        self.dirty = False  # something changed since the last save or autosave
        self.autosave_path = autosaves.path_for_this_lab()
        self._saved_since_autosave = False
        self._autosave_wanted = threading.Event()
        self._final_done = threading.Event()
        self._writers: list[threading.Thread] = []
        self._queued_steps = 0
        self.running = False  # a step/run/play is executing now (a single step too, which never says "running")
        self.log = logs.logger()

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

    def step(self, n: int = 1) -> bool:
        """Queue a step behind those already asked for; False when STEP_QUEUE are waiting already."""
        with self._lock:
            if self._queued_steps >= STEP_QUEUE:
                return False
            self._queued_steps += 1

        def do() -> None:
            with self._lock:
                self._queued_steps -= 1
            self._do_steps(n, "step")

        self._submit("step", do, cancellable=True, dropped=self._unqueue_step)
        return True

    def _unqueue_step(self) -> None:
        with self._lock:
            self._queued_steps -= 1

    def run(self, n: int) -> None:
        self._submit("run", lambda: self._do_steps(n, "run"), cancellable=True)

    def play(self) -> None:
        self._submit("play", lambda: self._do_steps(PLAY_LIMIT, "play"), cancellable=True)

    def undo(self) -> None:
        def do() -> None:
            ok = self._session().undo()
            self._post(HistoryChanged("undo", ok, "" if ok else "nothing to undo"))
            self._settle()

        self._submit("undo", do)

    def reset(self) -> None:
        def do() -> None:
            self._session().reset()
            self._post(HistoryChanged("reset", True))
            self._settle()

        self._submit("reset", do)

    def snapshot(self, name: str | None = None) -> None:
        def do() -> None:
            made = self._session().snapshot(name)
            self._post(HistoryChanged("snapshot", True, made))

        self._submit("snapshot", do)

    def restore(self, name: str) -> None:
        """All of a snapshot or nothing; one taken under other settings brings them back with it."""

        def do() -> None:
            current = self._session()
            before = current.config
            live = current.restore(name)
            if live is not current:  # another experiment: a session built for it, keeping every snapshot
                self.session = live
                self._freeze_heap()
                self._post(SessionReady(live.summary, live.config, tuple(live.notes), "load"))
            elif live.config != before:
                self._post(ConfigApplied(live.config, "load"))
            self._post(HistoryChanged("restore", True, name))
            self._settle()

        self._submit("restore", do)

    def pin(self, label: str | None = None) -> None:
        """Pin the run so far as a reference (named after its preset or settings unless `label` is given)."""

        def do() -> None:
            session = self._session()
            name = label or pins.label_for(session.config)
            pin = pins.make_pin(session.history, name, session.summary.name, session.summary.layers)
            before = self.pins
            self.pins = pins.added(before, pin)
            dropped = [p.label for p in before if p not in self.pins and p.label != name]
            replaced = any(p.label == name for p in before)
            text = f"ref:{name} pinned ({pin.steps:,} steps){' again' if replaced else ''}"
            if dropped:
                text += f"; ref:{dropped[0]} unpinned (at most {pins.MAX_PINS})"
            self._post(PinsChanged(text))

        self._submit("pin", do)

    def unpin(self) -> None:
        def do() -> None:
            count, self.pins = len(self.pins), ()
            self._post(PinsChanged(f"{count} pin{'s' * (count != 1)} cleared" if count else "no pins to clear"))

        self._submit("unpin", do)

    def apply(self, config: LabConfig, origin: Origin = "config") -> None:
        """Apply a validated config: in place when the session can, else a new session (old kept on failure).

        A preset ("preset", or "demo" from a script) is an experiment from its start: an in-place one resets
        the history, and the answer says what it replaced."""

        def do() -> None:
            current = self.session
            if current is None:
                self._build(config, origin)
                return
            fresh_experiment = origin in ("preset", "demo")
            replaced = self._size() if fresh_experiment else None
            fresh = current.with_config(config)
            if fresh is current:
                if fresh_experiment:
                    current.reset()
                    self._post(HistoryChanged("reset", True))
                self._post(ConfigApplied(current.config, origin, replaced))
            else:
                self.session = fresh
                self._freeze_heap()
                self._post(SessionReady(fresh.summary, fresh.config, tuple(fresh.notes), origin, replaced))
            self._settle()

        self._submit("apply", do)

    def save(self, path: str) -> None:
        def do() -> None:
            from gradtui.lab import session_file

            session = self._session()
            session.pins = self.pins
            arrays = session_file.pack(session)
            self.dirty = False
            self._write("session", path, lambda: session_file.write(path, arrays))

        self._submit("save", do)

    def autosave(self) -> None:
        """Autosave if anything changed (the UI's timer calls this; during play it lands between chunks)."""
        if self.dirty and self.session is not None:
            self._autosave_wanted.set()
            self._submit("autosave", self._autosave_if_wanted)

    def _autosave_if_wanted(self) -> None:
        if not self._autosave_wanted.is_set():
            return
        self._autosave_wanted.clear()
        session = self.session
        if session is None or not self.dirty:
            return
        from gradtui.lab import session_file

        session.pins = self.pins
        arrays = session_file.pack(session)
        self.dirty, self._saved_since_autosave = False, False
        path = self.autosave_path

        def write() -> None:
            session_file.write(path, arrays, compress=False)  # a few MB at most: speed over size
            autosaves.prune()

        self._write("autosave", str(path), write)

    def final_save(self, timeout: float = FINAL_SAVE_SECONDS) -> Path | None:
        """On quit or a signal (from any thread but the engine's): stop a run, autosave what is unsaved,
        and wait for every write to finish. The autosave's path, or None when nothing was unsaved."""
        if self.session is None:
            return None
        if not self.dirty:
            if self._saved_since_autosave:  # saved to a file since: the autosave is not needed
                with contextlib.suppress(OSError):
                    self.autosave_path.unlink()
            self.join_writes(timeout)
            return None
        self.pause()
        self._final_done.clear()
        self._autosave_wanted.set()

        def do() -> None:
            try:
                self._autosave_if_wanted()
            finally:
                self._final_done.set()

        self._submit("autosave", do)
        self._final_done.wait(timeout)
        self.join_writes(timeout)
        return self.autosave_path if self.autosave_path.exists() and not self.dirty else None

    def join_writes(self, timeout: float) -> list[str]:
        """Wait for writes in progress; the names of those still unfinished after `timeout`."""
        deadline = time.monotonic() + timeout
        for thread in list(self._writers):
            thread.join(max(0.0, deadline - time.monotonic()))
        return [t.name.removeprefix("gradtui-write ") for t in self._writers if t.is_alive()]

    def _write(self, what: str, path: str, write: Callable[[], object]) -> None:
        """Write on a thread of its own (not a daemon: a quit waits for it), then say so."""

        def run() -> None:
            try:
                write()
            except Exception as err:
                self.dirty = True
                self.log.exception("writing %s failed", path)
                reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
                self._post(EngineFailed(what if what != "session" else "save", f"could not write {path}: {reason}"))
                return
            if what == "session":
                self._saved_since_autosave = True
            if what != "autosave":
                self._post(FileWritten(what, path))  # type: ignore[arg-type]

        self._writers = [t for t in self._writers if t.is_alive()]
        thread = threading.Thread(target=run, name=f"gradtui-write {path}", daemon=False)
        self._writers.append(thread)
        thread.start()

    def load(self, path: str) -> None:
        self._submit("load", lambda: self._load(path))

    def retry_trusted(self, path: str) -> None:
        """Run again the command a model file at `path` stopped, now that the person at the keyboard has
        trusted it (trust.grant is the caller's: the lab's y). Nothing happens for any other path."""
        pending = self._untrusted
        if pending is None or pending[0] != path:
            return
        self._untrusted = None
        _, name, fn = pending
        self._submit("apply" if name == "build" else name, fn)  # the first build has no session yet

    def _load(self, path: str) -> None:
        """Replace the session with a saved one (the current one stays if the file cannot be read)."""
        from gradtui.lab.session import Session

        fresh = Session.load(path)
        replaced = self._size()
        if fresh.pins:  # the file's reference runs replace the current ones; a file without pins keeps them
            self.pins = fresh.pins
        self.session = fresh
        self._freeze_heap(replaced is not None)
        self._post(SessionReady(fresh.summary, fresh.config, tuple(fresh.notes), "load", replaced))
        self._settle()

    def device_memory(self) -> tuple[tuple[str, float], ...]:
        """(`GPU:N`, MB in use) for each GPU replica of the session; empty on CPUs or before a session.

        Read on the caller's thread: it asks the GPU allocators for their statistics, which neither
        waits for nor disturbs a step in progress."""
        session = self.session
        return session.device_memory() if session is not None else ()

    def export_history(self, path: str) -> None:
        def do() -> None:
            from gradtui.lab.export import write_history

            frozen, pinned = _Frozen.of(self._session()), self.pins  # the play may go on while this is written
            self._write("history", path, lambda: write_history(path, frozen, pinned))

        self._submit("export", do)

    # -- the thread ------------------------------------------------------------------------------

    def _submit(
        self, name: str, fn: Callable[[], None], cancellable: bool = False, dropped: Callable[[], None] | None = None
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
        try:
            self._first_build()
        finally:
            self._done()
        while True:
            cmd = self._queue.get()
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
                    self.dirty = True  # set first: an autosave during the command clears it
                loaded = self.session
                self._guarded(cmd.name, cmd.fn)
                if cmd.name == "load" and self.session is not loaded:
                    self.dirty = False  # the file holds it all
            finally:
                self._done()

    def _done(self) -> None:
        with self._lock:
            self._pending -= 1

    def _first_build(self) -> None:
        self._set_state("loading", "importing TensorFlow")
        started = time.perf_counter()
        try:
            import gradtui.lab.session  # noqa: F401 - the 3-second import, here off the UI thread
        except Exception as err:
            self.log.exception("engine import failed")
            self._post(EngineFailed("load", f"could not load the engine: {type(err).__name__}: {err}"))
            self._set_state("error", "engine unavailable")
            return
        self.log.info("engine imported in %.1f s", time.perf_counter() - started)
        # TensorFlow's and Keras's modules hold no garbage yet (a full collection here finds none and takes
        # 0.15 s): exempt them from the cyclic GC at once, so neither the step's trace nor the freeze after
        # the build walks them
        gc.collect(1)
        gc.freeze()
        path = self._session_file
        if path and Path(path).exists():
            self._guarded("load", lambda: self._load(path))
            if self.session is not None:
                return
        self._guarded("build", lambda: self._build(self._initial_config, "build"))

    def _size(self) -> Replaced | None:
        """(steps of history, snapshots) of the current experiment, which a replacement would lose."""
        session = self.session
        if session is None:
            return None
        return (max(len(session.history) - 1, 0), len(session.snapshot_names))  # row 0 is the initial state

    def _build(self, config: LabConfig, origin: Origin) -> None:
        from gradtui.lab.session import Session

        self._set_state("loading", f"building {config.model}")
        fresh = Session.build(config)
        replacing = self.session is not None
        self.session = fresh
        self._freeze_heap(replacing)
        self._post(SessionReady(fresh.summary, fresh.config, tuple(fresh.notes), origin))
        self._settle()

    @staticmethod
    def _freeze_heap(replacing: bool = True) -> None:
        """Exempt TensorFlow's and the model's millions of long-lived objects from the cyclic GC.

        Without this every full collection walks them all (30-150 ms measured here) and holds the
        GIL while it does, which a key press or a redraw then waits for. Unfreezing first lets a
        replaced session's objects be collected; the first build has none, and collecting only what
        is not frozen yet (the build's and trace's garbage) takes milliseconds, not a quarter second.
        """
        if replacing:
            gc.unfreeze()
        gc.collect()
        gc.freeze()

    def _guarded(self, name: str, fn: Callable[[], None]) -> None:
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

    def _session(self) -> Session:
        if self.session is None:
            raise LabError("the engine is not ready (no model loaded)")
        return self.session

    def _do_steps(self, n: int, kind: StepKind) -> None:
        session = self._session()
        if kind != "step" or n > 1:
            self._set_state("running", kind)
        self.running = True
        try:
            # chunk=0: the session sizes compiled calls to ~0.1 s, which bounds pause and quit latency
            report: StepReport = session.step(n, chunk=0, should_stop=self._between_chunks)
        finally:
            self.running = False
        self._post(StepsDone(report, kind))
        stopped = report.steps < report.requested and report.divergence is None
        self._settle(paused=stopped)

    def _between_chunks(self) -> bool:
        """Polled by a run between compiled chunks, where the session is consistent: autosave if asked."""
        if self._stop.is_set():
            return True  # stopping: an autosave asked for now runs as its own command, after the run
        self.dirty = True  # the steps so far are unsaved
        if self._autosave_wanted.is_set() and self.session is not None:
            self._autosave_if_wanted()
        return False

    def _settle(self, paused: bool = False) -> None:
        """Post the resting state after a command."""
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


# what makes the lab's engine: the target its messages go to, the first config, a session file to open first
EngineFactory = Callable[[MessagePump, LabConfig, str | None], Engine]
