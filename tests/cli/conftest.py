"""Tiny real models and data files for the CLI tests, made once per session, and a helper that runs
`gradtui.cli.main` in-process and hands back (exit code, stdout, stderr)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from .helpers import Run


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Run:
    """main(argv) in this process; never lets an exception escape unnoticed (a traceback would)."""
    from gradtui.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="session")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of good and bad inputs, named by what they are."""
    from gradtui.lab.runtime import keras

    d = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(3)
    keras.utils.set_random_seed(3)

    # Good: a linear Dense(1) on 5 inputs (a regression model the built-ins do not cover) and a
    # 3-class softmax one, both saved as a user would.
    linear = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, name="dense")], name="linear")
    linear.save(d / "linear.keras")
    softmax = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(4, activation="tanh", name="hidden"),
            keras.layers.Dense(3, activation="softmax", name="out"),
        ],
        name="softmax3",
    )
    softmax.save(d / "softmax3.keras")
    x = rng.standard_normal((60, 5)).astype(np.float32)
    np.savez(d / "regression.npz", x_train=x, y_train=(x @ np.ones(5, np.float32) * 10).reshape(-1, 1))
    np.savez(d / "classes3.npz", x_train=x, y_train=rng.integers(0, 3, 60))
    np.save(d / "probe5.npy", rng.standard_normal((2, 5)).astype(np.float32))

    # Models that cannot be loaded or driven.
    (d / "text.keras").write_text("not a model\n")
    (d / "text.h5").write_text("not a model either\n")
    (d / "empty.keras").write_bytes(b"")
    whole = (d / "linear.keras").read_bytes()
    (d / "truncated.keras").write_bytes(whole[: len(whole) // 2])
    with zipfile.ZipFile(d / "linear.keras") as src, zipfile.ZipFile(d / "unknown_layer.keras", "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                config["config"]["layers"][-1]["class_name"] = "NoSuchLayer"
                config["config"]["layers"][-1]["module"] = None
                data = json.dumps(config).encode()
            dst.writestr(item, data)
    with zipfile.ZipFile(d / "no_config.keras", "w") as z:
        z.writestr("hello.txt", "a zip, but not a Keras archive")
    import h5py

    with h5py.File(d / "not_a_model.h5", "w") as h5:
        h5["x"] = np.zeros(3)
    two_d = keras.Sequential([keras.Input((4, 5)), keras.layers.Dense(1)])
    two_d.save(d / "sequence_output.keras")
    a, b = keras.Input((5,)), keras.Input((3,))
    keras.Model([a, b], keras.layers.Dense(1)(keras.layers.Concatenate()([a, b]))).save(d / "two_inputs.keras")
    keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, trainable=False)]).save(d / "frozen.keras")
    broken = d / "broken_savedmodel"  # a directory that claims to be a SavedModel but is not
    broken.mkdir()
    (broken / "saved_model.pb").write_bytes(b"this is not a protocol buffer")
    (d / "plain_dir").mkdir()

    # Data sets and probes of the wrong kind or shape.
    (d / "text.npz").write_text("x_train,y_train\n1,2\n")
    (d / "text.npy").write_text("1 2 3\n")
    np.savez(d / "no_keys.npz", inputs=x)
    np.savez(d / "four_features.npz", x_train=rng.standard_normal((60, 4)), y_train=np.zeros(60))
    np.savez(d / "label7.npz", x_train=x, y_train=np.full(60, 7.0))
    np.savez(d / "labels_text.npz", x_train=x, y_train=np.array(["yes"] * 60))
    np.savez(d / "rows_differ.npz", x_train=x, y_train=np.zeros(50))
    np.savez(d / "nan_inputs.npz", x_train=np.full((60, 5), np.nan), y_train=np.zeros(60))
    np.savez(d / "x_test_only.npz", x_train=x, y_train=np.zeros(60), x_test=x)
    np.save(d / "probe4.npy", rng.standard_normal((2, 4)).astype(np.float32))
    np.save(d / "probe_empty.npy", np.zeros((0, 5), np.float32))
    np.save(d / "probe_text.npy", np.array(["a", "b"]))
    np.save(d / "probe_inf.npy", np.full((2, 5), np.inf, np.float32))
    np.save(d / "probe_300.npy", np.zeros((300, 5), np.float32))
    with (d / "archive.npy").open("wb") as handle:  # an .npz archive under an .npy name
        np.savez(handle, a=np.zeros(3))
    return d
