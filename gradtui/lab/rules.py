"""Update rules: what the tape differentiates, and which loss a loss rule uses.

Written as plain TensorFlow functions so the compiled step and an eager reference can share them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gradtui.config import ConfigError, LabConfig
from gradtui.lab.runtime import keras, tf

LOSS_TITLES = {"bce": "binary cross-entropy", "sce": "sparse categorical cross-entropy", "mse": "mean squared error"}


def loss_name(config: LabConfig, activation: str, outputs: int) -> str:
    """The loss follows the output: one sigmoid -> bce, softmax -> sce, anything else -> mse."""
    if config.loss != "auto":
        return config.loss
    if activation == "sigmoid" and outputs == 1:
        return "bce"
    if activation == "softmax":
        return "sce"
    return "mse"


def make_loss(name: str, from_logits: bool = False) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """The Keras loss; `from_logits` where a cross-entropy is asked of a linear output (its logits)."""
    if name == "bce":
        return keras.losses.BinaryCrossentropy(from_logits=from_logits)  # type: ignore[no-any-return]
    if name == "sce":
        return keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)  # type: ignore[no-any-return]
    return keras.losses.MeanSquaredError()  # type: ignore[no-any-return]


def from_logits(loss: str, activation: str) -> bool:
    """A cross-entropy on an output without sigmoid/softmax reads that output as logits."""
    return loss in ("bce", "sce") and activation not in ("sigmoid", "softmax")


def check_against_model(config: LabConfig, activation: str, outputs: int) -> None:
    """Rules that need the model's output size: class targets and labels must exist."""
    if config.target.startswith("class:"):
        k = int(config.target.split(":")[1])
        if k >= outputs:
            raise ConfigError(
                "target", f"class {k} is out of range: the model has {outputs} output(s), 0..{outputs - 1}"
            )
    if config.loss == "sce" and outputs < 2:
        raise ConfigError("loss", "sparse categorical cross-entropy needs at least 2 outputs")
    if config.loss == "bce" and activation == "softmax":
        raise ConfigError("loss", "binary cross-entropy does not fit a softmax output (use sce or auto)")
    loss = loss_name(config, activation, outputs)
    if config.label is not None and config.rule == "example-loss":
        if outputs == 1 and loss == "bce" and config.label > 1:
            raise ConfigError(
                "label", f"label {config.label} is out of range: 0..1 for one output with binary cross-entropy"
            )
        if outputs > 1 and config.label >= outputs:
            raise ConfigError("label", f"label {config.label} is out of range: 0..{outputs - 1} for this model")


def prediction_objective(y: tf.Tensor, target: str) -> tf.Tensor:
    """The scalar whose gradient the prediction rule applies.

    `sum` is what tape.gradient does with a non-scalar target: it sums every output of every row.
    """
    if target == "sum":
        return tf.reduce_sum(y)
    if target == "argmax":
        picked = tf.argmax(tf.stop_gradient(y), axis=-1, output_type=tf.int32)
        return tf.reduce_sum(tf.gather(y, picked, axis=-1, batch_dims=1))
    k = int(target.split(":")[1])
    return tf.reduce_sum(y[:, k])


def random_direction(grads: Sequence[tf.Tensor], step: tf.Tensor, seed: int) -> list[tf.Tensor]:
    """A seeded random direction with the same global norm as `grads`: the control for the prediction rule."""
    step = tf.cast(step, tf.int64)
    raw = [
        tf.random.stateless_normal(
            tf.shape(g), seed=tf.stack([tf.constant(seed + 7919 * j, tf.int64), step]), dtype=g.dtype
        )
        for j, g in enumerate(grads)
    ]
    scale = tf.linalg.global_norm(list(grads)) / tf.maximum(tf.linalg.global_norm(raw), 1e-30)
    return [r * scale for r in raw]


def make_optimizer(config: LabConfig) -> keras.optimizers.Optimizer:
    kwargs: dict[str, float] = {"learning_rate": config.lr}
    if config.clipnorm is not None:
        kwargs["clipnorm"] = config.clipnorm
    if config.weight_decay > 0:
        kwargs["weight_decay"] = config.weight_decay
    name = config.optimizer
    if name == "sgd":
        return keras.optimizers.SGD(**kwargs)
    if name == "momentum":
        return keras.optimizers.SGD(momentum=0.9, **kwargs)
    if name == "nesterov":
        return keras.optimizers.SGD(momentum=0.9, nesterov=True, **kwargs)
    if name == "adam":
        return keras.optimizers.Adam(**kwargs)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(**kwargs)
    return keras.optimizers.Adagrad(**kwargs)
