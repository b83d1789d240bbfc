"""Undo and named snapshots: copies of everything a step changes, and an all-or-nothing restore."""

from __future__ import annotations

import collections
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradtui.config import LabConfig
from gradtui.lab.history import COLUMNS, SUMMARY, History
from gradtui.lab.results import Divergence

UNDO_BUDGET_BYTES = 256 << 20  # history copies are bounded too (History summarises old rows)
UNDO_ENTRIES = 200


@dataclass
class State:
    """Everything a step changes, copied out of the graph: an undo entry or a named snapshot."""

    weights: list[np.ndarray]
    optimizer: list[np.ndarray]
    step: int
    history_len: int
    history: dict[str, np.ndarray] | None = None  # a full copy, when the timeline is not a prefix
    divergence: Divergence | None = None
    state: list[np.ndarray] | None = None  # non-trainable variables (moving statistics); None = leave them
    config: LabConfig | None = None  # the experiment it was taken under (None: the session's own)

    def nbytes(self) -> int:
        size = sum(a.nbytes for a in self.weights) + sum(a.nbytes for a in self.optimizer)
        size += sum(a.nbytes for a in self.state or [])
        return size + (sum(a.nbytes for a in self.history.values()) if self.history else 0)


@dataclass(frozen=True)
class Live:
    """The variables a State is copied from and written back to."""

    weights: list[Any]
    optimizer: list[Any]
    step: Any  # a tf.Variable holding the step count
    history: History
    state: list[Any] = field(default_factory=list)  # the model's non-trainable variables


@dataclass
class Timeline:
    """The undo stack (bounded in entries and bytes, oldest dropped first) and the named snapshots."""

    undo: collections.deque[State] = field(default_factory=collections.deque)
    snapshots: dict[str, State] = field(default_factory=dict)

    def push(self, state: State) -> None:
        self.undo.append(state)
        total = sum(e.nbytes() for e in self.undo)
        while len(self.undo) > 1 and (total > UNDO_BUDGET_BYTES or len(self.undo) > UNDO_ENTRIES):
            total -= self.undo.popleft().nbytes()

    def marks(self) -> list[int]:
        """History rows an undo returns to (entries without their own history copy): kept exact."""
        return [e.history_len - 1 for e in self.undo if e.history is None]


def default_name(step: int, taken: Collection[str]) -> str:
    """`step-N`, else `step-N (2)`, `(3)`, …: a second snapshot at the same step count (another preset's, or
    the same step after an undo) never silently replaces the first, whose weights would be lost. A name the
    user gives still replaces its namesake."""
    name = f"step-{step}"
    n = 1
    while name in taken:
        n += 1
        name = f"step-{step} ({n})"
    return name


def capture(live: Live, with_history: bool, divergence: Divergence | None, config: LabConfig | None = None) -> State:
    return State(
        [v.numpy() for v in live.weights],
        [v.numpy() for v in live.optimizer],
        int(live.step.numpy()),
        len(live.history),
        live.history.to_dict() if with_history else None,
        divergence,
        [v.numpy() for v in live.state],
        config,
    )


def check(live: Live, state: State) -> None:
    """ValueError unless every array of `state` fits `live`: checked in full before anything is assigned."""
    for what, variables, arrays in (
        ("weight", live.weights, state.weights),
        ("optimizer", live.optimizer, state.optimizer),
        ("non-trainable", live.state if state.state is not None else [], state.state or []),
    ):
        if len(arrays) != len(variables):
            raise ValueError(f"{len(arrays)} {what} arrays for {len(variables)} variables")
        for var, array in zip(variables, arrays, strict=True):
            if tuple(np.shape(array)) != tuple(var.shape):
                raise ValueError(
                    f"{what} {getattr(var, 'path', var.name)}: shape {np.shape(array)}, expected {tuple(var.shape)}"
                )
    if state.history is not None:
        _check_history(live.history, state.history)


def _check_history(history: History, columns: dict[str, np.ndarray]) -> None:
    """Every known column shaped (rows, *its kind's shape); a column a file lacks is filled with NaN."""
    if "step" not in columns:
        raise ValueError("history has no step column")
    rows = len(columns["step"])
    for name, measure in COLUMNS.items():
        expected = (rows, *history.dims.shape(measure.kind))
        if name in columns and tuple(np.shape(columns[name])) != expected:
            raise ValueError(f"history column {name}: shape {np.shape(columns[name])}, expected {expected}")
    kinds = columns.get(SUMMARY)
    if kinds is not None and (np.shape(kinds) != (rows,) or not np.isin(kinds, (0, 1, 2, 3)).all()):
        raise ValueError("history column summary: not one code 0-3 per row")


def restore(live: Live, state: State, truncate: bool = True) -> None:
    """Write `state` back; nothing is assigned unless all of it fits (see `check`)."""
    check(live, state)
    for var, value in zip(live.weights, state.weights, strict=True):
        var.assign(value)
    for var, value in zip(live.optimizer, state.optimizer, strict=True):
        var.assign(value)
    for var, value in zip(live.state if state.state is not None else [], state.state or [], strict=True):
        var.assign(value)
    live.step.assign(state.step)
    if state.history is not None:
        live.history.truncate(0)
        live.history.append(state.history)
    elif truncate:
        live.history.truncate(state.history_len)
