"""The step graph's inputs: the training and held-out tensors, the probe labels, and which training rows
each step takes (a mixin, so step_graph.py keeps to the compiled step).

Rows are picked as Keras's fit(shuffle=True) picks them: every epoch a new seeded permutation, cut
into batches. The permutation is a pure function of the seed and the epoch, so no variable orders it
and undo, restores and session files need not keep it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from gradtui.config import LabConfig
from gradtui.lab.runtime import tf

if TYPE_CHECKING:
    from gradtui.lab.step_graph import Parts


class Batching:
    """StepGraph's data and batching: `_setup_data` makes the tensors, `_indices` a step's rows."""

    config: LabConfig
    parts: Parts
    x_train: tf.Tensor
    y_train: tf.Tensor
    x_eval: tf.Tensor
    y_eval: tf.Tensor
    rows: int  # training rows (with a data set)
    batch_size: int  # rows per step, at most `rows`
    probe_labels: tf.Tensor

    def _setup_data(self) -> None:
        config, data = self.config, self.parts.data
        if data is not None:
            self.x_train = tf.constant(data.x_train)
            self.y_train = tf.constant(data.y_train)
            self.x_eval = tf.constant(data.x_test[: data.eval_rows])
            self.y_eval = tf.constant(data.y_test[: data.eval_rows])
            self.rows = len(data.x_train)
            self.batch_size = min(config.effective_batch_size, self.rows)
        self.probe_labels = tf.constant(self._probe_labels())

    def _probe_labels(self) -> np.ndarray:
        probes, outputs = int(self.parts.x_probe.shape[0]), self.parts.outputs
        label = self.config.label if self.config.label is not None else 0
        if self.parts.loss_name == "sce":
            return np.full((probes,), label, np.int32)
        if outputs == 1:  # bce (0 or 1) or mse: the label is the target value
            return np.full((probes, 1), label, np.float32)
        onehot = np.zeros((probes, outputs), np.float32)  # bce or mse on several outputs: the label's row
        onehot[:, label] = 1.0
        return onehot

    def batch_indices(self, step: int) -> np.ndarray:
        """Training rows for 0-based step `step`, as the compiled step picks them."""
        return self._indices(tf.constant(step, tf.int64)).numpy()

    @property
    def shuffles(self) -> bool:
        """Whether steps take minibatches (a permutation each epoch) rather than every row."""
        return self.parts.data is not None and self.batch_size < self.rows

    def _order(self, epoch: tf.Tensor) -> tf.Tensor:
        """Epoch `epoch`'s seeded permutation of the rows: a pure function, so no variable orders it."""
        seed = tf.stack([tf.constant(self.config.seed + 3, tf.int64), tf.cast(epoch, tf.int64)])
        return tf.random.experimental.stateless_shuffle(tf.range(self.rows, dtype=tf.int64), seed=seed)

    def _epoch_order(self, step: tf.Tensor, order: tf.Tensor, epoch: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The permutation for `step`: `order` (epoch `epoch`'s, carried from the step before) while the
        epoch lasts, drawn anew once it ends, so a permutation is drawn once per epoch."""
        now = step // -(-self.rows // self.batch_size)
        return tf.cond(tf.equal(now, epoch), lambda: order, lambda: self._order(now)), now

    def _indices(self, step: tf.Tensor, order: tf.Tensor | None = None) -> tf.Tensor:
        """Like fit(shuffle=True): every epoch a new seeded permutation of all rows, cut into batches, the
        last one smaller when the batch size does not divide the rows. A batch of every row is taken
        in stored order: a permutation of it has the same loss and gradient, so it is not drawn."""
        n, batch = self.rows, self.batch_size
        if batch >= n:
            return tf.range(n, dtype=tf.int64)
        per_epoch = -(-n // batch)
        at = (step % per_epoch) * batch
        if order is None:
            order = self._order(step // per_epoch)
        return order[at : tf.minimum(at + batch, n)]

    def _batch(self, step: tf.Tensor, order: tf.Tensor | None) -> Callable[[], tuple[tf.Tensor, tf.Tensor]] | None:
        if self.parts.data is None:
            return None
        x_train, y_train = self.x_train, self.y_train
        if not self.shuffles:  # every row, every step: no permutation, no gather
            return lambda: (x_train, y_train)

        def rows() -> tuple[tf.Tensor, tf.Tensor]:
            idx = self._indices(step, order)
            return tf.gather(x_train, idx), tf.gather(y_train, idx)

        return rows
