"""The engine the lab drives: the commands the UI queues, run on the worker's thread (worker.py).

TensorFlow is imported lazily, inside the thread (sessions.py), which starts once the first frame is
painted. Results go back to the UI as messages (messages.py); the UI reads the session through
EngineView (view.py) on its own timer, which History makes safe. Pause is a flag the running step
polls between compiled chunks, so Pause and quit take effect within a chunk (the session sizes chunks
to ~0.1 s of work). Saves never hold the keys: saver.py.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from pathlib import Path

from textual.message_pump import MessagePump

from gradtui.config import LabConfig
from gradtui.lab import pins
from gradtui.lab.results import StepReport
from gradtui.saving import SaveOutcome
from gradtui.tui.engine.explainer import Explainer
from gradtui.tui.engine.protocol import EngineSession, Sessions
from gradtui.tui.engine.saver import identify_for_load
from gradtui.tui.engine.sessions import KerasSessions
from gradtui.tui.messages import (
    ConfigApplied,
    EngineFailed,
    HistoryChanged,
    Origin,
    PinsChanged,
    Replaced,
    SessionReady,
    StepKind,
    StepsDone,
)

PLAY_LIMIT = 10_000_000  # "until paused": one undo entry for the whole played stretch
STEP_QUEUE = 100  # step presses waiting at most; more are refused (and the UI says so)
FINAL_SAVE_SECONDS = 20.0  # on quit or a signal: how long to wait for the last autosave


class Engine(Explainer):
    """Owns the session on a single worker thread; every public method is called from the UI thread.

    `sessions` makes them: the Keras lab's by default, NumPy ones in UI tests (fake.py)."""

    def __init__(
        self,
        target: MessagePump,
        config: LabConfig,
        session_file: str | None = None,
        sessions: Sessions | None = None,
    ) -> None:
        super().__init__(target, sessions or KerasSessions())
        self._initial_config = config
        self._session_file = session_file
        # pinned reference runs: replaced whole by the engine thread, read by the UI (a tuple, never edited)
        self.pins: tuple[pins.Pin, ...] = ()
        self.autosave_path = self.saver.autosave_path
        self._final_done = threading.Event()
        self._queued_steps = 0
        self._saved: tuple[str, int] | None = None  # (the file last saved to, `changes` when it was saved)

    # -- commands (UI thread) --------------------------------------------------------------------

    def step(self, n: int = 1, kind: StepKind = "step") -> bool:
        """Queue `n` steps behind those already asked for; False when STEP_QUEUE presses are waiting already."""
        with self._lock:
            if self._queued_steps >= STEP_QUEUE:
                return False
            self._queued_steps += 1

        def do() -> None:
            with self._lock:
                self._queued_steps -= 1
            self._do_steps(n, kind)

        self._submit("run" if kind == "run" else "step", do, cancellable=True, dropped=self._unqueue_step)
        return True

    def _unqueue_step(self) -> None:
        with self._lock:
            self._queued_steps -= 1

    def run(self, n: int) -> bool:
        """Queue a run of `n` steps (one undo entry) like a step press: same queue, same cap."""
        return self.step(n, "run")

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
                self._post(ready(live, "load"))
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
                self._post(ready(fresh, origin, replaced))
            self._settle()

        self._submit("apply", do)

    @property
    def dirty(self) -> bool:
        """Something changed since the last save or autosave."""
        return self.saver.dirty

    def save(self, path: str, overwrite: bool = False) -> None:
        """Save to `path`; over a file changed on disk since this lab loaded or wrote it only with
        `overwrite` (else the lab is asked: SaveConflict)."""

        def do() -> None:
            self.saver.save(self._session(), self.pins, path, overwrite)
            self._saved = (_same_file(path), self.changes)

        self._submit("save", do)

    def autosave(self) -> None:
        """Autosave if anything changed (the UI's timer calls this; during play it lands between chunks)."""
        if self.session is not None and self.saver.want_autosave():
            self._submit("autosave", self._autosave_if_wanted)

    def _autosave_if_wanted(self) -> None:
        self.saver.autosave_if_wanted(self.session, self.pins)

    def final_save(self, timeout: float = FINAL_SAVE_SECONDS) -> SaveOutcome | None:
        """On quit, a signal or a crash (from any thread but the engine's): stop a run, autosave what is
        unsaved (from the session as it stands between two chunks), and wait for every write to finish.
        Where the autosave landed (its `line` says so when not where asked), or None when nothing was
        unsaved."""
        if self.session is None or self.saver.nothing_unsaved(timeout):
            return None
        self.pause()
        self._final_done.clear()
        self.saver.want_autosave()

        def do() -> None:
            try:
                self._autosave_if_wanted()
            finally:
                self._final_done.set()

        before = self.saver.last_autosave
        self._submit("autosave", do)
        answered = self._final_done.wait(timeout)
        self.join_writes(timeout)
        last = self.saver.last_autosave
        if last is None or (last is before and self.dirty):  # the engine did not get to it in time
            kept = last.written if last is not None else None
            why = f"the engine did not answer within {timeout:g} s" if not answered else "it could not be written"
            return SaveOutcome(self.autosave_path, kept, failure=why + ("; the last autosave is kept" if kept else ""))
        return last

    def join_writes(self, timeout: float) -> list[str]:
        """Wait for writes in progress; the names of those still unfinished after `timeout`."""
        return self.saver.join_writes(timeout)

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
        identity = identify_for_load(path)  # before reading: a change during the read counts as a change
        fresh = self._sessions.load(path)
        self.saver.loaded_from(path, identity, int(fresh.history.last("step")) if len(fresh.history) else None)
        # the file just saved, with no change since: it holds the experiment it replaces, and says nothing
        replaced = None if self._saved == (_same_file(path), self.changes) else self._size()
        if fresh.pins:  # the file's reference runs replace the current ones; a file without pins keeps them
            self.pins = fresh.pins
        self.session = fresh
        self._freeze_heap(replaced is not None)
        self._post(ready(fresh, "load", replaced))
        self._settle()

    def device_memory(self) -> tuple[tuple[str, float], ...]:
        """(`GPU:N`, MB in use) for each GPU replica of the session; empty on CPUs or before a session.

        Read on the caller's thread: it asks the GPU allocators for their statistics, which neither
        waits for nor disturbs a step in progress."""
        session = self.session
        return session.device_memory() if session is not None else ()

    def export_history(self, path: str) -> None:
        self._submit("export", lambda: self.saver.export(self._session(), self.pins, path))

    # -- on the thread ---------------------------------------------------------------------------

    def _first_build(self) -> None:
        self._set_state("loading", "importing TensorFlow")
        started = time.perf_counter()
        try:
            self._sessions.prepare()  # the 3-second import, here off the UI thread
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
        self._set_state("loading", f"building {config.model}")
        fresh = self._sessions.build(config)
        replacing = self.session is not None
        self.session = fresh
        self._freeze_heap(replacing)
        self._post(ready(fresh, origin))
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
        self._why_between_chunks()  # the Why tab, while open, follows the run
        self.saver.changed()  # the steps so far are unsaved
        if self.saver.autosave_wanted and self.session is not None:
            self._autosave_if_wanted()
        return False


def ready(session: EngineSession, origin: Origin, replaced: Replaced | None = None) -> SessionReady:
    """The message that `session` is live, with what the UI shows of it (its preset's story too)."""
    return SessionReady(session.summary, session.config, tuple(session.notes), origin, replaced, session.preset)


def _same_file(path: str) -> str:
    """`path` as one spelling, so the file saved and the file opened compare equal however they were typed."""
    return str(Path(path).expanduser().resolve())


# what makes the lab's engine: the target its messages go to, the first config, a session file to open first
EngineFactory = Callable[[MessagePump, LabConfig, str | None], Engine]
