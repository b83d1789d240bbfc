"""Probe inputs and data sets: generated per built-in model, shipped for the CNN, or the user's files.

NumPy only: arrays go to TensorFlow in the session. Shapes are checked against the model here so
a misfit is a one-line error naming the flag, not a shape error inside a compiled step.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gradtui.config import ConfigError, LabConfig
from gradtui.errors import first_line
from gradtui.lab import shapes
from gradtui.resources import asset

MAX_EVAL = 1000  # held-out examples measured per evaluation


@dataclass
class DataSet:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    description: str
    kind: str = "class"  # labels: class (numbers, sce), binary (0/1, one output), hot (one-/multi-hot rows), values


def _teacher_task(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs like the article's tf.random.normal((100, 5)), labels from a fixed linear teacher.

    The article's labels are coin flips, which nothing can learn; a teacher gives held-out accuracy
    a meaning while keeping its shapes.
    """
    rng = np.random.default_rng(seed)
    w = np.random.default_rng(1234).standard_normal(5)
    x = rng.standard_normal((n, 5)).astype(np.float32)
    y = (x @ w + 0.3 * rng.standard_normal(n) > 0).astype(np.float32)
    return x, y.reshape(n, 1)


def _labels_for(y: np.ndarray, outputs: int, loss: str, flag: str, what: str) -> tuple[np.ndarray, str]:
    """Check labels fit the model's output and bring them to the loss's shape; also say what they are.

    Class numbers become one-hot rows where the loss compares whole rows (bce or mse on several
    outputs), so a softmax model can be trained with mse and a multi-label sigmoid model with class
    numbers or multi-hot rows.
    """
    if y.dtype.kind not in "fiub":
        raise ConfigError(flag, f"{what} is not numeric (dtype {y.dtype})")
    if y.ndim == 0 or len(y) == 0:
        raise ConfigError(flag, f"{what} is empty" if y.ndim else f"{what} is a single number, not one label per row")
    values = y.astype(np.float64, copy=False)
    if not np.all(np.isfinite(values)):
        raise ConfigError(flag, f"{what} has NaN or infinite labels")
    one_per_row = y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)
    numbers = one_per_row and bool(np.all(values == np.round(values)))
    in_range = numbers and values.min() >= 0 and values.max() < outputs
    if loss == "sce":
        if (
            y.ndim == 2
            and y.shape[1] == outputs > 1
            and np.all(np.isin(values, (0.0, 1.0)))
            and np.all(values.sum(axis=1) == 1)
        ):
            return np.argmax(values, axis=1).astype(np.int32), "class"  # one-hot rows: their class numbers
        if not in_range:
            raise ConfigError(
                flag, f"{what} labels must be class numbers 0..{outputs - 1} (sparse categorical cross-entropy)"
            )
        return y.reshape(-1).astype(np.int32), "class"
    if outputs == 1:
        if not one_per_row:
            raise ConfigError(
                flag, f"{what} has {y.reshape(len(y), -1).shape[1]} values per row; the model has 1 output"
            )
        flat = values.reshape(-1, 1).astype(np.float32)
        binary = bool(np.all(np.isin(flat, (0.0, 1.0))))
        if loss == "bce" and not binary:
            raise ConfigError(flag, f"{what} labels must be 0 or 1 for binary cross-entropy on one output")
        return flat, "binary" if binary else "values"
    if in_range and y.ndim == 1:
        return np.eye(outputs, dtype=np.float32)[y.astype(np.int64)], "hot"
    width = y.reshape(len(y), -1).shape[1]
    if width != outputs:
        hint = f" (or class numbers 0..{outputs - 1})"
        raise ConfigError(flag, f"{what} has {width} values per row; the model has {outputs} outputs{hint}")
    rows = y.reshape(len(y), outputs).astype(np.float32)
    hot = bool(np.all(np.isin(rows, (0.0, 1.0))))  # one- or multi-hot (a row may have no positive)
    if loss == "bce" and (rows.min() < 0 or rows.max() > 1):
        raise ConfigError(flag, f"{what} targets must lie in 0..1 for binary cross-entropy")
    return rows, "hot" if hot else "values"


def _fit_inputs(x: np.ndarray, input_shape: tuple[int, ...], flag: str, what: str) -> np.ndarray:
    if x.dtype.kind not in "fiub":
        raise ConfigError(flag, f"{what} is not numeric (dtype {x.dtype})")
    if x.ndim == 0 or len(x) == 0:
        raise ConfigError(flag, f"{what} is empty (no rows)" if x.ndim else f"{what} is a single number, not rows")
    if tuple(x.shape[1:]) != tuple(input_shape):
        raise ConfigError(flag, f"{what} rows have shape {tuple(x.shape[1:])}, the model takes {tuple(input_shape)}")
    out = x.astype(np.float32)
    if not np.all(np.isfinite(out)):
        raise ConfigError(flag, f"{what} has NaN or infinite values")
    return out


def _load_npz(path: str, input_shape: tuple[int, ...], outputs: int, loss: str, seed: int) -> DataSet:
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not hasattr(npz, "files"):
                raise ValueError("it holds one array, not named arrays (save with np.savez)")
            arrays = {k: npz[k] for k in npz.files}
    except Exception as err:
        raise ConfigError("data", f"{path} is not a readable .npz file: {first_line(err, 200)}") from None
    for key in ("x_train", "y_train"):
        if key not in arrays:
            have = ", ".join(sorted(arrays))[:200] or "nothing"
            raise ConfigError("data", f"{path} has no {key} array (it has: {have})")
    if ("x_test" in arrays) != ("y_test" in arrays):
        given, missing = ("x_test", "y_test") if "x_test" in arrays else ("y_test", "x_test")
        raise ConfigError("data", f"{path} has {given} but no {missing}: give both or neither")
    x = _fit_inputs(arrays["x_train"], input_shape, "data", "x_train")
    y, kind = _labels_for(arrays["y_train"], outputs, loss, "data", "y_train")
    if len(x) != len(y):
        raise ConfigError("data", f"x_train has {len(x)} rows but y_train has {len(y)}")
    if "x_test" in arrays:
        xt = _fit_inputs(arrays["x_test"], input_shape, "data", "x_test")
        yt, _ = _labels_for(arrays["y_test"], outputs, loss, "data", "y_test")
        if len(xt) != len(yt):
            raise ConfigError("data", f"x_test has {len(xt)} rows but y_test has {len(yt)}")
        described = f"{Path(path).name} ({len(x)} train, {len(xt)} held out)"
    else:
        if len(x) < 2:
            raise ConfigError("data", f"{path} has 1 training row and no x_test/y_test: nothing to hold out")
        order = np.random.default_rng(seed).permutation(len(x))
        cut = max(1, len(x) // 5)
        xt, yt, x, y = x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]
        described = f"{Path(path).name} ({len(x)} train, {len(xt)} held out from x_train)"
    return DataSet(x, y, xt, yt, described, kind)


def load_data(
    config: LabConfig, input_shape: tuple[int, ...], outputs: int, activation: str, loss: str
) -> DataSet | None:
    """The data set for loss rules and held-out measurements (labels in `loss`'s shape), or None."""
    if config.data is not None:
        return _load_npz(config.data, input_shape, outputs, loss, config.seed)
    raw = _builtin_data(config, input_shape, outputs, activation)
    if raw is None:
        return None
    x, y, xt, yt, described = raw
    y, kind = _labels_for(y, outputs, loss, "loss", "the built-in data set's y_train")
    yt, _ = _labels_for(yt, outputs, loss, "loss", "the built-in data set's y_test")
    return DataSet(x, y, xt, yt, described, kind)


def _builtin_data(
    config: LabConfig, input_shape: tuple[int, ...], outputs: int, activation: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str] | None:
    if config.model == "mlp":
        x, y = _teacher_task(config.seed + 1, 500)
        xt, yt = _teacher_task(config.seed + 2, 500)
        return x, y, xt, yt, "generated: normal inputs, linear-teacher labels (500 train, 500 held out)"
    if config.model == "cnn" and tuple(input_shape) == (16, 16, 1):
        with np.load(asset("shapes.npz"), allow_pickle=False) as npz:
            x, y = npz["x_train"].astype(np.float32) / 255.0, npz["y_train"]
            xt, yt = npz["x_test"].astype(np.float32) / 255.0, npz["y_test"]
        if outputs != len(shapes.CLASS_NAMES) or activation != "softmax":
            return None
        described = f"shipped shapes.npz ({len(x)} train, {len(xt)} held out)"
        return x, y.astype(np.int32), xt, yt.astype(np.int32), described
    if (
        config.model in ("vgg16", "mobilenetv2")
        and len(input_shape) == 3
        and activation == "softmax"
        and outputs == len(shapes.CLASS_NAMES)
    ):
        h, w, c = input_shape
        size = min(h, w)
        x, y = shapes.make_shapes(1000, size=size, channels=c, seed=config.seed + 1)
        xt, yt = shapes.make_shapes(500, size=size, channels=c, seed=config.seed + 2)
        if (h, w) != (size, size):
            pad = ((0, 0), (0, h - size), (0, w - size), (0, 0))
            x, xt = np.pad(x, pad), np.pad(xt, pad)
        described = f"generated shapes at {h}x{w}x{c} (1000 train, 500 held out)"
        return x, y.astype(np.int32), xt, yt.astype(np.int32), described
    return None


def load_probe(config: LabConfig, input_shape: tuple[int, ...], data: DataSet | None) -> tuple[np.ndarray, str]:
    """The inputs whose predictions are tracked, and where they came from."""
    if config.probe == "random":
        rng = np.random.default_rng(config.seed)
        x = rng.standard_normal((config.n_probe, *input_shape)).astype(np.float32)
        return x, f"{config.n_probe} seeded normal input(s), seed {config.seed}"
    if config.probe == "heldout":
        if data is None:
            raise ConfigError("probe", "heldout probes need a data set (this model has none: use --data PATH.npz)")
        n = min(config.n_probe, len(data.x_test))
        return data.x_test[:n].copy(), f"first {n} held-out example(s)"
    try:
        x = np.load(config.probe, allow_pickle=False)
        if not isinstance(x, np.ndarray):
            raise ValueError("it is an .npz archive, not one array")
    except Exception as err:
        raise ConfigError("probe", f"{config.probe} is not a readable .npy file: {first_line(err, 200)}") from None
    if tuple(x.shape) == tuple(input_shape):
        x = x[None]
    x = _fit_inputs(x, input_shape, "probe", Path(config.probe).name)
    if len(x) == 0 or len(x) > 256:
        raise ConfigError("probe", f"{config.probe} has {len(x)} rows (1 to 256 are tracked)")
    return x, f"{len(x)} row(s) from {Path(config.probe).name}"
