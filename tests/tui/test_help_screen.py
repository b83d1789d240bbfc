"""The help screen scrolls from the keyboard at once and wraps its text at 80 columns."""

from __future__ import annotations

from textual.app import App
from textual.containers import VerticalScroll

from gradtui.tui.screens.help import HelpScreen, help_markdown


async def test_help_scrolls_with_page_and_arrow_keys_without_tab_first() -> None:
    async with App[None]().run_test(size=(80, 24)) as pilot:
        await pilot.app.push_screen(HelpScreen())
        await pilot.pause()
        box = pilot.app.screen.query_one(VerticalScroll)
        assert box.max_scroll_y > 0
        await pilot.press("pagedown")
        await pilot.pause()
        paged = box.scroll_y
        await pilot.press("down")
        await pilot.pause()
        assert paged > 0 and box.scroll_y > paged


async def test_help_text_wraps_at_80_columns_and_the_demo_format_is_whole() -> None:
    assert "```" not in help_markdown()  # a code block would be cut at the screen's edge
    async with App[None]().run_test(size=(80, 24)) as pilot:
        await pilot.app.push_screen(HelpScreen())
        await pilot.pause()
        box = pilot.app.screen.query_one(VerticalScroll)
        assert box.max_scroll_x == 0  # nothing wider than the box
        box.scroll_end(animate=False)
        await pilot.pause()
        screen = "\n".join(strip.text for strip in pilot.app.screen._compositor.render_strips())
        assert "FILE:LINE:" in screen and "message." in screen  # the last words of the demo format, wrapped
