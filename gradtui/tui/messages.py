"""Typed messages from the engine thread to the UI: the only way results flow back.

The engine posts these from its own thread (post_message is thread-safe); the app handles them on
the event loop. Tests capture them with `run_test(message_hook=...)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from gradtui.config import LabConfig
from gradtui.lab.results import ModelSummary, StepReport

ENGINE_STATES = ("loading", "ready", "running", "paused", "diverged", "error")


class EngineState(Message):
    """The engine's coarse state changed (drives the status line and which controls are enabled)."""

    def __init__(self, state: str, detail: str = "") -> None:
        super().__init__()
        self.state = state
        self.detail = detail


class SessionReady(Message):
    """A (new) session is live: after the first build, a model/data change, or opening a file."""

    def __init__(self, summary: ModelSummary, config: LabConfig, notes: tuple[str, ...], origin: str) -> None:
        super().__init__()
        self.summary = summary
        self.config = config
        self.notes = notes
        self.origin = origin  # "build", "config", "load", "preset"


class ConfigApplied(Message):
    """A config change took effect in place (weights kept)."""

    def __init__(self, config: LabConfig) -> None:
        super().__init__()
        self.config = config


class StepsDone(Message):
    """One step/run/play command finished (possibly stopped early)."""

    def __init__(self, report: StepReport, kind: str) -> None:
        super().__init__()
        self.report = report
        self.kind = kind  # "step", "run", "play"


class HistoryChanged(Message):
    """Undo, reset or restore moved the session back: plots must redraw even if the length matches."""

    def __init__(self, action: str, ok: bool, detail: str = "") -> None:
        super().__init__()
        self.action = action  # "undo", "reset", "restore", "snapshot"
        self.ok = ok
        self.detail = detail


class EngineFailed(Message):
    """A command failed; the previous session is intact. `field` names a form field when one is to blame."""

    def __init__(self, action: str, text: str, field: str | None = None) -> None:
        super().__init__()
        self.action = action
        self.text = text
        self.field = field


class FileWritten(Message):
    """An export or session save finished."""

    def __init__(self, what: str, path: str) -> None:
        super().__init__()
        self.what = what
        self.path = path


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str
