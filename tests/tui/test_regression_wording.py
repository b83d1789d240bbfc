"""A regression model's outputs are values: never called classes, never given an accuracy axis."""

from __future__ import annotations

import numpy as np

from gradtui.lab.history import Dims, History
from gradtui.lab.results import ModelSummary
from gradtui.tui.widgets import series
from gradtui.tui.widgets.status import format_prediction


def _summary(activation: str, loss: str) -> ModelSummary:
    return ModelSummary("m", 6, (5,), (1,), activation, loss, ("dense",), "cpu", "none", "1 input", mode="infer")


def test_status_line_says_value_for_a_regression_and_class_for_a_sigmoid() -> None:
    assert format_prediction(np.array([0.8644]), regression=True) == "probe value=0.8644"
    assert format_prediction(np.array([0.8644])) == "probe p=0.8644 (class 1)"
    assert format_prediction(np.array([1.0, 2.0, 3.0, 4.0]), regression=True) == "probe values 1, 2, 3, …"


def test_model_line_says_values_only_for_a_linear_output_under_mse() -> None:
    assert _summary("linear", "mean squared error").regression
    assert "out 1 linear values, loss mean squared error, mode infer" in _summary("linear", "mean squared error").line()
    assert not _summary("sigmoid", "mean squared error").regression
    assert not _summary("linear", "binary cross-entropy").regression  # logits of a classifier


def test_regression_held_out_plot_is_the_loss_alone() -> None:
    history = History(Dims(1, 1, 1))
    history.append({"step": np.arange(3), "eval_loss": np.array([4.0, 3.0, 2.0])})
    for regression in (True, None):  # told, or seen
        loss = series.heldout(history, "eval_loss", regression=regression)
        assert [s.label for s in loss.series] == ["loss"] and "no accuracy" in loss.note
        for column in ("eval_acc", "acc_change", "flipped"):  # empty panels that say why
            chart = series.heldout(history, column, regression=regression)
            assert not chart.series and "the outputs are values" in chart.note
