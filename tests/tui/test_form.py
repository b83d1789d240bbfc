"""The settings form: inline errors from the shared validators, nothing applied or run until valid."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from textual import events
from textual.message import Message
from textual.widgets import Button, Input, Static

from gradtui.config import ConfigError, LabConfig
from gradtui.tui.app import GradApp
from gradtui.tui.messages import ConfigApplied, EngineFailed, SessionReady, StepsDone
from gradtui.tui.widgets.form import ConfigForm, FieldRow

from .helpers import make_app, make_real_app, of_type, real_session, settle, toasts_said, wait_until


async def test_bad_value_shows_inline_error_and_starts_no_run() -> None:
    messages: list[Message] = []
    app = make_app()
    async with app.run_test(message_hook=messages.append, notifications=True) as pilot:
        await settle(pilot)
        field = app.query_one("#field-lr", Input)
        field.focus()
        field.value = ""
        await pilot.press(*"abc")
        await pilot.pause()
        row = app.query_one("#row-lr", FieldRow)
        assert row.has_class("-invalid")
        try:
            LabConfig.parse({"lr": "abc"})
        except ConfigError as err:
            expected = err.message
        assert str(row.query_one(".field-error", Static).render()) == expected  # same text as the CLI
        assert app.query_one("#btn-step", Button).disabled
        await pilot.press("enter")  # submitting an invalid form applies nothing
        await pilot.press("escape", "space", "n", "p")  # and no key starts a run
        await settle(pilot)
        assert of_type(messages, StepsDone) == []
        assert of_type(messages, ConfigApplied) == []
        assert app.engine.session is not None and len(app.engine.session.history) == 1
        assert any("lr" in n.message for n in app._notifications)
        field.value = "0.5"
        await pilot.pause()
        assert not row.has_class("-invalid")
        assert not app.query_one("#btn-step", Button).disabled


async def test_inputs_keep_their_typing() -> None:
    messages: list[Message] = []
    app = make_app()
    async with app.run_test(message_hook=messages.append) as pilot:
        await settle(pilot)
        field = app.query_one("#field-seed", Input)
        field.focus()
        field.value = ""
        await pilot.press("1", "2", "space", "n", "p", "q", "u")
        await pilot.pause()
        assert field.value == "12 npqu"
        assert app.is_running
        await settle(pilot)
        assert of_type(messages, StepsDone) == []
        assert [m.origin for m in of_type(messages, SessionReady)] == ["build"]


async def test_valid_edit_is_applied_on_enter_in_place() -> None:
    messages: list[Message] = []
    app = make_app()
    async with app.run_test(message_hook=messages.append) as pilot:
        await settle(pilot)
        session = app.engine.session
        field = app.query_one("#field-lr", Input)
        field.focus()
        field.value = "0.5"
        await pilot.press("enter")
        await settle(pilot)
        assert app.engine.session is session  # a learning-rate change keeps the weights
        assert session is not None and session.config.lr == 0.5
        assert len(of_type(messages, ConfigApplied)) == 1


@pytest.mark.e2e
async def test_model_dependent_refusal_lands_on_its_field() -> None:
    messages: list[Message] = []
    app = make_real_app()
    async with app.run_test(message_hook=messages.append, notifications=True) as pilot:
        await settle(pilot)
        field = app.query_one("#field-target", Input)
        field.focus()
        field.value = "class:5"  # the mlp has one output
        await pilot.press("enter")
        await settle(pilot)
        failed = of_type(messages, EngineFailed)
        assert failed and failed[-1].field == "target"
        assert app.query_one("#row-target", FieldRow).has_class("-invalid")
        assert app.engine.session is not None and app.engine.session.config.target == "sum"
        assert app.is_running
        await pilot.press("escape", "space")  # still refused: no run with a form the engine rejected
        await settle(pilot)
        assert of_type(messages, StepsDone) == []
        field.focus()
        field.value = "class:0"
        await pilot.press("enter")
        await settle(pilot)
        assert not app.query_one("#row-target", FieldRow).has_class("-invalid")
        assert app.engine.session.config.target == "class:0"


@pytest.mark.e2e
async def test_a_model_file_that_will_not_load_keeps_the_session(tmp_path: Path) -> None:
    broken = tmp_path / "broken.keras"
    with zipfile.ZipFile(broken, "w") as archive:  # passes the form's file check, fails in Keras
        archive.writestr("hello.txt", "a zip, but not a Keras archive")
    messages: list[Message] = []
    app = make_real_app()
    async with app.run_test(message_hook=messages.append, notifications=True) as pilot:
        await settle(pilot)
        before = app.engine.session
        assert before is not None
        form = app.query_one(ConfigForm)
        form.set_text("model", str(broken))
        await pilot.pause()
        app.lab.apply_pending()
        await settle(pilot)
        failed = of_type(messages, EngineFailed)
        assert failed and "broken.keras" in failed[-1].text and "\n" not in failed[-1].text
        assert app.engine.session is before and app.is_running  # the previous session is intact
        assert any("broken.keras" in said for said in toasts_said(messages))
        form.set_text("model", "mlp")
        await pilot.pause()
        await pilot.press("space")
        await settle(pilot)
        assert len(app.engine.session.history) == 2


@pytest.mark.e2e
async def test_divergence_is_shown_and_undo_returns_to_finite_weights(tmp_path: Path) -> None:
    from gradtui.lab.runtime import keras

    linear, data = tmp_path / "linear.keras", tmp_path / "regression.npz"
    keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)]).save(linear)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 5)).astype(np.float32)
    np.savez(data, x_train=x, y_train=x @ np.arange(1, 6, dtype=np.float32)[:, None])
    # plain SGD at lr 100 on a linear regression overshoots ~100x a step: inf within a few steps
    messages: list[Message] = []
    app = make_real_app(
        config=LabConfig(
            model=str(linear), data=str(data), rule="batch-loss", loss="mse", lr=100.0, steps=50, device="cpu"
        )
    )
    async with app.run_test(message_hook=messages.append, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        session = real_session(app)
        assert session is not None and session.divergence is not None, toasts_said(messages)
        assert app.state == "diverged" and "diverged" in str(app.query_one("#status", Static).render())
        assert any("Diverged at step" in said for said in toasts_said(messages))
        history = session.history
        assert np.isfinite(history.column("weight_norm")).all() and np.isfinite(history.column("predictions")).all()
        assert all(np.isfinite(w).all() for w in session.weights())
        steps = session.step_count
        assert 1 < steps < 50 and len(history) == steps + 1  # the non-finite step is not recorded
        await pilot.press("u")
        await settle(pilot)
        assert len(session.history) == 1 and session.step_count == 0


def burst(app: GradApp, *keys: str) -> None:
    """Queue `keys` at once, as a terminal delivers a fast typist's keys (or tmux send-keys).

    pilot.press waits for the app to go idle after every key, so it cannot show what happens when
    the next key arrives before the previous one has been handled.
    """
    chars = {"space": " ", "tab": "\t", "escape": "\x1b", "backspace": "\x7f"}
    for key in keys:
        event = events.Key(key, chars.get(key, key if len(key) == 1 else None))
        event.set_sender(app)
        app.post_message(event)


async def test_fast_typing_keeps_every_key_in_order() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        lr = app.query_one("#field-lr", Input)
        lr.focus()
        await pilot.press("end", *["backspace"] * 5, "0", ".", "0", "5")  # several keys in a row, no pause
        assert lr.value == "0.05"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f", "escape")
        # Tab to steps/run (the form container is no Tab stop), retype it, go on to batch size, leave the
        # form and step: every key in one burst. Before the fix the digits overtook end/backspace (which
        # ran only after bubbling up to the app) and keys after a tab went to the field just left.
        burst(
            app,
            *["tab"] * 11,
            "end",
            *["backspace"] * 5,
            "3",
            "0",
            "4",
            "tab",
            "end",
            *["backspace"] * 4,  # "auto"
            "1",
            "7",
            "escape",
            "space",
        )
        await wait_until(pilot, lambda: app.focused is None and rows(app) == 2, timeout=10)
        await settle(pilot)
        assert app.query_one("#field-steps", Input).value == "304"
        assert app.query_one("#field-batch_size", Input).value == "17"
        assert lr.value == "0.05"
        assert app.engine.session is not None and app.engine.session.config.steps == 304
        steps = app.query_one("#field-steps", Input)
        steps.focus()
        await pilot.pause()
        burst(app, "shift+tab", "end", *["backspace"] * 4, "0", ".", "5", "shift+tab", "home", "1")
        await wait_until(pilot, lambda: app.focused is lr, timeout=10)
        await pilot.pause(0.2)
        assert app.query_one("#field-clipnorm", Input).value == "0.5"
        assert lr.value == "10.05"
        assert steps.value == "304"


def rows(app: GradApp) -> int:
    return len(app.engine.session.history) if app.engine.session is not None else 0


@pytest.mark.e2e
async def test_choosing_your_own_model_with_data_in_the_form_switches_the_rule_as_the_cli_does(
    tmp_path: Path,
) -> None:
    from gradtui.cli import build_parser, config_from
    from gradtui.lab.runtime import keras

    model, data = tmp_path / "softmax3.keras", tmp_path / "classes3.npz"
    keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")]).save(model)
    rng = np.random.default_rng(0)
    np.savez(data, x_train=rng.standard_normal((60, 5)).astype(np.float32), y_train=rng.integers(0, 3, 60))
    cli = config_from(build_parser().parse_args(["--model", str(model), "--data", str(data)]))
    assert cli.rule == "batch-loss" and cli.probe == "heldout"
    messages: list[Message] = []
    app = make_real_app()
    async with app.run_test(size=(160, 48), notifications=True, message_hook=messages.append) as pilot:
        await settle(pilot)
        form = app.query_one(ConfigForm)
        form.set_text("model", str(model))
        form.set_text("data", str(data))
        await pilot.pause()
        assert form.submit_if_valid()
        await settle(pilot)
        applied = app.view.config
        assert applied is not None and (applied.rule, applied.probe) == (cli.rule, cli.probe)
        assert form.texts()["rule"] == "batch-loss" and form.texts()["probe"] == "heldout"  # the form shows it
        assert any("rule batch-loss, probe heldout" in said for said in toasts_said(messages))
        form.set_text("rule", "prediction")  # chosen afterwards, the user's rule stands
        await pilot.pause()
        assert form.submit_if_valid()
        await settle(pilot)
        assert app.view.config is not None and app.view.config.rule == "prediction"


async def test_a_paths_control_characters_are_drawn_made_visible_never_sent_raw() -> None:
    """Found in tmux: a model file named `m\\x1b]0;x\\x07\\x1b[2J.keras` in the form's field retitled the
    terminal and cleared it. The field draws `\\x1b]0;x\\x07\\x1b[2J` as everywhere else in the lab; the value
    is the path as it is."""
    hostile = "/tmp/m\x1b]0;x\x07\x1b[2J.keras"
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        field = app.query_one("#model-path", Input)
        field.value = hostile
        await pilot.pause()
        drawn = "".join(segment.text for segment in field.render_line(0))
        assert r"/tmp/m\x1b]0;x\x07\x1b[2J" in drawn and "\x1b" not in drawn and "\x07" not in drawn
        assert field._value.plain == r"/tmp/m\x1b]0;x\x07\x1b[2J.keras"  # the rest is scrolled to
        assert field.value == hostile
