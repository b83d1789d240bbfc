"""The fake engine's attribution and preview (NumPy): FakeSession's Why and Preview tabs.

The fake model is one dense layer stepped by plain SGD, so the split is exact and has no carry: row
i's term for probe p's output k is J_pk·(s·∇ℓᵢ), s = ±lr, and the terms sum to the step's forecast. Under
the probe rules the rows are the probes, with the probe-by-probe matrix J_i·(-lr·∇f_j); under the random
rule the step came from no data. The preview walks w + α·Δw with the next step's Δw.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence

import numpy as np

from gradtui.config import DEFAULT_LR, LabConfig
from gradtui.lab import progress
from gradtui.lab.attribution import AttributionSpec, Influence, ProbeMatrix, Source, StepAttribution
from gradtui.lab.history import History
from gradtui.lab.preview_result import ALPHAS, Preview, first_off
from gradtui.lab.results import LabError, ModelSummary

LOSS_RULES = ("example-loss", "batch-loss")
IMAGE_SIDE = 16  # the fake cnn's rows are drawn as 16x16 pictures (the shipped shapes' size)


class _Sums:
    """The latest split and the per-row sums since `since`."""

    def __init__(self, spec: AttributionSpec, source: Source, rows: int, step: int) -> None:
        self.spec, self.source = spec, source
        self.cumulative = np.zeros((len(spec.probes), rows))
        self.since, self.counted = step, 0
        self.last: dict[str, np.ndarray] | None = None
        self.last_step = -1

    def restart(self, step: int) -> None:
        self.cumulative[:] = 0.0
        self.since, self.counted, self.last, self.last_step = step, 0, None, -1


class FakeExplaining:
    """FakeSession's attribution_on/off, attribution, influence, probe_matrix, row_inputs and preview."""

    config: LabConfig
    summary: ModelSummary
    history: History
    w: np.ndarray
    b: np.ndarray
    x_probe: np.ndarray
    x_train: np.ndarray
    y_train: np.ndarray
    _rng: np.random.Generator
    _step: int
    _sums: _Sums | None = None

    def _predict(self, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _first_order(self, p: np.ndarray, dz: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _output_weights(self, p: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _gradient(self) -> tuple[np.ndarray, np.ndarray, float, float]:
        raise NotImplementedError

    # -- switching -------------------------------------------------------------------------------

    @property
    def attributing(self) -> AttributionSpec | None:
        return self._sums.spec if self._sums is not None else None

    def _source(self) -> Source:
        rule = self.config.rule
        return "rows" if rule == "batch-loss" else "none" if rule == "random" else "probes"

    def default_outputs(self) -> tuple[int, ...]:
        last = self.history.last("predictions")
        return tuple(int(k) for k in np.argmax(last, axis=-1)) if last.shape[-1] > 1 else (0,) * len(last)

    def attribution_on(
        self, probes: Sequence[int] | None = None, outputs: Mapping[int, int] | None = None, log_top: int = 0
    ) -> AttributionSpec:
        count = len(self.x_probe)
        chosen = tuple(range(count)) if probes is None else tuple(int(p) for p in probes)
        if any(not 0 <= p < count for p in chosen):
            raise LabError(f"probe out of range: 0..{count - 1}")
        defaults, picked = self.default_outputs(), dict(outputs or {})
        spec = AttributionSpec(chosen, tuple(int(picked.get(p, defaults[p])) for p in chosen))
        if self._sums is None or self._sums.spec != spec or self._sums.source != self._source():
            progress.phase("tracing the step")  # as the real session's attributing graph does
            rows = {"rows": len(self.x_train), "probes": count, "none": 0}[self._source()]
            self._sums = _Sums(spec, self._source(), rows, self._step)
        return spec

    def attribution_off(self) -> None:
        self._sums = None

    def _restart_sums(self) -> None:
        if self._sums is not None:
            self._sums.restart(self._step)

    # -- the step's hook -------------------------------------------------------------------------

    def _row_gradients(self) -> tuple[np.ndarray, np.ndarray]:
        """(inputs (N, F), d loss/dz per row (N, K)) of the rule at the current weights: Σ rows = the
        gradient (as _gradient takes it)."""
        rule = self.config.rule
        if rule in LOSS_RULES:
            x = self.x_train if rule == "batch-loss" else self.x_probe
            labels = self.y_train if rule == "batch-loss" else np.full(len(x), self.config.label or 0)
            p = self._predict(x, self.w, self.b)
            y = np.eye(p.shape[1])[labels % p.shape[1]] if p.shape[1] > 1 else labels[:, None] % 2
            return x, (p - y) / len(x)
        return self.x_probe, self._output_weights(self._predict(self.x_probe, self.w, self.b))

    def _attribute(self, before: np.ndarray, scale: float, forecast: np.ndarray, actual: np.ndarray) -> None:
        """Record this step's split (called before the weights move): `scale` = ±lr, the update's factor."""
        sums = self._sums
        if sums is None:
            return
        spec = sums.spec
        a = len(spec.probes)
        terms = np.zeros((a, sums.cumulative.shape[1]))
        matrix = None
        if sums.source != "none":
            x, dz = self._row_gradients()
            reach = scale * (self.x_probe @ x.T + 1.0)  # (P, N): a row's pre-activation change at each probe
            for i, (p, k) in enumerate(zip(spec.probes, spec.outputs, strict=True)):
                change = reach[p][:, None] * dz
                terms[i] = self._first_order(np.broadcast_to(before[p], change.shape), change)[:, k]
            sums.cumulative += terms
        if sums.source == "probes":
            lr = self.config.lr if self.config.lr is not None else DEFAULT_LR
            matrix = np.zeros((a, a))
            for j, (pj, kj) in enumerate(zip(spec.probes, spec.outputs, strict=True)):
                hot = np.zeros((1, before.shape[1]))
                hot[0, kj] = 1.0
                grad = self._first_order(before[pj : pj + 1], hot)[0]  # d f_j/dz (the Jacobian is symmetric)
                for i, (pi, ki) in enumerate(zip(spec.probes, spec.outputs, strict=True)):
                    change = -lr * (float(self.x_probe[pi] @ self.x_probe[pj]) + 1.0) * grad
                    matrix[i, j] = self._first_order(before[pi : pi + 1], change[None])[0, ki]
        pick = (list(spec.probes), list(spec.outputs))
        sums.last = {"terms": terms, "forecast": forecast[pick], "actual": actual[pick]}
        if matrix is not None:
            sums.last["matrix"] = matrix
        sums.counted += 1
        sums.last_step = self._step + 1

    # -- what the views read ---------------------------------------------------------------------

    def _labels(self, source: Source) -> np.ndarray | None:
        k = max(self.summary.output_shape[0], 2)
        return self.y_train % k if source == "rows" else None

    def attribution(self, probe: int) -> StepAttribution | None:
        sums = self._sums
        if sums is None or sums.last is None or probe not in sums.spec.probes:
            return None
        i = sums.spec.probes.index(probe)
        last = sums.last
        rows = np.arange(sums.cumulative.shape[1])
        labels = self._labels(sums.source)
        return StepAttribution(
            step=sums.last_step,
            probe=probe,
            output=sums.spec.outputs[i],
            source=sums.source,
            rows=rows,
            terms=last["terms"][i].copy(),
            labels=labels,
            direction=float(last["forecast"][i]) if sums.source == "none" else float(np.sum(last["terms"][i])),
            carry=(),
            forecast=float(last["forecast"][i]),
            actual=float(last["actual"][i]),
        )

    def influence(self, probe: int) -> Influence | None:
        sums = self._sums
        if sums is None or probe not in sums.spec.probes:
            return None
        i = sums.spec.probes.index(probe)
        output = sums.spec.outputs[i]
        values = sums.cumulative[i].copy()
        return Influence(probe, output, sums.source, sums.since, sums.counted, values, self._labels(sums.source))

    def probe_matrix(self) -> ProbeMatrix | None:
        sums = self._sums
        if sums is None or sums.last is None or "matrix" not in sums.last:
            return None
        return ProbeMatrix(sums.last_step, sums.spec.probes, sums.spec.outputs, sums.last["matrix"].copy())

    def row_inputs(self, source: str, rows: np.ndarray) -> np.ndarray | None:
        """The rows' inputs; the fake cnn's as 16x16 pictures (a line across, placed by the row's features)."""
        x = self.x_train if source == "rows" else self.x_probe if source == "probes" else None
        if x is None:
            return None
        picked = x[np.asarray(rows, np.int64)]
        if self.config.model != "cnn":
            return picked
        images = np.zeros((len(picked), IMAGE_SIDE, IMAGE_SIDE, 1), np.float32)
        for n, features in enumerate(picked):
            at = int(abs(features[0]) * 5) % IMAGE_SIDE
            if features[1] > 0:
                images[n, :, at, 0] = 1.0  # a vertical line
            else:
                images[n, at, :, 0] = 1.0  # a horizontal one
        return images

    # -- the preview -----------------------------------------------------------------------------

    def _objective_at(self, w: np.ndarray, b: np.ndarray) -> float:
        saved = self.w, self.b
        self.w, self.b = w, b
        try:
            return self._gradient()[2]
        finally:
            self.w, self.b = saved

    @property
    def preview_prepared(self) -> bool:
        """NumPy traces nothing: always ready."""
        return True

    def prepare_preview(self) -> None:
        """Nothing to trace ahead."""

    def preview(self, alphas: Sequence[float] = ALPHAS) -> Preview:
        """Along the next update w + α·Δw (nothing changes: the random rule's generator is copied)."""
        rng = copy.deepcopy(self._rng)
        try:
            dw, db, objective, _ = self._gradient()
        finally:
            self._rng = rng
        lr = self.config.lr if self.config.lr is not None else DEFAULT_LR
        scale = (-1.0 if self.config.sign == "descend" else 1.0) * lr
        uw, ub = scale * dw, scale * db
        a = np.asarray(alphas, np.float64)
        y0 = self._predict(self.x_probe, self.w, self.b).astype(np.float64)
        slope = self._first_order(y0, self.x_probe @ uw + ub)
        predictions = np.stack([self._predict(self.x_probe, self.w + t * uw, self.b + t * ub) for t in a])
        linear = y0[None] + a[:, None, None] * slope[None]
        along = np.array([self._objective_at(self.w + t * uw, self.b + t * ub) for t in a])
        o0, o1 = objective, float(np.sum(dw * uw) + np.sum(db * ub))
        h = 1e-2
        uhu = (self._objective_at(self.w + h * uw, self.b + h * ub) - 2 * o0) / h**2
        uhu += self._objective_at(self.w - h * uw, self.b - h * ub) / h**2
        uu = float(np.sum(uw * uw) + np.sum(ub * ub))
        losses = along if self.config.rule in LOSS_RULES else np.full(len(a), math.nan)
        return Preview(
            step=self._step + 1,
            alphas=a,
            predictions=predictions.astype(np.float64),
            linear=linear,
            objective=along,
            objective_linear=o0 + a * o1,
            objective_quadratic=o0 + a * o1 + 0.5 * a**2 * uhu,
            loss=losses,
            curvature=uhu / uu if uu > 0 else math.nan,
            stability=2.0 / lr if lr > 0 else math.inf,
            update_norm=math.sqrt(uu),
            linear_until=first_off(a, predictions - y0[None], linear - y0[None]),
            objective_linear_until=first_off(a, along - o0, a * o1),
        )
