"""The UI's read-only window on the engine: what the app and widgets may know of the lab.

The Session lives on the engine thread; the UI only reads it, through this narrow view, on its own
timer and in its message handlers. Everything here is safe to read from the event loop: History is
thread-safe, and the engine writes its state as one tuple.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gradtui.config import LabConfig
from gradtui.lab.pins import Pin
from gradtui.lab.results import LabError, ModelSummary
from gradtui.presets import preset_name
from gradtui.tui.experiment import settings_title
from gradtui.tui.messages import EngineState, State

if TYPE_CHECKING:
    from gradtui.lab.history import History
    from gradtui.tui.engine import Engine


class EngineView:
    """Read-only: the engine's state and its session's history, snapshots and summary."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._status: tuple[State, str] = ("loading", "importing TensorFlow")

    def on_state(self, message: EngineState) -> None:
        """Take the engine's state from its message, in the order the UI handles them: so the state shown
        always agrees with the summary, notes and history those messages brought (the app calls this)."""
        self._status = (message.state, message.detail)

    @property
    def state(self) -> State:
        return self._status[0]

    @property
    def detail(self) -> str:
        """What the state is about (the run's kind, what is loading, where it diverged); often empty."""
        return self._status[1]

    @property
    def busy(self) -> bool:
        """A step, run or play is executing now (a single step too, which never enters "running")."""
        return self._engine.running

    @property
    def idle(self) -> bool:
        """Nothing queued or executing."""
        return self._engine.idle

    @property
    def loaded(self) -> bool:
        """A session exists (the first build finished, or a file was opened)."""
        return self._engine.session is not None

    @property
    def history(self) -> History | None:
        session = self._engine.session
        return session.history if session is not None else None

    @property
    def rows(self) -> int:
        history = self.history
        return len(history) if history is not None else 0

    @property
    def step(self) -> int | None:
        """The step count: the last recorded step, None before any row (read from History, not the graph)."""
        history = self.history
        return int(history.last("step")) if history is not None and len(history) else None

    def last_prediction(self) -> np.ndarray | None:
        """The probe's latest outputs, None before any row."""
        history = self.history
        return history.last("predictions")[0] if history is not None and len(history) else None

    def device_memory(self) -> tuple[tuple[str, float], ...]:
        """(`GPU:N`, MB in use) per GPU replica, read now (so the caller decides how often); empty on CPUs."""
        return self._engine.device_memory()

    @property
    def snapshot_names(self) -> list[str]:
        session = self._engine.session
        return list(session.snapshot_names) if session is not None else []

    def snapshot_choices(self) -> list[tuple[str, str]]:
        """(name, what it restores) per snapshot: `step-10 (2) · random`, so two of one name at the same step
        count under different presets are told apart before one is picked."""
        session = self._engine.session
        if session is None:
            return []
        choices = []
        for name in list(session.snapshot_names):
            try:
                config = session.snapshot_config(name)
            except LabError:  # gone meanwhile (a switch replaced the session)
                continue
            choices.append((name, f"{name} · {preset_name(config) or settings_title(config)}"))
        return choices

    @property
    def can_undo(self) -> bool:
        session = self._engine.session
        return session is not None and session.can_undo

    @property
    def config(self) -> LabConfig | None:
        session = self._engine.session
        return session.config if session is not None else None

    @property
    def summary(self) -> ModelSummary | None:
        session = self._engine.session
        return session.summary if session is not None else None

    @property
    def pins(self) -> tuple[Pin, ...]:
        """The pinned reference runs (the engine replaces the tuple whole, never edits it)."""
        return self._engine.pins

    @property
    def notes(self) -> tuple[str, ...]:
        session = self._engine.session
        return tuple(session.notes) if session is not None else ()
