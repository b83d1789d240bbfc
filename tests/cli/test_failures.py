"""Failures: models that will not load, devices that do not exist, imagenet offline, divergence,
an engine error mid-run. Each is one line and the documented exit code; nothing recorded is lost."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .helpers import Run, assert_refused

# Files that are the user's model but cannot be loaded: bad input (exit 2) naming --model.
UNLOADABLE = [
    ("truncated.keras", "damaged or cut off"),
    ("no_config.keras", "config.json"),
    ("unknown_layer.keras", "Could not locate class 'NoSuchLayer'"),
    ("not_a_model.h5", "could not load"),
    ("broken_savedmodel", "broken_savedmodel"),
]


@pytest.mark.parametrize(("name", "reason"), UNLOADABLE, ids=[u[0] for u in UNLOADABLE])
def test_unloadable_model_is_one_line(run_cli: Run, files: Path, name: str, reason: str) -> None:
    trusted = ["--trust-model"]  # so what is wrong with the file itself is what is reported
    code, out, err = run_cli("run", "--steps", "1", "--quiet", "--model", str(files / name), *trusted)
    assert_refused(code, out, err, "--model", reason)
    assert "--trust-model" not in err
    assert out == ""


def test_device_that_does_not_exist(run_cli: Run) -> None:
    from gradtui.lab.runtime import tf

    if len(tf.config.list_logical_devices("GPU")) > 3:
        pytest.skip("this machine has a gpu:3")
    code, out, err = run_cli("run", "--steps", "1", "--quiet", "--device", "gpu:3")
    assert_refused(code, out, err, "--device", "'gpu:3' does not exist")


def test_imagenet_weights_offline_fail_fast_with_one_line(tmp_path: Path) -> None:
    # A fresh process: KERAS_HOME is read when Keras is imported. An empty cache, and every HTTPS
    # request sent to a closed local port, so the download fails as it does offline.
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "https_proxy", "http_proxy")}
    env.update(
        KERAS_HOME=str(tmp_path / "keras"),
        https_proxy="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        XDG_STATE_HOME=str(tmp_path / "state"),
    )
    start = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gradtui",
            "run",
            "--model",
            "vgg16",
            "--weights",
            "imagenet",
            "--steps",
            "1",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    took = time.monotonic() - start
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""  # Keras's "Downloading data from ..." went to the log, not the terminal
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert "imagenet weights for vgg16" in lines[0] and "--weights none" in lines[0]
    assert took < 60
    assert not list((tmp_path / "keras").glob("models/*.h5"))  # no half download left in the cache


def _finite_or_null(value: Any) -> bool:
    if isinstance(value, list):
        return all(_finite_or_null(v) for v in value)
    return value is None or (isinstance(value, int | float) and math.isfinite(value))


def test_divergence_exits_3_and_keeps_the_finite_history(run_cli: Run, files: Path, tmp_path: Path) -> None:
    # Plain SGD at lr 100 on a linear regression overshoots by ~100x per step: it reaches inf in a few.
    args = [
        "run",
        "--model",
        str(files / "linear.keras"),
        "--data",
        str(files / "regression.npz"),
        "--rule",
        "batch-loss",
        "--loss",
        "mse",
        "--lr",
        "100",
        "--steps",
        "50",
        "--device",
        "cpu",
        "--quiet",
    ]
    out_json, out_csv = tmp_path / "h.json", tmp_path / "h.csv"
    code, _out, err = run_cli(*args, "--out", str(out_json))
    assert code == 3, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    h = json.loads(out_json.read_text())
    d = h["divergence"]
    assert d is not None and 1 < d["step"] < 50
    assert d["where"] == "weights of layer dense"
    assert f"diverged at step {d['step']}" in lines[0] and "weights of layer dense" in lines[0]
    assert h["step"] == list(range(d["step"]))  # rows stop before the divergent step
    for name in h["columns"]:
        assert len(h[name]) == d["step"], name
        assert _finite_or_null(h[name]), name
    assert abs(h["predictions"][-1][0][0]) > 1e6  # it really was blowing up
    json.loads(out_json.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))

    code, _, err = run_cli(*args, "--out", str(out_csv))
    assert code == 3, err
    with out_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows] == h["step"]
    for row in rows:
        for value in row.values():
            assert value == "" or math.isfinite(float(value))


def test_engine_failure_mid_run_exits_1_and_writes_what_was_recorded(
    run_cli: Run, files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradtui.lab.results import LabError
    from gradtui.lab.session import Session

    real_step = Session.step

    def failing_step(self: Session, n: int = 1, *args: Any, **kwargs: Any) -> Any:
        real_step(self, 3)  # some steps are recorded, then the device gives up
        raise LabError("out of memory on /device:GPU:0: OOM when allocating tensor (try a smaller batch or model)")

    monkeypatch.setattr(Session, "step", failing_step)
    out_json = tmp_path / "h.json"
    code, _, err = run_cli("run", "--steps", "10", "--quiet", "--device", "cpu", "--out", str(out_json))
    assert code == 1
    assert err.splitlines() == [
        "gradtui: out of memory on /device:GPU:0: OOM when allocating tensor (try a smaller batch or model)"
    ]
    assert json.loads(out_json.read_text())["step"] == [0, 1, 2, 3]


def test_interrupt_mid_run_writes_what_was_recorded(
    run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradtui.lab.session import Session

    real_step = Session.step

    def interrupted(self: Session, n: int = 1, *args: Any, **kwargs: Any) -> Any:
        real_step(self, 2)
        raise KeyboardInterrupt

    monkeypatch.setattr(Session, "step", interrupted)
    out_csv = tmp_path / "h.csv"
    code, _, err = run_cli("run", "--steps", "10", "--quiet", "--device", "cpu", "--out", str(out_csv))
    assert code == 130
    assert len(err.splitlines()) == 1 and "interrupted" in err and "step 2" in err
    with out_csv.open(newline="") as handle:
        assert [int(r["step"]) for r in csv.DictReader(handle)] == [0, 1, 2]


def test_unexpected_error_is_one_line_exit_1(run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    import gradtui.headless as headless

    def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("first line of the reason\n  second line of detail")

    monkeypatch.setattr(headless, "run_headless", broken)
    code, _out, err = run_cli("run", "--steps", "1")
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 1 and "RuntimeError: first line of the reason" in lines[0] and "Traceback" not in err
