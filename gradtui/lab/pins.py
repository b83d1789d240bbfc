"""Pinned reference runs: a run's measurements kept to draw beside the live run (NumPy only).

A pin is a copy of a History's columns with what is needed to match it against another run: the
model, its layer names and its number of outputs. Pins belong to the engine, not to a session, so
they survive a preset that builds a new model; session files and exports carry them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradtui.config import LabConfig
from gradtui.lab.history import COLUMNS, History
from gradtui.presets import matching

MAX_PINS = 3
PIN_ROWS = 20_000  # a longer run is kept as this many rows, evenly spread (the first and last always)
SCALARS = ("loss", "objective", "distance", "eval_acc", "eval_loss", "acc_change", "flipped")


@dataclass(frozen=True)
class Pin:
    label: str  # shown as `ref:<label>`: a preset's name, or a short description of the settings
    model: str
    layers: tuple[str, ...]
    outputs: int
    columns: Mapping[str, np.ndarray] = field(repr=False)

    @property
    def steps(self) -> int:
        """The last step the pinned run recorded."""
        step = self.columns["step"]
        return int(step[-1]) if len(step) else 0

    def layer_rows(self, name: str, column: str) -> np.ndarray | None:
        """One layer's values of a per-layer column, matched by layer name (None: the pin has no such layer)."""
        if name not in self.layers:
            return None
        return self.columns[column][:, self.layers.index(name)]


def label_for(config: LabConfig) -> str:
    """The preset's name when the settings are exactly a preset's, else `model rule optimizer lr=…`."""
    preset = matching(config)
    if preset is not None:
        return preset.name
    rule = config.rule if config.rule != "prediction" else f"prediction {config.target}"
    return f"{config.model.rsplit('/', 1)[-1]} {rule} {config.optimizer} lr={config.as_text('lr')}"


def make_pin(history: History, label: str, model: str, layers: Sequence[str]) -> Pin:
    """A read-only copy of the run so far (rows thinned to PIN_ROWS beyond that many)."""
    columns = {name: values for name, values in history.to_dict().items() if name in COLUMNS}  # the measurements
    n = len(columns["step"])
    if n > PIN_ROWS:
        keep = np.unique(np.linspace(0, n - 1, PIN_ROWS).astype(np.int64))
        columns = {name: values[keep] for name, values in columns.items()}
    for values in columns.values():
        values.setflags(write=False)
    outputs = int(columns["predictions"].shape[2]) if columns["predictions"].ndim == 3 else 0
    return Pin(label, model, tuple(layers), outputs, columns)


def added(pins: tuple[Pin, ...], pin: Pin) -> tuple[Pin, ...]:
    """`pins` with `pin` last, the oldest dropped beyond MAX_PINS, and a pin of the same label replaced."""
    kept = tuple(p for p in pins if p.label != pin.label)
    return (*kept, pin)[-MAX_PINS:]


# -- session files and exports -------------------------------------------------------------------

PIN_KEY = re.compile(r"pins/(0|[1-9][0-9]*)/(\w+)")


def is_pin_key(key: str) -> bool:
    """An array key `to_arrays` writes (`pins/I/COLUMN`), so a file check can accept it."""
    match = PIN_KEY.fullmatch(key)
    return match is not None and int(match.group(1)) < MAX_PINS and match.group(2) in COLUMNS


def description(pin: Pin) -> dict[str, Any]:
    """A pin but its columns, as JSON: a session file's metadata and the stream's `pins` message hold this."""
    return {"label": pin.label, "model": pin.model, "layers": list(pin.layers), "outputs": pin.outputs}


def from_description(described: Mapping[str, Any], columns: dict[str, np.ndarray]) -> Pin:
    """The pin `description` told of, with its `columns` (made read-only). KeyError, TypeError or ValueError
    if the description is malformed; the caller has checked the columns."""
    for values in columns.values():
        values.setflags(write=False)
    layers = tuple(str(name) for name in described["layers"])
    return Pin(str(described["label"]), str(described["model"]), layers, int(described["outputs"]), columns)


def describe(pins: Sequence[Pin]) -> list[dict[str, Any]]:
    """What a file's metadata (JSON) says of each pin; its columns go in `to_arrays`."""
    return [description(p) for p in pins]


def to_arrays(pins: Sequence[Pin]) -> dict[str, np.ndarray]:
    """The pins' columns as .npz entries `pins/I/COLUMN`."""
    return {
        f"pins/{i}/{name}": np.asarray(values) for i, pin in enumerate(pins) for name, values in pin.columns.items()
    }


def from_arrays(arrays: Mapping[str, np.ndarray], described: Any) -> tuple[Pin, ...]:
    """The pins `describe` and `to_arrays` wrote; () for a file without pins. ValueError if malformed."""
    if not described:
        return ()
    if not isinstance(described, list) or len(described) > MAX_PINS:
        raise ValueError(f"pins: expected a list of at most {MAX_PINS}")
    pins = []
    try:
        for i, item in enumerate(described):
            columns = {name: np.asarray(arrays[f"pins/{i}/{name}"]) for name in COLUMNS if f"pins/{i}/{name}" in arrays}
            if f"pins/{i}/drawdown" in arrays and "acc_change" not in columns:  # the old sign: step 0 minus now
                columns["acc_change"] = -np.asarray(arrays[f"pins/{i}/drawdown"])
            rows = len(columns.get("step", ()))
            if "step" not in columns or any(len(values) != rows for values in columns.values()):
                raise ValueError(f"pins: pin {i} has columns of different lengths")
            pins.append(from_description(item, columns))
    except (KeyError, TypeError) as err:
        raise ValueError(f"pins: malformed ({type(err).__name__}: {err})") from err
    return tuple(pins)
