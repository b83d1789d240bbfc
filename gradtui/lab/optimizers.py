"""The TensorFlow side of the optimizers: the Keras class each catalog name is built with.

The names and fixed arguments are catalog.OPTIMIZER_SPECS (read by the config without TensorFlow);
KERAS_CLASS maps each of those names to a class of keras.optimizers, and a test checks that the two
name the same optimizers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gradtui.catalog import OPTIMIZER_BY_NAME

if TYPE_CHECKING:
    from gradtui.config import LabConfig
    from gradtui.lab.runtime import keras

KERAS_CLASS: dict[str, str] = {
    "sgd": "SGD",
    "momentum": "SGD",
    "nesterov": "SGD",
    "adam": "Adam",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
}


def make_optimizer(config: LabConfig) -> keras.optimizers.Optimizer:
    """A fresh `keras.optimizers` object for `config`: its catalog entry plus lr, clipnorm, weight decay."""
    from gradtui.lab.runtime import keras

    spec = OPTIMIZER_BY_NAME[config.optimizer]
    kwargs: dict[str, Any] = {"learning_rate": config.lr, **spec.arguments}
    if "momentum" in kwargs:
        kwargs["momentum"] = config.momentum
    if config.clipnorm is not None:
        kwargs["clipnorm"] = config.clipnorm
    if config.weight_decay > 0:
        kwargs["weight_decay"] = config.weight_decay
    return getattr(keras.optimizers, KERAS_CLASS[config.optimizer])(**kwargs)
