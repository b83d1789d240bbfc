"""Registry of optimizers: a name, the Keras optimizer class and the arguments it is built with.

Class names are strings so that config.py can list the choices before TensorFlow is imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gradtui.config import LabConfig
    from gradtui.lab.runtime import keras


@dataclass(frozen=True)
class OptimizerSpec:
    name: str
    keras_class: str  # a class in keras.optimizers
    arguments: dict[str, Any] = field(default_factory=dict)


SPECS: tuple[OptimizerSpec, ...] = (
    OptimizerSpec("sgd", "SGD"),
    OptimizerSpec("momentum", "SGD", {"momentum": 0.9}),  # the momentum is --momentum's (default 0.9)
    OptimizerSpec("nesterov", "SGD", {"momentum": 0.9, "nesterov": True}),
    OptimizerSpec("adam", "Adam"),
    OptimizerSpec("rmsprop", "RMSprop"),
    OptimizerSpec("adagrad", "Adagrad"),
)
NAMES: tuple[str, ...] = tuple(spec.name for spec in SPECS)
BY_NAME: dict[str, OptimizerSpec] = {spec.name: spec for spec in SPECS}


def make_optimizer(config: LabConfig) -> keras.optimizers.Optimizer:
    """A fresh `keras.optimizers` object for `config`: its table entry plus lr, clipnorm, weight decay."""
    from gradtui.lab.runtime import keras

    spec = BY_NAME[config.optimizer]
    kwargs: dict[str, Any] = {"learning_rate": config.lr, **spec.arguments}
    if "momentum" in kwargs:
        kwargs["momentum"] = config.momentum
    if config.clipnorm is not None:
        kwargs["clipnorm"] = config.clipnorm
    if config.weight_decay > 0:
        kwargs["weight_decay"] = config.weight_decay
    return getattr(keras.optimizers, spec.keras_class)(**kwargs)
