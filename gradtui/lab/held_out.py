"""Held-out evaluation: step 0's baseline and the in-graph evaluator of accuracy, loss and flips.

Rows are evaluated in fixed-size batches inside the graph (as Keras's `evaluate` does), against
the classes each row had at step 0, so a flip is a row whose predicted class changed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradtui.lab import rules
from gradtui.lab.data import DataSet
from gradtui.lab.runtime import tf

Evaluate = Callable[[], dict[str, tf.Tensor]]
EVAL_BATCH = 1024  # held-out rows per forward pass (64 for models over 1M parameters)


@dataclass(frozen=True)
class Baseline:
    """Step 0's predicted class of every evaluated held-out row, and how many of them are right."""

    classes: np.ndarray
    hits: int


def classes_of(p: tf.Tensor, from_logits: bool) -> tf.Tensor:
    """Predicted classes: argmax of several outputs; one output above 0.5 (a probability) or 0 (a logit)."""
    if p.shape[-1] == 1:
        return tf.cast(p[:, 0] > (0.0 if from_logits else 0.5), tf.int32)
    return tf.argmax(p, axis=-1, output_type=tf.int32)


def correct_of(c: tf.Tensor, y: tf.Tensor, kind: str) -> tf.Tensor:
    """Whether each predicted class is right: the label, or (hot rows) a positive of the row."""
    if kind == "hot":
        return tf.gather(y, c, axis=1, batch_dims=1) > 0.5
    if kind == "binary":
        return tf.equal(c, tf.cast(y[:, 0] > 0.5, tf.int32))
    return tf.equal(c, tf.cast(tf.reshape(y, [-1]), tf.int32))


def eval_batch(variables: list[Any]) -> int:
    return EVAL_BATCH if sum(int(np.prod(v.shape)) for v in variables) < 1_000_000 else 64


def measure_baseline(model: Any, data: DataSet | None, from_logits: bool, batch: int) -> Baseline | None:
    """Step 0's held-out classes and accuracy, batched like `predict`; None without a labelled held-out set."""
    if data is None or not data.has_heldout or data.kind == "values":
        return None
    x, y = data.x_test[: data.eval_rows], data.y_test[: data.eval_rows]
    found = [model(tf.constant(x[i : i + batch]), training=False) for i in range(0, len(x), batch)]
    classes = tf.concat([classes_of(p, from_logits) for p in found], 0)
    hits = int(np.count_nonzero(correct_of(classes, tf.constant(y), data.kind).numpy()))
    return Baseline(classes.numpy(), hits)


def evaluator(
    data: DataSet,
    x_eval: tf.Tensor,
    y_eval: tf.Tensor,
    loss_name: str,
    from_logits: bool,
    baseline: Baseline | None,
    batch: int,
    predict: Callable[[tf.Tensor], tf.Tensor],
) -> Evaluate:
    """Held-out accuracy, loss, accuracy change and flip fraction against step 0 over every evaluated
    row of `data`, `batch` rows per call of `predict`."""
    per_row = rules.make_loss(loss_name, from_logits, per_row=True)
    kind, n = data.kind, data.eval_rows
    classes0 = tf.constant(baseline.classes) if baseline is not None else None

    def part(start: tf.Tensor, loss: tf.Tensor, hits: tf.Tensor, flips: tf.Tensor) -> tuple[tf.Tensor, ...]:
        """One batch of rows from `start`: the running sums of loss, right answers and flips."""
        end = tf.minimum(start + batch, n)
        p = predict(x_eval[start:end])
        loss += tf.reduce_sum(tf.cast(per_row(y_eval[start:end], p), tf.float64))
        if classes0 is not None:
            c = classes_of(p, from_logits)
            hits += tf.reduce_sum(tf.cast(correct_of(c, y_eval[start:end], kind), tf.int64))
            flips += tf.reduce_sum(tf.cast(tf.not_equal(c, classes0[start:end]), tf.int64))
        return start + batch, loss, hits, flips

    def evaluate() -> dict[str, tf.Tensor]:
        sums = (tf.constant(0), tf.constant(0.0, tf.float64), tf.constant(0, tf.int64), tf.constant(0, tf.int64))
        if n <= batch:  # one batch: no loop
            _, loss, hits, flips = part(*sums)
        else:
            _, loss, hits, flips = tf.while_loop(lambda start, *_: start < n, part, sums)
        nan = tf.constant(math.nan, tf.float32)
        figures = {"eval_acc": nan, "eval_loss": tf.cast(loss / n, tf.float32), "acc_change": nan, "flipped": nan}
        if baseline is not None:
            figures["eval_acc"] = tf.cast(tf.cast(hits, tf.float64) / n, tf.float32)
            # from the counts, so an unchanged accuracy is exactly 0
            figures["acc_change"] = tf.cast(tf.cast(hits - baseline.hits, tf.float64) / n, tf.float32)
            figures["flipped"] = tf.cast(tf.cast(flips, tf.float64) / n, tf.float32)
        return figures

    return evaluate
