"""Writing a long history: a synthetic million-step History (stepping a million steps takes a
minute), exact as `gradtui run` keeps it, written the way `gradtui run --out FILE.npz` writes it.
NumPy only: no TensorFlow, no Textual.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gradtui.bench.report import Results, Sizes
from gradtui.config import LabConfig
from gradtui.lab.history import Dims, History
from gradtui.lab.results import Divergence, ModelSummary

EXPORT_SCALE_ROWS = 1_000_000


def synthetic_history(rows: int, exact: bool = False) -> History:
    """A History with `rows` recorded steps shaped like the mlp engine's (1 probe, 1 output, 2 layers):
    bounded as the lab holds it (what its plots draw), or `exact` as `gradtui run` holds it."""
    rng = np.random.default_rng(0)
    history = History(Dims(1, 1, 2), exact=exact)
    if exact:
        history.reserve(rows)
    walk = np.cumsum(rng.standard_normal((rows, 8)) * 0.01, axis=0).astype(np.float32)
    chunk = 4096
    for start in range(0, rows, chunk):
        stop = min(rows, start + chunk)
        w = walk[start:stop]
        history.append(
            {
                "step": np.arange(start, stop),
                "predictions": 0.5 + w[:, 0:1, None] * 0.1,
                "loss": 0.7 + w[:, 1],
                "objective": 0.7 + w[:, 1],
                "weight_norm": 2.0 + w[:, 2:4],
                "grad_norm": np.abs(w[:, 4:6]) + 0.1,
                "update_ratio": np.abs(w[:, 6:8]) * 1e-3,
                "distance": np.abs(w[:, 2]),
                "forecast": w[:, 0:1, None] * 1e-3,
                "actual": w[:, 0:1, None] * 1e-3,
                "eval_acc": 0.8 + w[:, 3] * 0.1,
                "eval_loss": 0.5 + w[:, 4],
                "acc_change": w[:, 5] * 0.1,
                "flipped": np.abs(w[:, 6]) * 0.1,
            }
        )
    return history


@dataclass
class _Recorded:
    """What the export reads from a session, around a synthetic history."""

    history: History
    config: LabConfig = field(default_factory=lambda: LabConfig.parse({}))
    summary: ModelSummary = field(
        default_factory=lambda: ModelSummary(
            "mlp", 71, (2,), (1,), "sigmoid", "bce", ("hidden", "output"), "/device:CPU:0", "synthetic", "synthetic"
        )
    )
    notes: list[str] = field(default_factory=list)
    divergence: Divergence | None = None


def export_figure(sizes: Sizes, results: Results) -> None:
    """Seconds to write a million-row history as .npz (the median of a few writes), read back once."""
    from gradtui.lab.export import write_history

    run = _Recorded(synthetic_history(sizes.export_rows, exact=True))
    times = []
    with tempfile.TemporaryDirectory(prefix="gradtui-bench-") as folder:
        path = Path(folder) / "history.npz"
        for _ in range(sizes.export_repeats):
            started = time.perf_counter()
            write_history(path, run)
            times.append(time.perf_counter() - started)
        size_mb = path.stat().st_size / 2**20
        with np.load(path) as written:
            steps = written["step"]
            if len(steps) != sizes.export_rows or not np.array_equal(steps, np.arange(sizes.export_rows)):
                raise RuntimeError(f"the export holds {len(steps)} rows, not steps 0..{sizes.export_rows - 1}")
    results.figures["export_1m_s"] = statistics.median(times) * EXPORT_SCALE_ROWS / sizes.export_rows
    runs = [round(t, 3) for t in times]
    results.extra["export"] = {"rows": sizes.export_rows, "mb": round(size_mb, 1), "runs_s": runs}
    if sizes.export_rows != EXPORT_SCALE_ROWS:
        results.notes.append(f"export time measured on {sizes.export_rows:,} rows and scaled to 1M")
