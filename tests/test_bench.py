"""`gradtui bench` end to end at tiny sizes: every figure measured, JSON and table consistent.

Timing targets are not asserted here (they belong to the bench's own report); this checks that
the bench measures what it says and writes what docs/performance.md documents.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest

from gradtui import cli
from gradtui.bench import FIGURE_KEYS, TARGETS


@pytest.mark.slow
def test_tiny_bench_measures_every_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    code = cli.main(["bench", "--tiny", "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    report = json.loads(out.read_text())
    assert report["format"] == "gradtui-bench/1" and report["mode"] == "tiny"
    gpu_only = {key for key in FIGURE_KEYS if "vgg16" in key}  # the replicas run on two logical CPUs
    for key in FIGURE_KEYS:
        assert key in report
        if key not in gpu_only:
            assert isinstance(report[key], float) and math.isfinite(report[key]), key
    assert report["engine_vs_in_graph"] == pytest.approx(report["engine_steps_per_s"] / report["in_graph_steps_per_s"])
    assert report["tui_vs_engine"] == pytest.approx(report["tui_steps_per_s"] / report["engine_steps_per_s"])
    assert report["ui_latency_p50_ms"] <= report["ui_latency_p99_ms"]
    assert 0 < report["first_frame_s"] < 30
    # the app in a terminal: launch to ready against importing TensorFlow, then keys, then play
    assert report["ready_over_tf_import_s"] == pytest.approx(report["ready_s"] - report["tf_import_s"])
    assert 0 < report["first_frame_s"] < report["ready_s"]
    assert 0 < report["key_step_ms_p50"] <= report["key_step_ms_p99"] and report["first_step_ms"] > 0
    assert report["extra"]["key_presses"] == 3 and report["extra"]["play"]["last_step_seen"] > 4  # it played
    assert report["replicas"] == 2.0 and report["replicas_max_abs_diff"] <= 1e-5
    assert report["extra"]["replica_devices"] == ["/device:CPU:0", "/device:CPU:1"]
    # the import reference: one untimed import first (a cold page cache), then the median of the timed ones
    assert report["tf_import_s"] == pytest.approx(statistics.median(report["extra"]["tf_import_runs_s"]), abs=1e-3)
    assert report["extra"]["tf_import_first_s"] > 0
    play = report["extra"]["play"]
    assert play["warmup_steps"] >= 1 and play["last_step_seen"] > play["warmup_steps"]  # sampled after the warm-up
    assert report["export_1m_s"] > 0 and report["extra"]["export"]["rows"] == 20_000
    assert report["engine_cnn_vs_in_graph"] == pytest.approx(
        report["engine_cnn_steps_per_s"] / report["in_graph_cnn_steps_per_s"]
    )
    for key, _, op, target in TARGETS:
        entry = report["targets"][key]
        assert entry["target"] == target and entry["op"] == op
        assert entry["met"] == (entry["value"] >= target if op == ">=" else entry["value"] <= target)
    assert "engine / bare in-graph loop" in printed and "key to painted step p99" in printed
    assert f"targets met: {sum(bool(t['met']) for t in report['targets'].values())} of {len(TARGETS)}" in printed
    assert report["failures"] == []


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
