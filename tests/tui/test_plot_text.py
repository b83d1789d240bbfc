"""A plot's text read from plotext's matrices is the text plotext prints, parsed back from ANSI."""

from __future__ import annotations

import plotext
import pytest
from rich.console import Console
from rich.text import Text

from gradtui.tui.widgets.plots import figure_text


@pytest.mark.parametrize("theme", ["textual-design-dark", "textual-design-light", "clear"])
def test_figure_text_matches_plotexts_printed_figure(theme: str) -> None:
    plt = plotext._core._figure
    plt.clear_figure()
    plt.plot([0, 1, 2, 3, 4], [0.0, 0.8, 0.3, 0.9, 0.1], marker="braille", color=(78, 168, 255))
    plt.plot([0, 4], [0.5, 0.5], marker="hd", color=(255, 107, 107))
    plt.plotsize(40, 12)
    plt.theme(theme)
    printed = Text.from_ansi(plt.build().rstrip("\n"))
    read = figure_text(plt)
    console = Console(width=40, color_system="truecolor")
    assert read.plain == printed.plain
    assert [(s.text, s.style) for s in console.render(read)] == [(s.text, s.style) for s in console.render(printed)]
