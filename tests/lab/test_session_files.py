"""Snapshots carry their experiment: they save, reopen and restore across presets, all or nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradtui.config import LabConfig
from gradtui.presets import PRESET_BY_KEY

pytestmark = pytest.mark.compat  # session files saved and reopened by this Keras and NumPy


def _weights(session: Any) -> list[np.ndarray]:
    return [v.numpy().copy() for v in session.vars]


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.fixture
def two_presets(tmp_path: Path) -> tuple[Any, ...]:
    """The issue's path: preset 6 (sgd), two steps, a snapshot; preset 4 (adam) in place, three steps, a snapshot."""
    from gradtui.lab.session import Session

    six = PRESET_BY_KEY["6"].config(LabConfig())
    four = PRESET_BY_KEY["4"].config(LabConfig())
    s = Session.build(six)
    s.step(2)
    s.snapshot("six")
    at_six = _weights(s)
    s = s.with_config(four)
    s.step(3)
    s.snapshot("four")
    at_four = _weights(s)
    return s, six, four, at_six, at_four


def test_restoring_a_snapshot_of_another_preset_switches_to_its_experiment(two_presets: tuple[Any, ...]) -> None:
    s, six, four, at_six, at_four = two_presets
    assert s.config == four and s.snapshot_config("six") == six
    back = s.restore("six")  # sgd's state into an adam session failed part way before
    assert back is not s and back.config == six
    assert back.step_count == 2 and _same(_weights(back), at_six)
    assert back.snapshot_names == ["six", "four"]
    again = back.restore("four")
    assert again.config == four and again.step_count == 5 and _same(_weights(again), at_four)


def test_a_session_with_snapshots_of_two_presets_saves_and_reopens(
    two_presets: tuple[Any, ...], tmp_path: Path
) -> None:
    from gradtui.lab.session import Session

    s, six, four, at_six, _ = two_presets
    s.step(1)
    path = tmp_path / "two.npz"
    s.save(path)
    loaded = Session.load(path)
    assert loaded.config == four and loaded.step_count == 6
    assert loaded.snapshot_names == ["six", "four"] and loaded.snapshot_config("six") == six
    back = loaded.restore("six")
    assert back.config == six and back.step_count == 2 and _same(_weights(back), at_six)
    back.save(path)  # and the file written from the switched session reopens too
    assert Session.load(path).config == six


def test_a_restore_that_does_not_fit_changes_nothing(tmp_path: Path) -> None:
    from gradtui.lab.results import LabError
    from gradtui.lab.session import Session

    s = Session.build(LabConfig())
    s.step(2)
    s.snapshot("a")
    s.step(3)
    before = _weights(s)
    s.timeline.snapshots["a"].weights[-1] = np.zeros((7, 7), np.float32)  # a damaged last array
    with pytest.raises(LabError, match="does not fit"):
        s.restore("a")
    assert s.step_count == 5 and _same(_weights(s), before)  # the first arrays were not written either


def test_version_1_files_still_open(tmp_path: Path) -> None:
    """A version-1 file has the same arrays and lists snapshot names only (all of its own experiment)."""
    from gradtui.lab import session_file
    from gradtui.lab.session import Session

    s = Session.build(LabConfig())
    s.step(2)
    s.snapshot("two")
    s.step(1)
    arrays = session_file.pack(s)
    meta = json.loads(str(arrays["meta"]))
    arrays["meta"] = np.asarray(
        json.dumps({"format": "gradtui-session/1", "config": meta["config"], "snapshots": ["two"], "notes": []})
    )
    for key in [k for k in arrays if k.endswith("/h/summary")]:
        del arrays[key]  # version 1 had no summary column
    path = tmp_path / "v1.npz"
    session_file.write(path, arrays)
    loaded = Session.load(path)
    assert loaded.step_count == 3 and loaded.snapshot_names == ["two"] and len(loaded.history) == 4
    assert loaded.restore("two") is loaded and loaded.step_count == 2


def test_a_session_goes_to_a_record_and_back() -> None:
    """The file format sees a SessionRecord: what to_record gives, from_record rebuilds, pack writes."""
    from gradtui.lab import session_file
    from gradtui.lab.session import Session

    s = Session.build(LabConfig())
    s.step(2)
    s.snapshot("two")
    s.step(1)
    record = s.to_record()
    assert record.config == s.config and record.current.step == 3 and list(record.snapshots) == ["two"]
    assert record.notes == s.notes and record.notes is not s.notes
    again = Session.from_record(record)
    assert again is not s and again.step_count == 3 and again.snapshot_names == ["two"]
    assert _same(_weights(again), _weights(s)) and len(again.history) == len(s.history) == 4
    assert again.restore("two") is again and again.step_count == 2
    assert sorted(session_file.pack(record)) == sorted(session_file.pack(s))  # a session gives its record


def test_a_record_that_does_not_fit_names_its_source() -> None:
    from gradtui.lab.results import LabError
    from gradtui.lab.session import Session

    record = Session.build(LabConfig()).to_record()
    record.current.weights[0] = np.zeros((7, 7), np.float32)
    with pytest.raises(LabError, match=r"^shared\.npz does not fit the model it names"):
        Session.from_record(record, "shared.npz")
