"""The model zoo: the article's MLP, the shipped CNN, keras.applications backbones, user files."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from gradtui.config import LabConfig
from gradtui.lab.results import LabError
from gradtui.lab.runtime import keras
from gradtui.resources import asset

IMAGENET_TIMEOUT_S = 30.0
APPLICATIONS = {"vgg16": "VGG16", "mobilenetv2": "MobileNetV2"}


@dataclass
class LoadedModel:
    model: keras.Model
    name: str
    activation: str
    notes: list[str]


def output_activation(model: keras.Model) -> str:
    """The name of the activation applied last: what decides the loss and what 'sum' means."""
    layer = model.layers[-1]
    while isinstance(layer, keras.Model) and layer.layers:
        layer = layer.layers[-1]
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", None) or "linear"
    return str(name)


def _mlp(config: LabConfig) -> keras.Model:
    """The article's examples 1 and 3: Dense(10, relu) -> Dense(1, sigmoid) on 5 inputs."""
    return keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(10, activation="relu", name="hidden"),
            keras.layers.Dense(1, activation="sigmoid", name="output"),
        ],
        name="mlp",
    )


def _load_file(path: Path) -> keras.Model:
    if path.is_dir():
        raise LabError(
            f"{path}: SavedModel directories load in Keras 3 only as an inference layer without trainable "
            "weights; re-save the model with model.save('model.keras')"
        )
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise LabError(f"could not load model {path}: {first}") from None
    if not isinstance(model, keras.Model):
        raise LabError(f"{path} does not hold a Keras model")
    if not model.trainable_variables:
        raise LabError(f"{path}: the model has no trainable weights, so no gradient can move it")
    return model


def _imagenet_cached(name: str, shape: tuple[int, ...]) -> bool:
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
    if name == "vgg16":
        files = ["vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"]
    else:
        rows = shape[0] if shape[0] in (96, 128, 160, 192, 224) else 224
        files = [f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{rows}_no_top.h5"]
    return any((home / f).exists() for f in files)


def _application(config: LabConfig, notes: list[str]) -> keras.Model:
    """The article's example 2 shape: backbone without top, global average pooling, Dense(k, softmax)."""
    weights: str | None = config.weights
    if weights == "auto":
        weights = "imagenet" if _imagenet_cached(config.model, config.input_shape) else None
        if weights is None:
            notes.append(f"{config.model}: no imagenet weights in the Keras cache, using random weights "
                         "(--weights imagenet downloads them)")
    elif weights == "none":
        weights = None
    builder = getattr(keras.applications, APPLICATIONS[config.model])
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(IMAGENET_TIMEOUT_S)
    try:
        base = builder(include_top=False, weights=weights, input_shape=config.input_shape)
    except Exception as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if weights == "imagenet":
            raise LabError(f"could not get imagenet weights for {config.model} ({reason}); offline? "
                           "use --weights none") from None
        raise LabError(f"could not build {config.model}: {reason}") from None
    finally:
        socket.setdefaulttimeout(old_timeout)
    return keras.Sequential(
        [base, keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(config.classes, activation="softmax",
                                                                         name="head")],
        name=config.model,
    )


def _new_head(model: keras.Model, classes: int) -> keras.Model:
    """Replace the last layer with a fresh Dense(classes, softmax), as the article's example 2 does."""
    if len(model.layers) < 2:
        raise LabError(f"{model.name} has a single layer: no head to replace")
    features = model.layers[-2].output
    head = keras.layers.Dense(classes, activation="softmax", name="new_head")(features)
    return keras.Model(model.inputs, head, name=f"{model.name}_new_head")


def load_model(config: LabConfig) -> LoadedModel:
    """Build or load the configured model, seeded; LabError with one line if it cannot be had."""
    keras.utils.set_random_seed(config.seed)
    notes: list[str] = []
    if config.model == "mlp":
        model = _mlp(config)
    elif config.model == "cnn":
        model = _load_file(asset("cnn.keras"))
    elif config.model in APPLICATIONS:
        model = _application(config, notes)
    else:
        model = _load_file(Path(config.model))
    if config.new_head:
        model = _new_head(model, config.classes)
    name = Path(config.model).name if config.is_user_model else config.model
    if config.new_head and not name.endswith("new head"):
        name += " + new head"
    return LoadedModel(model, name, output_activation(model), notes)
