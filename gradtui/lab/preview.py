"""The step preview: the probes and the loss along the update the optimizer would apply next.

Δw is what the next step really does: the compiled step runs once, after which the weights, the
optimizer's slots and step count, the model's moving statistics and dropout seeds and the step
counter are written back from copies, bit for bit (the history is not touched). Along w + α·Δw only forward
passes run (stateless, at weights given as values). Beside them: the first-order lines (J·Δw for the
probes, ∇·Δw for the objective), the objective's second-order curve from one Hessian-vector product
along u = Δw, the curvature uᵀHu/uᵀu and the stability limit 2/η.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from gradtui.lab import rules
from gradtui.lab.preview_result import ALPHAS, OFF_BY, Preview, first_off
from gradtui.lab.results import LabError
from gradtui.lab.runtime import tf

__all__ = ["ALPHAS", "OFF_BY", "Preview", "first_off", "function", "next_update", "prepare", "prepared", "preview"]


def preview(graph: Any, device: str, step: int, alphas: Sequence[float] = ALPHAS, previewer: Any = None) -> Preview:
    """Preview `graph`'s next step (with `previewer`'s compiled preview, a graph of the same config, where
    given); LabError where it cannot (a SavedModel, several devices)."""
    fn = function(graph, previewer)
    with tf.device(device):
        old, state, delta = next_update(graph)
        out = {k: v.numpy() for k, v in fn(tf.constant(list(alphas), tf.float32), old, delta, state).items()}
    a = np.asarray(alphas, np.float64)
    y0, slope = out["y0"].astype(np.float64), out["jvp"].astype(np.float64)
    linear = y0[None] + a[:, None, None] * slope[None]
    o0, o1, o2 = (float(out[k]) for k in ("objective0", "objective_slope", "uhu"))
    uu = float(out["uu"])
    lr = float(graph.optimizer.learning_rate.numpy())
    predictions = out["predictions"].astype(np.float64)
    objective = out["objective"].astype(np.float64)
    return Preview(
        step=step,
        alphas=a,
        predictions=predictions,
        linear=linear,
        objective=objective,
        objective_linear=o0 + a * o1,
        objective_quadratic=o0 + a * o1 + 0.5 * a**2 * o2,
        loss=out["loss"].astype(np.float64),
        curvature=o2 / uu if uu > 0 else math.nan,
        stability=2.0 / lr if lr > 0 else math.inf,
        update_norm=math.sqrt(uu),
        linear_until=first_off(a, predictions - y0[None], linear - y0[None]),
        objective_linear_until=first_off(a, objective - o0, a * o1),
    )


def function(graph: Any, previewer: Any = None) -> Any:
    """`graph`'s compiled preview (`previewer`'s, where given: one of the same config, whose compiled
    preview is kept); LabError where there can be none (a SavedModel, several devices)."""
    if not graph.parts.stateless:
        raise LabError("the preview needs a Keras model (a SavedModel's graph has no stateless call)")
    if graph.strategy.num_replicas_in_sync > 1:
        raise LabError("the preview runs on one device: choose one with --device")
    fn = getattr(previewer or graph, "_preview_fn", None)
    if fn is None:
        fn = tf.function(_previewer(previewer or graph), autograph=False)
    graph._preview_fn = fn
    return fn


def prepare(graph: Any, device: str, previewer: Any = None) -> None:
    """Trace and run `graph`'s preview once along a zero update (changing nothing), so that the first
    preview asked for does not wait for the tracing (the lab does this while its engine is idle)."""
    fn = function(graph, previewer)
    with tf.device(device):
        state = [tf.identity(v) for v in graph.parts.model.non_trainable_variables]
        old = [tf.identity(v) for v in graph.parts.variables]
        fn(tf.constant(list(ALPHAS), tf.float32), old, [tf.zeros_like(w) for w in old], state)["uu"].numpy()


def prepared(graph: Any) -> bool:
    return getattr(graph, "_preview_fn", None) is not None


def next_update(graph: Any) -> tuple[list[tf.Tensor], list[tf.Tensor], list[tf.Tensor]]:
    """(weights, moving statistics, Δw) of the step `graph` would take next: it takes it (its compiled
    step, already traced) and writes every variable it touched back from copies."""
    parts, optimizer = graph.parts, graph.optimizer
    touched = [*parts.variables, *optimizer.variables, *parts.model.non_trainable_variables, parts.step]
    saved = [tf.identity(v) for v in touched]
    try:
        graph.run(tf.constant(1, tf.int32))
        delta = [tf.identity(v) - w for v, w in zip(parts.variables, saved, strict=False)]
    finally:
        for var, value in zip(touched, saved, strict=True):
            var.assign(value)
    n = len(parts.variables)
    return saved[:n], saved[n + len(optimizer.variables) : -1], delta


def _dot(a: list[tf.Tensor], b: list[tf.Tensor]) -> tf.Tensor:
    return tf.add_n([tf.reduce_sum(tf.cast(x * y, tf.float64)) for x, y in zip(a, b, strict=True)])


def _previewer(graph: Any) -> Any:
    parts, config = graph.parts, graph.config
    model, x_probe, training = parts.model, parts.x_probe, graph.training
    rule = rules.BY_NAME[config.rule]

    def run(
        alphas: tf.Tensor, old: list[tf.Tensor], delta: list[tf.Tensor], state: list[tf.Tensor]
    ) -> dict[str, tf.Tensor]:
        batch = graph._batch(parts.step.read_value(), None)
        rows = batch() if batch is not None else None

        def objective_at(w: list[tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
            """The rule's objective and loss at weights `w`, in the step's mode, rows and dropout seeds."""

            def call(x: tf.Tensor, training: bool = False) -> tf.Tensor:
                return model.stateless_call(w, state, x, training=training)[0]

            inputs = rules.RuleInputs(
                call,
                x_probe,
                None if rule.probe_is_constant else call(x_probe),  # a rule on data reads no probe
                graph.probe_labels,
                graph.loss_fn,
                config.target,
                (lambda: rows) if rows is not None else None,
                training,
            )
            objective, loss = rule.objective(inputs)
            return objective, (tf.constant(math.nan, tf.float32) if loss is None else loss)

        def probes_at(w: list[tf.Tensor]) -> tf.Tensor:
            return model.stateless_call(w, state, x_probe, training=False)[0]

        def along(alpha: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
            w = [v + tf.cast(alpha, v.dtype) * d for v, d in zip(old, delta, strict=True)]
            objective, loss = objective_at(w)
            return probes_at(w), tf.cast(objective, tf.float32), tf.cast(loss, tf.float32)

        predictions, objective, loss = tf.map_fn(
            along, alphas, fn_output_signature=(tf.float32, tf.float32, tf.float32), parallel_iterations=1
        )
        with tf.autodiff.ForwardAccumulator(old, delta) as inner:  # J·Δw, inference mode: the forecast
            y0 = probes_at(old)
        jvp = inner.jvp(y0)
        # H·u as reverse over reverse, d/dw (∇objective · u): it traces in a third of forward over reverse's time
        with tf.GradientTape() as outer_tape:
            outer_tape.watch(old)
            with tf.GradientTape() as tape:
                tape.watch(old)
                objective0 = objective_at(old)[0]
            gradient = tape.gradient(objective0, old, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            slope = _dot(gradient, delta)
        hu = outer_tape.gradient(slope, old, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return {
            "predictions": predictions,
            "objective": objective,
            "loss": loss,
            "y0": y0,
            "jvp": jvp,
            "objective0": tf.cast(objective0, tf.float64),
            "objective_slope": slope,
            "uhu": _dot(hu, delta),
            "uu": _dot(delta, delta),
        }

    return run
