"""Never look frozen: a preset switch says at once what is loading, dims the old plots and counts the keys
pressed meanwhile; `n` queues like space; rates reset with the history; the messages are true.

On the fake engine (no TensorFlow), whose builds can be held open (FakeEngine.hold_builds).
"""

from __future__ import annotations

from pathlib import Path

from textual.message import Message

from gradtui.tui.engine.fake import FakeEngine
from gradtui.tui.loading import SPINNER, Loading
from gradtui.tui.messages import SessionReady, StepsDone
from gradtui.tui.widgets.status import StatusLine

from .helpers import make_app, of_type, settle, wait_until


def status_text(app: object) -> str:
    return str(app.query_one("#status", StatusLine).render())  # type: ignore[attr-defined]


def test_the_detail_names_the_preset_the_phase_the_time_and_the_queue() -> None:
    loads = Loading()
    assert not loads.shown("ready")
    loads.switch("example3", now=10.0)
    assert loads.switching and loads.shown("ready")
    assert loads.detail("paused", "play", now=10.0, frozen=True) == "example3: starting"  # the engine not there yet
    loads.queue(10)
    loads.queue(1)
    text = loads.detail("loading", "tracing the step", now=12.34, frozen=False)
    assert text.startswith("example3: tracing the step ") and " 2.3 s · queued: 11 steps" in text
    assert any(ch in text for ch in SPINNER)
    loads.queue(0, play=True)
    assert loads.detail("loading", "building model", 13.0, True).endswith("queued: 11 steps · then play")
    loads.answered()
    assert not loads.switching and loads.queued_steps == 0 and not loads.shown("ready")


def test_the_engines_own_load_shows_until_it_ends_and_two_switches_need_two_answers() -> None:
    loads = Loading()
    loads.engine_state("loading", now=1.0)
    text = loads.detail("loading", "importing TensorFlow", 1.5, False)
    assert loads.shown("loading") and text == f"importing TensorFlow {SPINNER[5]} 0.5 s"  # a frame per 0.1 s
    loads.engine_state("ready", now=2.0)
    assert loads.since is None
    loads.switch("example2", 3.0)
    loads.switch("example3", 3.1)
    loads.engine_state("ready", 3.2)  # the first switch's engine settles: the second is still on its way
    loads.answered()
    assert loads.switching and loads.label == "example3"
    loads.answered()
    assert not loads.switching


async def test_a_preset_switch_says_what_loads_within_the_key_press_dims_the_plots_and_queues_keys() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.engine, FakeEngine)
        await pilot.press("space")
        await settle(pilot)
        app.engine.hold_builds()
        await pilot.press("2")  # another model: a new session, held open; the key's own action says so
        shown = status_text(app)
        assert shown.lstrip().startswith("loading") and "example2:" in shown
        assert "step —" in shown and "probe —" in shown  # not the old experiment's
        assert app.query_one("#plots").has_class("-stale")
        await wait_until(pilot, lambda: "building model" in status_text(app), timeout=5)
        await pilot.press("n", "space")
        await pilot.pause()
        assert "queued: 11 steps" in status_text(app)
        app.engine.release_builds()
        await settle(pilot)
        assert app.view.step == 11 and app.view.config is not None and app.view.config.model == "cnn"
        assert not app.query_one("#plots").has_class("-stale")
        assert "queued" not in status_text(app) and status_text(app).lstrip().startswith("ready")


async def test_n_n_makes_twenty_steps_like_two_runs() -> None:
    messages: list[Message] = []
    app = make_app()
    async with app.run_test(message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("n", "n")
        await settle(pilot)
        assert app.view.step == 20
        assert [m.report.steps for m in of_type(messages, StepsDone)] == [10, 10]
        await pilot.press("p")
        await wait_until(pilot, lambda: app.view.state == "running")
        await pilot.press("n")  # a play stops first, then the run
        await settle(pilot)
        assert of_type(messages, StepsDone)[-1].kind == "run" and of_type(messages, StepsDone)[-1].report.steps == 10


async def test_the_rate_resets_after_undo_reset_and_restore() -> None:
    app = make_app(frozen=False)
    async with app.run_test() as pilot:
        await settle(pilot)
        for keys in (("n", "s"), ("n",)):
            await pilot.press(*keys)
            await settle(pilot)
        for key in ("u", "r"):
            await pilot.press("n")
            await settle(pilot)
            assert app.lab.rate.value is not None
            await pilot.press(key)
            await settle(pilot)
            assert app.lab.rate.value is None and "— steps/s" in status_text(app)
        await pilot.press("n")
        await settle(pilot)
        app.lab.action_restore("step-10")
        await settle(pilot)
        assert app.lab.rate.value is None


async def test_a_preset_switch_says_the_snapshots_are_kept(tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("n", "s")
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        said = [n.message for n in app._notifications if "replaced" in n.message]
        assert said and said[-1].startswith("The previous experiment (10 steps of history) was replaced;")
        assert "its snapshot is kept (o)" in said[-1]
        assert app.view.snapshot_names == ["step-10"]
        app.lab.action_restore("step-10")  # the mlp again, at step 10
        await settle(pilot)
        assert app.view.config is not None and app.view.config.model == "mlp" and app.view.step == 10


async def test_opening_the_file_just_saved_replaces_nothing_but_a_change_since_does(tmp_path: Path) -> None:
    path = str(tmp_path / "lab.npz")
    messages: list[Message] = []
    app = make_app()
    async with app.run_test(notifications=True, message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        app.engine.save(path)
        await wait_until(pilot, lambda: Path(path).exists() and app.engine.idle)
        app.engine.join_writes(5)
        app.engine.load(str(tmp_path / "." / "lab.npz"))  # the same file, spelled another way
        await settle(pilot)
        assert of_type(messages, SessionReady)[-1].replaced is None
        assert not any("replaced" in n.message for n in app._notifications)
        await pilot.press("space")
        await settle(pilot)
        app.engine.load(path)
        await settle(pilot)
        assert of_type(messages, SessionReady)[-1].replaced == (11, 0)
        assert any("was replaced" in n.message for n in app._notifications)


async def test_a_resumed_session_shows_its_preset_story_and_notes(tmp_path: Path) -> None:
    from gradtui.tui.screens.help import NotesScreen

    path = str(tmp_path / "random.npz")
    first = make_app(preset="random")
    async with first.run_test() as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        first.engine.save(path)
        await wait_until(pilot, lambda: first.engine.idle)
        first.engine.join_writes(5)
    app = make_app(resume=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.view.step == 10
        story = app.lab.query_one("#story").full.plain  # type: ignore[attr-defined]
        assert story.startswith("6. Control: a random direction of the same size")
        assert "Compare with example 1" in story
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, NotesScreen)
        assert "No notes yet" not in str(app.screen.query_one(".latest").render())
