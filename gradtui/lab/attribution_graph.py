"""The attribution inside the compiled step: one row of extra floats per step, only when asked for.

For each attributed probe j and its tracked output f_j, with the step written as Δw = s·D ⊙ a + c
(linear_update.py) and the applied gradient a = sign · Σᵢ ∇rᵢ (rᵢ: row i's part of the objective,
(1/B)·ℓᵢ for a loss), the forecast J_j·Δw splits exactly into Σᵢ ⟨∇rᵢ, v_j⟩ + J_j·c with
v_j = sign · s·D ⊙ ∇f_j. ∇f_j is one reverse pass (inference mode, the forecast's J); one
forward-mode pass of the per-row objective along v_j gives every row's term at once.

Row layout (floats, after measures.PACKED's): terms (A·R), row ids (R, -1 = padding), data part
(A), history carry (A), decay carry (A), and under the probe rules the A×A matrix ⟨∇f_i, s·D ∇f_j⟩.
A: attributed probes; R: rows per step (the batch size, the probe count, or 0 for the random rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gradtui.lab import linear_update, rules
from gradtui.lab.attribution import AttributionSpec, Layout
from gradtui.lab.results import LabError
from gradtui.lab.runtime import tf

StepGraph = Any  # step_graph.StepGraph, which imports this module


@dataclass(frozen=True)
class Rows:
    """Row i's part of the objective as a function of the weights, and which rows they are."""

    values: Any  # weights -> (R,) tensor whose sum is the objective (zeros where padded)
    ids: tf.Tensor  # (R,) int64 row ids (-1 for padding)


def layout_for(graph: StepGraph, spec: AttributionSpec) -> Layout:
    """How many rows a step attributes to and where they come from, for this graph's rule and data."""
    rule = rules.BY_NAME[graph.config.rule]
    if rule.direction is not None:
        return Layout(spec, "none", 0)
    if rule.needs_data:
        return Layout(spec, "rows", graph.batch_size)
    return Layout(spec, "probes", int(graph.parts.x_probe.shape[0]))


def check(graph: StepGraph) -> None:
    """LabError unless this graph's step can be attributed (a Keras model, one device, a known optimizer)."""
    if not graph.parts.stateless:
        raise LabError("attribution needs a Keras model (a SavedModel's graph has no stateless call)")
    if graph.strategy.num_replicas_in_sync > 1:
        raise LabError("attribution runs on one device: choose one with --device")
    if not linear_update.supported(graph.optimizer):
        raise LabError(f"attribution does not know the {type(graph.optimizer).__name__} optimizer's update")


class Attributor:
    """Builds the attribution's part of each step's packed row (called inside the compiled step)."""

    def __init__(self, graph: StepGraph, spec: AttributionSpec) -> None:
        check(graph)
        self.graph, self.spec = graph, spec
        self.layout = layout_for(graph, spec)
        self.width = self.layout.width

    def before(self) -> linear_update.Before:
        return linear_update.before(self.graph.optimizer)

    def _rows(self, step: tf.Tensor, order: tf.Tensor | None, old: list[tf.Tensor], state: list[tf.Tensor]) -> Rows:
        graph = self.graph
        parts, config = graph.parts, graph.config
        model, training = parts.model, graph.training
        per_row = graph.per_row_loss
        if self.layout.source == "rows":
            idx = graph._indices(step, order)
            x, y = tf.gather(graph.x_train, idx), tf.gather(graph.y_train, idx)
            count = tf.shape(idx)[0]
            pad = self.layout.rows - count

            def batch_rows(w: list[tf.Tensor]) -> tf.Tensor:
                p = model.stateless_call(w, state, x, training=training)[0]
                r = per_row(y, p) / tf.cast(count, tf.float32)
                return tf.pad(r, [[0, pad]])

            return Rows(batch_rows, tf.pad(idx, [[0, pad]], constant_values=-1))
        probes = int(parts.x_probe.shape[0])
        labels, target, name = graph.probe_labels, config.target, config.rule

        def probe_rows(w: list[tf.Tensor]) -> tf.Tensor:
            p = model.stateless_call(w, state, parts.x_probe, training=training)[0]
            if name == "prediction":
                return row_objective(p, target)
            return per_row(labels, p) / float(probes)

        return Rows(probe_rows, tf.range(probes, dtype=tf.int64))

    def row(
        self,
        step: tf.Tensor,
        order: tf.Tensor | None,
        old: list[tf.Tensor],
        state: list[tf.Tensor],
        grads: list[tf.Tensor],
        applied: list[tf.Tensor],
        was: linear_update.Before,
    ) -> tf.Tensor:
        """This step's attribution floats; called after `apply_gradients`, with the weights before it."""
        graph, spec = self.graph, self.spec
        parts = graph.parts
        lin = linear_update.linearize(graph.optimizer, parts.variables, old, applied, was)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(old)
            y = parts.model.stateless_call(old, state, parts.x_probe, training=False)[0]
            tracked = [y[p, k] for p, k in zip(spec.probes, spec.outputs, strict=True)]
        jacobians = [tape.gradient(f, old, unconnected_gradients=tf.UnconnectedGradients.ZERO) for f in tracked]
        del tape
        sign = graph.sign
        terms, data, history, decay, pushed = [], [], [], [], []
        rows = self._rows(step, order, old, state) if self.layout.rows else None
        for jac in jacobians:
            moved = [s * j for s, j in zip(lin.scale, jac, strict=True)]  # s·D ∇f: P(∇f) without the sign
            along = [tf.cast(sign, m.dtype) * m for m in moved]
            pushed.append(moved)
            data.append(_dot(along, grads))
            history.append(_dot(jac, lin.history))
            decay.append(_dot(jac, lin.decay))
            if rows is not None:
                with tf.autodiff.ForwardAccumulator(old, along) as acc:
                    values = rows.values(old)
                terms.append(tf.reshape(acc.jvp(values, unconnected_gradients=tf.UnconnectedGradients.ZERO), [-1]))
        pieces = [tf.reshape(tf.cast(t, tf.float32), [-1]) for t in terms]
        if rows is not None:
            pieces.append(tf.cast(rows.ids, tf.float32))
        pieces += [tf.cast(tf.stack(v), tf.float32) for v in (data, history, decay)]
        if self.layout.matrix:
            matrix = [[_dot(jac, moved) for moved in pushed] for jac in jacobians]
            pieces.append(tf.reshape(tf.cast(tf.stack([tf.stack(r) for r in matrix]), tf.float32), [-1]))
        return tf.concat(pieces, 0)


def row_objective(p: tf.Tensor, target: str) -> tf.Tensor:
    """The prediction rule's objective (rules.prediction_objective) as one value per probe row."""
    if target == "sum":
        return tf.reduce_sum(p, axis=-1)
    if target == "argmax":
        picked = tf.argmax(tf.stop_gradient(p), axis=-1, output_type=tf.int32)
        return tf.gather(p, picked, axis=-1, batch_dims=1)
    return p[:, int(target.split(":")[1])]


def _dot(a: list[tf.Tensor], b: list[tf.Tensor]) -> tf.Tensor:
    return tf.add_n([tf.reduce_sum(x * tf.cast(y, x.dtype)) for x, y in zip(a, b, strict=True)])
