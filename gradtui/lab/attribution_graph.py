"""The attribution inside the compiled step: one row of extra floats per step, only when asked for.

For each attributed probe j and its tracked output f_j, with the step written as Δw = s·D ⊙ a + c
(linear_update.py) and the applied gradient a = sign · Σᵢ ∇rᵢ (rᵢ: row i's part of the objective,
(1/B)·ℓᵢ for a loss), the forecast J_j·Δw splits exactly into Σᵢ ⟨∇rᵢ, v_j⟩ + J_j·c with
v_j = sign · s·D ⊙ ∇f_j. ∇f_j is one reverse pass (inference mode, the forecast's J). Every row's
term comes from the step's own gradient: it is taken with each row's part scaled by a watched
u = 1 (values and gradient unchanged, Weighing), so g(u) = Σᵢ uᵢ∇rᵢ and one reverse pass of
⟨g(u), v_j⟩ over u gives every ⟨∇rᵢ, v_j⟩ at once, reusing the step's forward pass and its exact
rows, mode, dropout seeds and batch statistics (a forward-mode pass of the rows along v_j computes
the same terms but runs the batch's forward pass again: 1.5x the extra time on the shipped cnn).

Row layout (floats, after measures.PACKED's): terms (A·R), row ids (R, -1 = padding), data part
(A), history carry (A), decay carry (A), and under the probe rules the A×A matrix ⟨∇f_i, s·D ∇f_j⟩.
A: attributed probes; R: rows per step (the batch size, the probe count, or 0 for the random rule).
"""

from __future__ import annotations

from typing import Any

from gradtui.lab import linear_update, rules
from gradtui.lab.attribution import AttributionSpec, Layout
from gradtui.lab.results import LabError
from gradtui.lab.runtime import tf

StepGraph = Any  # step_graph.StepGraph, which imports this module


class Weighing:
    """The step's gradient with every row's part of the objective scaled by u = 1, under an outer tape.

    `weigh` is the identity on values and multiplies each row's gradient by uᵢ (exactly: by 1.0), so
    the step is bit for bit the same; `terms(grads, v)` is d⟨g(u), v⟩/du = (⟨∇rᵢ, v⟩)ᵢ. The outer tape
    records only while the step's gradient is taken (`recording()`)."""

    def __init__(self, persistent: bool, on_outputs: bool) -> None:
        self.tape = tf.GradientTape(persistent=persistent)
        self.on_outputs = on_outputs  # the prediction rule: weigh the probe outputs' rows, not a loss's
        self.u: tf.Tensor | None = None

    def recording(self) -> tf.GradientTape:
        return self.tape

    def weigh(self, rows: tf.Tensor) -> tf.Tensor:
        """`rows` (R, ...) unchanged, each row's gradient scaled by a watched uᵢ = 1."""
        if self.u is not None:
            raise RuntimeError("one weighing weighs one tensor of rows")
        self.u = tf.ones(tf.shape(rows)[:1], rows.dtype)
        self.tape.watch(self.u)
        return _weighed(rows, self.u)

    def loss(self, per_row: Any) -> Any:
        """The mean of `per_row`'s losses, weighed (the step's loss_fn with rows to attribute)."""
        return lambda y_true, y_pred: tf.reduce_mean(self.weigh(per_row(y_true, y_pred)))

    def terms(self, grads: list[tf.Tensor], along: list[tf.Tensor]) -> tf.Tensor:
        """(⟨∇rᵢ, along⟩)ᵢ: one reverse pass over the recorded gradient, none of the forward pass again."""
        assert self.u is not None
        along = [tf.stop_gradient(tf.cast(a, g.dtype)) for a, g in zip(along, grads, strict=True)]
        return self.tape.gradient(grads, self.u, output_gradients=along, unconnected_gradients=_ZERO)


@tf.custom_gradient
def _weighed(rows: tf.Tensor, u: tf.Tensor) -> tuple[tf.Tensor, Any]:
    def grad(upstream: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        scale = tf.reshape(u, tf.concat([tf.shape(u), tf.ones([tf.rank(upstream) - 1], tf.int32)], 0))
        return upstream * scale, tf.zeros_like(u)

    return tf.identity(rows), grad


_ZERO = tf.UnconnectedGradients.ZERO


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

    def weighing(self) -> Weighing | None:
        """A new step's Weighing (None when the step has no rows: the random rule)."""
        if not self.layout.rows:
            return None
        return Weighing(len(self.spec.probes) > 1, self.graph.config.rule == "prediction")

    def _ids(self, step: tf.Tensor, order: tf.Tensor | None) -> tf.Tensor:
        """This step's row ids, padded with -1 to the layout's rows."""
        if self.layout.source == "rows":
            idx = self.graph._indices(step, order)
            return tf.pad(idx, [[0, self.layout.rows - tf.shape(idx)[0]]], constant_values=-1)
        return tf.range(self.layout.rows, dtype=tf.int64)

    def row(
        self,
        step: tf.Tensor,
        order: tf.Tensor | None,
        old: list[tf.Tensor],
        state: list[tf.Tensor],
        grads: list[tf.Tensor],
        applied: list[tf.Tensor],
        was: linear_update.Before,
        weighing: Weighing | None,
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
        for jac in jacobians:
            moved = [s * j for s, j in zip(lin.scale, jac, strict=True)]  # s·D ∇f: P(∇f) without the sign
            along = [tf.cast(sign, m.dtype) * m for m in moved]
            pushed.append(moved)
            data.append(_dot(along, grads))
            history.append(_dot(jac, lin.history))
            decay.append(_dot(jac, lin.decay))
            if weighing is not None:
                values = weighing.terms(grads, along)
                terms.append(tf.pad(values, [[0, self.layout.rows - tf.shape(values)[0]]]))
        pieces = [tf.reshape(tf.cast(t, tf.float32), [-1]) for t in terms]
        if weighing is not None:
            pieces.append(tf.cast(self._ids(step, order), tf.float32))
        pieces += [tf.cast(tf.stack(v), tf.float32) for v in (data, history, decay)]
        if self.layout.matrix:
            matrix = [[_dot(jac, moved) for moved in pushed] for jac in jacobians]
            pieces.append(tf.reshape(tf.cast(tf.stack([tf.stack(r) for r in matrix]), tf.float32), [-1]))
        return tf.concat(pieces, 0)


def _dot(a: list[tf.Tensor], b: list[tf.Tensor]) -> tf.Tensor:
    return tf.add_n([tf.reduce_sum(x * tf.cast(y, x.dtype)) for x, y in zip(a, b, strict=True)])
