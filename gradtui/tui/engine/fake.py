"""A TensorFlow-free engine for UI tests and the bench's TUI figures.

FakeEngine is the real Engine (its thread, queue, epochs, saver and messages) over FakeSessions: a
one-layer dense model (softmax or sigmoid outputs) whose gradient steps are a few lines of NumPy,
recorded in the real History. So status, plots, story, snapshots, undo and pins behave as they do on
the real engine, quickly and without importing TensorFlow; the numbers are plausible, not Keras's
(tests of the numerics run the real engine). FakeEngine also records the commands it was given.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from textual.message_pump import MessagePump

from gradtui.config import DEFAULT_LR, LabConfig
from gradtui.lab import progress
from gradtui.lab.history import Dims, History
from gradtui.lab.pins import Pin
from gradtui.lab.results import Divergence, LabError, ModelSummary, StepReport
from gradtui.lab.timeline import default_name
from gradtui.presets import preset_name
from gradtui.tui.engine.driver import Engine
from gradtui.tui.engine.fake_why import FakeExplaining
from gradtui.tui.engine.protocol import Arrays, EngineSession
from gradtui.tui.engine.worker import Command

FEATURES = 5
TRAIN_ROWS = 32
CHUNK = 10  # steps per chunk: a pause or quit is seen within one
CHUNK_SECONDS = 0.02  # the time one chunk takes (about 500 steps/s), so a play leaves the UI thread the GIL
LOSS_RULES = ("example-loss", "batch-loss")
CONFIG_KEY = "fake_config"
PRESET_KEY = "fake_preset"
HOLD_SECONDS = 30.0  # a held build gives up after this (a test that forgot to release it fails, not hangs)
STEP_KEY = "current/step"  # where a real session file keeps its step count (session_peek.step_of reads it)
NOTES_KEY = "fake_notes"
SNAPSHOTS_KEY = "fake_snapshots"


@dataclass(frozen=True)
class _State:
    """Weights, the history's length and the divergence: what undo and snapshots bring back."""

    w: np.ndarray  # (FEATURES, K)
    b: np.ndarray  # (K,)
    rows: int
    divergence: Divergence | None
    config: LabConfig


def _outputs(config: LabConfig) -> tuple[str, int, str]:
    """(name, outputs, activation) for the model the config names."""
    if config.model == "cnn":
        return "cnn", config.classes, "softmax"
    if config.model == "mlp":
        return "mlp", 1, "sigmoid"
    return Path(config.model).stem or config.model, 1, "sigmoid"


class FakeSession(FakeExplaining):
    """A session over a dense layer, NumPy only (EngineSession's interface; the Why and Preview tabs'
    part is fake_why.py's). A build waits while `gate` is clear (FakeEngine.hold_builds), so a test can
    look at the screen of a load in progress."""

    def __init__(self, config: LabConfig, gate: threading.Event | None = None) -> None:
        progress.phase("building model")
        if gate is not None and not gate.wait(HOLD_SECONDS):
            raise LabError(f"the fake build was held more than {HOLD_SECONDS:.0f} s")
        self._gate = gate
        name, outputs, activation = _outputs(config)
        rng = np.random.default_rng(config.seed)
        self.config = config
        self.summary = ModelSummary(
            name,
            FEATURES * outputs + outputs,
            (FEATURES,),
            (outputs,),
            activation,
            "categorical cross-entropy" if activation == "softmax" else "binary cross-entropy",
            ("dense", "dense_bias"),
            "/job:localhost/replica:0/task:0/device:CPU:0",
            "synthetic (fake engine)" if config.data is None else config.data,
            f"{config.n_probe} random input(s) (fake engine)",
            mode="train" if config.rule in LOSS_RULES else "infer",
        )
        self.x_probe = rng.standard_normal((config.n_probe, FEATURES)).astype(np.float32)
        self.x_train = rng.standard_normal((TRAIN_ROWS, FEATURES)).astype(np.float32)
        self.y_train = rng.integers(0, max(outputs, 2), TRAIN_ROWS)
        self.w: np.ndarray = (rng.standard_normal((FEATURES, outputs)) * 0.5).astype(np.float32)
        self.b: np.ndarray = np.zeros(outputs, np.float32)
        self.w0, self.b0 = self.w.copy(), self.b.copy()
        self.history = History(Dims(config.n_probe, outputs, 2))
        self.notes: list[str] = []
        self.divergence: Divergence | None = None
        self.pins: tuple[Pin, ...] = ()
        self._undo: list[_State] = []
        self._snapshots: dict[str, _State] = {}
        self._step = 0
        self._rng = rng
        self.preset = preset_name(config)
        progress.phase("tracing the step")
        self.history.append(self._row0())

    # -- what the view reads ---------------------------------------------------------------------

    @property
    def snapshot_names(self) -> list[str]:
        return list(self._snapshots)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def device_memory(self) -> tuple[tuple[str, float], ...]:
        return ()

    # -- the model -------------------------------------------------------------------------------

    def _predict(self, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        z = x @ w + b
        if self.summary.activation == "softmax":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        return 1.0 / (1.0 + np.exp(-z))

    def _output_weights(self, p: np.ndarray) -> np.ndarray:
        """d(objective)/dz for the probe objective (the target's outputs of the probe predictions)."""
        k = p.shape[1]
        target = np.ones(k, np.float32)
        if self.config.target.startswith("class:"):
            target = np.eye(k, dtype=np.float32)[min(int(self.config.target.split(":")[1]), k - 1)]
        if self.summary.activation == "softmax":  # J^T t with J = diag(p) - p p^T
            return p * (target - (p * target).sum(axis=1, keepdims=True))
        return p * (1 - p) * target

    def _first_order(self, p: np.ndarray, dz: np.ndarray) -> np.ndarray:
        """J . update: the outputs' change to first order, for a change `dz` of the pre-activations."""
        if self.summary.activation == "softmax":
            return p * (dz - (p * dz).sum(axis=1, keepdims=True))
        return p * (1 - p) * dz

    def _gradient(self) -> tuple[np.ndarray, np.ndarray, float, float]:
        """(dW, db, objective, loss) of the rule at the current weights."""
        rule = self.config.rule
        if rule in LOSS_RULES:
            x = self.x_train if rule == "batch-loss" else self.x_probe
            labels = self.y_train if rule == "batch-loss" else np.full(len(x), self.config.label or 0)
            p = self._predict(x, self.w, self.b)
            y = np.eye(p.shape[1], dtype=np.float32)[labels % p.shape[1]] if p.shape[1] > 1 else labels[:, None] % 2
            loss = float(-np.mean(np.sum(y * np.log(p + 1e-7) + (1 - y) * np.log(1 - p + 1e-7), axis=1)))
            dz = (p - y) / len(x)
            return x.T @ dz, dz.sum(axis=0), loss, loss
        p = self._predict(self.x_probe, self.w, self.b)
        dz = self._output_weights(p)
        dw, db = self.x_probe.T @ dz, dz.sum(axis=0)
        if rule == "random":
            dw = self._rng.standard_normal(dw.shape).astype(np.float32) * np.linalg.norm(dw)
        return dw, db, float(p.sum()), float("nan")

    def _row0(self) -> dict[str, np.ndarray]:
        return {
            "step": np.array([0]),
            "predictions": self._predict(self.x_probe, self.w, self.b)[None],
            "weight_norm": np.array([[np.linalg.norm(self.w), np.linalg.norm(self.b)]]),
            "distance": np.array([0.0]),
        }

    def _one_step(self) -> dict[str, np.ndarray] | Divergence:
        before = self._predict(self.x_probe, self.w, self.b)
        dw, db, objective, loss = self._gradient()
        sign = -1.0 if self.config.sign == "descend" else 1.0
        lr = self.config.lr if self.config.lr is not None else DEFAULT_LR  # auto: no compile config here
        uw, ub = sign * lr * dw, sign * lr * db
        w, b = self.w + uw, self.b + ub
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            return Divergence(self._step + 1, "weights of layer dense")
        after = self._predict(self.x_probe, w, b)
        forecast = self._first_order(before, self.x_probe @ uw + ub)
        norms = (np.linalg.norm(self.w), np.linalg.norm(self.b) or 1.0)
        self._attribute(before, sign * lr, forecast, after - before)  # (the Why tab's, when on)
        self.w, self.b = w, b
        self._step += 1
        return {
            "step": np.array([self._step]),
            "predictions": after[None],
            "loss": np.array([loss]),
            "objective": np.array([objective]),
            "weight_norm": np.array([[np.linalg.norm(w), np.linalg.norm(b)]]),
            "grad_norm": np.array([[np.linalg.norm(dw), np.linalg.norm(db)]]),
            "update_ratio": np.array([[np.linalg.norm(uw) / norms[0], np.linalg.norm(ub) / norms[1]]]),
            "distance": np.array([np.sqrt(np.sum((w - self.w0) ** 2) + np.sum((b - self.b0) ** 2))]),
            "forecast": forecast[None],
            "actual": (after - before)[None],
        }

    # -- commands --------------------------------------------------------------------------------

    def _capture(self) -> _State:
        return _State(self.w.copy(), self.b.copy(), len(self.history), self.divergence, self.config)

    def _bring_back(self, state: _State) -> None:
        self.w, self.b = state.w.copy(), state.b.copy()
        self.history.truncate(state.rows)
        self._step = state.rows - 1
        self.divergence = state.divergence
        self._restart_sums()

    def step(self, n: int = 1, chunk: int = 0, should_stop: Callable[[], bool] | None = None) -> StepReport:
        started, first = time.perf_counter(), self._step + 1
        self._undo.append(self._capture())
        done = 0
        while done < n and self.divergence is None:
            if done and should_stop is not None and should_stop():
                break
            rows: list[dict[str, np.ndarray]] = []
            for _ in range(min(CHUNK, n - done)):
                row = self._one_step()
                if isinstance(row, Divergence):
                    self.divergence = row
                    break
                rows.append(row)
            if rows:
                self.history.append({k: np.concatenate([row[k] for row in rows]) for k in rows[0]})
            done += len(rows)
            if n > 1:
                time.sleep(CHUNK_SECONDS)
        return StepReport(first, done, n, time.perf_counter() - started, self.divergence)

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._bring_back(self._undo.pop())
        return True

    def reset(self) -> None:
        self._undo.append(self._capture())
        self._bring_back(_State(self.w0, self.b0, 1, None, self.config))

    def snapshot(self, name: str | None = None) -> str:
        made = name or default_name(self._step, self._snapshots)
        self._snapshots[made] = self._capture()
        return made

    def snapshot_config(self, name: str) -> LabConfig:
        if name not in self._snapshots:
            raise LabError(f"no snapshot named {name!r}")
        return self._snapshots[name].config

    def restore(self, name: str) -> EngineSession:
        if name not in self._snapshots:
            raise LabError(f"no snapshot named {name!r}")
        state = self._snapshots[name]
        if state.w.shape != self.w.shape:  # another experiment's: a session built for it, as the real one does
            other = FakeSession(state.config, self._gate)
            other._snapshots = dict(self._snapshots)
            other.step(state.rows - 1)  # its history again (plausible, as every fake number), then its weights
            other._bring_back(state)
            other._undo.clear()
            return other
        self._undo.append(self._capture())
        self.config = state.config
        self._bring_back(state)
        return self

    def with_config(self, config: LabConfig) -> EngineSession:
        if _outputs(config) != _outputs(self.config) or (config.seed, config.n_probe) != (
            self.config.seed,
            self.config.n_probe,
        ):
            fresh = FakeSession(config, self._gate)
            fresh._snapshots = {**self._snapshots}  # kept across a model switch, as Session.carry_over keeps them
            return fresh
        if config.optimizer != self.config.optimizer:
            self.notes.append(f"Optimizer now {config.optimizer}: its state starts fresh.")
        sources = self._source()
        self.config = config
        if self._source() != sources:
            self.attribution_off()  # rows now mean something else: the engine turns it on afresh
        self.summary = replace(self.summary, mode="train" if config.rule in LOSS_RULES else "infer")
        self.preset = preset_name(config) or self.preset  # as the real session: a tweak keeps its story
        return self


class FakeSessions:
    """Sessions from FakeSession; a session file is its config, preset and history in an .npz."""

    def __init__(self) -> None:
        self.gate = threading.Event()  # builds wait while it is clear
        self.gate.set()

    def prepare(self) -> None:
        """Nothing to import."""

    def build(self, config: LabConfig) -> EngineSession:
        if config.model not in ("mlp", "cnn") and not Path(config.model).exists():
            from gradtui.config import ConfigError

            raise ConfigError("model", f"no such model file: {config.model}")
        return FakeSession(config, self.gate)

    def load(self, path: str) -> EngineSession:
        try:
            with np.load(path) as arrays:
                fields = json.loads(str(arrays[CONFIG_KEY]))
                preset = str(arrays[PRESET_KEY]) if PRESET_KEY in arrays.files else ""
                notes = json.loads(str(arrays[NOTES_KEY])) if NOTES_KEY in arrays.files else []
                snapshots = json.loads(str(arrays[SNAPSHOTS_KEY])) if SNAPSHOTS_KEY in arrays.files else []
                extra = (CONFIG_KEY, PRESET_KEY, NOTES_KEY, SNAPSHOTS_KEY, STEP_KEY)
                columns = {k: arrays[k] for k in arrays.files if k not in extra}
        except (OSError, ValueError, KeyError) as err:
            raise LabError(f"{path}: not a fake engine session ({err})") from err
        fields["input_shape"] = tuple(fields["input_shape"])
        session = FakeSession(LabConfig(**fields), self.gate)
        session.preset = preset
        session.history.truncate(0)
        session.history.append(columns)
        session._step = len(session.history) - 1
        session.notes.extend(str(note) for note in notes)  # text from a file: the lab shows it as it would a real one's
        for name in snapshots:
            session.snapshot(str(name))
        return session

    def pack(self, session: EngineSession) -> Arrays:
        arrays = dict(session.history.to_dict())
        arrays[CONFIG_KEY] = np.array(json.dumps(session.config.__dict__))
        arrays[PRESET_KEY] = np.array(session.preset)
        arrays[STEP_KEY] = np.array(int(session.history.last("step")) if len(session.history) else 0)
        arrays[NOTES_KEY] = np.array(json.dumps(session.notes))  # every note, as a real session file keeps them
        arrays[SNAPSHOTS_KEY] = np.array(json.dumps(session.snapshot_names))
        return arrays

    def to_bytes(self, arrays: Arrays, compress: bool) -> bytes:
        import io

        buffer = io.BytesIO()
        save: Callable[..., None] = np.savez_compressed if compress else np.savez
        save(buffer, **arrays)
        return buffer.getvalue()

    def step_of(self, path: Path) -> int | None:
        from gradtui.lab.session_peek import step_of

        return step_of(path)


class FakeEngine(Engine):
    """The real Engine over FakeSessions, recording each command it was given (`calls`, in order)."""

    def __init__(self, target: MessagePump, config: LabConfig, session_file: str | None = None) -> None:
        self.fakes = FakeSessions()
        super().__init__(target, config, session_file, sessions=self.fakes)
        self.calls: list[Command] = []

    def hold_builds(self) -> None:
        """From now on a build (a preset on another model, an opened file) waits in its first phase."""
        self.fakes.gate.clear()

    def release_builds(self) -> None:
        self.fakes.gate.set()

    def _submit(
        self,
        name: Command,
        fn: Callable[[], None],
        cancellable: bool = False,
        dropped: Callable[[], None] | None = None,
    ) -> None:
        self.calls.append(name)
        super()._submit(name, fn, cancellable, dropped)
