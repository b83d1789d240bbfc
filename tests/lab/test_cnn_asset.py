"""The shipped offline demo model must load, score what cnn.json says, and stay small."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradtui.lab.cnn import WEIGHTS, build_cnn, load_cnn
from gradtui.lab.runtime import keras
from gradtui.lab.shapes import CLASS_NAMES

pytestmark = pytest.mark.compat  # the shipped weights load and score in this Keras

ASSETS = Path(__file__).resolve().parents[2] / "assets"
MODEL = ASSETS / WEIGHTS
DATA = ASSETS / "shapes.npz"
INFO = ASSETS / "cnn.json"


@pytest.fixture(scope="module")
def info() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(INFO.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return load_cnn(MODEL)


@pytest.fixture(scope="module")
def test_set() -> tuple[np.ndarray, np.ndarray]:
    with np.load(DATA) as data:
        return data["x_test"], data["y_test"]


def test_file_sizes() -> None:
    assert MODEL.stat().st_size <= 100 * 1024
    assert DATA.stat().st_size <= 400 * 1024


def test_data_layout() -> None:
    with np.load(DATA) as data:
        assert set(data.files) == {"x_train", "y_train", "x_test", "y_test"}
        for split in ("train", "test"):
            x, y = data[f"x_{split}"], data[f"y_{split}"]
            assert x.dtype == np.uint8
            assert x.shape[1:] == (16, 16, 1)
            assert y.shape == (len(x),)
            assert int(y.min()) >= 0
            assert int(y.max()) < len(CLASS_NAMES)
        assert len(data["y_test"]) >= 500


def test_model_structure(model: keras.Model) -> None:
    assert model.name == "cnn"
    assert tuple(model.input_shape) == (None, 16, 16, 1)
    assert tuple(model.output_shape) == (None, len(CLASS_NAMES))
    assert model.get_layer("features").units == 32
    assert model.get_layer("classifier").units == len(CLASS_NAMES)


def test_heldout_accuracy_matches_record(
    model: keras.Model, test_set: tuple[np.ndarray, np.ndarray], info: dict[str, Any]
) -> None:
    x_u8, y = test_set
    probs = np.asarray(model.predict(x_u8.astype(np.float32) / 255.0, verbose=0))
    accuracy = float(np.mean(probs.argmax(axis=1) == y))
    assert accuracy >= 0.95
    assert accuracy == pytest.approx(info["heldout_accuracy"], abs=1e-6)
    assert info["heldout_examples"] == len(y)


def test_record_fields(info: dict[str, Any]) -> None:
    assert info["class_names"] == list(CLASS_NAMES)
    assert info["regenerate"] == "python scripts/make_cnn.py"
    for key in ("train_examples", "epochs", "tensorflow", "keras", "date"):
        assert key in info


def test_weights_file_holds_exactly_the_built_models_weights() -> None:
    """One float32 array per weight of build_cnn(), keyed by its path: nothing missing, nothing extra."""
    expected = {weight.path: tuple(weight.shape) for weight in build_cnn().weights}
    with np.load(MODEL, allow_pickle=False) as npz:
        stored = {key: tuple(npz[key].shape) for key in npz.files}
        assert {npz[key].dtype for key in npz.files} == {np.dtype(np.float32)}
    assert stored == expected


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda arrays: arrays.pop("features/bias"), "has no array for features/bias"),
        (lambda arrays: arrays.update({"features/bias": np.zeros(31, np.float32)}), "is (31,), the model needs (32,)"),
        (lambda arrays: arrays.update({"extra/kernel": np.zeros(1, np.float32)}), "does not use: extra/kernel"),
    ],
)
def test_a_weights_file_that_does_not_fit_is_refused_by_name(
    tmp_path: Path, change: Callable[[dict[str, np.ndarray]], object], message: str
) -> None:
    with np.load(MODEL, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    change(arrays)
    broken = tmp_path / WEIGHTS
    np.savez(broken, **arrays)
    with pytest.raises(ValueError, match=re.escape(message)):
        load_cnn(broken)
