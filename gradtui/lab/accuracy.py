"""Held-out accuracy as Keras's metrics define it for each kind of output, and what a "flip" is.

- several outputs read as classes (softmax, or sparse categorical cross-entropy on logits):
  `categorical_accuracy` / `sparse_categorical_accuracy`, the argmax equals the label;
- one output (sigmoid, or logits under binary cross-entropy): `binary_accuracy`, right when the
  output is on the label's side of 0.5 (0 for logits);
- several sigmoid outputs (multi-label): `binary_accuracy`, each output judged on its own at 0.5
  and averaged over outputs and rows;
- values (a linear output under mean squared error, or labels that are not classes): no accuracy.

A row "flips" when its decision changes since step 0: its argmax, its side of the threshold, or
(multi-label) any output's side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from gradtui.lab.data import DataSet
from gradtui.lab.runtime import tf

Kind = Literal["categorical", "binary", "multilabel"]
TITLES: dict[str, str] = {
    "categorical": "argmax equals the label (categorical_accuracy)",
    "binary": "the output on the label's side of 0.5 (binary_accuracy)",
    "multilabel": "each output on its label's side of 0.5, averaged over outputs (binary_accuracy)",
}


@dataclass(frozen=True)
class Scoring:
    """How a held-out prediction is judged: `kind`, and the threshold for binary/multi-label outputs."""

    kind: Kind
    threshold: float = 0.5  # 0 where the outputs are logits
    outputs: int = 1

    @property
    def per_row(self) -> int:
        """Judgements per row: one, or one per output for multi-label."""
        return self.outputs if self.kind == "multilabel" else 1

    def decide(self, p: tf.Tensor) -> tf.Tensor:
        """Each row's decision (int32): its class, its side of the threshold, or (multi-label) each
        output's side."""
        if self.kind == "categorical":
            return tf.argmax(p, axis=-1, output_type=tf.int32)
        if self.kind == "binary":
            return tf.cast(p[:, 0] > self.threshold, tf.int32)
        return tf.cast(p > self.threshold, tf.int32)

    def hits(self, decision: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        """Right judgements per row (int64): 0 or 1, or (multi-label) 0 to `outputs`."""
        if self.kind == "categorical":
            label = tf.reshape(y, [-1]) if len(y.shape) == 1 else tf.argmax(y, axis=-1, output_type=tf.int32)
            right = tf.equal(decision, tf.cast(label, tf.int32))
        elif self.kind == "binary":
            right = tf.equal(decision, tf.cast(y[:, 0] > 0.5, tf.int32))
        else:
            right = tf.equal(decision, tf.cast(y > 0.5, tf.int32))
        right = tf.cast(right, tf.int64)
        return tf.reduce_sum(right, axis=-1) if self.kind == "multilabel" else right

    def flips(self, decision: tf.Tensor, before: tf.Tensor) -> tf.Tensor:
        """Whether each row's decision differs from `before` (multi-label: any output's)."""
        changed = tf.not_equal(decision, before)
        return tf.reduce_any(changed, axis=-1) if self.kind == "multilabel" else changed


def scoring_for(data: DataSet | None, outputs: int, loss: str, activation: str, from_logits: bool) -> Scoring | None:
    """The accuracy Keras would report for this output and these labels; None for values."""
    if data is None or data.kind == "values":
        return None
    if loss == "mse" and activation not in ("sigmoid", "softmax"):
        return None  # a regression on numbers that happen to be whole
    threshold = 0.0 if from_logits else 0.5
    if outputs == 1:
        return Scoring("binary", threshold, 1)
    if loss == "sce" or activation == "softmax" or data.kind == "class":
        return Scoring("categorical", threshold, outputs)
    return Scoring("multilabel", threshold, outputs)


@dataclass(frozen=True)
class Baseline:
    """Step 0's decision on every evaluated held-out row, and how many judgements were right."""

    decisions: np.ndarray
    hits: int


def measure_baseline(model: Any, data: DataSet | None, scoring: Scoring | None, batch: int) -> Baseline | None:
    """Step 0's held-out decisions and right judgements, batched like `predict`; None without a
    labelled held-out set or an accuracy for this output."""
    if data is None or not data.has_heldout or scoring is None:
        return None
    x, y = data.x_test[: data.eval_rows], data.y_test[: data.eval_rows]
    found = [model(tf.constant(x[i : i + batch]), training=False) for i in range(0, len(x), batch)]
    decisions = tf.concat([scoring.decide(p) for p in found], 0)
    hits = int(np.sum(scoring.hits(decisions, tf.constant(y)).numpy()))
    return Baseline(decisions.numpy(), hits)
