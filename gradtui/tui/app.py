"""The gradtui lab app: a settings form, the controls, a status line, plots and a log.

The first frame paints at once; the engine thread imports TensorFlow and builds the model behind
it (engine.py). The UI never waits on the engine: actions queue commands, results come back as
messages, and plots and the status line redraw on a timer from the thread-safe History.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, ClassVar, TypeVar

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.driver import Driver
from textual.widget import Widget
from textual.widgets import Footer, Input, RichLog, Static, TabbedContent, TabPane

from gradtui import logs
from gradtui.config import LabConfig
from gradtui.lab.results import ModelSummary
from gradtui.presets import PRESET_BY_KEY, PRESET_BY_NAME, Preset
from gradtui.tui import demo as demo_script
from gradtui.tui.commands import LabCommands, bindings
from gradtui.tui.demo import Beat, DemoError
from gradtui.tui.engine import Engine, default_path
from gradtui.tui.messages import (
    ConfigApplied,
    EngineFailed,
    EngineState,
    FileWritten,
    HistoryChanged,
    SessionReady,
    StepsDone,
)
from gradtui.tui.screens.help import HelpScreen, NotesScreen
from gradtui.tui.screens.prompts import ChoiceScreen, ExportScreen, PathScreen
from gradtui.tui.widgets import series
from gradtui.tui.widgets.form import ConfigForm
from gradtui.tui.widgets.plots import ChartPlot
from gradtui.tui.widgets.status import Controls, StatusLine, StoryLine, format_prediction, format_rate

REFRESH_SECONDS = 0.25  # plots and status redraw a few times a second, never once per step
STAGGER_SECONDS = 0.06  # while running, the plots of one redraw paint in separate frames this far apart
FROZEN_ENV = "GRADTUI_FROZEN"  # set to 1 to hide timing-dependent text (snapshot tests, recorded demos)
W = TypeVar("W", bound=Widget)
TAB_PLOTS = {
    "tab-grads": "plot-grads",
    "tab-ratio": "plot-ratio",
    "tab-heldout": "plot-heldout",
    "tab-forecast": "plot-forecast",
}


class GradApp(App[int]):
    """Step through what applying gradients does to a Keras model's predictions."""

    CSS_PATH = "app.tcss"
    TITLE = "gradtui"
    AUTO_FOCUS = None  # keys drive the lab until the user tabs into the form
    BINDINGS: ClassVar[list[BindingType]] = bindings()  # type: ignore[assignment]
    COMMANDS = App.COMMANDS | {LabCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012 - Textual's class attribute
    NOTIFICATION_TIMEOUT = 4

    def __init__(
        self,
        config: LabConfig | None = None,
        preset: str | None = None,
        beats: list[Beat] | None = None,
        session_file: str | None = None,
        frozen: bool | None = None,
        driver_class: type[Driver] | None = None,
    ) -> None:
        super().__init__(driver_class=driver_class)
        self.preset: Preset | None = _find_preset(preset) if preset else None
        base = config or LabConfig()
        self.initial_config = self.preset.config(base) if self.preset else base
        self.beats = beats or []
        self.beat_index = 0
        self.session_file = session_file
        self.frozen = frozen if frozen is not None else os.environ.get(FROZEN_ENV) == "1"
        self.engine = Engine(self, self.initial_config, session_file)
        self.state = "loading"
        self.state_detail = "importing TensorFlow"
        self.summary: ModelSummary | None = None
        self.form_valid = True
        self.form_open: bool | None = None  # None: follow the width (open when wide)
        self._drawn_len = -1
        self._dirty = True
        self._log_serial = 0
        self._rate_mark: tuple[float, int] | None = None
        self._rate: float | None = None
        self._widgets: dict[str, Widget] = {}
        self.stories: list[Text] = []  # every explanation shown in the story line, oldest first (`i` shows them)
        # set while a preset or opened session replaces the experiment: (steps, snapshots) it had, None if unasked
        self._replacing: tuple[int, int] | None = None

    # -- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            yield ConfigForm(self.initial_config, id="sidebar")
            with Vertical(id="main"):
                yield Controls(id="controls")
                yield StatusLine(id="status")
                yield StoryLine(id="story")
                yield Static("", id="demo-note")
                with Horizontal(id="top-plots"):
                    yield ChartPlot("probe prediction", id="plot-predictions")
                    yield ChartPlot("weight norm per layer", id="plot-weights")
                with TabbedContent(id="tabs"):
                    with TabPane("Gradients", id="tab-grads"):
                        yield ChartPlot("gradient norm per layer", id="plot-grads")
                    with TabPane("Update/weight", id="tab-ratio"):
                        yield ChartPlot("update / weight ratio", id="plot-ratio")
                    with TabPane("Held-out", id="tab-heldout"):
                        yield ChartPlot("held-out", id="plot-heldout")
                    with TabPane("Forecast", id="tab-forecast"):
                        yield ChartPlot("forecast vs actual", id="plot-forecast")
                    with TabPane("Log", id="tab-log"):
                        yield RichLog(max_lines=2000, min_width=20, wrap=True, id="log")
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
        plots = ("#plot-predictions", "#plot-weights", *(f"#{plot}" for plot in TAB_PLOTS.values()))
        for selector in ("#status", "#controls", "#story", "#demo-note", "#log", "#tabs", *plots):
            self._w(selector, Widget)
        self._w(ConfigForm)
        self._update_form_visibility()
        self._update_controls()
        self._update_status()
        if self.preset:
            self._show_story(self._preset_title(self.preset), self.preset.story)
        if self.beats:
            self._w("#demo-note", Static).update(f"Demo: {len(self.beats)} beats; press → (right) for the next one.")
            self._w("#demo-note", Static).display = True
        self.set_interval(REFRESH_SECONDS, self._tick)
        self.engine.start()

    # -- the timer -------------------------------------------------------------------------------

    def _tick(self) -> None:
        self._poll_logs()
        session = self.engine.session
        if session is None:
            self._update_status()
            return
        history = session.history
        rows = len(history)
        now = time.monotonic()
        if self.engine.running:
            if self._rate_mark is not None and now > self._rate_mark[0]:
                then, before = self._rate_mark
                if rows != before:
                    live = (rows - before) / (now - then)
                    self._rate = live if self._rate is None else 0.5 * self._rate + 0.5 * live
            self._rate_mark = (now, rows)
        else:
            self._rate_mark = None
        if rows != self._drawn_len or self._dirty:
            self._drawn_len = rows
            self._dirty = False
            self._redraw(session.history, session.summary)
        self._update_status()

    def _redraw(self, history: Any, summary: ModelSummary) -> None:
        """Repaint the visible plots. While running, each builds on a thread, so no build (10-40 ms of
        plotext) holds a key press; and they start 60 ms apart, since three builds contending for the GIL
        at once measured a p99 latency of 22-33 ms against 15-16 ms staggered (bench's TUI probe)."""
        layers = summary.layers
        jobs: list[tuple[str, Callable[[], series.Chart]]] = [
            ("#plot-predictions", lambda: series.predictions(history)),
            (
                "#plot-weights",
                lambda: series.per_layer(history, "weight_norm", layers, "weight norm per layer", "L2 norm"),
            ),
        ]
        active = self._w("#tabs", TabbedContent).active
        charts: dict[str, Callable[[], series.Chart]] = {
            "tab-grads": lambda: series.per_layer(history, "grad_norm", layers, "gradient norm per layer", "L2 norm"),
            "tab-ratio": lambda: series.per_layer(
                history, "update_ratio", layers, "update / weight ratio per layer", "ratio"
            ),
            "tab-heldout": lambda: series.heldout(history),
            "tab-forecast": lambda: series.forecast(history),
        }
        if active in charts:
            jobs.append((f"#{TAB_PLOTS[active]}", charts[active]))
        if not self.engine.running:
            for selector, build in jobs:  # at rest draw at once
                self._w(selector, ChartPlot).show(build())
            return
        selector, build = jobs[0]
        self._w(selector, ChartPlot).show(build(), background=True)
        for i, (selector, build) in enumerate(jobs[1:], start=1):  # (Textual's set_timer cannot take 0)
            self.set_timer(
                i * STAGGER_SECONDS, lambda s=selector, b=build: self._w(s, ChartPlot).show(b(), background=True)
            )

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self._dirty = True
        self._tick()

    def _poll_logs(self) -> None:
        lines = logs.TAIL.since(self._log_serial)
        if lines:
            self._log_serial = lines[-1][0]
            log = self._w("#log", RichLog)
            for _, text in lines:
                log.write(Text(text))  # plain text (no markup), word-wrapped to the view's width

    def _say(self, text: str) -> None:
        logs.logger().info("%s", text)  # the tail poll shows it in the log view, in order with TF's lines

    def _update_status(self) -> None:
        session = self.engine.session
        step: int | None = None
        prediction = format_prediction(None)
        if session is not None and len(session.history):
            step = int(session.history.last("step"))
            prediction = format_prediction(session.history.last("predictions")[0])
        device = short_device(self.summary.device) if self.summary else ""
        rate = format_rate(self._rate, self.frozen)
        self._w("#status", StatusLine).show(device, step, rate, prediction, self.state, self.state_detail)

    def _update_controls(self) -> None:
        ready = self.engine.session is not None and self.state not in ("loading",)
        self._w("#controls", Controls).set_enabled(ready, self.form_valid, self.state == "running")

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
        self.state = message.state
        self.state_detail = message.detail if message.state in ("loading", "diverged", "error", "running") else ""
        if message.state == "running":
            self._rate_mark = None
        self._update_controls()
        self._update_status()

    @on(SessionReady)
    def _session_ready(self, message: SessionReady) -> None:
        self.summary = message.summary
        form = self._w(ConfigForm)
        if message.origin == "load":
            form.load(message.config)
        s = message.summary
        form.summary(f"{s.line()}\ndata: {s.data}\nprobe: {s.probe}\ndevice: {short_device(s.device)}")
        self._say(f"model: {s.line()} on {s.device}")
        for note in message.notes:
            self._say(note)
        if message.notes and not self.preset:
            self._show_story("Note", message.notes[-1])
        elif message.notes and self.preset:
            self._show_story(self._preset_title(self.preset), f"{self.preset.story}  ⟶ {message.notes[-1]}")
        self._dirty = True
        if message.origin in ("preset", "load"):
            self._fresh_experiment(in_place=False)
        self._rate = None
        self._rate_mark = None

    @on(ConfigApplied)
    def _config_applied(self, message: ConfigApplied) -> None:
        self._dirty = True
        if self._replacing is not None:  # a preset applied in place (same model): it reset the history
            self._fresh_experiment(in_place=True)

    def _fresh_experiment(self, in_place: bool) -> None:
        """A preset or opened session has replaced the experiment: no stale rate, and say what was replaced.

        Runs on the engine's answer, so a StepsDone from a run the switch interrupted cannot bring the old
        rate back."""
        self._rate = None
        self._rate_mark = None
        had, self._replacing = self._replacing, None
        if had is None or had == (0, 0):
            return
        steps, snaps = had
        history = f"{steps} step{'s' * (steps != 1)} of history"
        if in_place:  # same model: the session was reset (undoable) and keeps its snapshots
            text = f"History reset to step 0 ({history}; u undoes it, snapshots are kept)."
        else:
            lost = history + (f", {snaps} snapshot{'s' * (snaps != 1)}" if snaps else "")
            text = f"The previous experiment ({lost}) was replaced."
        self.notify(f"{text} ctrl+s saves an experiment to a file.", title="new experiment")

    def _experiment_size(self) -> tuple[int, int]:
        """(steps of history, snapshots) that switching experiments would replace."""
        session = self.engine.session
        if session is None:
            return (0, 0)
        return (max(len(session.history) - 1, 0), len(session.snapshot_names))  # row 0 is the initial state

    @on(StepsDone)
    def _steps_done(self, message: StepsDone) -> None:
        report = message.report
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
        self._dirty = True

    @on(HistoryChanged)
    def _history_changed(self, message: HistoryChanged) -> None:
        if not message.ok:
            self.notify(message.detail or f"{message.action} did nothing", severity="warning")
        elif message.action == "snapshot":
            self.notify(f"snapshot {message.detail!r} taken (o restores it)")
        elif message.action == "restore":
            self.notify(f"restored snapshot {message.detail!r}")
        self._dirty = True

    @on(EngineFailed)
    def _engine_failed(self, message: EngineFailed) -> None:
        if message.action in ("apply", "load"):
            self._replacing = None  # the old experiment stays
        self._say(f"{message.action} failed: {message.text}")
        if message.field:
            session = self.engine.session
            self._w(ConfigForm).show_engine_error(message.field, message.text, session.config if session else None)
        self.notify(message.text, title=f"{message.action} failed", severity="error", timeout=8)

    @on(FileWritten)
    def _file_written(self, message: FileWritten) -> None:
        self._say(f"wrote {message.what} to {message.path}")
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
        if self.engine.session is None:
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
            form.applied = config
            self._interrupt()
            self.engine.apply(config)
        return True

    def _interrupt(self) -> None:
        """Stop a run in progress so the next command runs at once."""
        self.engine.pause()

    def action_step(self) -> None:
        if self._can_act() and self._apply_pending():
            self._interrupt()
            self.engine.step(1)

    def action_run_n(self, count: int | None = None) -> None:
        if self._can_act() and self._apply_pending():
            self._interrupt()
            self.engine.run(count or self._w(ConfigForm).applied.steps)

    def action_play_pause(self) -> None:
        if self.engine.running or self.state == "running":
            self.action_pause()
        elif self._can_act() and self._apply_pending():
            self.engine.play()

    def action_pause(self) -> None:
        self.engine.pause()

    def action_play(self) -> None:
        if self._can_act() and self._apply_pending():
            self._interrupt()
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
        if not self._can_act():
            return
        if name:
            self._interrupt()
            self.engine.restore(name)
            return
        session = self.engine.session
        names = list(session.snapshot_names) if session is not None else []
        if not names:
            self.notify("No snapshots yet (s takes one).", severity="warning")
            return

        def chosen(picked: str | None) -> None:
            if picked:
                self._interrupt()
                self.engine.restore(picked)

        self.push_screen(ChoiceScreen("Restore snapshot", names), chosen)

    def action_preset(self, name: str, announce: bool = True) -> None:
        """A preset is a fresh experiment from step 0 (the previous one is replaced, and said so)."""
        preset = _find_preset(name)
        form = self._w(ConfigForm)
        config = preset.config(form.applied)
        self.preset = preset
        self._replacing = self._experiment_size() if announce else (0, 0)
        form.load(config)
        self._show_story(self._preset_title(preset), preset.story)
        self._say(f"preset {preset.name}: {preset.title}. {preset.story}")
        self._interrupt()
        self.engine.apply(config, origin="preset")

    def action_export(self) -> None:
        def chosen(answer: tuple[str, str] | None) -> None:
            if answer is None:
                return
            fmt, path = answer
            if fmt == "svg":
                self._save_svg(path)
            elif self._can_act():
                self.engine.export_history(path)

        self.push_screen(ExportScreen(default_path("gradtui", "")), chosen)

    def _save_svg(self, path: str) -> None:
        target = Path(path).expanduser()
        try:
            written = self.save_screenshot(filename=target.name, path=str(target.parent))
        except OSError as err:
            self.notify(f"could not write {path}: {err.strerror or err}", severity="error")
            return
        self.post_message(FileWritten("screen", written))

    def action_save_session(self) -> None:
        if not self._can_act():
            return

        def chosen(path: str | None) -> None:
            if path:
                self.session_file = path
                self.engine.save(path)

        default = self.session_file or default_path("gradtui-session", ".npz")
        self.push_screen(PathScreen("Save session", default, must_exist=False), chosen)

    def action_open_session(self) -> None:
        def chosen(path: str | None) -> None:
            if path:
                self.session_file = path
                self._replacing = self._experiment_size()
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
        if action == "leave_field":  # only a text field of the form; elsewhere escape keeps its own meaning
            focused = self.focused
            return (
                isinstance(focused, Input)
                and focused.screen is self.screen_stack[0]
                and any(isinstance(node, ConfigForm) for node in focused.ancestors)
            )
        return True

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_story(self) -> None:
        self.push_screen(NotesScreen(list(reversed(self.stories))))

    async def action_quit(self) -> None:
        self.engine.shutdown(timeout=0.9)
        self.exit(0)

    def on_unmount(self) -> None:
        self.engine.shutdown(timeout=0.9)

    # -- demo scripts ----------------------------------------------------------------------------

    def action_demo_next(self) -> None:
        if not self.beats:
            self.notify("No demo script loaded (start with --demo FILE).", severity="warning")
            return
        if self.beat_index >= len(self.beats):
            self.notify("The demo is over (q quits).")
            return
        beat = self.beats[self.beat_index]
        self.beat_index += 1
        self._say(f"demo beat {self.beat_index}/{len(self.beats)}: {beat.describe()}")
        notes = [c.arg for c in beat.commands if c.verb == "note"]
        for command in beat.commands:
            self._run_command(command)
        note = Text()
        note.append(f" {self.beat_index}/{len(self.beats)} ", style="reverse")
        note.append(" " + (" ".join(notes) or beat.describe()))
        self._w("#demo-note", Static).update(note)

    def _run_command(self, command: demo_script.DemoCommand) -> None:
        verb = command.verb
        if verb == "preset":
            self.action_preset(command.arg, announce=False)  # a script's presets are meant to start afresh
        elif verb == "step":
            if self._can_act() and self._apply_pending():
                self._interrupt()
                self.engine.step(command.count or 1)
        elif verb == "run":
            self.action_run_n(command.count)
        elif verb == "play":
            self.action_play()
        elif verb == "pause":
            self.action_pause()
        elif verb == "undo":
            self.action_undo()
        elif verb == "reset":
            self.action_reset()
        elif verb == "snapshot":
            self.action_snapshot(command.arg or None)
        elif verb == "restore":
            self.action_restore(command.arg)
        elif verb == "set":
            form = self._w(ConfigForm)
            for name, value in command.settings:
                form.set_text(name, value)
            self._apply_pending()
        elif verb == "note":
            self._say(f"note: {command.arg}")


def short_device(name: str) -> str:
    """`/job:localhost/replica:0/task:0/device:GPU:0` -> `GPU:0`."""
    return name.rsplit("device:", 1)[-1] if "device:" in name else name


def _find_preset(name: str) -> Preset:
    preset = PRESET_BY_NAME.get(name) or PRESET_BY_KEY.get(name)
    if preset is None:
        raise ValueError(f"unknown preset {name!r} (choose from {', '.join(PRESET_BY_NAME)})")
    return preset


def _screen_driver(screen: IO[str]) -> type[Driver] | None:
    """A terminal driver that draws on `screen` (a copy of the terminal's fd 2).

    Textual draws on sys.__stderr__, i.e. fd 2; while the app runs fd 2 is pointed at the log
    file so TensorFlow's C++ logs cannot draw over the screen, so the app must draw elsewhere.
    """
    if sys.platform == "win32":
        return None
    from textual.drivers.linux_driver import LinuxDriver

    class ScreenDriver(LinuxDriver):
        def __init__(self, app: App[Any], **kwargs: Any) -> None:
            super().__init__(app, **kwargs)
            self._file = screen  # type: ignore[assignment]

    return ScreenDriver


def run_app(config: LabConfig, preset: str | None, demo: str | None, session_file: str | None) -> int:
    """The TUI, as `gradtui` runs it: exit code 0 on a normal quit, 2 for bad arguments, 1 on a crash."""
    try:
        beats = demo_script.load_script(demo) if demo else None
        if preset:
            _find_preset(preset)
    except (DemoError, ValueError) as err:
        print(f"gradtui: {err}", file=sys.stderr)
        return 2
    screen: IO[str] | None = None
    try:
        if sys.platform != "win32" and sys.__stderr__ is not None:
            screen = os.fdopen(os.dup(sys.__stderr__.fileno()), "w", encoding="utf-8", errors="replace")
        app = GradApp(
            config,
            preset=preset,
            beats=beats,
            session_file=session_file,
            driver_class=_screen_driver(screen) if screen else None,
        )
        with logs.fd2_to_log():
            code = app.run()
    except Exception as err:
        logs.logger().exception("the app crashed")
        print(f"gradtui: the app stopped: {type(err).__name__}: {err} (details in {logs.log_file()})", file=sys.stderr)
        return 1
    finally:
        if screen is not None:
            with contextlib.suppress(OSError):
                screen.close()
    if app.return_code not in (0, None):
        print(f"gradtui: the app stopped with an error (details in {logs.log_file()})", file=sys.stderr)
    return code if isinstance(code, int) else (app.return_code or 0)


def main(argv: list[str] | None = None) -> int:
    """`python -m gradtui.tui.app [--preset NAME] [--demo FILE] [--session FILE]` (the CLI has the full flags)."""
    parser = argparse.ArgumentParser(prog="python -m gradtui.tui.app")
    parser.add_argument("--preset")
    parser.add_argument("--demo")
    parser.add_argument("--session")
    args = parser.parse_args(argv)
    return run_app(LabConfig(), args.preset, args.demo, args.session)


if __name__ == "__main__":
    raise SystemExit(main())
