"""Tiny models the tests build themselves, saved as .keras files the session loads like a user's."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest


@pytest.fixture(scope="session")
def softmax_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 inputs -> Dense(4, tanh) -> Dense(3, softmax): a classifier unlike any built-in."""
    from gradtui.lab.runtime import keras

    keras.utils.set_random_seed(11)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(4, activation="tanh", name="h"),
            keras.layers.Dense(3, activation="softmax", name="out"),
        ]
    )
    path = tmp_path_factory.mktemp("models") / "softmax.keras"
    model.save(path)
    return path


@pytest.fixture(scope="session")
def softmax_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((40, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5).astype(np.int64)
    xt = rng.standard_normal((30, 6)).astype(np.float32)
    yt = (xt[:, 0] > 0).astype(np.int64) + (xt[:, 1] > 0.5).astype(np.int64)
    path = tmp_path_factory.mktemp("data") / "softmax.npz"
    np.savez(path, x_train=x, y_train=y, x_test=xt, y_test=yt)
    return path


@pytest.fixture(scope="session")
def probe_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("probe") / "probe.npy"
    np.save(path, np.random.default_rng(9).standard_normal((2, 6)).astype(np.float32))
    return path


Edit = Callable[[dict[str, np.ndarray], dict[str, Any]], None]


@pytest.fixture
def resaved(tmp_path: Path) -> Callable[[Path, Edit], Path]:
    """A copy of a saved session file with its arrays and meta JSON edited, as an older gradtui (or a
    hand) would have written it: `resaved(path, edit)` -> the new file's path."""

    def resave(saved: Path, edit: Edit) -> Path:
        with np.load(saved) as npz:
            arrays = {k: npz[k] for k in npz.files}
        meta = json.loads(str(arrays["meta"]))
        edit(arrays, meta)
        arrays["meta"] = np.asarray(json.dumps(meta))
        path = tmp_path / f"resaved-{saved.stem}.npz"
        np.savez(path, **arrays)
        return path

    return resave
