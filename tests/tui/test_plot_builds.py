"""Background plot builds: the newest chart is painted, and a replaced chart's arrays are freed at once.

A chart holds copies of whole history columns; when builds kept them alive until a full garbage
collection, playing grew the lab's memory by about 1 GB a minute.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
from textual.app import App, ComposeResult

from gradtui.tui.widgets.plots import ChartPlot
from gradtui.tui.widgets.series import Chart, Series

from .helpers import wait_until


class OnePlot(App[None]):
    def compose(self) -> ComposeResult:
        yield ChartPlot("demo", id="plot")


def _chart(title: str, rows: int) -> Chart:
    x = np.arange(rows, dtype=np.float64)
    return Chart(title, "value", [Series("a", x, np.sin(x / 50.0)), Series("b", x, np.cos(x / 70.0))])


async def test_background_builds_paint_the_newest_chart_and_free_the_old_ones() -> None:
    app = OnePlot()
    async with app.run_test(size=(80, 20)) as pilot:
        plot = app.query_one("#plot", ChartPlot)
        await pilot.pause()
        first = _chart("first", 200_000)
        watched = weakref.ref(first.series[0].y)
        gc.disable()  # freed by reference counting alone, not by a collection that may never come
        try:
            plot.show(first, background=True)
            for i in range(5):
                plot.show(_chart(f"chart {i}", 50_000), background=True)
            last = plot.chart
            await wait_until(pilot, lambda: plot._ready is not None and plot._ready[0] is last, 10)
            del first
            assert watched() is None
        finally:
            gc.enable()
        assert "chart 4" in plot.render().plain  # type: ignore[union-attr]
