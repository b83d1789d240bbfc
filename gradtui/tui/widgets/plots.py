"""A plotext plot that draws a Chart, downsampled to its own width at render time.

Drawing cost then depends on the widget's size, never on the number of recorded steps.
"""

from __future__ import annotations

import contextlib
import threading
from functools import partial

import numpy as np
from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot

from gradtui.lab.history import downsample
from gradtui.tui.widgets.series import Chart

# plotext colour names, fixed so the same layer/class keeps its colour in every plot and theme
PALETTE = ("blue+", "red+", "green+", "orange+", "magenta+", "cyan+", "yellow", "gray")


class ChartPlot(PlotextPlot):
    """One chart; `show()` swaps the data and repaints once.

    While the engine runs, `show(chart, background=True)` builds the plotext text on a thread (a
    build takes 10-40 ms of pure Python) and paints it when ready, so a key press never waits for a
    whole build: the event loop gets the GIL back every few milliseconds. At rest, and whenever the
    size changes, the build happens in `render` as usual, which keeps snapshots deterministic.
    """

    DEFAULT_CSS = """
    ChartPlot { height: 1fr; min-height: 6; }
    """

    def __init__(self, title: str = "", id: str | None = None) -> None:
        super().__init__(id=id)
        self.chart = Chart(title, "")
        self._lock = threading.Lock()  # one build at a time on this widget's plotext figure
        self._generation = 0
        self._ready: tuple[Chart, tuple[int, int], str, Text] | None = None

    def show(self, chart: Chart, background: bool = False) -> None:
        self.chart = chart
        self._generation += 1
        width, height = self.size.width, self.size.height
        if not background or width < 12 or height < 5:
            self.refresh()
            return
        theme = self._get_plotext_theme_name(self.app.theme)
        generation = self._generation
        self.run_worker(partial(self._build_off_thread, chart, (width, height), theme, generation),
                        thread=True, group=f"draw-{self.id}", exit_on_error=False)

    def _build_off_thread(self, chart: Chart, size: tuple[int, int], theme: str, generation: int) -> None:
        with self._lock:
            text = self._draw(chart, size, theme)
        with contextlib.suppress(RuntimeError):  # the app closed meanwhile
            self.app.call_from_thread(self._built, chart, size, theme, text, generation)

    def _built(self, chart: Chart, size: tuple[int, int], theme: str, text: Text, generation: int) -> None:
        if generation == self._generation:
            self._ready = (chart, size, theme, text)
            self.refresh()

    def render(self) -> RenderResult:
        size = (self.size.width, self.size.height)
        if size[0] < 12 or size[1] < 5:
            return Text(self.chart.title, no_wrap=True, overflow="ellipsis")
        theme = self._get_plotext_theme_name(self.app.theme)
        ready = self._ready
        if ready is not None and ready[0] is self.chart and ready[1] == size and ready[2] == theme:
            return ready[3]
        with self._lock:
            return self._draw(self.chart, size, theme)

    def _draw(self, chart: Chart, size: tuple[int, int], theme: str) -> Text:
        """The chart as plotext draws it at `size` (what PlotextPlot.render does, with the data set here)."""
        width, height = size
        plt = self.plt
        plt.clear_figure()
        plt.title(chart.title)
        plt.xlabel(chart.xlabel)
        plt.ylabel(chart.ylabel)
        drawn = 0
        lo, hi = np.inf, -np.inf
        for i, series in enumerate(chart.series):
            if len(series.x) == 0:
                continue
            x, y = downsample(series.x, series.y, max(8, width - 10))
            plt.plot(x.tolist(), y.tolist(), label=series.label, marker="braille", color=PALETTE[i % len(PALETTE)])
            lo, hi = min(lo, float(x[0])), max(hi, float(x[-1]))
            drawn += 1
        if drawn == 0:
            plt.xlim(0, 1)
            plt.ylim(0, 1)
        elif chart.xlabel == "step":
            if hi <= lo:  # one point (step 0): an axis from that step to the next, not plotext's -1..1
                hi = lo + 1
                plt.xlim(lo, hi)
            ticks = step_ticks(lo, hi, max(2, min(6, width // 12)))
            plt.xticks(ticks, [f"{t:,}" for t in ticks])
        try:
            plt.plotsize(width, height)
            plt._set_size(width, height)  # as PlotextPlot.render does (textual-plotext issue 5)
            plt.theme(theme)
            return Text.from_ansi(plt.build())
        except Exception as err:
            return Text(f"{chart.title}: cannot draw ({type(err).__name__})", no_wrap=True)


def step_ticks(lo: float, hi: float, count: int) -> list[int]:
    """Whole-step ticks (steps are integers; plotext would label them 15.2, 30.5, …)."""
    return sorted({round(float(t)) for t in np.linspace(lo, hi, count)})
