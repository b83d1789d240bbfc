"""The compiled multi-step function, built from the rule, the optimizer and the measures.

Every per-step number is computed inside one `tf.function` that loops `n` steps in the graph, so
Python is paid once per chunk. Each step writes one flat row laid out by measures.PACKED; a
non-finite step stops the loop before it is recorded, and `where` says what went non-finite.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradtui.config import LabConfig, fields_with
from gradtui.lab import held_out, measures, progress, rules
from gradtui.lab.accuracy import Baseline, Scoring
from gradtui.lab.attribution import AttributionSpec
from gradtui.lab.attribution_graph import Attributor, Weighing
from gradtui.lab.batching import Batching
from gradtui.lab.data import DataSet
from gradtui.lab.held_out import Evaluate, eval_batch
from gradtui.lab.runtime import tf

Batch = Callable[[], tuple[tf.Tensor, tf.Tensor]]
LossFn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


@dataclass(frozen=True)
class Parts:
    """The experiment's fixed pieces: a new model, probe or data set makes a new session."""

    model: Any
    stateless: bool  # the model has stateless_call (a Keras model, not a SavedModel wrapper)
    variables: list[Any]
    groups: list[list[int]]  # variable indices per layer
    x_probe: tf.Tensor
    outputs: int
    loss_name: str
    from_logits: bool
    data: DataSet | None
    init: list[tf.Tensor]  # the weights at step 0
    step: Any  # the step counter, a tf.Variable
    state: list[Any] = field(default_factory=list)  # non-trainable variables: moving statistics, dropout seeds
    baseline: Baseline | None = None  # step 0's held-out decisions: the experiment's, whatever changes later
    scoring: Scoring | None = None  # how a held-out prediction is judged right (None: values, no accuracy)

    @property
    def dims(self) -> measures.Dims:
        return measures.Dims(int(self.x_probe.shape[0]), self.outputs, len(self.groups))


TUNABLE = fields_with("live")  # settings a change of which keeps the compiled step (the field table says which)


class StepGraph(Batching):
    """One config's compiled step: `run(n)` and `gradients()`, recompiled on a config change except of
    TUNABLE fields, which the graph reads from variables (lr: the optimizer's; sign: `self.sign`). Its
    inputs and each step's rows are Batching's (batching.py)."""

    def __init__(
        self,
        config: LabConfig,
        parts: Parts,
        optimizer: Any,
        strategy: Any = None,
        attribution: AttributionSpec | None = None,
    ) -> None:
        progress.phase("tracing the step")  # the session traces it right after (Session._call(0))
        self.config, self.parts, self.optimizer = config, parts, optimizer
        self.strategy = strategy if strategy is not None else tf.distribute.get_strategy()
        self.training = config.effective_mode == "train"
        # per-row losses, averaged here: inside a MirroredStrategy a Keras mean loss is also divided by
        # the replica count
        self.per_row_loss: LossFn = rules.make_loss(parts.loss_name, parts.from_logits, per_row=True)
        self.sign = tf.Variable(_sign(config), trainable=False, name="gradtui_sign")
        self.loss_fn: LossFn = lambda y_true, y_pred: tf.reduce_mean(self.per_row_loss(y_true, y_pred))
        self._setup_data()
        # each step's forecast split per row (attribution_graph.py): only when asked for
        self.attributor = Attributor(self, attribution) if attribution is not None else None
        # Traced without AutoGraph: its conversion of the Python the step calls was most of the time to
        # trace, and the step's loops are graph loops already. (Keras layers are never converted
        # anyway, so a model whose Python branches on a tensor's value fails under `fit` as here.)
        held_out = parts.data is not None and parts.data.has_heldout
        self.evaluate: Evaluate | None = tf.function(self._evaluator(), autograph=False) if held_out else None
        self.run = self._compile()
        self.gradients = tf.function(self._peek_gradients, autograph=False)

    def warm(self) -> None:
        """Trace the step now (a run of zero steps changes nothing), so the first real step is quick."""
        self.run(tf.constant(0, tf.int32))

    def traces(self) -> int:
        """How often the step was traced (once per graph, however its TUNABLE settings change)."""
        return int(self.run.experimental_get_tracing_count())  # type: ignore[attr-defined]

    def retune(self, config: LabConfig) -> None:
        """Take a config that differs from this graph's only in TUNABLE fields, without retracing."""
        self.sign.assign(_sign(config))
        self.config = config

    # ---- held-out evaluation (held_out.py) ----------------------------------------------------

    def _evaluator(self, predict: Callable[[tf.Tensor], tf.Tensor] | None = None) -> Evaluate:
        """The held-out figures at the model's weights, or through `predict` (see held_out.evaluator)."""
        parts, model = self.parts, self.parts.model
        assert parts.data is not None
        predict = predict or (lambda x: model(x, training=False))
        judged_as = (parts.baseline, parts.scoring)
        found = (parts.data, self.x_eval, self.y_eval, parts.loss_name, parts.from_logits, judged_as)
        return held_out.evaluator(*found, eval_batch(parts.variables), predict)

    # ---- the step -------------------------------------------------------------------------------

    def _gradients(
        self,
        step: tf.Tensor,
        y: tf.Tensor | None = None,
        order: tf.Tensor | None = None,
        weighing: Weighing | None = None,
    ) -> tuple[Any, Any, tf.Tensor, list[Any]]:
        """The rule: (objective, loss, probe predictions, gradient to apply before the sign).

        `y`, the probe predictions at the current weights, saves a forward pass where the rule does
        not differentiate them; `order`, this epoch's permutation, saves drawing it. With `weighing`
        (attribution), the gradient is taken with each row's part weighed, under its outer tape.
        """
        parts, config = self.parts, self.config
        rule = rules.BY_NAME[config.rule]
        batch, loss_fn, replica = self._replica_part(step, rule.needs_data, order)
        model: Any = parts.model
        with weighing.recording() if weighing is not None else contextlib.nullcontext():
            with tf.GradientTape() as tape:
                if y is None or not rule.probe_is_constant:
                    y = parts.model(parts.x_probe, training=False)
                objective_y = y
                if weighing is not None and weighing.on_outputs:  # the prediction rule: rows are probe rows
                    model = _weighed_model(parts.model, weighing)
                    objective_y = y if self.training else weighing.weigh(y)
                elif weighing is not None:
                    loss_fn = weighing.loss(self.per_row_loss)
                inputs = rules.RuleInputs(
                    model,
                    parts.x_probe,
                    objective_y,
                    self.probe_labels,
                    loss_fn,
                    config.target,
                    batch,
                    self.training,
                )
                objective, loss = rule.objective(inputs)
            grads = tape.gradient(objective, parts.variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        if replica is not None:  # the replicas' parts add up to the whole batch's loss and gradient
            reduced = replica.all_reduce(tf.distribute.ReduceOp.SUM, [loss, *grads])
            objective = loss = reduced[0]
            grads = reduced[1:]
        if rule.direction is not None:
            grads = rule.direction(grads, step, config.seed)
        loss = tf.constant(math.nan, tf.float32) if loss is None else loss
        return objective, loss, y, list(grads)

    def _replica_part(
        self, step: tf.Tensor, splits: bool, order: tf.Tensor | None = None
    ) -> tuple[Batch | None, LossFn, Any]:
        """The training rows this replica differentiates, the loss over them, and the replica context
        whose sum makes the whole batch's (None on one device, or for a rule that trains on no rows).

        Like Keras under a distribution strategy: each replica takes an even share of the batch (the
        first ones a row more where the rows do not divide) and sums its rows' losses over the whole
        batch's row count, so the replicas' summed gradients are the single-device gradient.
        """
        rows, replica = self._batch(step, order), _several_replicas()
        if rows is None or replica is None or not splits:
            return rows, self.loss_fn, None
        x, y = rows()
        total = tf.shape(x)[0]
        share = -(-total // replica.num_replicas_in_sync)
        start = tf.minimum(tf.cast(replica.replica_id_in_sync_group, tf.int32) * share, total)
        end = tf.minimum(start + share, total)
        part = (x[start:end], y[start:end])
        per_row = self.per_row_loss

        def loss_fn(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
            return tf.reduce_sum(per_row(y_true, y_pred)) / tf.cast(total, tf.float32)

        return (lambda: part), loss_fn, replica

    def _peek_gradients(self) -> list[tf.Tensor]:
        """The gradient the rule would apply next, leaving the model as it was: a training-mode pass
        moves BatchNorm statistics and dropout seeds, so they are put back."""
        saved = [tf.identity(v) for v in self.parts.state]
        grads = self._gradients(self.parts.step.read_value())[3]
        with tf.control_dependencies(grads):
            for var, value in zip(self.parts.state, saved, strict=True):
                var.assign(value)
        return [tf.identity(g) for g in grads]

    def _forecast(
        self, old: list[tf.Tensor], new: list[tf.Tensor], delta: list[tf.Tensor], state: list[tf.Tensor]
    ) -> tf.Tensor:
        """J(w_before) . update: a forward-mode JVP of the probe outputs at the weights (and the moving
        statistics) before the step. The trainable weights only: moving statistics are not in it."""
        model, x_probe = self.parts.model, self.parts.x_probe
        if self.parts.stateless:
            with tf.autodiff.ForwardAccumulator(old, delta) as acc:
                y_lin, _ = model.stateless_call(old, state, x_probe, training=False)
            return acc.jvp(y_lin)
        return self._forecast_by_reverse(old, new, delta)

    def _forecast_by_reverse(self, old: list[tf.Tensor], new: list[tf.Tensor], delta: list[tf.Tensor]) -> tf.Tensor:
        """A SavedModel's graph reads its variables directly and forward mode does not follow them into
        it: put w_before back and take the JVP as two reverse passes, J.d = d/du [(J^T u) . d]."""
        model, x_probe, variables = self.parts.model, self.parts.x_probe, self.parts.variables
        for var, value in zip(variables, old, strict=True):
            var.assign(value)
        with tf.GradientTape() as outer:
            u = tf.zeros((int(x_probe.shape[0]), self.parts.outputs))
            outer.watch(u)
            with tf.GradientTape() as inner:
                dotted = tf.reduce_sum(u * model(x_probe, training=False))
            vjp = inner.gradient(dotted, variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            along = tf.add_n([tf.reduce_sum(a * b) for a, b in zip(vjp, delta, strict=True)])
        out = outer.gradient(along, u)
        with tf.control_dependencies([out]):
            for var, value in zip(variables, new, strict=True):
                var.assign(value)
        return tf.identity(out)

    def _norms(self) -> Callable[..., tuple[tf.Tensor, ...]]:
        groups, init = self.parts.groups, self.parts.init
        segments = tf.constant([g for g, members in enumerate(groups) for _ in members], tf.int32)
        var_order = [i for members in groups for i in members]

        def norms_in(dtype: tf.DType, tensors: list[list[tf.Tensor]]) -> tuple[tf.Tensor, ...]:
            rows = []
            for i in var_order:
                stacked = tf.cast(tf.stack([t[i] for t in tensors]), dtype)
                rows.append(tf.reduce_sum(tf.square(tf.reshape(stacked, [5, -1])), axis=1))
            squares = tf.math.unsorted_segment_sum(tf.stack(rows), segments, len(groups))
            per_layer = tf.sqrt(squares)
            distance = tf.sqrt(tf.reduce_sum(tf.stack(rows)[:, 4]))
            ratio = per_layer[:, 1] / tf.maximum(per_layer[:, 2], 1e-30)
            figures = tuple(tf.cast(t, tf.float32) for t in (per_layer[:, 0], per_layer[:, 3], ratio, distance))
            # a layer's sum of squares is finite exactly when its weights are (in float64 always: float32
            # weights cannot overflow it), so the divergence check needs no pass of its own
            return (*figures, tf.math.is_finite(squares[:, 0]))

        def norms(
            new: list[tf.Tensor], old: list[tf.Tensor], delta: list[tf.Tensor], grads: list[tf.Tensor]
        ) -> tuple[tf.Tensor, ...]:
            """Per-layer |w|, |g|, |update| / |w before|, the distance from step 0, and whether each
            layer's weights are finite, in few fused ops.

            A float32 sum of squares overflows once weights pass ~1e19, long before they do: then the
            norms are taken again in float64."""
            tensors = [new, delta, old, grads, [a - b for a, b in zip(new, init, strict=True)]]
            fast = norms_in(tf.float32, tensors)
            return tf.cond(
                tf.reduce_all([tf.reduce_all(tf.math.is_finite(t)) for t in fast[:4]]),
                lambda: fast,
                lambda: norms_in(tf.float64, tensors),
            )

        return norms

    def _held_out(self, step: tf.Tensor, weights: list[tf.Tensor], state: list[tf.Tensor]) -> dict[str, tf.Tensor]:
        """The held-out figures every `eval_every` steps (NaN between). A Keras model is evaluated at the
        step's weights as values (stateless_call), so the evaluation reads no variable and the graph can
        run it beside the other measurements instead of in line with every variable access."""
        nan = tf.constant(math.nan, tf.float32)
        skipped = {"eval_acc": nan, "eval_loss": nan, "acc_change": nan, "flipped": nan}
        if self.evaluate is None:
            return skipped
        evaluate = self.evaluate
        if self.parts.stateless:
            model = self.parts.model
            evaluate = self._evaluator(lambda x: model.stateless_call(weights, state, x, training=False)[0])
        return tf.cond((step + 1) % self.config.eval_every == 0, evaluate, lambda: skipped)

    def _one_step(self) -> Callable[..., tuple[tf.Tensor, ...]]:
        parts, optimizer, norms = self.parts, self.optimizer, self._norms()
        sign, clipnorm = self.sign, self.config.clipnorm
        # one probe output that is itself the objective, differentiated in inference mode: its Jacobian is
        # the gradient just taken, so the forecast J . update is a dot product and needs no forward-mode
        # pass. A training-mode gradient (BatchNorm's batch statistics, dropout) is another function's:
        # the forecast stays the inference-mode JVP whatever the mode.
        rule = rules.BY_NAME[self.config.rule]
        jacobian_is_gradient = rule.objective_is_output and rule.direction is None and parts.dims.probes == 1
        jacobian_is_gradient = jacobian_is_gradient and parts.outputs == 1 and not self.training
        replicas = self.strategy.num_replicas_in_sync

        non_trainable = parts.model.non_trainable_variables if parts.stateless else []
        training, shuffles, attributor = self.training, self.shuffles, self.attributor

        def one_step(y_before: tf.Tensor, order: tf.Tensor, epoch: tf.Tensor) -> tuple[tf.Tensor, ...]:
            """One step from probe predictions `y_before` and the step before's epoch permutation."""
            step = parts.step.read_value()
            if shuffles:
                order, epoch = self._epoch_order(step, order, epoch)
            old = [tf.identity(v) for v in parts.variables]
            # the moving statistics before a training-mode pass moves them
            state = [tf.identity(v) for v in non_trainable] if training else non_trainable
            weighing = attributor.weighing() if attributor is not None else None
            objective, loss, y, grads = self._gradients(step, y_before, order if shuffles else None, weighing)
            applied = [g * sign for g in grads]  # x1 or x-1: exact either way
            if replicas > 1:  # every replica holds the whole gradient: clip it here, the optimizer sums shares
                applied = [(tf.clip_by_norm(g, clipnorm) if clipnorm else g) / replicas for g in applied]
            was = attributor.before() if attributor is not None else None
            optimizer.apply_gradients(zip(applied, parts.variables, strict=True))
            new = [tf.identity(v) for v in parts.variables]
            delta = [a - b for a, b in zip(new, old, strict=True)]
            if jacobian_is_gradient:
                forecast = tf.reshape(
                    tf.add_n([tf.reduce_sum(g * d) for g, d in zip(grads, delta, strict=True)]), [1, 1]
                )
            else:
                forecast = self._forecast(old, new, delta, state)
            y_new = parts.model(parts.x_probe, training=False)
            # the norm of the gradient the optimizer applied: Keras clips each tensor to clipnorm first
            shown = [tf.clip_by_norm(g, clipnorm) for g in grads] if clipnorm else grads
            weight_norm, grad_norm, ratio, distance, layers_finite = norms(new, old, delta, shown)
            parts.step.assign_add(1)
            state_after = [tf.identity(v) for v in non_trainable]
            held_out = self._held_out(step, new, state_after)
            values = measures.StepValues(
                objective, loss, y, y_new, forecast, weight_norm, grad_norm, ratio, distance, held_out
            )
            # divergence is judged on the weights and predictions themselves: a norm (a float32 sum of
            # squares) overflows long before the weights it sums do
            finite = tf.concat([layers_finite, [tf.reduce_all(tf.math.is_finite(y_new))]], 0)
            row = _pack(values)
            if attributor is not None and was is not None:
                why = attributor.row(step, order if shuffles else None, old, state, grads, applied, was, weighing)
                row = tf.concat([row, why], 0)
            return row, finite, y_new, order, epoch

        return one_step

    def _compile(self) -> Callable[[tf.Tensor], dict[str, tf.Tensor]]:
        model, x_probe, one_step, strategy = self.parts.model, self.parts.x_probe, self._one_step(), self.strategy
        width = measures.row_width(self.parts.dims) + (self.attributor.width if self.attributor is not None else 0)

        rows_to_order = self.rows if self.shuffles else 0

        def replicated_step(*carried: tf.Tensor) -> tuple[tf.Tensor, ...]:
            """The step on every replica; each measures the same mirrored weights, so the first one's row."""
            if strategy.num_replicas_in_sync == 1:  # one device: the plain step, traced as before
                return one_step(*carried)
            return tuple(strategy.experimental_local_results(value)[0] for value in strategy.run(one_step, carried))

        def step(
            count: tf.Tensor, where: tf.Tensor, rows: tf.TensorArray, *carried: tf.Tensor
        ) -> tuple[tf.Tensor | tf.TensorArray, ...]:
            """One step's row is written at `count`; a non-finite step's too, but it is not counted, and
            `where` (what went non-finite) ends the loop."""
            row, finite, *carried_on = replicated_step(*carried)
            ok = tf.reduce_all(finite)
            where = tf.where(ok, where, tf.cast(tf.argmin(tf.cast(finite, tf.int32)), tf.int32))
            return (count + tf.cast(ok, tf.int32), where, rows.write(count, row), *carried_on)

        @tf.function(autograph=False)
        def run(n: tf.Tensor) -> dict[str, tf.Tensor]:
            rows = tf.TensorArray(tf.float32, size=0, dynamic_size=True, element_shape=[width])
            y = model(x_probe, training=False)
            # no permutation yet (epoch -1): the first step draws its epoch's
            order, epoch = tf.zeros([rows_to_order], tf.int64), tf.constant(-1, tf.int64)
            start = (tf.constant(0, tf.int32), tf.constant(-1, tf.int32), rows, y, order, epoch)
            count, where, rows, *_ = tf.while_loop(
                lambda count, where, *_: tf.logical_and(count < n, where < 0), step, start
            )
            return {"rows": rows.stack()[:count], "count": count, "where": where}

        return run

    def where(self, code: int, layers: tuple[str, ...]) -> str:
        """What the finiteness check found non-finite: a layer's weights or the probe predictions."""
        if code < len(self.parts.groups):
            return f"weights of layer {layers[code]}"
        return "probe predictions"

    # ---- row 0 ----------------------------------------------------------------------------------

    def start_row(self, weights: list[np.ndarray]) -> dict[str, np.ndarray]:
        """Row 0, measured at `weights` (the model's current weights): predictions, norms, held-out."""
        y = self.parts.model(self.parts.x_probe, training=False).numpy()
        norms = np.array(
            [math.sqrt(sum(float(np.sum(np.square(weights[i]))) for i in g)) for g in self.parts.groups], np.float32
        )
        evaluated = {k: float(v) for k, v in self.evaluate().items()} if self.evaluate is not None else {}
        return measures.start_row(measures.StartValues(y, norms, evaluated))


def _pack(values: measures.StepValues) -> tf.Tensor:
    """One flat float32 row per step (one TensorArray write), laid out as measures.unpack reads it."""
    return tf.concat([tf.reshape(tf.cast(m.step(values), tf.float32), [-1]) for m in measures.PACKED if m.step], 0)


def _weighed_model(model: Any, weighing: Weighing) -> Callable[..., tf.Tensor]:
    """`model` called as the rules call it, its output rows weighed (the prediction rule's training pass)."""
    return lambda x, training=False: weighing.weigh(model(x, training=training))


def _several_replicas() -> Any:
    """The replica context when this runs as one of several replicas (inside strategy.run), else None."""
    context = tf.distribute.get_replica_context()
    return context if context is not None and context.num_replicas_in_sync > 1 else None


def _sign(config: LabConfig) -> float:
    return -1.0 if config.sign == "ascend" else 1.0
