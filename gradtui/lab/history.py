"""Per-step measurements in NumPy arrays (no TensorFlow), shared by the engine and the UI.

Row 0 is the state before any step; row i is the state after step i. The engine appends whole
chunks; the UI reads snapshots on its own timer, so reads and writes are guarded by one lock.

In the lab, memory stays bounded however long a play runs: the most recent rows are kept exactly,
and older rows are summarised into buckets of consecutive steps. A bucket is three rows (its `summary` code
1, 2, 3): the per-value minimum and maximum over the bucket, both at the bucket's first step, and
its last step exactly as recorded. So a plot of the rows keeps every spike, and every row coded
0 or 3 is a real recorded state. As a play goes on, buckets merge pairwise, so the number of rows
stays within a budget. Row 0 and the rows an undo would return to (`keep_exact`) stay exact.
`len()` counts recorded steps (rows), not stored rows.

An `exact` history never summarises: a headless run's file is the experiment, so it keeps every
step, and its caller checks up front that `row_bytes` times the steps fits in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

import numpy as np

from gradtui.lab.measures import BY_NAME, Dims

COLUMNS = BY_NAME  # the row schema: one column per declared measure, in declaration order

__all__ = ["COLUMNS", "SUMMARY", "Dims", "History", "downsample", "spans"]

# The bookkeeping column that says which stored rows are summaries (kept apart from the measurements).
SUMMARY = "summary"
EXACT, BUCKET_MIN, BUCKET_MAX, BUCKET_LAST = 0, 1, 2, 3
SUMMARY_MEANING = (
    "0: a recorded step; 1, 2, 3: a bucket of older steps summarised as its per-value minimum (1) and maximum "
    "(2), both on the bucket's first step, and its last step as recorded (3)"
)
RECENT_BYTES = 32 << 20  # exact recent rows: about this much memory, within the row limits below
RECENT_ROWS = (2_000, 50_000)
BUCKETS = 2_000  # summary buckets kept (three rows each) before neighbours merge
MIN_BUCKET = 8  # steps per bucket at least: fewer would not save rows


class History:
    """Columns of measurements, amortised O(1) append, bounded by summarising old rows unless `exact`."""

    def __init__(
        self, dims: Dims, capacity: int = 256, recent: int | None = None, buckets: int = BUCKETS, exact: bool = False
    ) -> None:
        self.dims = dims
        self.exact = exact  # keep every row as recorded (may be switched on before a long headless run)
        self._lock = threading.Lock()
        self._n = 0  # stored rows
        self._steps = 0  # recorded steps they stand for: len()
        self._keep: Callable[[], Iterable[int]] = tuple
        self._cols: dict[str, np.ndarray] = {}
        for name, measure in COLUMNS.items():
            empty = 0 if measure.kind == "step" else np.nan
            self._cols[name] = np.full((capacity, *dims.shape(measure.kind)), empty, measure.dtype)
        self._cols[SUMMARY] = np.zeros(capacity, np.int8)
        low, high = RECENT_ROWS
        self.recent = recent if recent is not None else int(min(high, max(low, RECENT_BYTES // self.row_bytes)))
        self.buckets = buckets

    def __len__(self) -> int:
        return self._steps

    @property
    def stored(self) -> int:
        """Rows held in memory (exact and summary rows)."""
        return self._n

    @property
    def row_bytes(self) -> int:
        """Bytes one stored row takes across every column."""
        return sum(arr.itemsize * int(np.prod(arr.shape[1:])) for arr in self._cols.values())

    def largest_column_bytes(self, rows: int) -> int:
        """Bytes of the widest column over `rows` rows: what copying one column (an .npz export) costs."""
        return rows * max(arr.itemsize * int(np.prod(arr.shape[1:])) for arr in self._cols.values())

    def reserve(self, rows: int) -> None:
        """Room for `rows` stored rows at once, so an exact history of known length takes its size, not
        up to twice that from growing by doubling."""
        with self._lock:
            if rows > len(self._cols["step"]):
                self._resize(rows)

    def append(self, rows: dict[str, np.ndarray]) -> None:
        """Append a chunk: every column with the same leading length; missing columns are NaN.

        A `summary` column (as `to_dict` returns it) restores summarised rows as they were."""
        count = len(rows["step"])
        with self._lock:
            need = self._n + count
            if need > len(self._cols["step"]):
                self._resize(max(need, len(self._cols["step"]) * 2))
            for name, arr in self._cols.items():
                if name in rows:
                    arr[self._n : need] = np.asarray(rows[name], dtype=arr.dtype).reshape((count, *arr.shape[1:]))
                else:
                    arr[self._n : need] = np.nan if arr.dtype == np.float32 else 0
            self._steps += int(spans(self._cols["step"][self._n : need], self._cols[SUMMARY][self._n : need]).sum())
            self._n = need
            self._compact()

    def truncate(self, length: int) -> None:
        """Keep the first `length` recorded steps (undo, reset); a bucket the cut would split goes whole."""
        with self._lock:
            length = max(0, length)
            if length >= self._steps:
                return
            ends = np.cumsum(spans(self._cols["step"][: self._n], self._cols[SUMMARY][: self._n]))
            cut = int(np.searchsorted(ends, length, side="right"))
            kinds = self._cols[SUMMARY]
            while cut > 0 and kinds[cut - 1] in (BUCKET_MIN, BUCKET_MAX):
                cut -= 1
            self._n = cut
            self._steps = int(ends[cut - 1]) if cut else 0
            capacity = len(self._cols["step"])
            if capacity > 4096 and self._n * 4 < capacity:  # give memory back after a reset
                self._resize(max(256, self._n * 2))

    def keep_exact(self, rows: Callable[[], Iterable[int]]) -> None:
        """Where to ask, when summarising, which recorded rows (by index) must stay exact: those an undo
        returns to. Asked each time, so it follows the undo stack without being told of each change."""
        self._keep = rows

    def column(self, name: str) -> np.ndarray:
        """A copy of one column's stored rows: safe to keep while the engine appends."""
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

    def take(self, index: np.ndarray) -> dict[str, np.ndarray]:
        """Copies of the stored rows at `index` from every column: a few rows of a long history."""
        with self._lock:
            return {name: arr[: self._n][index] for name, arr in self._cols.items()}

    def to_dict(self) -> dict[str, np.ndarray]:
        """Every stored row, with the `summary` column that marks summarised ones."""
        with self._lock:
            return {name: arr[: self._n].copy() for name, arr in self._cols.items()}

    def summarised(self) -> int:
        """How many stored rows are summaries (0 until a long run)."""
        with self._lock:
            return int(np.count_nonzero(self._cols[SUMMARY][: self._n]))

    def nbytes(self) -> int:
        return sum(arr.nbytes for arr in self._cols.values())

    # -- bounding ----------------------------------------------------------------------------------

    def _resize(self, capacity: int) -> None:
        for name, arr in self._cols.items():
            fill = np.nan if arr.dtype == np.float32 else 0
            grown = np.full((capacity, *arr.shape[1:]), fill, arr.dtype)
            grown[: self._n] = arr[: self._n]
            self._cols[name] = grown

    def _compact(self) -> None:
        """Summarise all but the most recent rows once the exact tail outgrows its budget by half."""
        if self.exact:
            return
        kinds = self._cols[SUMMARY][: self._n]
        summarised = np.flatnonzero(kinds)
        tail_start = int(summarised[-1]) + 1 if len(summarised) else 0
        if self._n - tail_start <= self.recent + self.recent // 2:
            return
        cut = self._n - self.recent
        steps = self._cols["step"][: self._n]
        widths = spans(steps, kinds)
        first = np.cumsum(widths) - widths  # each row's first recorded index (a bucket's three rows: the bucket's)
        covered = int(first[cut])
        width = MIN_BUCKET
        while covered > width * self.buckets:
            width *= 2
        region = slice(0, cut)
        merged = _rebucket(
            {name: arr[region] for name, arr in self._cols.items()}, first[region], width, {0, *self._keep()}
        )
        size = len(merged[SUMMARY])
        tail = self._n - cut
        for name, arr in self._cols.items():
            arr[size : size + tail] = arr[cut : self._n].copy()
            arr[:size] = merged[name]
        self._n = size + tail


def spans(steps: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Recorded steps each stored row stands for: 1 for an exact row, a bucket's length on its last row."""
    widths = (kinds == EXACT).astype(np.int64)
    last = np.flatnonzero(kinds == BUCKET_LAST)
    if len(last):
        widths[last] = steps[last] - steps[np.maximum(last - 2, 0)] + 1
    return widths


def _rebucket(cols: dict[str, np.ndarray], first: np.ndarray, width: int, keep: set[int]) -> dict[str, np.ndarray]:
    """Stored rows regrouped into buckets of `width` recorded steps (aligned, so merges nest); rows in
    `keep` stay exact and end the bucket before them."""
    kinds = cols[SUMMARY]
    n = len(kinds)
    key = first // width
    pinned = (kinds == EXACT) & np.isin(first, np.fromiter(keep, np.int64, len(keep)))
    key[pinned] = -1 - np.arange(n)[pinned]  # a group of its own
    starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    ends = np.append(starts[1:], n)
    single = (ends - starts == 1) & (kinds[starts] == EXACT)
    out_rows = np.where(single, 1, 3)
    offsets = np.concatenate([[0], np.cumsum(out_rows)[:-1]])
    total = int(out_rows.sum())
    tri = offsets[~single]
    grp = np.flatnonzero(~single)
    out: dict[str, np.ndarray] = {}
    for name, arr in cols.items():
        res = np.empty((total, *arr.shape[1:]), arr.dtype)
        res[offsets[single]] = arr[starts[single]]
        if name == SUMMARY:
            res[tri], res[tri + 1], res[tri + 2] = BUCKET_MIN, BUCKET_MAX, BUCKET_LAST
        elif name == "step":
            res[tri] = res[tri + 1] = arr[starts[grp]]
            res[tri + 2] = arr[ends[grp] - 1]
        elif len(grp):
            shape = (n,) + (1,) * (arr.ndim - 1)
            low = np.where(np.isin(kinds, (EXACT, BUCKET_MIN)).reshape(shape), arr, np.nan)
            high = np.where(np.isin(kinds, (EXACT, BUCKET_MAX)).reshape(shape), arr, np.nan)
            res[tri] = np.fmin.reduceat(low, starts, axis=0)[grp]
            res[tri + 1] = np.fmax.reduceat(high, starts, axis=0)[grp]
            res[tri + 2] = arr[ends[grp] - 1]
        out[name] = res
    return out


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
