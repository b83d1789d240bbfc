"""A trusted model file is loaded through the one file whose trust was checked: a symlink swapped to
another file between the check and the load is not followed."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradtui import trust
from gradtui.config import LabConfig


def test_a_symlink_swapped_after_the_trust_check_is_not_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gradtui.lab import models
    from gradtui.lab.runtime import keras

    trusted_file, other_file = tmp_path / "mine.keras", tmp_path / "theirs.keras"
    keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)], name="mine").save(trusted_file)
    keras.Sequential([keras.Input((5,)), keras.layers.Dense(2)], name="theirs").save(other_file)
    link = tmp_path / "model.keras"
    link.symlink_to(trusted_file)
    trust.grant(link)  # the person trusted the file the link named: mine.keras

    real_check = trust.is_trusted

    def check_then_swap(path: str | Path) -> bool:
        answer = real_check(path)
        link.unlink()
        link.symlink_to(other_file)  # the attacker's swap, right after the check
        return answer

    monkeypatch.setattr(trust, "is_trusted", check_then_swap)
    loaded = models.load_model(LabConfig.parse({"model": str(link), "probe": "random"}))
    assert loaded.model.name == "mine"
    assert int(loaded.model.output_shape[-1]) == 1


def test_errors_name_the_file_as_given(tmp_path: Path) -> None:
    from gradtui.config import ConfigError
    from gradtui.lab import models

    bad = tmp_path / "bad.keras"
    bad.write_text("not a model")
    with pytest.raises(ConfigError) as caught:
        models.load_model(LabConfig.parse({"model": str(bad)}))
    assert str(bad) in str(caught.value) and "gradtui-model-" not in str(caught.value)
