"""The bench's shapes and its table: figure keys, targets, run sizes, results, formatting.

Imports neither TensorFlow nor Textual, so the table can be read and tested without either.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gradtui.errors import first_line

FORMAT = "gradtui-bench/1"
EXAMPLE3 = {"rule": "batch-loss", "optimizer": "adam", "lr": "0.01", "batch_size": "100"}
CNN = {"model": "cnn", "rule": "batch-loss"}
VGG16 = {"model": "vgg16", "rule": "batch-loss"}
MEMORY_SCALE_STEPS = 100_000
EXACT_ROWS_CAP = 50_000  # the most exact rows any History keeps (history.RECENT_ROWS; a test checks they agree)
# Play this far before sampling the app's memory, so the slope is play, not the history filling up: a History
# lets its exact rows grow to 1.5x the cap before summarising the older ones, so its arrays double once on the
# way and the allocator settles only after the second summary (measured on the default lab: RSS rises 614 ->
# 652 MB over the first 100k steps, then 652 -> 658 MB over the next 600k)
PLAY_WARMUP_STEPS = 2 * EXACT_ROWS_CAP

# (json key, label, op, target): the targets; every other figure is reported without one
TARGETS: tuple[tuple[str, str, str, float], ...] = (
    ("engine_vs_train_on_batch", "engine / train_on_batch", ">=", 3.5),
    ("tui_vs_engine", "TUI auto-run / engine", ">=", 0.7),
    ("first_frame_s", "first frame", "<=", 1.0),
    ("ready_over_tf_import_s", "launch to ready, beyond importing TensorFlow", "<=", 1.5),
    ("first_step_ms", "first step after ready, key to screen", "<=", 300.0),
    ("key_step_ms_p50", "key to painted step p50", "<=", 30.0),
    ("key_step_ms_p99", "key to painted step p99", "<=", 60.0),
    ("preset_key_to_loading_ms", "preset key to the status saying loading", "<=", 100.0),
    ("ui_latency_p99_ms", "UI latency p99 while running", "<=", 50.0),
    ("play_rss_mb_per_min", "memory growth while playing", "<=", 10.0),
    ("rss_growth_mb_100k", "memory growth per 100k steps", "<=", 50.0),
    ("plot_draw_ms_100k", "plot redraw at 100k steps", "<=", 20.0),
    ("export_1m_s", "writing 1M steps (.npz)", "<=", 3.0),
    ("engine_cnn_vs_in_graph", "engine / bare in-graph loop, cnn", ">=", 0.8),
    ("classroom_ui_latency_p99_delta_ms", "lab UI latency p99, 30 followers minus none", "<=", 10.0),
    ("classroom_follower_rss_mb", "a follower's memory (RSS)", "<=", 150.0),
    ("classroom_key_to_follower_ms_p50", "teacher's key to a follower's screen p50 (10)", "<=", 250.0),
    ("attribution_mlp_off_vs_plain", "step after attribution off / never on, mlp", ">=", 0.98),
    ("attribution_cnn_off_vs_plain", "step after attribution off / never on, cnn", ">=", 0.98),
    ("attribution_mlp_vs_plain", "step with one probe attributed / plain, mlp", ">=", 0.5),
    ("attribution_cnn_vs_plain", "step with one probe attributed / plain, cnn", ">=", 0.5),
    ("preview_key_first_s", "v to the cnn preset's first preview on screen, 3 s after ready", "<=", 1.0),
    ("preview_key_batch_first_s", "v to the first preview on screen, cnn on batch-loss, 3 s after ready", "<=", 1.0),
    ("preview_cnn_first_s", "the cnn's first preview, never traced ahead", "<=", 1.0),
    ("preview_cnn_s", "step preview, cnn (traced)", "<=", 1.0),
)

PARTS = ("app", "engine", "why", "preview", "classroom")  # `gradtui bench --only`, in the order they run
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
    "tf_import_s",
    "ready_s",
    "ready_over_tf_import_s",
    "first_step_ms",
    "key_step_ms_p50",
    "key_step_ms_p99",
    "preset_key_to_loading_ms",
    "preset_key_to_ready_mlp_s",
    "preset_key_to_ready_cnn_s",
    "ui_latency_p50_ms",
    "ui_latency_p99_ms",
    "play_rss_mb_per_min",
    "rss_growth_mb_100k",
    "plot_draw_ms_100k",
    "export_1m_s",
    "engine_cnn_steps_per_s",
    "in_graph_cnn_steps_per_s",
    "engine_cnn_vs_in_graph",
    "engine_vgg16_steps_per_s",
    "in_graph_vgg16_steps_per_s",
    "engine_vgg16_vs_in_graph",
    "replicas",
    "replicas_max_abs_diff",
    "replicas_steps_per_s",
    "one_device_steps_per_s",
    "classroom_ui_latency_p99_ms_0",
    "classroom_ui_latency_p99_ms_30",
    "classroom_ui_latency_p99_delta_ms",
    "classroom_key_to_follower_ms_p50",
    "classroom_key_to_follower_ms_p99",
    "classroom_follower_rss_mb",
    "classroom_publisher_cpu_ms_per_s_30",
    "attribution_mlp_plain_steps_per_s",
    "attribution_mlp_steps_per_s",
    "attribution_mlp_vs_plain",
    "attribution_mlp_off_vs_plain",
    "attribution_mlp_ms_per_probe",
    "attribution_cnn_plain_steps_per_s",
    "attribution_cnn_steps_per_s",
    "attribution_cnn_vs_plain",
    "attribution_cnn_off_vs_plain",
    "attribution_cnn_ms_per_probe",
    "preview_cnn_first_s",
    "preview_cnn_prepare_s",
    "preview_cnn_prepared_first_s",
    "preview_cnn_s",
    "preview_key_first_s",
    "preview_key_batch_first_s",
    "preview_key_at_once_s",
)
# measured only where there are several devices of one kind
REPLICA_KEYS = ("replicas", "replicas_max_abs_diff", "replicas_steps_per_s", "one_device_steps_per_s")


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
    key_presses: int  # Space presses after the first step, at rest (p50/p99 of these)
    play_warmup_steps: int  # play until the history holds this many steps before sampling memory...
    play_warmup_s: float  # ...or at most this long
    play_seconds: float  # play while the app's memory is sampled
    export_rows: int  # rows of the synthetic history written (scaled to 1M)
    export_repeats: int
    replica_steps: int = 200  # steps of the several-devices run and of its single-device twin
    tf_import_runs: int = 3  # timed `import tensorflow` runs (the median is the reference)
    preset_rounds: int = 3  # rounds of preset switches cnn <-> mlp in one app (medians reported)
    classroom_pairs: int = 12  # pairs of latency windows, no follower and 30 (medians of the windows)
    classroom_window_s: float = 5.0  # one latency window


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
    key_presses=50,
    play_warmup_steps=PLAY_WARMUP_STEPS,
    play_warmup_s=120.0,
    play_seconds=60.0,
    export_rows=1_000_000,
    export_repeats=3,
    replica_steps=500,
)
QUICK = Sizes(
    "quick",
    rounds=3,
    seconds=1.0,
    warmup_s=1.0,
    memory_steps=20_000,
    cnn_rounds=2,
    tui_idle_s=1.0,
    tui_warmup_s=1.5,
    tui_seconds=5.0,
    plot_repeats=15,
    first_frame_runs=3,
    key_presses=50,
    play_warmup_steps=PLAY_WARMUP_STEPS,
    play_warmup_s=90.0,
    play_seconds=60.0,
    export_rows=1_000_000,
    export_repeats=2,
    classroom_pairs=8,
    classroom_window_s=3.0,
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
    key_presses=3,
    play_warmup_steps=1,
    play_warmup_s=0.5,
    play_seconds=1.5,
    export_rows=20_000,
    export_repeats=1,
    replica_steps=20,
    tf_import_runs=1,
    preset_rounds=1,
    classroom_pairs=1,
    classroom_window_s=1.0,
)


@dataclass
class Results:
    figures: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(FIGURE_KEYS))
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def section(results: Results, name: str) -> Iterator[None]:
    """Run one part; a failure is recorded (and the bench goes on) instead of ending the run."""
    say(f"{name} ...")
    started = time.perf_counter()
    try:
        yield
    except Exception as err:
        text = first_line(str(err))
        results.failures.append(f"{name}: {type(err).__name__}: {text}")
        say(f"{name} FAILED: {type(err).__name__}: {text}")
    else:
        say(f"{name} done in {time.perf_counter() - started:.1f} s")


def targets(figures: dict[str, float | None]) -> dict[str, dict[str, Any]]:
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
    if unit == "MB/min":
        return f"{value:+.1f} MB/min"
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
        ("engine / bare in-graph loop (no target)", "engine_vs_in_graph", "x"),
        ("engine steps/s, cnn (batch-loss)", "engine_cnn_steps_per_s", "/s"),
        ("  bare in-graph loop, cnn (same minibatches)", "in_graph_cnn_steps_per_s", "/s"),
        ("engine / bare in-graph loop, cnn", "engine_cnn_vs_in_graph", "x"),
        ("engine steps/s, vgg16 (GPU only)", "engine_vgg16_steps_per_s", "/s"),
        ("engine / bare in-graph loop, vgg16", "engine_vgg16_vs_in_graph", "x"),
        ("TUI auto-run steps/s (headless, plots on)", "tui_steps_per_s", "/s"),
        ("TUI auto-run / engine", "tui_vs_engine", "x"),
        ("first frame (process start to paint)", "first_frame_s", "s"),
        ('python -c "import tensorflow"', "tf_import_s", "s"),
        ("launch to ready (step traced)", "ready_s", "s"),
        ("launch to ready, beyond importing TensorFlow", "ready_over_tf_import_s", "s"),
        ("first step after ready, key to screen", "first_step_ms", "ms"),
        ("key to painted step p50 (120x36)", "key_step_ms_p50", "ms"),
        ("key to painted step p99 (120x36)", "key_step_ms_p99", "ms"),
        ("preset key to the status saying loading (median)", "preset_key_to_loading_ms", "ms"),
        ("preset key to first step possible, mlp (from the cnn)", "preset_key_to_ready_mlp_s", "s"),
        ("preset key to first step possible, cnn (from the mlp)", "preset_key_to_ready_cnn_s", "s"),
        ("UI latency p50 while running", "ui_latency_p50_ms", "ms"),
        ("UI latency p99 while running", "ui_latency_p99_ms", "ms"),
        ("memory growth while playing, per minute", "play_rss_mb_per_min", "MB/min"),
        (mem_label, "rss_growth_mb_100k", "MB"),
        ("plot redraw at 100k steps", "plot_draw_ms_100k", "ms"),
        ("writing 1M steps (.npz)", "export_1m_s", "s"),
        ("replicas (several devices, MirroredStrategy)", "replicas", ""),
        ("  max |one device - replicas|, every column", "replicas_max_abs_diff", ""),
        ("  steps/s on the replicas", "replicas_steps_per_s", "/s"),
        ("  steps/s on one device, same run", "one_device_steps_per_s", "/s"),
        ("classroom: lab UI latency p99, no follower (median window)", "classroom_ui_latency_p99_ms_0", "ms"),
        ("  with 30 stream followers (median window)", "classroom_ui_latency_p99_ms_30", "ms"),
        ("  difference (median of the interleaved pairs)", "classroom_ui_latency_p99_delta_ms", "ms"),
        ("  the stream's own CPU, 30 followers (ms per s)", "classroom_publisher_cpu_ms_per_s_30", "ms"),
        ("classroom: teacher's key to 10 followers' screens p50", "classroom_key_to_follower_ms_p50", "ms"),
        ("  p99", "classroom_key_to_follower_ms_p99", "ms"),
        ("classroom: a follower's memory (largest RSS of 10)", "classroom_follower_rss_mb", "MB"),
    ]
    head = (
        f"gradtui bench ({report['mode']}) - {m['cpu_count']} CPUs, TensorFlow {m['tensorflow']}, "
        f"Keras {m['keras']}, {m['device']}, {m['date']}"
    )
    if m.get("load_average"):
        head += f", load average {m['load_average'][0]:.1f}"
    width = max(len(label) for label, _, _ in rows) + 2
    lines = [head, "", f"{'figure':<{width}}{'value':>14}  {'target':<16}{'met'}", "-" * (width + 38)]
    for label, key, unit in rows:
        target = targets.get(key)
        if target is None:
            lines.append(f"{label:<{width}}{_fmt(f.get(key), unit):>14}")
            continue
        goal = f"{target['op']} {_fmt(target['target'], unit).lstrip('+')}"
        met = "n/a" if target["met"] is None else ("met" if target["met"] else "NOT MET")
        lines.append(f"{label:<{width}}{_fmt(f.get(key), unit):>14}  {goal:<16}{met}")
    met_count = sum(1 for t in targets.values() if t["met"])
    parts = report.get("parts")
    if parts is None or len(parts) == len(PARTS):
        lines += ["", f"targets met: {met_count} of {len(targets)}; run took {report['runtime_s']:.0f} s"]
    else:  # `--only`: the targets of the parts not run are n/a, not missed
        measured = sum(1 for t in targets.values() if t["met"] is not None)
        lines += ["", f"targets met: {met_count} of the {measured} measured (--only {','.join(parts)}); "]
        lines[-1] += f"run took {report['runtime_s']:.0f} s"
    for note in report.get("notes", []):
        lines.append(f"note: {note}")
    for failure in report.get("failures", []):
        lines.append(f"FAILED: {failure}")
    return "\n".join(lines)


def finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
