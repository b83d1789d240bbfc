"""History stays bounded over unbounded play, and its summaries stay faithful to what was recorded."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from gradtui.lab.history import BUCKET_LAST, BUCKET_MAX, BUCKET_MIN, EXACT, SUMMARY, Dims, History


def _record(history: History, total: int, chunk: int = 997, seed: int = 0) -> dict[str, np.ndarray]:
    """Append `total` random-walk steps in chunks; return every recorded value (the reference)."""
    rng = np.random.default_rng(seed)
    loss = rng.standard_normal(total).astype(np.float32)
    loss[total // 3] = 50.0  # one spike in what becomes the summarised region
    preds = rng.random((total, 2, 3)).astype(np.float32)
    norms = rng.random((total, 2)).astype(np.float32)
    steps = np.arange(total)
    evals = np.where(steps % 10 == 0, loss, np.nan).astype(np.float32)
    for start in range(0, total, chunk):
        part = slice(start, min(total, start + chunk))
        history.append(
            {
                "step": steps[part],
                "loss": loss[part],
                "predictions": preds[part],
                "weight_norm": norms[part],
                "eval_acc": evals[part],
            }
        )
    return {"step": steps, "loss": loss, "predictions": preds, "weight_norm": norms, "eval_acc": evals}


def test_long_play_stays_bounded_and_keeps_extremes_and_samples() -> None:
    history = History(Dims(2, 3, 2), recent=1_000, buckets=50)
    ref = _record(history, 300_000)
    assert len(history) == 300_000  # len counts recorded steps, not stored rows
    assert history.stored <= 1_500 + 3 * 2 * 50 + 997  # recent (+half), buckets (at most twice over), a chunk
    rows = history.to_dict()
    kinds = rows[SUMMARY]
    assert kinds[0] == EXACT and rows["step"][0] == 0  # the baseline row stays exact
    assert np.all(kinds[-1_000:] == EXACT)  # the recent rows are exact
    assert np.array_equal(rows["step"][-1_000:], ref["step"][-1_000:])
    assert np.all(np.diff(rows["step"]) >= 0)
    for name in ("loss", "predictions", "weight_norm", "eval_acc"):  # every extreme survives summarising
        assert np.nanmax(rows[name]) == np.nanmax(ref[name])
        assert np.nanmin(rows[name]) == np.nanmin(ref[name])
    # rows coded exact or "last" are real recorded states at their step
    samples = (kinds == EXACT) | (kinds == BUCKET_LAST)
    for name in ("loss", "predictions", "weight_norm", "eval_acc"):
        assert np.array_equal(rows[name][samples], ref[name][rows["step"][samples]], equal_nan=True)
    # each bucket's min/max are the extremes of exactly the steps it covers
    first = np.flatnonzero(kinds == BUCKET_MIN)
    assert np.array_equal(kinds[first + 1], np.full(len(first), BUCKET_MAX))
    for i in first[:: max(1, len(first) // 20)]:
        a, b = int(rows["step"][i]), int(rows["step"][i + 2])
        assert rows["loss"][i] == ref["loss"][a : b + 1].min()
        assert rows["loss"][i + 1] == ref["loss"][a : b + 1].max()
        assert np.array_equal(rows["predictions"][i + 1], ref["predictions"][a : b + 1].max(axis=0))
    spike = np.flatnonzero(rows["loss"] == 50.0)[0]
    assert kinds[spike] == BUCKET_MAX and rows["step"][spike] <= 100_000 <= rows["step"][spike + 1]


def test_rows_kept_exact_survive_and_truncate_returns_to_them() -> None:
    """Each undo entry keeps the row it returns to exact, as the session does when it pushes one."""
    history = History(Dims(2, 3, 2), recent=500, buckets=20)
    ref = _record(History(Dims(2, 3, 2)), 40_000)
    for start, stop in ((0, 1_235), (1_235, 2_001), (2_001, 40_000)):
        history.append({name: values[start:stop] for name, values in ref.items()})
        marks = [r for r in (1_234, 2_000) if r < stop]
        history.keep_exact(marks.copy)
    rows = history.to_dict()
    assert np.count_nonzero(rows[SUMMARY]) > 0
    for kept in (1_234, 2_000):
        at = np.flatnonzero(rows["step"] == kept)
        assert len(at) == 1 and rows[SUMMARY][at[0]] == EXACT
    history.truncate(2_001)  # an undo back to just after step 2000
    assert len(history) == 2_001
    assert int(history.last("step")) == 2_000
    assert np.array_equal(history.last("predictions"), ref["predictions"][2_000])
    history.truncate(1_500)  # not a kept row: the bucket the cut would split goes whole
    assert len(history) <= 1_500 and int(history.last("step")) == len(history) - 1


def test_round_trip_through_to_dict_keeps_summaries() -> None:
    history = History(Dims(2, 3, 2), recent=400, buckets=10)
    _record(history, 20_000)
    copy = History(Dims(2, 3, 2), recent=400, buckets=10)
    copy.append(history.to_dict())
    assert len(copy) == len(history) == 20_000
    for name, values in history.to_dict().items():
        assert np.array_equal(copy.to_dict()[name], values, equal_nan=True)


def test_reset_gives_memory_back() -> None:
    history = History(Dims(2, 3, 2), recent=20_000)
    _record(history, 60_000)
    grown = history.nbytes()
    history.truncate(1)
    assert len(history) == 1 and history.nbytes() < grown / 4


def test_session_undo_lands_on_exact_rows_after_summarising(
    softmax_model: Path, probe_file: Path, tmp_path: Path
) -> None:
    """Undo entries are where the history must stay exact: after a long stretch, undo still shows the
    state it returned to, checked against the model's own prediction at the restored weights."""
    from gradtui.config import LabConfig
    from gradtui.lab.export import write_history
    from gradtui.lab.session import Session

    s = Session.build(LabConfig.parse({"model": str(softmax_model), "probe": str(probe_file), "target": "class:1"}))
    s.history.recent, s.history.buckets = 60, 4
    for n in (7, 150, 3, 400, 90):
        s.step(n)
    assert s.history.summarised() > 0 and s.history.stored < 300
    assert len(s.history) == s.step_count + 1 == 651
    # exports and saved sessions say which rows are summaries
    write_history(tmp_path / "h.json", s)
    write_history(tmp_path / "h.csv", s)
    exported = json.loads((tmp_path / "h.json").read_text())
    assert exported["summary"] == s.history.column(SUMMARY).tolist() and "minimum" in exported["columns"]["summary"]
    with open(tmp_path / "h.csv") as handle:
        table = list(csv.DictReader(handle))
    assert [int(row["summary"]) for row in table] == exported["summary"]
    s.save(tmp_path / "s.npz")
    loaded = Session.load(tmp_path / "s.npz")
    assert len(loaded.history) == 651 and loaded.history.summarised() == s.history.summarised()
    for expected in (560, 160, 157, 7, 0):
        assert s.undo()
        assert s.step_count == expected == int(s.history.last("step")) == len(s.history) - 1
        fresh = s.model(s.x_probe, training=False).numpy()
        np.testing.assert_allclose(s.history.last("predictions"), fresh, rtol=1e-6, atol=1e-7)
    s.step(5)
    s.reset()
    assert len(s.history) == 1 and s.undo() and s.step_count == 5


def test_an_exact_history_keeps_every_row_in_the_room_it_reserved() -> None:
    """A headless run's history: past the bound that summarises a lab history, still every row as recorded."""
    bounded = History(Dims(2, 3, 2), recent=100, buckets=5)
    exact = History(Dims(2, 3, 2), recent=100, buckets=5, exact=True)
    exact.reserve(5_000)
    reserved = exact.nbytes()
    assert reserved == 5_000 * exact.row_bytes  # no doubling slack: the size the memory check counted
    ref = _record(exact, 5_000)
    _record(bounded, 5_000)
    assert bounded.summarised() > 0 and bounded.stored < 5_000  # the same appends, bounded
    assert exact.summarised() == 0 and exact.stored == len(exact) == 5_000 and exact.nbytes() == reserved
    rows = exact.to_dict()
    for name, values in ref.items():
        assert np.array_equal(rows[name], values, equal_nan=True), name
    picked = exact.take(np.array([0, 1_667, 4_999]))
    assert picked["step"].tolist() == [0, 1_667, 4_999]
    assert np.array_equal(picked["predictions"], ref["predictions"][[0, 1_667, 4_999]])
    # bytes per row: every column's item size times its width (step int64, summary int8, the rest float32)
    dims = Dims(2, 3, 2)
    widths = {"scalar": 1, "layer": dims.layers, "probe": dims.probes * dims.outputs}
    from gradtui.lab.history import COLUMNS

    expected = 8 + 1 + sum(4 * widths[m.kind] for name, m in COLUMNS.items() if name != "step")
    assert exact.row_bytes == expected
    assert exact.largest_column_bytes(10) == 10 * 4 * dims.probes * dims.outputs
