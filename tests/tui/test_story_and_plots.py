"""Long explanations stay readable (story row hint, `i`, wrapped log); plots follow the theme; held-out axes."""

from __future__ import annotations

import numpy as np
import pytest
from rich.color import Color
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import RichLog

from gradtui import autosave
from gradtui.lab.history import Dims, History
from gradtui.tui.screens.help import NotesScreen
from gradtui.tui.widgets import series
from gradtui.tui.widgets.legend import PALETTE_DARK, PALETTE_LIGHT
from gradtui.tui.widgets.plots import ChartPlot
from gradtui.tui.widgets.status import STORY_HINT, StoryLine, fit_text, wrapped_lines

from .helpers import make_app, make_real_app, settle, wait_until
from .test_durable_lab import session_bytes

ZERO_GRADIENT_END = "argmax to move a prediction."  # the last words of example 2's engine note


def test_fit_text_keeps_short_text_and_cuts_long_text_with_the_hint() -> None:
    short = Text("a short note")
    assert fit_text(short, 40, 2) is short
    long = Text("word " * 60)
    cut = fit_text(long, 40, 2)
    assert wrapped_lines(cut, 40) <= 2
    assert cut.plain.endswith(STORY_HINT)
    assert cut.plain.startswith("word word")


@pytest.mark.e2e
async def test_a_long_note_is_cut_with_a_hint_and_i_shows_it_whole() -> None:
    app = make_real_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")  # example 2: the story plus the engine's zero-gradient note
        await settle(pilot)
        story = app.query_one("#story", StoryLine)
        assert story.full.plain.endswith(ZERO_GRADIENT_END)
        assert story.truncated and story.size.height == 2  # two rows at 80x24, so the plots keep their room
        assert STORY_HINT.strip() in str(story.render())
        for plot in ("#plot-predictions", "#plot-weights", "#plot-grads"):
            assert app.query_one(plot, ChartPlot).size.height >= 9  # a title, five rows of canvas, frame and ticks
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, NotesScreen)
        assert any(ZERO_GRADIENT_END in s.plain for s in app.screen.stories)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, NotesScreen)
        log = app.query_one("#log", RichLog)
        app.query_one("#tabs").active = "tab-log"
        await pilot.pause()
        app.lab.poll_logs()
        await pilot.pause()
        text = " ".join(" ".join(line.text for line in log.lines).split())
        assert ZERO_GRADIENT_END in text  # wrapped, so the end of a long line is on screen too
        assert max(line.cell_length for line in log.lines) <= log.size.width


async def test_switching_preset_while_playing_resets_the_rate_and_says_what_was_replaced() -> None:
    app = make_app(frozen=False)
    async with app.run_test(notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("s", "p")
        await wait_until(pilot, lambda: app.lab.rate.value is not None, timeout=20)
        await pilot.press("6")  # the random control: same mlp, applied in place
        await settle(pilot)
        assert app.lab.rate.value is None and "— steps/s" in str(app.query_one("#status").render())
        assert any("History reset to step 0" in n.message and "ctrl+s" in n.message for n in app._notifications)
        await pilot.press("space", "2")  # example 2: a new model, so a new session
        await settle(pilot)
        assert any("was replaced; its snapshot is kept" in n.message for n in app._notifications)


def test_help_says_s_names_the_snapshot_itself() -> None:
    from gradtui.tui.commands import ACTIONS

    text = next(a.help for a in ACTIONS if a.key == "s")
    assert "named step-N" in text and "under a name" not in text


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    def luminance(rgb: tuple[int, int, int]) -> float:
        c = [x / 255 for x in rgb]
        lin = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_palettes_are_readable_on_their_plot_background() -> None:
    for palette, surface in ((PALETTE_DARK, (0x1E, 0x1E, 0x1E)), (PALETTE_LIGHT, (0xD8, 0xD8, 0xD8))):
        assert min(contrast(colour, surface) for colour in palette) >= 4.5


def colours_in(text: Text) -> set[tuple[int, int, int]]:
    out: set[tuple[int, int, int]] = set()
    for span in text.spans:
        style = span.style
        colour = getattr(style, "color", None)
        if isinstance(colour, Color) and colour.triplet is not None:
            out.add(tuple(colour.triplet))  # type: ignore[arg-type]
    return out


async def test_plot_colours_follow_the_theme() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)
        plot = app.query_one("#plot-weights", ChartPlot)
        rendered = plot.render()
        assert isinstance(rendered, Text)
        assert PALETTE_DARK[0] in colours_in(rendered) and PALETTE_LIGHT[0] not in colours_in(rendered)
        await pilot.press("t")
        await pilot.pause()
        rendered = plot.render()
        assert isinstance(rendered, Text)
        assert PALETTE_LIGHT[0] in colours_in(rendered) and PALETTE_DARK[0] not in colours_in(rendered)


def heldout_history() -> History:
    history = History(Dims(1, 1, 2))
    steps = np.arange(0, 40, 10)
    history.append(
        {
            "step": steps,
            "eval_acc": np.linspace(0.6, 0.9, 4),
            "eval_loss": np.linspace(10.0, 11.0, 4),
            "acc_change": np.linspace(0.0, 0.3, 4),
            "flipped": np.linspace(0.0, 0.2, 4),
        }
    )
    return history


def test_each_heldout_quantity_is_a_panel_of_its_own() -> None:
    charts = [series.heldout(heldout_history(), q.column) for q in series.HELDOUT]
    assert [c.title for c in charts] == ["accuracy", "loss", "acc change", "flipped"]
    assert all(len(c.series) == 1 for c in charts)  # one quantity per panel, on its own axis


async def test_heldout_panels_each_read_off_their_own_labelled_axis_at_80x24() -> None:
    class Harness(App[None]):
        def compose(self) -> ComposeResult:
            yield ChartPlot("held-out", id="plot")

    async with Harness().run_test(size=(80, 30)) as pilot:
        plot = pilot.app.query_one(ChartPlot)
        theme = plot._get_plotext_theme_name(pilot.app.theme)
        for height in (9, 16):  # 9: the Held-out tab at 80x24, four panels of 19-20 columns
            axes = {}
            for q in series.HELDOUT:
                text = plot._draw(series.heldout(heldout_history(), q.column), (19, height), theme, plot._look())
                lines = text.plain.splitlines()
                assert len(lines) == height and lines[0].startswith(q.title)
                axes[q.column] = [float(line[: line.index("┤")]) for line in lines if "┤" in line[:6]]
            assert max(axes["eval_loss"]) >= 11.0 and min(axes["eval_loss"]) <= 10.0  # the loss on its own scale
            assert max(axes["eval_acc"]) == 1.0 and min(axes["eval_acc"]) == 0.0  # a fraction on 0..1
            assert max(axes["flipped"]) < 0.5 and min(axes["flipped"]) == 0.0  # 0..0.2 not squashed on 0..1


async def test_the_resume_offer_names_the_command_first_so_80x24_shows_it() -> None:
    found = autosave.directory() / "autosave-20260101-000000-1.npz"
    found.parent.mkdir(parents=True, exist_ok=True)
    found.write_bytes(session_bytes(4))  # a readable autosave (a damaged one is moved aside, not offered)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown = str(app.query_one("#hint", StoryLine).render())  # the line under the experiment's story
        assert shown.startswith("gradtui --resume reopens an unsaved exploration")
