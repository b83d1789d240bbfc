"""Notes that say why the numbers look as they do: the rule's own at build, the measurements' after steps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradtui.config import LabConfig
from gradtui.lab.history import History

SOFTMAX_SUM_NOTE = "Zero gradient: the target is the sum of a softmax output"
ROUNDING = 1e-6  # a gradient with |g| <= ROUNDING * max(|w|, 1) is zero to float32 rounding


def rounding_level(weight_norm: float) -> float:
    """The largest gradient norm that is still float32 rounding for weights of this norm."""
    return ROUNDING * max(weight_norm, 1.0)


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


# The notes each rule gives before any step, keyed by catalog.RULES names (rules without notes give none).
RULE_NOTES: dict[str, Callable[[LabConfig, str, int], list[str]]] = {
    "prediction": _prediction_notes,
    "random": _softmax_sum,
}


def for_rule(config: LabConfig, activation: str, outputs: int) -> list[str]:
    """What the rule explains about this model before any step (e.g. a softmax sum has no gradient)."""
    notes = RULE_NOTES.get(config.rule)
    return notes(config, activation, outputs) if notes else []


FORECAST_NOTE = "The forecast J(w)·Δw covers the trainable weights only"
ZERO_GRADIENT_NOTE = "The gradient is (near) zero"


def for_mode(config: LabConfig, model: Any, held_out: bool) -> list[str]:
    """What the mode changes about the numbers: moving statistics outside the forecast; no held-out set."""
    notes = []
    moving = [v for v in model.non_trainable_variables if "seed_generator" not in str(getattr(v, "path", v.name))]
    if config.effective_mode == "train" and moving:
        notes.append(
            f"{FORECAST_NOTE}: in training mode the {len(moving)} moving statistics (BatchNormalization) "
            "also change each step, and their part of the actual change is not forecast."
        )
    if config.data is not None and not held_out:
        notes.append(
            "No held-out set: every row of the data trains and held-out figures are absent "
            "(--holdout FRACTION sets some rows aside; or add x_test/y_test to the .npz)."
        )
    return notes


def is_about_steps(note: str) -> bool:
    """Notes that described the steps under earlier settings."""
    return note.startswith(ZERO_GRADIENT_NOTE)


def after_steps(history: History, notes: list[str], step: int, activation: str) -> list[str]:
    """Notes only the latest recorded step can show (each said once), with the cause they point to."""
    g = float(np.linalg.norm(history.last("grad_norm").astype(np.float64)))
    w = float(np.linalg.norm(history.last("weight_norm").astype(np.float64)))
    explained = any(n.startswith(SOFTMAX_SUM_NOTE) for n in notes)
    if g > rounding_level(w) or explained or any(n.startswith(ZERO_GRADIENT_NOTE) for n in notes):
        return []
    head = f"{ZERO_GRADIENT_NOTE} at step {step} (|g| = {g:.2e}): "
    return [head + _zero_gradient_cause(history, activation)]


def _zero_gradient_cause(history: History, activation: str) -> str:
    loss = float(history.last("loss"))  # NaN for rules without a loss
    prediction = history.last("predictions")
    if np.isfinite(loss) and loss < 1e-4:
        return f"the loss is {loss:.2g}, so the model already fits its labels and there is nothing left to descend."
    if activation in ("sigmoid", "softmax") and (
        np.max(prediction) > 1 - 1e-4 or (activation == "sigmoid" and np.min(prediction) < 1e-4)
    ):
        return (
            f"the {activation} output is saturated (a probability within 1e-4 of 0 or 1), where "
            "its slope vanishes, so the update cannot move it."
        )
    return (
        "no path from the weights to the output is active for these inputs (e.g. every ReLU "
        "feeding the output is off), so the update cannot move it."
    )
