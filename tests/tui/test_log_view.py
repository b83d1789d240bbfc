"""The log tab wraps its lines again when the terminal's width changes."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from gradtui.tui.widgets.log_view import LogView

LINE = "model: mlp: 71 params, in 5 -> out 1 sigmoid, loss binary cross-entropy, mode infer on CPU:0"


class Harness(App[None]):
    def compose(self) -> ComposeResult:
        yield LogView(min_width=20)


def rows(log: LogView) -> list[str]:
    return [strip.text.rstrip() for strip in log.lines]


async def test_lines_wrapped_narrow_are_wrapped_again_when_the_terminal_widens() -> None:
    async with Harness().run_test(size=(40, 20)) as pilot:
        log = pilot.app.query_one(LogView)
        for i in range(3):
            log.add(Text(f"{i} {LINE}"))
        await pilot.pause()
        narrow = rows(log)
        assert len(narrow) >= 9 and all(len(row) <= 40 for row in narrow)
        await pilot.resize_terminal(120, 20)
        await pilot.pause()
        wide = rows(log)
        assert wide == [f"{i} {LINE}" for i in range(3)]  # one row each: nothing is left at the old width
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        assert " ".join(rows(log)) == " ".join(f"{i} {LINE}" for i in range(3))
        assert all(len(row) <= 60 for row in rows(log)) and len(rows(log)) == 6
