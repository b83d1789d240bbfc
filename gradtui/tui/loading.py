"""What the status line says while an experiment loads, from the key press to the engine's answer.

A preset on another model rebuilds and retraces for seconds (8-15 s for the cnn on a busy 2-core box):
the status must say so at once, with a spinner and the time so far, or the lab looks frozen. Keys
pressed meanwhile wait for the new experiment, and the status counts them ("queued: 20 steps").
Kept apart from the screen so its bookkeeping is tested on its own (tests/tui/test_loading.py).
"""

from __future__ import annotations

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SPIN_SECONDS = 0.1  # one spinner frame per tenth of a second (the status redraws four times a second)


class Loading:
    """Preset switches asked for and not yet answered, and the engine's own loads (first build, a rebuild)."""

    def __init__(self) -> None:
        self.label = ""  # what is loading: the last preset asked for ("" for the engine's own loads)
        self.pending = 0  # preset switches (or opened files) asked for, not yet answered
        self.since: float | None = None  # when the load began (monotonic seconds)
        self.queued_steps = 0  # steps pressed during the load: they run on the new experiment
        self.then_play = False

    @property
    def switching(self) -> bool:
        """A preset switch (or a file opening) is on its way: the old experiment's plots are stale."""
        return self.pending > 0

    def switch(self, label: str, now: float) -> None:
        """A preset key (or an opened file): the load starts now, as far as the person is concerned."""
        self.pending += 1
        self.label = label
        if self.since is None:
            self.since = now

    def answered(self) -> None:
        """The engine's answer to one switch (the new session, the preset applied in place, or a failure)."""
        self.pending = max(0, self.pending - 1)
        if not self.pending:
            self._clear()

    def engine_state(self, state: str, now: float) -> None:
        """The engine's state: a load of its own starts the clock; any other state ends it (unless a switch
        is still on its way)."""
        if state == "loading":
            if self.since is None:
                self.since = now
        elif not self.pending:
            self._clear()

    def queue(self, steps: int, play: bool = False) -> None:
        """A step, run or play pressed now: counted while a switch is on its way (it runs after it)."""
        if self.pending:
            self.queued_steps += steps
            self.then_play = self.then_play or play

    def shown(self, state: str) -> bool:
        return self.pending > 0 or state == "loading"

    def detail(self, state: str, phase: str, now: float, frozen: bool) -> str:
        """`example3: building model ⠹ 2.1 s · queued: 20 steps`; without spinner and time when frozen."""
        what = phase if state == "loading" and phase else "starting"
        text = f"{self.label}: {what}" if self.pending and self.label else what
        if not frozen and self.since is not None:
            elapsed = max(0.0, now - self.since)
            text += f" {SPINNER[int(elapsed / SPIN_SECONDS) % len(SPINNER)]} {elapsed:.1f} s"
        if self.queued_steps:
            text += f" · queued: {self.queued_steps:,} step{'s' * (self.queued_steps != 1)}"
        if self.then_play:
            text += " · then play" if self.queued_steps else " · queued: play"
        return text

    def _clear(self) -> None:
        self.label, self.since, self.queued_steps, self.then_play = "", None, 0, False
