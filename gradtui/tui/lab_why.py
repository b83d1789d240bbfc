"""The lab screen's Why and Preview tabs: their keys (w, v, j), attribution switched on while the Why tab
is open and off when it closes (cost only when used), and the engine's reports drawn as they arrive.

LabScreen (lab_screen.py) builds on this; the layout is LabDisplay's, the tabs' widgets are
widgets/why_view.py and widgets/preview_view.py, the engine's side is engine/explainer.py.
"""

from __future__ import annotations

from textual import on
from textual.widgets import TabbedContent

from gradtui.tui.lab_display import LabDisplay
from gradtui.tui.messages import (
    ConfigApplied,
    EngineFailed,
    HistoryChanged,
    PreviewReady,
    SessionReady,
    StepsDone,
    WhyReady,
)

WHY_TAB, PREVIEW_TAB = "tab-why", "tab-preview"


class ExplainingScreen(LabDisplay):
    """The Why and Preview tabs' actions and messages (the rest of the lab's are LabScreen's)."""

    def can_act(self) -> bool:
        raise NotImplementedError

    def interrupt(self) -> None:
        raise NotImplementedError

    @property
    def classes_shown(self) -> tuple[str, ...]:
        summary = self.view.summary
        return summary.classes if summary is not None else ()

    def action_why(self) -> None:
        self.plots.show_tab(WHY_TAB)

    def action_preview(self) -> None:
        """Bring up the Preview tab and preview the next update (a run in progress stops first)."""
        self.plots.show_tab(PREVIEW_TAB)
        if self.can_act():
            self.interrupt()
            self.engine.preview()

    def action_next_probe(self) -> None:
        """Draw the next probe in the prediction, forecast, Why and Preview views (wrapping)."""
        history = self.view.history
        count = history.dims.probes if history is not None else 1
        plots = self.plots
        plots.probe = (plots.probe + 1) % max(count, 1)
        plots.why.select(plots.probe)
        plots.preview.select(plots.probe)
        plots.mark_dirty()
        self.tick()
        if count <= 1:
            self.notify("There is one probe (n_probe in the form adds more).", timeout=3)
        else:
            self.notify(f"probe {plots.probe} of {count} (0..{count - 1})", timeout=2)

    @on(TabbedContent.TabActivated)
    def _explain_while_open(self) -> None:
        """Attribution on while the Why tab is open, off when it closes; the Preview tab previews on opening."""
        active = self.plots.active_tab
        want = active == WHY_TAB
        why = self.plots.why
        if want != self.engine.explaining:
            why.on = want
            if want:
                why.show(None, self.classes_shown)  # the report follows from the step it opened at
            self.engine.explain(want)
        if active == PREVIEW_TAB and self.view.loaded and self.plots.preview.preview is None:
            self.engine.preview()

    @on(WhyReady)
    def _why_ready(self, message: WhyReady) -> None:
        if self.engine.explaining:  # a report that arrives after the tab closed is not shown
            self.plots.why.show(message.report, self.classes_shown)

    @on(PreviewReady)
    def _preview_ready(self, message: PreviewReady) -> None:
        self.plots.preview.show(message.preview, self.classes_shown)

    @on(StepsDone)
    @on(HistoryChanged)
    @on(ConfigApplied)
    @on(SessionReady)
    def _preview_moved(self) -> None:
        """The update previewed is not the next one any more: preview again if the tab is open and the
        engine at rest, else say the preview is of an earlier step."""
        history = self.view.history
        if history is not None and self.plots.probe >= history.dims.probes:  # fewer probes now
            self.plots.probe = 0
            self.plots.why.select(0)
            self.plots.preview.select(0)
        view = self.plots.preview
        if self.plots.active_tab == PREVIEW_TAB and self.view.idle and self.view.loaded:
            self.engine.preview()
        else:
            view.mark_stale()

    @on(EngineFailed)
    def _why_failed(self, message: EngineFailed) -> None:
        if message.action == "why":
            self.plots.why.failed(message.text)
