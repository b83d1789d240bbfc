"""A Keras optimizer's step written as a linear map of the gradient plus a carried part.

Given this step's optimizer state (the second-moment scaling Adam, RMSprop and Adagrad hold after
the step, the bias corrections, the per-tensor clip scale), the update is linear in the applied
gradient a: Δw = s·D ⊙ a + c, with D a diagonal (elementwise) scale, s each tensor's clipnorm factor
and c the carried part: the momentum or first-moment history and decoupled weight decay. The
attribution splits the forecast along it; nothing here changes a variable.

Keyed by the Keras class name (optimizers.SPECS' `keras_class`): an optimizer class not listed
here has no attribution, and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gradtui.lab.runtime import tf

HISTORY_LABELS = {"SGD": "momentum", "Adam": "Adam first-moment history", "RMSprop": "momentum", "Adagrad": ""}


@dataclass(frozen=True)
class Before:
    """What the carried part needs from before the step: the history slots and the step count."""

    history: list[tf.Tensor]  # per variable (empty without a history slot)
    iterations: tf.Tensor


@dataclass(frozen=True)
class Linear:
    """Δw = scale ⊙ a + history + decay, per variable, in the variables' dtype."""

    scale: list[tf.Tensor]  # s_k · D_k: the clip scale times the (negative) diagonal preconditioner
    history: list[tf.Tensor]
    decay: list[tf.Tensor]


def supported(optimizer: Any) -> bool:
    return type(optimizer).__name__ in HISTORY_LABELS


def history_label(optimizer: Any) -> str:
    """The carried history's name for this optimizer ("" when it carries none)."""
    name = type(optimizer).__name__
    if name == "SGD" and not float(optimizer.momentum):
        return ""
    if name == "RMSprop" and not float(optimizer.momentum):
        return ""
    return HISTORY_LABELS.get(name, "")


def _history_slots(optimizer: Any) -> list[Any]:
    name = type(optimizer).__name__
    if name == "SGD" and float(optimizer.momentum):
        return list(optimizer.momentums)
    if name == "Adam":
        return list(optimizer._momentums)
    if name == "RMSprop" and float(optimizer.momentum):
        return list(optimizer._momentums)
    return []


def before(optimizer: Any) -> Before:
    """Copies of the slots the carried part reads, taken before `apply_gradients`."""
    return Before([tf.identity(s) for s in _history_slots(optimizer)], tf.identity(optimizer.iterations))


def linearize(
    optimizer: Any, variables: list[Any], old: list[tf.Tensor], applied: list[tf.Tensor], was: Before
) -> Linear:
    """The step just taken as scale ⊙ a + history + decay (read after `apply_gradients`)."""
    clip = optimizer.clipnorm
    scale, history, decay = [], [], []
    form = _FORMS[type(optimizer).__name__]
    for k, (var, w, a) in enumerate(zip(variables, old, applied, strict=True)):
        dtype = w.dtype
        index = optimizer._get_variable_index(var)
        lr = tf.cast(optimizer.learning_rate, dtype)
        d, h = form(optimizer, index, lr, dtype, was.history[index] if was.history else None, was.iterations)
        if clip:  # Keras: a * clipnorm / max(|a|, clipnorm), per tensor
            norm = tf.sqrt(tf.reduce_sum(tf.square(tf.cast(a, dtype))))
            d = d * (tf.cast(clip, dtype) / tf.maximum(norm, tf.cast(clip, dtype)))
        scale.append(d)
        history.append(h if h is not None else tf.zeros_like(w))
        if optimizer.weight_decay and optimizer._use_weight_decay(var):
            decay.append(-(w * tf.cast(optimizer.weight_decay, dtype) * lr))
        else:
            decay.append(tf.zeros_like(w))
        del k
    return Linear(scale, history, decay)


Form = Callable[[Any, int, tf.Tensor, tf.DType, tf.Tensor | None, tf.Tensor], tuple[tf.Tensor, tf.Tensor | None]]


def _sgd(opt: Any, index: int, lr: tf.Tensor, dtype: tf.DType, m: tf.Tensor | None, _: tf.Tensor) -> tuple[Any, Any]:
    """m' = μm - lr·g; plain: Δw = m'; Nesterov: Δw = μm' - lr·g = μ²m - lr(1+μ)g."""
    if m is None:
        return -lr, None
    mu = tf.cast(opt.momentum, dtype)
    if opt.nesterov:
        return -(lr * (1 + mu)), mu * mu * m
    return -lr, mu * m


def _adam(opt: Any, index: int, lr: tf.Tensor, dtype: tf.DType, m: tf.Tensor | None, it: tf.Tensor) -> tuple[Any, Any]:
    """Δw = -α m'/(√v' + ε), m' = β1·m + (1-β1)g, α = lr·√(1-β2^t)/(1-β1^t), v' the second moment after."""
    assert m is not None
    t = tf.cast(it + 1, dtype)
    b1, b2 = tf.cast(opt.beta_1, dtype), tf.cast(opt.beta_2, dtype)
    alpha = lr * tf.sqrt(1 - tf.pow(b2, t)) / (1 - tf.pow(b1, t))
    v = (opt._velocity_hats if opt.amsgrad else opt._velocities)[index]
    denominator = tf.sqrt(tf.convert_to_tensor(v)) + tf.cast(opt.epsilon, dtype)
    return -(alpha * (1 - b1)) / denominator, -(alpha * b1) * m / denominator


def _rmsprop(
    opt: Any, index: int, lr: tf.Tensor, dtype: tf.DType, m: tf.Tensor | None, _: tf.Tensor
) -> tuple[Any, Any]:
    """Δw = -lr·g/√(v' + ε) (centered: v' - ḡ'²); with momentum, Δw = -(μ·mom + that)."""
    v = tf.convert_to_tensor(opt._velocities[index])
    if opt.centered:
        v = v - tf.square(tf.convert_to_tensor(opt._average_gradients[index]))
    d = -lr / tf.sqrt(v + tf.cast(opt.epsilon, dtype))
    return d, (-tf.cast(opt.momentum, dtype) * m if m is not None else None)


def _adagrad(
    opt: Any, index: int, lr: tf.Tensor, dtype: tf.DType, m: tf.Tensor | None, _: tf.Tensor
) -> tuple[Any, Any]:
    """Δw = -lr·g/√(accumulator' + ε)."""
    acc = tf.convert_to_tensor(opt._accumulators[index])
    return -lr / tf.sqrt(acc + tf.cast(opt.epsilon, dtype)), None


_FORMS: dict[str, Form] = {"SGD": _sgd, "Adam": _adam, "RMSprop": _rmsprop, "Adagrad": _adagrad}
