"""Probe inputs and data sets: generated per built-in model, shipped for the CNN, or the user's files.

NumPy only: arrays go to TensorFlow in the session. Shapes are checked against the model here so
a misfit is a one-line error naming the flag, not a shape error inside a compiled step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gradtui.config import LabConfig
from gradtui.errors import ArrayFileError, ConfigError, first_line
from gradtui.lab import array_files, data_files, progress, shapes
from gradtui.resources import asset

DATA_KEYS = data_files.DATA_KEYS
MAX_PROBES = 256


@dataclass
class DataSet:
    """Training rows, held-out rows (possibly none) and how many of those an evaluation measures."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    description: str
    kind: str = "class"  # labels: class (numbers, sce), binary (0/1, one output), hot (one-/multi-hot rows), values
    eval_rows: int = -1  # held-out rows each evaluation measures; -1 = all of them
    classes: tuple[str, ...] = ()  # what each class number means, when the data says (the shapes' names)

    def __post_init__(self) -> None:
        if self.eval_rows < 0:
            self.eval_rows = len(self.x_test)

    @property
    def has_heldout(self) -> bool:
        return self.eval_rows > 0


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
    if not data_files.all_finite(values):
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
    if not data_files.all_finite(out):
        raise ConfigError(flag, f"{what} has NaN or infinite values")
    return out


def _checked_headers(path: str, input_shape: tuple[int, ...]) -> dict[str, array_files.Header]:
    """The data file's headers, judged before any array is read (data_files.checked_headers), and its
    inputs against the model's shape."""
    headers = data_files.checked_headers(path)
    for x_key in ("x_train", "x_test"):
        x = headers.get(x_key)
        if x is not None and len(x.shape) >= 1 and tuple(x.shape[1:]) != tuple(input_shape):
            raise ConfigError(
                "data", f"{x_key} rows have shape {tuple(x.shape[1:])}, the model takes {tuple(input_shape)}"
            )
    return headers


def split_off(x: np.ndarray, y: np.ndarray, config: LabConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, y trained on; x, y held out) for --holdout F: as `fit(validation_split=F)`, the last rows in
    file order from floor(n * (1 - F)) on, before any shuffling; `--holdout-rows random` holds out a
    seeded random fraction instead."""
    n = len(x)
    cut = math.floor(n * (1.0 - config.holdout))  # Keras's train_validation_split
    if not 1 <= cut < n:
        raise ConfigError("holdout", f"{config.holdout:g} of {n} rows leaves no row to train or to hold out")
    if config.holdout_rows == "random":  # the split of gradtui 0.x's --holdout, kept so its sessions reload
        order = np.random.default_rng(config.seed).permutation(n)
        k = round(n * config.holdout)
        if not 1 <= k < n:
            raise ConfigError("holdout", f"{config.holdout:g} of {n} rows leaves no row to train or to hold out")
        return x[order[k:]], y[order[k:]], x[order[:k]], y[order[:k]]
    return x[:cut], y[:cut], x[cut:], y[cut:]


def _describe(source: str, train: int, heldout: int, split: tuple[float, str], eval_max: int | None) -> tuple[str, int]:
    """The data line: exactly what is trained on and what is evaluated; and how many rows are evaluated."""
    if heldout == 0:
        return f"{source}: all {train} rows trained, no held-out set (--holdout FRACTION sets some aside)", 0
    fraction, rows = split
    which = "the last rows, as validation_split" if rows == "last" else f"seeded random rows (--holdout-rows {rows})"
    where = f"held out from x_train (--holdout {fraction:g}: {which})" if fraction else "held out"
    evaluated = heldout if eval_max is None else min(eval_max, heldout)
    scope = "all evaluated" if evaluated == heldout else f"the first {evaluated} evaluated (--eval-max)"
    return f"{source}: {train} rows trained, {heldout} {where}, {scope}", evaluated


def _load_npz(path: str, input_shape: tuple[int, ...], outputs: int, loss: str, config: LabConfig) -> DataSet:
    headers = _checked_headers(path, input_shape)
    arrays = data_files.take_preloaded(path) or data_files.read_arrays(path, headers)
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
        if config.holdout:
            raise ConfigError(
                "holdout", f"{Path(path).name} has x_test/y_test: --holdout splits x_train only when there is none"
            )
    elif config.holdout:
        x, y, xt, yt = split_off(x, y, config)
    else:
        xt, yt = x[:0], y[:0]
    split = (config.holdout, config.holdout_rows)
    described, evaluated = _describe(Path(path).name, len(x), len(xt), split, config.eval_max)
    return DataSet(x, y, xt, yt, described, kind, evaluated)


def load_data(
    config: LabConfig,
    input_shape: tuple[int, ...],
    outputs: int,
    activation: str,
    loss: str,
    indices: Indices | None = None,
) -> DataSet | None:
    """The data set for loss rules and held-out measurements (labels in `loss`'s shape), or None.
    `indices`: the model takes integer indices (an Embedding first), so its inputs must be in range."""
    progress.phase("loading data")
    if config.data is not None:
        data = _load_npz(config.data, input_shape, outputs, loss, config)
        if indices is not None:
            for name, x in (("x_train", data.x_train), ("x_test", data.x_test)):
                indices.check(x, "data", name)
        return data
    raw = _builtin_data(config, input_shape, outputs, activation)
    if raw is None:
        return None
    x, y, xt, yt, source, classes = raw
    if config.holdout:
        raise ConfigError("holdout", "the built-in data set has its own held-out set: --holdout applies to --data")
    y, kind = _labels_for(y, outputs, loss, "loss", "the built-in data set's y_train")
    yt, _ = _labels_for(yt, outputs, loss, "loss", "the built-in data set's y_test")
    described, evaluated = _describe(source, len(x), len(xt), (0.0, "last"), config.eval_max)
    return DataSet(x, y, xt, yt, described, kind, evaluated, classes)


def class_names(data: DataSet | None, outputs: int, new_head: bool) -> tuple[str, ...]:
    """The data's class names for the model's outputs; none for a new head (untrained, its output k is no
    shape yet) or when they do not match."""
    if data is None or new_head or len(data.classes) != outputs:
        return ()
    return data.classes


def _builtin_data(
    config: LabConfig, input_shape: tuple[int, ...], outputs: int, activation: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str, tuple[str, ...]] | None:
    if config.model == "mlp":
        x, y = _teacher_task(config.seed + 1, 500)
        xt, yt = _teacher_task(config.seed + 2, 500)
        return x, y, xt, yt, "generated teacher data", ()
    if config.model == "cnn" and tuple(input_shape) == (16, 16, 1):
        with np.load(asset("shapes.npz"), allow_pickle=False) as npz:
            x, y = npz["x_train"].astype(np.float32) / 255.0, npz["y_train"]
            xt, yt = npz["x_test"].astype(np.float32) / 255.0, npz["y_test"]
        if outputs != len(shapes.CLASS_NAMES) or activation != "softmax":
            return None
        return x, y.astype(np.int32), xt, yt.astype(np.int32), "shipped shapes.npz", shapes.CLASS_NAMES
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
        return x, y.astype(np.int32), xt, yt.astype(np.int32), f"generated shapes at {h}x{w}x{c}", shapes.CLASS_NAMES
    return None


@dataclass(frozen=True)
class Indices:
    """A model whose input is integer indices (an Embedding's): `size` of them, or None if unknown."""

    size: int | None

    def check(self, x: np.ndarray, flag: str, what: str) -> None:
        if self.size is None:
            return
        whole = bool(np.all(x == np.round(x)))
        low, high = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
        if not whole or low < 0 or high >= self.size:
            found = "values that are not whole numbers" if not whole else f"values {low:g} to {high:g}"
            raise ConfigError(
                flag, f"{what} holds {found}; the model's Embedding takes whole indices 0..{self.size - 1}"
            )


def load_probe(
    config: LabConfig, input_shape: tuple[int, ...], data: DataSet | None, indices: Indices | None = None
) -> tuple[np.ndarray, str]:
    """The inputs whose predictions are tracked, and where they came from. A model that takes integer
    indices gets seeded indices in range, or a refusal naming --probe where the range is unknown."""
    if config.probe == "random" and indices is not None:
        if indices.size is None:
            raise ConfigError(
                "probe", "the model takes integer inputs of unknown range: give --probe PATH.npy with valid rows"
            )
        rng = np.random.default_rng(config.seed)
        x = rng.integers(0, indices.size, (config.n_probe, *input_shape)).astype(np.float32)
        return x, f"{config.n_probe} seeded random index row(s) in 0..{indices.size - 1}, seed {config.seed}"
    if config.probe == "random":
        rng = np.random.default_rng(config.seed)
        x = rng.standard_normal((config.n_probe, *input_shape)).astype(np.float32)
        return x, f"{config.n_probe} seeded normal input(s), seed {config.seed}"
    if config.probe == "heldout":
        if data is None:
            raise ConfigError("probe", "heldout probes need a data set (this model has none: use --data PATH.npz)")
        if not len(data.x_test):
            n = min(config.n_probe, len(data.x_train))
            return data.x_train[:n].copy(), f"first {n} training example(s) (there is no held-out set)"
        n = min(config.n_probe, len(data.x_test))
        return data.x_test[:n].copy(), f"first {n} held-out example(s)"
    x = _read_probe(config.probe, input_shape)
    if tuple(x.shape) == tuple(input_shape):
        x = x[None]
    x = _fit_inputs(x, input_shape, "probe", Path(config.probe).name)
    if len(x) == 0 or len(x) > MAX_PROBES:
        raise ConfigError("probe", f"{config.probe} has {len(x)} rows (1 to {MAX_PROBES} are tracked)")
    if indices is not None:
        indices.check(x, "probe", Path(config.probe).name)
    return x, f"{len(x)} row(s) from {Path(config.probe).name}"


def _read_probe(path: str, input_shape: tuple[int, ...]) -> np.ndarray:
    """A probe .npy, its header judged first: one input, or 1 to MAX_PROBES rows of the model's shape."""
    try:
        header = array_files.npy_header(path)
    except ArrayFileError as err:
        raise ConfigError("probe", str(err)) from err
    shape = tuple(header.shape)
    if shape != tuple(input_shape):
        if shape[1:] != tuple(input_shape):
            raise ConfigError(
                "probe", f"{Path(path).name} rows have shape {shape[1:]}, the model takes {tuple(input_shape)}"
            )
        if not 1 <= shape[0] <= MAX_PROBES:
            raise ConfigError("probe", f"{path} has {shape[0]} rows (1 to {MAX_PROBES} are tracked)")
    try:
        x = np.load(path, allow_pickle=False)
        if not isinstance(x, np.ndarray):
            raise ValueError("it is an .npz archive, not one array")
    except Exception as err:
        raise ConfigError("probe", f"{path} is not a readable .npy file: {first_line(err, 200)}") from err
    return x
