"""A live experiment: the coordinator of the model, the step graph, the timeline and the files.

The compiled step lives in step_graph.py, undo and snapshots in timeline.py, the file format in
session_file.py and the notes in explain.py. A non-finite step stops the compiled loop before it
is recorded; the session then rebuilds the last finite state by replaying from the undo entry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from gradtui import logs
from gradtui.config import LabConfig
from gradtui.errors import ConfigError, LabError, first_line
from gradtui.lab import compile_config, explain, held_out, measures, rules, session_file, timeline
from gradtui.lab import data as lab_data
from gradtui.lab.accuracy import measure_baseline, scoring_for
from gradtui.lab.history import History
from gradtui.lab.models import check_drivable, device_of, devices_of, layer_groups, load_model
from gradtui.lab.pins import Pin
from gradtui.lab.reconfigure import Reconfiguring
from gradtui.lab.record import SessionRecord
from gradtui.lab.results import Divergence, ModelSummary, StepReport
from gradtui.lab.runtime import memory_in_use, resolve_devices, strategy_for, tf
from gradtui.lab.step_graph import Parts, StepGraph
from gradtui.lab.why import Explaining
from gradtui.presets import preset_name

CHUNK_SECONDS = 0.1  # target wall time of one compiled call when the caller leaves chunk=0
MAX_CHUNK = 4096


class Session(Reconfiguring, Explaining):
    """One experiment. Methods are not thread-safe with each other; History reads are. The attribution
    and preview methods are Explaining's (why.py), the change of settings Reconfiguring's (reconfigure.py)."""

    # ---- building --------------------------------------------------------------------------------

    @classmethod
    def build(cls, config: LabConfig) -> Session:
        """Load the model, data and probe for `config`; ConfigError or LabError with one line."""
        try:
            names = resolve_devices(config.device)
        except ValueError as err:
            raise ConfigError("device", str(err)) from err
        device = names[0]
        try:
            with strategy_for(names).scope(), tf.device(device):  # variables mirrored on every listed device
                return cls(config, names)
        except (ConfigError, LabError):
            raise
        except tf.errors.ResourceExhaustedError as err:
            raise LabError(f"out of memory on {device} while building the model: {first_line(err)}") from err
        except tf.errors.OperatorNotAllowedInGraphError as err:
            raise ConfigError(
                "model",
                "a layer's Python code tests a tensor's value (an `if` or loop on a tensor), which no compiled "
                "step can run (Keras's fit cannot either): write that branch with keras.ops.cond",
            ) from err
        except Exception as err:
            raise LabError(f"could not build the session: {type(err).__name__}: {first_line(err)}") from err

    def __init__(self, config: LabConfig, devices: tuple[str, ...]) -> None:
        self.config = config
        self.device = devices[0]  # the primary: where probes, undo copies and files read from
        self.devices = devices
        self.strategy = strategy_for(devices)  # MirroredStrategy for several devices, else the default one
        self.replicas = int(self.strategy.num_replicas_in_sync)
        loaded = load_model(config)
        self.model = loaded.model
        self.notes: list[str] = list(loaded.notes)
        self.preset = preset_name(config)  # the preset it runs as ("": none); session files keep it
        self.activation = loaded.activation
        if self.replicas > 1 and not loaded.stateless:
            raise ConfigError("device", f"a SavedModel runs on one device here; {config.device} names {self.replicas}")
        input_shape, output_shape = check_drivable(loaded)
        self.outputs = int(output_shape[0])
        rules.check_against_model(config, self.activation, self.outputs)
        self.compiled, self.training = compile_config.for_model(config, self.activation, self.outputs)
        self.loss_name = self.training.loss
        self.notes.extend(self.training.notes)
        self.data = lab_data.load_data(
            config, input_shape, self.outputs, self.activation, self.loss_name, loaded.indices
        )
        rules.check_data(config, self.data is not None)
        self.config = config = self._effective(config)
        probe, probe_desc = lab_data.load_probe(config, input_shape, self.data, loaded.indices)
        self.x_probe = tf.constant(probe)
        self.vars = list(self.model.trainable_variables)
        self.groups, layer_names = layer_groups(self.vars)
        self._init_weights = [v.numpy() for v in self.vars]
        self._init_state = [v.numpy() for v in self.model.non_trainable_variables]
        self.parts = self._parts(loaded.stateless)
        self._setup_optimizer()
        self.timeline = timeline.Timeline()
        self.divergence: Divergence | None = None
        self.pins: tuple[Pin, ...] = ()  # reference runs saved with it (the engine keeps them across sessions)
        self._chunk = 1
        self.summary = ModelSummary(
            name=loaded.name,
            params=int(sum(int(np.prod(v.shape)) for v in self.vars)),
            input_shape=input_shape,
            output_shape=output_shape,
            activation=self.activation,
            loss=rules.LOSS_TITLES[self.loss_name],
            layers=tuple(layer_names),
            device=device_of(self.vars[0], self.device),
            devices=devices_of(self.vars[0], devices),
            data=self.data.description if self.data else "none",
            probe=probe_desc,
            mode=config.effective_mode,
            classes=lab_data.class_names(self.data, self.outputs, config.new_head),
            **self.training.summary(),
        )
        self.history = History(self.parts.dims)
        self.history.keep_exact(self.timeline.marks)
        self.graph = StepGraph(self._settled(config), self.parts, self.optimizer, self.strategy)
        self._call(0)  # trace and optimise the compiled step now, so the first keypress does not wait for it
        self.history.append(self.graph.start_row(self._init_weights))
        self.notes.extend(self._static_notes(config))

    def _parts(self, stateless: bool) -> Parts:
        from_logits = rules.from_logits(self.loss_name, self.activation)
        batch = held_out.eval_batch(self.vars)
        # one step count for every replica: the first replica's increment is the one kept
        first = tf.VariableAggregation.ONLY_FIRST_REPLICA
        scoring = scoring_for(self.data, self.outputs, self.loss_name, self.activation, from_logits)
        return Parts(
            model=self.model,
            stateless=stateless,
            variables=self.vars,
            groups=self.groups,
            x_probe=self.x_probe,
            outputs=self.outputs,
            loss_name=self.loss_name,
            from_logits=from_logits,
            data=self.data,
            init=[tf.constant(w) for w in self._init_weights],
            step=tf.Variable(0, dtype=tf.int64, trainable=False, name="gradtui_step", aggregation=first),
            state=list(self.model.non_trainable_variables),
            baseline=measure_baseline(self.model, self.data, scoring, batch),
            scoring=scoring,
        )

    def _setup_optimizer(self) -> None:
        # Under a strategy the step graph clips the all-reduced gradient itself (a Keras optimizer would
        # clip each replica's part), and the slots are built mirrored now, not lazily inside a replica.
        with self.strategy.scope():
            self.optimizer = compile_config.make_optimizer(self.config, self.training, clip=self.replicas == 1)
            self.optimizer.build(self.vars)
        self._opt_vars = [v for v in self.optimizer.variables if "learning_rate" not in v.path]
        self._opt_init = [v.numpy() for v in self._opt_vars]

    @property
    def live(self) -> timeline.Live:
        """The variables the timeline copies and restores."""
        return timeline.Live(self.vars, self._opt_vars, self.parts.step, self.history, self.parts.state)

    def batch_indices(self, step: int) -> np.ndarray:
        """Training rows for 0-based step `step`: a new seeded permutation every epoch, as fit shuffles."""
        return self.graph.batch_indices(step)

    # ---- stepping ------------------------------------------------------------------------------

    @property
    def step_count(self) -> int:
        return int(self.parts.step.numpy())

    @property
    def snapshot_names(self) -> list[str]:
        return list(self.timeline.snapshots)

    @property
    def can_undo(self) -> bool:
        return bool(self.timeline.undo)

    def step(self, n: int = 1, chunk: int = 0, should_stop: Callable[[], bool] | None = None) -> StepReport:
        """Run `n` steps as one undoable action, in compiled calls of `chunk` steps (0 = about 0.1 s each)."""
        if n < 1:
            raise ConfigError("steps", f"must be at least 1, got {n}")
        start = time.perf_counter()
        first, first_row = self.step_count + 1, len(self.history)
        entry = timeline.capture(self.live, False, self.divergence)
        self.timeline.push(entry)
        try:
            done, divergence = self._steps(entry, n, chunk, should_stop)
        except (tf.errors.ResourceExhaustedError, tf.errors.InvalidArgumentError, tf.errors.OpError) as err:
            self.restore_state(self.timeline.undo.pop())
            if isinstance(err, tf.errors.ResourceExhaustedError):
                raise LabError(
                    f"out of memory on {self.device}: {first_line(err)} (try a smaller batch or model)"
                ) from err
            raise LabError(f"the step failed: {first_line(err)}") from err
        if done == 0:
            self.timeline.undo.pop()
        self.divergence = divergence
        if divergence is not None:
            logs.logger().warning(
                "diverged at step %d: non-finite %s; kept the last finite weights (step %d)",
                divergence.step,
                divergence.where,
                self.step_count,
            )
        notes = self._explain_steps(first_row)
        return StepReport(first, done, n, time.perf_counter() - start, divergence, tuple(notes))

    def _steps(
        self, entry: timeline.State, n: int, chunk: int, should_stop: Callable[[], bool] | None
    ) -> tuple[int, Divergence | None]:
        """Compiled calls until `n` steps are recorded, a step diverges or `should_stop` says so."""
        done = 0
        while done < n:
            size = min(n - done, chunk if chunk > 0 else self._chunk)
            t0 = time.perf_counter()
            out = self._call(size)
            count = int(out["count"])
            self._append(out, count)
            done += count
            if int(out["where"]) >= 0:
                where = self.graph.where(int(out["where"]), self.summary.layers)
                self._replay(entry, done)
                return done, Divergence(self.step_count + 1, where)
            if chunk <= 0:
                per_step = (time.perf_counter() - t0) / max(count, 1)
                self._chunk = int(min(MAX_CHUNK, max(1, min(self._chunk * 4, CHUNK_SECONDS / max(per_step, 1e-9)))))
            if should_stop is not None and should_stop():
                break
        return done, None

    def _call(self, size: int) -> dict[str, np.ndarray]:
        with tf.device(self.device):
            out = self.graph.run(tf.constant(size, tf.int32))
        return {k: v.numpy() for k, v in out.items()}

    def _append(self, out: dict[str, np.ndarray], count: int) -> None:
        if count == 0:
            return
        start = self.step_count - count + (0 if int(out["where"]) < 0 else -1) + 1
        rows = measures.unpack(out["rows"][:count], self.history.dims)
        rows["step"] = np.arange(start, start + count, dtype=np.int64)
        self.history.append(rows)
        self._record_why(out["rows"][:count], start)

    def _replay(self, entry: timeline.State, steps: int) -> None:
        """Recompute the last finite state: back to the action's start, then the finite steps again."""
        self.restore_state(entry, truncate=False)
        left = steps
        while left > 0:
            size = min(left, MAX_CHUNK)
            self._call(size)
            left -= size

    def _explain_steps(self, first_row: int) -> list[str]:
        if len(self.history) <= first_row:  # this call recorded no step
            return []
        fresh = explain.after_steps(self.history, self.notes, self.step_count, self.activation)
        self.notes.extend(fresh)
        for note in fresh:
            logs.logger().info("%s", note)
        return fresh

    # ---- state ---------------------------------------------------------------------------------

    def restore_state(self, state: timeline.State, truncate: bool = True) -> None:
        """Write a captured state back (all of it, or nothing if it does not fit)."""
        timeline.restore(self.live, state, truncate)
        self.divergence = state.divergence
        if truncate:  # undo, reset, a snapshot: the influence sums start again from here
            self._restart_why()

    def undo(self) -> bool:
        """Back to the state before the last action (step, run, restore); False when there is none."""
        if not self.timeline.undo:
            return False
        entry = self.timeline.undo[-1]
        if entry.config is not None and entry.config != self.config:  # a restore that changed settings
            self.with_config(entry.config)
        self.restore_state(self.timeline.undo.pop())
        return True

    def reset(self) -> None:
        """The initial weights and a fresh optimizer state; undoable."""
        self.timeline.push(timeline.capture(self.live, True, self.divergence, self.config))
        initial = timeline.State(self._init_weights, self._opt_init, 0, 1, state=self._init_state)
        self.restore_state(initial)

    def snapshot(self, name: str | None = None) -> str:
        """Take a named snapshot; it records the settings it was taken under."""
        name = (name or "").strip() or timeline.default_name(self.step_count, self.timeline.snapshots)
        self.timeline.snapshots[name] = timeline.capture(self.live, True, self.divergence, self.config)
        return name

    def snapshot_config(self, name: str) -> LabConfig:
        return self._snapshot(name).config or self.config

    def restore(self, name: str) -> Session:
        """Restore a snapshot, all of it or nothing; returns the session now live.

        A snapshot taken under other settings brings them back: in place (undoably) when the model,
        data and optimizer are the same, else as a new session built for its experiment, which keeps
        every snapshot (this one's undo history stays with the old session)."""
        state = self._snapshot(name)
        config = state.config or self.config
        if config == self.config:
            _fits(self.live, state, name)
            self.timeline.push(timeline.capture(self.live, True, self.divergence, self.config))
            self.restore_state(state)
            return self
        if self.same_variables(config):
            _fits(self.live, state, name)  # same variables: it fits before anything changes
            entry = timeline.capture(self.live, True, self.divergence, self.config)
            self.with_config(config)
            self.timeline.push(entry)
            self.restore_state(state)
            return self
        fresh = Session.build(config).carry_over(self)
        _fits(fresh.live, state, name)
        fresh.restore_state(state)
        return fresh

    def _snapshot(self, name: str) -> timeline.State:
        if name not in self.timeline.snapshots:
            have = ", ".join(self.timeline.snapshots) or "none"
            raise LabError(f"no snapshot named {name!r} (have: {have})")
        return self.timeline.snapshots[name]

    def gradients(self) -> list[np.ndarray]:
        """The gradient the rule would apply next (before the sign), per variable."""
        with tf.device(self.device):
            return [g.numpy() for g in self.graph.gradients()]

    def applied_gradients(self) -> list[np.ndarray]:
        """The gradient the optimizer would be handed next: signed, and clipped per tensor to clipnorm
        as Keras clips it before the update."""
        sign = -1.0 if self.config.sign == "ascend" else 1.0
        clip = self.training.clipnorm
        out = []
        for g in self.gradients():
            norm = float(np.sqrt(np.sum(np.square(g, dtype=np.float64))))
            scale = clip / norm if clip is not None and norm > clip else 1.0
            out.append((g * (sign * scale)).astype(g.dtype))
        return out

    def device_memory(self) -> tuple[tuple[str, float], ...]:
        """(`GPU:N`, MB in use) for each GPU the session's replicas live on; empty on CPUs."""
        return memory_in_use(self.summary.devices or (self.summary.device,))

    def weights(self) -> list[np.ndarray]:
        return [v.numpy() for v in self.vars]

    def optimizer_state(self) -> list[np.ndarray]:
        return [v.numpy() for v in self._opt_vars]

    # ---- session files ---------------------------------------------------------------------------

    def to_record(self) -> SessionRecord:
        """Copies of what a session file holds (the history is bounded, so this is quick)."""
        current = timeline.capture(self.live, True, self.divergence)
        snapshots = dict(self.timeline.snapshots)
        notes, influence = list(self.notes), self.influence_record()
        return SessionRecord(self.config, current, snapshots, notes, self.pins, preset=self.preset, influence=influence)

    @classmethod
    def from_record(cls, record: SessionRecord, source: str = "the session record") -> Session:
        """Build the record's experiment, then write its states in: all of them fit, or LabError naming `source`."""
        session = cls.build(record.config)
        try:
            for state in (*record.snapshots.values(), record.current):
                if state.config is None or session.same_variables(state.config):
                    timeline.check(session.live, state)  # another experiment's snapshot is checked when restored
        except (KeyError, ValueError) as err:
            raise LabError(f"{source} does not fit the model it names ({first_line(err)})") from err
        session.pins = record.pins
        session.timeline.snapshots.update(record.snapshots)
        session.restore_state(record.current)
        notes = list(record.notes) if record.notes is not None else session.notes
        session.notes = notes + [note for note in record.file_notes if note not in notes]
        session.preset = record.preset
        if record.influence is not None:
            session.continue_influence(record.influence, source)
        return session

    def save(self, path: str | Path) -> None:
        """Config, current state, snapshots and history in one .npz, written atomically."""
        session_file.save(self.to_record(), path)

    @classmethod
    def load(cls, path: str | Path) -> Session:
        """Rebuild a saved session: the model from its config, then weights, optimizer state, history."""
        return cls.from_record(session_file.read(path), str(path))


def _fits(live: timeline.Live, state: timeline.State, name: str) -> None:
    """LabError, before anything changes, unless the snapshot fits the variables it would be written to."""
    try:
        timeline.check(live, state)
    except ValueError as err:
        raise LabError(f"snapshot {name!r} does not fit the model it was taken with ({first_line(err)})") from err
