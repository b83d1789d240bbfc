"""The shapes data names its classes (`vline`, `hline`...), so legends say what the notes say."""

from __future__ import annotations

import numpy as np

from gradtui.config import LabConfig
from gradtui.lab import data
from gradtui.lab.history import Dims, History
from gradtui.lab.shapes import CLASS_NAMES
from gradtui.tui.widgets import series


def test_the_shipped_shapes_name_their_classes_and_a_new_head_does_not() -> None:
    shapes = data.load_data(LabConfig.parse({"model": "cnn"}), (16, 16, 1), 10, "softmax", "sce")
    assert shapes is not None and shapes.classes == CLASS_NAMES
    assert data.class_names(shapes, 10, new_head=False) == CLASS_NAMES
    assert data.class_names(shapes, 10, new_head=True) == ()  # an untrained head's output 1 is no vline yet
    assert data.class_names(shapes, 3, new_head=False) == ()  # names that do not fit the outputs are dropped
    teacher = data.load_data(LabConfig.parse({"model": "mlp"}), (5,), 1, "sigmoid", "bce")
    assert teacher is not None and teacher.classes == ()


def test_the_prediction_legend_and_forecast_title_use_the_names() -> None:
    h = History(Dims(1, 10, 1))
    pred = np.full((3, 1, 10), 0.01)
    pred[:, 0, 1] = 0.91  # vline
    h.append({"step": np.arange(3), "predictions": pred, "forecast": pred * 0, "actual": pred * 0})
    legend = [s.label for s in series.predictions(h, class_names=CLASS_NAMES, activation="softmax").series]
    assert "vline" in legend and not any(label.startswith("class ") for label in legend)
    assert series.forecast(h, class_names=CLASS_NAMES).title.endswith("probe 0 vline")
