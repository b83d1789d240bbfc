"""Your model as you compiled it: the optimizer, learning rate and loss a model file stores.

Keras keeps `model.compile(...)`'s arguments in the file (`compile_config` in a .keras archive's
config.json, `training_config` in an HDF5 file's attributes). `--optimizer auto`, `--lr auto` and
`--loss auto` read them, so a model opens with the settings it was trained with; a file without
them (or a built-in model) keeps the article's: sgd at 0.1, the loss by the output activation.
Read from the file's JSON without TensorFlow; the optimizer is built by Keras's own deserializer.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradtui.config import DEFAULT_LR, LabConfig
from gradtui.lab import optimizers, rules

FROM_MODEL = "from the model"
NO_COMPILE = "default: the model file has no compile config"  # sgd, lr 0.1, the loss by the output
# Keras loss names (class or function) -> the loss gradtui computes. Categorical cross-entropy on
# one-hot rows is sparse categorical cross-entropy on their class numbers, which is how labels arrive.
LOSSES = {
    "binarycrossentropy": "bce",
    "binary_crossentropy": "bce",
    "bce": "bce",
    "sparsecategoricalcrossentropy": "sce",
    "sparse_categorical_crossentropy": "sce",
    "categoricalcrossentropy": "sce",
    "categorical_crossentropy": "sce",
    "meansquarederror": "mse",
    "mean_squared_error": "mse",
    "mse": "mse",
}
# an optimizer config's entries that are not arguments to carry over (or that gradtui sets itself)
NOT_ARGUMENTS = ("name", "learning_rate")


@dataclass(frozen=True)
class Compiled:
    """What a model file's compile config says, as far as gradtui runs it."""

    optimizer: dict[str, Any] | None = None  # Keras's serialized optimizer: class_name, config, module
    loss: str | None = None  # bce, sce or mse
    loss_named: str = ""  # the loss as the file names it, for notes
    notes: tuple[str, ...] = ()  # what of it gradtui does not follow, and why

    @property
    def optimizer_class(self) -> str | None:
        return str(self.optimizer["class_name"]) if self.optimizer else None

    @property
    def learning_rate(self) -> float | None:
        rate = (self.optimizer or {}).get("config", {}).get("learning_rate")
        return float(rate) if isinstance(rate, int | float) and not isinstance(rate, bool) and rate > 0 else None

    def argument(self, name: str) -> Any:
        return (self.optimizer or {}).get("config", {}).get(name)


def read(model: str) -> Compiled | None:
    """The compile config stored in model file `model`, or None if it has none (or is not a file)."""
    path = Path(model)
    try:
        if path.suffix.lower() == ".keras" and path.is_file():
            with zipfile.ZipFile(path) as archive:
                stored = json.loads(archive.read("config.json")).get("compile_config")
        elif path.suffix.lower() in (".h5", ".hdf5") and path.is_file():
            stored = _h5_training_config(path)
        else:
            return None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, AttributeError):
        return None
    if not isinstance(stored, dict):
        return None
    return _parse(stored)


def _h5_training_config(path: Path) -> dict[str, Any] | None:
    """An HDF5 model's `training_config` attribute, in the .keras file's spelling."""
    import h5py

    with h5py.File(path, "r") as handle:
        raw = handle.attrs.get("training_config")
    if raw is None:
        return None
    stored = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
    if isinstance(stored, dict) and "optimizer_config" in stored:
        stored["optimizer"] = stored.pop("optimizer_config")
    return stored if isinstance(stored, dict) else None


def _parse(stored: dict[str, Any]) -> Compiled | None:
    notes: list[str] = []
    optimizer = stored.get("optimizer")
    if isinstance(optimizer, str):  # compiled with a name: Keras's defaults for that class
        optimizer = {"class_name": optimizer, "config": {}}
    if not (
        isinstance(optimizer, dict)
        and isinstance(optimizer.get("class_name"), str)
        and isinstance(optimizer.get("config", {}), dict)
    ):
        optimizer = None
    elif isinstance(optimizer.get("config", {}).get("learning_rate"), dict):
        schedule = optimizer["config"]["learning_rate"]
        start = schedule.get("config", {}).get("initial_learning_rate")
        name = schedule.get("class_name", "a schedule")
        notes.append(
            f"The model's learning rate is a {name} schedule, which gradtui does not follow: "
            + (f"it runs at its initial rate {start:g}." if isinstance(start, int | float) else "--lr applies.")
        )
        optimizer = {**optimizer, "config": {**optimizer["config"], "learning_rate": start}}
    loss_named, loss = _loss(stored.get("loss"))
    if loss_named and loss is None:
        notes.append(
            f"The model was compiled with the loss {loss_named}, which gradtui does not compute: --loss auto "
            "follows the output activation instead."
        )
    if optimizer is None and loss is None:
        return Compiled(notes=tuple(notes)) if notes else None
    return Compiled(optimizer, loss, loss_named, tuple(notes))


def for_model(config: LabConfig, activation: str, outputs: int) -> tuple[Compiled | None, Training]:
    """The model file's compile config (None for a built-in model or a file without one) and what
    `config` runs with on this output: its loss, optimizer, learning rate, batch size."""
    compiled = read(config.model) if config.is_user_model else None
    loss, misfit = model_loss(compiled, outputs, activation)
    training = resolve(config, compiled, rules.loss_name(config, activation, outputs, loss))
    return compiled, dataclasses.replace(training, notes=(*misfit, *training.notes))


def model_loss(compiled: Compiled | None, outputs: int, activation: str) -> tuple[str | None, list[str]]:
    """The loss the model file was compiled with where it fits this output, and a note if it does not."""
    loss = compiled.loss if compiled is not None else None
    if (loss == "sce" and outputs < 2) or (loss == "bce" and activation == "softmax"):
        return None, [
            f"The model was compiled with {rules.LOSS_TITLES[loss]}, which does not fit its {outputs} {activation} "
            "output(s): --loss auto follows the output activation instead."
        ]
    return loss, []


def _loss(stored: Any) -> tuple[str, str | None]:
    """(the loss as the file names it, the gradtui loss it is) from a compile config's `loss`."""
    if isinstance(stored, dict):
        name = str(stored.get("class_name", ""))
        config = stored.get("config") or {}
        if isinstance(config, dict) and config.get("label_smoothing"):
            return f"{name}(label_smoothing={config['label_smoothing']})", None
        return name, LOSSES.get(name.lower())
    if isinstance(stored, str):
        return stored, LOSSES.get(stored.lower())
    return ("several losses" if stored else ""), None


@dataclass(frozen=True)
class Training:
    """The optimizer, learning rate, batch size, clip and loss an experiment runs with, and where each
    came from: what `auto` settled to."""

    optimizer: str  # a registry name (sgd, adam...) or the model's Keras class (Adam, AdamW, ...)
    lr: float
    batch_size: int
    clipnorm: float | None
    loss: str  # bce, sce or mse
    origins: dict[str, str] = field(default_factory=dict)  # field -> FROM_MODEL or NO_COMPILE
    model_optimizer: dict[str, Any] | None = None  # the model's serialized optimizer, when it is used
    notes: tuple[str, ...] = ()

    def settle(self, config: LabConfig, rows: int | None) -> LabConfig:
        """`config` with its autos settled, as the step graph runs it (a batch no larger than `rows`)."""
        batch = self.batch_size if rows is None else min(self.batch_size, rows)
        return dataclasses.replace(config, lr=self.lr, batch_size=batch, clipnorm=self.clipnorm)

    def summary(self) -> dict[str, Any]:
        """The ModelSummary fields that say what runs and where it came from."""
        return {"training": self.describe(), "origins": dict(self.origins)}

    def describe(self) -> str:
        """For the model line, when an `auto` chose something: the optimizer with the arguments it runs
        with and where they came from. Empty when every setting was given (or a built-in model's)."""
        origin = self.origins.get("optimizer") or self.origins.get("lr")
        if not origin:
            return ""
        text = f"optimizer {self.optimizer} lr {self.lr:g}"
        if self.model_optimizer:
            text += "".join(f", {k} {v:g}" for k, v in _arguments(self.model_optimizer).items() if _shown(k, v))
        return f"{text}, {origin}"


def _arguments(serialized: dict[str, Any]) -> dict[str, Any]:
    config = serialized.get("config", {})
    return {k: v for k, v in config.items() if k not in NOT_ARGUMENTS}


def _shown(name: str, value: Any) -> bool:
    """Arguments worth a mention on the model line: the numbers that shape the update."""
    shown = ("beta_1", "beta_2", "momentum", "rho", "clipnorm", "weight_decay", "global_clipnorm")
    return name in shown and isinstance(value, int | float) and not isinstance(value, bool) and value != 0


def resolve(config: LabConfig, compiled: Compiled | None, loss: str) -> Training:
    """What `config`'s autos settle to for a model whose file holds `compiled` (None: none), `loss`
    being the loss already chosen (rules.loss_name)."""
    origins: dict[str, str] = {}
    model_optimizer = compiled.optimizer if compiled is not None and config.optimizer == "auto" else None
    if config.optimizer == "auto" and config.is_user_model:
        origins["optimizer"] = FROM_MODEL if model_optimizer else NO_COMPILE
    if config.lr is not None:
        lr = config.lr
    elif compiled is not None and compiled.learning_rate is not None:
        lr = compiled.learning_rate
        origins["lr"] = FROM_MODEL
    else:
        lr = DEFAULT_LR
        if config.is_user_model:
            origins["lr"] = NO_COMPILE
    if config.loss == "auto" and config.is_user_model:
        origins["loss"] = FROM_MODEL if compiled is not None and compiled.loss is not None else NO_COMPILE
    clipnorm = config.clipnorm
    if clipnorm is None and model_optimizer is not None:
        stored = compiled.argument("clipnorm") if compiled is not None else None
        clipnorm = float(stored) if isinstance(stored, int | float) and stored > 0 else None
    name = (
        model_optimizer["class_name"]
        if model_optimizer
        else ("sgd" if config.optimizer == "auto" else config.optimizer)
    )
    notes = compiled.notes if compiled is not None else ()
    return Training(str(name), lr, config.effective_batch_size, clipnorm, loss, origins, model_optimizer, tuple(notes))


def make_optimizer(config: LabConfig, training: Training, clip: bool = True) -> Any:
    """A fresh Keras optimizer: the model's own class and arguments under `--optimizer auto` (with
    --lr, and --clipnorm/--weight-decay when given, on top), else the registry's. `clip` False
    leaves clipping to the caller (the step graph clips the all-reduced gradient under several
    replicas)."""
    from gradtui.lab.runtime import keras

    clipnorm = training.clipnorm if clip else None
    if training.model_optimizer is None:
        settled = config.replace(optimizer=training.optimizer, lr=training.lr, clipnorm=clipnorm)  # validated
        return optimizers.make_optimizer(settled)
    serialized = training.model_optimizer
    arguments = {**_arguments(serialized), "learning_rate": training.lr, "clipnorm": clipnorm}
    if config.clipnorm is not None:  # a typed --clipnorm replaces the model's clip: Keras takes one of three
        arguments.update(global_clipnorm=None, clipvalue=None)
    if config.weight_decay > 0:
        arguments["weight_decay"] = config.weight_decay
    return keras.optimizers.deserialize({**serialized, "config": arguments})
