"""What each plot shows, as plain NumPy series cut from a History (no Textual, easy to test).

Each builder returns a Chart: titled, labelled series with NaNs removed. Rows between held-out
evaluations are NaN by design, so every series keeps only its finite points.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gradtui.lab.history import History

MAX_CLASSES = 10  # more lines than this is unreadable in a terminal plot (the rest become "others")
OTHERS_HUE = 7  # gray in both palettes
ROUNDING = 1e-6  # a gradient with |g| <= ROUNDING * max(|w|, 1) is zero to float32 rounding (as the engine's note says)


@dataclass
class Series:
    label: str
    x: np.ndarray
    y: np.ndarray
    yside: str = "left"  # "right": drawn against the chart's right y axis (a quantity on another scale)
    hue: int = -1  # palette index (-1: the series' position), so a class keeps its colour when others merge
    rank: int = 0  # lower = named first in a legend; the last ones merge into "others" when space is short


@dataclass(frozen=True)
class Mark:
    """A horizontal reference line drawn over the data (never a change to it)."""

    y: float
    label: str


@dataclass
class Chart:
    title: str
    ylabel: str
    series: list[Series] = field(default_factory=list)
    xlabel: str = "step"
    ylabel_right: str = ""  # the right axis's label, when any series uses it
    include: tuple[float, float] | None = None  # a range the left axis always shows (0..1 for probabilities)
    log: bool = False  # left axis on a log scale (values <= 0 are left out and counted in the legend)
    from_zero: bool = False  # the left axis reaches zero (the difference against zero, not just the wiggle)
    marks: list[Mark] = field(default_factory=list)
    note: str = ""  # shown after the title, e.g. that a gradient is zero to float32 rounding
    others: str = ""  # "sum" or "max": how series the legend cannot name merge into one "others" line
    scatter: bool = False  # x is not the step: points, not lines (forecast against actual)


def _finite(label: str, x: np.ndarray, y: np.ndarray) -> Series:
    mask = np.isfinite(y)
    return Series(label, x[mask], y[mask].astype(np.float64))


def ranked_classes(pred: np.ndarray) -> list[int]:
    """Every class of one probe (rows, K), most telling first: those that were ever largest (in class order),
    then the rest by their peak."""
    finite = np.where(np.isfinite(pred), pred, -np.inf)
    chosen = [int(c) for c in np.unique(np.argmax(finite, axis=1))] if len(pred) else []
    rest = [int(c) for c in np.argsort(-np.max(finite, axis=0), kind="stable") if int(c) not in chosen]
    return chosen + rest


def focus_classes(pred: np.ndarray, limit: int = MAX_CLASSES) -> list[int]:
    """The classes worth drawing for one probe (rows, K): those that were ever largest, then the largest peaks."""
    return sorted(ranked_classes(pred)[:limit])


def predictions(
    history: History,
    probe: int = 0,
    class_names: tuple[str, ...] = (),
    activation: str = "",
    from_zero: bool = False,
) -> Chart:
    """Sigmoid and softmax outputs are probabilities: drawn on 0..1 (a fall from 0.38 to 0.34 then looks
    like what it is). Other outputs (logits, regression) keep a data-driven scale. Beyond MAX_CLASSES
    classes the rest are summed (softmax: their probability mass) or maxed into "others"."""
    steps, pred = history.columns("step", "predictions")
    steps = steps.astype(np.float64)
    probability = activation in ("sigmoid", "softmax")
    chart = Chart(
        f"probe {probe} prediction",
        "probability" if probability else "output",
        include=(0.0, 1.0) if probability else None,
        from_zero=from_zero,
        others="sum" if activation == "softmax" else "max",
    )
    if len(steps) == 0 or pred.shape[1] <= probe:
        return chart
    per = pred[:, probe, :]
    ranked = ranked_classes(per)
    drawn, rest = ranked[:MAX_CLASSES], ranked[MAX_CLASSES:]
    if len(rest) == 1:  # "others" would stand for one class: draw that class instead
        drawn, rest = ranked, []
    for rank, c in enumerate(drawn):
        name = class_names[c] if c < len(class_names) else f"class {c}"
        label = "output" if per.shape[1] == 1 else name
        line = _finite(label, steps, per[:, c])
        line.hue, line.rank = c, rank
        chart.series.append(line)
    chart.series.sort(key=lambda line: line.hue)
    if rest:
        merged = np.sum(per[:, rest], axis=1) if chart.others == "sum" else np.max(per[:, rest], axis=1)
        line = _finite(f"{len(rest)} others", steps, merged)
        line.hue, line.rank = OTHERS_HUE, len(drawn)
        chart.series.append(line)
    return chart


def per_layer(
    history: History,
    column: str,
    layers: tuple[str, ...],
    title: str,
    ylabel: str,
    log: bool = False,
    from_zero: bool = False,
) -> Chart:
    steps, values = history.columns("step", column)
    steps = steps.astype(np.float64)
    chart = Chart(title, ylabel, log=log, from_zero=from_zero)
    for i in range(values.shape[1] if values.ndim == 2 else 0):
        chart.series.append(_finite(layers[i] if i < len(layers) else f"layer {i}", steps, values[:, i]))
    return chart


def gradient_norms(history: History, layers: tuple[str, ...], log: bool = False, from_zero: bool = False) -> Chart:
    """Per-layer gradient norms. A gradient that is zero to float32 rounding at every step is marked as such
    (a note, a line at the rounding level and an axis from zero), never redrawn as zero: its noise is real
    data, just not activity."""
    chart = per_layer(history, "grad_norm", layers, "gradient norm per layer", "L2 norm", log=log, from_zero=from_zero)
    grads, weights = history.columns("grad_norm", "weight_norm")
    total = np.sqrt(np.sum(np.square(grads.astype(np.float64)), axis=1)) if grads.ndim == 2 else np.zeros(0)
    scale = np.sqrt(np.sum(np.square(weights.astype(np.float64)), axis=1)) if weights.ndim == 2 else np.zeros(0)
    measured = np.isfinite(total)
    if measured.any():
        level = ROUNDING * max(float(np.nanmax(scale[measured])), 1.0)
        if bool(np.all(total[measured] <= level)):
            chart.note = "zero to float32 rounding"
            chart.marks.append(Mark(level, f"rounding level {level:.0e}"))
            chart.from_zero = True
            chart.log = False
    return chart


def heldout(history: History) -> Chart:
    """Accuracy, drawdown and flipped share the left axis (fractions, always shown on at least 0..1); the
    loss (often ~10) gets the right one, or it would squash the fractions onto the bottom row."""
    names = (
        ("eval_acc", "accuracy", "left"),
        ("eval_loss", "loss", "right"),
        ("drawdown", "drawdown", "left"),
        ("flipped", "flipped", "left"),
    )
    steps, *values = history.columns("step", *(name for name, _, _ in names))
    steps = steps.astype(np.float64)
    chart = Chart("held-out", "fraction", ylabel_right="loss", include=(0.0, 1.0))
    for hue, ((_, label, side), column) in enumerate(zip(names, values, strict=True)):
        series = _finite(label, steps, column)
        series.yside, series.hue = side, hue
        if len(series.x):
            chart.series.append(series)
    return chart


SCATTER_POINTS = 600  # a forecast scatter draws at most this many steps (evenly spread, the latest always)


def forecast(history: History, probe: int = 0) -> Chart:
    """The actual change of the probe's watched output against its first-order forecast, one point per
    step: on the diagonal y = x the forecast was exact. Unlike the two series over steps, this stays
    readable at 100k steps (points pile up where the forecast holds)."""
    steps, pred, forecast_, actual = history.columns("step", "predictions", "forecast", "actual")
    chart = Chart("actual vs forecast change per step", "actual", xlabel="forecast", scatter=True)
    if len(steps) == 0 or pred.shape[1] <= probe:
        return chart
    first = pred[0, probe, :]
    k = int(np.nanargmax(first)) if first.size > 1 and np.isfinite(first).any() else 0
    chart.title += f", probe {probe}" + (f" class {k}" if first.size > 1 else "")
    x = forecast_[:, probe, k].astype(np.float64)
    y = actual[:, probe, k].astype(np.float64)
    keep = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if len(keep) == 0:
        return chart
    picked = keep[np.unique(np.linspace(0, len(keep) - 1, min(len(keep), SCATTER_POINTS)).astype(np.int64))]
    chart.series.append(Series(f"{len(keep):,} steps", x[picked], y[picked]))
    last = keep[-1]
    chart.series.append(Series(f"step {int(steps[last]):,}", x[last : last + 1], y[last : last + 1], hue=1))
    return chart
