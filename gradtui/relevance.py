"""Which typed settings the experiment would use: a flag the effective rule, model or command
ignores is refused rather than silently dropped.

Two tables, judged after the preset and the defaults have settled:
- RULE_SELECTORS: a setting that belongs to one rule selects that rule when --rule was not typed
  (`--label 3` means the example-loss rule), rather than being refused.
- APPLIES: for each setting, when it has an effect, and the reason it has none otherwise.
Adding a flag that only some rules, models or data use is one entry in each table that applies.
No TensorFlow here: these refusals answer before the import.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from gradtui.catalog import BACKBONES, BUILTIN_MODELS
from gradtui.config import LabConfig
from gradtui.errors import ConfigError, flag_of

BUILTIN_CLASSES = 10  # the built-in data sets (teacher task aside) are the ten shapes


@dataclass(frozen=True)
class Selector:
    """Typing `field` (without --rule) selects `rule`, when `when` holds for the typed values."""

    field: str
    rule: str
    when: Callable[[Mapping[str, Any]], bool] = lambda given: True


RULE_SELECTORS: tuple[Selector, ...] = (
    Selector("target", "prediction"),
    Selector("label", "example-loss"),
)


def has_data(config: LabConfig) -> bool:
    """Whether the experiment has a training/held-out set: --data, or the built-in one of its model
    (the teacher task for mlp, the ten shapes for the cnn and the backbones with ten classes)."""
    if config.data is not None or config.model == "mlp":
        return True
    if config.model == "cnn":
        return not config.new_head or config.classes == BUILTIN_CLASSES
    if config.model in BACKBONES:
        return config.classes == BUILTIN_CLASSES
    return False


@dataclass(frozen=True)
class Applies:
    """`field` has an effect when `when(config)`; otherwise `why(config)` says why it has none."""

    field: str
    when: Callable[[LabConfig], bool]
    why: Callable[[LabConfig], str]


APPLIES: tuple[Applies, ...] = (
    Applies(
        "label",
        lambda c: c.rule == "example-loss",
        lambda c: f"only the example-loss rule uses it (the rule is {c.rule})",
    ),
    Applies(
        "target",
        lambda c: c.rule in ("prediction", "random"),
        lambda c: f"only the prediction and random rules use it (the rule is {c.rule})",
    ),
    Applies(
        "batch_size",
        lambda c: c.rule == "batch-loss",
        lambda c: f"only the batch-loss rule uses it (the rule is {c.rule})",
    ),
    Applies(
        "eval_every",
        has_data,
        lambda c: f"there is no held-out data to evaluate ({c.model} has no built-in data set; give --data PATH.npz)",
    ),
    Applies(
        "loss",
        lambda c: c.rule in ("example-loss", "batch-loss") or has_data(c),
        lambda c: f"no loss is computed: the rule is {c.rule} and there is no held-out data",
    ),
    Applies(
        "weights",
        lambda c: c.model in BACKBONES,
        lambda c: f"only vgg16 and mobilenetv2 load weights (the model is {_name(c)})",
    ),
    Applies(
        "input_shape",
        lambda c: c.model in BACKBONES,
        lambda c: (
            f"only vgg16 and mobilenetv2 take an input shape (the model is {_name(c)}; its file fixes it)"
            if c.is_user_model
            else f"only vgg16 and mobilenetv2 take an input shape (the model is {c.model})"
        ),
    ),
    Applies(
        "classes",
        lambda c: c.model in BACKBONES or c.new_head,
        lambda c: (
            "only a new head (--new-head yes) or a vgg16/mobilenetv2 head has a chosen class count "
            f"(the model is {_name(c)})"
        ),
    ),
    Applies(
        "momentum",
        lambda c: c.optimizer in ("momentum", "nesterov"),
        lambda c: f"only the momentum and nesterov optimizers use it (the optimizer is {c.optimizer})",
    ),
    Applies(
        "holdout",
        lambda c: c.data is not None,
        lambda c: "it splits the x_train of --data PATH.npz; the built-in data sets have their own held-out set",
    ),
    Applies(
        "holdout_rows",
        lambda c: c.data is not None and c.holdout > 0,
        lambda c: "it chooses the rows --holdout FRACTION sets aside from --data PATH.npz (no --holdout is given)",
    ),
    Applies(
        "eval_max",
        has_data,
        lambda c: f"there is no held-out data to evaluate ({c.model} has no built-in data set; give --data PATH.npz)",
    ),
    Applies(
        "n_probe",
        lambda c: c.probe in ("random", "heldout"),
        lambda c: "the probe file fixes how many rows are tracked",
    ),
)


def _name(config: LabConfig) -> str:
    return config.model if config.model in BUILTIN_MODELS else "your model file"


def select_rule(given: Mapping[str, Any]) -> dict[str, Any]:
    """The typed values, plus the rule that a rule's own setting selects when --rule was not typed."""
    if "rule" in given:
        return dict(given)
    chosen = [s for s in RULE_SELECTORS if s.field in given and s.when(given)]
    rules = {s.rule for s in chosen}
    if len(rules) > 1:
        named = " and ".join(f"{flag_of(s.field)} selects {s.rule}" for s in chosen)
        raise ConfigError(chosen[-1].field, f"{named}: choose one rule with --rule")
    return {**given, "rule": chosen[0].rule} if chosen else dict(given)


def check_typed(typed: Collection[str], config: LabConfig) -> None:
    """ConfigError naming the first typed setting the effective config ignores, and why."""
    for entry in APPLIES:
        if entry.field in typed and not entry.when(config):
            raise ConfigError(entry.field, f"does not apply: {entry.why(config)}")


def applying(config: LabConfig) -> dict[str, Any]:
    """config.to_dict() without the settings this experiment does not use (a loaded model's input shape
    and class count, a momentum sgd ignores...): what an export says the experiment ran with."""
    ignored = {entry.field for entry in APPLIES if not entry.when(config)}
    return {name: value for name, value in config.to_dict().items() if name not in ignored}
