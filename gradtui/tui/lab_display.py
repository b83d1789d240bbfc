"""What the lab shows: the settings form, the controls, the status line, the story, the demo banner and
the plots, redrawn on a timer from the engine's read-only view (view.py).

LabScreen (lab_screen.py) builds on this with what the keys and the engine's answers do. The screen is
the app's default screen, so it stays mounted under every modal and its widgets are always there.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import TabbedContent

from gradtui import autosave as autosaves
from gradtui import logs
from gradtui.config import LabConfig
from gradtui.lab.results import ModelSummary
from gradtui.presets import Preset
from gradtui.safe_text import visible
from gradtui.tui.commands import FOOTER_DROPS, FOOTER_SHORT
from gradtui.tui.engine import EngineFactory
from gradtui.tui.experiment import heading, preset_title
from gradtui.tui.loading import Loading
from gradtui.tui.rate import StepRate
from gradtui.tui.view import EngineView
from gradtui.tui.widgets.footer import LabFooter
from gradtui.tui.widgets.form import ConfigForm
from gradtui.tui.widgets.plots_panel import REFRESH_SECONDS, PlotsPanel
from gradtui.tui.widgets.status import (
    Controls,
    StatusLine,
    StoryLine,
    devices_label,
    format_prediction,
    format_rate,
    memory_label,
)

MEMORY_SECONDS = 2.0  # how often the status reads each GPU replica's memory in use
STORIES_KEPT = 20  # explanations `i` shows, newest first

if TYPE_CHECKING:
    from gradtui.tui.share import Share


FIRST_HINT = "Keys: space steps · 1-6 pick an experiment · ? lists all (any key hides this)"


class LabDisplay(Screen[None]):
    """The lab's layout and its redraws; the engine is made here, posting its messages to this screen."""

    def __init__(
        self, engine: EngineFactory, config: LabConfig, source: str | None, preset: Preset | None, frozen: bool
    ) -> None:
        super().__init__()
        self.initial_config = config
        self.engine = engine(self, config, source)  # source: a session file or autosave to open first
        self.view = EngineView(self.engine)  # all the UI reads of the engine goes through this
        self.preset = preset  # the experiment chosen last, whose story the notes extend
        self.frozen = frozen  # hide timing-dependent text (snapshot tests, recorded demos)
        self.form_valid = True
        self.form_open: bool | None = None  # None: follow the width (open when wide)
        self.rate = StepRate()
        self.loads = Loading()  # what the status says while an experiment loads
        self.memory: tuple[tuple[str, float], ...] = ()  # (GPU:N, MB in use) per GPU replica, last read
        self.stories: list[Text] = []  # every explanation shown in the story line, oldest first (`i` shows them)
        self.share: Share | None = None  # --share: followers get what the status line shows
        self.save_alert = ""  # a save or autosave that failed or landed elsewhere: on the status line until fixed
        self._log_serial = 0

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            yield ConfigForm(self.initial_config, id="sidebar")
            with Vertical(id="main"):
                yield Controls(id="controls")
                yield StatusLine(id="status")
                yield StoryLine(id="story")
                yield StoryLine(id="demo-note")  # cut like the story, with the same hint to `i`
                yield StoryLine(id="hint")  # a plain start's first-run hint; any key hides it
                yield StoryLine(id="notice")  # stays until escape: e.g. which damaged autosaves were moved aside
                yield PlotsPanel(id="plots")
        yield LabFooter(FOOTER_SHORT, FOOTER_DROPS)

    def on_mount(self) -> None:
        self.loads.engine_state(self.view.state, time.monotonic())  # the first build's clock starts now
        self.update_form_visibility()
        self.update_controls()
        self.update_status()
        self.set_interval(REFRESH_SECONDS, self.tick)
        self.set_interval(MEMORY_SECONDS, self.read_memory)

    @property
    def form(self) -> ConfigForm:
        return self.query_one(ConfigForm)

    @property
    def plots(self) -> PlotsPanel:
        return self.query_one(PlotsPanel)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A toast through the app's notify: literal text unless asked otherwise (Widget.notify's default
        is markup, and toasts here quote paths, snapshot names and error text)."""
        self.app.notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def say(self, text: str) -> None:
        """A line for the log view (and the log file)."""
        logs.logger().info("%s", text)  # the tail poll shows it in the log view, in order with TF's lines

    # -- the timer -------------------------------------------------------------------------------

    def tick(self) -> None:
        """Redraw what moved: the log's new lines, the visible plots, the status line."""
        self.poll_logs()
        history, summary = self.view.history, self.view.summary
        if history is None or summary is None:
            self.update_status()
            return
        running = self.view.busy
        self.rate.tick(len(history), running, time.monotonic())
        self.plots.refresh_plots(history, summary, self.view.pins, running)
        self.update_status()

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.tick()  # the panel has marked itself dirty: draw the new tab now, not on the next tick

    def poll_logs(self) -> None:
        lines = logs.TAIL.since(self._log_serial)
        log = self.plots.log_view
        if lines and log is not None:  # before the panel mounts, the lines wait in the tail for the next tick
            self._log_serial = lines[-1][0]
            for _, text in lines:
                log.add(Text(visible(text)))  # plain text (no markup, controls visible), wrapped to the view's width

    def read_memory(self) -> None:
        """GPU memory moves with allocations, not with each step: a reading every few seconds is plenty."""
        memory = self.view.device_memory()
        if memory != self.memory:
            self.memory = memory
            self.update_status()

    def update_status(self) -> None:
        view = self.view
        summary = view.summary
        device = devices_label(summary.devices or (summary.device,)) if summary else ""
        device = memory_label(self.memory) or device  # each GPU named with its memory, when there are readings
        rate = format_rate(self.rate.value, self.frozen)
        state, detail, step = view.state, view.detail, view.step
        prediction = format_prediction(view.last_prediction(), regression=summary is not None and summary.regression)
        loads = self.loads
        if loads.shown(state):  # what is loading, a spinner and the time so far: a long load never looks frozen
            detail = loads.detail(state, detail, time.monotonic(), self.frozen)
            state = "loading"
        if loads.switching:  # the old experiment's step, rate and probe are not the one on its way
            step, rate, prediction = None, format_rate(None, self.frozen), format_prediction(None)
        if loads.switching != self.plots.has_class("-stale"):  # dimmed until the new experiment draws
            if loads.switching:  # a frame after the status: repainting the plots dimmed takes ~30 ms
                self.call_after_refresh(self._dim_plots)
            else:
                self.plots.remove_class("-stale")
        self.query_one("#status", StatusLine).show(
            visible(device),
            step,
            rate,
            prediction,
            state,
            visible(detail),  # "building <model path>"
            self.share.followers if self.share else None,
            alert=self.save_alert,
        )
        if self.share:
            self.share.offer(view, self.stories, self.preset, device, rate)

    def _dim_plots(self) -> None:
        self.plots.set_class(self.loads.switching, "-stale")

    def update_controls(self) -> None:
        ready = self.view.loaded and self.view.state != "loading"
        self.query_one("#controls", Controls).set_enabled(ready, self.form_valid, self.view.state == "running")

    # -- explanations ----------------------------------------------------------------------------

    @staticmethod
    def preset_title(preset: Preset) -> str:
        return preset_title(preset)

    def show_experiment(self, config: LabConfig, note: str = "") -> None:
        """The story line names the experiment (its preset, or its settings) and tells its story, with the
        engine's latest note after an arrow."""
        title, story, self.preset = heading(config, self.preset)
        self.show_story(title, f"{story}  ⟶ {note}" if note and story else note or story)

    def find_resume(self) -> None:
        """The newest autosave that reads back whole, offered in the hint line (else a new user's three
        keys); damaged newer ones are moved aside (as --resume would) and named in a notice that stays."""
        choice = autosaves.newest_readable()
        found = choice.path if choice.path not in (self.engine.autosave_path, None) else None
        if found is not None and autosaves.is_running(found):
            found = None  # another lab's, still running: nothing of it is lost, so nothing to offer
        if choice.notice:
            self.app.call_from_thread(self.show_notice, choice.notice)
        if found is None:
            self.app.call_from_thread(self.show_hint, FIRST_HINT)
        else:
            text = f"gradtui --resume reopens an unsaved exploration, autosaved to {autosaves.describe(found)}."
            self.app.call_from_thread(self.show_hint, text)

    def show_hint(self, text: str) -> None:
        hint = self.query_one("#hint", StoryLine)
        hint.show(Text(text, style="italic"))
        hint.display = True

    def hide_hint(self) -> None:
        hint = self.query_one("#hint", StoryLine)
        if hint.display:
            hint.display = False

    def show_story(self, title: str, text: str) -> None:
        story = Text()
        story.append(visible(title), style="bold")
        story.append("  " + visible(text))  # notes come from session files too: controls made visible
        if self.stories and story.plain.startswith(self.stories[-1].plain):
            self.stories[-1] = story  # the same story, now with the engine's note appended
        else:
            self.stories = [*self.stories[1 - STORIES_KEPT :], story]
        self.query_one("#story", StoryLine).show(story)

    def show_notice(self, text: str) -> None:
        """A line that stays until dismissed (escape, or a click on it), unlike a toast; `i` keeps it too."""
        notice = Text()
        notice.append(visible(text))
        notice.append("  (escape hides this)", style="italic")
        self.stories = [*self.stories[1 - STORIES_KEPT :], notice]
        line = self.query_one("#notice", StoryLine)
        line.show(notice)
        line.display = True

    def set_save_alert(self, line: str) -> None:
        """A save that did not land where asked: first on the status line, and whole in the notice under the
        story (at 80 or 100 columns the status line cut off where the work went). "" clears both."""
        notice = self.query_one("#notice", StoryLine)
        if line and line != self.save_alert:
            self.show_notice(line)
        elif not line and self.save_alert and notice.full.plain.startswith(visible(self.save_alert)):
            self.dismiss_notice()  # it landed where it belongs again: the notice would mislead
        self.save_alert = line
        self.update_status()

    def dismiss_notice(self) -> bool:
        """Hide the notice; whether one was shown."""
        line = self.query_one("#notice", StoryLine)
        shown = bool(line.display)
        line.display = False
        return shown

    def show_demo_note(self, note: Text) -> None:
        note = Text(visible(note.plain), spans=note.spans)  # a demo script's text: controls made visible
        self.stories = [*self.stories[1 - STORIES_KEPT :], note]  # `i` shows a note the banner had to cut
        self.query_one("#demo-note", StoryLine).show(note)

    def show_summary(self, s: ModelSummary) -> None:
        devices = s.devices or (s.device,)
        self.form.summary(
            visible(f"{s.line()}\ndata: {s.data}\nprobe: {s.probe}\ndevice: {devices_label(devices)}", newlines=True)
        )

    # -- the form's place ------------------------------------------------------------------------

    def form_shown(self) -> bool:
        if self.form_open is not None:
            return self.form_open
        return self.has_class("-wide")

    def update_form_visibility(self) -> None:
        self.set_class(self.form_open is True, "-form-open")
        self.set_class(self.form_open is False, "-form-closed")

    def typing_in_form(self) -> bool:
        """A field or dropdown of the form has the focus (and no modal is up): printable keys are its."""
        focused = self.focused
        return (
            self.is_active
            and focused is not None
            and any(isinstance(node, ConfigForm) for node in focused.ancestors_with_self)
        )
