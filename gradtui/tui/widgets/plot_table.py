"""Every plot the lab draws, in one table: the app lays them out from it and the bench times them.

A new plot is one row here plus its builder in series.py. `tab` None puts the plot in the row above
the tabs, always shown; otherwise it gets a tab of its own, drawn only while that tab is active. Rows
with the same `group` share one tab as small multiples, side by side (the Held-out tab's quantities).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gradtui.lab.history import History
from gradtui.lab.pins import Pin
from gradtui.tui.widgets import series


@dataclass(frozen=True)
class Inputs:
    """What a plot is drawn from: the live run, facts about its model, the pinned runs and the view's
    switches (the `l` and `z` keys)."""

    history: History
    layers: tuple[str, ...]
    activation: str = ""  # the output activation: sigmoid and softmax outputs are drawn on 0..1
    pins: tuple[Pin, ...] = ()
    log: bool = False  # weight and gradient norms on a log axis
    from_zero: bool = False  # data-driven axes reach zero
    probe: int = 0  # the probe whose prediction and forecast are drawn (a follower picks its own)
    classes: tuple[str, ...] = ()  # the data's class names, for the legends


Builder = Callable[[Inputs], series.Chart]


@dataclass(frozen=True)
class Plot:
    key: str  # short name: the widget is `plot-<key>`, its tab `tab-<key>`, the bench reports it by this
    tab: str | None  # the tab's label, None for an always-shown plot above the tabs
    title: str  # shown until the first chart arrives
    build: Builder
    group: str = ""  # the tab's key when several plots share it (else the plot's own key)

    @property
    def widget_id(self) -> str:
        return f"plot-{self.key}"

    @property
    def tab_key(self) -> str:
        return self.group or self.key

    @property
    def tab_id(self) -> str:
        return f"tab-{self.tab_key}"


def _heldout(column: str) -> Plot:
    """One panel of the Held-out tab."""
    title = series.HELDOUT_BY_COLUMN[column].title
    key = "heldout-" + column.removeprefix("eval_").replace("_", "-")
    return Plot(
        key,
        "Held-out",
        title,
        lambda i: series.heldout(i.history, column, i.pins, from_zero=i.from_zero),
        group="heldout",
    )


PLOTS: tuple[Plot, ...] = (
    Plot(
        "predictions",
        None,
        "probe prediction",
        lambda i: series.predictions(
            i.history,
            class_names=i.classes,
            activation=i.activation,
            from_zero=i.from_zero,
            pins=i.pins,
            probe=i.probe,
        ),
    ),
    Plot(
        "weights",
        None,
        "weight norm per layer",
        lambda i: series.per_layer(
            i.history, "weight_norm", i.layers, "weight norm per layer", "L2 norm", i.log, i.from_zero, i.pins
        ),
    ),
    Plot(
        "grads",
        "Gradients",
        "gradient norm per layer",
        lambda i: series.gradient_norms(i.history, i.layers, i.log, i.from_zero, i.pins),
    ),
    Plot(
        "ratio",
        "Update/weight",
        "update / weight ratio",  # a ratio spans decades: always on a log axis
        lambda i: series.per_layer(
            i.history, "update_ratio", i.layers, "update / weight ratio per layer", "ratio", True, pins=i.pins
        ),
    ),
    *(_heldout(quantity.column) for quantity in series.HELDOUT),
    Plot(
        "forecast",
        "Forecast",
        "forecast vs actual",
        lambda i: series.forecast(i.history, i.probe, pins=i.pins, class_names=i.classes),
    ),
)
PLOT_BY_KEY = {plot.key: plot for plot in PLOTS}
LOG_TAB = "Log"  # the tab after the plots' tabs: the log view


@dataclass(frozen=True)
class View:
    """A tab drawn from the engine's answers rather than the history (after the plots' tabs)."""

    key: str  # the tab is `tab-<key>`; its glossary entry is GLOSSARY[key]
    tab: str

    @property
    def tab_id(self) -> str:
        return f"tab-{self.key}"


VIEWS: tuple[View, ...] = (View("why", "Why"), View("preview", "Preview"))


def tabs() -> dict[str, tuple[Plot, ...]]:
    """Each tab's id and its plots (one, or a group's small multiples), in order."""
    out: dict[str, tuple[Plot, ...]] = {}
    for plot in PLOTS:
        if plot.tab is not None:
            out[plot.tab_id] = (*out.get(plot.tab_id, ()), plot)
    return out


def tab_names() -> tuple[str, ...]:
    """Every tab's label, in order (plots' tabs, then the log)."""
    return (*(plots[0].tab or "" for plots in tabs().values()), *(view.tab for view in VIEWS), LOG_TAB)


def find_tab(name: str) -> str | None:
    """A tab's id by its label or plot key, any case (`held-out`, `Held-out`, `heldout`); None if none."""
    wanted = name.strip().lower()
    for plot in PLOTS:
        if plot.tab is not None and wanted in (plot.tab.lower(), plot.key, plot.tab_key):
            return plot.tab_id
    for view in VIEWS:
        if wanted in (view.tab.lower(), view.key):
            return view.tab_id
    return "tab-log" if wanted == LOG_TAB.lower() else None
