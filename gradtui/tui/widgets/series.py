"""What each plot shows, as plain NumPy series cut from a History (no Textual, easy to test).

Each builder returns a Chart: titled, labelled series with NaNs removed. Rows between held-out
evaluations are NaN by design, so every series keeps only its finite points.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gradtui.lab.history import History

MAX_CLASSES = 8  # more lines than this is unreadable in a terminal plot


@dataclass
class Series:
    label: str
    x: np.ndarray
    y: np.ndarray
    yside: str = "left"  # "right": drawn against the chart's right y axis (a quantity on another scale)


@dataclass
class Chart:
    title: str
    ylabel: str
    series: list[Series] = field(default_factory=list)
    xlabel: str = "step"
    ylabel_right: str = ""  # the right axis's label, when any series uses it


def _finite(label: str, x: np.ndarray, y: np.ndarray) -> Series:
    mask = np.isfinite(y)
    return Series(label, x[mask], y[mask].astype(np.float64))


def focus_classes(pred: np.ndarray, limit: int = MAX_CLASSES) -> list[int]:
    """The classes worth drawing for one probe (rows, K): those that were ever largest, then the largest peaks."""
    k = pred.shape[1]
    if k <= limit:
        return list(range(k))
    chosen: list[int] = []
    finite = np.where(np.isfinite(pred), pred, -np.inf)
    for c in np.unique(np.argmax(finite, axis=1)):
        if len(chosen) < limit:
            chosen.append(int(c))
    for c in np.argsort(-np.max(finite, axis=0)):
        if len(chosen) >= limit:
            break
        if int(c) not in chosen:
            chosen.append(int(c))
    return sorted(chosen)


def predictions(history: History, probe: int = 0, class_names: tuple[str, ...] = ()) -> Chart:
    steps, pred = history.columns("step", "predictions")
    steps = steps.astype(np.float64)
    chart = Chart(f"probe {probe} prediction", "output")
    if len(steps) == 0 or pred.shape[1] <= probe:
        return chart
    per = pred[:, probe, :]
    for c in focus_classes(per):
        name = class_names[c] if c < len(class_names) else f"class {c}"
        label = "output" if per.shape[1] == 1 else name
        chart.series.append(_finite(label, steps, per[:, c]))
    return chart


def per_layer(history: History, column: str, layers: tuple[str, ...], title: str, ylabel: str) -> Chart:
    steps, values = history.columns("step", column)
    steps = steps.astype(np.float64)
    chart = Chart(title, ylabel)
    for i in range(values.shape[1] if values.ndim == 2 else 0):
        chart.series.append(_finite(layers[i] if i < len(layers) else f"layer {i}", steps, values[:, i]))
    return chart


def heldout(history: History) -> Chart:
    """Accuracy, drawdown and flipped share the left axis (fractions); the loss (often ~10) gets the right
    one, or it would squash the fractions onto the bottom row."""
    names = (
        ("eval_acc", "accuracy", "left"),
        ("eval_loss", "loss", "right"),
        ("drawdown", "drawdown", "left"),
        ("flipped", "flipped", "left"),
    )
    steps, *values = history.columns("step", *(name for name, _, _ in names))
    steps = steps.astype(np.float64)
    chart = Chart(
        "held-out: accuracy, drawdown, flipped (left axis) and loss (right axis)", "fraction", ylabel_right="loss"
    )
    for (_, label, side), column in zip(names, values, strict=True):
        series = _finite(label, steps, column)
        series.yside = side
        if len(series.x):
            chart.series.append(series)
    return chart


def forecast(history: History, probe: int = 0) -> Chart:
    """First-order forecast vs actual change of the probe's watched output, per step."""
    steps, pred, forecast_, actual = history.columns("step", "predictions", "forecast", "actual")
    steps = steps.astype(np.float64)
    chart = Chart("forecast vs actual probe change", "change per step")
    if len(steps) == 0 or pred.shape[1] <= probe:
        return chart
    first = pred[0, probe, :]
    k = int(np.nanargmax(first)) if first.size > 1 and np.isfinite(first).any() else 0
    chart.title = f"forecast vs actual change, probe {probe}" + (f" class {k}" if first.size > 1 else "")
    chart.series.append(_finite("forecast", steps, forecast_[:, probe, k]))
    chart.series.append(_finite("actual", steps, actual[:, probe, k]))
    return chart
