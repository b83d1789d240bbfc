"""The Preview tab: along the next update, the selected probe and the objective at w + α·Δw against
their first-order (and second-order) curves, and the curvature beside 2/η (preview_series.py)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from gradtui.lab.preview_result import Preview
from gradtui.tui.widgets import preview_series
from gradtui.tui.widgets.plots import ChartPlot

EMPTY = "v previews the next update along w + α·Δw (nothing changes: weights, optimizer state, history)."


class PreviewView(Vertical):
    """A line of figures over two charts; `show` draws a preview, `select` another probe of it."""

    DEFAULT_CSS = """
    PreviewView #preview-line { height: 1; padding: 0 1; }
    PreviewView .panels { height: 1fr; }
    PreviewView .panels > ChartPlot { margin-right: 1; }
    PreviewView .panels > ChartPlot:last-child { margin-right: 0; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.preview: Preview | None = None
        self.probe = 0
        self.class_names: tuple[str, ...] = ()
        self.stale = False  # a step since: the preview shown is of an earlier step's update

    def compose(self) -> ComposeResult:
        yield Static(Text(EMPTY, "italic"), id="preview-line")
        with Horizontal(classes="panels"):
            yield ChartPlot("probe along the update", id="plot-preview-probe")
            yield ChartPlot("objective along the update", id="plot-preview-objective")

    def show(self, preview: Preview, classes: tuple[str, ...]) -> None:
        self.preview, self.class_names, self.stale = preview, classes, False
        self._draw()

    def select(self, probe: int) -> None:
        self.probe = probe
        self._draw()

    def on_resize(self) -> None:
        self._line()

    def mark_stale(self) -> None:
        if self.preview is not None and not self.stale:
            self.stale = True
            self._line()

    def _line(self) -> None:
        if self.preview is None:
            return
        text = preview_series.curvature_line(self.preview, self.size.width)
        if self.stale:
            text = "(of an earlier step: v previews again) " + text
        self.query_one("#preview-line", Static).update(Text(text))

    def _draw(self) -> None:
        if self.preview is None:
            return
        self._line()
        probe = self.query_one("#plot-preview-probe", ChartPlot)
        probe.show(preview_series.predictions(self.preview, self.probe, self.class_names))
        self.query_one("#plot-preview-objective", ChartPlot).show(preview_series.objective(self.preview))
