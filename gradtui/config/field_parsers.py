"""Text to value for the settings that are more than a number or a choice: a model (a built-in name
or a file of the right kind), a target, a probe, a data set, a shape and the optional numbers.

Each refusal is a ValueError whose text is the one-line reason; the field table names the field.
Files are checked for existence, permission and kind (their first bytes, files.py) here, before
TensorFlow is imported.
"""

from __future__ import annotations

import os
from pathlib import Path

from gradtui.catalog import BUILTIN_MODELS, MODEL_SUFFIXES, PROBE_WORDS
from gradtui.errors import show
from gradtui.files import file_problem
from gradtui.text_values import number, whole_number


def readable_file(text: str, suffixes: tuple[str, ...], what: str, allow_dir: bool = False) -> str:
    """The path in `text`, expanded, if it names a readable file of the right kind (see files.py)."""
    raw = str(text).strip()
    if not raw:
        raise ValueError(f"expected a path to {what}")
    try:
        path = Path(raw).expanduser()
        problem = file_problem(path, suffixes, what, allow_dir)
    except (OSError, RuntimeError, ValueError) as err:  # a name too long, a NUL byte, ~user with no home
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise ValueError(f"{show(raw)} is not a usable path ({reason})") from err
    if problem:
        shown = str(path) if str(path).isprintable() else repr(str(path))
        raise ValueError(f"{shown} {problem}")
    return str(path)


def parse_model(text: str) -> str:
    value = str(text).strip()
    if value.lower() in BUILTIN_MODELS:
        return value.lower()
    try:
        looks_like_path = os.sep in value or value.lower().endswith(MODEL_SUFFIXES) or Path(value).exists()
    except (OSError, ValueError):  # a name too long or with a NUL byte: not a file that exists
        looks_like_path = False
    if not looks_like_path:
        raise ValueError(f"unknown model {show(text)} (choose from {', '.join(BUILTIN_MODELS)}, or a .keras/.h5 file)")
    return readable_file(value, MODEL_SUFFIXES, "a Keras model file", allow_dir=True)


def parse_target(text: str) -> str:
    value = str(text).strip().lower()
    if value in ("sum", "argmax"):
        return value
    if value.startswith("class:"):
        return f"class:{whole_number(value[6:], lo=0)}"
    raise ValueError(f"unknown target {show(text)} (choose from sum, argmax, class:K)")


def parse_probe(text: str) -> str:
    value = str(text).strip()
    if value.lower() in PROBE_WORDS:
        return value.lower()
    return readable_file(value, (".npy",), "a NumPy .npy file")


def parse_data(text: str) -> str | None:
    value = str(text).strip()
    if value.lower() in ("", "auto", "none"):
        return None
    return readable_file(value, (".npz",), "a NumPy .npz file")


def parse_optional_float(text: str) -> float | None:
    value = str(text).strip().lower()
    if value in ("", "none", "off", "0"):
        return None
    return number(value, lo=0.0, open_lo=True)


def parse_lr(text: str) -> float | None:
    """A learning rate, or auto (None): the model file's compile config, else DEFAULT_LR."""
    if str(text).strip().lower() == "auto":
        return None
    return number(text, lo=0.0, hi=1e6, open_lo=True)


def parse_batch_size(text: str) -> int | None:
    """A minibatch size, or auto (None): 32 for --data as `fit` does, 100 on the built-in data sets."""
    if str(text).strip().lower() == "auto":
        return None
    return whole_number(text, lo=1, hi=65536)


def parse_holdout(text: str) -> float:
    """A fraction of x_train to hold out; 0 (or off/none) holds nothing out, as `model.fit` does."""
    value = str(text).strip().lower()
    if value in ("", "none", "off", "no", "0"):
        return 0.0
    return number(value, lo=0.0, hi=0.9)


def parse_eval_max(text: str) -> int | None:
    """A cap on the held-out rows measured per evaluation; none = the whole test set."""
    value = str(text).strip().lower()
    if value in ("", "none", "off", "all", "0"):
        return None
    return whole_number(value, lo=1, hi=10_000_000)


def parse_optional_label(text: str) -> int | None:
    value = str(text).strip().lower()
    if value in ("", "none"):
        return None
    return whole_number(value, lo=0)


def parse_shape(text: str) -> tuple[int, ...]:
    parts = [p for p in str(text).replace("x", ",").split(",") if p.strip()]
    if len(parts) != 3:
        raise ValueError(f"expected height,width,channels such as 32,32,3, got {show(text)}")
    shape = tuple(whole_number(p, lo=1, hi=1024) for p in parts)
    if shape[0] < 32 or shape[1] < 32:
        raise ValueError(f"keras.applications models need at least 32x32 inputs, got {show(text)}")
    return shape
