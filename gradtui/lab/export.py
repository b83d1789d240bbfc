"""History to JSON, CSV or NumPy .npz (no TensorFlow): shared by `gradtui run --out` and the TUI's export.

JSON schema (format "gradtui-history/1"): metadata keys (gradtui, format, config, model, notes,
divergence, layers, columns) and one key per History column, each a nested list with one entry per
stored row; `predictions` has shape (rows, n_probe, n_outputs), row 0 before any step. NaN (not
measured at that step) is written as null. A long run's older steps are summarised: the `summary`
column (last in every format) is 0 for a recorded step and 1, 2, 3 for the minimum, maximum and
last row of a bucket (see `columns.summary`); a short run has only 0 rows.
Pinned reference runs, if any, follow under `pins`: a list of {label, model, layers, and the same
columns} (a CSV has the live run only).

.npz: one array per History column under its name (NaN kept as NaN), and `meta`, a one-element
string array holding the same metadata as JSON: `np.load(path)["loss"]`,
`json.loads(np.load(path)["meta"][0])`; pins as `pins` in meta and arrays `pins/I/COLUMN`. No pickles:
it loads with numpy's defaults.

With `gradtui run --influence K`, JSON carries `influence` (an object of the arrays below) and .npz
arrays `influence/NAME`; their meanings are in `columns` as `influence/NAME` (a CSV has none).

Every format streams: JSON and CSV are written a chunk of rows at a time and .npz a column at a
time, so exporting a million steps does not build the whole document in memory.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np

from gradtui import __version__, relevance
from gradtui.config import LabConfig
from gradtui.files import atomic_open
from gradtui.lab import pins as lab_pins
from gradtui.lab.history import COLUMNS, SUMMARY, SUMMARY_MEANING, History
from gradtui.lab.pins import Pin
from gradtui.lab.results import Divergence, ModelSummary

FORMATS = (".json", ".csv", ".npz")
EXPORTED = (*COLUMNS, SUMMARY)  # the measurements, then which rows are summaries
CHUNK_ROWS = 50_000  # rows per streamed piece: bounded memory, few Python calls
_NON_FINITE = ("NaN", "-Infinity", "Infinity")  # json.dumps's spellings, written as null


class Recorded(Protocol):
    config: LabConfig
    summary: ModelSummary
    history: History
    notes: list[str]
    divergence: Divergence | None


def _influence(run: Recorded) -> tuple[dict[str, np.ndarray], dict[str, str]] | None:
    """The attribution's step log and sums, when the run kept them (Session.influence_export)."""
    export = getattr(run, "influence_export", None)
    return export() if export is not None else None


def history_meta(run: Recorded) -> dict[str, Any]:
    """What the numbers mean: the config, the model, notes, and each column's meaning."""
    influence = _influence(run)
    described = {f"influence/{k}": v for k, v in influence[1].items()} if influence else {}
    return {
        "gradtui": __version__,
        "format": "gradtui-history/1",
        "config": relevance.applying(run.config),  # only the settings the experiment uses
        "model": {
            **asdict(run.summary),
            "input_shape": list(run.summary.input_shape),
            "output_shape": list(run.summary.output_shape),
            "layers": list(run.summary.layers),
        },
        "notes": list(run.notes),
        "divergence": asdict(run.divergence) if run.divergence else None,
        "layers": list(run.summary.layers),
        "columns": {**{name: m.meaning for name, m in COLUMNS.items()}, SUMMARY: SUMMARY_MEANING, **described},
    }


def _chunks(history: History, rows: int) -> Iterator[dict[str, np.ndarray]]:
    for start in range(0, rows, CHUNK_ROWS):
        yield history.rows(start, min(start + CHUNK_ROWS, rows))


def _json_values(values: np.ndarray) -> str:
    """A chunk's rows as the comma-separated items of a JSON list, non-finite values as null."""
    text = json.dumps(values.tolist())[1:-1]
    if values.dtype.kind == "f":
        for token in _NON_FINITE:
            text = text.replace(token, "null")
    return text


def write_json(handle: IO[bytes], run: Recorded, pins: Sequence[Pin] = ()) -> None:
    rows = run.history.stored
    head = json.dumps(history_meta(run), allow_nan=False)
    handle.write(head[:-1].encode())
    for name in EXPORTED:
        handle.write(f", {json.dumps(name)}: [".encode())
        for i, chunk in enumerate(_chunks(run.history, rows)):
            handle.write(((", " if i else "") + _json_values(chunk[name])).encode())
        handle.write(b"]")
    if pins:
        handle.write(b', "pins": [')
        for i, pin in enumerate(pins):
            head = json.dumps({"label": pin.label, "model": pin.model, "layers": list(pin.layers)})
            handle.write(((", " if i else "") + head[:-1]).encode())
            for name, values in pin.columns.items():
                handle.write(f", {json.dumps(name)}: [{_json_values(values)}]".encode())
            handle.write(b"}")
        handle.write(b"]")
    influence = _influence(run)
    if influence:
        items = ", ".join(f"{json.dumps(k)}: [{_json_values(v)}]" for k, v in influence[0].items())
        handle.write(f', "influence": {{{items}}}'.encode())
    handle.write(b"}")


def _csv_header(run: Recorded) -> list[str]:
    """Probe columns as pred_p{i}_k{j}, layer columns as weight_norm[layer], `summary` last."""
    header: list[str] = []
    p, k, layers = run.history.dims.probes, run.history.dims.outputs, run.summary.layers
    for name, measure in COLUMNS.items():
        if measure.kind in ("step", "scalar"):
            header.append(name)
        elif measure.kind == "layer":
            header.extend(f"{name}[{layer}]" for layer in layers)
        else:
            header.extend(f"{name}_p{i}_k{j}" for i in range(p) for j in range(k))
    return [*header, SUMMARY]


def _csv_lines(chunk: dict[str, np.ndarray]) -> str:
    """One line per row: the step as an integer, every other value to 9 significant digits, NaN empty."""
    count = len(chunk["step"])
    table = np.concatenate([chunk[name].reshape(count, -1).astype(np.float64) for name in EXPORTED], axis=1)
    line = "%d" + ",%.9g" * (table.shape[1] - 1)
    text = "\n".join(line % tuple(row) for row in table.tolist())
    for token in ("nan", "-inf", "inf"):  # only numbers and commas here: these are whole values
        text = text.replace(token, "")
    return text + "\n" if count else ""


def write_csv(handle: IO[bytes], run: Recorded, pins: Sequence[Pin] = ()) -> None:
    del pins  # one row per live step: a pinned run has its own steps (JSON and .npz carry pins)
    rows = run.history.stored
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(_csv_header(run))
    handle.write(header.getvalue().encode())
    for chunk in _chunks(run.history, rows):
        handle.write(_csv_lines(chunk).encode())


def write_npz(handle: IO[bytes], run: Recorded, pins: Sequence[Pin] = ()) -> None:
    """What np.savez writes (uncompressed: compression would cost seconds per million rows), a column
    at a time."""
    rows = run.history.stored
    described = {**history_meta(run), "pins": lab_pins.describe(pins)} if pins else history_meta(run)
    meta = np.array([json.dumps(described, allow_nan=False)])
    with zipfile.ZipFile(handle, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name in EXPORTED:
            with archive.open(f"{name}.npy", "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, run.history.column(name)[:rows], allow_pickle=False)
        with archive.open("meta.npy", "w", force_zip64=True) as entry:
            np.lib.format.write_array(entry, meta, allow_pickle=False)
        influence = _influence(run)
        arrays = {f"influence/{k}": v for k, v in influence[0].items()} if influence else {}
        arrays.update(lab_pins.to_arrays(pins) if pins else {})
        for key, values in arrays.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, values, allow_pickle=False)


WRITERS = {".json": write_json, ".csv": write_csv, ".npz": write_npz}


def write_history(path: str | Path, run: Recorded, pins: Sequence[Pin] = ()) -> Path:
    """Write JSON, CSV or .npz by the file's suffix, atomically; ValueError for another suffix."""
    target = Path(path).expanduser()
    suffix = target.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{target}: export to .json, .csv or .npz")
    with atomic_open(target) as handle:
        WRITERS[suffix](handle, run, pins)
    return target
