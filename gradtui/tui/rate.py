"""The steps-per-second figure on the status line: an average that follows the play, not the idle time.

Kept apart from the screen so its arithmetic is tested on its own (tests/tui/test_rate.py).
"""

from __future__ import annotations

from gradtui.lab.results import StepReport


class StepRate:
    """While a run goes on, each timer tick averages in the rows it saw since the last (half the old figure,
    half the new); a finished command's own measurement replaces it; a new experiment clears it."""

    def __init__(self) -> None:
        self.value: float | None = None  # steps per second, None until measured
        self._mark: tuple[float, int] | None = None  # (time, rows) at the last tick of the current run

    def tick(self, rows: int, running: bool, now: float) -> None:
        """The timer's reading: `rows` of history at `now` (monotonic seconds)."""
        if not running:
            self._mark = None
            return
        if self._mark is not None and now > self._mark[0]:
            then, before = self._mark
            if rows != before:
                live = (rows - before) / (now - then)
                self.value = live if self.value is None else 0.5 * self.value + 0.5 * live
        self._mark = (now, rows)

    def restart(self) -> None:
        """A run starts: the time since the last one is not a step's."""
        self._mark = None

    def measured(self, report: StepReport) -> None:
        """A step command finished: its own timing is the best figure."""
        if report.steps and report.seconds > 0:
            self.value = report.steps_per_s

    def clear(self) -> None:
        """A new experiment (or session): no figure from the old one."""
        self.value = None
        self._mark = None
