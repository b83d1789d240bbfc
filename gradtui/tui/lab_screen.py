"""The lab screen: what the keys do to the engine, and what its answers do to the screen.

Actions queue engine commands and never wait; the engine's results come back as messages
(messages.py) posted to this screen, which is always mounted (the app's default screen), so an answer
that lands while a modal is up is handled like any other. The layout and its redraws are in
lab_display.py, the file dialogs in dialogs.py, the demo's beats in demo_runner.py.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.binding import BindingType

from gradtui.config import LabConfig
from gradtui.presets import PRESET_BY_NAME, Preset, find_preset
from gradtui.tui import dialogs
from gradtui.tui.commands import TYPED_ACTIONS, lab_bindings
from gradtui.tui.demo_runner import DemoRunner
from gradtui.tui.engine import STEP_QUEUE, EngineFactory
from gradtui.tui.lab_why import ExplainingScreen
from gradtui.tui.messages import (
    ConfigApplied,
    EngineFailed,
    EngineState,
    FileWritten,
    HistoryChanged,
    Origin,
    PinsChanged,
    Replaced,
    SaveConflict,
    SaveProblem,
    SessionReady,
    StepKind,
    StepsDone,
)
from gradtui.tui.widgets.form import ConfigForm
from gradtui.tui.widgets.plot_table import find_tab, tab_names
from gradtui.tui.widgets.plots_panel import zero_toast
from gradtui.tui.widgets.status import StoryLine


class LabScreen(ExplainingScreen):
    """The lab: its keys (commands.lab_bindings), their actions, and the engine's messages (the Why and
    Preview tabs' are lab_why.py's)."""

    BINDINGS: ClassVar[list[BindingType]] = lab_bindings()  # type: ignore[assignment]

    def __init__(
        self,
        engine: EngineFactory,
        config: LabConfig,
        *,
        preset: Preset | None = None,
        demo: DemoRunner | None = None,
        session_file: str | None = None,
        resume: str | None = None,
        frozen: bool = False,
        notices: tuple[str, ...] = (),
    ) -> None:
        super().__init__(engine, config, resume or session_file, preset, frozen)
        self.notices = notices  # shown until dismissed (damaged autosaves --resume moved aside)
        self.demo = demo or DemoRunner([])
        self.session_file = session_file  # where ctrl+s saves (never a file that failed to load)
        self.offer_resume = not (resume or session_file or preset or self.demo.beats)  # a plain start
        self.wants_play = False  # what the user last asked p for (the engine's state may lag)
        self.closing = False  # the app is quitting: no key acts any more (the app sets this)
        self.form_later: LabConfig | None = None  # settings the form shows from the next frame (load_form_now)

    def on_mount(self) -> None:
        """The opening explanations (Textual then runs LabDisplay.on_mount too: a handler runs for every
        class of the MRO, so it is not called here)."""
        self.show_experiment(self.initial_config)  # the preset it runs, or its settings, and their story
        if self.demo.beats:
            banner = self.query_one("#demo-note", StoryLine)
            banner.show(Text(self.demo.intro()))
            banner.display = True
        for notice in self.notices:
            self.show_notice(notice)
        if self.offer_resume:  # every autosave is read whole first: off the event loop
            self.run_worker(self.find_resume, thread=True, exit_on_error=False)

    def on_key(self, event: events.Key) -> None:
        """Any key hides the first-run hint (and still does what it does)."""
        self.hide_hint()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.closing:
            return False
        typing = self.typing_in_form()
        if action == "leave_field":  # only a field or dropdown of the form; elsewhere escape keeps its own meaning
            return typing
        return not (typing and action in TYPED_ACTIONS)  # a letter typed into a dropdown is not a lab key

    # -- engine messages -------------------------------------------------------------------------

    @on(EngineState)
    def _engine_state(self, message: EngineState) -> None:
        self.view.on_state(message)
        self.loads.engine_state(message.state, time.monotonic())
        if message.state == "running":
            self.rate.restart()
        self.update_controls()
        self.update_status()

    @on(SessionReady)
    def _session_ready(self, message: SessionReady) -> None:
        if message.origin == "load":
            self.form_later = None
            self.form.load(message.config)
            self.preset = PRESET_BY_NAME.get(message.preset)  # an opened session's own story (or none)
        if message.origin in ("preset", "demo", "load"):
            self.loads.answered()
        s = message.summary
        self.show_summary(s)
        self.say(f"model: {s.line()} on {', '.join(s.devices or (s.device,))}")
        # an opened session's notes were written when it ran: say so, or they read as if just happened
        opened = message.origin == "load"
        for note in message.notes:
            self.say(f"from the session file: {note}" if opened else note)
        last = message.notes[-1] if message.notes else ""
        self.show_experiment(message.config, f"from the session file: {last}" if opened and last else last)
        self.plots.mark_dirty()
        if message.origin in ("preset", "demo", "load"):
            self._fresh_experiment(message.origin, message.replaced, in_place=False)
        self.rate.clear()
        self.read_memory()  # the new session's devices, not the last one's

    @on(ConfigApplied)
    def _config_applied(self, message: ConfigApplied) -> None:
        self.show_experiment(message.config)  # a form change may make it a preset, or no longer one
        if message.origin in ("preset", "demo"):
            self.loads.answered()
        if self.view.summary is not None:  # a change in place can change the mode the summary names
            self.show_summary(self.view.summary)
        self.plots.mark_dirty()
        if message.origin in ("preset", "demo"):  # a preset applied in place (same model): it reset the history
            self._fresh_experiment(message.origin, message.replaced, in_place=True)

    def _fresh_experiment(self, origin: Origin, replaced: Replaced | None, in_place: bool) -> None:
        """A preset or opened session has replaced the experiment: no stale rate, and say what was replaced.

        Runs on the engine's answer, so a StepsDone from a run the switch interrupted cannot bring the old
        rate back. A demo script's presets are meant to start afresh, so they are not announced."""
        self.rate.clear()
        if origin == "demo" or replaced is None or replaced == (0, 0):
            return
        steps, snaps = replaced
        history = f"{steps} step{'s' * (steps != 1)} of history"
        if in_place:  # same model: the session was reset (undoable) and keeps its snapshots
            text = f"History reset to step 0 ({history}; u undoes it, snapshots are kept)."
        elif origin == "preset":  # a new model: the snapshots come along (each restores its own experiment)
            kept = f"; {'its snapshot is' if snaps == 1 else f'its {snaps} snapshots are'} kept (o)" if snaps else ""
            text = f"The previous experiment ({history}) was replaced{kept}."
        else:  # an opened file brings its own snapshots
            lost = history + (f", {snaps} snapshot{'s' * (snaps != 1)}" if snaps else "")
            text = f"The previous experiment ({lost}) was replaced."
        self.notify(f"{text} ctrl+s saves an experiment to a file.", title="new experiment")

    @on(StepsDone)
    def _steps_done(self, message: StepsDone) -> None:
        report = message.report
        if message.kind == "play" and self.view.idle:  # it ended (paused, diverged) and no other is asked for
            self.wants_play = False
        self.rate.measured(report)
        config = self.view.config
        for note in report.notes:
            if config is not None:
                self.show_experiment(config, note)
        if report.divergence is not None:
            d = report.divergence
            self.notify(
                f"Diverged at step {d.step}: non-finite {d.where}. Kept the last finite weights; "
                "undo or lower the learning rate.",
                title="diverged",
                severity="error",
                timeout=8,
            )
        self.plots.mark_dirty()
        self.tick()  # paint the new step now: a key press should not wait for the timer

    @on(HistoryChanged)
    def _history_changed(self, message: HistoryChanged) -> None:
        if message.ok and message.action != "snapshot":
            self.rate.clear()  # the history moved back: the last run's rate is not this one's
        if not message.ok:
            self.notify(message.detail or f"{message.action} did nothing", severity="warning")
        elif message.action == "snapshot":
            self.notify(f"snapshot {message.detail!r} taken (o restores it)")
        elif message.action == "restore":
            self.notify(f"restored snapshot {message.detail!r}")
        self.plots.mark_dirty()

    @on(PinsChanged)
    def _pins_changed(self, message: PinsChanged) -> None:
        self.say(message.text)
        self.notify(f"{message.text}. c pins, x clears.", title="reference runs")
        self.plots.mark_dirty()
        self.tick()

    @on(EngineFailed)
    def _engine_failed(self, message: EngineFailed) -> None:
        if message.action == "load":  # ctrl+s must not offer (and replace) the file that did not open
            self.session_file = None
        if message.action in ("apply", "load"):  # the switch on its way ended here: the old experiment stays
            self.loads.answered()
        self.say(f"{message.action} failed: {message.text}")
        if message.untrusted is not None:
            dialogs.ask_trust(self, message.untrusted, message.text, message.field)
            return
        if message.field:
            self.form.show_engine_error(message.field, message.text, self.view.config)
        self.notify(message.text, title=f"{message.action} failed", severity="error", timeout=8)

    @on(FileWritten)
    def _file_written(self, message: FileWritten) -> None:
        self.say(f"wrote {message.what} to {message.path}")
        self.notify(f"{message.what} written to {message.path}")
        if message.what == "session" and self.save_alert.startswith("save "):
            self.set_save_alert("")

    @on(SaveConflict)
    def _save_conflict(self, message: SaveConflict) -> None:
        self.say(f"save not written: {message.text}")
        dialogs.ask_overwrite_changed(self, message.path, message.text)

    @on(SaveProblem)
    def _save_problem(self, message: SaveProblem) -> None:
        """Shown at once on the status line, where it stays until a save lands where it was asked."""
        if not message.line:
            if self.save_alert.startswith(message.what):
                self.set_save_alert("")
        else:
            self.set_save_alert(message.line)
            self.say(message.line)
            self.notify(message.line, title=f"{message.what} failed", severity="error", timeout=12)

    @on(ConfigForm.Validity)
    def _form_validity(self, message: ConfigForm.Validity) -> None:
        self.form_valid = message.valid
        self.update_controls()

    @on(ConfigForm.Submit)
    def _form_submit(self, message: ConfigForm.Submit) -> None:
        self.interrupt()
        self.engine.apply(message.config)

    # -- actions ---------------------------------------------------------------------------------

    def can_act(self) -> bool:
        """A session is loaded; else say why nothing happens."""
        if not self.view.loaded:
            self.notify(
                "The engine is still loading."
                if self.view.state == "loading"
                else "No model is loaded: fix the settings and press enter.",
                severity="warning",
            )
            return False
        return True

    def load_form_now(self) -> None:
        """Show the settings a preset key left for the next frame, now (before the form is read)."""
        if self.form_later is not None:
            config, self.form_later = self.form_later, None
            self.form.load(config)

    def apply_pending(self) -> bool:
        """Apply a valid, changed form before running; False (and say why) if the form is invalid."""
        self.load_form_now()
        form = self.form
        config = form.validate_form()
        if config is None:
            fields = ", ".join(form.errors)
            self.notify(f"Fix the settings first ({fields}).", title="invalid settings", severity="error")
            return False
        if config != form.applied:
            config = form.implied(config)
            form.applied = config
            self.interrupt()
            self.engine.apply(config)
        return True

    def interrupt(self) -> None:
        """Stop a run in progress so the next command runs at once."""
        self.wants_play = False
        self.engine.pause()

    def action_step(self, count: int = 1) -> None:
        """Steps and runs queue behind each other (keys that arrive together all count, and keys pressed while
        an experiment loads wait for it); a play stops first."""
        self._queue_steps(count, "step")

    def action_run_n(self, count: int | None = None) -> None:
        """Like a step press: `n n` is two runs, one after the other."""
        self.load_form_now()
        self._queue_steps(count or self.form.applied.steps, "run")

    def _queue_steps(self, count: int, kind: StepKind) -> None:
        if self.can_act() and self.apply_pending():
            if self.wants_play or (self.view.state == "running" and self.view.detail == "play"):
                self.interrupt()
            if self.engine.step(count, kind):
                self.loads.queue(count)
                self.update_status()  # "queued: N steps" while an experiment loads
            else:
                self.notify(f"{STEP_QUEUE} presses are queued already; this one was not added.", severity="warning")

    def action_play_pause(self) -> None:
        """Toggle what the user last asked for, not the engine's state, which lags behind quick presses."""
        if self.wants_play:
            self.action_pause()
        elif self.can_act() and self.apply_pending():
            self.wants_play = True
            self.loads.queue(0, play=True)
            self.update_status()
            self.engine.play()

    def action_pause(self) -> None:
        self.interrupt()

    def action_play(self) -> None:
        if self.can_act() and self.apply_pending():
            self.interrupt()
            self.wants_play = True
            self.engine.play()

    def action_undo(self) -> None:
        if self.can_act():
            self.interrupt()
            self.engine.undo()

    def action_reset(self) -> None:
        if self.can_act():
            self.interrupt()
            self.engine.reset()

    def action_snapshot(self, name: str | None = None) -> None:
        if self.can_act():
            self.interrupt()
            self.engine.snapshot(name)

    def action_restore(self, name: str | None = None) -> None:
        if not self.can_act():
            return
        if name:
            self.interrupt()
            self.engine.restore(name)
        else:
            dialogs.ask_restore(self)

    def action_preset(self, name: str, origin: Origin = "preset") -> None:
        """A preset is a fresh experiment from step 0 (the engine's answer says what it replaced)."""
        preset = find_preset(name)
        self.load_form_now()  # a preset on top of the last one's settings (its device)
        config = preset.config(self.form.applied)
        self.preset = preset
        self.form_later = config  # the form's ~20 fields a frame after the status: they lay out the whole screen
        self.call_after_refresh(self.load_form_now)
        self.show_experiment(config)
        self.say(f"preset {preset.name}: {preset.title}. {preset.story}")
        self.interrupt()
        self.loads.switch(preset.name, time.monotonic())
        self.update_status()  # says so now: the engine may take seconds to answer
        self.engine.apply(config, origin=origin)

    def action_pin(self, name: str | None = None) -> None:
        """Pin the run so far as a reference drawn on every plot (kept across presets, in sessions and exports)."""
        if self.can_act():
            self.engine.pin(name or None)

    def action_unpin(self) -> None:
        self.engine.unpin()

    def action_next_tab(self) -> None:
        self.plots.switch_tab(1)

    def action_previous_tab(self) -> None:
        self.plots.switch_tab(-1)

    def show_tab(self, name: str) -> None:
        """Bring up a tab by its label or plot key (a demo's `tab NAME`)."""
        tab_id = find_tab(name)
        if tab_id is None:
            self.notify(f"no tab named {name!r} (tabs: {', '.join(tab_names())})", severity="warning")
            return
        self.plots.show_tab(tab_id)

    def action_toggle_log(self) -> None:
        panel = self.plots
        panel.log_scale = not panel.log_scale
        self._redraw_now("weight and gradient norms on a " + ("log" if panel.log_scale else "linear") + " axis")

    def action_toggle_zero(self) -> None:
        panel = self.plots
        panel.from_zero = not panel.from_zero
        self._redraw_now(zero_toast(panel.from_zero, panel.log_scale))

    def _redraw_now(self, what: str) -> None:
        self.notify(what, timeout=2)
        self.plots.mark_dirty()
        self.tick()

    def action_export(self) -> None:
        dialogs.ask_export(self)

    def action_save_session(self) -> None:
        if self.can_act():
            dialogs.ask_save_session(self)

    def action_open_session(self) -> None:
        dialogs.ask_open_session(self)

    def action_toggle_form(self) -> None:
        self.load_form_now()
        self.form_open = not self.form_shown()
        self.update_form_visibility()
        if self.form_open:
            self.form.query_one("#field-model").focus()
        else:
            self.set_focus(None)

    def action_leave_form(self) -> None:
        self.set_focus(None)
        self.dismiss_notice()

    def action_leave_field(self) -> None:
        """Escape from a form text field, taken as the key arrives (see commands.lab_bindings)."""
        self.set_focus(None)

    def action_demo_next(self) -> None:
        note = self.demo.advance(self)
        if note is not None:
            self.show_demo_note(note)

    def set_fields(self, settings: tuple[tuple[str, str], ...]) -> None:
        """Type values into form fields, then apply them as enter would (a demo's `set`)."""
        self.load_form_now()
        form = self.form
        for name, value in settings:
            form.set_text(name, value)
        self.apply_pending()
