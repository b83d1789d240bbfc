"""Each preset's story names the settings it runs with: a learning rate or a label it quotes is the one
the preset sets (example 2's said "whatever the learning rate" while running at 0.001)."""

from __future__ import annotations

import re

from gradtui.lab.shapes import CLASS_NAMES
from gradtui.presets import PRESET_BY_NAME, PRESETS


def test_a_quoted_learning_rate_or_label_is_the_presets_own() -> None:
    quoted = 0
    for preset in PRESETS:
        config = preset.config()
        for rate in re.findall(r"learning rate of ([0-9.]+)", preset.story):
            assert float(rate) == config.lr, preset.name
            quoted += 1
        for label, name in re.findall(r"label (\d+) \((\w+)\)", preset.story):
            assert int(label) == config.label and CLASS_NAMES[int(label)] == name, preset.name
            quoted += 1
    assert quoted >= 2  # example 2's rate and wrong-label's label are quoted


def test_example2_no_longer_claims_any_rate_without_naming_its_own() -> None:
    story = PRESET_BY_NAME["example2"].story
    assert "whatever the learning rate" not in story and "0.001" in story


def test_the_why_stories_are_told_by_the_presets_and_the_demo() -> None:
    """Preset 5 sends the reader to the Why tab (the mislabelled row), preset 1 to its probe-by-probe
    matrix, and the shipped demo has a beat for each and one for the preview."""
    from pathlib import Path

    from gradtui.tui.demo import load_script

    assert "Why tab" in PRESET_BY_NAME["wrong-label"].story and "mislabelled" in PRESET_BY_NAME["wrong-label"].story
    assert "probe-by-probe matrix" in PRESET_BY_NAME["example1"].story
    beats = load_script(str(Path(__file__).resolve().parents[1] / "assets" / "demo.txt"))
    commands = [[(c.verb, c.arg) for c in beat.commands] for beat in beats]
    flat = [c for beat in commands for c in beat]
    wrong = flat.index(("preset", "wrong-label"))
    assert ("tab", "Why") in flat[wrong:] and ("preview", "") in flat[wrong:]
    matrix_beat = next(
        i for i, beat in enumerate(commands) if ("preset", "example1") in beat and ("tab", "Why") in beat
    )
    assert ("set", "n_probe=4") in commands[matrix_beat + 1]  # four probes: a 4x4 matrix
    assert flat.index(("tab", "Why")) > wrong
