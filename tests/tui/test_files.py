"""Export (CSV, JSON, .npz, SVG) and session save/open from the UI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from textual.message import Message
from textual.widgets import Input, Select

from gradtui.tui.messages import FileWritten, SessionReady
from gradtui.tui.screens.prompts import ExportScreen, PathScreen

from .helpers import make_app, make_real_app, of_type, settle


async def export(pilot: object, fmt: str, path: Path) -> None:
    app = pilot.app  # type: ignore[attr-defined]
    await pilot.press("e")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    assert isinstance(app.screen, ExportScreen)
    app.screen.query_one("#format", Select).value = fmt
    await pilot.pause()  # type: ignore[attr-defined]
    assert app.screen.query_one("#path", Input).value.endswith(f".{fmt}")  # the suffix follows the format
    app.screen.query_one("#path", Input).value = str(path)
    await pilot.press("enter")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]


async def test_export_csv_json_svg(tmp_path: Path) -> None:
    messages: list[Message] = []
    app = make_app()
    async with app.run_test(message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert app.engine.session is not None and len(app.engine.session.history) == 11
        await export(pilot, "csv", tmp_path / "h.csv")
        await export(pilot, "json", tmp_path / "h.json")
        await export(pilot, "npz", tmp_path / "h.npz")
        await export(pilot, "svg", tmp_path / "screen.svg")
        await pilot.pause(0.1)
    lines = (tmp_path / "h.csv").read_text().splitlines()
    assert lines[0].startswith("step,") and len(lines) == 12
    assert len(json.loads((tmp_path / "h.json").read_text())["step"]) == 11
    with np.load(tmp_path / "h.npz") as columns:
        assert columns["step"].tolist() == list(range(11))
    assert (tmp_path / "screen.svg").read_text().lstrip().startswith("<svg")
    assert [m.what for m in of_type(messages, FileWritten)] == ["history", "history", "history", "screen"]


async def test_export_default_is_a_timestamped_file_here() -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        path = app.screen.query_one("#path", Input).value
        assert Path(path).parent == Path.cwd() and Path(path).name.startswith("gradtui-") and path.endswith(".csv")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ExportScreen)


@pytest.mark.e2e
async def test_save_and_open_session(tmp_path: Path) -> None:
    target = tmp_path / "lab.npz"
    messages: list[Message] = []
    app = make_real_app(session_file=str(target))
    async with app.run_test(message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)  # a key pressed while the run is still queued would interrupt it (by design)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, PathScreen)
        assert app.screen.query_one("#path", Input).value == str(target)
        await pilot.press("enter")
        await settle(pilot)
        assert target.is_file()
        assert of_type(messages, FileWritten)[-1].what == "session"
    reopened: list[Message] = []
    app = make_real_app(session_file=str(target))  # --session FILE opens it when it exists
    async with app.run_test(message_hook=reopened.append) as pilot:
        await settle(pilot)
        ready = of_type(reopened, SessionReady)[0]
        assert ready.origin == "load"
        session = app.engine.session
        assert session is not None and len(session.history) == 11 and session.snapshot_names == ["step-10"]


@pytest.mark.e2e
async def test_an_opened_sessions_notes_say_they_come_from_the_file(tmp_path: Path) -> None:
    """A note written while the session ran ("Optimizer now adam: its state starts fresh...") is shown
    on opening as the file's, not as if the optimizer had just been reset."""
    from gradtui.config import LabConfig
    from gradtui.lab.session import Session

    target = tmp_path / "noted.npz"
    lab = Session.build(LabConfig.parse({}))
    lab = lab.with_config(lab.config.replace(optimizer="adam"))
    assert any(note.startswith("Optimizer now adam") for note in lab.notes)
    lab.save(target)
    messages: list[Message] = []
    app = make_real_app(session_file=str(target))
    async with app.run_test(message_hook=messages.append) as pilot:
        await settle(pilot)
        ready = of_type(messages, SessionReady)[0]
        assert ready.origin == "load" and any(note.startswith("Optimizer now adam") for note in ready.notes)
        story = app.lab.stories[-1].plain  # the experiment it names, then the note, marked as the file's
        assert story.startswith("mlp · prediction · adam 0.1 (preset 1, changed)")
        assert "⟶ from the session file: Optimizer now adam" in story


async def test_changing_the_format_of_a_folder_path_names_a_file_in_that_folder(tmp_path: Path) -> None:
    """Found in tmux: with `/tmp/` typed as the path, choosing JSON made it `/tmp.json` (a file beside the
    folder, which the user never named), and `/` or `.` raised in the prompt. A folder now gets the default
    file name in it; the export then lands there."""
    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        path, fmt = app.screen.query_one("#path", Input), app.screen.query_one("#format", Select)
        stem = Path(path.value).stem  # gradtui-<time>
        for typed, fmt_value, expected in (
            (f"{tmp_path}/", "json", f"{tmp_path}/{stem}.json"),
            (str(tmp_path), "npz", f"{tmp_path}/{stem}.npz"),
            ("/", "csv", f"/{stem}.csv"),
            (".", "json", f"./{stem}.json"),
            (f"{tmp_path}/h [x].csv", "npz", f"{tmp_path}/h [x].npz"),
        ):
            path.value = typed
            fmt.value = fmt_value
            await pilot.pause()
            assert isinstance(app.screen, ExportScreen) and path.value == expected, (typed, path.value)
        path.value = f"{tmp_path}/"
        fmt.value = "json"
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
    assert (tmp_path / f"{stem}.json").is_file()
