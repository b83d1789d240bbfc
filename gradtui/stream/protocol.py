"""The stream's wire format (version 1): JSON lines over TCP on 127.0.0.1.

Why JSON lines: the standard library reads and writes them, a person can watch the stream with `nc`,
and every message is one line, so a reader never needs a framing layer. Why TCP rather than a Unix
socket: browser followers and `ssh -L` tunnels speak TCP, so one transport serves all. Arrays travel
as base64 of their raw little-endian bytes (dtype and shape beside them): exact float32 values, NaN
kept, and encoding costs a copy rather than a Python loop per number, so the lab's GIL stays free.

A follower opens with `{"v": 1, "token": ...}`; the lab answers `hello` (or `refused` and closes),
then sends, in order: `reset` (a new history: dims and model summary), `rows` (appended rows),
`pins` (the pinned runs, whole), `state` (status, story, notes, preset, tabs) and `log` (lines). A
late joiner gets reset, all rows, pins, state and the last log lines; then increments. The lab sends
`reset` again whenever its history was cut or replaced (undo, reset, restore, a preset, a new model).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import asdict, fields
from typing import Any

import numpy as np
from rich.errors import StyleSyntaxError
from rich.style import Style
from rich.text import Span, Text

from gradtui.lab.measures import Dims
from gradtui.lab.pins import Pin, description, from_description
from gradtui.lab.results import ModelSummary

VERSION = 1
MAX_LINE = 256 << 20  # a line longer than this is not a stream message (a full history is far smaller)
DTYPES = frozenset({"<f4", "<i8", "|i1"})  # what History's columns hold; nothing else is decoded


class ProtocolError(ValueError):
    """A line that is not a version-1 stream message."""


def encode(message: Mapping[str, Any]) -> bytes:
    """One message as one line (NaN never appears outside arrays, so strict JSON)."""
    return json.dumps(message, separators=(",", ":"), allow_nan=False).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError) as err:
        raise ProtocolError(f"not a JSON line ({err})") from err
    if not isinstance(message, dict):
        raise ProtocolError("a message must be a JSON object")
    return message


def pack_array(values: np.ndarray) -> dict[str, Any]:
    arr = np.ascontiguousarray(values)
    arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
    return {"dtype": arr.dtype.str, "shape": list(arr.shape), "b64": base64.b64encode(arr.tobytes()).decode("ascii")}


def unpack_array(packed: Any) -> np.ndarray:
    try:
        dtype, shape = str(packed["dtype"]), tuple(int(d) for d in packed["shape"])
        if dtype not in DTYPES or any(d < 0 for d in shape):
            raise ProtocolError(f"array of dtype {dtype} and shape {shape} is not a History column")
        raw = base64.b64decode(packed["b64"], validate=True)
        return np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape)
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, ProtocolError):
            raise
        raise ProtocolError(f"malformed array ({type(err).__name__}: {err})") from err


def pack_columns(columns: Mapping[str, np.ndarray]) -> dict[str, Any]:
    return {name: pack_array(values) for name, values in columns.items()}


def unpack_columns(packed: Any) -> dict[str, np.ndarray]:
    if not isinstance(packed, dict) or "step" not in packed:
        raise ProtocolError("rows need a step column")
    columns = {str(name): unpack_array(values) for name, values in packed.items()}
    rows = len(columns["step"])
    if any(len(values) != rows for values in columns.values()):
        raise ProtocolError("rows: columns of different lengths")
    return columns


def pack_summary(summary: ModelSummary) -> dict[str, Any]:
    return asdict(summary)


def unpack_summary(packed: Any) -> ModelSummary:
    try:
        values = {f.name: packed[f.name] for f in fields(ModelSummary) if f.name in packed}
        for name in ("input_shape", "output_shape", "layers", "devices"):
            values[name] = tuple(values.get(name, ()))
        return ModelSummary(**values)
    except (KeyError, TypeError) as err:
        raise ProtocolError(f"malformed model summary ({err})") from err


def pack_dims(dims: Dims) -> list[int]:
    return [dims.probes, dims.outputs, dims.layers]


def unpack_dims(packed: Any) -> Dims:
    try:
        probes, outputs, layers = (int(d) for d in packed)
    except (TypeError, ValueError) as err:
        raise ProtocolError(f"malformed dims ({err})") from err
    if min(probes, outputs, layers) < 0:
        raise ProtocolError("dims must not be negative")
    return Dims(probes, outputs, layers)


def pack_pins(pins: tuple[Pin, ...]) -> list[dict[str, Any]]:
    """Each pin as a session file describes it (lab.pins.description), with its columns beside."""
    return [{**description(p), "columns": pack_columns(p.columns)} for p in pins]


def unpack_pins(packed: Any) -> tuple[Pin, ...]:
    if not isinstance(packed, list):
        raise ProtocolError("pins must be a list")
    try:
        return tuple(from_description(item, unpack_columns(item["columns"])) for item in packed)
    except (KeyError, TypeError) as err:
        raise ProtocolError(f"malformed pin ({err})") from err


def pack_text(text: Text) -> dict[str, Any]:
    """Rich text as its plain characters and style spans: shown literally at the other end, never as markup."""
    return {"plain": text.plain, "spans": [[s.start, s.end, str(s.style)] for s in text.spans]}


def unpack_text(packed: Any) -> Text:
    try:
        plain = str(packed["plain"])
        spans = [Span(int(a), int(b), Style.parse(str(style))) for a, b, style in packed["spans"]]
    except (KeyError, TypeError, ValueError, StyleSyntaxError) as err:
        raise ProtocolError(f"malformed text ({err})") from err
    return Text(plain, spans=spans)
