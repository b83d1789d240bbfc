"""The Session's change of settings (a mixin, so session.py stays a short coordinator).

A change is applied in place when the model, probe and data stay (the field table's `effect` says
what else it costs: a fresh optimizer, a new compiled step, or only a retune of the one there is),
else as a new session built for it, which carries the old one's snapshots and pins over.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from gradtui.config import LabConfig, fields_with
from gradtui.lab import compile_config, explain, rules, timeline
from gradtui.lab.compile_config import Compiled, Training
from gradtui.lab.data import DataSet
from gradtui.lab.pins import Pin
from gradtui.lab.rebuild import REBUILD_FIELDS  # a new model, probe or data set: a new session
from gradtui.lab.results import Divergence, ModelSummary
from gradtui.lab.runtime import tf
from gradtui.lab.step_graph import Parts, StepGraph
from gradtui.presets import preset_name

if TYPE_CHECKING:
    from typing_extensions import Self  # typing's from Python 3.11

    from gradtui.lab.attribution import AttributionSpec

OPTIMIZER_FIELDS = fields_with("optimizer")  # a fresh optimizer, its state and undo history gone


class Reconfiguring:
    """Session methods that apply new settings and say which states still fit (see with_config)."""

    config: LabConfig
    training: Training
    compiled: Compiled | None
    loss_name: str
    activation: str
    outputs: int
    model: Any
    data: DataSet | None
    parts: Parts
    graph: StepGraph
    optimizer: Any
    strategy: Any
    device: str
    timeline: timeline.Timeline
    divergence: Divergence | None
    notes: list[str]
    pins: tuple[Pin, ...]
    preset: str
    summary: ModelSummary
    _opt_vars: list[Any]
    _opt_init: list[np.ndarray]
    _chunk: int

    if TYPE_CHECKING:  # the Session's own (session.py) and Explaining's (why.py); never shadowed at run time

        @classmethod
        def build(cls, config: LabConfig) -> Self: ...

        def _setup_optimizer(self) -> None: ...

        def _call(self, size: int) -> dict[str, np.ndarray]: ...

        @property
        def attributing(self) -> AttributionSpec | None: ...

        def _why_after_config(self) -> None: ...

    def _effective(self, config: LabConfig) -> LabConfig:
        """`config` as it runs: a batch larger than the training set is the training set."""
        if self.data is not None and config.batch_size is not None and config.batch_size > len(self.data.x_train):
            return dataclasses.replace(config, batch_size=len(self.data.x_train))
        return config

    def _settled(self, config: LabConfig) -> LabConfig:
        """`config` with its autos settled (self.training's), as the step graph runs it."""
        return self.training.settle(config, len(self.data.x_train) if self.data is not None else None)

    def _static_notes(self, config: LabConfig) -> list[str]:
        """What the settings explain before any step: the rule's notes and the mode's."""
        return explain.for_rule(config, self.activation, self.outputs) + explain.for_mode(
            config, self.model, self.data is not None and self.data.has_heldout
        )

    def same_variables(self, config: LabConfig) -> bool:
        """Whether a state taken under `config` has this session's variables (model, data, optimizer)."""
        return all(getattr(config, f) == getattr(self.config, f) for f in REBUILD_FIELDS + OPTIMIZER_FIELDS)

    def with_config(self, config: LabConfig) -> Self:
        """Apply new settings: in place when the model, probe and data stay, else a new session."""
        old = self.config
        if any(getattr(old, f) != getattr(config, f) for f in REBUILD_FIELDS):
            return type(self).build(config).carry_over(self)
        config = self._effective(config)
        if config == old:
            return self
        rules.check_against_model(config, self.activation, self.outputs)  # the loss is a rebuild field: unchanged
        rules.check_data(config, self.data is not None)
        saved = (self.config, self.training, self.optimizer, self._opt_vars, self._opt_init, self.graph)
        try:
            self.config, old_lr = config, self.training.lr
            self.training = compile_config.resolve(config, self.compiled, self.loss_name)
            if any(getattr(old, f) != getattr(config, f) for f in OPTIMIZER_FIELDS):
                self._setup_optimizer()
                self.timeline.undo.clear()
                self.notes.append(
                    f"Optimizer now {self.training.optimizer}: its state starts fresh and undo history was cleared."
                )
            elif old_lr != self.training.lr:
                self.optimizer.learning_rate.assign(self.training.lr)
            if all(getattr(old, f) == getattr(config, f) for f in fields_with("rebuild", "optimizer", "recompile")):
                self.graph.retune(self._settled(config))
            else:
                with self.strategy.scope(), tf.device(self.device):  # its sign variable mirrored like the weights
                    self.graph = StepGraph(
                        self._settled(config), self.parts, self.optimizer, self.strategy, self.attributing
                    )
                    self._call(0)
        except Exception:
            (self.config, self.training, self.optimizer, self._opt_vars, self._opt_init, self.graph) = saved
            raise
        self.divergence, self._chunk = None, 1
        self._why_after_config()
        stale = set(self._static_notes(old))
        self.notes = [n for n in self.notes if n not in stale and not explain.is_about_steps(n)]
        self.notes.extend(self._static_notes(config))
        self.summary = dataclasses.replace(self.summary, mode=config.effective_mode, **self.training.summary())
        self.preset = preset_name(config) or self.preset  # a tweak keeps the story it was started with
        return self

    def carry_over(self, old: Reconfiguring) -> Self:
        """This new session with `old`'s named snapshots (each restores its own experiment) and pins."""
        self.timeline.snapshots = {**old.timeline.snapshots, **self.timeline.snapshots}
        self.pins = self.pins or old.pins
        return self
