"""A plotext plot that draws a Chart, downsampled to its own width at render time.

Drawing cost then depends on the widget's size, never on the number of recorded steps.
"""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot

from gradtui.lab.history import downsample
from gradtui.tui.widgets.series import Chart

# plotext colour names, fixed so the same layer/class keeps its colour in every plot and theme
PALETTE = ("blue+", "red+", "green+", "orange+", "magenta+", "cyan+", "yellow", "gray")


class ChartPlot(PlotextPlot):
    """One chart; `show()` swaps the data and repaints once."""

    DEFAULT_CSS = """
    ChartPlot { height: 1fr; min-height: 6; }
    """

    def __init__(self, title: str = "", id: str | None = None) -> None:
        super().__init__(id=id)
        self.chart = Chart(title, "")

    def show(self, chart: Chart) -> None:
        self.chart = chart
        self.refresh()

    def render(self) -> RenderResult:
        width, height = self.size.width, self.size.height
        if width < 12 or height < 5:
            return Text(self.chart.title, no_wrap=True, overflow="ellipsis")
        plt = self.plt
        plt.clear_figure()
        plt.title(self.chart.title)
        plt.xlabel(self.chart.xlabel)
        plt.ylabel(self.chart.ylabel)
        drawn = 0
        lo, hi = np.inf, -np.inf
        for i, series in enumerate(self.chart.series):
            if len(series.x) == 0:
                continue
            x, y = downsample(series.x, series.y, max(8, width - 10))
            plt.plot(x.tolist(), y.tolist(), label=series.label, marker="braille", color=PALETTE[i % len(PALETTE)])
            lo, hi = min(lo, float(x[0])), max(hi, float(x[-1]))
            drawn += 1
        if drawn == 0:
            plt.xlim(0, 1)
            plt.ylim(0, 1)
        elif self.chart.xlabel == "step" and hi > lo:
            ticks = step_ticks(lo, hi, max(2, min(6, width // 12)))
            plt.xticks(ticks, [f"{t:,}" for t in ticks])
        try:
            return super().render()
        except Exception as err:
            return Text(f"{self.chart.title}: cannot draw ({type(err).__name__})", no_wrap=True)


def step_ticks(lo: float, hi: float, count: int) -> list[int]:
    """Whole-step ticks (steps are integers; plotext would label them 15.2, 30.5, …)."""
    return sorted({round(float(t)) for t in np.linspace(lo, hi, count)})
