"""A plotext plot that draws a Chart, downsampled to its own width at render time.

Drawing cost then depends on the widget's size, never on the number of recorded steps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from plotext import _utility as plotext_utility
from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.message import Message
from textual_plotext import PlotextPlot

from gradtui import logs
from gradtui.lab.history import downsample
from gradtui.safe_text import visible
from gradtui.tui.widgets import ticks
from gradtui.tui.widgets.legend import (
    DARK_LOOK,
    PIN_MARKERS,
    Look,
    dimmed,
    fit_legend,
    hue,
    palette,
)
from gradtui.tui.widgets.series import OTHERS_HUE, Chart, Series


class _Builder:
    """One long-lived thread that builds plots for every ChartPlot, only the newest request per plot.

    A thread worker per build left each build's chart (whole-history arrays) in a reference cycle with
    its Worker until a full garbage collection, which is rare once the heap is frozen: during play
    that garbage grew by hundreds of MB a minute and the allocator never gave it back. Here a job is
    dropped as soon as it ran, and a plot whose build is still queued has it replaced, not queued twice.
    """

    def __init__(self) -> None:
        self._jobs: dict[int, Callable[[], None]] = {}
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, key: int, job: Callable[[], None]) -> None:
        with self._wake:
            self._jobs.pop(key, None)
            self._jobs[key] = job  # the newest request goes last
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="gradtui-plots", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._jobs:
                    self._wake.wait()
                key = next(iter(self._jobs))
                job = self._jobs.pop(key)
            try:
                job()
            except Exception:  # the plot is drawn again at rest by render(); the thread must live on
                logs.logger().exception("a plot build failed")
            del job


BUILDER = _Builder()


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
        self._ready_generation = 0
        self._awaiting = False  # a background build of the current chart is on its way

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

    @dataclass
    class Built(Message):
        """A background build finished (posted from the builder thread)."""

        chart: Chart
        size: tuple[int, int]
        theme: str
        text: Text
        generation: int

    @dataclass
    class BuildFailed(Message):
        """A background build raised (posted from the builder thread)."""

        error: Exception

    def show(self, chart: Chart, background: bool = False) -> None:
        self.chart = chart
        self._generation += 1
        width, height = self.size.width, self.size.height
        if not background or width < 12 or height < 5:
            self._ready, self._awaiting = None, False  # the old build's arrays are not needed any more
            self.refresh()
            return
        self._awaiting = True
        theme = self._get_plotext_theme_name(self.app.theme)
        generation, look, size = self._generation, self._look(), (width, height)

        def build() -> None:
            try:
                with self._lock:
                    text = self._draw(chart, size, theme, look)
            except Exception as err:  # shown once by the widget, on the UI thread
                self.post_message(ChartPlot.BuildFailed(err))
                return
            self.post_message(ChartPlot.Built(chart, size, theme, text, generation))  # False once closed

        BUILDER.submit(id(self), build)

    def on_chart_plot_build_failed(self, message: ChartPlot.BuildFailed) -> None:
        """A build failed on the builder thread (the app lives on): log every failure, and say the first
        one in a toast, literally (an error text may hold markup brackets)."""
        message.stop()
        err = message.error
        logs.logger().error("drawing %s failed", self.id, exc_info=err)
        if self._failed:
            return
        self._failed = True
        self.notify(
            f"{type(err).__name__}: {err}", title=f"drawing {self.chart.title} failed", severity="error", markup=False
        )

    def on_chart_plot_built(self, message: ChartPlot.Built) -> None:
        """Paint any build newer than the painted one: when builds take longer than the redraw period
        (a loaded machine), waiting for the newest would paint nothing until the play stops."""
        message.stop()
        if self._ready_generation < message.generation <= self._generation and self._awaiting:
            self._ready = (message.chart, message.size, message.theme, message.text)
            self._ready_generation = message.generation
            self._awaiting = message.generation < self._generation
            self.refresh()

    def render(self) -> RenderResult:
        size = (self.size.width, self.size.height)
        if size[0] < 12 or size[1] < 5:
            return Text(visible(self.chart.title), no_wrap=True, overflow="ellipsis")
        theme = self._get_plotext_theme_name(self.app.theme)
        ready = self._ready
        if ready is not None and ready[1] == size and ready[2] == theme and (ready[0] is self.chart or self._awaiting):
            return ready[3]  # (or a build one redraw behind, while the current one is on its way)
        with self._lock:
            return self._draw(self.chart, size, theme, self._look())

    def _draw(self, chart: Chart, size: tuple[int, int], theme: str, look: Look = DARK_LOOK) -> Text:
        """The chart at `size`: a title line, plotext's frame with round ticks, and the legend outside
        the frame (on the title line when it fits, else on a row under the plot)."""
        width, height = size
        colours = palette(look.dark)
        shown = [series for series in chart.series if len(series.x)]
        title = title_text(chart, look, width)
        rows = 1 if height < 14 else 2
        shown, entries = fit_legend(chart, shown, colours, look, width - title.cell_len, width, rows)
        on_title = len(entries) == 1 and title.cell_len + entries[0].cell_len <= width
        header = Text.assemble(title, entries[0]) if on_title else title
        footer = [] if on_title else entries
        plot_rows = height - 1 - len(footer)
        try:
            built = self._build_plot(chart, shown, (width, plot_rows), theme, look)
        except Exception as err:
            return Text(f"{visible(chart.title)}: cannot draw ({type(err).__name__})", no_wrap=True)
        lines = [_padded(header, width, look), built, *(_padded(line, width, look) for line in footer)]
        return Text("\n").join(lines)

    def _build_plot(self, chart: Chart, shown: list[Series], size: tuple[int, int], theme: str, look: Look) -> Text:
        width, height = size
        colours = palette(look.dark)
        canvas_rows = height - 3  # plotext's frame takes two rows, the x tick labels one
        plt = self.plt
        plt.clear_figure()
        log = chart.log and any(bool(np.any(s.y > 0)) for s in shown)
        left_axis = value_axis(chart, shown, canvas_rows, log)  # a scatter's x shares it, so y = x is the diagonal
        label_width = max(map(len, left_axis.labels), default=1) + 1
        canvas_width = max(8, width - label_width - 2)
        for series in sorted(shown, key=drawing_order):  # pins last: a line drawn later wins a shared cell
            x, y = (series.x, series.y) if chart.scatter else downsample(series.x, series.y, max(8, canvas_width))
            if log:
                keep = y > 0
                x, y = x[keep], y[keep]
            if not len(x):
                continue
            colour = colours[hue(series, chart) % len(colours)]
            marker = "braille"
            if series.pin >= 0:
                colour, marker = dimmed(colour, look), PIN_MARKERS[series.pin % len(PIN_MARKERS)]
            draw = plt.scatter if chart.scatter else plt.plot
            draw(x.tolist(), y.tolist(), marker=marker, color=colour)
        for mark in chart.marks:
            plt.hline(mark.y, color=colours[OTHERS_HUE])
        for mark in chart.xmarks:
            plt.vline(mark.y, color=colours[OTHERS_HUE])
        if log:
            plt.yscale("log")
        plt.ylim(left_axis.lo, left_axis.hi)
        plt.yticks(list(left_axis.ticks), list(left_axis.labels))
        if chart.scatter:
            lo, hi = left_axis.lo, left_axis.hi
            plt.plot([lo, hi], [lo, hi], marker="·", color=colours[OTHERS_HUE])  # y = x: the forecast was exact
            x_ticks = ticks.x_axis(lo, hi, canvas_width, integer=False)
        else:
            xs = [s.x for s in shown if len(s.x)]
            lo = min((float(x[0]) for x in xs), default=0.0)
            hi = max((float(x[-1]) for x in xs), default=1.0)
            x_ticks = ticks.x_axis(lo, hi, canvas_width)
        plt.xlim(x_ticks.lo, x_ticks.hi)
        plt.xticks(list(x_ticks.ticks), list(x_ticks.labels))
        plt.plotsize(width, height)
        plt._set_size(width, height)  # as PlotextPlot.render does (textual-plotext issue 5)
        plt.theme(theme)
        return figure_text(plt)


_CELL_STYLES: dict[tuple[Any, Any, Any], Style | str] = {}  # plotext's (colour, style, background) -> rich


def _cell_style(colours: tuple[Any, Any, Any]) -> Style | str:
    """The rich style of plotext cells with these colours: plotext's own ANSI code for them, decoded by
    rich once (as Text.from_ansi would decode each occurrence)."""
    style = _CELL_STYLES.get(colours)
    if style is None:
        decoded = Text.from_ansi(plotext_utility.colors_to_ansi(*colours) + "x")
        style = _CELL_STYLES[colours] = decoded.spans[0].style if decoded.spans else ""
    return style


def figure_text(plt: Any) -> Text:
    """The figure as rich Text, read from plotext's character and colour matrices.

    `plt.build()` prints every cell's colours as ANSI codes and `Text.from_ansi` parses them back:
    that round trip was about half of a plot's drawing time. The lines and styles are the same."""
    plt._set_sizes()
    plt._build_matrix()
    matrix = plt.monitor.matrix
    lines = []
    for row in reversed(range(matrix.rows)):
        markers, fore, back = matrix.marker[row], matrix.fullground[row], matrix.background[row]
        look = matrix.style[row]
        line = Text()
        start = 0
        for col in range(1, matrix.cols + 1):
            if col == matrix.cols or fore[col] != fore[start] or look[col] != look[start] or back[col] != back[start]:
                line.append("".join(markers[start:col]), _cell_style((fore[start], look[start], back[start])))
                start = col
        lines.append(line)
    return Text("\n").join(lines)


def drawing_order(series: Series) -> tuple[int, int]:
    """The live run first, then the pins oldest to newest. In a terminal a cell shows one series: drawn
    under the live line, a reference in the same rows vanished (example 1's 0.378 -> 0.240 against the
    random control's flat 0.39 at 80x24); drawn over it, in its own glyph, it stays visible and the live
    line shows everywhere the reference is not."""
    return (series.pin >= 0, series.pin)


def value_axis(chart: Chart, shown: list[Series], rows: int, log: bool) -> ticks.Axis:
    """The y axis for these series: their range, widened to the chart's fixed range, zero and marks."""
    values = [s.y[np.isfinite(s.y)] for s in shown] + [s.x[np.isfinite(s.x)] for s in shown if chart.scatter]
    data = np.concatenate(values) if values else np.zeros(0)
    if log:
        data = data[data > 0]
        return ticks.log_axis(float(np.min(data)), float(np.max(data)), rows)
    points = [float(np.min(data)), float(np.max(data))] if len(data) else []
    points += [mark.y for mark in chart.marks]
    if chart.include is not None:
        points += list(chart.include)
    if chart.from_zero or not points:
        points.append(0.0)
    if chart.include is not None and len(data) and points[0] < chart.include[0] <= min(points[1:]):
        return ticks.y_axis_dipping(chart.include[0], max(points), rows, points[0])  # only the data dips below
    return ticks.y_axis(min(points), max(points), rows)


def title_text(chart: Chart, look: Look, width: int = 0) -> Text:
    """The title and its note; a small multiple's note only when it fits whole in `width` (its title is
    the panel's axis label, and the glossary in `?` and `i` says the rest)."""
    base = Style(color=look.foreground, bgcolor=look.surface)
    text = Text(visible(chart.title), style=base + Style(bold=True))  # titles can quote a model's names
    if chart.note and not (chart.titled and width and len(chart.title) + len(chart.note) + 3 > width):
        text.append(f" ({visible(chart.note)})", style=base + Style(italic=True))
    if chart.log:
        text.append(" (log scale)", style=base)
    return text


def _padded(line: Text, width: int, look: Look) -> Text:
    """One row, cut to `width` and filled with the plot's background (no stray cells from a shorter line)."""
    line = line.copy()
    line.truncate(width, overflow="ellipsis")
    line.append(" " * (width - line.cell_len), style=Style(bgcolor=look.surface))
    return line
