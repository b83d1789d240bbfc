"""The field table: every setting's parser, help, group, choices and what a change of it does.

One table serves the CLI flags, the TUI form, saved session files and the lab: the CLI builds its
flags from it, the form its rows, and the session reads from `effect` which settings rebuild the
experiment, re-make the optimizer, recompile the step or apply to the running graph.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from gradtui.catalog import (
    BUILTIN_MODELS,
    HOLDOUT_ROWS,
    LOSSES,
    MODES,
    OPTIMIZER_CHOICES,
    PROBE_WORDS,
    RULES,
    SIGNS,
    WEIGHTS,
)
from gradtui.config.field_parsers import (
    parse_batch_size,
    parse_data,
    parse_eval_max,
    parse_holdout,
    parse_lr,
    parse_model,
    parse_optional_float,
    parse_optional_label,
    parse_probe,
    parse_shape,
    parse_target,
)
from gradtui.devices import DEVICE_WORDS, parse_device
from gradtui.errors import ConfigError, flag_of
from gradtui.text_values import choice, number, whole_number, yes_no

# What changing a field does to a running session, costliest first:
# - "rebuild":   a new session (a new model, probe or data set; the loss decides the labels' shape,
#                holdout and eval_max the data split, the seed every draw)
# - "optimizer": a fresh optimizer (its state starts over, undo is cleared) and a new compiled step
# - "recompile": a new compiled step on the same variables (the step is traced again)
# - "live":      the compiled step takes the new value as it is (lr: the optimizer's variable; sign: a
#                variable of the graph; steps: not in the graph), so nothing is traced again
Effect = Literal["rebuild", "optimizer", "recompile", "live"]
DEFAULT_LR = 0.1  # --lr auto without a compile config to read it from: the article's rate


@dataclass(frozen=True)
class Field:
    name: str
    parse: Callable[[str], Any]
    help: str
    group: str
    choices: tuple[str, ...] = ()
    metavar: str | None = None
    effect: Effect = dataclasses.field(kw_only=True)

    @property
    def flag(self) -> str:
        return flag_of(self.name)


def _choice(name: str, choices: tuple[str, ...], help: str, group: str, *, effect: Effect) -> Field:
    """A field that takes one of `choices` (the flag lists them, the form offers them)."""
    return Field(name, lambda t: choice(t, choices), help, group, choices, effect=effect)


def _whole(name: str, lo: int, hi: int, metavar: str, help: str, group: str, *, effect: Effect) -> Field:
    """A whole number from `lo` to `hi`."""
    return Field(name, lambda t: whole_number(t, lo=lo, hi=hi), help, group, metavar=metavar, effect=effect)


def _number(name: str, lo: float, hi: float, metavar: str, help: str, group: str, *, effect: Effect) -> Field:
    """A number from `lo` to `hi`."""
    return Field(name, lambda t: number(t, lo=lo, hi=hi), help, group, metavar=metavar, effect=effect)


def _auto(name: str, parse: Callable[[str], Any], metavar: str, help: str, group: str, *, effect: Effect) -> Field:
    """A field whose None means `auto`: chosen when the model and data are known (see AUTO_FIELDS)."""
    return Field(name, parse, help, group, ("auto",), metavar, effect=effect)


FIELDS: tuple[Field, ...] = (
    Field(
        "model",
        parse_model,
        "built-in model or a .keras/.h5 file",
        "model",
        BUILTIN_MODELS,
        "NAME|PATH",
        effect="rebuild",
    ),
    Field(
        "new_head",
        yes_no,
        "replace the classifier with a fresh Dense(classes, softmax)",
        "model",
        ("no", "yes"),
        effect="rebuild",
    ),
    _choice(
        "weights",
        WEIGHTS,
        "vgg16/mobilenetv2 weights: imagenet, none, or auto (imagenet if cached)",
        "model",
        effect="rebuild",
    ),
    Field("input_shape", parse_shape, "vgg16/mobilenetv2 input shape", "model", metavar="H,W,C", effect="rebuild"),
    _whole("classes", 2, 1000, "K", "classes of a new head", "model", effect="rebuild"),
    Field(
        "probe",
        parse_probe,
        "probe inputs: random (seeded normal), heldout, or a .npy file",
        "data",
        PROBE_WORDS,
        "random|heldout|PATH",
        effect="rebuild",
    ),
    _whole("n_probe", 1, 256, "N", "how many probe rows (random/heldout)", "data", effect="rebuild"),
    Field(
        "data",
        parse_data,
        "a .npz with x_train, y_train [, x_test, y_test]; auto = built-in",
        "data",
        metavar="PATH",
        effect="rebuild",
    ),
    Field(
        "holdout",
        parse_holdout,
        "fraction of x_train held out for evaluation when the .npz has no x_test, as fit's validation_split "
        "(0 = train on every row)",
        "data",
        metavar="FRACTION",
        effect="rebuild",
    ),
    _choice(
        "holdout_rows",
        HOLDOUT_ROWS,
        "which rows --holdout takes: last (the last rows in file order, before shuffling, as validation_split) "
        "or random (a seeded random fraction)",
        "data",
        effect="rebuild",
    ),
    Field(
        "eval_max",
        parse_eval_max,
        "evaluate on at most N held-out rows (none = all of them)",
        "data",
        metavar="N",
        effect="rebuild",
    ),
    _choice("rule", RULES, "what the tape differentiates", "rule", effect="recompile"),
    Field(
        "target",
        parse_target,
        "prediction rule: sum, argmax or class:K",
        "rule",
        ("sum", "argmax", "class:0"),
        "sum|argmax|class:K",
        effect="recompile",
    ),
    _choice("sign", SIGNS, "descend (apply_gradients) or ascend", "rule", effect="live"),
    Field(
        "label", parse_optional_label, "example-loss label for the probe rows", "rule", metavar="K", effect="recompile"
    ),
    _choice(
        "loss",
        LOSSES,
        "loss; auto: the model file's compile config, else by the output activation",
        "rule",
        effect="rebuild",
    ),
    _choice(
        "mode",
        MODES,
        "training=True for the gradient (train), False (infer), or auto: train for loss rules, as fit does",
        "rule",
        effect="recompile",
    ),
    _choice(
        "optimizer",
        OPTIMIZER_CHOICES,
        "the optimizer; auto: the model file's compile config (its class and arguments), else sgd",
        "optimizer",
        effect="optimizer",
    ),
    _auto(
        "lr",
        parse_lr,
        "LR",
        f"learning rate; auto: the model file's compile config, else {DEFAULT_LR:g}",
        "optimizer",
        effect="live",
    ),
    _number(
        "momentum", 0.0, 0.999, "M", "momentum of the momentum/nesterov optimizers", "optimizer", effect="optimizer"
    ),
    Field(
        "clipnorm",
        parse_optional_float,
        "clip each gradient's norm (none = off)",
        "optimizer",
        metavar="C",
        effect="optimizer",
    ),
    _number("weight_decay", 0.0, 1.0, "WD", "decoupled weight decay", "optimizer", effect="optimizer"),
    _auto(
        "batch_size",
        parse_batch_size,
        "B",
        "batch-loss minibatch size; auto: 32 with --data (as fit), 100 on the built-in data",
        "run",
        effect="recompile",
    ),
    _whole("steps", 1, 10_000_000, "N", "steps for `run` and Run N", "run", effect="live"),
    _whole("eval_every", 1, 1_000_000, "K", "held-out evaluation every K steps", "run", effect="recompile"),
    _whole("seed", 0, 2**31 - 1, "S", "seed for weights, probes, data, batches", "run", effect="rebuild"),
    Field(
        "device",
        parse_device,
        "auto, cpu, gpu, all, gpu:N, or a list such as gpu:0,gpu:1 (one replica each)",
        "run",
        DEVICE_WORDS,
        "DEV",
        effect="rebuild",
    ),
)
FIELD_BY_NAME = {f.name: f for f in FIELDS}
AUTO_FIELDS = tuple(f.name for f in FIELDS if f.choices == ("auto",))  # None means `auto` (see _auto): lr, batch_size


def fields_with(*effects: Effect) -> tuple[str, ...]:
    """The names of the fields whose change has one of `effects`, in table order."""
    return tuple(f.name for f in FIELDS if f.effect in effects)


def value_text(value: Any, name: str = "") -> str:
    """A value as the text a user would type for it: none (auto for the AUTO_FIELDS), yes/no, 32,32,3, 0.1."""
    if value is None:
        return "auto" if name in AUTO_FIELDS else "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def parse_field(name: str, raw: Any) -> Any:
    """One field's value from text (or an already-typed value); ConfigError naming the field."""
    spec = FIELD_BY_NAME[name]
    text = raw if isinstance(raw, str) else value_text(raw, name)
    try:
        return spec.parse(text)
    except ValueError as err:
        raise ConfigError(name, str(err)) from err
