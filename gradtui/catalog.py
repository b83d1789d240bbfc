"""The registries' names and needs, without TensorFlow: what the config offers and checks.

Each fixed choice is a `Literal` type and the tuple of its values. The rules and optimizers are
listed here by name with what they need (data, a label) and how they are built (arguments); the
TensorFlow side of each (objective, Keras class) lives in lab/rules.py and lab/optimizers.py,
keyed by these names, and a test checks that the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

BuiltinModel = Literal["mlp", "cnn", "vgg16", "mobilenetv2"]
Weights = Literal["auto", "imagenet", "none"]
ProbeWord = Literal["random", "heldout"]
Sign = Literal["descend", "ascend"]
Loss = Literal["auto", "bce", "sce", "mse"]
Mode = Literal["auto", "train", "infer"]
HoldoutRows = Literal["last", "random"]  # last: validation_split's rows (the last in file order); random: seeded
RuleName = Literal["prediction", "example-loss", "batch-loss", "random"]
OptimizerName = Literal["sgd", "momentum", "nesterov", "adam", "rmsprop", "adagrad"]

BUILTIN_MODELS: tuple[BuiltinModel, ...] = get_args(BuiltinModel)
BACKBONES = ("vgg16", "mobilenetv2")  # the keras.applications models (input shape, ImageNet weights)
MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
WEIGHTS: tuple[Weights, ...] = get_args(Weights)
PROBE_WORDS: tuple[ProbeWord, ...] = get_args(ProbeWord)
SIGNS: tuple[Sign, ...] = get_args(Sign)
LOSSES: tuple[Loss, ...] = get_args(Loss)
MODES: tuple[Mode, ...] = get_args(Mode)
HOLDOUT_ROWS: tuple[HoldoutRows, ...] = get_args(HoldoutRows)


@dataclass(frozen=True)
class RuleSpec:
    """An update rule as the config sees it: its name and what it needs before a step can run."""

    name: RuleName
    needs_data: bool = False  # trains on a data set's rows
    needs_label: bool = False  # a loss against --label on the probe rows
    is_loss: bool = False  # a loss on labelled rows: `--mode auto` runs its gradient in training mode, as fit does


RULE_SPECS: tuple[RuleSpec, ...] = (
    RuleSpec("prediction"),
    RuleSpec("example-loss", needs_label=True, is_loss=True),
    RuleSpec("batch-loss", needs_data=True, is_loss=True),
    RuleSpec("random"),
)
RULES: tuple[RuleName, ...] = tuple(spec.name for spec in RULE_SPECS)
RULE_BY_NAME: dict[str, RuleSpec] = {spec.name: spec for spec in RULE_SPECS}
LOSS_RULES: tuple[RuleName, ...] = tuple(spec.name for spec in RULE_SPECS if spec.is_loss)


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer as the config sees it: its name and the fixed arguments it is built with."""

    name: OptimizerName
    arguments: dict[str, Any] = field(default_factory=dict)


OPTIMIZER_SPECS: tuple[OptimizerSpec, ...] = (
    OptimizerSpec("sgd"),
    OptimizerSpec("momentum", {"momentum": 0.9}),  # the momentum is --momentum's (default 0.9)
    OptimizerSpec("nesterov", {"momentum": 0.9, "nesterov": True}),
    OptimizerSpec("adam"),
    OptimizerSpec("rmsprop"),
    OptimizerSpec("adagrad"),
)
OPTIMIZERS: tuple[OptimizerName, ...] = tuple(spec.name for spec in OPTIMIZER_SPECS)
OPTIMIZER_BY_NAME: dict[str, OptimizerSpec] = {spec.name: spec for spec in OPTIMIZER_SPECS}
OptimizerChoice = Literal["auto", OptimizerName]  # auto: the model file's compile config, else sgd
OPTIMIZER_CHOICES: tuple[str, ...] = ("auto", *OPTIMIZERS)
