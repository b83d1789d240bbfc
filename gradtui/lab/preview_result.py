"""The step preview's result, plain NumPy (preview.py computes it; the TUI draws it without TensorFlow)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ALPHAS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)
OFF_BY = 0.10  # the linear forecast is "off" once its error passes this fraction of the change it forecasts


@dataclass(frozen=True)
class Preview:
    """Along w + α·Δw for each α (α = 1: this step). Predictions are inference-mode, like the probes;
    the loss and objective are the rule's, in the step's own mode and rows."""

    step: int  # the step it previews
    alphas: np.ndarray  # (A,)
    predictions: np.ndarray  # (A, P, K) at w + α·Δw
    linear: np.ndarray  # (A, P, K): y + α·J·Δw
    objective: np.ndarray  # (A,) the scalar the rule differentiates
    objective_linear: np.ndarray  # (A,)
    objective_quadratic: np.ndarray  # (A,)
    loss: np.ndarray  # (A,) the rule's loss (NaN where the rule has none)
    curvature: float  # uᵀHu / uᵀu of the objective along u = Δw
    stability: float  # 2/η: above it, a plain gradient step overshoots along this direction
    update_norm: float  # |Δw|
    linear_until: float | None  # the first α whose predicted change is off the linear one by > 10%
    objective_linear_until: float | None

    def table(self) -> list[str]:
        """The preview as text lines (for `gradtui run --preview`): probe 0's output that is largest at
        α = 0 and its first-order line, the objective with its lines, the loss, the largest gap of any
        probe output from its line."""
        k = int(np.argmax(self.predictions[0, 0]))
        head = f"p0[{k}]"
        lines = [
            f"{'alpha':>6} {head:>10} {'linear':>10} {'objective':>11} {'linear':>11} {'2nd order':>11} "
            f"{'loss':>10} {'max gap':>9}"
        ]
        for i, a in enumerate(self.alphas):
            gap = float(np.max(np.abs(self.predictions[i] - self.linear[i])))
            mark = "  <- this step" if a == 1.0 else ""
            lines.append(
                f"{a:>6.3g} {self.predictions[i, 0, k]:>10.5g} {self.linear[i, 0, k]:>10.5g} "
                f"{self.objective[i]:>11.5g} {self.objective_linear[i]:>11.5g} {self.objective_quadratic[i]:>11.5g} "
                f"{_g(self.loss[i]):>10} {gap:>9.3g}{mark}"
            )
        until = f"about {self.linear_until:g}x this step" if self.linear_until is not None else "every alpha shown"
        lines.append(f"probe predictions linear (within 10%) until {until}")
        lines.append(f"curvature along the step u'Hu/u'u = {self.curvature:.4g}; 2/lr = {self.stability:.4g}")
        return lines


def _g(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:.5g}"


def first_off(alphas: np.ndarray, actual: np.ndarray, linear: np.ndarray) -> float | None:
    """The first α > 0 where |actual - linear| > 10% of |linear| (norms over every output)."""
    for i, a in enumerate(alphas):
        if a <= 0:
            continue
        err = float(np.linalg.norm(np.ravel(actual[i] - linear[i])))
        if err > OFF_BY * float(np.linalg.norm(np.ravel(linear[i]))):
            return float(a)
    return None
