"""A live experiment: model, optimizer, the compiled multi-step function, undo and snapshots.

Every per-step number is computed inside one `tf.function` that loops `n` steps in the graph, so
Python is paid once per chunk. A non-finite step stops the loop before it is recorded; the
session then rebuilds the last finite state by replaying from the chunk's undo entry.
"""

from __future__ import annotations

import collections
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gradtui import logs
from gradtui.config import ConfigError, LabConfig
from gradtui.files import atomic_write_bytes
from gradtui.lab import data as lab_data
from gradtui.lab import rules
from gradtui.lab.history import Dims, History
from gradtui.lab.models import load_model
from gradtui.lab.results import Divergence, LabError, ModelSummary, StepReport
from gradtui.lab.runtime import keras, resolve_devices, tf

# Fields whose change needs a new model, probe or data set; the others are applied in place.
REBUILD_FIELDS = (
    "model",
    "new_head",
    "weights",
    "input_shape",
    "classes",
    "probe",
    "n_probe",
    "data",
    "seed",
    "device",
    "loss",
)  # the loss decides the labels' shape, so a new loss reloads the data
OPTIMIZER_FIELDS = ("optimizer", "clipnorm", "weight_decay")
CHUNK_SECONDS = 0.1  # target wall time of one compiled call when the caller leaves chunk=0
MAX_CHUNK = 4096
UNDO_BUDGET_BYTES = 1 << 30
SCALARS = ("loss", "objective", "distance", "eval_acc", "eval_loss", "drawdown", "flipped")


@dataclass
class _State:
    """Everything a step changes, copied out of the graph: an undo entry or a named snapshot."""

    weights: list[np.ndarray]
    optimizer: list[np.ndarray]
    step: int
    history_len: int
    history: dict[str, np.ndarray] | None = None  # a full copy, when the timeline is not a prefix
    divergence: Divergence | None = None

    def nbytes(self) -> int:
        size = sum(a.nbytes for a in self.weights) + sum(a.nbytes for a in self.optimizer)
        return size + (sum(a.nbytes for a in self.history.values()) if self.history else 0)


@dataclass
class _Undo:
    entries: collections.deque[_State] = field(default_factory=collections.deque)

    def push(self, state: _State) -> None:
        self.entries.append(state)
        total = sum(e.nbytes() for e in self.entries)
        while len(self.entries) > 1 and total > UNDO_BUDGET_BYTES:
            total -= self.entries.popleft().nbytes()


def _first_line(err: BaseException) -> str:
    text = str(getattr(err, "message", None) or err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class Session:
    """One experiment. Methods are not thread-safe with each other; History reads are."""

    # ---- building --------------------------------------------------------------------------------

    @classmethod
    def build(cls, config: LabConfig) -> Session:
        """Load the model, data and probe for `config`; ConfigError or LabError with one line."""
        try:
            names = resolve_devices(config.device)
        except ValueError as err:
            raise ConfigError("device", str(err)) from None
        if len(names) > 1:
            raise ConfigError("device", f"a session runs on one device; {config.device} names {len(names)}")
        device = names[0]
        try:
            with tf.device(device):
                return cls(config, device)
        except (ConfigError, LabError):
            raise
        except tf.errors.ResourceExhaustedError as err:
            raise LabError(f"out of memory on {device} while building the model: {_first_line(err)}") from None
        except Exception as err:
            raise LabError(f"could not build the session: {type(err).__name__}: {_first_line(err)}") from None

    def __init__(self, config: LabConfig, device: str) -> None:
        self.config = config
        self.device = device
        loaded = load_model(config)
        self.model = model = loaded.model
        self.notes: list[str] = list(loaded.notes)
        self.activation = loaded.activation
        self._stateless = loaded.stateless
        input_shape = tuple(model.input_shape[1:])
        if any(d is None for d in input_shape):
            raise LabError(f"the model's input shape {input_shape} is not fully known; build it with a fixed shape")
        if len(model.outputs) != 1:
            raise ConfigError(
                "model", f"{loaded.name} has {len(model.outputs)} outputs; gradtui follows a model with one output"
            )
        wide = sorted({str(v.dtype) for v in model.trainable_variables} - {"float32"})
        if wide:
            raise ConfigError(
                "model",
                f"{loaded.name} has {', '.join(wide)} weights; gradtui runs float32 models "
                "(rebuild it under keras.config.set_floatx('float32'))",
            )
        output_shape = tuple(model.output_shape[1:])
        if len(output_shape) != 1:
            raise LabError(f"the model's output has shape {output_shape}; gradtui needs a flat (batch, K) output")
        self.input_shape = input_shape
        self.outputs = int(output_shape[0])
        rules.check_against_model(config, self.activation, self.outputs)
        self.loss_name = rules.loss_name(config, self.activation, self.outputs)
        self._from_logits = rules.from_logits(self.loss_name, self.activation)
        self.data = lab_data.load_data(config, input_shape, self.outputs, self.activation, self.loss_name)
        self.classify = self.data is not None and self.data.kind != "values"  # held-out accuracy is defined
        if config.rule == "batch-loss" and self.data is None:
            raise ConfigError("data", "the batch-loss rule needs a data set: --data PATH.npz")
        probe, probe_desc = lab_data.load_probe(config, input_shape, self.data)
        self.x_probe = tf.constant(probe)
        self.vars = list(model.trainable_variables)
        self._groups, layer_names = _layer_groups(self.vars)
        self._init_weights = [v.numpy() for v in self.vars]
        self._init_tensors = [tf.constant(w) for w in self._init_weights]
        self._step = tf.Variable(0, dtype=tf.int64, trainable=False, name="gradtui_step")
        self._setup_data()
        self._setup_optimizer()
        self._undo = _Undo()
        self._snapshots: dict[str, _State] = {}
        self.divergence: Divergence | None = None
        self._chunk = 1
        params = int(sum(int(np.prod(v.shape)) for v in self.vars))
        self.summary = ModelSummary(
            name=loaded.name,
            params=params,
            input_shape=input_shape,
            output_shape=output_shape,
            activation=self.activation,
            loss=rules.LOSS_TITLES[self.loss_name],
            layers=tuple(layer_names),
            device=_device_of(self.vars[0], device),
            data=self.data.description if self.data else "none",
            probe=probe_desc,
        )
        self.history = History(Dims(len(probe), self.outputs, len(self._groups)))
        self._run = self._compile()
        self._record_initial()
        self._explain_static()

    def _setup_data(self) -> None:
        config, data = self.config, self.data
        if data is not None:
            self._x_train = tf.constant(data.x_train)
            self._y_train = tf.constant(data.y_train)
            limit = lab_data.MAX_EVAL if sum(int(np.prod(v.shape)) for v in self.vars) < 1_000_000 else 256
            self._x_eval = tf.constant(data.x_test[:limit])
            self._y_eval = tf.constant(data.y_test[:limit])
            self._order = np.random.default_rng(config.seed + 3).permutation(len(data.x_train)).astype(np.int64)
        probes = int(self.x_probe.shape[0])
        label = config.label if config.label is not None else 0
        if self.loss_name == "sce":
            self._probe_labels = tf.constant(np.full((probes,), label, np.int32))
        elif self.outputs == 1:  # bce (0 or 1) or mse: the label is the target value
            self._probe_labels = tf.constant(np.full((probes, 1), label, np.float32))
        else:  # bce or mse on several outputs: the label's one-hot row
            onehot = np.zeros((probes, self.outputs), np.float32)
            onehot[:, label] = 1.0
            self._probe_labels = tf.constant(onehot)

    def _setup_optimizer(self) -> None:
        self.optimizer = rules.make_optimizer(self.config)
        self.optimizer.build(self.vars)
        self._opt_vars = [v for v in self.optimizer.variables if "learning_rate" not in v.path]
        self._opt_init = [v.numpy() for v in self._opt_vars]

    # ---- the compiled step ---------------------------------------------------------------------

    def batch_indices(self, step: int) -> np.ndarray:
        """Training rows for 0-based step `step`: cycling through one seeded permutation."""
        n = len(self._order)
        size = min(self.config.batch_size, n)
        return self._order[(step * size + np.arange(size)) % n]

    def _compile(self) -> Callable[[tf.Tensor], dict[str, tf.Tensor]]:
        config, model, variables, groups = self.config, self.model, self.vars, self._groups
        optimizer = self.optimizer
        loss_fn = rules.make_loss(self.loss_name, self._from_logits)
        x_probe, probe_labels = self.x_probe, self._probe_labels
        init = self._init_tensors
        step_var = self._step
        has_data = self.data is not None
        sign = -1.0 if config.sign == "ascend" else 1.0
        rule, target, seed, every = config.rule, config.target, config.seed, config.eval_every
        clipnorm = config.clipnorm
        nan = tf.constant(math.nan, tf.float32)
        if has_data:
            x_train, y_train = self._x_train, self._y_train
            order = tf.constant(self._order)
            batch = min(config.batch_size, len(self._order))
            evaluate = self._evaluator()

        stateless, outputs = self._stateless, self.outputs

        def forecast_fn(old: list[tf.Tensor], new: list[tf.Tensor], delta: list[tf.Tensor]) -> tf.Tensor:
            """J(w_before) . update: a forward-mode JVP of the probe outputs at the weights before the step."""
            if stateless:
                with tf.autodiff.ForwardAccumulator(old, delta) as acc:
                    y_lin, _ = model.stateless_call(old, model.non_trainable_variables, x_probe, training=False)
                return acc.jvp(y_lin)
            # A SavedModel's graph reads its variables directly and forward mode does not follow them into
            # it: put w_before back and take the JVP as two reverse passes, J.d = d/du [(J^T u) . d].
            for var, value in zip(variables, old, strict=True):
                var.assign(value)
            with tf.GradientTape() as outer:
                u = tf.zeros((int(x_probe.shape[0]), outputs))
                outer.watch(u)
                with tf.GradientTape() as inner:
                    y_lin = model(x_probe, training=False)
                    dotted = tf.reduce_sum(u * y_lin)
                vjp = inner.gradient(dotted, variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)
                along = tf.add_n([tf.reduce_sum(a * b) for a, b in zip(vjp, delta, strict=True)])
            out = outer.gradient(along, u)
            with tf.control_dependencies([out]):
                for var, value in zip(variables, new, strict=True):
                    var.assign(value)
            return tf.identity(out)

        segments = tf.constant([g for g, members in enumerate(groups) for _ in members], tf.int32)
        var_order = [i for members in groups for i in members]

        def norms(new: list[tf.Tensor], old: list[tf.Tensor], grads: list[tf.Tensor]) -> tuple[tf.Tensor, ...]:
            """Per-layer |w|, |update|, |w before|, |g| and the distance from step 0, in few fused ops."""
            rows = []
            for i in var_order:
                stacked = tf.stack([new[i], new[i] - old[i], old[i], grads[i], new[i] - init[i]])
                rows.append(tf.reduce_sum(tf.square(tf.reshape(stacked, [5, -1])), axis=1))
            per_layer = tf.sqrt(tf.math.unsorted_segment_sum(tf.stack(rows), segments, len(groups)))
            distance = tf.sqrt(tf.reduce_sum(tf.stack(rows)[:, 4]))
            return per_layer[:, 0], per_layer[:, 3], per_layer[:, 1] / tf.maximum(per_layer[:, 2], 1e-30), distance

        def gradients(
            step: tf.Tensor, y: tf.Tensor | None = None
        ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, list[tf.Tensor]]:
            """The rule: (objective, loss, probe predictions, gradient to apply before the sign).

            `y`, the probe predictions at the current weights, saves a forward pass where the rule does not
            differentiate them (batch-loss).
            """
            with tf.GradientTape() as tape:
                if y is None or rule != "batch-loss":
                    y = model(x_probe, training=False)
                if rule == "example-loss":
                    loss = loss_fn(probe_labels, y)
                    objective = loss
                elif rule == "batch-loss":
                    n = tf.shape(order, out_type=tf.int64)[0]
                    idx = tf.gather(order, (step * batch + tf.range(batch, dtype=tf.int64)) % n)
                    loss = loss_fn(tf.gather(y_train, idx), model(tf.gather(x_train, idx), training=False))
                    objective = loss
                else:
                    objective = rules.prediction_objective(y, target)
                    loss = nan
            grads = tape.gradient(objective, variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            if rule == "random":
                grads = rules.random_direction(grads, step, seed)
            return objective, loss, y, list(grads)

        def one_step(y_before: tf.Tensor) -> tuple[tf.Tensor, ...]:
            step = step_var.read_value()
            old = [tf.identity(v) for v in variables]
            objective, loss, y, grads = gradients(step, y_before)
            applied = grads if sign > 0 else [-g for g in grads]
            optimizer.apply_gradients(zip(applied, variables, strict=True))
            new = [tf.identity(v) for v in variables]
            delta = [a - b for a, b in zip(new, old, strict=True)]
            forecast = forecast_fn(old, new, delta)
            y_new = model(x_probe, training=False)
            # the norm of the gradient the optimizer applied: Keras clips each tensor to clipnorm first
            shown = [tf.clip_by_norm(g, clipnorm) for g in grads] if clipnorm else grads
            weight_norm, grad_norm, ratio, distance = norms(new, old, shown)
            step_var.assign_add(1)
            if has_data:
                acc_, eval_loss, drawdown, flipped = tf.cond(
                    (step + 1) % every == 0, evaluate, lambda: (nan, nan, nan, nan)
                )
            else:
                acc_, eval_loss, drawdown, flipped = nan, nan, nan, nan
            # one flat row per step (one TensorArray write): scalars, then per-layer, then per-probe values
            row = tf.concat(
                [
                    tf.stack(
                        [
                            tf.cast(loss, tf.float32),
                            tf.cast(objective, tf.float32),
                            distance,
                            acc_,
                            eval_loss,
                            drawdown,
                            flipped,
                        ]
                    ),
                    weight_norm,
                    grad_norm,
                    ratio,
                    tf.reshape(tf.stack([y_new, forecast, y_new - y]), [-1]),
                ],
                0,
            )
            finite = tf.concat(
                [
                    tf.math.is_finite(weight_norm),
                    [tf.reduce_all(tf.math.is_finite(y_new)), tf.math.is_finite(tf.cast(objective, tf.float32))],
                ],
                0,
            )
            return row, finite, y_new

        row_width = len(SCALARS) + 3 * len(groups) + 3 * int(x_probe.shape[0]) * outputs

        @tf.function
        def run(n: tf.Tensor) -> dict[str, tf.Tensor]:
            rows = tf.TensorArray(tf.float32, size=0, dynamic_size=True, element_shape=[row_width])
            where = tf.constant(-1, tf.int32)
            count = tf.constant(0, tf.int32)
            y = model(x_probe, training=False)
            for _ in tf.range(n):
                row, finite, y = one_step(y)
                if not tf.reduce_all(finite):
                    where = tf.cast(tf.argmin(tf.cast(finite, tf.int32)), tf.int32)
                    break
                rows = rows.write(count, row)
                count += 1
            return {"rows": rows.stack(), "count": count, "where": where}

        self._gradients = tf.function(lambda: gradients(step_var.read_value())[3])
        return run  # type: ignore[return-value]

    def _evaluator(self) -> Callable[[], tuple[tf.Tensor, ...]]:
        """Held-out accuracy, loss, drawdown and flip fraction against step 0, for inside the graph."""
        model, x_eval, y_eval = self.model, self._x_eval, self._y_eval
        loss_fn = rules.make_loss(self.loss_name, self._from_logits)
        classify = self.classify
        kind = self.data.kind if self.data is not None else "values"
        threshold = 0.0 if self._from_logits else 0.5  # one output: a probability, or a logit

        def classes(p: tf.Tensor) -> tf.Tensor:
            if p.shape[-1] == 1:
                return tf.cast(p[:, 0] > threshold, tf.int32)
            return tf.argmax(p, axis=-1, output_type=tf.int32)

        def correct(c: tf.Tensor) -> tf.Tensor:
            """Whether each predicted class is right: the label, or (hot rows) a positive of the row."""
            if kind == "hot":
                return tf.gather(y_eval, c, axis=1, batch_dims=1) > 0.5
            if kind == "binary":
                return tf.equal(c, tf.cast(y_eval[:, 0] > 0.5, tf.int32))
            return tf.equal(c, tf.cast(tf.reshape(y_eval, [-1]), tf.int32))

        p0 = model(x_eval, training=False)
        class0 = classes(p0)
        acc0 = tf.reduce_mean(tf.cast(correct(class0), tf.float32)) if classify else None
        self._acc0 = float(acc0) if acc0 is not None else math.nan

        def evaluate() -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
            p = model(x_eval, training=False)
            loss = tf.cast(loss_fn(y_eval, p), tf.float32)
            if not classify:
                nan = tf.constant(math.nan, tf.float32)
                return nan, loss, nan, nan
            c = classes(p)
            acc = tf.reduce_mean(tf.cast(correct(c), tf.float32))
            flipped = tf.reduce_mean(tf.cast(tf.not_equal(c, class0), tf.float32))
            return acc, loss, acc0 - acc, flipped

        return evaluate

    def _record_initial(self) -> None:
        """Row 0: the model before any step."""
        y = self.model(self.x_probe, training=False).numpy()
        norms = np.array(
            [math.sqrt(sum(float(np.sum(np.square(self._init_weights[i]))) for i in g)) for g in self._groups],
            np.float32,
        )
        row: dict[str, Any] = {"step": [0], "predictions": y[None], "weight_norm": norms[None], "distance": [0.0]}
        if self.data is not None:
            acc, loss, drawdown, flipped = (float(t) for t in self._evaluator()())
            row.update(eval_acc=[acc], eval_loss=[loss], drawdown=[drawdown], flipped=[flipped])
        self.history.truncate(0)
        self.history.append({k: np.asarray(v) for k, v in row.items()})

    # ---- explanations --------------------------------------------------------------------------

    def _explain_static(self) -> None:
        c = self.config
        if c.rule in ("prediction", "random") and c.target == "sum" and self.activation == "softmax":
            self.notes.append(
                "Zero gradient: the target is the sum of a softmax output, and softmax outputs sum to 1 for "
                "every input and every weight, so d(sum)/dw = 0 exactly and nothing moves (gradient norms "
                "near 1e-6 are float32 rounding). Use --target class:K or argmax to move a prediction."
            )
        if c.rule == "prediction" and c.target == "sum" and self.outputs > 1 and self.activation != "softmax":
            self.notes.append(
                f"Target sum adds all {self.outputs} outputs of every probe row, as tape.gradient "
                "does with a non-scalar target."
            )

    def _explain_steps(self, first_row: int) -> list[str]:
        """Notes that only the measurements can show (said once each), with the cause they point to."""
        said = set(self.notes)
        fresh = []
        if len(self.history) > first_row:  # this call recorded a step: look at the latest
            g = float(np.linalg.norm(self.history.last("grad_norm").astype(np.float64)))
            w = float(np.linalg.norm(self.history.last("weight_norm").astype(np.float64)))
            softmax_sum = any(n.startswith("Zero gradient: the target is the sum of a softmax") for n in self.notes)
            if g <= 1e-6 * max(w, 1.0) and not softmax_sum:
                head = f"The gradient is (near) zero at step {self.step_count} (|g| = {g:.2e}): "
                loss = float(self.history.last("loss"))
                prediction = self.history.last("predictions")
                if self.config.rule in ("example-loss", "batch-loss") and np.isfinite(loss) and loss < 1e-4:
                    cause = (
                        f"the loss is {loss:.2g}, so the model already fits its labels and there is nothing "
                        "left to descend."
                    )
                elif self.activation in ("sigmoid", "softmax") and (
                    np.max(prediction) > 1 - 1e-4 or (self.activation == "sigmoid" and np.min(prediction) < 1e-4)
                ):
                    cause = (
                        f"the {self.activation} output is saturated (a probability within 1e-4 of 0 or 1), where "
                        "its slope vanishes, so the update cannot move it."
                    )
                else:
                    cause = (
                        "no path from the weights to the output is active for these inputs (e.g. every ReLU "
                        "feeding the output is off), so the update cannot move it."
                    )
                if not any(n.startswith("The gradient is (near) zero") for n in said):
                    fresh.append(head + cause)
        self.notes.extend(fresh)
        return fresh

    # ---- stepping ------------------------------------------------------------------------------

    @property
    def step_count(self) -> int:
        return int(self._step.numpy())

    @property
    def snapshot_names(self) -> list[str]:
        return list(self._snapshots)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo.entries)

    def step(self, n: int = 1, chunk: int = 0, should_stop: Callable[[], bool] | None = None) -> StepReport:
        """Run `n` steps as one undoable action, in compiled calls of `chunk` steps (0 = about 0.1 s each)."""
        if n < 1:
            raise ConfigError("steps", f"must be at least 1, got {n}")
        start = time.perf_counter()
        first = self.step_count + 1
        first_row = len(self.history)
        entry = self._capture(with_history=False)
        self._undo.push(entry)
        done = 0
        divergence: Divergence | None = None
        try:
            while done < n:
                size = min(n - done, chunk if chunk > 0 else self._chunk)
                t0 = time.perf_counter()
                out = self._call(size)
                count = int(out["count"])
                self._append(out, count)
                done += count
                if int(out["where"]) >= 0:
                    divergence = Divergence(first + done, self._where(int(out["where"])))
                    self._replay(entry, done)
                    break
                if chunk <= 0:
                    per_step = (time.perf_counter() - t0) / max(count, 1)
                    self._chunk = int(min(MAX_CHUNK, max(1, min(self._chunk * 4, CHUNK_SECONDS / max(per_step, 1e-9)))))
                if should_stop is not None and should_stop():
                    break
        except (tf.errors.ResourceExhaustedError, tf.errors.InvalidArgumentError, tf.errors.OpError) as err:
            self._restore(entry)
            self._undo.entries.pop()
            if isinstance(err, tf.errors.ResourceExhaustedError):
                raise LabError(
                    f"out of memory on {self.device}: {_first_line(err)} (try a smaller batch or model)"
                ) from None
            raise LabError(f"the step failed: {_first_line(err)}") from None
        if done == 0:
            self._undo.entries.pop()
        self.divergence = divergence
        if divergence is not None:
            logs.logger().warning(
                "diverged at step %d: non-finite %s; kept the last finite weights (step %d)",
                divergence.step,
                divergence.where,
                self.step_count,
            )
        notes = self._explain_steps(first_row)
        for note in notes:
            logs.logger().info("%s", note)
        return StepReport(first, done, n, time.perf_counter() - start, divergence, tuple(notes))

    def _call(self, size: int) -> dict[str, np.ndarray]:
        with tf.device(self.device):
            out = self._run(tf.constant(size, tf.int32))
        return {k: v.numpy() for k, v in out.items()}

    def _append(self, out: dict[str, np.ndarray], count: int) -> None:
        if count == 0:
            return
        start = self.step_count - count + (0 if int(out["where"]) < 0 else -1) + 1
        flat = out["rows"][:count]
        n_layers, n_scalars = len(self._groups), len(SCALARS)
        scalars = flat[:, :n_scalars]
        layers = flat[:, n_scalars : n_scalars + 3 * n_layers].reshape(count, 3, n_layers)
        probes = flat[:, n_scalars + 3 * n_layers :].reshape(count, 3, int(self.x_probe.shape[0]), self.outputs)
        rows: dict[str, np.ndarray] = {
            "step": np.arange(start, start + count, dtype=np.int64),
            "weight_norm": layers[:, 0],
            "grad_norm": layers[:, 1],
            "update_ratio": layers[:, 2],
            "predictions": probes[:, 0],
            "forecast": probes[:, 1],
            "actual": probes[:, 2],
        }
        for i, name in enumerate(SCALARS):
            rows[name] = scalars[:, i]
        self.history.append(rows)

    def _where(self, code: int) -> str:
        if code < len(self._groups):
            return f"weights of layer {self.summary.layers[code]}"
        return "probe predictions" if code == len(self._groups) else "loss/objective"

    def _replay(self, entry: _State, steps: int) -> None:
        """Recompute the last finite state: back to the action's start, then the finite steps again."""
        self._restore(entry, truncate=False)
        left = steps
        while left > 0:
            size = min(left, MAX_CHUNK)
            self._call(size)
            left -= size

    # ---- state ---------------------------------------------------------------------------------

    def _capture(self, with_history: bool) -> _State:
        return _State(
            [v.numpy() for v in self.vars],
            [v.numpy() for v in self._opt_vars],
            self.step_count,
            len(self.history),
            self.history.to_dict() if with_history else None,
            self.divergence,
        )

    def _restore(self, state: _State, truncate: bool = True) -> None:
        for var, value in zip(self.vars, state.weights, strict=True):
            var.assign(value)
        for var, value in zip(self._opt_vars, state.optimizer, strict=True):
            var.assign(value)
        self._step.assign(state.step)
        if state.history is not None:
            self.history.truncate(0)
            self.history.append(state.history)
        elif truncate:
            self.history.truncate(state.history_len)
        self.divergence = state.divergence

    def undo(self) -> bool:
        """Back to the state before the last action (step, run, restore); False when there is none."""
        if not self._undo.entries:
            return False
        self._restore(self._undo.entries.pop())
        return True

    def reset(self) -> None:
        """The initial weights and a fresh optimizer state; undoable."""
        self._undo.push(self._capture(with_history=True))
        for var, value in zip(self.vars, self._init_weights, strict=True):
            var.assign(value)
        for var, value in zip(self._opt_vars, self._opt_init, strict=True):
            var.assign(value)
        self._step.assign(0)
        self.history.truncate(1)
        self.divergence = None

    def snapshot(self, name: str | None = None) -> str:
        name = (name or "").strip() or f"step-{self.step_count}"
        self._snapshots[name] = self._capture(with_history=True)
        return name

    def restore(self, name: str) -> None:
        if name not in self._snapshots:
            have = ", ".join(self._snapshots) or "none"
            raise LabError(f"no snapshot named {name!r} (have: {have})")
        self._undo.push(self._capture(with_history=True))
        self._restore(self._snapshots[name])

    def gradients(self) -> list[np.ndarray]:
        """The gradient the rule would apply next (before the sign), per variable."""
        with tf.device(self.device):
            return [g.numpy() for g in self._gradients()]

    def weights(self) -> list[np.ndarray]:
        return [v.numpy() for v in self.vars]

    def optimizer_state(self) -> list[np.ndarray]:
        return [v.numpy() for v in self._opt_vars]

    # ---- changing settings -----------------------------------------------------------------------

    def with_config(self, config: LabConfig) -> Session:
        """Apply new settings: in place when the model, probe and data stay, else a new session."""
        old = self.config
        if any(getattr(old, f) != getattr(config, f) for f in REBUILD_FIELDS):
            return Session.build(config)
        if config == old:
            return self
        rules.check_against_model(config, self.activation, self.outputs)  # the loss is a rebuild field: unchanged
        if config.rule == "batch-loss" and self.data is None:
            raise ConfigError("data", "the batch-loss rule needs a data set: --data PATH.npz")
        saved = (self.config, self.optimizer, self._opt_vars, self._opt_init, self._run)
        try:
            self.config = config
            if any(getattr(old, f) != getattr(config, f) for f in OPTIMIZER_FIELDS):
                self._setup_optimizer()
                self._undo.entries.clear()
                self.notes.append(
                    f"Optimizer now {config.optimizer}: its state starts fresh and undo history was cleared."
                )
            elif old.lr != config.lr:
                self.optimizer.learning_rate.assign(config.lr)
            self._setup_data()
            self._run = self._compile()
        except Exception:
            (self.config, self.optimizer, self._opt_vars, self._opt_init, self._run) = saved
            raise
        self.divergence = None
        self._chunk = 1
        self.notes = [n for n in self.notes if not n.startswith(("Zero gradient", "Target sum"))]
        self._explain_static()
        return self

    # ---- session files ---------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Config, current state, snapshots and history in one .npz, written atomically."""
        import io

        arrays: dict[str, np.ndarray] = {}
        meta = {
            "format": "gradtui-session/1",
            "config": self.config.to_dict(),
            "snapshots": list(self._snapshots),
            "notes": self.notes,
        }
        states = {
            "current": self._capture(with_history=True),
            **{f"snap{i}": s for i, s in enumerate(self._snapshots.values())},
        }
        for key, state in states.items():
            for i, w in enumerate(state.weights):
                arrays[f"{key}/w{i}"] = w
            for i, o in enumerate(state.optimizer):
                arrays[f"{key}/o{i}"] = o
            arrays[f"{key}/step"] = np.asarray(state.step)
            for name, col in (state.history or {}).items():
                arrays[f"{key}/h/{name}"] = col
        arrays["meta"] = np.asarray(json.dumps(meta))
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
        atomic_write_bytes(Path(path), buffer.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> Session:
        """Rebuild a saved session: the model from its config, then weights, optimizer state, history."""
        try:
            with open(path, "rb") as handle:
                if handle.read(4) != b"PK\x03\x04":  # np.load would call anything else "pickled data"
                    raise ValueError("not an .npz archive: it is not a file gradtui saved")
            with np.load(path, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
            meta = json.loads(str(arrays["meta"]))
            if meta.get("format") != "gradtui-session/1":
                raise ValueError("not a gradtui session file")
        except Exception as err:
            raise LabError(f"{path} is not a readable gradtui session file ({_first_line(err)})") from None
        session = cls.build(LabConfig.from_dict(meta["config"]))

        def state(key: str) -> _State:
            weights = [arrays[f"{key}/w{i}"] for i in range(len(session.vars))]
            opt = [arrays[f"{key}/o{i}"] for i in range(len(session._opt_vars))]
            hist = {k.split("/h/", 1)[1]: v for k, v in arrays.items() if k.startswith(f"{key}/h/")}
            return _State(weights, opt, int(arrays[f"{key}/step"]), len(hist["step"]), hist)

        try:
            for i, name in enumerate(meta["snapshots"]):
                session._snapshots[name] = state(f"snap{i}")
            session._restore(state("current"))
        except (KeyError, ValueError) as err:
            raise LabError(f"{path} does not fit the model it names ({_first_line(err)})") from None
        session.notes = list(meta.get("notes", session.notes))
        return session


WEIGHT_NAMES = frozenset({"kernel", "bias", "gamma", "beta", "mean", "variance", "embeddings", "scale"})


def _layer_groups(variables: list[Any]) -> tuple[list[list[int]], list[str]]:
    """Variables grouped by the layer that owns them (by path), in order of first appearance."""
    groups: dict[str, list[int]] = {}
    for i, v in enumerate(variables):
        path = str(getattr(v, "path", v.name)).split(":")[0]
        if "/" in path:
            layer = path.rsplit("/", 1)[0]
        else:  # a SavedModel's variables are named like `dense_kernel`: strip the weight's own name
            stem, _, leaf = path.rpartition("_")
            layer = stem if stem and leaf in WEIGHT_NAMES else path
            if stem.endswith(("_moving", "_depthwise", "_recurrent")):
                layer = stem.rsplit("_", 1)[0]
        groups.setdefault(layer, []).append(i)
    names = [name.split("/")[-1] for name in groups]
    return list(groups.values()), names


__all__ = ["Session", "keras"]


def _device_of(variable: Any, fallback: str) -> str:
    """The device a variable's buffer really lives on (Keras variables wrap a tf.Variable)."""
    inner = getattr(variable, "value", variable)
    return str(getattr(inner, "device", "") or fallback)
