"""What a lab keeps when it moves on: snapshots and pins survive a switch to another model (a demo's
beats), and a session file records the preset it ran as, so a resumed lab tells its story again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gradtui.config import LabConfig
from gradtui.lab import pins
from gradtui.lab.results import LabError
from gradtui.presets import PRESET_BY_NAME


def test_snapshots_and_pins_survive_a_switch_to_another_model() -> None:
    from gradtui.lab.session import Session

    s = Session.build(PRESET_BY_NAME["example1"].config())
    s.step(3)
    s.snapshot("trained")
    trained = [v.numpy().copy() for v in s.vars]
    s.pins = (pins.make_pin(s.history, "example1", s.summary.name, s.summary.layers),)
    cnn = s.with_config(PRESET_BY_NAME["wrong-label"].config())  # the demo's wrong-label beat: a new model
    assert cnn is not s and cnn.summary.name != s.summary.name
    assert cnn.snapshot_names == ["trained"] and cnn.pins == s.pins
    assert cnn.preset == "wrong-label"
    back = cnn.restore("trained")  # it restores its own experiment, the mlp
    assert back.config == s.config and back.step_count == 3
    assert all(np.array_equal(v.numpy(), w) for v, w in zip(back.vars, trained, strict=True))
    assert back.snapshot_names == ["trained"]


def test_a_saved_session_returns_the_preset_it_ran_as_and_its_notes(tmp_path: Path) -> None:
    from gradtui.lab.session import Session

    s = Session.build(PRESET_BY_NAME["random"].config())
    assert s.preset == "random"
    s = s.with_config(PRESET_BY_NAME["random"].config().replace(lr=0.05))  # a tweak keeps its story
    assert s.preset == "random"
    s.step(2)
    s.notes.append("a note of this run")
    path = tmp_path / "six.npz"
    s.save(path)
    loaded = Session.load(path)
    assert loaded.preset == "random" and loaded.notes == s.notes
    assert loaded.with_config(PRESET_BY_NAME["example1"].config()).preset == "example1"  # in place, same mlp


def _rewrite_meta(path: Path, **changes: object) -> None:
    from gradtui.lab import session_file

    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    meta = json.loads(str(arrays["meta"]))
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    arrays["meta"] = np.asarray(json.dumps(meta))
    session_file.write(path, arrays)


def test_older_files_name_the_preset_their_config_runs_and_odd_ones_are_refused(tmp_path: Path) -> None:
    from gradtui.lab.session import Session

    s = Session.build(PRESET_BY_NAME["example1"].config(LabConfig(device="cpu")))
    path = tmp_path / "one.npz"
    s.save(path)
    _rewrite_meta(path, preset=None)  # saved before the name was kept: its config is exactly example 1's
    assert Session.load(path).preset == "example1"
    _rewrite_meta(path, preset="from-a-newer-gradtui")  # a name this version does not know: no story
    assert Session.load(path).preset == ""
    _rewrite_meta(path, preset=["not", "a", "name"])
    with pytest.raises(LabError, match="preset is list, not a name"):
        Session.load(path)


def test_a_second_snapshot_at_the_same_step_count_keeps_the_first() -> None:
    """Found in tmux: `s` at step 10 of example1, preset 6, ten steps, `s` again: the second `step-10`
    silently replaced the first, and example1's weights were gone from the list."""
    from gradtui.lab.session import Session

    s = Session.build(PRESET_BY_NAME["example1"].config())
    s.step(10)
    assert s.snapshot() == "step-10"
    first = [v.numpy().copy() for v in s.vars]
    control = s.with_config(PRESET_BY_NAME["random"].config())
    control.reset()  # as the lab's preset key does: the new experiment from step 0
    control.step(10)
    assert control.snapshot() == "step-10 (2)"
    assert control.snapshot() == "step-10 (3)"  # pressed again: a copy, never a silent replacement
    assert control.snapshot("mine") == "mine" and control.snapshot("mine") == "mine"  # a given name replaces
    assert control.snapshot_names == ["step-10", "step-10 (2)", "step-10 (3)", "mine"]
    back = control.restore("step-10")
    assert back.config == s.config and back.step_count == 10
    assert all(np.array_equal(v.numpy(), w) for v, w in zip(back.vars, first, strict=True))


def test_the_fake_engine_names_snapshots_as_the_real_one_does() -> None:
    from gradtui.tui.engine.fake import FakeSessions

    session = FakeSessions().build(LabConfig())
    session.step(2)
    assert [session.snapshot(), session.snapshot(), session.snapshot("x")] == ["step-2", "step-2 (2)", "x"]
