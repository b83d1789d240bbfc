"""History to JSON or CSV (no TensorFlow): shared by `gradtui run --out` and the TUI's export.

JSON schema (format "gradtui-history/1"): metadata keys (gradtui, format, config, model, notes,
divergence, layers) and one key per History column, each a nested list with one entry per
recorded step; `predictions` has shape (steps+1, n_probe, n_outputs), row 0 before any step.
NaN (not measured at that step) is written as null.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from gradtui import __version__
from gradtui.config import LabConfig
from gradtui.files import atomic_write_text
from gradtui.lab.history import COLUMNS, History
from gradtui.lab.results import Divergence, ModelSummary

FORMATS = (".json", ".csv")


class Recorded(Protocol):
    config: LabConfig
    summary: ModelSummary
    history: History
    notes: list[str]
    divergence: Divergence | None


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def history_dict(run: Recorded) -> dict[str, Any]:
    cols = run.history.to_dict()
    out: dict[str, Any] = {
        "gradtui": __version__,
        "format": "gradtui-history/1",
        "config": run.config.to_dict(),
        "model": {
            **asdict(run.summary),
            "input_shape": list(run.summary.input_shape),
            "output_shape": list(run.summary.output_shape),
            "layers": list(run.summary.layers),
        },
        "notes": list(run.notes),
        "divergence": asdict(run.divergence) if run.divergence else None,
        "layers": list(run.summary.layers),
        "columns": {name: m.meaning for name, m in COLUMNS.items()},
    }
    for name in COLUMNS:
        out[name] = _clean(cols[name].tolist())
    return out


def history_csv(run: Recorded) -> str:
    """One row per step; probe columns as pred_p{i}_k{j}, layer columns as weight_norm[layer]."""
    cols = run.history.to_dict()
    layers = run.summary.layers
    header: list[str] = []
    blocks: list[np.ndarray] = []
    for name, measure in COLUMNS.items():
        arr = cols[name]
        if measure.kind in ("step", "scalar"):
            header.append(name)
            blocks.append(arr.reshape(-1, 1).astype(np.float64))
        elif measure.kind == "layer":
            header.extend(f"{name}[{layer}]" for layer in layers)
            blocks.append(arr.astype(np.float64))
        else:
            p, k = arr.shape[1:]
            header.extend(f"{name}_p{i}_k{j}" for i in range(p) for j in range(k))
            blocks.append(arr.reshape(len(arr), -1).astype(np.float64))
    table = np.concatenate(blocks, axis=1) if blocks else np.zeros((0, 0))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in table:
        writer.writerow(
            ["" if not math.isfinite(v) else (str(int(v)) if i == 0 else f"{v:.9g}") for i, v in enumerate(row)]
        )
    return buffer.getvalue()


def write_history(path: str | Path, run: Recorded) -> Path:
    """Write JSON or CSV by the file's suffix, atomically; ValueError for another suffix."""
    target = Path(path).expanduser()
    suffix = target.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{target}: export to .json or .csv")
    text = json.dumps(history_dict(run), allow_nan=False) if suffix == ".json" else history_csv(run)
    atomic_write_text(target, text)
    return target
