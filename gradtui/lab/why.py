"""The Session's attribution and preview API (a mixin, so session.py stays a short coordinator).

Attribution costs nothing until it is turned on: then the step graph is rebuilt with the
attribution's extra row (attribution_graph.py), every step's split is unpacked here, the latest
one kept whole and the per-row sums (TracIn) kept for every attributed probe. Turning it off puts
the plain compiled step back. Undo, reset and restores start the sums again (`since` says when).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from gradtui.config import LabConfig
from gradtui.lab import preview as lab_preview
from gradtui.lab.attribution import (
    LOG_MEANINGS,
    AttributionSpec,
    Influence,
    Layout,
    ProbeMatrix,
    StepAttribution,
    StepLog,
)
from gradtui.lab.data import DataSet
from gradtui.lab.record import InfluenceRecord
from gradtui.lab.results import LabError

if TYPE_CHECKING:
    from gradtui.lab.history import History
    from gradtui.lab.step_graph import Parts, StepGraph


class WhyState:
    """The attribution's records: the latest step's split, the cumulative sums, an optional step log."""

    def __init__(self, layout: Layout, rows: int, step: int, log: StepLog | None = None) -> None:
        self.layout = layout
        self.cumulative = np.zeros((len(layout.spec.probes), rows), np.float64)
        self.since = np.full(len(layout.spec.probes), step, np.int64)
        self.counted = np.zeros(len(layout.spec.probes), np.int64)
        self.last: dict[str, np.ndarray] | None = None
        self.last_step = -1
        self.log = log

    def record(self, flat: np.ndarray, first_step: int, actual: np.ndarray) -> None:
        """A chunk's attribution rows, the first being step `first_step`; `actual` (steps, A) the tracked
        outputs' actual changes."""
        if not len(flat):
            return
        unpacked = self.layout.unpack(flat)
        steps = np.arange(first_step, first_step + len(flat), dtype=np.int64)
        if self.layout.rows:
            terms, ids = unpacked["terms"], unpacked["ids"]
            for a in range(len(self.layout.spec.probes)):
                valid = ids >= 0
                np.add.at(self.cumulative[a], ids[valid], terms[:, a, :][valid].astype(np.float64))
        self.counted += len(flat)
        self.last = {name: values[-1] for name, values in unpacked.items()}
        self.last_step = int(steps[-1])
        if self.log is not None:
            self.log.add(steps, unpacked, actual)

    def restart(self, step: int) -> None:
        self.cumulative[:] = 0.0
        self.since[:] = step
        self.counted[:] = 0
        self.last, self.last_step = None, -1


class Explaining:
    """Session methods for the Why and Preview views (see docs/attribution.md)."""

    config: LabConfig
    graph: StepGraph
    parts: Parts
    optimizer: Any
    strategy: Any
    device: str
    history: History
    data: DataSet | None
    outputs: int
    x_probe: Any
    _why: WhyState | None = None
    _plain_graph: StepGraph | None = None
    _attributing_graph: StepGraph | None = None  # the last one built, kept to switch back without a trace
    _previewed: StepGraph | None = None  # the last graph previewed: its compiled preview serves its config

    @property
    def step_count(self) -> int:
        raise NotImplementedError

    def _call(self, size: int) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _settled(self, config: LabConfig) -> LabConfig:
        """`config` with its autos settled, as the step graph runs it (Reconfiguring's, reconfigure.py)."""
        raise NotImplementedError

    # ---- switching --------------------------------------------------------------------------------

    @property
    def attributing(self) -> AttributionSpec | None:
        """The attributed probes and tracked outputs, or None while attribution is off."""
        return self._why.layout.spec if self._why is not None else None

    def default_outputs(self) -> tuple[int, ...]:
        """Each probe's tracked output: the class the prediction rule targets, else the predicted class."""
        target = self.config.target
        if self.outputs == 1:
            return (0,) * self.parts.dims.probes
        if self.config.rule in ("prediction", "random") and target.startswith("class:"):
            return (int(target.split(":")[1]),) * self.parts.dims.probes
        last = self.history.last("predictions")
        return tuple(int(k) for k in np.argmax(last, axis=-1))

    def attribution_on(
        self, probes: Sequence[int] | None = None, outputs: Mapping[int, int] | None = None, log_top: int = 0
    ) -> AttributionSpec:
        """Attribute every following step for `probes` (default: all) and their tracked outputs (default:
        default_outputs()); `log_top` > 0 also keeps each step's that many largest terms (headless)."""
        count = self.parts.dims.probes
        chosen = tuple(range(count)) if probes is None else tuple(dict.fromkeys(int(p) for p in probes))
        defaults = self.default_outputs()
        for p in chosen:
            if not 0 <= p < count:
                raise LabError(f"probe {p} is out of range: 0..{count - 1}")
        picked = dict(outputs or {})
        spec = AttributionSpec(chosen, tuple(int(picked.get(p, defaults[p])) for p in chosen))
        for k in spec.outputs:
            if not 0 <= k < self.outputs:
                raise LabError(f"output {k} is out of range: 0..{self.outputs - 1}")
        if self._why is not None and self._why.layout.spec == spec:  # the same: keep the sums
            if (self._why.log.k if self._why.log else 0) != log_top:
                self._why.log = StepLog(log_top) if log_top > 0 else None
            return spec
        graph = self._cached(self._attributing_graph, spec) or self._build_graph(self.config, spec)
        self._attributing_graph = graph
        if self._plain_graph is None:
            self._plain_graph = self.graph
        self.graph = graph
        assert graph.attributor is not None
        rows = self._influence_rows(graph.attributor.layout)
        self._why = WhyState(graph.attributor.layout, rows, self.step_count, StepLog(log_top) if log_top > 0 else None)
        return spec

    def track(self, probe: int, output: int) -> AttributionSpec:
        """Track another output of one probe (its sums start again; the others' carry on)."""
        spec = self.attributing
        if spec is None:
            return self.attribution_on(None, {probe: output})
        kept = self._why
        outputs = dict(zip(spec.probes, spec.outputs, strict=True))
        outputs[probe] = output
        new = self.attribution_on(
            tuple(dict.fromkeys((*spec.probes, probe))), outputs, kept.log.k if kept and kept.log else 0
        )
        if kept is not None and self._why is not None and kept is not self._why:
            for i, p in enumerate(new.probes):
                if (
                    p in spec.probes
                    and spec.output_of(p) == new.output_of(p)
                    and kept.cumulative.shape[1:] == self._why.cumulative.shape[1:]
                ):
                    j = spec.probes.index(p)
                    self._why.cumulative[i], self._why.since[i] = kept.cumulative[j], kept.since[j]
                    self._why.counted[i] = kept.counted[j]
        return new

    def attribution_off(self) -> None:
        """Back to the plain compiled step (traced once, kept)."""
        if self._why is None:
            return
        self._why = None
        plain = self._plain_graph
        self._plain_graph = None
        self.graph = self._cached(plain, None) or self._build_graph(self.config, None)

    # ---- hooks the Session calls ------------------------------------------------------------------

    def _cached(self, graph: StepGraph | None, spec: AttributionSpec | None) -> StepGraph | None:
        """`graph` if it was built for this config, optimizer and attribution, else None."""
        if graph is None or graph.config != self._settled(self.config) or graph.optimizer is not self.optimizer:
            return None
        return graph if (graph.attributor.spec if graph.attributor is not None else None) == spec else None

    def _build_graph(self, config: LabConfig, spec: AttributionSpec | None) -> StepGraph:
        from gradtui.lab.runtime import tf
        from gradtui.lab.step_graph import StepGraph

        with self.strategy.scope(), tf.device(self.device):  # traced now, so the next step does not wait
            graph = StepGraph(self._settled(config), self.parts, self.optimizer, self.strategy, attribution=spec)
            graph.warm()
        return graph

    def _record_why(self, rows: np.ndarray, first_step: int) -> None:
        if self._why is not None:
            from gradtui.lab import measures

            width, spec = measures.row_width(self.history.dims), self._why.layout.spec
            actual = measures.unpack(rows[:, :width], self.history.dims)["actual"][:, spec.probes, spec.outputs]
            self._why.record(rows[:, width:], first_step, actual.astype(np.float64))

    def _restart_why(self) -> None:
        if self._why is not None:
            self._why.restart(self.step_count)

    def _why_after_config(self) -> None:
        """A new config keeps the sums while rows stay the same rows (same rule kind and data)."""
        self._plain_graph = self._attributing_graph = None
        if self._why is None:
            return
        layout = self.graph.attributor.layout if self.graph.attributor is not None else None
        if layout is None or layout.source != self._why.layout.source or layout.rows != self._why.layout.rows:
            log = self._why.log
            self._why = None
            if layout is not None:
                self._why = WhyState(layout, self._influence_rows(layout), self.step_count, log)

    def _influence_rows(self, layout: Layout) -> int:
        if layout.source == "rows":
            assert self.data is not None
            return len(self.data.x_train)
        return self.parts.dims.probes if layout.source == "probes" else 0

    # ---- what the views read ----------------------------------------------------------------------

    def _row_labels(self, source: str) -> np.ndarray | None:
        """Each training row's class (None under the probe rules and for value targets)."""
        if source == "rows" and self.data is not None:
            return _classes(self.data.y_train, self.data.kind)
        return None

    def attribution(self, probe: int) -> StepAttribution | None:
        """The last recorded step's split for `probe`'s tracked output; None before any attributed step
        (or when the probe is not attributed)."""
        why = self._why
        if why is None or why.last is None or probe not in why.layout.spec.probes:
            return None
        a = why.layout.spec.probes.index(probe)
        output = why.layout.spec.outputs[a]
        last, source = why.last, why.layout.source
        valid = last["ids"] >= 0
        forecast, actual = _probe_figures(self.history, why.last_step, probe, output)
        history_label = _carry_label(self.optimizer)
        carry: tuple[tuple[str, float], ...] = ((history_label, float(last["history"][a])),) if history_label else ()
        if self.config.weight_decay > 0:
            carry += (("weight decay", float(last["decay"][a])),)
        labels = self._row_labels(source)
        ids = last["ids"][valid]
        return StepAttribution(
            step=why.last_step,
            probe=probe,
            output=output,
            source=source,
            rows=ids,
            terms=last["terms"][a][valid].astype(np.float64),
            labels=labels[ids] if labels is not None else None,
            direction=float(last["data"][a]),
            carry=carry,
            forecast=forecast,
            actual=actual,
        )

    def influence(self, probe: int) -> Influence | None:
        """The per-row influence summed over the attributed steps so far, for `probe`'s tracked output."""
        why = self._why
        if why is None or probe not in why.layout.spec.probes:
            return None
        a = why.layout.spec.probes.index(probe)
        return Influence(
            probe=probe,
            output=why.layout.spec.outputs[a],
            source=why.layout.source,
            since=int(why.since[a]),
            steps=int(why.counted[a]),
            values=why.cumulative[a].copy(),
            labels=self._row_labels(why.layout.source),
        )

    def probe_matrix(self) -> ProbeMatrix | None:
        """Under the probe rules, the last step's probe-by-probe matrix J_i·P(∇f_j); else None."""
        why = self._why
        if why is None or why.last is None or "matrix" not in why.last:
            return None
        spec = why.layout.spec
        return ProbeMatrix(why.last_step, spec.probes, spec.outputs, why.last["matrix"].astype(np.float64))

    def influence_record(self) -> InfluenceRecord | None:
        """Copies of the attribution a session file keeps (None while attribution is off)."""
        why = self._why
        if why is None:
            return None
        spec = why.layout.spec
        copies = (why.cumulative.copy(), why.since.copy(), why.counted.copy())
        return InfluenceRecord(tuple(spec.probes), tuple(spec.outputs), *copies)

    def continue_influence(self, saved: InfluenceRecord, source: str) -> None:
        """Attribution back on for the saved probes, its sums continued; LabError if they do not fit."""
        try:
            self.attribution_on(list(saved.probes), dict(zip(saved.probes, saved.outputs, strict=True)))
            self.set_influence(saved.values, saved.since, saved.counted)
        except (TypeError, ValueError) as err:
            raise LabError(f"{source}: its saved influence does not fit the session ({err})") from err

    def set_influence(self, values: np.ndarray, since: np.ndarray, counted: np.ndarray) -> None:
        """Continue saved sums (a resumed session); ValueError when they do not fit."""
        if self._why is None or values.shape != self._why.cumulative.shape:
            raise ValueError(f"saved influence of shape {values.shape} does not fit this session")
        self._why.cumulative[:] = values
        self._why.since[:] = since
        self._why.counted[:] = counted

    def influence_export(self) -> tuple[dict[str, np.ndarray], dict[str, str]] | None:
        """The step log and the cumulative sums as arrays, with their meanings (exports); None unless
        steps were logged (`attribution_on(log_top=K)`)."""
        why = self._why
        if why is None or why.log is None:
            return None
        spec = why.layout.spec
        arrays = {
            **why.log.arrays(),
            "probes": np.asarray(spec.probes, np.int64),
            "outputs": np.asarray(spec.outputs, np.int64),
            "source": np.asarray([why.layout.source]),
            "cumulative": why.cumulative.copy(),
            "since": why.since.copy(),
        }
        return arrays, dict(LOG_MEANINGS)

    def row_inputs(self, source: str, rows: np.ndarray) -> np.ndarray | None:
        """The inputs of these rows (training rows, or the probes under the probe rules), as NumPy: the
        Why view draws image rows as thumbnails. None when there are no rows."""
        index = np.asarray(rows, np.int64)
        if source == "rows" and self.data is not None:
            return np.asarray(self.data.x_train[index])
        if source == "probes":
            return np.asarray(self.x_probe.numpy())[index]
        return None

    def preview(self, alphas: Sequence[float] = lab_preview.ALPHAS) -> lab_preview.Preview:
        """Probes and loss along the next update, w + α·Δw, changing nothing (see preview.py)."""
        result = lab_preview.preview(self.graph, self.device, self.step_count + 1, alphas, self._preview_source())
        self._previewed = self.graph
        return result

    @property
    def preview_prepared(self) -> bool:
        """Whether a preview now would find its graph traced (prepare_preview has nothing to do)."""
        return lab_preview.prepared(self.graph) or self._preview_source() is not None

    def prepare_preview(self) -> None:
        """Trace the preview now (changing nothing), so the first one asked for is quick; the lab's
        engine calls this while it is idle. LabError where there is no preview."""
        lab_preview.prepare(self.graph, self.device, self._preview_source())
        self._previewed = self.graph

    def _preview_source(self) -> StepGraph | None:
        """A graph of this config and optimizer whose compiled preview can serve (attribution on and off
        swap the step graph, not what the preview computes)."""
        graph = self._previewed
        if graph is None or graph is self.graph:
            return None
        return graph if graph.config == self.graph.config and graph.optimizer is self.optimizer else None


def _carry_label(optimizer: Any) -> str:
    from gradtui.lab import linear_update

    return linear_update.history_label(optimizer)


def _probe_figures(history: History, step: int, probe: int, output: int) -> tuple[float, float]:
    """(forecast, actual) of the history row of `step` (the last row, unless it was undone)."""
    if int(history.last("step")) != step:
        return float("nan"), float("nan")
    return float(history.last("forecast")[probe, output]), float(history.last("actual")[probe, output])


def _classes(y: np.ndarray, kind: str) -> np.ndarray | None:
    """Each row's class from its label: the number, the 0/1, or the hot row's argmax; None for values."""
    if kind == "values":
        return None
    if kind == "hot":
        return np.argmax(y, axis=-1).astype(np.int64)
    flat = np.asarray(y).reshape(len(y), -1)[:, 0]
    return (flat > 0.5).astype(np.int64) if kind == "binary" else flat.astype(np.int64)
