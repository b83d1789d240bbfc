"""The article's experiments (and their controls) as named LabConfig overrides, one key each.

Shared by `gradtui --preset`, `gradtui run --preset`, the TUI's 1-6 keys and demo scripts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from gradtui.config import DEFAULT_LR, LabConfig


@dataclass(frozen=True)
class Preset:
    key: str  # the key that selects it in the TUI
    name: str  # the name for --preset and demo scripts
    title: str
    story: str  # what to watch for, shown when the preset is chosen
    settings: dict[str, Any]

    def config(self, base: LabConfig | None = None) -> LabConfig:
        """The preset on top of the defaults (not on top of `base`'s other settings), keeping base's device."""
        device = base.device if base is not None else "auto"
        return LabConfig.parse({**self.settings, "device": device})


PRESETS: tuple[Preset, ...] = (
    Preset(
        "1",
        "example1",
        "Article example 1: gradient of the prediction, SGD",
        "Dense(10,relu)->Dense(1,sigmoid). The tape differentiates the prediction itself and "
        "apply_gradients descends it: the probe's prediction falls towards 0 a little each step. "
        "As in the article, except that the weights and the normal probe are seeded. Why the other probes "
        "follow: w opens the Why tab, whose probe-by-probe matrix says how far pushing probe j moves probe i "
        "(with n_probe 4 in the form, four probes; j cycles them).",
        {"model": "mlp", "rule": "prediction", "target": "sum", "sign": "descend", "optimizer": "sgd", "lr": 0.1},
    ),
    Preset(
        "2",
        "example2",
        "Article example 2: pre-trained CNN, new softmax head, gradient of the prediction",
        "The gradient of a softmax vector's sum is exactly zero: the outputs always sum to 1, so "
        "no weight can change that sum. Nothing moves at this preset's learning rate of 0.001, nor at 1000 "
        "times it (lr 1): a step is the rate times a gradient that is zero. Departures from the "
        "article: the shipped 16x16 shapes CNN stands in for VGG16 on imagenet (it works offline in "
        "seconds); the normal-noise probe lies far outside the 0..1 images the CNN learned, so it drives "
        "the features about 4x harder than a real image and the fresh head is already ~99.99% on one class.",
        {
            "model": "cnn",
            "new_head": True,
            "rule": "prediction",
            "target": "sum",
            "sign": "descend",
            "optimizer": "sgd",
            "lr": 0.001,
            "probe": "random",
        },
    ),
    Preset(
        "3",
        "example2-class",
        "Example 2 with a class target: the argmax flips",
        "Differentiate only the predicted class's probability and descend: within two steps another "
        "class overtakes it and the argmax flips; the new winner is then pushed down in turn, and "
        "held-out accuracy pays for every flip. Departures from example 2: the CNN keeps its own trained "
        "classifier (no new head), so its argmax means a shape; the probe is a held-out image, not noise.",
        {
            "model": "cnn",
            "rule": "prediction",
            "target": "argmax",
            "sign": "descend",
            "optimizer": "sgd",
            "lr": 0.01,
            "probe": "heldout",
            "eval_every": 1,
        },
    ),
    Preset(
        "4",
        "example3",
        "Article example 3: a real training loop (loss, labels, Adam)",
        "Binary cross-entropy on labelled minibatches with Adam: the loss falls and held-out "
        "accuracy rises. This is what gradients are for. Departures from the article: the labels come "
        "from a fixed linear teacher instead of coin flips, so held-out accuracy can mean something; there "
        "are 500 training rows in 5 reshuffled batches of 100 per epoch instead of one batch of 100; and a "
        "separate 500-row held-out set is measured.",
        {"model": "mlp", "rule": "batch-loss", "optimizer": "adam", "lr": 0.01, "batch_size": 100},
    ),
    Preset(
        "5",
        "wrong-label",
        "One example, the wrong label: held-out accuracy falls",
        "Train the pre-trained CNN on one held-out image (a vline) with the wrong label 0 (hline). "
        "The probe flips to that label in two steps; held-out accuracy keeps drawing down as the "
        "model learns the mistake. w opens the Why tab: the one row this rule trains on, the mislabelled "
        "image, is what pushes the vline output down, step after step (v previews the next step).",
        {
            "model": "cnn",
            "rule": "example-loss",
            "label": 0,
            "probe": "heldout",
            "optimizer": "sgd",
            "lr": 0.002,
            "eval_every": 1,
        },
    ),
    Preset(
        "6",
        "random",
        "Control: a random direction of the same size",
        "A random update scaled to the prediction gradient's norm. Compare with example 1: the "
        "probe barely moves, because almost every direction is nearly orthogonal to the gradient.",
        {"model": "mlp", "rule": "random", "optimizer": "sgd", "lr": 0.1},
    ),
)
PRESET_BY_NAME = {p.name: p for p in PRESETS}
PRESET_BY_KEY = {p.key: p for p in PRESETS}


def settled(config: LabConfig) -> LabConfig:
    """`config` with the autos a built-in model settles to (sgd, DEFAULT_LR, the batch size it runs):
    a plain start runs example 1 exactly. A model file's autos come from its compile config: kept."""
    if config.is_user_model:
        return config
    return dataclasses.replace(
        config,
        optimizer="sgd" if config.optimizer == "auto" else config.optimizer,
        lr=DEFAULT_LR if config.lr is None else config.lr,
        batch_size=config.effective_batch_size,
    )


def matching(config: LabConfig) -> Preset | None:
    """The preset whose settings `config` runs exactly (its device aside, autos settled), or None."""
    mine = settled(config)
    return next((preset for preset in PRESETS if settled(preset.config(config)) == mine), None)


def preset_name(config: LabConfig) -> str:
    """The name of the preset `config` runs exactly, or ""."""
    preset = matching(config)
    return preset.name if preset else ""


def find_preset(name: str) -> Preset:
    """A preset by name or key; ValueError naming the choices if there is none."""
    preset = PRESET_BY_NAME.get(name) or PRESET_BY_KEY.get(name)
    if preset is None:
        raise ValueError(f"unknown preset {name!r} (choose from {', '.join(PRESET_BY_NAME)})")
    return preset
