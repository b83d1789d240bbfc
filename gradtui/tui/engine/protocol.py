"""What the engine thread needs of a session and of where sessions come from, as Protocols.

The real ones are the lab's Session and engine/sessions.py (Keras, TensorFlow); the fake ones
(engine/fake.py) are NumPy only, so UI tests run without TensorFlow through the same worker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from gradtui.config import LabConfig
from gradtui.lab.attribution import AttributionSpec, Influence, ProbeMatrix, StepAttribution
from gradtui.lab.history import History
from gradtui.lab.pins import Pin
from gradtui.lab.preview_result import ALPHAS, Preview
from gradtui.lab.results import Divergence, ModelSummary, StepReport

Arrays = dict[str, np.ndarray]  # what a session file holds, packed


class EngineSession(Protocol):
    """A lab session as the engine drives it and the UI's EngineView reads it."""

    config: LabConfig
    summary: ModelSummary
    history: History
    notes: list[str]
    divergence: Divergence | None
    pins: tuple[Pin, ...]  # set before a save: the file carries the engine's pins
    preset: str  # the preset it runs as, or was started as ("": none): an opened session's story

    @property
    def snapshot_names(self) -> list[str]: ...
    @property
    def can_undo(self) -> bool: ...
    def step(self, n: int = 1, chunk: int = 0, should_stop: Callable[[], bool] | None = None) -> StepReport: ...
    def undo(self) -> bool: ...
    def reset(self) -> None: ...
    def snapshot(self, name: str | None = None) -> str: ...
    def snapshot_config(self, name: str) -> LabConfig: ...
    def restore(self, name: str) -> EngineSession: ...
    def with_config(self, config: LabConfig) -> EngineSession: ...
    def device_memory(self) -> tuple[tuple[str, float], ...]: ...
    # the Why and Preview tabs (lab/why.py; docs/attribution.md)
    @property
    def attributing(self) -> AttributionSpec | None: ...
    def attribution_on(
        self, probes: Sequence[int] | None = None, outputs: Mapping[int, int] | None = None, log_top: int = 0
    ) -> AttributionSpec: ...
    def attribution_off(self) -> None: ...
    def attribution(self, probe: int) -> StepAttribution | None: ...
    def influence(self, probe: int) -> Influence | None: ...
    def probe_matrix(self) -> ProbeMatrix | None: ...
    def row_inputs(self, source: str, rows: np.ndarray) -> np.ndarray | None: ...
    def preview(self, alphas: Sequence[float] = ALPHAS) -> Preview: ...
    @property
    def preview_prepared(self) -> bool: ...
    def prepare_preview(self) -> None: ...


class Sessions(Protocol):
    """Where the engine's sessions come from and how they are written: all called on engine or writer
    threads, never on the UI's."""

    def prepare(self) -> None:
        """Import what building a session needs (TensorFlow: the 3-second import)."""

    def build(self, config: LabConfig) -> EngineSession: ...
    def load(self, path: str) -> EngineSession: ...
    def pack(self, session: EngineSession) -> Arrays:
        """A copy of what the session's file holds (quick: the writer thread does the slow part)."""

    def to_bytes(self, arrays: Arrays, compress: bool) -> bytes:
        """The file's bytes (the saver writes them under the file's lock and remembers their hash)."""

    def step_of(self, path: Path) -> int | None:
        """The step count of the session file at `path` read cheaply, None if unreadable (what a save that
        finds the file changed on disk names)."""
