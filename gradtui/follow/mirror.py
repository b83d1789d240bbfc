"""The follower's copy of the lab: the stream's messages applied to a History and a few texts.

No Textual here, so the tests can feed it messages directly. The reader thread applies messages
(History is thread-safe; the other fields are replaced whole), and the app reads them on its loop.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from rich.text import Text

from gradtui.lab.history import History
from gradtui.lab.pins import Pin
from gradtui.lab.results import ModelSummary
from gradtui.stream import protocol

MAX_STORIES = 20


class Mirror:
    """The lab as its stream last said: history, model summary, pins, status texts, stories and notes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.history: History | None = None
        self.summary: ModelSummary | None = None
        self.pins: tuple[Pin, ...] = ()
        self.state = "loading"
        self.detail = ""
        self.device = ""
        self.rate = ""
        self.stories: tuple[Text, ...] = ()
        self.notes: tuple[str, ...] = ()
        self.preset = ""
        self.tabs: tuple[str, ...] = ()
        self.followers = 0
        self.resets = 0  # how many times the history was replaced (the plots redraw whole)
        self._log: list[str] = []

    def apply(self, message: dict[str, Any]) -> str:
        """Apply one message; its kind (`reset`, `rows`, `pins`, `state`, `log`). ProtocolError if malformed."""
        kind = str(message.get("t", ""))
        try:
            if kind == "reset":
                dims = protocol.unpack_dims(message["dims"])
                summary = protocol.unpack_summary(message["summary"])
                self.history, self.summary = History(dims), summary
                self.resets += 1
            elif kind == "rows":
                history = self.history
                if history is None:
                    raise protocol.ProtocolError("rows before any reset")
                columns = protocol.unpack_columns(message["columns"])
                if len(columns["step"]):
                    history.append(columns)
            elif kind == "pins":
                self.pins = protocol.unpack_pins(message["pins"])
            elif kind == "state":
                self.state = str(message.get("state", ""))
                self.detail = str(message.get("detail", ""))
                self.device = str(message.get("device", ""))
                self.rate = str(message.get("rate", ""))
                self.stories = tuple(protocol.unpack_text(t) for t in message.get("stories", ()))[-MAX_STORIES:]
                self.notes = tuple(str(n) for n in message.get("notes", ()))
                self.preset = str(message.get("preset", ""))
                self.tabs = tuple(str(t) for t in message.get("tabs", ()))
                self.followers = int(message.get("followers", 0))
            elif kind == "log":
                with self._lock:
                    self._log.extend(str(line) for line in message.get("lines", ()))
        except (KeyError, TypeError, ValueError) as err:
            if isinstance(err, protocol.ProtocolError):
                raise
            raise protocol.ProtocolError(f"malformed {kind or 'message'} ({type(err).__name__}: {err})") from err
        return kind

    def take_log(self) -> list[str]:
        """The log lines received since the last call."""
        with self._lock:
            lines, self._log = self._log, []
        return lines

    @property
    def step(self) -> int | None:
        history = self.history
        return int(history.last("step")) if history is not None and len(history) else None

    def prediction(self, probe: int) -> np.ndarray | None:
        """The latest outputs of probe `probe` (None before any row or past the last probe)."""
        history = self.history
        if history is None or not len(history):
            return None
        last = history.last("predictions")
        return last[probe] if probe < len(last) else None
