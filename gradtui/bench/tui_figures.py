"""The TUI's figures: the real app auto-running headless, its UI latency, and a plot redraw at 100k
steps (the figures read from a real terminal are in terminal_figures.py).

Imports Textual and the app (lazily, inside the functions) and never TensorFlow: the app's engine
thread does that on its own.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from gradtui.bench.export_figure import synthetic_history
from gradtui.bench.report import EXAMPLE3, Results, Sizes
from gradtui.config import LabConfig

TERMINAL = (120, 40)  # columns, rows: the terminal the auto-run figures are taken in
PROBE_INTERVAL_S = 0.02
PLOT_ROWS = 100_000

# ---- the TUI ----------------------------------------------------------------------------------


class _LatencyProbe:
    """A thread that posts a callback to the app every 20 ms (by default), as the driver's input thread posts keys."""

    def __init__(self, app: Any, interval: float = PROBE_INTERVAL_S) -> None:
        self.app = app
        self.interval = interval
        self.delays: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="gradtui-bench-probe", daemon=True)

    def _main(self) -> None:
        while not self._stop.wait(self.interval):
            posted = time.perf_counter()
            self.app.call_later(self._arrived, posted)

    def _arrived(self, posted: float) -> None:
        self.delays.append(time.perf_counter() - posted)

    def __enter__(self) -> _LatencyProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(1.0)


def _percentile_ms(values: list[float], q: float) -> float:
    if not values:
        raise RuntimeError("the latency probe got no answers")
    return float(np.percentile(np.asarray(values) * 1e3, q))


async def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.01)


async def tui_run(sizes: Sizes, results: Results) -> None:
    from gradtui.tui.app import GradApp
    from gradtui.tui.widgets.plots import ChartPlot

    app = GradApp(LabConfig.parse(EXAMPLE3), frozen=True)
    async with app.run_test(size=TERMINAL) as pilot:
        view = app.view
        await _wait_for(lambda: view.loaded and view.idle, 180, "the engine to build the model")
        with _LatencyProbe(app) as idle:
            await asyncio.sleep(sizes.tui_idle_s)
        await pilot.press("p")  # Play: auto-run until paused
        await _wait_for(lambda: view.rows > 1, 120, "the first steps (tracing)")
        await asyncio.sleep(sizes.tui_warmup_s)
        plot = app.query_one("#plot-weights", ChartPlot)
        shown = [plot.chart]
        rows0, t0 = view.rows, time.perf_counter()
        with _LatencyProbe(app) as busy:
            while time.perf_counter() - t0 < sizes.tui_seconds:
                await asyncio.sleep(0.05)
                if plot.chart is not shown[-1]:
                    shown.append(plot.chart)
        rows1, t1 = view.rows, time.perf_counter()
        running = view.busy
        await pilot.press("p")  # Pause
        await _wait_for(lambda: not view.busy, 30, "the run to pause")
        results.extra["tui_plot_size"] = [plot.size.width, plot.size.height]
    if not running:
        raise RuntimeError("the auto-run had stopped before the end of the measurement window")
    results.figures["tui_steps_per_s"] = (rows1 - rows0) / (t1 - t0)
    results.figures["ui_latency_p50_ms"] = _percentile_ms(busy.delays, 50)
    results.figures["ui_latency_p99_ms"] = _percentile_ms(busy.delays, 99)
    results.extra["ui_latency_max_ms"] = round(max(busy.delays) * 1e3, 2)
    results.extra["ui_latency_samples"] = len(busy.delays)
    results.extra["ui_idle_latency_p50_ms"] = round(_percentile_ms(idle.delays, 50), 3)
    results.extra["ui_idle_latency_p99_ms"] = round(_percentile_ms(idle.delays, 99), 3)
    results.extra["tui_plot_redraws_per_s"] = round((len(shown) - 1) / (t1 - t0), 2)
    results.extra["tui_terminal"] = list(TERMINAL)


async def plot_run(sizes: Sizes, results: Results, plot_size: tuple[int, int]) -> None:
    from textual.app import App, ComposeResult
    from textual.geometry import Region

    from gradtui.tui.widgets.plot_table import PLOTS, Inputs
    from gradtui.tui.widgets.plots import ChartPlot

    history = synthetic_history(PLOT_ROWS)
    layers = ("hidden", "output")

    class PlotHarness(App[None]):
        def compose(self) -> ComposeResult:
            yield ChartPlot("bench", id="plot")

    inputs = Inputs(history, layers, activation="sigmoid")
    charts = {plot.key: partial(plot.build, inputs) for plot in PLOTS}  # every plot the app draws
    timings: dict[str, list[float]] = {name: [] for name in charts}
    app = PlotHarness()
    async with app.run_test(size=plot_size) as pilot:
        await pilot.pause()
        plot = app.query_one("#plot", ChartPlot)
        width, height = plot.size.width, plot.size.height
        for _ in range(sizes.plot_repeats + 1):
            for name, build in charts.items():
                started = time.perf_counter()
                plot.show(build())
                strips = plot.render_lines(Region(0, 0, width, height))
                timings[name].append(time.perf_counter() - started)
                if len(strips) != height:
                    raise RuntimeError(f"the plot rendered {len(strips)} lines, expected {height}")
    med = {name: statistics.median(values[1:]) * 1e3 for name, values in timings.items()}
    results.figures["plot_draw_ms_100k"] = med["weights"]
    # what the app redraws on one tick with the default tab: predictions, weights and gradients
    results.extra["plot_tick_ms_100k"] = round(med["predictions"] + med["weights"] + med["grads"], 3)
    results.extra["plot_draw_ms_100k_by_chart"] = {name: round(v, 3) for name, v in med.items()}
    results.extra["plot_size"] = [width, height]
    results.extra["plot_rows"] = len(history)
