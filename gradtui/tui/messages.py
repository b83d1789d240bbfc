"""Typed messages from the engine thread to the UI: the only way results flow back.

The engine posts these from its own thread (post_message is thread-safe) to the lab screen, which
handles them on the event loop. They do not bubble on to the app: each is handled once, and
`run_test(message_hook=...)` (how tests capture them) sees each once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textual.message import Message

from gradtui.config import LabConfig
from gradtui.lab.preview_result import Preview
from gradtui.lab.results import ModelSummary, StepReport
from gradtui.tui.why_report import WhyReport

State = Literal["loading", "ready", "running", "paused", "diverged", "error"]
# what asked for a session or config: the first build, a form change, an opened file, a preset key,
# or a preset from a demo script (a fresh experiment too, but one the script means: not announced)
Origin = Literal["build", "config", "load", "preset", "demo"]
StepKind = Literal["step", "run", "play"]
HistoryAction = Literal["undo", "reset", "restore", "snapshot"]
# (steps of history, snapshots) an experiment had when a preset or opened file replaced it
Replaced = tuple[int, int]


@dataclass
class EngineState(Message, bubble=False):
    """The engine's coarse state changed (drives the status line and which controls are enabled)."""

    state: State
    detail: str = ""


@dataclass
class SessionReady(Message, bubble=False):
    """A (new) session is live: after the first build, a model/data change, or opening a file."""

    summary: ModelSummary
    config: LabConfig
    notes: tuple[str, ...]
    origin: Origin
    replaced: Replaced | None = None  # set when a preset or opened file replaced an experiment
    preset: str = ""  # the preset the session runs as or was started as ("": none), for its story


@dataclass
class ConfigApplied(Message, bubble=False):
    """A config change took effect in place (weights kept); a preset also reset the history."""

    config: LabConfig
    origin: Origin = "config"
    replaced: Replaced | None = None


@dataclass
class StepsDone(Message, bubble=False):
    """One step/run/play command finished (possibly stopped early)."""

    report: StepReport
    kind: StepKind


@dataclass
class HistoryChanged(Message, bubble=False):
    """Undo, reset or restore moved the session back: plots must redraw even if the length matches."""

    action: HistoryAction
    ok: bool
    detail: str = ""


@dataclass
class PinsChanged(Message, bubble=False):
    """A run was pinned as a reference, or the pins were cleared: every plot redraws."""

    text: str  # what changed, for a notice


@dataclass
class EngineFailed(Message, bubble=False):
    """A command failed; the previous session is intact. `field` names a form field when one is to blame."""

    action: str
    text: str
    field: str | None = None
    untrusted: str | None = None  # a model file that could run code, not trusted: the lab asks about this path


@dataclass
class FileWritten(Message, bubble=False):
    """An export, session save or screenshot finished."""

    what: Literal["session", "history", "screen"]
    path: str


@dataclass
class SaveConflict(Message, bubble=False):
    """A save found its file changed on disk since this lab loaded or wrote it: nothing was written; the
    lab asks whether to write over it (`text` names what changed, with its step counts)."""

    path: str
    text: str


@dataclass
class SaveProblem(Message, bubble=False):
    """A save or autosave did not land where it was asked (`line` says where it went, or that it went
    nowhere); an empty `line` after an autosave: autosaves land where they belong again."""

    what: Literal["save", "autosave"]
    line: str


@dataclass
class WhyReady(Message, bubble=False):
    """The attribution as of a step (while the Why tab is open): every attributed probe's split and sums."""

    report: WhyReport


@dataclass
class PreviewReady(Message, bubble=False):
    """The preview along the next update (`v`, or the Preview tab after a step)."""

    preview: Preview
