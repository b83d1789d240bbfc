"""Helpers for the classroom tests: a History filled like the engine fills it, and waiting."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from gradtui.lab.history import COLUMNS, History
from gradtui.lab.measures import Dims
from gradtui.lab.results import ModelSummary

DIMS = Dims(probes=2, outputs=3, layers=2)
SUMMARY = ModelSummary(
    "toy", 10, (4,), (3,), "softmax", "categorical cross-entropy", ("dense", "out"), "CPU:0", "generated", "seeded"
)


def rows(first: int, count: int, seed: int = 0, dims: Dims = DIMS) -> dict[str, np.ndarray]:
    """`count` rows from step `first` on, with every column and a NaN now and then (as held-out columns have)."""
    rng = np.random.default_rng(seed * 1_000_003 + first)
    out: dict[str, np.ndarray] = {"step": np.arange(first, first + count, dtype=np.int64)}
    for name, measure in COLUMNS.items():
        if name == "step":
            continue
        values = rng.standard_normal((count, *dims.shape(measure.kind))).astype(np.float32)
        if measure.kind == "scalar":
            values[::3] = np.nan
        out[name] = values
    return out


def history(steps: int, seed: int = 0, recent: int | None = None) -> History:
    h = History(DIMS, recent=recent)
    h.append(rows(0, steps, seed))
    return h


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "the stream") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def same_rows(a: History, b: History) -> bool:
    """Both hold the same recorded steps with the same values (NaN equal to NaN)."""
    da, db = a.to_dict(), b.to_dict()
    if len(a) != len(b):
        return False
    keys = [k for k in COLUMNS]
    # the follower may summarise on its own schedule: compare the exact rows both kept
    ea = {int(s): i for i, (s, k) in enumerate(zip(da["step"], da["summary"], strict=True)) if k == 0}
    eb = {int(s): i for i, (s, k) in enumerate(zip(db["step"], db["summary"], strict=True)) if k == 0}
    common = sorted(set(ea) & set(eb))
    if not common or common[-1] != int(da["step"][-1]):
        return False
    return all(
        np.array_equal(da[k][[ea[s] for s in common]], db[k][[eb[s] for s in common]], equal_nan=True) for k in keys
    )
