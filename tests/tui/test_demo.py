"""Demo scripts: validated up front with line numbers, replayed one beat per key."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.message import Message
from textual.widgets import Static

from gradtui.config import LabConfig
from gradtui.tui.demo import DemoError, load_script, parse_script
from gradtui.tui.launcher import run_app
from gradtui.tui.messages import ConfigApplied, StepsDone
from gradtui.tui.screens.help import NotesScreen
from gradtui.tui.widgets.status import StoryLine

from .helpers import make_app, make_real_app, of_type, settle

ASSET = Path(__file__).resolve().parents[2] / "assets" / "demo.txt"


def test_shipped_demo_parses_and_tells_the_story() -> None:
    beats = load_script(str(ASSET))
    presets = [c.arg for b in beats for c in b.commands if c.verb == "preset"]
    assert presets[:5] == ["example1", "example2", "example2-class", "example3", "wrong-label"]
    assert "random" in presets
    assert all(b.commands[-1].verb != "note" or b is beats[-1] for b in beats)


def test_notes_and_settings_join_the_next_beat() -> None:
    beats = parse_script("# intro\nnote hello\npreset 1\n\nset lr=0.5 steps=3\nrun\nstep 2\n")
    assert [[c.verb for c in b.commands] for b in beats] == [["note", "preset"], ["set", "run"], ["step"]]
    assert beats[1].commands[0].settings == (("lr", "0.5"), ("steps", "3"))


def test_every_bad_line_is_reported_with_its_number() -> None:
    script = "preset example1\nstep two\nfly away\nset lr=-1\npreset nope\nset bogus=1\nrestore\n"
    with pytest.raises(DemoError) as caught:
        parse_script(script, "talk.txt")
    lines = str(caught.value).splitlines()
    assert [line.split(":")[1] for line in lines] == ["2", "3", "4", "5", "6", "7"]
    assert lines[0] == "talk.txt:2: step expects a whole number of steps, got 'two'"
    assert "--lr" not in lines[2] and "lr" in lines[2]
    assert all(len(line.splitlines()) == 1 for line in lines)


def test_run_app_refuses_a_bad_script_before_starting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("step\nwobble\n")
    assert run_app(LabConfig(), None, str(bad), None) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2: unknown command 'wobble'" in err
    assert run_app(LabConfig(), "nonesuch", None, None) == 2
    assert run_app(LabConfig(), None, str(tmp_path / "missing.txt"), None) == 2


async def test_right_plays_one_beat_per_key() -> None:
    beats = parse_script("note first\npreset example1\nstep 3\nset lr=0.5\nrun 4\n")
    messages: list[Message] = []
    app = make_app(beats=beats)
    async with app.run_test(message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("right")
        await settle(pilot)
        assert "first" in str(app.query_one("#demo-note", StoryLine).render())
        assert app.engine.session is not None and len(app.engine.session.history) == 1
        await pilot.press("right")
        await settle(pilot)
        assert len(app.engine.session.history) == 4
        await pilot.press("right")
        await settle(pilot)
        assert app.engine.session.config.lr == 0.5
        assert len(app.engine.session.history) == 8
        assert [m.report.steps for m in of_type(messages, StepsDone)] == [3, 4]
        assert len(of_type(messages, ConfigApplied)) >= 1
        await pilot.press("right")  # past the end: a notification, nothing else
        await settle(pilot)
        assert app.is_running


def test_the_shipped_demo_pins_example1_for_the_control_and_shows_held_out() -> None:
    beats = load_script(str(ASSET))
    described = [b.describe() for b in beats]
    assert "pin; preset random" in described  # the control runs against example 1 on the same axes
    assert "tab Held-out; preset example3" in described  # where the notes talk about held-out accuracy


async def test_a_script_pins_a_run_switches_tabs_and_unpins() -> None:
    from textual.widgets import TabbedContent

    beats = parse_script("preset example1\nrun 5\npin first\ntab held-out\nstep\nunpin\nstep\n")
    app = make_app(beats=beats)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for _ in range(3):
            await pilot.press("right")
            await settle(pilot)
        assert [p.label for p in app.view.pins] == ["first"] and app.view.pins[0].steps == 5
        assert app.query_one("#tabs", TabbedContent).active == "tab-heldout"
        await pilot.press("right")
        await settle(pilot)
        assert app.view.pins == ()
        with pytest.raises(DemoError, match="unknown tab 'nope'"):
            parse_script("tab nope\n")


async def test_a_long_note_at_80x24_says_it_is_cut_and_i_shows_it_whole() -> None:
    note = "Ten more: it keeps falling towards 0. The model is not learning anything; it is being pushed."
    app = make_app(beats=parse_script(f"note {note}\nstep\n"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("right")
        await settle(pilot)
        banner = app.query_one("#demo-note", StoryLine)
        shown = str(banner.render())
        assert banner.size.height == 1 and len(shown) <= banner.content_size.width
        assert shown.endswith("… (i: whole note)") and shown.startswith(" 1/1 ")
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, NotesScreen)
        assert note in str(app.screen.query_one(".latest", Static).render())


@pytest.mark.e2e
async def test_a_demos_snapshot_survives_its_model_switch() -> None:
    """The shipped demo's `snapshot trained` (example 3, the mlp) is still there after the wrong-label beat
    builds the cnn, and restores the mlp at its step (the real engine: Session.carry_over)."""
    beats = parse_script("preset example3\nrun 3\nsnapshot trained\npreset wrong-label\nstep\n")
    app = make_real_app(beats=beats)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for _ in beats:
            await pilot.press("right")
            await settle(pilot, timeout=120)
        assert app.view.config is not None and app.view.config.model == "cnn" and app.view.step == 1
        assert app.view.snapshot_names == ["trained"]
        app.lab.action_restore("trained")
        await settle(pilot, timeout=120)
        assert app.view.config is not None and app.view.config.model == "mlp" and app.view.step == 3
        story = app.query_one("#story", StoryLine).full.plain
        assert story.startswith("4. Article example 3")  # the restored experiment names itself


async def test_a_notes_control_characters_are_all_shown_bel_included() -> None:
    """Found in tmux: `note a \\x1b]0;x\\x07 b` showed `\\x1b]0;x b`: Rich's Text drops BEL and backspace before
    the banner made the rest visible, so part of what the script holds was silently lost."""
    app = make_app(beats=parse_script("note a \x1b]0;x\x07 b \x1b[2J c\x08d\nstep\n"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("right")
        await settle(pilot)
        shown = str(app.query_one("#demo-note", StoryLine).render())
        assert r"a \x1b]0;x\x07 b \x1b[2J c\x08d" in shown and "\x1b" not in shown
