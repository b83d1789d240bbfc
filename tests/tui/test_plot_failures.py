"""A plot build that fails on its worker thread is logged and shown once, literally; the app lives on."""

from __future__ import annotations

import numpy as np
import pytest
from textual.app import App, ComposeResult

from gradtui.tui.widgets.plots import ChartPlot
from gradtui.tui.widgets.series import Chart, Series


class PlotApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ChartPlot("probe", id="plot")


def failing_draw(*args: object, **kwargs: object) -> object:
    raise ValueError("no [bold]data[/bold] here")


async def test_a_failed_background_build_shows_one_literal_toast(monkeypatch: pytest.MonkeyPatch) -> None:
    app = PlotApp()
    async with app.run_test(size=(60, 20)) as pilot:
        plot = app.query_one("#plot", ChartPlot)
        monkeypatch.setattr(plot, "_draw", failing_draw)
        chart = Chart("probe", "output", [Series("output", np.arange(3.0), np.arange(3.0))])
        for _ in range(3):
            plot.show(chart, background=True)
            for _ in range(200):  # the worker fails on its thread; its state change arrives as a message
                await pilot.pause(0.02)
                if all(w.is_finished for w in app.workers) and plot._failed:
                    break
        toasts = list(app._notifications)
        assert len(toasts) == 1
        assert toasts[0].message == "ValueError: no [bold]data[/bold] here"
        assert toasts[0].markup is False and toasts[0].severity == "error"
        assert app.is_running
