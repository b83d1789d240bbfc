"""TensorBoard event files for a headless run: the same curves as the lab, plus per-layer weight
and gradient histograms (Keras's TensorBoard callback cannot log gradients in TF2; this can)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from gradtui.lab.history import BUCKET_LAST, EXACT, SUMMARY
from gradtui.lab.measures import MEASURES, Measure
from gradtui.lab.runtime import tf
from gradtui.lab.session import Session


def _curves(measure: Measure, value: np.ndarray, layers: tuple[str, ...]) -> list[tuple[str, float]]:
    """(tag, value) pairs of one column's row, by its kind; non-finite values are left out."""
    prefix = measure.board or measure.name
    if measure.kind == "scalar":
        pairs = [(f"{measure.board or 'lab'}/{measure.name}", float(value))]
    elif measure.kind == "layer":
        pairs = [(f"{prefix}/{layer}", float(v)) for layer, v in zip(layers, value, strict=True)]
    elif measure.board_sum:
        pairs = [(f"{prefix}/{measure.name}_sum", float(np.sum(value)))]
    elif measure.kind == "probe":
        pairs = [(f"{prefix}/p{p}_out{k}", float(v)) for p, row in enumerate(value) for k, v in enumerate(row)]
    else:
        return []
    return [(tag, v) for tag, v in pairs if math.isfinite(v)]


class Board:
    def __init__(self, logdir: str | Path, session: Session) -> None:
        Path(logdir).mkdir(parents=True, exist_ok=True)
        self.writer = tf.summary.create_file_writer(str(logdir))
        self.session = session
        self.written = -1  # the last step written (rows move when the history summarises old ones)

    def scalars(self) -> None:
        """Every History row not yet written, as scalar curves."""
        cols = self.session.history.to_dict()
        layers = self.session.summary.layers
        with self.writer.as_default():
            fresh = (cols["step"] > self.written) & np.isin(cols[SUMMARY], (EXACT, BUCKET_LAST))
            for r in np.flatnonzero(fresh):
                step = int(cols["step"][r])
                for measure in MEASURES:
                    for tag, value in _curves(measure, cols[measure.name][r], layers):
                        tf.summary.scalar(tag, value, step=step)
        if len(cols["step"]):
            self.written = max(self.written, int(cols["step"][-1]))

    def histograms(self) -> None:
        """Weights now and the gradient the optimizer would apply next (signed and clipped), per variable."""
        step = self.session.step_count
        grads = self.session.applied_gradients()
        with self.writer.as_default():
            for var, weight, grad in zip(self.session.vars, self.session.weights(), grads, strict=True):
                name = str(getattr(var, "path", var.name))
                tf.summary.histogram(f"weights/{name}", weight, step=step)
                tf.summary.histogram(f"gradients/{name}", grad, step=step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()
