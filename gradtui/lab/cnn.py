"""The shipped demo CNN: its architecture in code, its trained weights as plain arrays.

A whole-model `.keras` file records layer configs in the saving Keras's own format, which older
Keras releases (the newest one pip gives Python 3.10) refuse to read. Building the layers here and
loading only the numbers works on every Keras the package allows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gradtui.lab.runtime import keras
from gradtui.lab.shapes import CLASS_NAMES

INPUT_SHAPE = (16, 16, 1)
WEIGHTS = "cnn.weights.npz"


def build_cnn() -> keras.Model:
    """Two conv/pool blocks, "features" (the last hidden layer), "classifier" (softmax); untrained.

    Every layer is named, so the weights' keys do not depend on what else the process built."""
    inputs = keras.Input(INPUT_SHAPE, name="image")
    h = keras.layers.Conv2D(8, 3, activation="relu", padding="same", name="conv2d")(inputs)
    h = keras.layers.MaxPooling2D(name="max_pooling2d")(h)
    h = keras.layers.Conv2D(16, 3, activation="relu", padding="same", name="conv2d_1")(h)
    h = keras.layers.MaxPooling2D(name="max_pooling2d_1")(h)
    h = keras.layers.Flatten(name="flatten")(h)
    h = keras.layers.Dense(32, activation="relu", name="features")(h)
    outputs = keras.layers.Dense(len(CLASS_NAMES), activation="softmax", name="classifier")(h)
    return keras.Model(inputs, outputs, name="cnn")


def save_weights(model: keras.Model, path: Path) -> None:
    """Every weight as a float32 array keyed by its path ("features/kernel")."""
    arrays: dict[str, Any] = {weight.path: np.asarray(weight.numpy(), dtype=np.float32) for weight in model.weights}
    with path.open("wb") as handle:
        np.savez_compressed(handle, **arrays)


def load_cnn(path: Path) -> keras.Model:
    """build_cnn() with the weights from `path`; ValueError naming the first key or shape that differs."""
    model = build_cnn()
    with np.load(path, allow_pickle=False) as npz:
        stored = set(npz.files)
        for weight in model.weights:
            if weight.path not in stored:
                raise ValueError(f"{path.name} has no array for {weight.path}")
            array = npz[weight.path]
            if tuple(array.shape) != tuple(weight.shape):
                raise ValueError(
                    f"{path.name}: {weight.path} is {tuple(array.shape)}, the model needs {tuple(weight.shape)}"
                )
            weight.assign(array)
            stored.discard(weight.path)
    if stored:
        raise ValueError(f"{path.name} has arrays the model does not use: {', '.join(sorted(stored))}")
    return model
