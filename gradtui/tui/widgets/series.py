"""What each plot shows, as plain NumPy series cut from a History (no Textual, easy to test).

Each builder returns a Chart: titled, labelled series with NaNs removed. Rows between held-out
evaluations are NaN by design, so every series keeps only its finite points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from gradtui.lab import explain
from gradtui.lab.history import BUCKET_LAST, EXACT, SUMMARY, History, spans
from gradtui.lab.pins import Pin

MAX_CLASSES = 10  # more lines than this is unreadable in a terminal plot (the rest become "others")
OTHERS_HUE = 7  # gray in both palettes


@dataclass
class Series:
    label: str
    x: np.ndarray
    y: np.ndarray
    hue: int = -1  # palette index (-1: the series' position), so a class keeps its colour when others merge
    rank: int = 0  # lower = named first in a legend; the last ones merge into "others" when space is short
    pin: int = -1  # the pinned reference run it belongs to (-1: the live run)


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
    include: tuple[float, float] | None = None  # a range the left axis always shows (0..1 for probabilities)
    log: bool = False  # left axis on a log scale (values <= 0 have no place on it and are not drawn)
    from_zero: bool = False  # the left axis reaches zero (the difference against zero, not just the wiggle)
    marks: list[Mark] = field(default_factory=list)
    note: str = ""  # shown after the title, e.g. that a gradient is zero to float32 rounding
    others: str = ""  # "sum" or "max": how series the legend cannot name merge into one "others" line
    scatter: bool = False  # x is not the step: points, not lines (forecast against actual)
    refs: list[str] = field(default_factory=list)  # one legend text per pin: `ref:NAME`, and what it left out
    titled: bool = False  # the title names its one live line: the legend lists only the pins
    xmarks: list[Mark] = field(default_factory=list)  # vertical reference lines, at x = Mark.y (the preview's α = 1)


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


def ref_label(pin: Pin, left_out: Sequence[str] = ()) -> str:
    """`ref:NAME`, saying what of the pinned run this chart could not draw (another model's layers)."""
    if not left_out:
        return f"ref:{pin.label}"
    what = ", ".join(left_out) if len(left_out) <= 2 else f"{len(left_out)} layers"
    return f"ref:{pin.label} (left out: {what})"


def predictions(
    history: History,
    probe: int = 0,
    class_names: tuple[str, ...] = (),
    activation: str = "",
    from_zero: bool = False,
    pins: Sequence[Pin] = (),
) -> Chart:
    """Sigmoid and softmax outputs are probabilities: drawn on 0..1 (a fall from 0.38 to 0.34 then looks
    like what it is). Other outputs (logits, regression) keep a data-driven scale. Beyond MAX_CLASSES
    classes the rest are summed (softmax: their probability mass) or maxed into "others". A pin is drawn
    only if its model has as many outputs."""
    steps, pred = history.columns("step", "predictions")
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
    outputs = per.shape[1]
    if outputs == 1:  # one line: the probe names it, and the short title leaves the legend room on its row
        chart.title = "prediction"
    ranked = ranked_classes(per)
    drawn, rest = ranked[:MAX_CLASSES], ranked[MAX_CLASSES:]
    if len(rest) == 1:  # "others" would stand for one class: draw that class instead
        drawn, rest = ranked, []

    def lines(x: np.ndarray, values: np.ndarray, pin: int) -> list[Series]:
        out = []
        for rank, c in enumerate(drawn):
            name = f"probe {probe}" if outputs == 1 else class_names[c] if c < len(class_names) else f"class {c}"
            line = _finite(name, x.astype(np.float64), values[:, c])
            line.hue, line.rank, line.pin = c, rank, pin
            out.append(line)
        out.sort(key=lambda line: line.hue)
        if rest:
            merged = np.sum(values[:, rest], axis=1) if chart.others == "sum" else np.max(values[:, rest], axis=1)
            line = _finite(f"{len(rest)} others", x.astype(np.float64), merged)
            line.hue, line.rank, line.pin = OTHERS_HUE, len(drawn), pin
            out.append(line)
        return out

    for i, pin in enumerate(pins):
        theirs = pin.columns["predictions"]
        if theirs.ndim != 3 or theirs.shape[2] != outputs or theirs.shape[1] <= probe:
            count = theirs.shape[2] if theirs.ndim == 3 else 0
            chart.refs.append(f"ref:{pin.label} (left out: {count} output{'s' * (count != 1)}, not {outputs})")
            continue
        chart.refs.append(ref_label(pin))
        chart.series += lines(pin.columns["step"], theirs[:, probe, :], i)
    chart.series += lines(steps, per, -1)
    return chart


def per_layer(
    history: History,
    column: str,
    layers: tuple[str, ...],
    title: str,
    ylabel: str,
    log: bool = False,
    from_zero: bool = False,
    pins: Sequence[Pin] = (),
) -> Chart:
    """One line per layer; a pin's layers are matched by name (another model's others are left out)."""
    steps, values = history.columns("step", column)
    steps = steps.astype(np.float64)
    chart = Chart(title, ylabel, log=log, from_zero=from_zero)
    names = [layers[i] if i < len(layers) else f"layer {i}" for i in range(values.shape[1] if values.ndim == 2 else 0)]
    for i, pin in enumerate(pins):
        x = pin.columns["step"].astype(np.float64)
        for hue, name in enumerate(names):
            rows = pin.layer_rows(name, column)
            if rows is not None:
                line = _finite(name, x, rows)
                line.hue, line.pin = hue, i
                chart.series.append(line)
        chart.refs.append(ref_label(pin, [name for name in pin.layers if name not in names]))
    for hue, name in enumerate(names):
        line = _finite(name, steps, values[:, hue])
        line.hue = hue
        chart.series.append(line)
    return chart


def gradient_norms(
    history: History, layers: tuple[str, ...], log: bool = False, from_zero: bool = False, pins: Sequence[Pin] = ()
) -> Chart:
    """Per-layer gradient norms. A gradient that is zero to float32 rounding at every step is marked as such
    (a note, a line at the rounding level and an axis from zero), never redrawn as zero: its noise is real
    data, just not activity."""
    chart = per_layer(
        history, "grad_norm", layers, "gradient norm per layer", "L2 norm", log=log, from_zero=from_zero, pins=pins
    )
    level = rounding_level(history)
    if level is not None:
        chart.note = "zero to float32 rounding"
        chart.marks.append(Mark(level, f"rounding level {level:.0e}"))
        chart.from_zero = True
        chart.log = False
    return chart


def rounding_level(history: History) -> float | None:
    """The float32 rounding level of this run's gradient if every measured gradient is below it, else None."""
    grads, weights = history.columns("grad_norm", "weight_norm")
    if grads.ndim != 2 or weights.ndim != 2:
        return None
    total = np.sqrt(np.sum(np.square(grads.astype(np.float64)), axis=1))
    scale = np.sqrt(np.sum(np.square(weights.astype(np.float64)), axis=1))
    measured = np.isfinite(total)
    if not measured.any():
        return None
    level = explain.rounding_level(float(np.nanmax(scale[measured])))
    return level if bool(np.all(total[measured] <= level)) else None


@dataclass(frozen=True)
class Quantity:
    """One held-out figure, drawn in a panel of its own: its column, the panel's title and axis."""

    column: str
    title: str
    include: tuple[float, float] | None  # a range its axis always shows
    from_zero: bool  # its axis reaches zero (a change or a count is read against zero)


HELDOUT = (
    Quantity("eval_acc", "accuracy", (0.0, 1.0), False),
    Quantity("eval_loss", "loss", None, False),
    Quantity("acc_change", "acc change", None, True),
    Quantity("flipped", "flipped", None, True),
)
HELDOUT_BY_COLUMN = {q.column: q for q in HELDOUT}


def is_regression(history: History) -> bool:
    """A held-out loss with no accuracy anywhere: the outputs are values, not classes."""
    acc, loss = history.columns("eval_acc", "eval_loss")
    return not np.isfinite(acc).any() and bool(np.isfinite(loss).any())


def heldout(
    history: History, column: str, pins: Sequence[Pin] = (), regression: bool | None = None, from_zero: bool = False
) -> Chart:
    """One held-out quantity on its own labelled axis (the Held-out tab shows them as small multiples:
    four series on two y axes told apart by colour alone read as one tangle at 80x24). A regression has
    no classes: its accuracy panels say so and stay empty (`regression` None: decided from the history)."""
    quantity = HELDOUT_BY_COLUMN[column]
    if regression is None:
        regression = is_regression(history)
    chart = Chart(quantity.title, quantity.title, include=quantity.include, titled=True)
    chart.from_zero = quantity.from_zero or from_zero
    chart.note = "since step 0" if quantity.from_zero else ""
    if regression and column != "eval_loss":
        chart.note = "none: the outputs are values"
        return chart
    if regression:
        chart.note = "the outputs are values: no accuracy"
    for i, pin in enumerate(pins):
        line = _finite(quantity.title, pin.columns["step"].astype(np.float64), pin.columns[column])
        line.hue, line.pin = 0, i
        chart.refs.append(ref_label(pin) if len(line.x) else f"ref:{pin.label} (left out: no held-out data)")
        if len(line.x):
            chart.series.append(line)
    steps, values = history.columns("step", column)
    line = _finite(quantity.title, steps.astype(np.float64), values)
    line.hue = 0
    if len(line.x):
        chart.series.append(line)
    return chart


SCATTER_POINTS = 600  # a forecast scatter draws at most this many steps (evenly spread, the latest always)


def _scatter(
    steps: np.ndarray, forecast_: np.ndarray, actual: np.ndarray, kinds: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(forecast, actual) of at most SCATTER_POINTS measured steps, evenly spread, the last step and
    how many recorded steps the measured rows stand for. A summarised bucket's min and max rows pair
    values of different steps, so only its last row (a recorded step) is a point."""
    measured = np.isfinite(forecast_) & np.isfinite(actual)
    if kinds is not None:
        measured &= (kinds == EXACT) | (kinds == BUCKET_LAST)
    keep = np.flatnonzero(measured)
    if len(keep) == 0:
        return np.zeros(0), np.zeros(0), 0, 0
    count = len(keep) if kinds is None else int(spans(steps, kinds)[keep].sum())
    picked = keep[np.unique(np.linspace(0, len(keep) - 1, min(len(keep), SCATTER_POINTS)).astype(np.int64))]
    return forecast_[picked].astype(np.float64), actual[picked].astype(np.float64), int(steps[keep[-1]]), count


def forecast(history: History, probe: int = 0, pins: Sequence[Pin] = (), class_names: tuple[str, ...] = ()) -> Chart:
    """The actual change of the probe's watched output against its first-order forecast, one point per
    step: on the diagonal y = x the forecast was exact. Unlike the two series over steps, this stays
    readable at 100k steps (points pile up where the forecast holds)."""
    steps, pred, forecast_, actual, kinds = history.columns("step", "predictions", "forecast", "actual", SUMMARY)
    chart = Chart("actual vs forecast change per step", "actual", xlabel="forecast", scatter=True)
    if len(steps) == 0 or pred.shape[1] <= probe:
        return chart
    first = pred[0, probe, :]
    k = int(np.nanargmax(first)) if first.size > 1 and np.isfinite(first).any() else 0
    name = class_names[k] if k < len(class_names) else f"class {k}"
    chart.title += f", probe {probe}" + (f" {name}" if first.size > 1 else "")
    for i, pin in enumerate(pins):
        theirs = pin.columns["forecast"]
        if theirs.ndim != 3 or theirs.shape[1] <= probe or theirs.shape[2] != pred.shape[2]:
            chart.refs.append(f"ref:{pin.label} (left out: another output shape)")
            continue
        x, y, _, _ = _scatter(pin.columns["step"], theirs[:, probe, k], pin.columns["actual"][:, probe, k])
        chart.refs.append(ref_label(pin))
        chart.series.append(Series(pin.label, x, y, pin=i))
    x, y, last, measured = _scatter(steps, forecast_[:, probe, k], actual[:, probe, k], kinds)
    if len(x):
        chart.series.append(Series(f"{measured:,} steps", x, y, hue=0))
        chart.series.append(Series(f"step {last:,}", x[-1:], y[-1:], hue=1))
    return chart
