"""The gradtui lab app: a settings form, the controls, a status line, plots and a log.

The first frame paints at once; the engine thread imports TensorFlow and builds the model behind
it (engine.py). The UI never waits on the engine: actions queue commands, results come back as
messages, and the plots panel and the status line redraw on a timer, reading the engine through
its read-only view (view.py). Terminal setup is in launcher.py, demo scripts in demo_runner.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, TypeVar

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.driver import Driver
from textual.notifications import SeverityLevel
from textual.widget import Widget
from textual.widgets import Footer, TabbedContent

from gradtui import autosave as autosaves
from gradtui import logs, trust
from gradtui.config import LabConfig
from gradtui.files import atomic_write_text
from gradtui.lab.results import ModelSummary
from gradtui.presets import PRESET_BY_KEY, PRESET_BY_NAME, Preset
from gradtui.tui.commands import ACTIONS, LabCommands, bindings
from gradtui.tui.demo import Beat
from gradtui.tui.demo_runner import DemoRunner
from gradtui.tui.engine import FINAL_SAVE_SECONDS, STEP_QUEUE, Engine, default_path
from gradtui.tui.launcher import main, run_app
from gradtui.tui.messages import (
    ConfigApplied,
    EngineFailed,
    EngineState,
    FileWritten,
    HistoryChanged,
    Origin,
    PinsChanged,
    Replaced,
    SessionReady,
    State,
    StepsDone,
)
from gradtui.tui.view import EngineView  # (the modal screens are imported where used: not on the first frame's path)
from gradtui.tui.widgets.form import ConfigForm
from gradtui.tui.widgets.plot_table import find_tab, tab_names
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

if TYPE_CHECKING:
    from gradtui.tui.share import Share

__all__ = ["GradApp", "find_preset", "main", "run_app", "short_device"]

MEMORY_SECONDS = 2.0  # how often the status reads each GPU replica's memory in use
FROZEN_ENV = "GRADTUI_FROZEN"  # set to 1 to hide timing-dependent text (snapshot tests, recorded demos)
REPLACE = "Replace it"
# lab actions on printable keys: they never fire while a form field or dropdown has focus (escape leaves it)
TYPED_ACTIONS = frozenset(
    {
        a.action.split("(")[0]
        for a in ACTIONS
        if any(len(k) == 1 or k in ("space", "question_mark") for k in a.key.split(","))
    }
    | {"preset"}  # the digit keys
)
W = TypeVar("W", bound=Widget)


def zero_toast(from_zero: bool, log: bool) -> str:
    """What `z` changed: a log axis has no zero, so the norms on one (and the update ratios, always on
    one) keep their fitted decades."""
    if not from_zero:
        return "axes fitted to the data"
    if log:
        return "axes from zero, but not the norms and update ratios: a log axis has no zero (l: linear norms)"
    return "axes from zero (update ratios stay on their log axis)"


class GradApp(App[int]):
    """Step through what applying gradients does to a Keras model's predictions."""

    CSS_PATH = "app.tcss"
    TITLE = "gradtui"
    AUTO_FOCUS = None  # keys drive the lab until the user tabs into the form
    BINDINGS: ClassVar[list[BindingType]] = bindings()  # type: ignore[assignment]
    COMMANDS = App.COMMANDS | {LabCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012 - Textual's class attribute
    # under 34 rows the layout tightens so each plot keeps ~9 rows; under 22 only the top row of plots shows
    VERTICAL_BREAKPOINTS = [(0, "-tiny"), (22, "-short"), (34, "-tall")]  # noqa: RUF012
    NOTIFICATION_TIMEOUT = 4

    def __init__(
        self,
        config: LabConfig | None = None,
        preset: str | None = None,
        beats: list[Beat] | None = None,
        session_file: str | None = None,
        frozen: bool | None = None,
        driver_class: type[Driver] | None = None,
        resume: str | None = None,
        share: Share | None = None,
    ) -> None:
        super().__init__(driver_class=driver_class)
        self.share = share  # --share: followers get what the status line shows, from `_update_status`
        self.preset: Preset | None = find_preset(preset) if preset else None
        base = config or LabConfig()
        self.initial_config = self.preset.config(base) if self.preset else base
        self.demo = DemoRunner(beats or [])
        self.session_file = session_file  # where ctrl+s saves (never a file that failed to load)
        self.resume = resume  # an autosave to reopen (saving never writes over it)
        self.frozen = frozen if frozen is not None else os.environ.get(FROZEN_ENV) == "1"
        self.engine = Engine(self, self.initial_config, resume or session_file)
        self.exit_note = ""  # printed by the launcher once the terminal is restored
        self.watchdog: threading.Timer | None = None
        self._quitting = False
        self._wants_play = False  # what the user last asked p for (the engine's state may lag)
        self.view = EngineView(self.engine)  # all the UI reads of the engine goes through this
        self.form_valid = True
        self.form_open: bool | None = None  # None: follow the width (open when wide)
        self._log_serial = 0
        self._rate_mark: tuple[float, int] | None = None
        self._rate: float | None = None
        self._memory: tuple[tuple[str, float], ...] = ()  # (GPU:N, MB in use) per GPU replica, last read
        self._widgets: dict[str, Widget] = {}
        self.stories: list[Text] = []  # every explanation shown in the story line, oldest first (`i` shows them)

    @property
    def state(self) -> State:
        return self.view.state

    # -- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            yield ConfigForm(self.initial_config, id="sidebar")
            with Vertical(id="main"):
                yield Controls(id="controls")
                yield StatusLine(id="status")
                yield StoryLine(id="story")
                yield StoryLine(id="demo-note")  # cut like the story, with the same hint to `i`
                yield PlotsPanel(id="plots")
        yield Footer(compact=True)

    def _w(self, selector: str | type[W], kind: type[W] | None = None) -> W:
        """A main-screen widget, cached: engine messages may arrive while a modal is up or during shutdown."""
        key = selector if isinstance(selector, str) else selector.__name__
        widget = self._widgets.get(key)
        if widget is None:
            base = self.screen_stack[0] if self.screen_stack else self.screen
            widget = base.query_one(selector) if kind is None else base.query_one(selector, kind)  # type: ignore[arg-type]
            self._widgets[key] = widget
        return widget  # type: ignore[return-value]

    def on_mount(self) -> None:
        for selector in ("#status", "#controls", "#story", "#demo-note", "#log"):
            self._w(selector, Widget)
        self._w(ConfigForm)
        self._w(PlotsPanel)
        self._update_form_visibility()
        self._update_controls()
        self._update_status()
        if self.preset:
            self._show_story(self._preset_title(self.preset), self.preset.story)
        if self.demo.beats:
            self._w("#demo-note", StoryLine).show(Text(self.demo.intro()))
            self._w("#demo-note", StoryLine).display = True
        self.set_interval(REFRESH_SECONDS, self._tick)
        self.set_interval(MEMORY_SECONDS, self._read_memory)
        self.set_interval(autosaves.INTERVAL_SECONDS, self.engine.autosave)
        self.call_after_refresh(self.engine.start)  # once the first frame is painted (see Engine.start)
        if not self.is_headless:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError, AttributeError):
                    loop.add_signal_handler(signum, self._signalled, signum)
        if not self.resume and not self.session_file and not self.preset and not self.demo.beats:
            found = autosaves.newest(excluding=self.engine.autosave_path)
            if found is not None:
                self._show_story(
                    "Resume",
                    f"gradtui --resume reopens an unsaved exploration, autosaved to {autosaves.describe(found)}.",
                )

    # -- the timer -------------------------------------------------------------------------------

    def _tick(self) -> None:
        self._poll_logs()
        history, summary = self.view.history, self.view.summary
        if history is None or summary is None:
            self._update_status()
            return
        rows = len(history)
        now = time.monotonic()
        running = self.view.busy
        if running:
            if self._rate_mark is not None and now > self._rate_mark[0]:
                then, before = self._rate_mark
                if rows != before:
                    live = (rows - before) / (now - then)
                    self._rate = live if self._rate is None else 0.5 * self._rate + 0.5 * live
            self._rate_mark = (now, rows)
        else:
            self._rate_mark = None
        self._w(PlotsPanel).refresh_plots(history, summary, self.view.pins, running)
        self._update_status()

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self._tick()  # the panel has marked itself dirty: draw the new tab now, not on the next tick

    def _poll_logs(self) -> None:
        lines = logs.TAIL.since(self._log_serial)
        log = self._w(PlotsPanel).log_view
        if lines and log is not None:  # before the panel mounts, the lines wait in the tail for the next tick
            self._log_serial = lines[-1][0]
            for _, text in lines:
                log.add(Text(text))  # plain text (no markup), wrapped to the view's width (again after a resize)

    def say(self, text: str) -> None:
        """A line for the log view (and the log file)."""
        logs.logger().info("%s", text)  # the tail poll shows it in the log view, in order with TF's lines

    def _read_memory(self) -> None:
        """GPU memory moves with allocations, not with each step: a reading every few seconds is plenty."""
        memory = self.view.device_memory()
        if memory != self._memory:
            self._memory = memory
            self._update_status()

    def _update_status(self) -> None:
        view = self.view
        summary = view.summary
        device = devices_label(summary.devices or (summary.device,)) if summary else ""
        device = memory_label(self._memory) or device  # each GPU named with its memory, when there are readings
        rate = format_rate(self._rate, self.frozen)
        self._w("#status", StatusLine).show(
            device,
            view.step,
            rate,
            format_prediction(view.last_prediction(), regression=summary is not None and summary.regression),
            view.state,
            view.detail,
            self.share.followers if self.share else None,
        )
        if self.share:
            self.share.offer(view, self.stories, self.preset, device, rate)

    def _update_controls(self) -> None:
        ready = self.view.loaded and self.view.state != "loading"
        self._w("#controls", Controls).set_enabled(ready, self.form_valid, self.view.state == "running")

    @staticmethod
    def _preset_title(preset: Preset) -> str:
        return f"{preset.key}. {preset.title}"

    def _show_story(self, title: str, text: str) -> None:
        story = Text()
        story.append(title, style="bold")
        story.append("  " + text)
        if self.stories and story.plain.startswith(self.stories[-1].plain):
            self.stories[-1] = story  # the same story, now with the engine's note appended
        else:
            self.stories = [*self.stories[-19:], story]
        self._w("#story", StoryLine).show(story)

    # -- engine messages -------------------------------------------------------------------------

    @on(EngineState)
    def _engine_state(self, message: EngineState) -> None:
        self.view.on_state(message)
        if message.state == "running":
            self._rate_mark = None
        self._update_controls()
        self._update_status()

    @on(SessionReady)
    def _session_ready(self, message: SessionReady) -> None:
        form = self._w(ConfigForm)
        if message.origin == "load":
            form.load(message.config)
            self.preset = None  # an opened session is its own experiment: the last preset's story no longer fits
        s = message.summary
        self._show_summary(s)
        self.say(f"model: {s.line()} on {', '.join(s.devices or (s.device,))}")
        # an opened session's notes were written when it ran: say so, or they read as if just happened
        opened = message.origin == "load"
        for note in message.notes:
            self.say(f"from the session file: {note}" if opened else note)
        if message.notes and not self.preset:
            self._show_story("Note from the session file" if opened else "Note", message.notes[-1])
        elif message.notes and self.preset:
            self._show_story(self._preset_title(self.preset), f"{self.preset.story}  ⟶ {message.notes[-1]}")
        self._w(PlotsPanel).mark_dirty()
        if message.origin in ("preset", "demo", "load"):
            self._fresh_experiment(message.origin, message.replaced, in_place=False)
        self._rate = None
        self._rate_mark = None
        self._read_memory()  # the new session's devices, not the last one's

    def _show_summary(self, s: ModelSummary) -> None:
        devices = s.devices or (s.device,)
        self._w(ConfigForm).summary(f"{s.line()}\ndata: {s.data}\nprobe: {s.probe}\ndevice: {devices_label(devices)}")

    @on(ConfigApplied)
    def _config_applied(self, message: ConfigApplied) -> None:
        if self.view.summary is not None:  # a change in place can change the mode the summary names
            self._show_summary(self.view.summary)
        self._w(PlotsPanel).mark_dirty()
        if message.origin in ("preset", "demo"):  # a preset applied in place (same model): it reset the history
            self._fresh_experiment(message.origin, message.replaced, in_place=True)

    def _fresh_experiment(self, origin: Origin, replaced: Replaced | None, in_place: bool) -> None:
        """A preset or opened session has replaced the experiment: no stale rate, and say what was replaced.

        Runs on the engine's answer, so a StepsDone from a run the switch interrupted cannot bring the old
        rate back. A demo script's presets are meant to start afresh, so they are not announced."""
        self._rate = None
        self._rate_mark = None
        if origin == "demo" or replaced is None or replaced == (0, 0):
            return
        steps, snaps = replaced
        history = f"{steps} step{'s' * (steps != 1)} of history"
        if in_place:  # same model: the session was reset (undoable) and keeps its snapshots
            text = f"History reset to step 0 ({history}; u undoes it, snapshots are kept)."
        else:
            lost = history + (f", {snaps} snapshot{'s' * (snaps != 1)}" if snaps else "")
            text = f"The previous experiment ({lost}) was replaced."
        self.notify(f"{text} ctrl+s saves an experiment to a file.", title="new experiment")

    @on(StepsDone)
    def _steps_done(self, message: StepsDone) -> None:
        report = message.report
        if message.kind == "play" and self.engine.idle:  # it ended (paused, diverged) and no other is asked for
            self._wants_play = False
        if report.steps and report.seconds > 0:
            self._rate = report.steps_per_s
        for note in report.notes:
            self._show_story("Note", note)
        if report.divergence is not None:
            d = report.divergence
            self.notify(
                f"Diverged at step {d.step}: non-finite {d.where}. Kept the last finite weights; "
                "undo or lower the learning rate.",
                title="diverged",
                severity="error",
                timeout=8,
            )
        self._w(PlotsPanel).mark_dirty()
        self._tick()  # paint the new step now: a key press should not wait for the timer

    @on(HistoryChanged)
    def _history_changed(self, message: HistoryChanged) -> None:
        if not message.ok:
            self.notify(message.detail or f"{message.action} did nothing", severity="warning")
        elif message.action == "snapshot":
            self.notify(f"snapshot {message.detail!r} taken (o restores it)")
        elif message.action == "restore":
            self.notify(f"restored snapshot {message.detail!r}")
        self._w(PlotsPanel).mark_dirty()

    @on(PinsChanged)
    def _pins_changed(self, message: PinsChanged) -> None:
        self.say(message.text)
        self.notify(f"{message.text}. c pins, x clears.", title="reference runs", markup=False)
        self._w(PlotsPanel).mark_dirty()
        self._tick()

    @on(EngineFailed)
    def _engine_failed(self, message: EngineFailed) -> None:
        if message.action == "load":  # ctrl+s must not offer (and replace) the file that did not open
            self.session_file = None
        self.say(f"{message.action} failed: {message.text}")
        if message.untrusted is not None:
            self._ask_trust(message.untrusted, message.text, message.field)
            return
        if message.field:
            self._w(ConfigForm).show_engine_error(message.field, message.text, self.view.config)
        self.notify(message.text, title=f"{message.action} failed", severity="error", timeout=8)

    def _ask_trust(self, path: str, text: str, field: str | None) -> None:
        """A model file that could run code: the person at the keyboard decides, with a deliberate y."""
        from gradtui.tui.screens.prompts import TrustScreen

        why = text.split(": add --trust-model", 1)[0]

        def answered(yes: bool | None) -> None:
            if yes:
                trust.grant(path)
                self.say(f"trusted {path} for this run (y at the prompt)")
                self.engine.retry_trusted(path)
            else:
                if field:
                    self._w(ConfigForm).show_engine_error(field, text, self.view.config)
                self.notify(text, title="model not loaded", severity="error", timeout=8)

        self.push_screen(TrustScreen(path, why), answered)

    @on(FileWritten)
    def _file_written(self, message: FileWritten) -> None:
        self.say(f"wrote {message.what} to {message.path}")
        self.notify(f"{message.what} written to {message.path}")

    @on(ConfigForm.Validity)
    def _form_validity(self, message: ConfigForm.Validity) -> None:
        self.form_valid = message.valid
        self._update_controls()

    @on(ConfigForm.Submit)
    def _form_submit(self, message: ConfigForm.Submit) -> None:
        self._interrupt()
        self.engine.apply(message.config)

    # -- actions ---------------------------------------------------------------------------------

    def _can_act(self) -> bool:
        if not self.view.loaded:
            self.notify(
                "The engine is still loading."
                if self.state == "loading"
                else "No model is loaded: fix the settings and press enter.",
                severity="warning",
            )
            return False
        return True

    def _apply_pending(self) -> bool:
        """Apply a valid, changed form before running; False (and say why) if the form is invalid."""
        form = self._w(ConfigForm)
        config = form.validate_form()
        if config is None:
            fields = ", ".join(form.errors)
            self.notify(f"Fix the settings first ({fields}).", title="invalid settings", severity="error")
            return False
        if config != form.applied:
            config = form.implied(config)
            form.applied = config
            self._interrupt()
            self.engine.apply(config)
        return True

    def _interrupt(self) -> None:
        """Stop a run in progress so the next command runs at once."""
        self._wants_play = False
        self.engine.pause()

    def action_step(self, count: int = 1) -> None:
        """Steps queue behind each other (keys that arrive together all count); a play or run stops first."""
        if self._can_act() and self._apply_pending():
            if self.view.state == "running" or self._wants_play:
                self._wants_play = False
                self._interrupt()
            if not self.engine.step(count):
                self.notify(f"{STEP_QUEUE} steps are queued already; this press was not added.", severity="warning")

    def action_run_n(self, count: int | None = None) -> None:
        if self._can_act() and self._apply_pending():
            self._interrupt()
            self.engine.run(count or self._w(ConfigForm).applied.steps)

    def action_play_pause(self) -> None:
        """Toggle what the user last asked for, not the engine's state, which lags behind quick presses."""
        if self._wants_play:
            self.action_pause()
        elif self._can_act() and self._apply_pending():
            self._wants_play = True
            self.engine.play()

    def action_pause(self) -> None:
        self._wants_play = False
        self.engine.pause()

    def action_play(self) -> None:
        if self._can_act() and self._apply_pending():
            self._interrupt()
            self._wants_play = True
            self.engine.play()

    def action_undo(self) -> None:
        if self._can_act():
            self._interrupt()
            self.engine.undo()

    def action_reset(self) -> None:
        if self._can_act():
            self._interrupt()
            self.engine.reset()

    def action_snapshot(self, name: str | None = None) -> None:
        if self._can_act():
            self._interrupt()
            self.engine.snapshot(name)

    def action_restore(self, name: str | None = None) -> None:
        from gradtui.tui.screens.prompts import ChoiceScreen

        if not self._can_act():
            return
        if name:
            self._interrupt()
            self.engine.restore(name)
            return
        names = self.view.snapshot_names
        if not names:
            self.notify("No snapshots yet (s takes one).", severity="warning")
            return

        def chosen(picked: str | None) -> None:
            if picked:
                self._interrupt()
                self.engine.restore(picked)

        self.push_screen(ChoiceScreen("Restore snapshot", names), chosen)

    def action_preset(self, name: str, origin: Origin = "preset") -> None:
        """A preset is a fresh experiment from step 0 (the engine's answer says what it replaced)."""
        preset = find_preset(name)
        form = self._w(ConfigForm)
        config = preset.config(form.applied)
        self.preset = preset
        form.load(config)
        self._show_story(self._preset_title(preset), preset.story)
        self.say(f"preset {preset.name}: {preset.title}. {preset.story}")
        self._interrupt()
        self.engine.apply(config, origin=origin)

    def action_pin(self, name: str | None = None) -> None:
        """Pin the run so far as a reference drawn on every plot (kept across presets, in sessions and exports)."""
        if self._can_act():
            self.engine.pin(name or None)

    def action_unpin(self) -> None:
        self.engine.unpin()

    def action_next_tab(self) -> None:
        self._w(PlotsPanel).switch_tab(1)

    def action_previous_tab(self) -> None:
        self._w(PlotsPanel).switch_tab(-1)

    def show_tab(self, name: str) -> None:
        """Bring up a tab by its label or plot key (a demo's `tab NAME`)."""
        tab_id = find_tab(name)
        if tab_id is None:
            self.notify(f"no tab named {name!r} (tabs: {', '.join(tab_names())})", severity="warning", markup=False)
            return
        self._w(PlotsPanel).show_tab(tab_id)

    def action_toggle_log(self) -> None:
        panel = self._w(PlotsPanel)
        panel.log_scale = not panel.log_scale
        self._redraw_now("weight and gradient norms on a " + ("log" if panel.log_scale else "linear") + " axis")

    def action_toggle_zero(self) -> None:
        panel = self._w(PlotsPanel)
        panel.from_zero = not panel.from_zero
        self._redraw_now(zero_toast(panel.from_zero, panel.log_scale))

    def _redraw_now(self, what: str) -> None:
        self.notify(what, timeout=2)
        self._w(PlotsPanel).mark_dirty()
        self._tick()

    def action_export(self) -> None:
        from gradtui.tui.screens.prompts import ExportScreen

        def chosen(answer: tuple[str, str] | None) -> None:
            if answer is None:
                return
            fmt, path = answer
            if fmt == "svg" or path.lower().endswith(".svg"):  # the name says what the user wants
                self._save_svg(path)
            elif self._can_act():
                self.engine.export_history(path)

        self.push_screen(ExportScreen(default_path("gradtui", "")), chosen)

    def _save_svg(self, path: str) -> None:
        """The screen as SVG, rendered to text first and then written atomically (a full disk or a kill
        leaves the old file whole)."""
        target = Path(path).expanduser()
        try:
            atomic_write_text(target, self.export_screenshot())
        except (OSError, ValueError) as err:
            reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            self.notify(f"could not write {path}: {reason}", severity="error")
            return
        self.post_message(FileWritten("screen", str(target)))

    def action_save_session(self) -> None:
        from gradtui.tui.screens.prompts import ChoiceScreen, PathScreen

        if not self._can_act():
            return

        def save(path: str) -> None:
            self.session_file = path
            self.engine.save(path)

        def chosen(path: str | None) -> None:
            if not path:
                return
            if path == self.session_file or not Path(path).expanduser().exists():
                save(path)  # a new file, or the one this lab opened or saved: no question
                return

            def confirmed(answer: str | None) -> None:
                if answer == REPLACE:
                    save(path)

            self.push_screen(ChoiceScreen(f"{path} exists", [REPLACE, "Keep it (cancel)"]), confirmed)

        default = self.session_file or default_path("gradtui-session", ".npz")
        self.push_screen(PathScreen("Save session", default, must_exist=False), chosen)

    def action_open_session(self) -> None:
        from gradtui.tui.screens.prompts import PathScreen

        def chosen(path: str | None) -> None:
            if path:
                self.session_file = path
                self._interrupt()
                self.engine.load(path)

        self.push_screen(PathScreen("Open session", self.session_file or "", must_exist=True), chosen)

    def action_toggle_form(self) -> None:
        self.form_open = not self._form_shown()
        self._update_form_visibility()
        if self.form_open:
            self._w(ConfigForm).query_one("#field-model").focus()
        else:
            self.set_focus(None)

    def _form_shown(self) -> bool:
        if self.form_open is not None:
            return self.form_open
        return self.screen.has_class("-wide")

    def _update_form_visibility(self) -> None:
        self.screen.set_class(self.form_open is True, "-form-open")
        self.screen.set_class(self.form_open is False, "-form-closed")

    def action_leave_form(self) -> None:
        self.set_focus(None)

    def action_leave_field(self) -> None:
        """Escape from a form text field, taken as the key arrives (see commands.bindings)."""
        self.set_focus(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        focused = self.focused
        in_form = (
            focused is not None
            and focused.screen is self.screen_stack[0]
            and any(isinstance(node, ConfigForm) for node in focused.ancestors_with_self)
        )
        if action == "leave_field":  # only a field or dropdown of the form; elsewhere escape keeps its own meaning
            return in_form
        return not (in_form and action in TYPED_ACTIONS)  # a letter typed into a dropdown is not a lab key

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def action_help(self) -> None:
        from gradtui.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_story(self) -> None:
        from gradtui.tui.screens.help import NotesScreen

        self.push_screen(NotesScreen(list(reversed(self.stories))))

    async def action_quit(self) -> None:
        """Quit; unsaved work is autosaved first and writes in progress finish (the launcher says where)."""
        await self._leave(0, "")

    def _signalled(self, signum: int) -> None:
        """SIGHUP (a dropped connection), SIGTERM or SIGINT: autosave, then leave through the normal exit,
        which restores the terminal."""
        name = signal.Signals(signum).name
        self.say(f"{name}: saving the session and quitting")
        self.run_worker(self._leave(128 + signum, name), exit_on_error=False)

    async def _leave(self, code: int, why: str) -> None:
        if self._quitting:
            return
        self._quitting = True
        if not self.is_headless:  # never hang on a gone terminal: the launcher cancels this once run() returns
            self.watchdog = threading.Timer(FINAL_SAVE_SECONDS + 10, os._exit, (code or 1,))
            self.watchdog.daemon = True
            self.watchdog.start()
        if self.engine.dirty:
            self.notify("Saving the session before quitting...", timeout=30)
        saved = await asyncio.to_thread(self.engine.final_save)
        unfinished = self.engine.join_writes(0)
        notes = []
        if saved is not None:
            notes.append(
                f"gradtui: {why + ': ' if why else ''}the session was autosaved to {saved}; gradtui --resume reopens it"
            )
        for path in unfinished:
            notes.append(f"gradtui: {path} was still being written; it is finished before gradtui exits")
        self.exit_note = "\n".join(notes)
        self.engine.shutdown(timeout=0.9)
        self.exit(code)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A toast, unless the same one is still on screen (a hundred `u` presses make one toast).
        Toasts quote paths, snapshot names, notes and error text: shown literally, never as markup."""
        for shown in list(self._notifications):
            if shown.message == message and shown.title == title and shown.severity == severity:
                self._unnotify(shown, refresh=False)  # shown again below, its time restarted
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def on_unmount(self) -> None:
        self.engine.shutdown(timeout=0.9)

    # -- demo scripts ----------------------------------------------------------------------------

    def action_demo_next(self) -> None:
        note = self.demo.advance(self)
        if note is not None:
            self.stories = [*self.stories[-19:], note]  # `i` shows a note the banner had to cut
            self._w("#demo-note", StoryLine).show(note)

    def set_fields(self, settings: tuple[tuple[str, str], ...]) -> None:
        """Type values into form fields, then apply them as enter would (a demo's `set`)."""
        form = self._w(ConfigForm)
        for name, value in settings:
            form.set_text(name, value)
        self._apply_pending()


def short_device(name: str) -> str:
    """`/job:localhost/replica:0/task:0/device:GPU:0` -> `GPU:0`."""
    return name.rsplit("device:", 1)[-1] if "device:" in name else name


def find_preset(name: str) -> Preset:
    """A preset by name or key; ValueError naming the choices if there is none."""
    preset = PRESET_BY_NAME.get(name) or PRESET_BY_KEY.get(name)
    if preset is None:
        raise ValueError(f"unknown preset {name!r} (choose from {', '.join(PRESET_BY_NAME)})")
    return preset


if __name__ == "__main__":
    raise SystemExit(main())
