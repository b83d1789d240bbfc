"""Why the prediction moved: each step's forecast split into per-row terms and the carry, and the
cumulative per-row influence (TracIn), as plain NumPy the UI and the exports read.

attribution_graph.py computes the floats inside the compiled step; this module unpacks them, keeps
the latest step's full split and the running sum per training row, and (for `gradtui run
--influence K`) each step's K largest terms. No TensorFlow here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Source = Literal["rows", "probes", "none"]  # training rows, the probes themselves, or no data (random rule)
SOURCE_MEANING = {
    "rows": "the training rows of the batch",
    "probes": "the probe rows (the rule differentiates the probes themselves)",
    "none": "no data: the step came from a random direction",
}


@dataclass(frozen=True)
class AttributionSpec:
    """Which probes are attributed, and the tracked output of each."""

    probes: tuple[int, ...]
    outputs: tuple[int, ...]

    def output_of(self, probe: int) -> int | None:
        return self.outputs[self.probes.index(probe)] if probe in self.probes else None


@dataclass(frozen=True)
class Layout:
    """Where each step's attribution floats sit (see attribution_graph's module docstring)."""

    spec: AttributionSpec
    source: Source
    rows: int  # terms per probe per step

    @property
    def matrix(self) -> bool:
        return self.source == "probes"

    @property
    def width(self) -> int:
        a = len(self.spec.probes)
        return a * self.rows + self.rows + 3 * a + (a * a if self.matrix else 0)

    def unpack(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """(steps, width) floats into terms (steps, A, R), ids (steps, R), data/history/decay (steps, A)
        and, under the probe rules, matrix (steps, A, A)."""
        a, r, n = len(self.spec.probes), self.rows, len(flat)
        at = 0
        out: dict[str, np.ndarray] = {}
        for name, shape in (("terms", (a, r)), ("ids", (r,)), ("data", (a,)), ("history", (a,)), ("decay", (a,))):
            size = int(np.prod(shape))
            out[name] = flat[:, at : at + size].reshape((n, *shape))
            at += size
        out["ids"] = out["ids"].astype(np.int64)
        if self.matrix:
            out["matrix"] = flat[:, at : at + a * a].reshape((n, a, a))
        return out


@dataclass(frozen=True)
class StepAttribution:
    """One step's forecast for one probe output, split: Σ terms + carry = forecast; actual - it = residual."""

    step: int  # the step explained (its row in the history)
    probe: int
    output: int
    source: Source
    rows: np.ndarray  # the row of each term: a training row, or a probe under the probe rules
    terms: np.ndarray  # (1/B)·J·P(∇ℓᵢ) per row (float64)
    labels: np.ndarray | None  # each row's class (None for value targets or no data)
    direction: float  # J·P(applied gradient): Σ terms under the data rules, the whole random step otherwise
    carry: tuple[tuple[str, float], ...]  # labelled carried parts: momentum / first-moment history, decay
    forecast: float  # J(w)·Δw as the step measured it
    actual: float  # the probe output's actual change

    @property
    def total(self) -> float:
        """Terms (or the random direction) plus the carry: equals the forecast up to float32 rounding."""
        data = float(np.sum(self.terms)) if self.source != "none" else self.direction
        return data + sum(value for _, value in self.carry)

    @property
    def residual(self) -> float:
        """The actual change minus the first-order sum: what the linear picture misses."""
        return self.actual - self.total

    def largest(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k terms largest in size (rows, values), largest first."""
        order = np.argsort(-np.abs(self.terms), kind="stable")[:k]
        return self.rows[order], self.terms[order]

    def pushed(self, k: int, up: bool) -> tuple[np.ndarray, np.ndarray]:
        """The k rows that pushed the output most up (or down), with their terms."""
        order = np.argsort(-self.terms if up else self.terms, kind="stable")[:k]
        keep = self.terms[order] > 0 if up else self.terms[order] < 0
        return self.rows[order][keep], self.terms[order][keep]

    def rest(self, shown: np.ndarray) -> float:
        """The sum of the terms of every row not in `shown` ("the rest of the batch")."""
        return float(np.sum(self.terms[~np.isin(self.rows, shown)]))


@dataclass(frozen=True)
class Influence:
    """Σ over steps of each row's term for one probe output (TracIn), since attribution began."""

    probe: int
    output: int
    source: Source
    since: int  # the step count when counting began: steps since+1 .. now are summed
    steps: int  # steps summed
    values: np.ndarray  # per training row (per probe under the probe rules), float64
    labels: np.ndarray | None

    def proponents(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(-self.values, kind="stable")[:k]
        keep = self.values[order] > 0
        return order[keep], self.values[order][keep]

    def opponents(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.values, kind="stable")[:k]
        keep = self.values[order] < 0
        return order[keep], self.values[order][keep]

    def rank_among_opponents(self, row: int) -> int | None:
        """1 for the row that pushed the output down most; None when the row pushed it up (or not at all)."""
        if self.values[row] >= 0:
            return None
        return int(np.count_nonzero(self.values < self.values[row])) + 1

    def by_class(self) -> tuple[float, float] | None:
        """(same class, other classes): the summed influence of rows labelled as the tracked output."""
        if self.labels is None:
            return None
        same = self.labels == self.output
        return float(np.sum(self.values[same])), float(np.sum(self.values[~same]))


@dataclass(frozen=True)
class ProbeMatrix:
    """Under the probe rules: entry [i, j] = J_i·P(∇f_j), how far pushing probe j moves probe i (the
    empirical NTK between the probes under this step's optimizer state)."""

    step: int
    probes: tuple[int, ...]
    outputs: tuple[int, ...]
    values: np.ndarray  # (A, A)


@dataclass
class StepLog:
    """Per step, per probe: the K largest terms, the rest, the carry and the residual (`run --influence K`)."""

    k: int
    step: list[np.ndarray] = field(default_factory=list)
    rows: list[np.ndarray] = field(default_factory=list)  # (steps, A, K) int64, -1 where fewer rows
    values: list[np.ndarray] = field(default_factory=list)  # (steps, A, K)
    rest: list[np.ndarray] = field(default_factory=list)  # (steps, A)
    history: list[np.ndarray] = field(default_factory=list)
    decay: list[np.ndarray] = field(default_factory=list)
    direction: list[np.ndarray] = field(default_factory=list)
    residual: list[np.ndarray] = field(default_factory=list)  # actual - (terms + carry)

    def add(self, steps: np.ndarray, unpacked: dict[str, np.ndarray], actual: np.ndarray) -> None:
        """A chunk's steps; `actual` (steps, A) is each tracked output's actual change."""
        terms, ids = unpacked["terms"], unpacked["ids"]
        r = terms.shape[-1]
        k = min(self.k, r)
        order = np.argsort(-np.abs(terms), axis=-1, kind="stable")[..., :k]
        values = np.take_along_axis(terms, order, axis=-1)
        rows = np.take_along_axis(np.broadcast_to(ids[:, None, :], terms.shape), order, axis=-1)
        pad = self.k - k
        self.rows.append(np.pad(rows, ((0, 0), (0, 0), (0, pad)), constant_values=-1))
        self.values.append(np.pad(values, ((0, 0), (0, 0), (0, pad)), constant_values=np.nan))
        self.rest.append(terms.sum(axis=-1, dtype=np.float64) - values.sum(axis=-1, dtype=np.float64))
        self.step.append(steps)
        for name in ("history", "decay"):
            getattr(self, name).append(unpacked[name])
        self.direction.append(unpacked["data"])
        total = unpacked["data"].astype(np.float64) + unpacked["history"] + unpacked["decay"]
        self.residual.append(actual - total)

    def arrays(self) -> dict[str, np.ndarray]:
        def joined(parts: list[np.ndarray], dtype: type[np.generic]) -> np.ndarray:
            return np.concatenate(parts).astype(dtype) if parts else np.zeros((0,), dtype)

        return {
            "step": joined(self.step, np.int64),
            "rows": joined(self.rows, np.int64),
            "values": joined(self.values, np.float32),
            "rest": joined(self.rest, np.float32),
            "history": joined(self.history, np.float32),
            "decay": joined(self.decay, np.float32),
            "direction": joined(self.direction, np.float32),
            "residual": joined(self.residual, np.float32),
        }


LOG_MEANINGS = {
    "probes": "the attributed probes (index into the probe rows)",
    "outputs": "each attributed probe's tracked output",
    "source": "what the terms are per: " + "; ".join(f"{k}: {v}" for k, v in SOURCE_MEANING.items()),
    "step": "the step each logged row explains",
    "rows": "per step and probe, the rows of the K largest terms by size (-1 where fewer rows)",
    "values": "per step and probe, those K terms (1/B)·J·P(∇ℓᵢ), largest in size first",
    "rest": "per step and probe, the sum of every other row's term (the rest of the batch)",
    "history": "per step and probe, J·(carried momentum or Adam first-moment history)",
    "decay": "per step and probe, J·(decoupled weight decay)",
    "direction": "per step and probe, J·P(applied gradient): the terms' sum (the whole random step)",
    "residual": "per step and probe, the actual change minus (terms + carry), the forecast",
    "cumulative": "per probe and row, the terms summed over every attributed step (TracIn influence)",
    "since": "per probe, the step count when the cumulative sum began",
}
