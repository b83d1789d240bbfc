"""User text is shown literally: paths, snapshot names and demo text that look like Textual markup
neither crash the lab nor lose characters. The SVG export is atomic. A model file that could run
code is refused in the lab as on the command line."""

from __future__ import annotations

import contextlib
import resource
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message
from textual.widgets import Input, OptionList, Select

from gradtui.tui.demo import parse_script
from gradtui.tui.dialogs import save_svg
from gradtui.tui.messages import EngineFailed, FileWritten, HistoryChanged
from gradtui.tui.screens.prompts import ChoiceScreen, ExportScreen, TrustScreen

from .helpers import make_app, make_real_app, of_type, settle, wait_until


def toasts(app: Any) -> list[str]:
    """The toasts' text as a Toast renders it: literal when the notification is not markup, else parsed
    as markup (which drops `[v2]` and raises on `[/b]`)."""
    from textual.content import Content

    return [str(Content(n.message) if not n.markup else Content.from_markup(n.message)) for n in app._notifications]


async def export(pilot: Any, fmt: str, path: Path) -> None:
    app = pilot.app
    await pilot.press("e")
    await pilot.pause()
    assert isinstance(app.screen, ExportScreen)
    app.screen.query_one("#format", Select).value = fmt
    await pilot.pause()
    app.screen.query_one("#path", Input).value = str(path)
    await pilot.press("enter")
    await settle(pilot)


async def test_paths_that_look_like_markup_are_written_and_shown_literally(tmp_path: Path) -> None:
    folder = tmp_path / "a[" / "["  # the path a[/[/b].csv: "[/b]" reads as a closing tag
    folder.mkdir(parents=True)
    closing = folder / "b].csv"
    assert "a[/[/b].csv" in str(closing)
    versioned = tmp_path / "run[v2].csv"
    messages: list[Message] = []
    app = make_app()
    async with app.run_test(message_hook=messages.append) as pilot:
        await settle(pilot)
        await export(pilot, "csv", closing)
        await export(pilot, "csv", versioned)
        await pilot.pause(0.3)
        shown = toasts(app)
    assert closing.read_text().startswith("step,") and versioned.read_text().startswith("step,")
    assert [m.path for m in of_type(messages, FileWritten)] == [str(closing), str(versioned)]
    assert any(str(closing) in t for t in shown) and any("run[v2].csv" in t for t in shown)


@pytest.mark.e2e
async def test_a_snapshot_named_like_a_closing_tag_is_taken_listed_and_restored(tmp_path: Path) -> None:
    messages: list[Message] = []
    app = make_real_app()
    async with app.run_test(message_hook=messages.append) as pilot:
        await settle(pilot)
        app.lab.action_snapshot("[/x]")
        await settle(pilot)
        assert "snapshot '[/x]' taken (o restores it)" in toasts(app)
        await pilot.press("space")
        await settle(pilot)
        app.engine.save(str(tmp_path / "s.npz"))  # and through a session file
        await settle(pilot)
        app.engine.load(str(tmp_path / "s.npz"))
        await settle(pilot)
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        options = app.screen.query_one(OptionList)
        assert str(options.get_option_at_index(0).prompt) == "[/x] · example1"  # its name, then its experiment
        await pilot.press("enter")
        await settle(pilot)
        shown = toasts(app)
        assert app.view.step == 0
    changed = of_type(messages, HistoryChanged)
    assert [(m.action, m.ok, m.detail) for m in changed if m.action in ("snapshot", "restore")] == [
        ("snapshot", True, "[/x]"),
        ("restore", True, "[/x]"),
    ]
    assert "restored snapshot '[/x]'" in shown


async def test_demo_lines_that_look_like_markup_play_literally() -> None:
    beats = parse_script("note a [bold]literal[/] note [/x]\nsnapshot before [/x]\nstep\nrestore before [/x]\n")
    app = make_app(beats=beats)
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("right")
        await settle(pilot)
        assert "a [bold]literal[/] note [/x]" in str(app.query_one("#demo-note").render())
        for _ in range(2):
            await pilot.press("right")
            await settle(pilot)
        assert app.view.snapshot_names == ["before [/x]"]
        assert app.view.step == 0


@contextlib.contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Writes past `limit` bytes fail with EFBIG, as a full disk fails them (the signal ignored)."""
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
        signal.signal(signal.SIGXFSZ, old_handler)


async def test_svg_export_that_cannot_be_finished_leaves_the_old_file_whole(tmp_path: Path) -> None:
    shot = tmp_path / "shot.svg"
    shot.write_text("<svg>the old screenshot</svg>")
    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        with file_size_limit(4096):  # the screen's SVG is tens of KB
            save_svg(app.lab, str(shot))
        await pilot.pause(0.1)
        shown = toasts(app)
        assert any("could not write" in t and "shot.svg" in t for t in shown), shown
        assert shot.read_text() == "<svg>the old screenshot</svg>"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["shot.svg"]
        save_svg(app.lab, str(shot))  # the same export with room: written whole
        await pilot.pause(0.1)
    assert shot.read_text().rstrip().endswith("</svg>") and "the old screenshot" not in shot.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot.svg"]  # no temporary left behind


@pytest.mark.e2e
async def test_a_model_that_could_run_code_loads_only_after_a_deliberate_y(tmp_path: Path) -> None:
    """A demo's `set model=DIR` brings up the prompt; `enter` and `→` (the demo's keys) decline it, the
    old experiment stays and nothing is trusted; only `y` loads the SavedModel."""
    from gradtui import trust
    from gradtui.lab.runtime import keras

    exported = tmp_path / "exported"
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, activation="sigmoid")])
    model.export(str(exported), verbose=False)
    script = f"set model={exported}\nstep\nset model={exported}\nstep\nstep\n"
    messages: list[Message] = []
    app = make_real_app(beats=parse_script(script))
    async with app.run_test(message_hook=messages.append) as pilot:
        await settle(pilot)

        async def prompted() -> None:
            await settle(pilot)
            await wait_until(pilot, lambda: isinstance(app.screen, TrustScreen), timeout=10)
            assert isinstance(app.screen, TrustScreen) and app.screen.path == str(exported)

        for decline in ("enter", "right"):
            await pilot.press("right")  # the demo's beat: set model=DIR
            await prompted()
            await pilot.press(decline)
            await settle(pilot)
            assert not isinstance(app.screen, TrustScreen) and not trust.is_trusted(exported)
            assert app.view.summary is not None and app.view.summary.name == "mlp"  # the old experiment stays
            app.lab.set_fields((("model", "mlp"),))  # the refused path stays marked on its field until changed
            await settle(pilot)
        assert app.lab.demo.index == 2  # the `right` that declined did not also play the third beat
        failed = of_type(messages, EngineFailed)
        assert failed[-1].untrusted == str(exported) and "--trust-model" in failed[-1].text
        app.lab.set_fields((("model", "mlp"),))
        await settle(pilot)
        app.lab.set_fields((("model", str(exported)),))
        await prompted()
        await pilot.press("y")
        await settle(pilot)
        assert trust.is_trusted(exported)
        assert app.view.summary is not None and app.view.summary.name == "exported"
