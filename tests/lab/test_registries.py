"""The TensorFlow-free catalog and the lab's TensorFlow tables name the same rules and optimizers,
and what the catalog says a rule needs is what the lab enforces."""

from __future__ import annotations

import pytest

from gradtui import catalog
from gradtui.config import LabConfig
from gradtui.errors import ConfigError


def test_the_rules_of_the_lab_are_the_rules_of_the_catalog() -> None:
    from gradtui.lab import rules

    assert tuple(rule.name for rule in rules.RULES) == catalog.RULES
    for rule in rules.RULES:
        assert rule.spec is catalog.RULE_BY_NAME[rule.name]


def test_the_optimizers_of_the_lab_are_the_optimizers_of_the_catalog() -> None:
    """Each catalog name builds its Keras class with the catalog's arguments (momentum from --momentum)."""
    from gradtui.lab.optimizers import KERAS_CLASS, make_optimizer
    from gradtui.lab.runtime import keras

    assert tuple(KERAS_CLASS) == catalog.OPTIMIZERS
    for spec in catalog.OPTIMIZER_SPECS:
        optimizer = make_optimizer(LabConfig(optimizer=spec.name, momentum=0.5, lr=0.25))
        assert type(optimizer) is getattr(keras.optimizers, KERAS_CLASS[spec.name])
        settings = optimizer.get_config()
        assert settings["learning_rate"] == pytest.approx(0.25)
        for key, value in spec.arguments.items():
            assert settings[key] == pytest.approx(0.5 if key == "momentum" else value), (spec.name, key)


@pytest.mark.parametrize("spec", catalog.RULE_SPECS, ids=lambda spec: spec.name)
def test_what_a_rule_needs_is_refused_without_it(spec: catalog.RuleSpec) -> None:
    from gradtui.lab import rules

    if spec.needs_label:
        with pytest.raises(ConfigError, match="--label"):
            LabConfig.parse({"rule": spec.name})
    config = LabConfig.parse({"rule": spec.name, "label": 0})
    if spec.needs_data:
        with pytest.raises(ConfigError, match="needs a data set"):
            rules.check_data(config, has_data=False)
    else:
        rules.check_data(config, has_data=False)
    assert (config.effective_mode == "train") is spec.is_loss


def test_the_rule_notes_are_keyed_by_catalog_names() -> None:
    from gradtui.lab import explain

    assert set(explain.RULE_NOTES) <= set(catalog.RULES)
