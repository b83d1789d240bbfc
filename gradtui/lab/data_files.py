"""A `--data` file judged on what needs no model, before TensorFlow is imported (NumPy only).

Its keys, dtypes, row counts, memory at the peak of a load and compression ratio come from the
headers; NaN and infinite values and non-numeric labels from reading it. A refusal that depends
only on the file then costs a fraction of a second, not the 9-35 s and ~700 MB of the TensorFlow
import. The arrays read for the check are kept (once, keyed on the file's identity) for the build
that follows, so the file is read once.
"""

from __future__ import annotations

import math
import os
import threading

import numpy as np

from gradtui.config import ConfigError
from gradtui.errors import ArrayFileError, first_line
from gradtui.lab import array_files

DATA_KEYS = ("x_train", "y_train", "x_test", "y_test")
# Peak memory of a data load beyond the array as read, in float32 copies of it: measured with
# scripts/measure_data_load.py (50,000 x 1,000 inputs, TensorFlow warmed up): 3.12-3.15 times the float32
# size for float32 (stored or compressed, all-zero or not) and uint8 inputs alike, i.e. the array as
# read plus 2.15 (float32) to 2.9 (uint8) float32 copies. 3 covers both.
LOAD_COPIES = 3
_BLOCK_ROWS = 4096

_lock = threading.Lock()
_preloaded: dict[tuple[str, int, int, int], dict[str, np.ndarray]] = {}


def in_memory(header: array_files.Header) -> int:
    """What an array costs at the peak of a load: itself as read plus LOAD_COPIES float32 copies (the
    converted array, the tensor the step reads, and the transient copies TensorFlow makes of it)."""
    return header.nbytes + LOAD_COPIES * 4 * math.prod(header.shape)


def all_finite(x: np.ndarray) -> bool:
    """np.all(np.isfinite(x)), a block of rows at a time (no boolean copy of the whole array)."""
    if x.ndim == 0 or x.dtype.kind not in "fc":
        return x.dtype.kind in "iub" or bool(np.all(np.isfinite(x)))
    return all(bool(np.isfinite(x[i : i + _BLOCK_ROWS]).all()) for i in range(0, len(x), _BLOCK_ROWS))


def checked_headers(path: str) -> dict[str, array_files.Header]:
    """Only the data keys, x_train and y_train present, numeric, one label row per input row, the arrays
    within half the memory available at the measured peak, no member expanding past the ratio limit."""
    try:
        headers = array_files.npz_headers(path)
        for key in ("x_train", "y_train"):
            if key not in headers:
                have = ", ".join(sorted(headers))[:200] or "nothing"
                raise ConfigError("data", f"{path} has no {key} array (it has: {have})")
        array_files.check_headers(path, headers, DATA_KEYS, "a data file", array_files.memory_limit(), cost=in_memory)
    except ArrayFileError as err:
        raise ConfigError("data", str(err)) from err
    for x_key, y_key in (("x_train", "y_train"), ("x_test", "y_test")):
        x, y = headers.get(x_key), headers.get(y_key)
        if x is not None and y is not None and x.shape[:1] != y.shape[:1] and len(x.shape) and len(y.shape):
            raise ConfigError("data", f"{x_key} has {x.shape[0]} rows but {y_key} has {y.shape[0]}")
    return headers


def read_arrays(path: str, headers: dict[str, array_files.Header]) -> dict[str, np.ndarray]:
    try:
        return array_files.load_npz(path, headers)
    except Exception as err:
        raise ConfigError("data", f"{path} is not a readable .npz file: {first_line(err, 200)}") from err


def _key(path: str) -> tuple[str, int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return os.path.realpath(path), info.st_size, info.st_mtime_ns, info.st_ino


def precheck(path: str, read: bool = True) -> None:
    """Every check of `path` that needs no model, before TensorFlow. With `read`, its values too (NaN,
    infinities, labels), the arrays then kept for the build (take_preloaded)."""
    headers = checked_headers(path)
    if not read:
        return
    arrays = read_arrays(path, headers)
    for name, array in arrays.items():
        if array.ndim == 0 or len(array) == 0:
            raise ConfigError("data", f"{name} is empty (no rows)" if array.ndim else f"{name} is a single number")
        if not all_finite(array):
            what = "labels" if name.startswith("y") else "values"
            raise ConfigError("data", f"{name} has NaN or infinite {what}")
    key = _key(path)
    if key is not None:
        with _lock:
            _preloaded.clear()  # one file's arrays at most
            _preloaded[key] = arrays


def take_preloaded(path: str) -> dict[str, np.ndarray] | None:
    """The arrays precheck read from `path`, if the file is still the one it read (once: then dropped)."""
    key = _key(path)
    with _lock:
        arrays = _preloaded.pop(key, None) if key is not None else None
    return arrays
