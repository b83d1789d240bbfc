"""The model zoo: the article's MLP, the shipped CNN, keras.applications backbones, user files."""

from __future__ import annotations

import contextlib
import io
import os
import socket
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradtui import logs, trust
from gradtui.config import LabConfig
from gradtui.errors import ConfigError, LabError, first_line, one_line
from gradtui.lab import memory, progress
from gradtui.lab.cnn import WEIGHTS, load_cnn
from gradtui.lab.data import Indices
from gradtui.lab.runtime import keras, resolve_device
from gradtui.resources import asset

IMAGENET_TIMEOUT_S = 30.0
APPLICATIONS = {"vgg16": "VGG16", "mobilenetv2": "MobileNetV2"}


@dataclass
class LoadedModel:
    model: keras.Model
    name: str
    activation: str
    notes: list[str]
    indices: Indices | None = None  # the model takes integer indices (an Embedding first)

    @property
    def stateless(self) -> bool:
        """Whether model.stateless_call can evaluate it at other weights (not through a SavedModel)."""
        return not any(isinstance(layer, keras.layers.TFSMLayer) for layer in self.model.layers)


def output_activation(model: keras.Model) -> str:
    """The name of the activation applied last: what decides the loss and what 'sum' means."""
    layer = model.layers[-1]
    if isinstance(layer, keras.layers.TFSMLayer):
        from gradtui.lab.savedmodel import _activation

        return _activation(layer._reloaded_obj.signatures[layer.call_endpoint])
    while isinstance(layer, keras.Model) and layer.layers:
        layer = layer.layers[-1]
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", None) or "linear"
    return str(name)


def input_indices(model: keras.Model) -> Indices | None:
    """Whether the model reads its input as integer indices: an integer keras.Input, or an Embedding
    as the first layer (it truncates floats to indices, so a random normal probe is meaningless)."""
    first = next(iter(memory.leaf_layers(model)), None)
    if isinstance(first, keras.layers.Embedding):
        return Indices(int(first.input_dim))
    dtype = str(getattr(model.inputs[0], "dtype", "float32")) if model.inputs else "float32"
    return Indices(None) if "int" in dtype else None


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


@contextlib.contextmanager
def _quietly(notes: list[str] | None = None) -> Iterator[None]:
    """Keras prints download progress to stdout and warns on stderr: both go to the log (and notes)."""
    out = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for line in out.getvalue().splitlines():
                if line.strip():
                    logs.logger().info("keras: %s", line.strip())
            for warning in caught:
                text = first_line(str(warning.message))
                logs.logger().warning("keras: %s", text)
                if notes is not None and text not in notes and warning.category is UserWarning:
                    notes.append(text)


def _load_file(path: Path, user: bool = True) -> keras.Model:
    """A model from a .keras/.h5 file or a SavedModel directory, opened once through the path whose trust
    was checked (trust.pinned). The user's file failing is bad input (ConfigError on --model); a shipped
    asset failing is the engine's failure (LabError)."""
    try:
        with trust.pinned(path) as (opened, trusted):
            return _load_opened(path, opened, user, user and trusted)
    except OSError as err:
        reason = f"cannot open {path}: {err.strerror or err}"
        raise ConfigError("model", reason) if user else LabError(reason) from err


def _load_opened(path: Path, opened: Path, user: bool, trusted: bool) -> keras.Model:
    def refuse(reason: str) -> Exception:
        reason = reason.replace(str(opened), str(path))  # name the file as the person gave it
        return ConfigError("model", reason) if user else LabError(reason)

    if opened.is_dir():
        from gradtui.lab.savedmodel import load_saved_model

        if user and not trusted:
            raise trust.UntrustedModel(
                path,
                "is a SavedModel directory: its TensorFlow graph runs whatever operations it holds when "
                "called (it could write or read files, or open network connections)",
            )

        try:
            model = load_saved_model(opened)[0]
        except LabError as err:
            raise refuse(str(err)) from err
        problem = _shape_problem(model)
        if problem:
            raise refuse(f"{path}: {problem}")
        return model
    try:
        with _quietly():
            model = keras.models.load_model(opened, compile=False, safe_mode=not trusted)
    except Exception as err:
        if user and _safe_mode_refused(err):
            raise trust.UntrustedModel(
                path,
                f"needs unsafe deserialization: Keras safe mode refused it ({_first_sentence(err)}), since "
                "loading it would run Python code stored in the file",
            ) from err
        raise refuse(f"could not load {path} as a Keras model: {_load_reason(err)}") from err
    if not isinstance(model, keras.Model):
        raise refuse(f"{path} does not hold a Keras model (it holds a {type(model).__name__})")
    problem = _shape_problem(model)
    if problem:
        raise refuse(f"{path}: {problem}")
    return model


def _safe_mode_refused(err: BaseException) -> bool:
    """Keras's safe mode names itself in its refusal (a Lambda layer's code, an unsafe function)."""
    return "safe_mode" in str(err) or "unsafe_deserialization" in str(err)


def _first_sentence(err: BaseException) -> str:
    """Keras's refusal says what it refused in its first sentence; the rest advises an override."""
    text = one_line(" ".join(str(err).split()))
    return text.split(". ", 1)[0].rstrip(".")


def _shipped_cnn() -> keras.Model:
    """The demo CNN; its weights file failing is the engine's failure (LabError), not bad input."""
    path = asset(WEIGHTS)
    try:
        return load_cnn(path)
    except Exception as err:
        raise LabError(f"could not load the shipped cnn from {path}: {first_line(err, 200)}") from err


def _load_reason(err: BaseException) -> str:
    """Keras buries the cause of a failed deserialisation after 'Exception encountered:' and a config dump."""
    text = str(err)
    marker = "Exception encountered:"
    if marker in text:
        cause = text.rsplit(marker, 1)[1].strip()
        first = cause.split(". ", 1)[0].rstrip(".")
        if "Could not locate class" in first:
            first += " (a custom layer or function: gradtui loads models built from Keras's own layers)"
        return first_line(first, 200)
    if "File not found" in text and "zip file" in text:
        return "the .keras zip archive is damaged or incomplete"
    if isinstance(err, KeyError) and err.args:  # str(KeyError) quotes its argument
        return first_line(str(err.args[0]), 200)
    return first_line(err, 200)


def _shape_problem(model: keras.Model) -> str | None:
    """What keeps gradtui from driving this model, or None: one input of known shape, a flat output,
    trainable weights."""
    try:
        inputs = model.inputs
        if inputs is not None and len(inputs) != 1:
            return f"the model has {len(inputs)} inputs; gradtui drives models with one input"
        input_shape = tuple(model.input_shape[1:])
        output_shape = tuple(model.output_shape[1:])
    except (AttributeError, ValueError, TypeError):
        return "the model has no known input/output shape (build it on a fixed-shape keras.Input before saving)"
    if any(d is None for d in input_shape):
        return f"the model's input shape {input_shape} is not fully known; build it on a fixed-shape keras.Input"
    if len(output_shape) != 1 or output_shape[0] is None:
        return f"the model's output has shape {output_shape}; gradtui needs a flat (batch, K) output"
    if not model.trainable_variables:
        return "the model has no trainable weights, so no gradient can move it"
    return None


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
            notes.append(
                f"{config.model}: no imagenet weights in the Keras cache, using random weights "
                "(--weights imagenet downloads them)"
            )
    elif weights == "none":
        weights = None
    builder = getattr(keras.applications, APPLICATIONS[config.model])
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(IMAGENET_TIMEOUT_S)
    try:
        with _quietly(notes):
            base = builder(include_top=False, weights=weights, input_shape=config.input_shape)
    except Exception as err:
        reason = first_line(err, 200)
        if weights == "imagenet":
            raise LabError(
                f"could not get imagenet weights for {config.model} ({reason}); offline? use --weights none"
            ) from err
        raise LabError(f"could not build {config.model}: {reason}") from err
    finally:
        socket.setdefaulttimeout(old_timeout)
    return keras.Sequential(
        [
            base,
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(config.classes, activation="softmax", name="head"),
        ],
        name=config.model,
    )


def _new_head(model: keras.Model, classes: int) -> keras.Model:
    """Replace the last layer with a fresh Dense(classes, softmax), as the article's example 2 does."""
    if len(model.layers) < 2:
        raise ConfigError("new_head", f"{model.name} has a single layer: no head to replace")
    try:
        features = model.layers[-2].output
        head = keras.layers.Dense(classes, activation="softmax", name="new_head")(features)
        return keras.Model(model.inputs, head, name=f"{model.name}_new_head")
    except Exception as err:
        raise ConfigError("new_head", f"cannot replace the last layer of {model.name}: {first_line(err, 200)}") from err


def _device(config: LabConfig) -> str:
    try:
        return resolve_device(config.device)
    except ValueError:
        return "/device:CPU:0"


def _hint(config: LabConfig) -> str:
    """Which setting shrinks the estimate most directly."""
    smaller = ["--input-shape"] if config.model in APPLICATIONS else []
    if config.rule == "batch-loss":
        smaller.append("--batch-size")
    elif config.n_probe > 1:
        smaller.append("--n-probe")
    return f"use a smaller {' or '.join(smaller)}" if smaller else "the model is too large for this device"


def check_memory(config: LabConfig, footprint: memory.Footprint, what: str) -> None:
    """Refuse (LabError, exit 1) an experiment whose estimate is more than the device has free."""
    problem = memory.misfit(what, memory.estimate(footprint, config), _device(config), _hint(config))
    if problem:
        raise LabError(problem)


def load_model(config: LabConfig) -> LoadedModel:
    """Build or load the configured model, seeded; LabError with one line if it cannot be had, or
    would not fit in the device's free memory (checked before a backbone is built)."""
    progress.phase("building model")
    keras.utils.set_random_seed(config.seed)
    notes: list[str] = []
    if config.model == "mlp":
        model = _mlp(config)
    elif config.model == "cnn":
        model = _shipped_cnn()
    elif config.model in APPLICATIONS:
        shape = "x".join(str(d) for d in config.input_shape)
        check_memory(
            config,
            memory.backbone_footprint(config.model, config.input_shape, config.classes),
            f"{config.model} at {shape}",
        )
        model = _application(config, notes)
    else:
        model = _load_file(Path(config.model))
    if config.new_head:
        model = _new_head(model, config.classes)
    if config.model not in APPLICATIONS:
        check_memory(config, memory.model_footprint(model), Path(config.model).name)
    name = Path(config.model).name if config.is_user_model else config.model
    if config.new_head and not name.endswith("new head"):
        name += " + new head"
    return LoadedModel(model, name, output_activation(model), notes, input_indices(model))


def check_drivable(loaded: LoadedModel) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(input shape, output shape) of a model gradtui can drive; ConfigError or LabError otherwise."""
    model = loaded.model
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
    return input_shape, output_shape


WEIGHT_NAMES = frozenset({"kernel", "bias", "gamma", "beta", "mean", "variance", "embeddings", "scale"})


def layer_groups(variables: list[Any]) -> tuple[list[list[int]], list[str]]:
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


def device_of(variable: Any, fallback: str) -> str:
    """The device a variable's buffer really lives on (Keras variables wrap a tf.Variable)."""
    inner = getattr(variable, "value", variable)
    return str(getattr(inner, "device", "") or fallback)


def devices_of(variable: Any, fallback: tuple[str, ...]) -> tuple[str, ...]:
    """Where each replica's copy of a variable lives (one device when it is not mirrored)."""
    inner = getattr(variable, "value", variable)
    copies = getattr(inner, "values", None)
    if isinstance(copies, tuple) and copies:
        return tuple(str(getattr(c, "device", "") or f) for c, f in zip(copies, fallback, strict=False))
    return (device_of(variable, fallback[0]),)
