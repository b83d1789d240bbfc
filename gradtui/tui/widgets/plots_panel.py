"""The plots: the always-shown row, the tabs (one per tabbed plot or group, then the log), and when they redraw.

Plots redraw a few times a second from the History, never once per step, and only the visible ones:
the top row and the active tab. The layout and builders come from plot_table.PLOTS.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import TabbedContent, TabPane

from gradtui.lab.history import History
from gradtui.lab.pins import Pin
from gradtui.lab.results import ModelSummary
from gradtui.tui.widgets import series
from gradtui.tui.widgets.log_view import LogView
from gradtui.tui.widgets.plot_table import LOG_TAB, PLOTS, VIEWS, Inputs, Plot, tabs
from gradtui.tui.widgets.plots import ChartPlot
from gradtui.tui.widgets.preview_view import PreviewView
from gradtui.tui.widgets.why_view import WhyView

VIEW_WIDGETS: dict[str, type[WhyView] | type[PreviewView]] = {"why": WhyView, "preview": PreviewView}  # per VIEWS tab

REFRESH_SECONDS = 0.25  # plots and status redraw a few times a second, never once per step
STAGGER_SECONDS = 0.06  # while running, the plots of one redraw paint in separate frames this far apart
TOP_PLOTS = tuple(plot for plot in PLOTS if plot.tab is None)
TAB_PLOTS = tuple(plot for plot in PLOTS if plot.tab is not None)


def zero_toast(from_zero: bool, log: bool) -> str:
    """What `z` changed: a log axis has no zero, so the norms on one (and the update ratios, always on
    one) keep their fitted decades."""
    if not from_zero:
        return "axes fitted to the data"
    if log:
        return "axes from zero, but not the norms and update ratios: a log axis has no zero (l: linear norms)"
    return "axes from zero (update ratios stay on their log axis)"


class PlotsPanel(Vertical):
    """Owns the plot widgets and the tabs; `refresh_plots` repaints what is visible when the history moved."""

    DEFAULT_CSS = """
    PlotsPanel .panels { height: 1fr; }
    PlotsPanel .panels > ChartPlot { margin-right: 1; }
    PlotsPanel .panels > ChartPlot:last-child { margin-right: 0; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self._drawn_len = -1
        self._dirty = True
        self._plots: dict[str, ChartPlot] = {}
        self._log: LogView | None = None
        self.log_scale = False  # weight and gradient norms on a log axis (`l`)
        self.from_zero = False  # data-driven axes reach zero (`z`)
        self.probe = 0  # the probe drawn in the prediction and forecast plots

    def compose(self) -> ComposeResult:
        with Horizontal(id="top-plots"):
            for plot in TOP_PLOTS:
                yield ChartPlot(plot.title, id=plot.widget_id)
        with TabbedContent(id="tabs"):
            for tab_id, plots in tabs().items():
                with TabPane(plots[0].tab or tab_id, id=tab_id), Horizontal(classes="panels"):
                    for plot in plots:  # one, or small multiples side by side
                        yield ChartPlot(plot.title, id=plot.widget_id)
            for view in VIEWS:
                with TabPane(view.tab, id=view.tab_id):
                    yield VIEW_WIDGETS[view.key](id=f"view-{view.key}")
            with TabPane(LOG_TAB, id="tab-log"):
                yield LogView(max_lines=2000, min_width=20, id="log")

    def on_mount(self) -> None:
        for plot in PLOTS:
            self._plots[plot.key] = self.query_one(f"#{plot.widget_id}", ChartPlot)
        self._log = self.query_one("#log", LogView)

    @property
    def log_view(self) -> LogView | None:
        """The log, held from mount on: a timer tick while the app tears its widgets down must not query."""
        return self._log

    def mark_dirty(self) -> None:
        """Redraw on the next update even if the history's length has not changed (undo, a new config...)."""
        self._dirty = True

    def refresh_plots(self, history: History, summary: ModelSummary, pins: tuple[Pin, ...], running: bool) -> None:
        """Repaint the visible plots if the history grew or moved since the last paint."""
        rows = len(history)
        if rows == self._drawn_len and not self._dirty:
            return
        self._drawn_len = rows
        self._dirty = False
        inputs = Inputs(
            history,
            summary.layers,
            summary.activation,
            pins,
            self.log_scale,
            self.from_zero,
            self.probe,
            summary.classes,
        )
        self._redraw(inputs, running)

    def switch_tab(self, step: int) -> str:
        """Activate the tab `step` places on (wrapping); its label."""
        tabs = self.query_one("#tabs", TabbedContent)
        ids = [pane.id for pane in tabs.query(TabPane) if pane.id]
        current = ids.index(tabs.active) if tabs.active in ids else 0
        tabs.active = ids[(current + step) % len(ids)]
        return str(tabs.get_tab(tabs.active).label)

    def show_tab(self, tab_id: str) -> None:
        self.query_one("#tabs", TabbedContent).active = tab_id

    @property
    def active_tab(self) -> str:
        return self.query_one("#tabs", TabbedContent).active

    @property
    def why(self) -> WhyView:
        return self.query_one(WhyView)

    @property
    def preview(self) -> PreviewView:
        return self.query_one(PreviewView)

    def _visible(self) -> list[Plot]:
        active = self.query_one("#tabs", TabbedContent).active
        return [*TOP_PLOTS, *(plot for plot in TAB_PLOTS if plot.tab_id == active)]

    def _redraw(self, inputs: Inputs, running: bool) -> None:
        """Repaint the visible plots. While running, each builds on a thread, so no build (10-40 ms of
        plotext) holds a key press; and they start 60 ms apart, since three builds contending for the GIL
        at once measured a p99 latency of 22-33 ms against 15-16 ms staggered (bench's TUI probe)."""
        jobs: list[tuple[ChartPlot, Callable[[], series.Chart]]] = [
            (self._plots[plot.key], partial(plot.build, inputs)) for plot in self._visible()
        ]
        if not running:
            for widget, build in jobs:  # at rest draw at once
                widget.show(build())
            return
        widget, build = jobs[0]
        widget.show(build(), background=True)
        for i, (widget, build) in enumerate(jobs[1:], start=1):  # (Textual's set_timer cannot take 0)
            self.set_timer(i * STAGGER_SECONDS, lambda w=widget, b=build: w.show(b(), background=True))

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self._dirty = True  # the message bubbles on: the app redraws at once rather than on its next tick
