"""Pinned reference runs: labels, bounds, the session-file section (no TensorFlow needed)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradtui.config import LabConfig
from gradtui.lab import pins
from gradtui.lab.history import Dims, History
from gradtui.presets import PRESET_BY_NAME


def run(steps: int, outputs: int = 1, layers: int = 2, start: float = 0.5) -> History:
    history = History(Dims(1, outputs, layers))
    step = np.arange(steps + 1)
    history.append(
        {
            "step": step,
            "predictions": (start - 0.001 * step)[:, None, None] * np.ones((1, 1, outputs)),
            "weight_norm": np.ones((steps + 1, layers)),
            "grad_norm": np.full((steps + 1, layers), 0.1),
        }
    )
    return history


def test_a_pin_is_named_after_its_preset_or_else_its_settings() -> None:
    assert pins.label_for(PRESET_BY_NAME["random"].config()) == "random"
    assert pins.label_for(PRESET_BY_NAME["example1"].config(LabConfig(device="cpu"))) == "example1"
    changed = PRESET_BY_NAME["example1"].config().replace(lr=0.5)
    assert pins.label_for(changed) == "mlp prediction sum sgd lr=0.5"


def test_a_pin_is_a_read_only_copy_that_later_steps_do_not_change() -> None:
    history = run(10)
    pin = pins.make_pin(history, "example1", "mlp", ("hidden", "output"))
    history.append({"step": np.array([11]), "predictions": np.zeros((1, 1, 1))})
    assert pin.steps == 10 and len(pin.columns["step"]) == 11
    with pytest.raises(ValueError, match="read-only"):
        pin.columns["predictions"][0, 0, 0] = 1.0
    assert pin.layer_rows("output", "grad_norm") is not None and pin.layer_rows("conv", "grad_norm") is None


def test_a_long_run_is_thinned_to_a_bounded_pin_keeping_both_ends() -> None:
    pin = pins.make_pin(run(pins.PIN_ROWS * 3), "long", "mlp", ("a", "b"))
    steps = pin.columns["step"]
    assert len(steps) == pins.PIN_ROWS and steps[0] == 0 and steps[-1] == pins.PIN_ROWS * 3


def test_at_most_three_pins_the_oldest_dropped_and_a_same_name_replaced() -> None:
    held: tuple[pins.Pin, ...] = ()
    for name in ("a", "b", "c", "d"):
        held = pins.added(held, pins.make_pin(run(3), name, "mlp", ("x", "y")))
    assert [p.label for p in held] == ["b", "c", "d"]
    held = pins.added(held, pins.make_pin(run(5), "c", "mlp", ("x", "y")))
    assert [p.label for p in held] == ["b", "d", "c"] and held[-1].steps == 5


def test_pins_survive_an_npz_round_trip_exactly() -> None:
    made = (
        pins.make_pin(run(7), "example1", "mlp", ("hidden", "output")),
        pins.make_pin(run(4, outputs=6, layers=3), "example2-class", "cnn", ("c1", "c2", "d")),
    )
    buffer = io.BytesIO()
    arrays: dict[str, Any] = pins.to_arrays(made)  # numpy's stub reads ** as its bool flag
    np.savez_compressed(buffer, **arrays)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as npz:
        back = pins.from_arrays({k: npz[k] for k in npz.files}, json.loads(json.dumps(pins.describe(made))))
    assert [(p.label, p.model, p.layers, p.outputs) for p in back] == [
        (p.label, p.model, p.layers, p.outputs) for p in made
    ]
    for a, b in zip(made, back, strict=True):
        assert a.columns.keys() == b.columns.keys()
        for name in a.columns:
            np.testing.assert_array_equal(a.columns[name], b.columns[name])
    assert pins.from_arrays({}, None) == ()
    assert all(pins.is_pin_key(key) for key in pins.to_arrays(made)) and not pins.is_pin_key("pins/3/step")


def test_a_malformed_pin_section_is_an_error_not_a_crash() -> None:
    made = (pins.make_pin(run(3), "a", "mlp", ("x", "y")),)
    arrays = pins.to_arrays(made)
    arrays["pins/0/predictions"] = arrays["pins/0/predictions"][:2]
    with pytest.raises(ValueError, match="different lengths"):
        pins.from_arrays(arrays, pins.describe(made))
    with pytest.raises(ValueError, match="malformed"):
        pins.from_arrays(pins.to_arrays(made), [{"label": "a"}])


def test_a_saved_session_carries_its_pins_and_an_old_file_has_none(tmp_path: Path) -> None:
    from gradtui.lab.session import Session

    session = Session.build(PRESET_BY_NAME["example1"].config(LabConfig(device="cpu")))
    session.step(4)
    pinned = pins.make_pin(session.history, "example1", session.summary.name, session.summary.layers)
    session.pins = (pinned,)
    session.save(tmp_path / "with.npz")
    back = Session.load(tmp_path / "with.npz")
    assert [p.label for p in back.pins] == ["example1"] and back.pins[0].layers == session.summary.layers
    np.testing.assert_array_equal(back.pins[0].columns["predictions"], session.history.column("predictions"))
    session.pins = ()
    session.save(tmp_path / "without.npz")
    assert Session.load(tmp_path / "without.npz").pins == ()
