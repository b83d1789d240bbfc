"""A pinned reference run stays visible at 80x24 when the live run crosses the same rows, and is told
apart from it without colour (its glyph), also on a log axis and in the Held-out panels."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest
from textual.app import App, ComposeResult

from gradtui.lab import pins
from gradtui.lab.history import Dims, History
from gradtui.tui.widgets import series
from gradtui.tui.widgets.legend import PIN_GLYPHS
from gradtui.tui.widgets.plots import ChartPlot

LAYERS = ("hidden", "output")
REF_GLYPHS = set("▀▄▌▐▖▗▘▝▚▞▙▛▜▟█")  # the first pin's half blocks: no braille cell is one of these


class Harness(App[None]):
    def compose(self) -> ComposeResult:
        yield ChartPlot("plot", id="plot")


@pytest.fixture
async def plot() -> AsyncIterator[ChartPlot]:
    async with Harness().run_test(size=(100, 30)) as pilot:
        yield pilot.app.query_one(ChartPlot)


def run(pred: np.ndarray, grads: float) -> History:
    """A run of len(pred) - 1 steps of an mlp with one sigmoid output."""
    steps = len(pred) - 1
    h = History(Dims(1, 1, len(LAYERS)))
    g = grads * (1 + 0.1 * np.sin(np.arange(steps + 1)))[:, None] * np.array([1.0, 0.5])
    g[0] = np.nan
    acc = np.linspace(0.8, 0.7, steps + 1)
    h.append(
        {
            "step": np.arange(steps + 1),
            "predictions": pred[:, None, None],
            "weight_norm": np.full((steps + 1, len(LAYERS)), 2.0),
            "grad_norm": g,
            "update_ratio": g * 1e-2,
            "eval_acc": acc,
            "eval_loss": 1 - acc,
            "acc_change": acc - acc[0],
            "flipped": 0.8 - acc,
        }
    )
    return h


def canvas(plot: ChartPlot, chart: series.Chart, size: tuple[int, int]) -> str:
    """The cells inside plotext's frame, as drawn at `size`."""
    text = plot._draw(chart, size, plot._get_plotext_theme_name(plot.app.theme), plot._look()).plain
    lines = text.split("\n")
    top = next(i for i, line in enumerate(lines) if "┌" in line)
    bottom = next(i for i, line in enumerate(lines) if "└" in line)
    left = lines[top].index("┌")
    return "\n".join(line[left + 1 :] for line in lines[top + 1 : bottom])


# example 1 pinned after 10 steps (0.378 -> 0.240), then the random control's 30 flat steps at 0.39:
# both in the same row of the 0..1 axis of a 6-row canvas
EXAMPLE1 = run(np.linspace(0.378, 0.240, 11), grads=0.3)  # the same gradient norms: the same cells
CONTROL = run(0.3935 + 0.001 * np.sin(np.arange(31)), grads=0.3)
PIN = pins.make_pin(EXAMPLE1, "example1", "mlp", LAYERS)


async def test_the_reference_is_drawn_over_the_live_line_in_the_same_rows(plot: ChartPlot) -> None:
    chart = series.predictions(CONTROL, activation="sigmoid", pins=[PIN])
    for size in ((39, 10), (80, 10)):  # the prediction plot at 80x24, and a wider one
        cells = canvas(plot, chart, size)
        assert REF_GLYPHS & set(cells), cells  # the reference shows...
        assert any("\u2800" < c <= "\u28ff" for c in cells), cells  # ...and the live line where it is not
    without = canvas(plot, series.predictions(CONTROL, activation="sigmoid"), (39, 10))
    assert not REF_GLYPHS & set(without)  # (the half blocks are the pin's, not the live line's)


async def test_the_reference_survives_a_log_axis(plot: ChartPlot) -> None:
    for log in (False, True):
        chart = series.gradient_norms(CONTROL, LAYERS, log=log, pins=[PIN])
        assert REF_GLYPHS & set(canvas(plot, chart, (78, 9))), log


async def test_each_heldout_panel_draws_the_reference(plot: ChartPlot) -> None:
    for quantity in series.HELDOUT:
        chart = series.heldout(CONTROL, quantity.column, pins=[PIN])
        text = plot._draw(chart, (19, 9), plot._get_plotext_theme_name(plot.app.theme), plot._look()).plain
        assert REF_GLYPHS & set(canvas(plot, chart, (19, 9))), quantity.column
        assert PIN_GLYPHS["hd"] in text  # the legend names the reference by its glyph (no colour needed)
        assert "━" not in text.split("\n")[0]  # the title names the one live line: no legend entry for it


def test_a_small_multiples_step_axis_keeps_both_round_ends() -> None:
    """A Held-out panel at 80x24 has a 13-column canvas: `0` and `100`, not `100` alone."""
    from gradtui.tui.widgets import ticks

    assert ticks.x_axis(0, 100, 13).labels == ("0", "100")
    assert ticks.x_axis(0, 100, 8).labels == ("100",)  # too narrow for both: the latest
