"""A plotext plot that draws a Chart, downsampled to its own width at render time.

Drawing cost then depends on the widget's size, never on the number of recorded steps.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from functools import partial

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.worker import Worker, WorkerState
from textual_plotext import PlotextPlot

from gradtui import logs
from gradtui.lab.history import downsample
from gradtui.tui.widgets.series import Chart, Series

RGB = tuple[int, int, int]
# Line colours per theme: series i keeps its hue (blue, red, green, orange, magenta, teal, yellow, gray) in
# every plot and theme, shaded for the plot background ($surface: #1E1E1E dark, #D8D8D8 light) so each line
# has a contrast of at least 4.5:1 (plotext's named colours gave 1.2-1.9:1 on the light background).
PALETTE_DARK: tuple[RGB, ...] = (
    (78, 168, 255),
    (255, 107, 107),
    (79, 209, 106),
    (255, 169, 77),
    (226, 123, 230),
    (61, 217, 214),
    (240, 224, 74),
    (180, 180, 180),
)
PALETTE_LIGHT: tuple[RGB, ...] = (
    (10, 79, 163),
    (179, 0, 30),
    (23, 107, 44),
    (143, 69, 0),
    (132, 25, 143),
    (0, 95, 102),
    (92, 82, 0),
    (60, 60, 60),
)


def palette(dark: bool) -> tuple[RGB, ...]:
    return PALETTE_DARK if dark else PALETTE_LIGHT


@dataclass(frozen=True)
class Look:
    """The theme's colours a build needs, read on the UI thread (a build may run on another)."""

    dark: bool = True
    surface: str = "#1E1E1E"  # the plot's background (textual-plotext draws on $surface)
    foreground: str = "#E0E0E0"


DARK_LOOK = Look()


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
        self._failed = False  # a build failure was already shown (each later one is only logged)

    def on_mount(self) -> None:
        # The palette follows the theme: repaint on a switch (a cached build for the old theme is ignored).
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh())

    def _look(self) -> Look:
        variables = self.app.theme_variables
        return Look(
            bool(self.app.current_theme.dark),
            variables.get("surface", DARK_LOOK.surface),
            variables.get("foreground", DARK_LOOK.foreground),
        )

    def show(self, chart: Chart, background: bool = False) -> None:
        self.chart = chart
        self._generation += 1
        width, height = self.size.width, self.size.height
        if not background or width < 12 or height < 5:
            self.refresh()
            return
        theme = self._get_plotext_theme_name(self.app.theme)
        generation = self._generation
        self.run_worker(
            partial(self._build_off_thread, chart, (width, height), theme, self._look(), generation),
            thread=True,
            group=f"draw-{self.id}",
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A build failed on its thread (run with exit_on_error=False, so the app lives on): log every
        failure, and say the first one in a toast, literally (an error text may hold markup brackets)."""
        if event.state != WorkerState.ERROR:
            return
        err = event.worker.error
        logs.logger().error("drawing %s failed", self.id, exc_info=err)
        if self._failed:
            return
        self._failed = True
        text = f"{type(err).__name__}: {err}" if err is not None else "unknown error"
        self.notify(text, title=f"drawing {self.chart.title} failed", severity="error", markup=False)

    def _build_off_thread(self, chart: Chart, size: tuple[int, int], theme: str, look: Look, generation: int) -> None:
        with self._lock:
            text = self._draw(chart, size, theme, look)
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
            return self._draw(self.chart, size, theme, self._look())

    def _draw(self, chart: Chart, size: tuple[int, int], theme: str, look: Look = DARK_LOOK) -> Text:
        """The chart as plotext draws it at `size` (what PlotextPlot.render does, with the data set here).

        plotext leaves the legend out when its canvas has fewer rows than series (the tab plots at 80x24),
        so then the title row becomes a coloured legend instead and plotext draws the rest."""
        width, height = size
        colours = palette(look.dark)
        shown = [(i, series) for i, series in enumerate(chart.series) if len(series.x)]
        inline = len(shown) > 1 and height - 5 < len(shown)  # canvas rows: height - title, ticks, labels, frame
        plt = self.plt
        plt.clear_figure()
        if not inline:
            plt.title(chart.title)
        plt.xlabel(chart.xlabel)
        plt.ylabel(chart.ylabel)
        if chart.ylabel_right and any(s.yside == "right" and len(s.x) for s in chart.series):
            plt.ylabel(chart.ylabel_right, yside="right")
        lo, hi = np.inf, -np.inf
        for i, series in shown:
            x, y = downsample(series.x, series.y, max(8, width - 10))
            plt.plot(
                x.tolist(),
                y.tolist(),
                label=None if inline else side_label(series),
                marker="braille",
                color=colours[i % len(colours)],
                yside=series.yside,
            )
            lo, hi = min(lo, float(x[0])), max(hi, float(x[-1]))
        if not shown:
            plt.xlim(0, 1)
            plt.ylim(0, 1)
        elif chart.xlabel == "step":
            if hi <= lo:  # one point (step 0): an axis from that step to the next, not plotext's -1..1
                hi = lo + 1
                plt.xlim(lo, hi)
            ticks = step_ticks(lo, hi, max(2, min(6, width // 12)))
            plt.xticks(ticks, [f"{t:,}" for t in ticks])
        try:
            rows = height - 1 if inline else height
            plt.plotsize(width, rows)
            plt._set_size(width, rows)  # as PlotextPlot.render does (textual-plotext issue 5)
            plt.theme(theme)
            built = Text.from_ansi(plt.build())
            if not inline:
                return built
            return Text.assemble(legend_line(chart, shown, colours, look, width), "\n", built)
        except Exception as err:
            return Text(f"{chart.title}: cannot draw ({type(err).__name__})", no_wrap=True)


def side_label(series: Series) -> str:
    return series.label + (" (right axis)" if series.yside == "right" else "")


def legend_line(
    chart: Chart, shown: list[tuple[int, Series]], colours: tuple[RGB, ...], look: Look, width: int
) -> Text:
    """`title  ━ a ━ b ━ c` in the series' colours on the plot's background, cut to `width`; a title too
    long for the line is shortened to its part before any colon."""
    base = Style(color=look.foreground, bgcolor=look.surface)
    items = Text()
    for i, series in shown:
        colour = Color.from_rgb(*colours[i % len(colours)])
        items.append(" ━ ", style=base + Style(color=colour, bold=True))
        items.append(side_label(series), style=base)
    title = chart.title if len(chart.title) + len(items) <= width else chart.title.split(":")[0]
    line = Text(title, style=base) + items
    line.truncate(width, overflow="ellipsis")
    line.append(" " * (width - line.cell_len), style=base)  # the plot's background across the whole row
    return line


def step_ticks(lo: float, hi: float, count: int) -> list[int]:
    """Whole-step ticks (steps are integers; plotext would label them 15.2, 30.5, …)."""
    return sorted({round(float(t)) for t in np.linspace(lo, hi, count)})
