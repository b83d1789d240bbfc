"""Registry of update rules: what each one differentiates, what it needs, and what it explains.

A rule's objective is a plain TensorFlow function, so the compiled step and an eager reference can
share it. Nothing here imports TensorFlow at module level: config.py reads the registry (the rule
choices, which rules need a label) before the 3-second import, so TF comes in inside the functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gradtui.config import LabConfig

LOSS_TITLES = {"bce": "binary cross-entropy", "sce": "sparse categorical cross-entropy", "mse": "mean squared error"}
SOFTMAX_SUM_NOTE = "Zero gradient: the target is the sum of a softmax output"


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
    name: str
    objective: Callable[[RuleInputs], tuple[Any, Any]]  # (the scalar to differentiate, the loss or None)
    needs_data: bool = False
    needs_label: bool = False
    probe_is_constant: bool = False  # the objective does not differentiate the probe: reuse its forward pass
    objective_is_output: bool = False  # with one probe row and one output, the objective IS that output
    is_loss: bool = False  # a loss on labelled rows: `--mode auto` runs its gradient in training mode, as fit does
    direction: Callable[[Sequence[Any], Any, int], list[Any]] | None = None  # (grads, step, seed) -> applied
    explain: Callable[[LabConfig, str, int], list[str]] = lambda config, activation, outputs: []


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


def _softmax_sum(config: LabConfig, activation: str, outputs: int) -> list[str]:
    if config.target == "sum" and activation == "softmax":
        return [
            f"{SOFTMAX_SUM_NOTE}, and softmax outputs sum to 1 for "
            "every input and every weight, so d(sum)/dw = 0 exactly and nothing moves (the tiny gradient "
            "norms measured are float32 rounding, marked so on the Gradients plot). Use --target class:K or "
            "argmax to move a prediction."
        ]
    return []


def _prediction_notes(config: LabConfig, activation: str, outputs: int) -> list[str]:
    notes = _softmax_sum(config, activation, outputs)
    if config.target == "sum" and outputs > 1 and activation != "softmax":
        notes.append(
            f"Target sum adds all {outputs} outputs of every probe row, as tape.gradient does with a non-scalar target."
        )
    return notes


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
    Rule("prediction", _prediction, objective_is_output=True, explain=_prediction_notes),
    Rule("example-loss", _probe_loss, needs_label=True, is_loss=True),
    Rule("batch-loss", _batch_loss, needs_data=True, probe_is_constant=True, is_loss=True),
    Rule("random", _prediction, direction=random_direction, explain=_softmax_sum),
)
NAMES: tuple[str, ...] = tuple(rule.name for rule in RULES)
BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}


def check_data(config: LabConfig, has_data: bool) -> None:
    """A rule that trains on rows needs a data set."""
    from gradtui.config import ConfigError

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
    from gradtui.config import ConfigError

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
