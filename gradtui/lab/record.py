"""SessionRecord: what a session file holds, as plain data, so the file format never sees a Session.

`Session.to_record()` copies one out (on the thread that owns the session); `session_file.pack`
turns it into arrays and `session_file.read` turns a file back into one; `Session.from_record()`
builds the experiment and writes the states into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from gradtui.config import LabConfig
from gradtui.lab.pins import Pin
from gradtui.lab.timeline import State


@dataclass(frozen=True)
class InfluenceRecord:
    """Attribution as saved: the attributed probes, each one's tracked output, and the per-row sums
    (values), the step each sum began at (since) and the steps counted, so a resume continues them."""

    probes: tuple[int, ...]
    outputs: tuple[int, ...]
    values: np.ndarray
    since: np.ndarray
    counted: np.ndarray


@dataclass
class SessionRecord:
    """A session's settings, current state, named snapshots, notes and pinned runs."""

    config: LabConfig
    current: State  # with its history; its config is None (the record's own)
    snapshots: dict[str, State] = field(default_factory=dict)  # a state's config None: taken under `config`
    notes: list[str] | None = None  # None: none recorded, the settings' own notes stand
    pins: tuple[Pin, ...] = ()
    file_notes: tuple[str, ...] = ()  # what the file itself calls for (an older format's semantics)
    preset: str = ""  # the preset it ran as ("": none), for the story a reopened lab shows
    influence: InfluenceRecord | None = None  # attribution's sums while it is on


class Recorded(Protocol):
    """Anything that can give its record (a Session): what `session_file.pack` also accepts."""

    def to_record(self) -> SessionRecord: ...
