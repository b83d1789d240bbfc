"""Per-step measurements in growable NumPy arrays (no TensorFlow), shared by the engine and the UI.

Row 0 is the state before any step; row i is the state after step i. The engine appends whole
chunks; the UI reads snapshots on its own timer, so reads and writes are guarded by one lock.
"""

from __future__ import annotations

import threading

import numpy as np

from gradtui.lab.measures import BY_NAME, Dims

COLUMNS = BY_NAME  # the row schema: one column per declared measure, in declaration order

__all__ = ["COLUMNS", "Dims", "History", "downsample"]


class History:
    """Columns of measurements, one row per recorded step, amortised O(1) append."""

    def __init__(self, dims: Dims, capacity: int = 256) -> None:
        self.dims = dims
        self._lock = threading.Lock()
        self._n = 0
        self._cols: dict[str, np.ndarray] = {}
        for name, measure in COLUMNS.items():
            empty = 0 if measure.kind == "step" else np.nan
            self._cols[name] = np.full((capacity, *dims.shape(measure.kind)), empty, measure.dtype)

    def __len__(self) -> int:
        return self._n

    def append(self, rows: dict[str, np.ndarray]) -> None:
        """Append a chunk: every column with the same leading length; missing columns are NaN."""
        count = len(rows["step"])
        with self._lock:
            need = self._n + count
            cap = len(self._cols["step"])
            if need > cap:
                new_cap = max(need, cap * 2)
                for name, arr in self._cols.items():
                    grown = np.full((new_cap, *arr.shape[1:]), np.nan if arr.dtype == np.float32 else 0, arr.dtype)
                    grown[: self._n] = arr[: self._n]
                    self._cols[name] = grown
            for name, arr in self._cols.items():
                if name in rows:
                    arr[self._n : need] = np.asarray(rows[name], dtype=arr.dtype).reshape((count, *arr.shape[1:]))
                else:
                    arr[self._n : need] = np.nan if arr.dtype == np.float32 else 0
            self._n = need

    def truncate(self, length: int) -> None:
        """Drop rows from `length` on (undo, reset)."""
        with self._lock:
            self._n = max(0, min(length, self._n))

    def column(self, name: str) -> np.ndarray:
        """A copy of one column's recorded rows: safe to keep while the engine appends."""
        with self._lock:
            return self._cols[name][: self._n].copy()

    def columns(self, *names: str) -> tuple[np.ndarray, ...]:
        """Copies of several columns cut at one length: a plot's x and y must come from the same moment."""
        with self._lock:
            return tuple(self._cols[name][: self._n].copy() for name in names)

    def last(self, name: str) -> np.ndarray:
        with self._lock:
            if self._n == 0:
                raise IndexError("history is empty")
            return self._cols[name][self._n - 1].copy()

    def rows(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """Copies of rows [start, stop) of every column: exports stream a long history chunk by chunk."""
        with self._lock:
            stop = min(stop, self._n)
            return {name: arr[start:stop].copy() for name, arr in self._cols.items()}

    def to_dict(self) -> dict[str, np.ndarray]:
        with self._lock:
            return {name: arr[: self._n].copy() for name, arr in self._cols.items()}

    def nbytes(self) -> int:
        return sum(arr.nbytes for arr in self._cols.values())


def downsample(x: np.ndarray, y: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ~2*width+2 points: the first and last, and each bucket's min and max, so spikes survive.

    Plot cost then depends on the widget's width, not on how many steps were recorded. Vectorised:
    this runs on the UI thread for every plot on every redraw.
    """
    n = len(x)
    if n <= 2 * width or width < 1:
        return x, y
    edges = np.unique(np.linspace(0, n, width + 1).astype(np.int64))
    starts = edges[:-1]
    bucket = np.repeat(np.arange(len(starts)), np.diff(edges))
    finite = np.isfinite(y)
    lows = np.where(finite, y, np.inf)
    highs = np.where(finite, y, -np.inf)
    mins = np.minimum.reduceat(lows, starts)
    maxs = np.maximum.reduceat(highs, starts)
    picked = [starts[~np.isfinite(mins)]]  # a bucket with no finite value keeps its first row
    for values, extreme in ((lows, mins), (highs, maxs)):
        hits = np.flatnonzero((values == extreme[bucket]) & finite)
        _, first = np.unique(bucket[hits], return_index=True)  # the first row reaching each bucket's extreme
        picked.append(hits[first])
    sel = np.unique(np.concatenate([*picked, [0, n - 1]]))  # the ends too, so the x axis spans the run
    return x[sel], y[sel]
