"""History exports read back: every value of every column, in JSON, CSV and .npz, across chunk edges."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from gradtui import relevance
from gradtui.config import LabConfig
from gradtui.lab import export
from gradtui.lab.history import COLUMNS, SUMMARY, Dims, History
from gradtui.lab.results import Divergence, ModelSummary

LAYERS = ("hidden", "out")
DIMS = Dims(probes=2, outputs=3, layers=2)


@dataclass
class Run:
    config: LabConfig
    summary: ModelSummary
    history: History
    notes: list[str] = field(default_factory=lambda: ["a note, with a comma"])
    divergence: Divergence | None = None


def _run(rows: int) -> Run:
    """Random values with NaN and infinities sprinkled in, appended in uneven pieces like the engine's."""
    rng = np.random.default_rng(3)
    history = History(DIMS, capacity=4)
    start = 0
    while start < rows:
        count = min(rows - start, int(rng.integers(1, 9)))
        chunk: dict[str, np.ndarray] = {"step": np.arange(start, start + count)}
        for name, measure in COLUMNS.items():
            if name == "step":
                continue
            values = rng.standard_normal((count, *DIMS.shape(measure.kind))).astype(np.float32) * 10.0 ** rng.integers(
                -8, 8
            )
            values[rng.random(values.shape) < 0.2] = np.nan
            values[rng.random(values.shape) < 0.02] = np.inf
            values[rng.random(values.shape) < 0.02] = -np.inf
            chunk[name] = values
        history.append(chunk)
        start += count
    summary = ModelSummary("tiny", 11, (4,), (3,), "softmax", "sce", LAYERS, "cpu:0", "synthetic", "synthetic")
    return Run(LabConfig.parse({}), summary, history)


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "CHUNK_ROWS", 7)  # many chunk edges in a short history


def _expected(run: Run) -> dict[str, np.ndarray]:
    return run.history.to_dict()


def test_npz_round_trip(tmp_path: Path) -> None:
    run = _run(40)
    path = export.write_history(tmp_path / "h.npz", run)
    with np.load(path) as loaded:  # numpy's defaults: no pickles needed
        for name, values in _expected(run).items():
            np.testing.assert_array_equal(loaded[name], values)
            assert loaded[name].dtype == values.dtype
        meta = json.loads(loaded["meta"][0])
        loaded_summary = loaded[SUMMARY]
    assert meta["format"] == "gradtui-history/1"
    assert meta["layers"] == list(LAYERS)
    # the settings the experiment uses: the mlp takes no input shape or class count, the prediction rule no batch
    assert meta["config"] == relevance.applying(run.config)
    exported = set(meta["config"])
    assert {"model", "rule", "lr", "optimizer"} <= exported and not {"input_shape", "classes", "batch_size"} & exported
    assert set(meta["columns"]) == {*COLUMNS, SUMMARY}  # a short run: every row recorded, summary 0
    np.testing.assert_array_equal(loaded_summary, np.zeros(40))


def test_json_round_trip(tmp_path: Path) -> None:
    run = _run(40)
    data = json.loads(export.write_history(tmp_path / "h.json", run).read_text())
    assert data["notes"] == run.notes and data["layers"] == list(LAYERS)
    for name, values in _expected(run).items():
        got = data[name]
        assert len(got) == len(values) == 40
        flat_got = np.array(got, dtype=object).reshape(-1)
        for want, have in zip(values.reshape(-1).tolist(), flat_got.tolist(), strict=True):
            if math.isfinite(want):
                assert have == want  # the float32 value exactly, as a Python float
            else:
                assert have is None


def test_csv_round_trip(tmp_path: Path) -> None:
    run = _run(40)
    with export.write_history(tmp_path / "h.csv", run).open(newline="") as handle:
        table = list(csv.reader(handle))
    header, rows = table[0], table[1:]
    assert len(rows) == 40
    assert header[:2] == ["step", "predictions_p0_k0"] and "weight_norm[out]" in header
    values = _expected(run)
    names = [*COLUMNS, SUMMARY]  # the summary code comes last
    flat = np.concatenate([values[name].reshape(40, -1).astype(np.float64) for name in names], axis=1)
    assert len(header) == flat.shape[1] and header[-1] == SUMMARY
    for row, want in zip(rows, flat, strict=True):
        assert row[0] == str(int(want[0]))
        for cell, value in zip(row[1:], want[1:], strict=True):
            if math.isfinite(value):
                assert np.float32(float(cell)) == np.float32(value)  # 9 digits round-trip a float32
            else:
                assert cell == ""


def test_empty_history_exports(tmp_path: Path) -> None:
    run = _run(0)
    assert json.loads(export.write_history(tmp_path / "h.json", run).read_text())["step"] == []
    assert export.write_history(tmp_path / "h.csv", run).read_text().count("\n") == 1
    with np.load(export.write_history(tmp_path / "h.npz", run)) as loaded:
        assert loaded["predictions"].shape == (0, 2, 3)


def test_a_failed_export_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run(40)
    target = tmp_path / "h.json"
    target.write_text("old")
    calls = 0
    real_rows = run.history.rows

    def failing(start: int, stop: int) -> dict[str, np.ndarray]:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError("disk full")
        return real_rows(start, stop)

    monkeypatch.setattr(run.history, "rows", failing)
    with pytest.raises(OSError, match="disk full"):
        export.write_history(target, run)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["h.json"]


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.json, \.csv or \.npz"):
        export.write_history(tmp_path / "h.txt", _run(3))
