"""`gradtui bench`: runs every part in order, prints the table and writes the JSON."""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gradtui import __version__
from gradtui.bench import classroom_figures, engine_figures, export_figure, terminal_figures, tui_figures, why_figures
from gradtui.bench.report import (
    CNN,
    FORMAT,
    FULL,
    PARTS,
    QUICK,
    TINY,
    VGG16,
    Results,
    Sizes,
    finite_or_none,
    format_table,
    say,
    section,
    targets,
)
from gradtui.files import atomic_write_bytes

if TYPE_CHECKING:
    from gradtui.lab.session import Session


def run_bench(
    quick: bool = False, json_path: str | None = None, tiny: bool = False, only: Collection[str] = PARTS
) -> int:
    """Measure everything (or the parts in `only`), print the table, write JSON if asked; 0 when every
    figure measured was measured."""
    sizes = TINY if tiny else QUICK if quick else FULL
    started = time.perf_counter()
    results = Results()
    if json_path:
        Path(json_path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    if "app" in only:  # first, while this process is still small and idle: separate processes, as a user starts them
        _app_part(sizes, results)
    if "engine" in only:
        _engine_part(sizes, results)
    if "why" in only:
        with section(results, "attribution and the step preview: cost when used, none when not"):
            why_figures.why_figures(sizes, results)
    if "preview" in only:
        with section(results, "the app in a terminal: v to the first step preview on screen"):
            terminal_figures.preview_key_figures(results)
    if "classroom" in only:
        with section(results, "the classroom: the lab's UI with 30 followers, key to 10 followers' screens"):
            asyncio.run(classroom_figures.lab_latency_run(sizes, results))
            classroom_figures.key_to_follower_figures(sizes, results)
    figures = {k: finite_or_none(v) for k, v in results.figures.items()}
    report: dict[str, Any] = {
        "gradtui": __version__,
        "format": FORMAT,
        "mode": sizes.mode,
        "parts": [part for part in PARTS if part in only],
        "machine": engine_figures.machine(results),
        **figures,
        "targets": targets(figures),
        "notes": results.notes,
        "failures": results.failures,
        "extra": results.extra,
        "runtime_s": time.perf_counter() - started,
    }
    print(format_table(report))
    if json_path:
        atomic_write_bytes(Path(json_path).expanduser(), (json.dumps(report, indent=2) + "\n").encode())
        say(f"wrote {json_path}")
    return 1 if results.failures else 0


def _app_part(sizes: Sizes, results: Results) -> None:
    with section(results, "first frame"):
        terminal_figures.first_frame_figure(sizes, results)
    with section(results, "the app in a terminal: launch to ready, key to step, memory while playing"):
        terminal_figures.app_figures(sizes, results)
    with section(results, "the app in a terminal: preset key to loading and to the first step possible"):
        terminal_figures.preset_switch_figures(sizes, results)


def _engine_part(sizes: Sizes, results: Results) -> None:
    """The engine against plain Keras, then the TUI against the engine (its ratio needs both)."""
    with section(results, "importing TensorFlow"):
        engine_figures.import_engine()
    session: Session | None = None
    with section(results, "engine vs train_on_batch, eager and in-graph (mlp)"):
        session = engine_figures.engine_figures(sizes, results)
    if session is not None:
        with section(results, "memory growth"):
            engine_figures.memory_figure(session, sizes, results)
        del session
        gc.collect()
    with section(results, "engine (cnn)"):
        engine_figures.model_figure(CNN, "engine_cnn_steps_per_s", sizes, results)
    if engine_figures.has_gpu():
        with section(results, "engine (vgg16, GPU)"):
            engine_figures.model_figure(VGG16, "engine_vgg16_steps_per_s", sizes, results)
    else:
        results.notes.append("vgg16 skipped: no GPU")
    with section(results, "one device vs several (correctness)"):
        engine_figures.replica_figure(sizes, results)
    with section(results, "TUI auto-run and UI latency"):
        asyncio.run(tui_figures.tui_run(sizes, results))
    engine_rate, tui_rate = results.figures.get("engine_steps_per_s"), results.figures.get("tui_steps_per_s")
    if engine_rate and tui_rate:
        results.figures["tui_vs_engine"] = tui_rate / engine_rate
    with section(results, "plot redraw"):
        size = results.extra.get("tui_plot_size") or [56, 14]
        asyncio.run(tui_figures.plot_run(sizes, results, (max(20, int(size[0])), max(8, int(size[1])))))
    with section(results, "writing a 1M-step history"):
        export_figure.export_figure(sizes, results)
