"""Notes that say why the numbers look as they do: the rule's own at build, the measurements' after steps."""

from __future__ import annotations

import numpy as np

from gradtui.config import LabConfig
from gradtui.lab import rules
from gradtui.lab.history import History

ROUNDING = 1e-6  # a gradient with |g| <= ROUNDING * max(|w|, 1) is zero to float32 rounding


def rounding_level(weight_norm: float) -> float:
    """The largest gradient norm that is still float32 rounding for weights of this norm."""
    return ROUNDING * max(weight_norm, 1.0)


def for_rule(config: LabConfig, activation: str, outputs: int) -> list[str]:
    """What the rule explains about this model before any step (e.g. a softmax sum has no gradient)."""
    return rules.BY_NAME[config.rule].explain(config, activation, outputs)


def after_steps(history: History, notes: list[str], step: int, activation: str) -> list[str]:
    """Notes only the latest recorded step can show (each said once), with the cause they point to."""
    g = float(np.linalg.norm(history.last("grad_norm").astype(np.float64)))
    w = float(np.linalg.norm(history.last("weight_norm").astype(np.float64)))
    explained = any(n.startswith(rules.SOFTMAX_SUM_NOTE) for n in notes)
    if g > rounding_level(w) or explained or any(n.startswith("The gradient is (near) zero") for n in notes):
        return []
    head = f"The gradient is (near) zero at step {step} (|g| = {g:.2e}): "
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
