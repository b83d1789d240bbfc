"""LabConfig: every knob of an experiment with its default, built only through the field table's
parsers (so a value is checked the same way from a flag, the form or a file), and the cross-field
rules that need no model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from gradtui.catalog import (
    BUILTIN_MODELS,
    LOSS_RULES,
    RULE_BY_NAME,
    HoldoutRows,
    Loss,
    Mode,
    OptimizerChoice,
    RuleName,
    Sign,
    Weights,
)
from gradtui.config.fields import AUTO_FIELDS, FIELD_BY_NAME, FIELDS, parse_field, value_text
from gradtui.errors import ConfigError

HEAD_MODELS = ("cnn", "vgg16", "mobilenetv2")  # the built-in models with a classifier head to replace


@dataclass(frozen=True)
class LabConfig:
    """An experiment's settings. Build with `parse`/`replace`, which validate; defaults are example 1."""

    model: str = "mlp"
    new_head: bool = False
    weights: Weights = "auto"
    input_shape: tuple[int, ...] = (32, 32, 3)
    classes: int = 10
    probe: str = "random"
    n_probe: int = 1
    data: str | None = None
    holdout: float = 0.0
    holdout_rows: HoldoutRows = "last"
    eval_max: int | None = None
    rule: RuleName = "prediction"
    target: str = "sum"
    sign: Sign = "descend"
    label: int | None = None
    loss: Loss = "auto"
    mode: Mode = "auto"
    optimizer: OptimizerChoice = "auto"
    lr: float | None = None  # auto
    momentum: float = 0.9
    clipnorm: float | None = None
    weight_decay: float = 0.0
    batch_size: int | None = None  # auto
    steps: int = 10
    eval_every: int = 10
    seed: int = 0
    device: str = "auto"

    # -- building --------------------------------------------------------------------------------

    @classmethod
    def parse(cls, values: Mapping[str, Any], base: LabConfig | None = None) -> LabConfig:
        """Validate text (or already-typed) values by field name on top of `base`; ConfigError on the first refusal."""
        changes: dict[str, Any] = {}
        for name, raw in values.items():
            if name not in FIELD_BY_NAME:
                raise ConfigError(name, "unknown setting")
            changes[name] = parse_field(name, raw)
        result = dataclasses.replace(base or cls(), **changes)
        result.check()
        return result

    def replace(self, **changes: Any) -> LabConfig:
        return LabConfig.parse(changes, base=self)

    def check(self) -> None:
        """Cross-field rules that need no model. Model-dependent ones are checked by the lab."""
        if RULE_BY_NAME[self.rule].needs_label and self.label is None:
            raise ConfigError("label", f"the {self.rule} rule needs --label K (the class to push the probe towards)")
        if self.new_head and self.model not in HEAD_MODELS and not self.is_user_model:
            raise ConfigError("new_head", f"model {self.model} has no classifier head to replace")

    @property
    def is_user_model(self) -> bool:
        return self.model not in BUILTIN_MODELS

    @property
    def effective_batch_size(self) -> int:
        """The minibatch size asked for: `auto` is fit's 32 on your own data, 100 on the built-in sets."""
        if self.batch_size is not None:
            return self.batch_size
        return 32 if self.data is not None else 100

    @property
    def effective_mode(self) -> Mode:
        """train or infer: `auto` is fit's semantics for the loss rules, predict's for the others."""
        if self.mode != "auto":
            return self.mode
        return "train" if self.rule in LOSS_RULES else "infer"

    # -- serialising -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Every effective setting, JSON-ready."""
        out = {f.name: getattr(self, f.name) for f in FIELDS}
        out["input_shape"] = list(self.input_shape)
        out.update({name: "auto" for name in AUTO_FIELDS if out[name] is None})
        return out

    def as_text(self, name: str) -> str:
        """A field's value as the text a user would type for it."""
        return value_text(getattr(self, name), name)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabConfig:
        """From a saved session or JSON export; unknown keys are refused, missing ones default."""
        if not isinstance(data, Mapping):
            raise ConfigError("config", f"expected a mapping of setting names to values, got {type(data).__name__}")
        return cls.parse({k: value_text(v, k) for k, v in data.items()})


def implied_defaults(config: LabConfig, given: Collection[str]) -> LabConfig:
    """Settings a user's own model implies when no preset or flag names them.

    A model of one's own with --data opens on a rule that moves it (batch-loss) with held-out
    probes, unless a flag names another rule's setting: --target/--sign mean the prediction rule,
    --label the example-loss rule. `given` is the names of the fields the user set.
    """
    if not (config.is_user_model and config.data is not None):
        return config
    changes: dict[str, Any] = {}
    if "rule" not in given:
        if "label" in given:
            changes["rule"] = "example-loss"
        elif "target" in given or "sign" in given:
            changes["rule"] = "prediction"
        else:
            changes["rule"] = "batch-loss"
    if "probe" not in given:
        changes["probe"] = "heldout"
    if not changes:
        return config
    result = dataclasses.replace(config, **changes)
    result.check()
    return result
