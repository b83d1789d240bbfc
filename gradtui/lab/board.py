"""TensorBoard event files for a headless run: the same curves as the lab, plus per-layer weight
and gradient histograms (Keras's TensorBoard callback cannot log gradients in TF2; this can)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from gradtui.lab.runtime import tf
from gradtui.lab.session import Session


class Board:
    def __init__(self, logdir: str | Path, session: Session) -> None:
        Path(logdir).mkdir(parents=True, exist_ok=True)
        self.writer = tf.summary.create_file_writer(str(logdir))
        self.session = session
        self.rows_written = 0

    def scalars(self) -> None:
        """Every History row not yet written, as scalar curves."""
        cols = self.session.history.to_dict()
        layers = self.session.summary.layers
        with self.writer.as_default():
            for r in range(self.rows_written, len(cols["step"])):
                step = int(cols["step"][r])
                for p, row in enumerate(cols["predictions"][r]):
                    for k, value in enumerate(row):
                        tf.summary.scalar(f"probe/p{p}_out{k}", float(value), step=step)
                for name in ("loss", "objective", "distance", "eval_acc", "eval_loss", "drawdown", "flipped"):
                    value = float(cols[name][r])
                    if math.isfinite(value):
                        tf.summary.scalar(f"lab/{name}", value, step=step)
                for name in ("weight_norm", "grad_norm", "update_ratio"):
                    for layer, value in zip(layers, cols[name][r], strict=True):
                        if math.isfinite(float(value)):
                            tf.summary.scalar(f"{name}/{layer}", float(value), step=step)
                forecast, actual = cols["forecast"][r], cols["actual"][r]
                if np.all(np.isfinite(forecast)):
                    tf.summary.scalar("forecast/forecast_sum", float(np.sum(forecast)), step=step)
                    tf.summary.scalar("forecast/actual_sum", float(np.sum(actual)), step=step)
        self.rows_written = len(cols["step"])

    def histograms(self) -> None:
        """Weights now and the gradient the rule would apply next, per variable."""
        step = self.session.step_count
        grads = self.session.gradients()
        with self.writer.as_default():
            for var, weight, grad in zip(self.session.vars, self.session.weights(), grads, strict=True):
                name = str(getattr(var, "path", var.name))
                tf.summary.histogram(f"weights/{name}", weight, step=step)
                tf.summary.histogram(f"gradients/{name}", grad, step=step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()
