"""Every measured quantity on screen is explained: all of them in `?`, the current tab's on `i`."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static

from gradtui.tui import glossary
from gradtui.tui.screens.help import NotesScreen, help_markdown
from gradtui.tui.widgets.plot_table import PLOTS
from gradtui.tui.widgets.plots_panel import PlotsPanel
from gradtui.tui.widgets.series import HELDOUT


def test_every_plot_and_every_held_out_quantity_has_an_entry() -> None:
    named = {term.name for terms in glossary.GLOSSARY.values() for term in terms}
    assert all(plot.tab_key in glossary.GLOSSARY for plot in PLOTS)  # a new plot brings its words
    assert {q.title for q in HELDOUT} <= named  # accuracy, loss, acc change, flipped
    assert {"update / weight", "forecast", "ref:NAME"} <= named


def test_help_explains_acc_change_and_flipped() -> None:
    text = help_markdown()
    assert "| acc change | accuracy now minus accuracy at step 0" in text
    assert "| flipped | the fraction of held-out rows whose predicted class is not the one they had at step 0" in text


class Lab(App[None]):
    def compose(self) -> ComposeResult:
        yield PlotsPanel(id="plots")


async def test_i_explains_the_tab_on_screen() -> None:
    async with Lab().run_test(size=(80, 24)) as pilot:
        pilot.app.query_one(PlotsPanel).show_tab("tab-heldout")
        await pilot.pause()
        await pilot.app.push_screen(NotesScreen([]))  # the tab read from the screen under it
        await pilot.pause()
        shown = "\n".join(str(static.render()) for static in pilot.app.screen.query(Static))
        assert "What the Held-out tab and the plots above it show" in shown
        assert "flipped: the fraction of held-out rows" in shown and "acc change: accuracy now minus" in shown
        assert "update / weight" not in shown  # another tab's words stay in `?`
        pilot.app.pop_screen()
        pilot.app.query_one(PlotsPanel).show_tab("tab-ratio")
        await pilot.pause()
        await pilot.app.push_screen(NotesScreen([]))
        await pilot.pause()
        shown = "\n".join(str(static.render()) for static in pilot.app.screen.query(Static))
        assert "update / weight:" in shown and "flipped" not in shown
