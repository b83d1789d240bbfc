"""LabConfig: every knob of an experiment, its default, its validation and its error text.

One table (FIELDS) serves the CLI flags, the TUI form fields and saved session files, so a value
is checked the same way wherever it comes from. Nothing here imports TensorFlow: flags are
refused before the 3-second import.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BUILTIN_MODELS = ("mlp", "cnn", "vgg16", "mobilenetv2")
MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
RULES = ("prediction", "example-loss", "batch-loss", "random")
SIGNS = ("descend", "ascend")
LOSSES = ("auto", "bce", "sce", "mse")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "rmsprop", "adagrad")
WEIGHTS = ("auto", "imagenet", "none")
DEVICE_WORDS = ("auto", "cpu", "gpu")
PROBE_WORDS = ("random", "heldout")


class ConfigError(ValueError):
    """A refused value: `field` is the LabConfig attribute, `message` the reason, for one line."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{flag_of(field)}: {message}")
        self.field = field
        self.message = message


def flag_of(name: str) -> str:
    return "--" + name.replace("_", "-")


# ---- value parsers: text -> value, ValueError(reason) on refusal ---------------------------------


def _int(text: str, lo: int | None = None, hi: int | None = None) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise ValueError(f"expected a whole number, got {text!r}") from None
    if lo is not None and value < lo:
        raise ValueError(f"must be at least {lo}, got {value}")
    if hi is not None and value > hi:
        raise ValueError(f"must be at most {hi}, got {value}")
    return value


def _float(text: str, lo: float | None = None, hi: float | None = None, open_lo: bool = False) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise ValueError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {text!r}")
    if lo is not None and (value < lo or (open_lo and value == lo)):
        raise ValueError(f"must be {'greater than' if open_lo else 'at least'} {lo:g}, got {value:g}")
    if hi is not None and value > hi:
        raise ValueError(f"must be at most {hi:g}, got {value:g}")
    return value


def _choice(text: str, choices: tuple[str, ...]) -> str:
    value = str(text).strip().lower()
    if value not in choices:
        raise ValueError(f"unknown value {text!r} (choose from {', '.join(choices)})")
    return value


def _bool(text: str) -> bool:
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected yes or no, got {text!r}")


def _readable_file(text: str, suffixes: tuple[str, ...], what: str, allow_dir: bool = False) -> str:
    path = Path(str(text).strip()).expanduser()
    if not str(text).strip():
        raise ValueError(f"expected a path to {what}")
    if allow_dir and path.is_dir():
        if not (path / "saved_model.pb").exists():
            raise ValueError(f"{path} is a directory but not a SavedModel (no saved_model.pb)")
        return str(path)
    if path.suffix.lower() not in suffixes:
        raise ValueError(f"{path} is not {what} (expected {' or '.join(suffixes)})")
    if not path.is_file():
        raise ValueError(f"{path} does not exist" if not path.exists() else f"{path} is not a file")
    if not os.access(path, os.R_OK):
        raise ValueError(f"{path} is not readable")
    return str(path)


def parse_model(text: str) -> str:
    value = str(text).strip()
    if value.lower() in BUILTIN_MODELS:
        return value.lower()
    looks_like_path = os.sep in value or value.lower().endswith(MODEL_SUFFIXES) or Path(value).exists()
    if not looks_like_path:
        raise ValueError(f"unknown model {text!r} (choose from {', '.join(BUILTIN_MODELS)}, or a .keras/.h5 file)")
    return _readable_file(value, MODEL_SUFFIXES, "a Keras model file", allow_dir=True)


def parse_target(text: str) -> str:
    value = str(text).strip().lower()
    if value in ("sum", "argmax"):
        return value
    if value.startswith("class:"):
        return f"class:{_int(value[6:], lo=0)}"
    raise ValueError(f"unknown target {text!r} (choose from sum, argmax, class:K)")


def parse_probe(text: str) -> str:
    value = str(text).strip()
    if value.lower() in PROBE_WORDS:
        return value.lower()
    return _readable_file(value, (".npy",), "a NumPy .npy file")


def parse_data(text: str) -> str | None:
    value = str(text).strip()
    if value.lower() in ("", "auto", "none"):
        return None
    return _readable_file(value, (".npz",), "a NumPy .npz file")


def parse_optional_float(text: str) -> float | None:
    value = str(text).strip().lower()
    if value in ("", "none", "off", "0"):
        return None
    return _float(value, lo=0.0, open_lo=True)


def parse_optional_label(text: str) -> int | None:
    value = str(text).strip().lower()
    if value in ("", "none"):
        return None
    return _int(value, lo=0)


def parse_shape(text: str) -> tuple[int, ...]:
    parts = [p for p in str(text).replace("x", ",").split(",") if p.strip()]
    if len(parts) != 3:
        raise ValueError(f"expected height,width,channels such as 32,32,3, got {text!r}")
    shape = tuple(_int(p, lo=1, hi=1024) for p in parts)
    if shape[0] < 32 or shape[1] < 32:
        raise ValueError(f"keras.applications models need at least 32x32 inputs, got {text!r}")
    return shape


def parse_device(text: str) -> str:
    value = str(text).strip().lower()
    if value in DEVICE_WORDS:
        return value
    if value.startswith("gpu:"):
        return f"gpu:{_int(value[4:], lo=0)}"
    raise ValueError(f"unknown device {text!r} (choose from auto, cpu, gpu, gpu:N)")


# ---- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    name: str
    parse: Callable[[str], Any]
    help: str
    group: str
    choices: tuple[str, ...] = ()
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return flag_of(self.name)


FIELDS: tuple[Field, ...] = (
    Field("model", parse_model, "built-in model or a .keras/.h5 file", "model",
          BUILTIN_MODELS, "NAME|PATH"),
    Field("new_head", _bool, "replace the classifier with a fresh Dense(classes, softmax)", "model",
          ("no", "yes")),
    Field("weights", lambda t: _choice(t, WEIGHTS),
          "vgg16/mobilenetv2 weights: imagenet, none, or auto (imagenet if cached)", "model", WEIGHTS),
    Field("input_shape", parse_shape, "vgg16/mobilenetv2 input shape", "model", (), "H,W,C"),
    Field("classes", lambda t: _int(t, lo=2, hi=1000), "classes of a new head", "model", (), "K"),
    Field("probe", parse_probe, "probe inputs: random (seeded normal), heldout, or a .npy file",
          "data", PROBE_WORDS, "random|heldout|PATH"),
    Field("n_probe", lambda t: _int(t, lo=1, hi=256), "how many probe rows (random/heldout)", "data",
          (), "N"),
    Field("data", parse_data, "a .npz with x_train, y_train [, x_test, y_test]; auto = built-in",
          "data", (), "PATH"),
    Field("rule", lambda t: _choice(t, RULES), "what the tape differentiates", "rule", RULES),
    Field("target", parse_target, "prediction rule: sum, argmax or class:K", "rule",
          ("sum", "argmax", "class:0"), "sum|argmax|class:K"),
    Field("sign", lambda t: _choice(t, SIGNS), "descend (apply_gradients) or ascend", "rule", SIGNS),
    Field("label", parse_optional_label, "example-loss label for the probe rows", "rule", (), "K"),
    Field("loss", lambda t: _choice(t, LOSSES), "loss; auto follows the output activation", "rule",
          LOSSES),
    Field("optimizer", lambda t: _choice(t, OPTIMIZERS), "update rule's optimizer", "optimizer",
          OPTIMIZERS),
    Field("lr", lambda t: _float(t, lo=0.0, hi=1e6, open_lo=True), "learning rate", "optimizer",
          (), "LR"),
    Field("clipnorm", parse_optional_float, "clip each gradient's norm (none = off)", "optimizer",
          (), "C"),
    Field("weight_decay", lambda t: _float(t, lo=0.0, hi=1.0), "decoupled weight decay",
          "optimizer", (), "WD"),
    Field("batch_size", lambda t: _int(t, lo=1, hi=65536), "batch-loss minibatch size", "run",
          (), "B"),
    Field("steps", lambda t: _int(t, lo=1, hi=10_000_000), "steps for `run` and Run N", "run",
          (), "N"),
    Field("eval_every", lambda t: _int(t, lo=1, hi=1_000_000), "held-out evaluation every K steps",
          "run", (), "K"),
    Field("seed", lambda t: _int(t, lo=0, hi=2**31 - 1), "seed for weights, probes, data, batches",
          "run", (), "S"),
    Field("device", parse_device, "auto, cpu, gpu or gpu:N", "run", DEVICE_WORDS, "DEV"),
)
FIELD_BY_NAME = {f.name: f for f in FIELDS}


@dataclass(frozen=True)
class LabConfig:
    """An experiment's settings. Build with `parse`/`replace`, which validate; defaults are example 1."""

    model: str = "mlp"
    new_head: bool = False
    weights: str = "auto"
    input_shape: tuple[int, ...] = (32, 32, 3)
    classes: int = 10
    probe: str = "random"
    n_probe: int = 1
    data: str | None = None
    rule: str = "prediction"
    target: str = "sum"
    sign: str = "descend"
    label: int | None = None
    loss: str = "auto"
    optimizer: str = "sgd"
    lr: float = 0.1
    clipnorm: float | None = None
    weight_decay: float = 0.0
    batch_size: int = 100
    steps: int = 10
    eval_every: int = 1
    seed: int = 0
    device: str = "auto"

    # -- building --------------------------------------------------------------------------------

    @classmethod
    def parse(cls, values: Mapping[str, Any], base: LabConfig | None = None) -> LabConfig:
        """Validate text (or already-typed) values by field name on top of `base`; ConfigError on the first refusal."""
        changes: dict[str, Any] = {}
        for name, raw in values.items():
            spec = FIELD_BY_NAME.get(name)
            if spec is None:
                raise ConfigError(name, "unknown setting")
            changes[name] = parse_field(name, raw)
        result = dataclasses.replace(base or cls(), **changes)
        result.check()
        return result

    def replace(self, **changes: Any) -> LabConfig:
        return LabConfig.parse(changes, base=self)

    def check(self) -> None:
        """Cross-field rules that need no model. Model-dependent ones are checked by the lab."""
        if self.rule == "example-loss" and self.label is None:
            raise ConfigError("label", "the example-loss rule needs --label K (the class to push the probe towards)")
        if self.new_head and self.model not in ("cnn", "vgg16", "mobilenetv2") and not self.is_user_model:
            raise ConfigError("new_head", f"model {self.model} has no classifier head to replace")

    @property
    def is_user_model(self) -> bool:
        return self.model not in BUILTIN_MODELS

    # -- serialising -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Every effective setting, JSON-ready."""
        out = {f.name: getattr(self, f.name) for f in FIELDS}
        out["input_shape"] = list(self.input_shape)
        return out

    def as_text(self, name: str) -> str:
        """A field's value as the text a user would type for it."""
        value = getattr(self, name)
        if value is None:
            return "none"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, tuple):
            return ",".join(str(v) for v in value)
        return str(value)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabConfig:
        """From a saved session or JSON export; unknown keys are refused, missing ones default."""
        return cls.parse({k: _to_text(v) for k, v in data.items()})


def _to_text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def parse_field(name: str, raw: Any) -> Any:
    """One field's value from text (or an already-typed value); ConfigError naming the field."""
    spec = FIELD_BY_NAME[name]
    text = _to_text(raw) if not isinstance(raw, str) else raw
    try:
        return spec.parse(text)
    except ValueError as err:
        raise ConfigError(name, str(err)) from None
