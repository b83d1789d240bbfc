"""Every per-step measurement, declared once: name, shape, meaning, and how the step graph fills it.

History's columns, the packed row the compiled step writes, row 0, the JSON/CSV export and the
TensorBoard curves all derive from MEASURES, so a new column is one entry here (plus a field of
StepValues when it needs a quantity the graph does not expose yet). No TensorFlow at import: the
UI reads this schema, and the `step` functions only ever see tensors inside the graph.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Kind = Literal["step", "scalar", "layer", "probe"]  # shape after the row axis: (), (), (L,), (P, K)


@dataclass(frozen=True)
class Dims:
    probes: int
    outputs: int
    layers: int

    def shape(self, kind: Kind) -> tuple[int, ...]:
        return {"probe": (self.probes, self.outputs), "layer": (self.layers,)}.get(kind, ())


@dataclass(frozen=True)
class StepValues:
    """What one compiled step exposes to the measures (tensors; per-layer ones have shape (L,))."""

    objective: Any  # the scalar the tape differentiated, before the step
    loss: Any  # the rule's loss before the step (NaN where the rule has none)
    y_before: Any  # probe predictions before the step, (P, K)
    y_after: Any  # probe predictions after the step, (P, K)
    forecast: Any  # J(w_before) . update, (P, K)
    weight_norm: Any  # |w| after the step, per layer
    grad_norm: Any  # |g| of the gradient the optimizer applied, per layer
    update_ratio: Any  # |update| / |w before|, per layer
    distance: Any  # |w - w0| over all weights
    evaluated: Mapping[str, Any]  # held-out figures by column name, NaN between evaluations


@dataclass(frozen=True)
class StartValues:
    """What row 0 (before any step) knows, as NumPy."""

    predictions: np.ndarray
    weight_norm: np.ndarray
    evaluated: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Measure:
    name: str
    kind: Kind
    meaning: str
    step: Callable[[StepValues], Any] | None  # its value in the graph; None for the step number itself
    start: Callable[[StartValues], Any] | None = None  # row 0; None = not measured (NaN)
    board: str = ""  # TensorBoard tag prefix: "" = lab/NAME (scalars), NAME/LAYER (per-layer)
    board_sum: bool = False  # per-probe columns: one curve of the sum over probes and outputs

    @property
    def dtype(self) -> type[np.generic]:
        return np.int64 if self.kind == "step" else np.float32


def _held_out(name: str, meaning: str) -> Measure:
    """A figure of the held-out evaluation: measured every `eval_every` steps and at step 0."""
    return Measure(name, "scalar", meaning, lambda v: v.evaluated[name], lambda s: s.evaluated.get(name, math.nan))


MEASURES: tuple[Measure, ...] = (
    Measure("step", "step", "step number (0 = before any step)", None),
    Measure(
        "predictions",
        "probe",
        "probe predictions after the step",
        lambda v: v.y_after,
        lambda s: s.predictions,
        board="probe",
    ),
    Measure("loss", "scalar", "the rule's loss before the step (NaN where the rule has none)", lambda v: v.loss),
    Measure("objective", "scalar", "the scalar the tape differentiated, before the step", lambda v: v.objective),
    Measure(
        "weight_norm",
        "layer",
        "L2 norm of each layer's weights after the step",
        lambda v: v.weight_norm,
        lambda s: s.weight_norm,
    ),
    Measure("grad_norm", "layer", "L2 norm of each layer's applied gradient", lambda v: v.grad_norm),
    Measure("update_ratio", "layer", "||update|| / ||weights before|| per layer", lambda v: v.update_ratio),
    Measure("distance", "scalar", "L2 distance of all weights from step 0", lambda v: v.distance, lambda s: 0.0),
    Measure(
        "forecast",
        "probe",
        "first-order forecast of the probe change: J(w) . update, J the inference-mode Jacobian of the probe "
        "outputs at the weights before the step (whatever the rule and mode)",
        lambda v: v.forecast,
        board="forecast",
        board_sum=True,
    ),
    Measure(
        "actual",
        "probe",
        "actual probe change in the step",
        lambda v: v.y_after - v.y_before,
        board="forecast",
        board_sum=True,
    ),
    _held_out(
        "eval_acc",
        "held-out accuracy as Keras's metric for the output: argmax equals the label (several outputs read as "
        "classes); the output on the label's side of 0.5 (one sigmoid; 0 for logits); binary_accuracy, each "
        "output judged at 0.5 and averaged (several sigmoids); NaN for values and between evaluations",
    ),
    _held_out("eval_loss", "held-out loss (NaN between evaluations)"),
    _held_out("acc_change", "held-out accuracy (as eval_acc) now minus at step 0 (positive when it improves)"),
    _held_out(
        "flipped",
        "fraction of held-out rows whose decision changed since step 0: its argmax, its side of 0.5, or "
        "(several sigmoids) any output's side",
    ),
)
BY_NAME: dict[str, Measure] = {m.name: m for m in MEASURES}
PACKED: tuple[Measure, ...] = tuple(m for m in MEASURES if m.step is not None)  # the compiled row, in order


def size(measure: Measure, dims: Dims) -> int:
    return int(np.prod(dims.shape(measure.kind), dtype=np.int64))


def row_width(dims: Dims) -> int:
    """Floats in one packed row: every measure the graph computes, flattened, in MEASURES order."""
    return sum(size(m, dims) for m in PACKED)


def unpack(flat: np.ndarray, dims: Dims) -> dict[str, np.ndarray]:
    """Packed rows (count, row_width) back into one array per column."""
    out: dict[str, np.ndarray] = {}
    at = 0
    for m in PACKED:
        width = size(m, dims)
        out[m.name] = flat[:, at : at + width].reshape((len(flat), *dims.shape(m.kind)))
        at += width
    return out


def start_row(values: StartValues) -> dict[str, np.ndarray]:
    """Row 0: the step number 0 and what can be measured before any step (the rest stays NaN)."""
    row = {m.name: np.asarray(m.start(values))[None] for m in MEASURES if m.start is not None}
    row["step"] = np.zeros(1, np.int64)
    return row
