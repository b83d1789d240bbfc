"""`gradtui bench` end to end at tiny sizes, one part per test: every figure measured, JSON and table
consistent.

Timing targets are not asserted here (they belong to the bench's own report); this checks that
the bench measures what it says and writes what docs/performance.md documents.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gradtui import cli
from gradtui.bench import FIGURE_KEYS, TARGETS
from gradtui.bench.report import PARTS

# what each part of `gradtui bench --only PART` measures (the vgg16 figures are measured on a GPU only)
PART_KEYS = {
    "app": {
        "first_frame_s", "tf_import_s", "ready_s", "ready_over_tf_import_s", "first_step_ms", "key_step_ms_p50",
        "key_step_ms_p99", "preset_key_to_loading_ms", "preset_key_to_ready_mlp_s", "preset_key_to_ready_cnn_s",
        "play_rss_mb_per_min",
    },
    "engine": {
        "engine_steps_per_s", "train_on_batch_steps_per_s", "eager_steps_per_s", "in_graph_steps_per_s",
        "engine_vs_train_on_batch", "engine_vs_in_graph", "tui_steps_per_s", "tui_vs_engine", "ui_latency_p50_ms",
        "ui_latency_p99_ms", "rss_growth_mb_100k", "plot_draw_ms_100k", "export_1m_s", "engine_cnn_steps_per_s",
        "in_graph_cnn_steps_per_s", "engine_cnn_vs_in_graph", "replicas", "replicas_max_abs_diff",
        "replicas_steps_per_s", "one_device_steps_per_s",
    },
    "why": {
        "attribution_mlp_plain_steps_per_s", "attribution_mlp_steps_per_s", "attribution_mlp_vs_plain",
        "attribution_mlp_off_vs_plain", "attribution_mlp_ms_per_probe", "attribution_cnn_plain_steps_per_s",
        "attribution_cnn_steps_per_s", "attribution_cnn_vs_plain", "attribution_cnn_off_vs_plain",
        "attribution_cnn_ms_per_probe", "preview_cnn_first_s", "preview_cnn_prepare_s",
        "preview_cnn_prepared_first_s", "preview_cnn_s",
    },
    "preview": {"preview_key_first_s", "preview_key_batch_first_s", "preview_key_at_once_s"},
    "classroom": {
        "classroom_ui_latency_p99_ms_0", "classroom_ui_latency_p99_ms_30", "classroom_ui_latency_p99_delta_ms",
        "classroom_key_to_follower_ms_p50", "classroom_key_to_follower_ms_p99", "classroom_follower_rss_mb",
        "classroom_publisher_cpu_ms_per_s_30",
    },
}  # fmt: skip
GPU_ONLY = {key for key in FIGURE_KEYS if "vgg16" in key}


def test_the_parts_together_measure_every_figure_once() -> None:
    """A full `gradtui bench` runs every part; together they measure each figure, and each in one part."""
    assert tuple(PART_KEYS) == PARTS
    measured = [key for keys in PART_KEYS.values() for key in keys]
    assert len(measured) == len(set(measured))
    assert set(measured) | GPU_ONLY == set(FIGURE_KEYS)


@pytest.mark.slow
@pytest.mark.parametrize("part", PARTS)
def test_each_part_of_the_tiny_bench_measures_its_figures(
    part: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One part per test, so the parts run side by side; a figure measured outside its part fails."""
    out = tmp_path / "bench.json"
    code = cli.main(["bench", "--tiny", "--only", part, "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    report = json.loads(out.read_text())
    assert report["format"] == "gradtui-bench/1" and report["mode"] == "tiny" and report["parts"] == [part]
    assert report["failures"] == []
    for key in FIGURE_KEYS:
        assert key in report
        if key in PART_KEYS[part]:
            assert isinstance(report[key], float) and math.isfinite(report[key]), key
        elif key not in GPU_ONLY:
            assert report[key] is None, key
    for key, _, op, target in TARGETS:
        entry = report["targets"][key]
        assert entry["target"] == target and entry["op"] == op
        if key in PART_KEYS[part]:
            assert entry["met"] == (entry["value"] >= target if op == ">=" else entry["value"] <= target)
        else:
            assert entry["met"] is None, key
    measured = sum(1 for entry in report["targets"].values() if entry["met"] is not None)
    met = sum(bool(entry["met"]) for entry in report["targets"].values())
    assert f"targets met: {met} of the {measured} measured (--only {part})" in printed
    _CHECKS[part](report, printed)


def _app(report: dict[str, Any], printed: str) -> None:
    # the app in a terminal: launch to ready against importing TensorFlow, then keys, then play
    assert report["ready_over_tf_import_s"] == pytest.approx(report["ready_s"] - report["tf_import_s"])
    assert 0 < report["first_frame_s"] < report["ready_s"] and report["first_frame_s"] < 30
    assert 0 < report["key_step_ms_p50"] <= report["key_step_ms_p99"] and report["first_step_ms"] > 0
    assert report["extra"]["key_presses"] == 3 and report["extra"]["play"]["last_step_seen"] > 4  # it played
    # the import reference: one untimed import first (a cold page cache), then the median of the timed ones
    assert report["tf_import_s"] == pytest.approx(statistics.median(report["extra"]["tf_import_runs_s"]), abs=1e-3)
    assert report["extra"]["tf_import_first_s"] > 0
    play = report["extra"]["play"]
    assert play["warmup_steps"] >= 1 and play["last_step_seen"] > play["warmup_steps"]  # sampled after the warm-up
    assert "key to painted step p99" in printed


def _engine(report: dict[str, Any], printed: str) -> None:
    assert report["engine_vs_in_graph"] == pytest.approx(report["engine_steps_per_s"] / report["in_graph_steps_per_s"])
    assert report["tui_vs_engine"] == pytest.approx(report["tui_steps_per_s"] / report["engine_steps_per_s"])
    assert report["ui_latency_p50_ms"] <= report["ui_latency_p99_ms"]
    assert report["replicas"] == 2.0 and report["replicas_max_abs_diff"] <= 1e-5
    assert report["extra"]["replica_devices"] == ["/device:CPU:0", "/device:CPU:1"]
    assert report["export_1m_s"] > 0 and report["extra"]["export"]["rows"] == 20_000
    assert report["engine_cnn_vs_in_graph"] == pytest.approx(
        report["engine_cnn_steps_per_s"] / report["in_graph_cnn_steps_per_s"]
    )
    assert "engine / bare in-graph loop" in printed


def _why(report: dict[str, Any], printed: str) -> None:
    for model in ("mlp", "cnn"):
        assert report[f"attribution_{model}_steps_per_s"] > 0 and report[f"attribution_{model}_ms_per_probe"] > 0
    assert report["preview_cnn_s"] > 0 and report["preview_cnn_first_s"] > 0


def _preview(report: dict[str, Any], printed: str) -> None:
    assert report["preview_key_first_s"] > 0 and report["preview_key_at_once_s"] > 0


def _classroom(report: dict[str, Any], printed: str) -> None:
    assert report["classroom_ui_latency_p99_delta_ms"] is not None and report["classroom_follower_rss_mb"] > 0
    assert 0 < report["classroom_key_to_follower_ms_p50"] <= report["classroom_key_to_follower_ms_p99"]


_CHECKS: dict[str, Callable[[dict[str, Any], str], None]] = {
    "app": _app,
    "engine": _engine,
    "why": _why,
    "preview": _preview,
    "classroom": _classroom,
}


def test_the_export_figure_writes_every_row_of_an_exact_history(tmp_path: Path) -> None:
    """Past the lab's bound (75,000 rows at most before summarising), the figure still writes each row."""
    import dataclasses

    import numpy as np

    from gradtui.bench.export_figure import _Recorded, export_figure, synthetic_history
    from gradtui.bench.report import TINY, Results
    from gradtui.lab.export import write_history

    rows = 100_000
    results = Results()
    export_figure(dataclasses.replace(TINY, export_rows=rows, export_repeats=1), results)
    assert results.extra["export"]["rows"] == rows and results.extra["export"]["mb"] > 5
    assert results.figures["export_1m_s"] is not None and results.figures["export_1m_s"] > 0
    history = synthetic_history(rows, exact=True)
    assert history.stored == len(history) == rows and history.summarised() == 0
    lab = synthetic_history(rows)  # as the lab holds it: what its plots draw
    assert len(lab) == rows and lab.summarised() > 0 and lab.stored < rows
    write_history(tmp_path / "h.npz", _Recorded(history))
    with np.load(tmp_path / "h.npz") as written:
        assert written["step"].tolist() == list(range(rows))
        assert np.array_equal(written["loss"], history.column("loss"))


def test_play_warms_up_past_every_historys_exact_rows() -> None:
    """--quick and the full run sample the app's memory only once the history stops growing."""
    from gradtui.bench.report import EXACT_ROWS_CAP, FULL, PLAY_WARMUP_STEPS, QUICK
    from gradtui.lab.history import RECENT_ROWS

    assert RECENT_ROWS[1] == EXACT_ROWS_CAP
    for sizes in (QUICK, FULL):
        assert sizes.play_warmup_steps == PLAY_WARMUP_STEPS > 1.5 * EXACT_ROWS_CAP and sizes.play_seconds >= 60


def test_step_numbers_are_read_from_the_status_line() -> None:
    from gradtui.bench.terminal_figures import _last_step

    status = b"\x1b[2;3H running  CPU:0 \xc2\xb7 step 51234 \xc2\xb7 2,900 steps/s \xc2\xb7 step 7 \xc2\xb7"
    assert _last_step(status) == 51234
    assert _last_step(b"step 12") == 0  # cut before the separator: not yet a whole number
