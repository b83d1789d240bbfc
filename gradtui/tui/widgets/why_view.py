"""The Why tab: one probe's attribution (why_text.py), redrawn when the engine posts a report."""

from __future__ import annotations

from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget

from gradtui.tui.why_report import WhyReport
from gradtui.tui.widgets.why_text import why_text

OFF = "Attribution is off. It runs while this tab is open (w), from the step it opened at."


class WhyView(Widget):
    """Draws the latest WhyReport for the selected probe at the widget's size."""

    DEFAULT_CSS = """
    WhyView { height: 1fr; padding: 0 1; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.report: WhyReport | None = None
        self.probe = 0
        self.class_names: tuple[str, ...] = ()
        self.on = False  # attribution asked for (the tab is open); the report follows the engine's answer
        self.refusal = ""  # why the session cannot attribute (a SavedModel, several devices), until a report

    def show(self, report: WhyReport | None, classes: tuple[str, ...]) -> None:
        self.report, self.class_names, self.refusal = report, classes, ""
        self.refresh()

    def failed(self, text: str) -> None:
        self.refusal = text
        self.refresh()

    def select(self, probe: int) -> None:
        self.probe = probe
        self.refresh()

    def render(self) -> RenderResult:
        if not self.on:
            return Text(OFF, "italic")
        if self.refusal:
            return Text(f"No attribution here: {self.refusal}", "italic")
        width = max(20, self.size.width)
        return why_text(self.report, self.probe, width, max(1, self.size.height), self.class_names)
