"""Control characters typed, pasted or read from files never reach the terminal raw (issue 21).

A paste into a form field or the path prompt that holds one is refused in one line and the field keeps
its text; a path the lab itself holds (a session opened by a hostile name) is shown escaped and still
names its file. Every place that shows text from elsewhere (log tab, toasts, status, notes, snapshot
list, export messages) shows it made visible and never as markup. Each test reads what the screen paints
(the compositor's strips, what the driver writes) and fails on any raw control character there.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.widget import Widget
from textual.widgets import Input, Static
from textual.widgets._toast import Toast

from gradtui.config import LabConfig
from gradtui.lab.session_peek import step_of
from gradtui.safe_text import visible
from gradtui.tui.engine.fake import FakeEngine
from gradtui.tui.screens.help import NotesScreen
from gradtui.tui.screens.prompts import ChoiceScreen, PathScreen
from gradtui.tui.widgets.field_input import FieldInput
from gradtui.tui.widgets.form import FieldRow

from .helpers import fake_session_file, make_app, settle, wait_until

PWNED = "\x1b]0;pwned\x07\x1b[2J"
HOSTILE = [
    "\x1b",
    "\x07",
    "\x1b]0;x\x07",
    "\x1b[2J",
    "0.1\t0.2",  # a tab from a copied table
    "0.1\n0.2",  # two lines: not silently cut to the first
    "\x9b2J",  # a C1 CSI
    "\u202e10.0",  # a bidi override
    f"[red]x{PWNED}",
]


def painted(app: Any) -> list[str]:
    """The rows the screen paints now (the lab under any prompt, and the toasts), failing on any raw
    control character in them: what the driver would write to the terminal, less its cursor moves."""
    rows = []
    for strip in app.screen._compositor.render_strips():
        text = "".join(segment.text for segment in strip if not segment.control)
        assert visible(text) == text, f"a raw control character is painted: {text!r}"
        rows.append(text)
    return rows


def shown(app: Any) -> str:
    return "\n".join(painted(app))


def painted_in(app: Any, widget: Widget) -> str:
    """What `widget` paints, its rows joined and every space and border bar dropped (a toast or an
    error line wraps a long path wherever it likes)."""
    rows, region = painted(app), widget.region
    text = "".join(row[region.x : region.right] for row in rows[region.y : region.bottom])
    return text.replace(" ", "").replace("▌", "")


def toasts_painted(app: Any) -> str:
    return "\n".join(painted_in(app, toast) for toast in app.screen.query(Toast))


def squeezed(text: str) -> str:
    return visible(text).replace(" ", "")


async def paste(pilot: Any, field: Input, text: str) -> None:
    field.post_message(events.Paste(text))
    await pilot.pause()


@pytest.mark.parametrize("text", HOSTILE)
async def test_a_paste_with_control_characters_is_refused_under_its_field(text: str) -> None:
    app = make_app(config=LabConfig(lr=0.05))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        lr = app.query_one("#field-lr", Input)
        lr.focus()
        await pilot.press("end")
        await paste(pilot, lr, text)
        assert lr.value == "0.05" and lr.cursor_position == 4  # the field keeps its text and cursor
        error = app.query_one("#row-lr", FieldRow).query_one(".field-error", Static)
        said = str(error.render())
        assert said.startswith("refused, it holds control characters: ") and visible(text)[:10] in said
        assert app.lab.form.valid and app.lab.form.applied.lr == 0.05  # the lab's state is intact
        painted(app)
        await pilot.press("backspace", "7")  # the next edit judges the field again: the line goes
        await pilot.pause()
        assert lr.value == "0.07" and not app.query_one("#row-lr", FieldRow).has_class("-invalid")


async def test_a_copied_line_is_pasted_without_its_line_break_and_controls_are_never_typed() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        lr = app.query_one("#field-lr", Input)
        lr.focus()
        lr.value = ""
        await paste(pilot, lr, "0.03\r\n")
        assert lr.value == "0.03"
        await pilot.press("ctrl+g", "escape")  # BEL and ESC as keys: never inserted
        await pilot.pause()
        assert lr.value == "0.03"


async def test_the_path_prompt_refuses_a_pasted_escape_code_and_then_saves_where_it_said(tmp_path: Path) -> None:
    target = tmp_path / "kept.npz"
    app = make_app(session_file=str(target))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, PathScreen))
        path = app.screen.query_one("#path", Input)
        await paste(pilot, path, f"evil{PWNED}.npz")
        assert path.value == str(target)
        problem = str(app.screen.query_one(".problem", Static).render())
        assert problem == "refused, it holds control characters: evil\\x1b]0;pwned\\x07\\x1…"
        assert problem in shown(app)
        await pilot.press("enter")
        await settle(pilot)
        await wait_until(pilot, target.exists)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.npz"]  # no file named with an escape code


async def test_a_session_opened_by_a_hostile_name_is_shown_escaped_and_saved_to_itself(tmp_path: Path) -> None:
    hostile = fake_session_file(tmp_path / f"s{PWNED}[b].npz", 2)
    app = make_app(session_file=str(hostile))
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await settle(pilot)
        assert app.view.step == 2
        await pilot.press("space")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, PathScreen))
        field = app.screen.query_one("#path", FieldInput)
        assert field.value == str(hostile)  # the file itself, not its escaped name
        assert visible(hostile.name) in shown(app)  # the end of it, where the cursor is
        await pilot.press("home", "left", *["right"] * len(str(tmp_path / "s")))  # onto the ESC
        await pilot.pause()
        assert field.cursor_position == len(str(tmp_path / "s"))
        await pilot.press("end", "enter")
        await settle(pilot)
        await wait_until(pilot, lambda: not isinstance(app.screen, PathScreen))
        await pilot.pause(0.2)
        assert squeezed(f"written to {hostile}") in toasts_painted(app)
    assert step_of(hostile) == 3  # the step taken here went into the file it was opened from
    assert sorted(p.name for p in tmp_path.iterdir()) == [hostile.name]


async def test_notes_and_snapshot_names_from_a_file_show_escaped_and_literal_everywhere(tmp_path: Path) -> None:
    path = fake_session_file(
        tmp_path / "hostile.npz", 4, notes=(f"note [red]x{PWNED} end",), snapshot=f"snap[/b]{PWNED}"
    )
    note = visible(f"note [red]x{PWNED} end")
    snap = visible(f"snap[/b]{PWNED}")
    app = make_app(session_file=str(path))
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await settle(pilot)
        assert app.view.step == 4
        await pilot.press("[")  # the log tab: the note logged as it was loaded
        await settle(pilot)
        assert f"from the session file: {note}" in shown(app)
        await pilot.press("o")  # the snapshot list
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        assert snap in shown(app)
        await pilot.press("escape")
        await pilot.pause()
        app.lab.action_snapshot(f"mine{PWNED}[i]")  # a toast quotes the name
        await settle(pilot)
        assert squeezed(f"snapshot 'mine{PWNED}[i]' taken") in toasts_painted(app)
        app.lab.say(f"said {PWNED} [bold]loud")  # the log tab, as TensorFlow's lines reach it
        await settle(pilot)
        assert visible(f"said {PWNED} [bold]loud") in shown(app)
        app.lab.show_experiment(LabConfig(), f"story {PWNED}")  # the story line and `i`'s notes
        await pilot.pause()
        painted(app)
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, NotesScreen))
        assert visible(f"story {PWNED}") in shown(app)


async def test_an_export_to_a_folder_named_with_escapes_says_so_escaped(tmp_path: Path) -> None:
    folder = tmp_path / f"d{PWNED}[red]"
    folder.mkdir()
    target = folder / "h.csv"
    app = make_app()
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await settle(pilot)
        app.engine.export_history(str(target))
        await settle(pilot)
        await pilot.pause(0.2)
        assert target.read_text().startswith("step,")
        assert squeezed(f"written to {target}") in toasts_painted(app)
        app.lab.notify(f"could not write {folder}: bad {PWNED}", severity="error")
        await pilot.pause(0.2)
        assert squeezed(f"could not write {folder}: bad {PWNED}") in toasts_painted(app)


async def test_a_model_path_with_escapes_is_built_and_shown_escaped_in_the_form_and_status(tmp_path: Path) -> None:
    model = tmp_path / f"m{PWNED}[b].keras"
    with zipfile.ZipFile(model, "w") as archive:  # a zip: the form's file check passes, the fake builds it
        archive.writestr("config.json", "{}")
    app = make_app()
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await settle(pilot)
        engine = app.engine
        assert isinstance(engine, FakeEngine)
        engine.hold_builds()
        app.lab.form.set_text("model", str(model))
        app.lab.form.submit_if_valid()
        await wait_until(pilot, lambda: "building" in shown(app))  # painted() checks the status row too
        engine.release_builds()
        await settle(pilot)
        assert app.view.config is not None and app.view.config.model == str(model)
        field = app.query_one("#model-path", FieldInput)
        assert field.value == str(model)  # the path itself, shown escaped
        field.focus()
        await pilot.press("end")
        await pilot.pause()
        assert painted_in(app, field).endswith(squeezed(model.name)[-20:])  # scrolled to the cursor, escapes and all
