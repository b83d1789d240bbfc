"""Held-out evaluation: the in-graph evaluator of accuracy, loss, accuracy change and flips.

Rows are evaluated in fixed-size batches inside the graph (as Keras's `evaluate` does). Accuracy
and flips are judged as accuracy.py defines them for each output kind, against each row's decision
at step 0 (accuracy.Baseline).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from gradtui.lab import rules
from gradtui.lab.accuracy import Baseline, Scoring
from gradtui.lab.data import DataSet
from gradtui.lab.runtime import tf

Evaluate = Callable[[], dict[str, tf.Tensor]]
EVAL_BATCH = 1024  # held-out rows per forward pass (64 for models over 1M parameters)


def eval_batch(variables: list[Any]) -> int:
    return EVAL_BATCH if sum(int(np.prod(v.shape)) for v in variables) < 1_000_000 else 64


def evaluator(
    data: DataSet,
    x_eval: tf.Tensor,
    y_eval: tf.Tensor,
    loss_name: str,
    from_logits: bool,
    judged_as: tuple[Baseline | None, Scoring | None],
    batch: int,
    predict: Callable[[tf.Tensor], tf.Tensor],
) -> Evaluate:
    """Held-out accuracy, loss, accuracy change and flip fraction against step 0 over every evaluated
    row of `data`, `batch` rows per call of `predict`."""
    per_row = rules.make_loss(loss_name, from_logits, per_row=True)
    baseline, scoring = judged_as
    n = data.eval_rows
    decisions0 = tf.constant(baseline.decisions) if baseline is not None else None
    judged = n * (scoring.per_row if scoring is not None else 1)  # accuracy's denominator

    def part(start: tf.Tensor, loss: tf.Tensor, hits: tf.Tensor, flips: tf.Tensor) -> tuple[tf.Tensor, ...]:
        """One batch of rows from `start`: the running sums of loss, right judgements and flips."""
        end = tf.minimum(start + batch, n)
        p = predict(x_eval[start:end])
        loss += tf.reduce_sum(tf.cast(per_row(y_eval[start:end], p), tf.float64))
        if decisions0 is not None and scoring is not None:
            decision = scoring.decide(p)
            hits += tf.reduce_sum(scoring.hits(decision, y_eval[start:end]))
            flips += tf.reduce_sum(tf.cast(scoring.flips(decision, decisions0[start:end]), tf.int64))
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
            figures["eval_acc"] = tf.cast(tf.cast(hits, tf.float64) / judged, tf.float32)
            # from the counts, so an unchanged accuracy is exactly 0
            figures["acc_change"] = tf.cast(tf.cast(hits - baseline.hits, tf.float64) / judged, tf.float32)
            figures["flipped"] = tf.cast(tf.cast(flips, tf.float64) / n, tf.float32)
        return figures

    return evaluate
