"""The TensorFlow side of the update rules: what each one differentiates (its notes are explain.py's).

The rules' names and needs (data, a label, a loss) are catalog.RULE_SPECS, which the config reads
without TensorFlow; each Rule here is keyed by one of those names and reads its needs from there.
A rule's objective is a plain TensorFlow function, so the compiled step and an eager reference can
share it. TensorFlow comes in inside the functions (through lab/runtime.py), never at import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gradtui.catalog import RULE_BY_NAME, RuleName, RuleSpec
from gradtui.errors import ConfigError

if TYPE_CHECKING:
    from gradtui.config import LabConfig

LOSS_TITLES = {"bce": "binary cross-entropy", "sce": "sparse categorical cross-entropy", "mse": "mean squared error"}


@dataclass(frozen=True)
class RuleInputs:
    """What a rule's objective may use, inside the tape (tensors and the loss function)."""

    model: Any
    x_probe: Any
    y: Any  # the probe predictions at the current weights
    probe_labels: Any
    loss_fn: Callable[[Any, Any], Any]
    target: str
    batch: Callable[[], tuple[Any, Any]] | None  # this step's training rows (x, y); None without data
    training: bool = False  # the gradient's forward pass runs in training mode (BatchNorm, Dropout)

    def probe_forward(self) -> Any:
        """The probe predictions the objective differentiates: `y` itself, or a training-mode pass."""
        return self.model(self.x_probe, training=True) if self.training else self.y


@dataclass(frozen=True)
class Rule:
    name: RuleName  # a name of catalog.RULE_SPECS, which says what the rule needs
    objective: Callable[[RuleInputs], tuple[Any, Any]]  # (the scalar to differentiate, the loss or None)
    probe_is_constant: bool = False  # the objective does not differentiate the probe: reuse its forward pass
    objective_is_output: bool = False  # with one probe row and one output, the objective IS that output
    direction: Callable[[Sequence[Any], Any, int], list[Any]] | None = None  # (grads, step, seed) -> applied

    @property
    def spec(self) -> RuleSpec:
        """The rule's names and needs, from the catalog."""
        return RULE_BY_NAME[self.name]

    @property
    def needs_data(self) -> bool:
        return self.spec.needs_data

    @property
    def needs_label(self) -> bool:
        return self.spec.needs_label

    @property
    def is_loss(self) -> bool:
        return self.spec.is_loss


def _probe_loss(i: RuleInputs) -> tuple[Any, Any]:
    loss = i.loss_fn(i.probe_labels, i.probe_forward())
    return loss, loss


def _batch_loss(i: RuleInputs) -> tuple[Any, Any]:
    assert i.batch is not None  # the rule needs data: checked before the graph is built
    x, y = i.batch()
    loss = i.loss_fn(y, i.model(x, training=i.training))
    return loss, loss


def _prediction(i: RuleInputs) -> tuple[Any, None]:
    return prediction_objective(i.probe_forward(), i.target), None


def random_direction(grads: Sequence[Any], step: Any, seed: int) -> list[Any]:
    """A seeded random direction with the same global norm as `grads`: the control for the prediction rule."""
    from gradtui.lab.runtime import tf

    step = tf.cast(step, tf.int64)
    raw = [
        tf.random.stateless_normal(
            tf.shape(g), seed=tf.stack([tf.constant(seed + 7919 * j, tf.int64), step]), dtype=g.dtype
        )
        for j, g in enumerate(grads)
    ]
    scale = tf.linalg.global_norm(list(grads)) / tf.maximum(tf.linalg.global_norm(raw), 1e-30)
    return [r * scale for r in raw]


RULES: tuple[Rule, ...] = (
    Rule("prediction", _prediction, objective_is_output=True),
    Rule("example-loss", _probe_loss),
    Rule("batch-loss", _batch_loss, probe_is_constant=True),
    Rule("random", _prediction, direction=random_direction),
)
BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}


def check_data(config: LabConfig, has_data: bool) -> None:
    """A rule that trains on rows needs a data set."""
    if BY_NAME[config.rule].needs_data and not has_data:
        raise ConfigError("data", f"the {config.rule} rule needs a data set: --data PATH.npz")


def loss_name(config: LabConfig, activation: str, outputs: int, compiled: str | None = None) -> str:
    """`auto` is the loss the model was compiled with (`compiled`), else it follows the output: sigmoid
    (any number of them, multi-label) -> bce, softmax -> sce, anything else -> mse."""
    if config.loss != "auto":
        return config.loss
    if compiled is not None:
        return compiled
    if activation == "sigmoid":
        return "bce"
    if activation == "softmax":
        return "sce"
    return "mse"


def make_loss(name: str, from_logits: bool = False, per_row: bool = False) -> Callable[[Any, Any], Any]:
    """The Keras loss; `from_logits` where a cross-entropy is asked of a linear output (its logits);
    `per_row` gives one value per row (to average over a test set evaluated in batches)."""
    from gradtui.lab.runtime import keras

    reduction = {"reduction": None} if per_row else {}
    if name == "bce":
        return keras.losses.BinaryCrossentropy(from_logits=from_logits, **reduction)
    if name == "sce":
        return keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits, **reduction)
    return keras.losses.MeanSquaredError(**reduction)


def from_logits(loss: str, activation: str) -> bool:
    """A cross-entropy on an output without sigmoid/softmax reads that output as logits."""
    return loss in ("bce", "sce") and activation not in ("sigmoid", "softmax")


def check_against_model(config: LabConfig, activation: str, outputs: int) -> None:
    """Rules that need the model's output size: class targets and labels must exist."""
    if config.target.startswith("class:"):
        k = int(config.target.split(":")[1])
        if k >= outputs:
            raise ConfigError(
                "target", f"class {k} is out of range: the model has {outputs} output(s), 0..{outputs - 1}"
            )
    if config.loss == "sce" and outputs < 2:
        raise ConfigError("loss", "sparse categorical cross-entropy needs at least 2 outputs")
    if config.loss == "bce" and activation == "softmax":
        raise ConfigError("loss", "binary cross-entropy does not fit a softmax output (use sce or auto)")
    loss = loss_name(config, activation, outputs)
    if config.label is not None and BY_NAME[config.rule].needs_label:
        if outputs == 1 and loss == "bce" and config.label > 1:
            raise ConfigError(
                "label", f"label {config.label} is out of range: 0..1 for one output with binary cross-entropy"
            )
        if outputs > 1 and config.label >= outputs:
            raise ConfigError("label", f"label {config.label} is out of range: 0..{outputs - 1} for this model")


def prediction_objective(y: Any, target: str) -> Any:
    """The scalar whose gradient the prediction rule applies.

    `sum` is what tape.gradient does with a non-scalar target: it sums every output of every row.
    """
    from gradtui.lab.runtime import tf

    if target == "sum":
        return tf.reduce_sum(y)
    if target == "argmax":
        picked = tf.argmax(tf.stop_gradient(y), axis=-1, output_type=tf.int32)
        return tf.reduce_sum(tf.gather(y, picked, axis=-1, batch_dims=1))
    k = int(target.split(":")[1])
    return tf.reduce_sum(y[:, k])
