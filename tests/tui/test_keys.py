"""Pilot tests: every lab key changes engine state and posts the message the UI acts on."""

from __future__ import annotations

import time

import numpy as np
import pytest
from textual.message import Message
from textual.widgets import Button, OptionList, Static

from gradtui.config import LabConfig
from gradtui.lab.results import StepReport
from gradtui.tui.app import GradApp
from gradtui.tui.engine.fake import FakeEngine
from gradtui.tui.lab_screen import LabScreen
from gradtui.tui.messages import EngineState, HistoryChanged, SessionReady, StepsDone
from gradtui.tui.screens.help import HelpScreen
from gradtui.tui.screens.prompts import ChoiceScreen
from gradtui.tui.widgets.form import ConfigForm
from gradtui.tui.widgets.status import StoryLine

from .helpers import make_app, make_real_app, of_type, real_session, settle, wait_until


def rows(app: GradApp) -> int:
    assert app.engine.session is not None
    return len(app.engine.session.history)


@pytest.mark.e2e
async def test_first_frame_shows_loading_then_enables_controls() -> None:
    messages: list[Message] = []
    app = make_real_app()
    async with app.run_test(message_hook=messages.append) as pilot:
        # the engine may already be ready here when TensorFlow is imported (an earlier test did it)
        assert app.state == "ready" or app.query_one("#btn-step", Button).disabled
        await settle(pilot)
        assert app.state == "ready"
        assert not app.query_one("#btn-step", Button).disabled
        states = [m.state for m in of_type(messages, EngineState)]
        assert states[0] == "loading" and states[-1] == "ready"
        assert of_type(messages, SessionReady)[0].origin == "build"
        assert "mlp: 71 params" in str(app.query_one("#model-summary", Static).render())


async def test_space_steps_once_and_n_runs_steps_per_run() -> None:
    messages: list[Message] = []
    app = make_app()
    async with app.run_test(message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)
        assert rows(app) == 2
        await pilot.press("n")
        await settle(pilot)
        assert rows(app) == 12  # steps/run defaults to 10
        done = of_type(messages, StepsDone)
        assert [(m.kind, m.report.steps) for m in done] == [("step", 1), ("run", 10)]
        assert "step 11" in str(app.query_one("#status", Static).render())


@pytest.mark.e2e
async def test_play_then_pause_within_a_second() -> None:
    messages: list[Message] = []
    app = make_real_app()
    async with app.run_test(message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await wait_until(pilot, lambda: app.engine.running and rows(app) > 50)
        assert app.state == "running"
        t0 = time.monotonic()
        await pilot.press("p")
        await wait_until(pilot, lambda: app.state == "paused", timeout=5.0)
        assert time.monotonic() - t0 < 5.0  # prompt, not hung: how prompt is a bench figure
        report: StepReport = of_type(messages, StepsDone)[-1].report
        assert of_type(messages, StepsDone)[-1].kind == "play"
        assert 0 < report.steps < report.requested
        assert rows(app) == report.steps + 1


async def test_undo_and_reset() -> None:
    messages: list[Message] = []
    app = make_app()
    async with app.run_test(message_hook=messages.append, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)  # a key pressed while the run is still queued would interrupt it (by design)
        await pilot.press("space")
        await settle(pilot)
        assert rows(app) == 12
        await pilot.press("u")
        await settle(pilot)
        assert rows(app) == 11  # the single step is undone, the run is kept
        await pilot.press("r")
        await settle(pilot)
        assert rows(app) == 1
        changes = [(m.action, m.ok) for m in of_type(messages, HistoryChanged)]
        assert changes == [("undo", True), ("reset", True)]
        await pilot.press("u", "u", "u")  # reset, run, then nothing left
        await settle(pilot)
        assert of_type(messages, HistoryChanged)[-1].ok is False
        assert any("nothing to undo" in n.message for n in app._notifications)


async def test_snapshot_and_restore() -> None:
    messages: list[Message] = []
    app = make_app()
    async with app.run_test(message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        snap = of_type(messages, HistoryChanged)[-1]
        assert (snap.action, snap.detail) == ("snapshot", "step-10")
        await pilot.press("n")
        await settle(pilot)
        assert rows(app) == 21
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("enter")
        await settle(pilot)
        assert rows(app) == 11
        assert of_type(messages, HistoryChanged)[-1].action == "restore"


@pytest.mark.e2e
async def test_preset_keys_apply_config_and_show_story() -> None:
    messages: list[Message] = []
    app = make_real_app()
    async with app.run_test(message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("2")  # example 2: softmax sum, zero gradient
        await settle(pilot)
        session = app.engine.session
        assert session is not None and session.config.model == "cnn" and session.config.new_head
        story = app.query_one("#story", StoryLine).full.plain  # the whole text; the row may show only its start
        assert "Example 2" in story or "example 2" in story
        assert "Zero gradient" in story  # the engine's explanation is shown with the story
        assert of_type(messages, SessionReady)[-1].origin == "preset"
        await pilot.press("n")
        await settle(pilot)
        predictions = session.history.column("predictions")
        assert abs(float((predictions[-1] - predictions[0]).max())) < 1e-5  # nothing moves
        await pilot.press("6")  # back to the mlp: a new session again
        await settle(pilot)
        assert app.engine.session is not None and app.engine.session.config.rule == "random"
        assert app.query_one("#field-rule").value == "random"  # type: ignore[attr-defined]


async def test_help_and_palette() -> None:
    messages: list[Message] = []
    app = make_app()
    async with app.run_test(message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Run N")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert rows(app) == 11
        assert of_type(messages, StepsDone)[-1].kind == "run"


@pytest.mark.e2e
async def test_quit_while_running_is_quick() -> None:
    app = make_real_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("p")
        await wait_until(pilot, lambda: app.engine.running and rows(app) > 50)
        t0 = time.monotonic()
        await pilot.press("q")
        await wait_until(pilot, lambda: not app.is_running, timeout=5.0)
    assert time.monotonic() - t0 < 5.0  # prompt, not hung: how prompt is a bench figure
    assert not app.engine._thread.is_alive()


async def test_worker_error_becomes_notification_and_session_survives() -> None:
    messages: list[Message] = []
    app = make_app()
    async with app.run_test(message_hook=messages.append, notifications=True) as pilot:
        await settle(pilot)
        session = app.engine.session
        assert session is not None

        def broken(*args: object, **kwargs: object) -> StepReport:
            raise RuntimeError("simulated failure")

        session.step = broken  # type: ignore[method-assign]
        await pilot.press("space")
        await settle(pilot)
        assert app.is_running and app.engine.session is session
        assert any("simulated failure" in n.message for n in app._notifications)
        assert app.state == "ready"


async def test_theme_form_and_escape_keys() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        dark = app.current_theme.dark
        await pilot.press("t")
        await pilot.pause()
        assert app.current_theme.dark is not dark
        sidebar = app.query_one("#sidebar")
        assert not sidebar.display  # narrow: the form starts hidden
        await pilot.press("f")
        await pilot.pause()
        assert sidebar.display and app.focused is not None and app.focused.id == "field-model"
        await pilot.press("escape")
        await pilot.pause()
        assert app.focused is None
        await pilot.press("space")  # with no field focused, space steps again
        await settle(pilot)
        assert rows(app) == 2
        await pilot.press("f")
        await pilot.pause()
        assert not sidebar.display


def test_every_action_has_a_key_in_the_bindings_and_the_help() -> None:
    from gradtui.tui.commands import ACTIONS, bindings
    from gradtui.tui.screens.help import help_markdown

    bound = {b.action for b in bindings()}
    text = help_markdown()
    for action in ACTIONS:
        assert action.action in bound
        assert action.help in text
        owner = GradApp if action.app else LabScreen  # the app's keys, and the lab screen's
        assert hasattr(owner, f"action_{action.action}"), action.action
    for key in ("space", "p", "n", "u", "r", "s", "e", "q", "1", "6", "ctrl+s"):
        assert any(key in b.key.split(",") for b in bindings()), key


async def test_plots_build_off_thread_while_running() -> None:
    from gradtui.tui.widgets.plots import ChartPlot

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        plot = app.query_one("#plot-weights", ChartPlot)
        await pilot.press("p")
        await wait_until(pilot, lambda: app.engine.running and rows(app) > 200)
        # a background build landed for a chart of the running history being shown, at the widget's size
        # (waited for: the chart on show may be from the tick before the 200th row, on a loaded machine)
        await wait_until(
            pilot,
            lambda: plot._ready is not None and plot._ready[0] is plot.chart and len(plot.chart.series[0].x) > 200,
            timeout=10.0,
        )
        assert plot._ready is not None and plot._ready[1] == (plot.size.width, plot.size.height)
        assert "weight norm per layer" in plot._ready[3].plain
        assert app.engine.running  # built while the play went on
        await pilot.press("p")
        await wait_until(pilot, lambda: app.state == "paused", timeout=2.0)


def last_toast(app: GradApp) -> str:
    return list(app._notifications)[-1].message


async def test_z_on_a_log_axis_says_the_log_axes_keep_their_decades() -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("z")
        assert last_toast(app) == "axes from zero (update ratios stay on their log axis)"
        await pilot.press("z", "l", "z")
        said = last_toast(app)
        assert said.startswith("axes from zero, but not the norms") and "a log axis has no zero" in said
        await pilot.press("z")
        assert last_toast(app) == "axes fitted to the data"


@pytest.mark.e2e
async def test_restoring_a_snapshot_taken_under_another_optimizer_from_the_keys() -> None:
    """adam, snapshot, sgd chosen in the form, snapshot, restore the first: adam and its weights come back."""
    app = make_real_app(config=LabConfig(optimizer="adam"))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        session = real_session(app)
        assert session is not None
        await pilot.press("space", "space", "space")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        at_adam = [w.copy() for w in session.weights()]
        adam_state = [v.copy() for v in session.optimizer_state()]  # its iterations, moments
        form = app.query_one(ConfigForm)
        form.set_text("optimizer", "sgd")
        await pilot.pause()
        await settle(pilot)
        await pilot.press("space", "space")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert app.view.config is not None and app.view.config.optimizer == "sgd"
        assert app.view.snapshot_names == ["step-3", "step-5"]
        await pilot.press("o", "up", "enter")
        await settle(pilot)
        session = real_session(app)
        assert session is not None and session.step_count == 3
        assert app.view.config is not None and app.view.config.optimizer == "adam"
        assert form.texts()["optimizer"] == "adam"
        assert all(np.array_equal(a, b) for a, b in zip(at_adam, session.weights(), strict=True))
        restored = session.optimizer_state()
        assert len(restored) == len(adam_state) > 1
        assert all(np.array_equal(a, b) for a, b in zip(adam_state, restored, strict=True))
        assert not any(n.severity == "error" for n in app._notifications)
        await pilot.press("space")  # adam steps on from the restored state
        await settle(pilot)
        assert session.step_count == 4 and np.isfinite(session.history.column("predictions")[-1]).all()


@pytest.mark.e2e
async def test_a_preset_applied_in_place_updates_the_model_summary() -> None:
    """Example 3 on the default lab's mlp keeps the model (applied in place) but trains in training mode:
    the form's model summary says so, not the inference mode the lab opened in."""
    from textual.widgets import Static

    app = make_real_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)

        def shown() -> str:
            return str(app.query_one("#model-summary", Static).render())

        assert "mode infer" in shown()
        await pilot.press("4")
        await settle(pilot)
        assert app.engine.session is not None and app.engine.session.config.rule == "batch-loss"
        assert "mode train" in shown() and "mode infer" not in shown()


async def test_keys_typed_after_q_open_nothing_while_the_lab_quits() -> None:
    """`question` typed fast: q quits, and the e (export), o, i and the rest that arrive during the final
    save neither open a prompt on the closing app nor crash it (an ExportScreen mounted while closing
    did: NoMatches, exit status 1)."""
    from textual import events

    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)
        for key in "question":
            event = events.Key(key, key)
            event.set_sender(app)
            app.post_message(event)
        await wait_until(pilot, lambda: not app.is_running, timeout=20)
    assert app.return_code == 0
    assert isinstance(app.engine, FakeEngine)
    assert app.engine.calls == ["step", "autosave"]  # the final autosave; no undo, snapshot or export


async def test_the_snapshot_list_names_each_ones_experiment_and_two_at_one_step_are_both_kept() -> None:
    """Found in tmux: `s` at step 10 of example1, preset 6, ten steps, `s` again replaced the first `step-10`,
    and the list said nothing of which experiment a snapshot restores."""
    messages: list[Message] = []
    app = make_app(preset="example1")
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("n", "s")
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        await pilot.press("n", "s")
        await settle(pilot)
        assert [m.detail for m in of_type(messages, HistoryChanged) if m.action == "snapshot"] == [
            "step-10",
            "step-10 (2)",
        ]
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        shown = [str(option.prompt) for option in app.screen.query_one(OptionList).options]
        assert shown == ["step-10 · example1", "step-10 (2) · random"]
        await pilot.press("up", "enter")  # the first: example1's
        await settle(pilot)
        assert app.engine.session is not None and app.engine.session.config.rule == "prediction"
        assert of_type(messages, HistoryChanged)[-1].detail == "step-10"
