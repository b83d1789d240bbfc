"""LabConfig is the one gate for flags and form fields: anything is accepted or refused in one line."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradtui.config import FIELDS, LabConfig
from gradtui.errors import ConfigError

NAMES = [f.name for f in FIELDS]

# Text a user could type: numbers of every kind, words from the choice lists, paths, junk.
WORDS = sorted(
    {w for f in FIELDS for w in f.choices}
    | {"class:1", "class:-1", "class:x", "nan", "inf", "-inf", "1e400", "0x10", "1_000", " 3 ", "", "none", "auto"}
)
VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(WORDS),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.booleans(),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=4))
def test_any_values_are_accepted_or_refused_with_a_message(values: dict[str, object]) -> None:
    try:
        config = LabConfig.parse(values)
    except ConfigError as err:
        text = str(err)
        assert err.field in NAMES
        assert text.startswith(f"--{err.field.replace('_', '-')}: ")
        assert "\n" not in text and len(text) < 400
        return
    # accepted: a complete config whose numbers are finite and in range, and that round-trips
    assert config.lr is None or (math.isfinite(config.lr) and config.lr > 0)  # None: auto
    assert config.effective_batch_size >= 1 and config.steps >= 1 and config.eval_every >= 1
    assert LabConfig.from_dict(config.to_dict()) == config


@given(st.text(min_size=1, max_size=20).filter(lambda s: s.replace("_", "-") not in NAMES))
def test_unknown_setting_names_are_refused(name: str) -> None:
    if name in NAMES:
        return
    with pytest.raises(ConfigError):
        LabConfig.parse({name: "1"})


@pytest.mark.parametrize(
    ("field", "value", "piece"),
    [
        ("lr", "nan", "lr"),
        ("lr", "inf", "lr"),
        ("lr", "0", "lr"),
        ("lr", "fast", "lr"),
        ("batch_size", "0", "batch-size"),
        ("steps", "2.5", "steps"),
        ("optimizer", "adamw", "optimizer"),
        ("target", "class:x", "target"),
        ("model", "/no/such/model.keras", "model"),
        ("probe", "/no/such/probe.npy", "probe"),
        ("device", "tpu", "device"),
    ],
)
def test_refusals_name_the_flag(field: str, value: str, piece: str) -> None:
    base = LabConfig()
    with pytest.raises(ConfigError) as caught:
        LabConfig.parse({field: value}, base)
    assert str(caught.value).startswith(f"--{piece}: ")
    assert base == LabConfig()  # the base it was parsed against is untouched


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("auto", "auto"),
        ("ALL", "all"),
        (" gpu:1 ", "gpu:1"),
        ("cpu:0, cpu:1", "cpu:0,cpu:1"),
        ("gpu,gpu:1", "gpu:0,gpu:1"),
        ("gpu:1,gpu:0", "gpu:1,gpu:0"),
    ],
)
def test_device_lists_are_normalised(text: str, parsed: str) -> None:
    assert LabConfig.parse({"device": text}).device == parsed


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("tpu:0,tpu:1", "unknown device 'tpu:0'"),
        ("gpu:0,,gpu:1", "separated by commas"),
        ("cpu:0,gpu:0", "mixes CPU and GPU"),
        ("gpu:0,gpu:0", "gpu:0 is listed twice"),
        ("gpu:0,gpu:x", "whole number"),
    ],
)
def test_bad_device_lists_are_one_line(text: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        LabConfig.parse({"device": text})
    assert str(caught.value).startswith("--device: ")
    assert reason in str(caught.value)


def test_the_field_table_has_one_entry_and_one_effect_per_setting() -> None:
    """Every LabConfig attribute is a field of the table, so every setting says what a change of it does."""
    import dataclasses
    import typing

    from gradtui.config import fields_with
    from gradtui.config.fields import Effect

    assert [f.name for f in dataclasses.fields(LabConfig)] == NAMES
    effects = typing.get_args(Effect)
    groups = [fields_with(effect) for effect in effects]
    assert sorted(name for group in groups for name in group) == sorted(NAMES)  # each field in exactly one
    assert set(fields_with("live")) == {"lr", "sign", "steps"}  # the step graph reads these from variables


def test_the_fixed_choices_are_the_literal_types_of_the_config() -> None:
    """A choice field offers exactly the values its LabConfig attribute's Literal type allows."""
    import typing

    from gradtui.config import FIELD_BY_NAME

    hints = typing.get_type_hints(LabConfig)
    for name in ("weights", "rule", "sign", "loss", "mode", "optimizer"):
        assert FIELD_BY_NAME[name].choices == typing.get_args(hints[name]), name
        for value in typing.get_args(hints[name]):
            assert getattr(LabConfig.parse({name: value, "label": 0}), name) == value


def test_every_value_goes_to_text_and_back_to_itself() -> None:
    """value_text is the one value-to-text function: the form, the CLI's defaults and saved configs use it."""
    from gradtui.config import parse_field, value_text

    config = LabConfig(input_shape=(40, 48, 3), label=2, clipnorm=1.5, eval_max=30, new_head=True, model="cnn")
    for name in NAMES:
        value = getattr(config, name)
        assert config.as_text(name) == value_text(value, name)
        assert parse_field(name, value_text(value, name)) == value, name
        assert parse_field(name, value) == value, name  # an already-typed value goes through the same text


def test_a_refusal_keeps_its_cause_and_still_shows_one_line() -> None:
    """`raise ... from err`: the parser's error is the cause (the log shows it); the user sees one line."""
    from gradtui.errors import first_line

    with pytest.raises(ConfigError) as caught:
        LabConfig.parse({"lr": "fast\nand\tloose"})
    err = caught.value
    assert isinstance(err.__cause__, ValueError)
    assert "\n" not in first_line(err) and first_line(err).startswith("--lr: expected a number")
