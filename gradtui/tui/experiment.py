"""What the top lines call the experiment on screen: its preset's title and story, or its settings.

At 80x24 the story line is the only place that says what the plots show, so it always starts with the
experiment's name: the preset's `N. Title` when the settings are exactly a preset's, else
`model · rule · optimizer lr` (with the preset it was started from, whose story still applies).
"""

from __future__ import annotations

from pathlib import Path

from gradtui.config import LabConfig
from gradtui.presets import Preset, matching, settled

# a one-line story for settings that are no preset's: what the tape differentiates
RULE_STORIES = {
    "prediction": "The tape differentiates the probe's prediction ({target}) and the optimizer {sign}s it.",
    "example-loss": "The loss of the probe with label {label}: one example trained on, again and again.",
    "batch-loss": "The loss on labelled minibatches: a training loop.",
    "random": "A random direction scaled to the prediction gradient's norm: the control.",
}


def preset_title(preset: Preset) -> str:
    return f"{preset.key}. {preset.title}"


def settings_title(config: LabConfig) -> str:
    """`mlp · prediction · sgd 0.1`: the model (a file by its name), the rule, the optimizer and its rate
    (`optimizer auto, lr auto` for a model file's own compile settings)."""
    model = Path(config.model).name if config.model not in ("mlp", "cnn") else config.model
    shown = settled(config)  # a built-in model's autos as they run; a model file's say auto
    optimizer, lr = shown.optimizer, shown.as_text("lr")
    if "auto" in (optimizer, lr):  # named, or a model file's title ends in a bare `auto auto`
        return f"{model} · {config.rule} · optimizer {optimizer}, lr {lr}"
    return f"{model} · {config.rule} · {optimizer} {lr}"


def heading(config: LabConfig, started_as: Preset | None) -> tuple[str, str, Preset | None]:
    """(title, story, preset) for `config`: the preset it runs exactly, else its settings and the story of
    the preset it was started as (None: no preset; the rule's own story)."""
    exact = matching(config)
    if exact is not None:
        return preset_title(exact), exact.story, exact
    title = settings_title(config)
    if started_as is not None:
        return f"{title} (preset {started_as.key}, changed)", started_as.story, started_as
    story = RULE_STORIES.get(config.rule, "").format(target=config.target, sign=config.sign, label=config.label)
    return title, story, None
