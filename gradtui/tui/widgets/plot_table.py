"""Every plot the lab draws, in one table: the app lays them out from it and the bench times them.

A new plot is one row here plus its builder in series.py. `tab` None puts the plot in the row above
the tabs, always shown; otherwise it gets a tab of its own, drawn only while that tab is active.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gradtui.lab.history import History
from gradtui.tui.widgets import series

# (history, layer names) -> chart
Builder = Callable[[History, tuple[str, ...]], series.Chart]


@dataclass(frozen=True)
class Plot:
    key: str  # short name: the widget is `plot-<key>`, its tab `tab-<key>`, the bench reports it by this
    tab: str | None  # the tab's label, None for an always-shown plot above the tabs
    title: str  # shown until the first chart arrives
    build: Builder

    @property
    def widget_id(self) -> str:
        return f"plot-{self.key}"

    @property
    def tab_id(self) -> str:
        return f"tab-{self.key}"


PLOTS: tuple[Plot, ...] = (
    Plot("predictions", None, "probe prediction", lambda h, layers: series.predictions(h)),
    Plot(
        "weights",
        None,
        "weight norm per layer",
        lambda h, layers: series.per_layer(h, "weight_norm", layers, "weight norm per layer", "L2 norm"),
    ),
    Plot(
        "grads",
        "Gradients",
        "gradient norm per layer",
        lambda h, layers: series.per_layer(h, "grad_norm", layers, "gradient norm per layer", "L2 norm"),
    ),
    Plot(
        "ratio",
        "Update/weight",
        "update / weight ratio",
        lambda h, layers: series.per_layer(h, "update_ratio", layers, "update / weight ratio per layer", "ratio"),
    ),
    Plot("heldout", "Held-out", "held-out", lambda h, layers: series.heldout(h)),
    Plot("forecast", "Forecast", "forecast vs actual", lambda h, layers: series.forecast(h)),
)
PLOT_BY_KEY = {plot.key: plot for plot in PLOTS}
