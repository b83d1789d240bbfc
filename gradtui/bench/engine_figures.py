"""The engine's figures: the lab engine against Keras train_on_batch, the eager loop and a bare
in-graph loop, memory growth, bigger models, and the machine it ran on.

Imports TensorFlow (lazily, inside the functions) and never Textual.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gradtui.bench.report import EXAMPLE3, MEMORY_SCALE_STEPS, REPLICA_KEYS, Results, Sizes
from gradtui.config import LabConfig
from gradtui.errors import first_line

if TYPE_CHECKING:
    from gradtui.lab.session import Session

# ---- memory -----------------------------------------------------------------------------------


def import_engine() -> None:
    """Import TensorFlow and the engine (seconds), so no figure counts it."""
    import gradtui.lab.session  # noqa: F401


def has_gpu() -> bool:
    from gradtui.lab.runtime import tf

    return bool(tf.config.list_logical_devices("GPU"))


def rss_mb() -> float:
    """Resident set size now, in MiB (VmRSS; the peak from getrusage where /proc is missing)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


# ---- engine and its baselines ---------------------------------------------------------------


def _engine_rate(session: Session, seconds: float, rate_guess: float) -> float:
    """Steps/s of one `Session.step` call sized to take about `seconds` (the product's own chunking)."""
    n = max(1, int(rate_guess * seconds))
    report = session.step(n)
    if report.steps != n:
        raise RuntimeError(
            f"the engine stopped after {report.steps} of {n} steps ({report.divergence or 'no divergence'})"
        )
    return report.steps_per_s


def _warm_engine(session: Session, seconds: float) -> float:
    """Trace the compiled step, let the chunk size settle, and return a first rate estimate."""
    session.step(2)
    rate = 1.0
    n = 16
    started = time.perf_counter()
    while True:
        report = session.step(n)
        rate = report.steps_per_s
        if time.perf_counter() - started >= seconds and report.seconds >= 0.05:
            return rate
        n = max(n * 2, int(rate * 0.25))


def _loop_rate(fn: Callable[[], object], seconds: float, sync: Callable[[], object]) -> float:
    """Calls of `fn` per second over about `seconds` (at least 3 calls)."""
    count = 0
    started = time.perf_counter()
    while True:
        fn()
        count += 1
        if count >= 3 and time.perf_counter() - started >= seconds:
            break
    sync()
    return count / (time.perf_counter() - started)


MAX_BATCHES = 500  # the bare loop cycles through at most this many of the engine's first minibatches


def _engine_batches(session: Session) -> tuple[Any, Any]:
    """The engine's first epoch of minibatches (at most MAX_BATCHES), as the rows of all of them in
    order and where each starts: the bare loop gathers exactly what the engine's step gathers."""
    from gradtui.lab.runtime import tf

    data = session.data
    assert data is not None
    per_epoch = -(-len(data.x_train) // max(1, session.config.effective_batch_size))
    picked = [np.asarray(session.batch_indices(k), np.int64) for k in range(min(per_epoch, MAX_BATCHES))]
    bounds = np.concatenate([[0], np.cumsum([len(rows) for rows in picked])])
    return tf.constant(np.concatenate(picked)), tf.constant(bounds, tf.int64)


class Baselines:
    """The same model, optimizer, loss and batch as the engine, written the usual ways: train_on_batch
    and the eager loop on the first minibatch (as the article's code), the bare in-graph loop on the
    engine's own minibatches in the engine's mode, so it does the same training step minus the
    measurements."""

    def __init__(self, config: LabConfig, session: Session) -> None:
        from gradtui.lab import rules
        from gradtui.lab.models import load_model
        from gradtui.lab.optimizers import make_optimizer
        from gradtui.lab.runtime import tf

        # its autos as the engine runs them (built-in models: a registry optimizer, its rate and batch)
        config = session._settled(config).replace(optimizer=session.training.optimizer)
        self.tf = tf
        self.device = session.device
        data = session.data
        if data is None:
            raise RuntimeError("the engine session has no data set")
        rows = session.batch_indices(0)
        self.x = data.x_train[rows]
        self.y = data.y_train[rows]
        loss_name = session.loss_name
        with tf.device(self.device):
            # Keras train_on_batch, compiled the default way
            self.keras_model = load_model(config).model
            self.keras_model.compile(optimizer=make_optimizer(config), loss=rules.make_loss(loss_name))
            # the article's example 3: GradientTape + apply_gradients from Python, eagerly
            self.eager_model = load_model(config).model
            self.eager_opt = make_optimizer(config)
            self.eager_loss = rules.make_loss(loss_name)
            self.inputs = tf.constant(self.x)
            self.labels = tf.constant(self.y)
            # a bare tf.function with a tf.range loop and no measurements, on the engine's minibatches
            graph_model = load_model(config).model
            graph_opt = make_optimizer(config)
            graph_opt.build(graph_model.trainable_variables)
            graph_loss = rules.make_loss(loss_name)
            flat, bounds = _engine_batches(session)
            x_train, y_train = tf.constant(data.x_train), tf.constant(data.y_train)
            training = bool(getattr(session.graph, "training", False))  # the engine's mode for loss rules
            batches = len(bounds) - 1

            @tf.function
            def loop(n: Any) -> Any:
                loss = tf.constant(0.0)
                for k in tf.range(n):
                    at = k % batches
                    rows = flat[bounds[at] : bounds[at + 1]]
                    with tf.GradientTape() as tape:
                        prediction = graph_model(tf.gather(x_train, rows), training=training)
                        loss = graph_loss(tf.gather(y_train, rows), prediction)
                    grads = tape.gradient(loss, graph_model.trainable_variables)
                    graph_opt.apply_gradients(zip(grads, graph_model.trainable_variables, strict=True))
                return loss

            self.loop = loop
        self.graph_rate = 1000.0

    def warm(self) -> None:
        tf = self.tf
        with tf.device(self.device):
            for _ in range(3):
                self.keras_model.train_on_batch(self.x, self.y)
                self.eager_step()
            self.loop(tf.constant(10, tf.int32)).numpy()
            started = time.perf_counter()
            self.loop(tf.constant(200, tf.int32)).numpy()
            self.graph_rate = 200 / max(time.perf_counter() - started, 1e-9)

    def eager_step(self) -> None:
        tf = self.tf
        with tf.GradientTape() as tape:
            prediction = self.eager_model(self.inputs)
            loss = self.eager_loss(self.labels, prediction)
        gradients = tape.gradient(loss, self.eager_model.trainable_variables)
        self.eager_opt.apply_gradients(zip(gradients, self.eager_model.trainable_variables, strict=True))

    def train_on_batch_rate(self, seconds: float) -> float:
        with self.tf.device(self.device):
            return _loop_rate(lambda: self.keras_model.train_on_batch(self.x, self.y), seconds, lambda: None)

    def eager_rate(self, seconds: float) -> float:
        with self.tf.device(self.device):
            return _loop_rate(self.eager_step, seconds, lambda: self.eager_model.trainable_variables[0].numpy())

    def in_graph_rate(self, seconds: float) -> float:
        tf = self.tf
        n = max(10, int(self.graph_rate * seconds))
        with tf.device(self.device):
            started = time.perf_counter()
            self.loop(tf.constant(n, tf.int32)).numpy()
            rate = n / max(time.perf_counter() - started, 1e-9)
        self.graph_rate = rate
        return rate


def engine_figures(sizes: Sizes, results: Results) -> Session | None:
    """Engine vs train_on_batch, eager and in-graph, interleaved; returns the warmed mlp session."""
    from gradtui.lab.session import Session

    config = LabConfig.parse(EXAMPLE3)
    session = Session.build(config)
    results.extra["engine_model"] = session.summary.line()
    results.extra["engine_device"] = session.summary.device
    results.extra["engine_eval_every"] = config.eval_every
    base = Baselines(config, session)
    base.warm()
    rate = _warm_engine(session, sizes.warmup_s)
    runs: dict[str, list[float]] = {"engine": [], "train_on_batch": [], "eager": [], "in_graph": []}
    for i in range(sizes.rounds):
        # rotate the order so no method always runs right after another
        methods: list[tuple[str, Callable[[], float]]] = [
            ("engine", lambda: _engine_rate(session, sizes.seconds, rate)),  # noqa: B023 - the latest rate, on purpose
            ("train_on_batch", lambda: base.train_on_batch_rate(sizes.seconds)),
            ("eager", lambda: base.eager_rate(sizes.seconds)),
            ("in_graph", lambda: base.in_graph_rate(sizes.seconds)),
        ]
        for name, measure in methods[i % 4 :] + methods[: i % 4]:
            value = measure()
            runs[name].append(value)
            if name == "engine":
                rate = value
    med = {name: statistics.median(values) for name, values in runs.items()}
    figures = results.figures
    figures["engine_steps_per_s"] = med["engine"]
    figures["train_on_batch_steps_per_s"] = med["train_on_batch"]
    figures["eager_steps_per_s"] = med["eager"]
    figures["in_graph_steps_per_s"] = med["in_graph"]
    figures["engine_vs_train_on_batch"] = med["engine"] / med["train_on_batch"]
    figures["engine_vs_in_graph"] = med["engine"] / med["in_graph"]
    results.extra["rounds"] = {name: [round(v, 1) for v in values] for name, values in runs.items()}
    return session


def memory_figure(session: Session, sizes: Sizes, results: Results) -> None:
    """RSS growth over `memory_steps` more recorded steps of the warmed mlp engine, scaled to 100k."""
    session.step(max(10, sizes.memory_steps // 20))  # warm-up: allocator pools, history capacity
    gc.collect()
    before = rss_mb()
    rows_before = len(session.history)
    report = session.step(sizes.memory_steps)
    gc.collect()
    after = rss_mb()
    steps = len(session.history) - rows_before
    if steps <= 0:
        raise RuntimeError("no steps were recorded")
    results.figures["rss_growth_mb_100k"] = (after - before) * MEMORY_SCALE_STEPS / steps
    results.extra["memory"] = {
        "steps": steps,
        "rss_before_mb": round(before, 1),
        "rss_after_mb": round(after, 1),
        "history_mb": round(session.history.nbytes() / 2**20, 2),
        "steps_per_s": round(report.steps_per_s, 1),
        "scaled": steps != MEMORY_SCALE_STEPS,
    }
    if steps != MEMORY_SCALE_STEPS:
        results.notes.append(f"memory growth measured over {steps:,} steps and scaled to 100k")


def model_figure(spec: dict[str, str], key: str, sizes: Sizes, results: Results) -> None:
    from gradtui.lab.session import Session

    config = LabConfig.parse(spec)
    session = Session.build(config)
    base = Baselines(config, session)
    base.warm()
    rate = _warm_engine(session, sizes.warmup_s)
    rates, bare = [], []
    for _ in range(sizes.cnn_rounds):  # interleaved with the bare loop on the same model, as for the mlp
        rate = _engine_rate(session, sizes.seconds, rate)
        rates.append(rate)
        bare.append(base.in_graph_rate(sizes.seconds))
    results.figures[key] = statistics.median(rates)
    stem = key.removeprefix("engine_").removesuffix("_steps_per_s")
    results.figures[f"in_graph_{stem}_steps_per_s"] = statistics.median(bare)
    results.figures[f"engine_{stem}_vs_in_graph"] = statistics.median(rates) / statistics.median(bare)
    results.extra[f"{key.removeprefix('engine_').removesuffix('_steps_per_s')}_model"] = session.summary.line()


def replica_figure(sizes: Sizes, results: Results) -> None:
    """Correctness, not speed: the mlp run on every device of one kind (MirroredStrategy) against the
    same run on the first of them, compared column by column. With one device, the same comparison
    runs in a child process whose CPU is split into two logical devices (GRADTUI_LOGICAL_CPUS=2),
    which must be set before TensorFlow starts."""
    from gradtui.lab.runtime import devices

    found = devices()
    gpus = [d for d in found if d.kind == "GPU"]
    several = gpus if len(gpus) > 1 else [d for d in found if d.kind == "CPU"]
    if len(several) > 1:
        _measure_replicas(sizes.replica_steps, "auto" if gpus else "cpu", results)
        return
    env = {**os.environ, "GRADTUI_LOGICAL_CPUS": "2"}
    argv = [sys.executable, "-c", REPLICA_CHILD, str(sizes.replica_steps)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"the two-device child failed: {first_line(last)}")
    child = json.loads(done.stdout.strip().splitlines()[-1])
    results.figures.update({key: child["figures"][key] for key in REPLICA_KEYS})
    results.extra.update(child["extra"])
    results.notes.append("replicas: two logical CPUs in a child process (GRADTUI_LOGICAL_CPUS=2), no GPU here")


REPLICA_CHILD = """
import json, sys
from gradtui.bench.engine_figures import _measure_replicas
from gradtui.bench.report import Results
results = Results()
_measure_replicas(int(sys.argv[1]), "cpu", results)
print(json.dumps({"figures": results.figures, "extra": results.extra}))
"""


def _measure_replicas(steps: int, one: str, results: Results) -> None:
    """The mlp for `steps` steps on device `one` and on every device ("all"), every column compared."""
    from gradtui.lab.runtime import devices
    from gradtui.lab.session import Session

    histories, rates = [], []
    for device in (one, "all"):
        session = Session.build(LabConfig.parse({**EXAMPLE3, "device": device}))
        session.step(1)  # the trace, untimed
        report = session.step(steps - 1)
        histories.append(session.history.to_dict())
        rates.append(report.steps_per_s)
    one_device, replicated = histories
    worst = 0.0
    for name, column in one_device.items():
        a, b = np.asarray(column, np.float64), np.asarray(replicated[name], np.float64)
        finite = np.isfinite(a)
        if not np.array_equal(finite, np.isfinite(b)):
            raise RuntimeError(f"{name}: measured at different steps on one device and on the replicas")
        if finite.any():
            worst = max(worst, float(np.max(np.abs(a[finite] - b[finite]))))
    kind = "GPU" if one == "auto" else "CPU"
    several = [d.name for d in devices() if d.kind == kind]
    figures = results.figures
    figures["replicas"] = float(len(several))
    figures["replicas_max_abs_diff"] = worst
    figures["one_device_steps_per_s"], figures["replicas_steps_per_s"] = rates
    results.extra["replica_devices"] = several
    results.extra["replica_steps"] = steps


def machine(results: Results) -> dict[str, Any]:
    from gradtui.lab.runtime import devices, keras, tf

    found = devices()
    gpus = [d for d in found if d.kind == "GPU"]
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count() or 0
    return {
        "cpu_count": os.cpu_count() or 0,
        "cpus_usable": affinity,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": results.extra.get("engine_device") or (gpus[0].name if gpus else "/device:CPU:0"),
        "gpus": [d.description for d in gpus],
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
