"""The flags behind fit semantics: what they default to, what the run says, and what the table shows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gradtui.cli import build_parser, config_from
from gradtui.config import LabConfig
from gradtui.errors import ConfigError

from .helpers import Run, assert_refused


def _config(*argv: str) -> LabConfig:
    return config_from(build_parser().parse_args(list(argv)))


def test_own_model_with_data_opens_on_a_rule_that_moves_it(files: Path) -> None:
    model, data = str(files / "softmax3.keras"), str(files / "classes3.npz")
    opened = _config("--model", model, "--data", data)
    assert (opened.rule, opened.probe) == ("batch-loss", "heldout")
    assert _config("--model", model, "--data", data, "--target", "class:1").rule == "prediction"
    assert _config("--model", model, "--data", data, "--sign", "ascend").rule == "prediction"
    assert _config("--model", model, "--data", data, "--label", "2").rule == "example-loss"
    assert _config("--model", model, "--data", data, "--rule", "random").rule == "random"
    assert _config("--model", model, "--data", data, "--probe", "random").probe == "random"
    assert _config("--model", model).rule == "prediction"  # no data: nothing to train on
    assert _config("--preset", "example1").rule == "prediction"


def test_new_fields_parse_and_refuse() -> None:
    config = LabConfig.parse({"holdout": "0.25", "eval_max": "500", "mode": "train", "momentum": "0.5"})
    assert (config.holdout, config.eval_max, config.mode, config.momentum) == (0.25, 500, "train", 0.5)
    assert LabConfig().holdout == 0.0 and LabConfig().eval_max is None and LabConfig().mode == "auto"
    assert LabConfig.from_dict(config.to_dict()) == config
    for field, value in (
        ("holdout", "1.5"),
        ("holdout", "-0.1"),
        ("mode", "eval"),
        ("momentum", "1"),
        ("eval_max", "-3"),
    ):
        with pytest.raises(ConfigError) as err:
            LabConfig.parse({field: value})
        assert err.value.field == field


def test_effective_mode_follows_the_rule() -> None:
    assert LabConfig.parse({"rule": "batch-loss"}).effective_mode == "train"
    assert LabConfig.parse({"rule": "example-loss", "label": "1"}).effective_mode == "train"
    assert LabConfig.parse({"rule": "prediction"}).effective_mode == "infer"
    assert LabConfig.parse({"rule": "random"}).effective_mode == "infer"
    assert LabConfig.parse({"rule": "prediction", "mode": "train"}).effective_mode == "train"
    assert LabConfig.parse({"rule": "batch-loss", "mode": "infer"}).effective_mode == "infer"


def test_holdout_is_refused_where_a_test_set_exists(run_cli: Run, tmp_path: Path) -> None:
    x = np.zeros((20, 5), np.float32)
    np.savez(tmp_path / "with_test.npz", x_train=x, y_train=np.zeros(20), x_test=x, y_test=np.zeros(20))
    code, out, err = run_cli("run", "--data", str(tmp_path / "with_test.npz"), "--holdout", "0.2", "--steps", "1")
    assert_refused(code, out, err, "--holdout", "has x_test")
    code, out, err = run_cli("run", "--holdout", "0.2", "--steps", "1")
    assert_refused(code, out, err, "--holdout", "built-in data set")
    code, out, err = run_cli("run", "--optimizer", "adam", "--momentum", "0.5", "--steps", "1")
    assert_refused(code, out, err, "--momentum", "only the momentum and nesterov optimizers")


def test_run_says_mode_and_data_and_its_table_falls_on_evaluations(run_cli: Run, tmp_path: Path) -> None:
    out = tmp_path / "h.json"
    code, text, err = run_cli(
        "run", "--rule", "batch-loss", "--steps", "10", "--eval-every", "5", "--rows", "11", "--out", str(out)
    )
    assert code == 0, err
    lines = text.splitlines()
    assert "mode train" in lines[0]
    assert "generated teacher data: 500 rows trained, 500 held out, all evaluated" in text
    header = next(i for i, line in enumerate(lines) if line.split()[:1] == ["step"])
    assert "acc change" in lines[header] and "drawdown" not in lines[header]
    table = [line.split() for line in lines[header + 1 :] if line.split() and line.split()[0].isdigit()]
    rows = {int(row[0]): row for row in table}
    assert sorted(rows) == [0, 5, 10] and all(row[-2] != "-" for row in table)  # the evaluated steps
    data = json.loads(out.read_text())
    assert data["model"]["mode"] == "train"
    assert "acc_change" in data and "drawdown" not in data
    change = np.array([np.nan if v is None else v for v in data["acc_change"]])
    acc = np.array([np.nan if v is None else v for v in data["eval_acc"]])
    np.testing.assert_allclose(change[[0, 5, 10]], acc[[0, 5, 10]] - acc[0], atol=1e-6)  # + when accuracy rises
    assert acc[10] > acc[0] and change[10] > 0 and change[0] == 0
