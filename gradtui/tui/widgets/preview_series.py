"""The Preview tab's charts, from a Preview (plain NumPy): along w + α·Δw, a probe's prediction against
its first-order line, and the rule's objective against its first- and second-order curves; α = 1 (this
step) marked, and where the linear forecast stops holding named in the title."""

from __future__ import annotations

import math

import numpy as np

from gradtui.lab.preview_result import OFF_BY, Preview
from gradtui.tui.widgets.series import Chart, Mark, Series

ALPHA = "α (multiples of this step)"
SHOWN_OUTPUTS = 2  # a softmax probe's outputs drawn: those largest at α = 0


def linear_note(until: float | None) -> str:
    """`linear until about 2.5x this step`, or that it held for every α shown."""
    off = f"{OFF_BY:.0%}"
    if until is None:
        return f"linear (within {off}) for every α shown"
    return f"linear until about {until:g}x this step"


def predictions(preview: Preview, probe: int, classes: tuple[str, ...] = ()) -> Chart:
    """The probe's prediction along the update (solid) and its first-order line y + α·J·Δw."""
    chart = Chart(f"probe {probe} along the update", "prediction", xlabel=ALPHA)
    chart.xmarks.append(Mark(1.0, "this step"))
    chart.note = linear_note(preview.linear_until)
    if probe >= preview.predictions.shape[1]:
        return chart
    a = preview.alphas
    first = preview.predictions[0, probe]
    order = [int(k) for k in np.argsort(-first, kind="stable")[:SHOWN_OUTPUTS]] if first.size > 1 else [0]
    for n, k in enumerate(order):
        name = (classes[k] if k < len(classes) else f"class {k}") if first.size > 1 else "prediction"
        chart.series.append(Series(name, a, preview.predictions[:, probe, k], hue=2 * n))
        chart.series.append(Series(f"{name} first order", a, preview.linear[:, probe, k], hue=2 * n + 1))
    return chart


def objective(preview: Preview) -> Chart:
    """The rule's objective along the update, its first-order line and its second-order curve (one
    Hessian-vector product along Δw), and the loss where the rule has one that differs."""
    chart = Chart("objective along the update", "objective", xlabel=ALPHA)
    chart.xmarks.append(Mark(1.0, "this step"))
    chart.note = linear_note(preview.objective_linear_until)
    a = preview.alphas
    chart.series.append(Series("objective", a, preview.objective, hue=0))
    chart.series.append(Series("first order", a, preview.objective_linear, hue=1))
    chart.series.append(Series("second order", a, preview.objective_quadratic, hue=2))
    loss = preview.loss
    if np.isfinite(loss).all() and not np.allclose(loss, preview.objective):
        chart.series.append(Series("loss", a, loss, hue=3))
    return chart


def curvature_line(preview: Preview, width: int = 200) -> str:
    """The step, where the probes stop being linear, and the curvature along the step beside the
    stability limit of a plain gradient step (shorter at narrow widths)."""
    c, limit = preview.curvature, preview.stability
    over = math.isfinite(c) and math.isfinite(limit) and c > limit
    if width < 150:
        return (
            f"step {preview.step}: {linear_note(preview.linear_until)} · uᵀHu/uᵀu {c:.4g} vs 2/η {limit:.4g}"
            f"{' (overshoots)' if over else ''} · │ α=1"
        )
    verdict = ""
    if math.isfinite(c) and math.isfinite(limit):
        verdict = " (above it: a plain step overshoots)" if over else " (below it: a plain step does not overshoot)"
    return (
        f"step {preview.step} previewed (│ at α = 1: this step): probes {linear_note(preview.linear_until)} · "
        f"curvature along it uᵀHu/uᵀu = {c:.4g} beside 2/η = {limit:.4g}{verdict}"
    )
