"""`gradtui bench`: the product against what a user would otherwise write, measured in one run.

Every speed figure is taken next to its baseline, in interleaved rounds (median of the rounds), so
the ratios survive a noisy machine even when the absolute numbers do not. The engine is measured as
a user gets it: `Session.step` with the default chunking and every measurement on (default
`eval_every`, probe, forecast, norms), never a trimmed-down variant.

Figures (the JSON keys):

- engine_steps_per_s: the lab engine on the article's example 3 shape (mlp, batch 100, Adam 0.01);
  train_on_batch_steps_per_s, eager_steps_per_s, in_graph_steps_per_s: the same model, optimizer
  and batch with Keras `train_on_batch`, the article's eager GradientTape loop, and a bare
  `tf.function` with a `tf.range` loop and no measurements.
- tui_steps_per_s: the real app (headless, `App.run_test`) auto-running with its plots refreshing.
- ui_latency_p50_ms / ui_latency_p99_ms: while it runs flat out, a probe thread posts a callback to
  the app every 20 ms, the way the terminal driver's input thread posts a key; the figure is the
  time until the app's message loop runs it.
- first_frame_s: `python -m gradtui` started in a pseudo-terminal, from just before the spawn to the
  first full-screen paint read back from the terminal.
- rss_growth_mb_100k: VmRSS after warm-up vs after N more recorded engine steps, scaled to 100k.
- plot_draw_ms_100k: one redraw of the app's plot widget (chart from the History, downsampling,
  plotext, strips) with 100k recorded steps.
- engine_cnn_steps_per_s, in_graph_cnn_steps_per_s, engine_cnn_vs_in_graph (and the vgg16 trio on a GPU):
  the engine against the bare loop on bigger models, where the per-step measurements cost relatively less.

TensorFlow is imported inside the functions, never at module import.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gc
import json
import math
import os
import platform
import resource
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gradtui import __version__
from gradtui.config import LabConfig
from gradtui.files import atomic_write_bytes

if TYPE_CHECKING:
    from gradtui.lab.history import History
    from gradtui.lab.session import Session

FORMAT = "gradtui-bench/1"
EXAMPLE3 = {"rule": "batch-loss", "optimizer": "adam", "lr": "0.01", "batch_size": "100"}
CNN = {"model": "cnn", "rule": "batch-loss"}
VGG16 = {"model": "vgg16", "rule": "batch-loss"}
TERMINAL = (120, 40)  # columns, rows: the terminal the TUI figures are taken in
PROBE_INTERVAL_S = 0.02
MEMORY_SCALE_STEPS = 100_000
PLOT_ROWS = 100_000

# (json key, label, op, target): the speed targets
TARGETS: tuple[tuple[str, str, str, float], ...] = (
    ("engine_vs_train_on_batch", "engine / train_on_batch", ">=", 3.0),
    ("engine_vs_in_graph", "engine / bare in-graph loop", ">=", 0.7),
    ("tui_vs_engine", "TUI auto-run / engine", ">=", 0.7),
    ("first_frame_s", "first frame", "<=", 1.0),
    ("ui_latency_p99_ms", "UI latency p99 while running", "<=", 50.0),
    ("rss_growth_mb_100k", "memory growth per 100k steps", "<=", 50.0),
    ("plot_draw_ms_100k", "plot redraw at 100k steps", "<=", 20.0),
)

FIGURE_KEYS = (
    "engine_steps_per_s",
    "train_on_batch_steps_per_s",
    "eager_steps_per_s",
    "in_graph_steps_per_s",
    "engine_vs_train_on_batch",
    "engine_vs_in_graph",
    "tui_steps_per_s",
    "tui_vs_engine",
    "first_frame_s",
    "ui_latency_p50_ms",
    "ui_latency_p99_ms",
    "rss_growth_mb_100k",
    "plot_draw_ms_100k",
    "engine_cnn_steps_per_s",
    "in_graph_cnn_steps_per_s",
    "engine_cnn_vs_in_graph",
    "engine_vgg16_steps_per_s",
    "in_graph_vgg16_steps_per_s",
    "engine_vgg16_vs_in_graph",
)


@dataclass(frozen=True)
class Sizes:
    """How long each measurement runs; `--quick` and the hidden `--tiny` (smoke test) shrink them."""

    mode: str
    rounds: int  # interleaved rounds of engine vs baselines (the median is reported)
    seconds: float  # timed seconds per method per round
    warmup_s: float  # untimed running after tracing, before the first timed round
    memory_steps: int  # recorded steps between the two RSS readings (scaled to 100k)
    cnn_rounds: int
    tui_idle_s: float  # latency probe with the app idle, for reference
    tui_warmup_s: float  # auto-run before the TUI window opens (chunk sizing settles)
    tui_seconds: float  # the TUI measurement window
    plot_repeats: int
    first_frame_runs: int


FULL = Sizes(
    "full",
    rounds=5,
    seconds=3.0,
    warmup_s=2.0,
    memory_steps=100_000,
    cnn_rounds=3,
    tui_idle_s=2.0,
    tui_warmup_s=2.0,
    tui_seconds=15.0,
    plot_repeats=30,
    first_frame_runs=5,
)
QUICK = Sizes(
    "quick",
    rounds=3,
    seconds=1.5,
    warmup_s=1.0,
    memory_steps=20_000,
    cnn_rounds=2,
    tui_idle_s=1.0,
    tui_warmup_s=1.5,
    tui_seconds=5.0,
    plot_repeats=15,
    first_frame_runs=3,
)
TINY = Sizes(
    "tiny",
    rounds=1,
    seconds=0.25,
    warmup_s=0.2,
    memory_steps=300,
    cnn_rounds=1,
    tui_idle_s=0.3,
    tui_warmup_s=0.3,
    tui_seconds=1.0,
    plot_repeats=3,
    first_frame_runs=1,
)


@dataclass
class Results:
    figures: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(FIGURE_KEYS))
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _section(results: Results, name: str) -> Iterator[None]:
    """Run one part; a failure is recorded (and the bench goes on) instead of ending the run."""
    _say(f"{name} ...")
    started = time.perf_counter()
    try:
        yield
    except Exception as err:
        text = str(err).strip().splitlines()[0] if str(err).strip() else ""
        results.failures.append(f"{name}: {type(err).__name__}: {text}")
        _say(f"{name} FAILED: {type(err).__name__}: {text}")
    else:
        _say(f"{name} done in {time.perf_counter() - started:.1f} s")


# ---- memory -----------------------------------------------------------------------------------


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


class Baselines:
    """The same model, optimizer, loss and batch as the engine, written the usual ways."""

    def __init__(self, config: LabConfig, session: Session) -> None:
        from gradtui.lab import rules
        from gradtui.lab.models import load_model
        from gradtui.lab.runtime import tf

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
            self.keras_model.compile(optimizer=rules.make_optimizer(config), loss=rules.make_loss(loss_name))
            # the article's example 3: GradientTape + apply_gradients from Python, eagerly
            self.eager_model = load_model(config).model
            self.eager_opt = rules.make_optimizer(config)
            self.eager_loss = rules.make_loss(loss_name)
            self.inputs = tf.constant(self.x)
            self.labels = tf.constant(self.y)
            # a bare tf.function with a tf.range loop and no measurements
            graph_model = load_model(config).model
            graph_opt = rules.make_optimizer(config)
            graph_opt.build(graph_model.trainable_variables)
            graph_loss = rules.make_loss(loss_name)
            inputs, labels = self.inputs, self.labels

            @tf.function
            def loop(n: Any) -> Any:
                loss = tf.constant(0.0)
                for _ in tf.range(n):
                    with tf.GradientTape() as tape:
                        prediction = graph_model(inputs)
                        loss = graph_loss(labels, prediction)
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


def _engine_figures(sizes: Sizes, results: Results) -> Session | None:
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


def _memory_figure(session: Session, sizes: Sizes, results: Results) -> None:
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


def _model_figure(spec: dict[str, str], key: str, sizes: Sizes, results: Results) -> None:
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


# ---- the TUI ----------------------------------------------------------------------------------


class _LatencyProbe:
    """A thread that posts a callback to the app every 20 ms, as the driver's input thread posts keys."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.delays: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="gradtui-bench-probe", daemon=True)

    def _main(self) -> None:
        while not self._stop.wait(PROBE_INTERVAL_S):
            posted = time.perf_counter()
            self.app.call_later(self._arrived, posted)

    def _arrived(self, posted: float) -> None:
        self.delays.append(time.perf_counter() - posted)

    def __enter__(self) -> _LatencyProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(1.0)


def _percentile_ms(values: list[float], q: float) -> float:
    if not values:
        raise RuntimeError("the latency probe got no answers")
    return float(np.percentile(np.asarray(values) * 1e3, q))


async def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.01)


async def _tui_run(sizes: Sizes, results: Results) -> None:
    from gradtui.tui.app import GradApp
    from gradtui.tui.widgets.plots import ChartPlot

    app = GradApp(LabConfig.parse(EXAMPLE3), frozen=True)
    async with app.run_test(size=TERMINAL) as pilot:
        engine = app.engine
        await _wait_for(lambda: engine.session is not None and engine.idle, 180, "the engine to build the model")
        session = engine.session
        assert session is not None
        with _LatencyProbe(app) as idle:
            await asyncio.sleep(sizes.tui_idle_s)
        await pilot.press("p")  # Play: auto-run until paused
        await _wait_for(lambda: len(session.history) > 1, 120, "the first steps (tracing)")
        await asyncio.sleep(sizes.tui_warmup_s)
        plot = app.query_one("#plot-weights", ChartPlot)
        shown = [plot.chart]
        rows0, t0 = len(session.history), time.perf_counter()
        with _LatencyProbe(app) as busy:
            while time.perf_counter() - t0 < sizes.tui_seconds:
                await asyncio.sleep(0.05)
                if plot.chart is not shown[-1]:
                    shown.append(plot.chart)
        rows1, t1 = len(session.history), time.perf_counter()
        running = engine.running
        await pilot.press("p")  # Pause
        await _wait_for(lambda: not engine.running, 30, "the run to pause")
        results.extra["tui_plot_size"] = [plot.size.width, plot.size.height]
    if not running:
        raise RuntimeError("the auto-run had stopped before the end of the measurement window")
    results.figures["tui_steps_per_s"] = (rows1 - rows0) / (t1 - t0)
    results.figures["ui_latency_p50_ms"] = _percentile_ms(busy.delays, 50)
    results.figures["ui_latency_p99_ms"] = _percentile_ms(busy.delays, 99)
    results.extra["ui_latency_max_ms"] = round(max(busy.delays) * 1e3, 2)
    results.extra["ui_latency_samples"] = len(busy.delays)
    results.extra["ui_idle_latency_p50_ms"] = round(_percentile_ms(idle.delays, 50), 3)
    results.extra["ui_idle_latency_p99_ms"] = round(_percentile_ms(idle.delays, 99), 3)
    results.extra["tui_plot_redraws_per_s"] = round((len(shown) - 1) / (t1 - t0), 2)
    results.extra["tui_terminal"] = list(TERMINAL)


def _synthetic_history(rows: int) -> History:
    """A History with `rows` recorded steps shaped like the mlp engine's (1 probe, 1 output, 2 layers)."""
    from gradtui.lab.history import Dims, History

    rng = np.random.default_rng(0)
    history = History(Dims(1, 1, 2))
    walk = np.cumsum(rng.standard_normal((rows, 8)) * 0.01, axis=0).astype(np.float32)
    chunk = 4096
    for start in range(0, rows, chunk):
        stop = min(rows, start + chunk)
        w = walk[start:stop]
        history.append(
            {
                "step": np.arange(start, stop),
                "predictions": 0.5 + w[:, 0:1, None] * 0.1,
                "loss": 0.7 + w[:, 1],
                "objective": 0.7 + w[:, 1],
                "weight_norm": 2.0 + w[:, 2:4],
                "grad_norm": np.abs(w[:, 4:6]) + 0.1,
                "update_ratio": np.abs(w[:, 6:8]) * 1e-3,
                "distance": np.abs(w[:, 2]),
                "forecast": w[:, 0:1, None] * 1e-3,
                "actual": w[:, 0:1, None] * 1e-3,
                "eval_acc": 0.8 + w[:, 3] * 0.1,
                "eval_loss": 0.5 + w[:, 4],
                "drawdown": w[:, 5] * 0.1,
                "flipped": np.abs(w[:, 6]) * 0.1,
            }
        )
    return history


async def _plot_run(sizes: Sizes, results: Results, plot_size: tuple[int, int]) -> None:
    from textual.app import App, ComposeResult
    from textual.geometry import Region

    from gradtui.tui.widgets import series
    from gradtui.tui.widgets.plots import ChartPlot

    history = _synthetic_history(PLOT_ROWS)
    layers = ("hidden", "output")

    class PlotHarness(App[None]):
        def compose(self) -> ComposeResult:
            yield ChartPlot("bench", id="plot")

    charts: dict[str, Callable[[], series.Chart]] = {
        "predictions": lambda: series.predictions(history),
        "weights": lambda: series.per_layer(history, "weight_norm", layers, "weight norm per layer", "L2 norm"),
        "gradients": lambda: series.per_layer(history, "grad_norm", layers, "gradient norm per layer", "L2 norm"),
        "heldout": lambda: series.heldout(history),
    }
    timings: dict[str, list[float]] = {name: [] for name in charts}
    app = PlotHarness()
    async with app.run_test(size=plot_size) as pilot:
        await pilot.pause()
        plot = app.query_one("#plot", ChartPlot)
        width, height = plot.size.width, plot.size.height
        for _ in range(sizes.plot_repeats + 1):
            for name, build in charts.items():
                started = time.perf_counter()
                plot.show(build())
                strips = plot.render_lines(Region(0, 0, width, height))
                timings[name].append(time.perf_counter() - started)
                if len(strips) != height:
                    raise RuntimeError(f"the plot rendered {len(strips)} lines, expected {height}")
    med = {name: statistics.median(values[1:]) * 1e3 for name, values in timings.items()}
    results.figures["plot_draw_ms_100k"] = med["weights"]
    # what the app redraws on one tick with the default tab: predictions, weights and gradients
    results.extra["plot_tick_ms_100k"] = round(med["predictions"] + med["weights"] + med["gradients"], 3)
    results.extra["plot_draw_ms_100k_by_chart"] = {name: round(v, 3) for name, v in med.items()}
    results.extra["plot_size"] = [width, height]
    results.extra["plot_rows"] = len(history)


# ---- first frame ------------------------------------------------------------------------------

FRAME_MARK = b"\x1b[1;1H"  # the first full-screen paint starts at the top-left cell


def first_frame_once(timeout: float = 60.0) -> float:
    """Seconds from spawning `python -m gradtui` in a pseudo-terminal to its first painted frame."""
    import fcntl
    import struct
    import termios

    columns, rows = TERMINAL
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    with tempfile.TemporaryDirectory(prefix="gradtui-bench-") as state:
        env = {
            **os.environ,
            "TERM": "xterm-256color",
            "XDG_STATE_HOME": state,
            "COLUMNS": str(columns),
            "LINES": str(rows),
        }
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "gradtui"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        seen = b""
        painted: float | None = None
        try:
            while time.perf_counter() - started < timeout:
                ready, _, _ = select.select([master], [], [], 0.05)
                if not ready:
                    if proc.poll() is not None:
                        break
                    continue
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                seen += data
                if FRAME_MARK in seen:
                    painted = time.perf_counter() - started
                    break
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            os.close(master)
    if painted is None:
        tail = seen[-300:].decode("utf-8", "replace")
        raise RuntimeError(f"no frame within {timeout:.0f} s (exit {proc.returncode}); output ends {tail!r}")
    return painted


def _first_frame_figure(sizes: Sizes, results: Results) -> None:
    if sys.platform == "win32":
        raise RuntimeError("needs a POSIX pseudo-terminal")
    runs = [first_frame_once() for _ in range(sizes.first_frame_runs)]
    results.figures["first_frame_s"] = statistics.median(runs)
    results.extra["first_frame_runs_s"] = [round(r, 3) for r in runs]


# ---- machine, table, JSON ---------------------------------------------------------------------


def _machine(results: Results) -> dict[str, Any]:
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


def _targets(figures: dict[str, float | None]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, _, op, target in TARGETS:
        value = figures.get(key)
        met = None if value is None else (value >= target if op == ">=" else value <= target)
        out[key] = {"value": value, "target": target, "op": op, "met": met}
    return out


def _fmt(value: float | None, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    if unit == "/s":
        return f"{value:,.0f}/s" if value >= 100 else f"{value:,.1f}/s"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "MB":
        return f"{value:+.1f} MB"
    return f"{value:g}"


def format_table(report: dict[str, Any]) -> str:
    """The figures, their targets and met/NOT MET, readable on its own."""
    f = report
    targets = report["targets"]
    m = report["machine"]
    extra = report.get("extra", {})
    mem = extra.get("memory", {})
    mem_label = "memory growth per 100k steps"
    if mem.get("scaled"):
        mem_label += f" (x{MEMORY_SCALE_STEPS / mem['steps']:.0f} from {mem['steps']:,})"
    rows: list[tuple[str, str, str]] = [
        ("engine steps/s (mlp, batch 100, Adam; all on)", "engine_steps_per_s", "/s"),
        ("  Keras train_on_batch", "train_on_batch_steps_per_s", "/s"),
        ("  article's eager GradientTape loop", "eager_steps_per_s", "/s"),
        ("  bare tf.function + tf.range, no measurements", "in_graph_steps_per_s", "/s"),
        ("engine / train_on_batch", "engine_vs_train_on_batch", "x"),
        ("engine / bare in-graph loop", "engine_vs_in_graph", "x"),
        ("TUI auto-run steps/s (headless, plots on)", "tui_steps_per_s", "/s"),
        ("TUI auto-run / engine", "tui_vs_engine", "x"),
        ("first frame (process start to paint)", "first_frame_s", "s"),
        ("UI latency p50 while running", "ui_latency_p50_ms", "ms"),
        ("UI latency p99 while running", "ui_latency_p99_ms", "ms"),
        (mem_label, "rss_growth_mb_100k", "MB"),
        ("plot redraw at 100k steps", "plot_draw_ms_100k", "ms"),
        ("engine steps/s, cnn (batch-loss)", "engine_cnn_steps_per_s", "/s"),
        ("  bare in-graph loop, cnn", "in_graph_cnn_steps_per_s", "/s"),
        ("engine / bare in-graph loop, cnn", "engine_cnn_vs_in_graph", "x"),
        ("engine steps/s, vgg16 (GPU only)", "engine_vgg16_steps_per_s", "/s"),
        ("engine / bare in-graph loop, vgg16", "engine_vgg16_vs_in_graph", "x"),
    ]
    head = (
        f"gradtui bench ({report['mode']}) - {m['cpu_count']} CPUs, TensorFlow {m['tensorflow']}, "
        f"Keras {m['keras']}, {m['device']}, {m['date']}"
    )
    width = max(len(label) for label, _, _ in rows) + 2
    lines = [head, "", f"{'figure':<{width}}{'value':>12}  {'target':<12}{'met'}", "-" * (width + 32)]
    for label, key, unit in rows:
        target = targets.get(key)
        if target is None:
            lines.append(f"{label:<{width}}{_fmt(f.get(key), unit):>12}")
            continue
        goal = f"{target['op']} {_fmt(target['target'], unit).lstrip('+')}"
        met = "n/a" if target["met"] is None else ("met" if target["met"] else "NOT MET")
        lines.append(f"{label:<{width}}{_fmt(f.get(key), unit):>12}  {goal:<12}{met}")
    met_count = sum(1 for t in targets.values() if t["met"])
    lines += ["", f"targets met: {met_count} of {len(targets)}; run took {report['runtime_s']:.0f} s"]
    for note in report.get("notes", []):
        lines.append(f"note: {note}")
    for failure in report.get("failures", []):
        lines.append(f"FAILED: {failure}")
    return "\n".join(lines)


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def run_bench(quick: bool = False, json_path: str | None = None, tiny: bool = False) -> int:
    """Measure everything, print the table, write JSON if asked; 0 when every figure was measured."""
    sizes = TINY if tiny else QUICK if quick else FULL
    started = time.perf_counter()
    results = Results()
    if json_path:
        Path(json_path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    # first, while this process is still small and idle: a separate process's start-up
    with _section(results, "first frame"):
        _first_frame_figure(sizes, results)
    with _section(results, "importing TensorFlow"):
        import gradtui.lab.session  # noqa: F401
    session: Session | None = None
    with _section(results, "engine vs train_on_batch, eager and in-graph (mlp)"):
        session = _engine_figures(sizes, results)
    if session is not None:
        with _section(results, "memory growth"):
            _memory_figure(session, sizes, results)
        del session
        gc.collect()
    with _section(results, "engine (cnn)"):
        _model_figure(CNN, "engine_cnn_steps_per_s", sizes, results)
    from gradtui.lab.runtime import tf

    if tf.config.list_logical_devices("GPU"):
        with _section(results, "engine (vgg16, GPU)"):
            _model_figure(VGG16, "engine_vgg16_steps_per_s", sizes, results)
    else:
        results.notes.append("vgg16 skipped: no GPU")
    with _section(results, "TUI auto-run and UI latency"):
        asyncio.run(_tui_run(sizes, results))
    engine_rate, tui_rate = results.figures["engine_steps_per_s"], results.figures["tui_steps_per_s"]
    if engine_rate and tui_rate:
        results.figures["tui_vs_engine"] = tui_rate / engine_rate
    with _section(results, "plot redraw"):
        size = results.extra.get("tui_plot_size") or [56, 14]
        asyncio.run(_plot_run(sizes, results, (max(20, int(size[0])), max(8, int(size[1])))))
    figures = {k: _finite_or_none(v) for k, v in results.figures.items()}
    report: dict[str, Any] = {
        "gradtui": __version__,
        "format": FORMAT,
        "mode": sizes.mode,
        "machine": _machine(results),
        **figures,
        "targets": _targets(figures),
        "notes": results.notes,
        "failures": results.failures,
        "extra": results.extra,
        "runtime_s": time.perf_counter() - started,
    }
    print(format_table(report))
    if json_path:
        atomic_write_bytes(Path(json_path).expanduser(), (json.dumps(report, indent=2) + "\n").encode())
        _say(f"wrote {json_path}")
    return 1 if results.failures else 0


__all__ = ["FIGURE_KEYS", "TARGETS", "format_table", "rss_mb", "run_bench"]
