"""The experiment's settings, checked without TensorFlow so a bad flag is refused before the import.

- field_parsers.py: text to value for the settings that are more than a number or a choice
- fields.py: the field table (parser, help, group, choices, what a change does) and value_text
- lab_config.py: LabConfig and the settings a user's own model implies

The names below are the config's public face (`from gradtui.config import LabConfig, ConfigError`);
the bottom layer (errors, devices, catalog) holds what this package builds on.
"""

from __future__ import annotations

from gradtui.catalog import (
    BUILTIN_MODELS,
    LOSS_RULES,
    LOSSES,
    MODEL_SUFFIXES,
    MODES,
    OPTIMIZERS,
    PROBE_WORDS,
    RULES,
    SIGNS,
    WEIGHTS,
)
from gradtui.config.fields import (
    AUTO_FIELDS,
    DEFAULT_LR,
    FIELD_BY_NAME,
    FIELDS,
    Effect,
    Field,
    fields_with,
    parse_field,
    value_text,
)
from gradtui.config.lab_config import LabConfig, implied_defaults
from gradtui.devices import DEVICE_CHOICES, DEVICE_WORDS, LOGICAL_CPUS_VAR, device_list, logical_cpus, parse_device
from gradtui.errors import ConfigError, flag_of, one_line

__all__ = [
    "AUTO_FIELDS",
    "BUILTIN_MODELS",
    "DEFAULT_LR",
    "DEVICE_CHOICES",
    "DEVICE_WORDS",
    "FIELDS",
    "FIELD_BY_NAME",
    "LOGICAL_CPUS_VAR",
    "LOSSES",
    "LOSS_RULES",
    "MODEL_SUFFIXES",
    "MODES",
    "OPTIMIZERS",
    "PROBE_WORDS",
    "RULES",
    "SIGNS",
    "WEIGHTS",
    "ConfigError",
    "Effect",
    "Field",
    "LabConfig",
    "device_list",
    "fields_with",
    "flag_of",
    "implied_defaults",
    "logical_cpus",
    "one_line",
    "parse_device",
    "parse_field",
    "value_text",
]
