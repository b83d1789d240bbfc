"""Hostile and unlucky input through `gradtui run`: files that run code load only with
--trust-model, .npz headers are judged before arrays are read, models are sized before they are
built, typed flags that do nothing are refused. Every hostile file is made here, for real."""

from __future__ import annotations

import json
import os
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from .helpers import Run, assert_refused

pytestmark = pytest.mark.compat  # what Keras deserialisation and NumPy headers let through

# ---- fixtures: a SavedModel whose graph writes a file, Keras files holding Python code ----------


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from gradtui.lab.runtime import keras, tf

    d = tmp_path_factory.mktemp("hostile")
    marker = d / "written-by-the-model"

    class Writer(tf.Module):
        def __init__(self) -> None:
            self.w = tf.Variable(tf.ones((5, 1)))

        @tf.function(input_signature=[tf.TensorSpec([None, 5], tf.float32)])
        def serve(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
            tf.io.write_file(str(marker), "this graph ran")
            return {"out": tf.sigmoid(x @ self.w)}

    module = Writer()
    tf.saved_model.save(module, str(d / "writer"), signatures={"serving_default": module.serve})
    lam = keras.Sequential([keras.Input((5,)), keras.layers.Lambda(lambda x: x * 2.0), keras.layers.Dense(1)])
    lam.save(d / "lambda.keras")
    lam.save(d / "lambda.h5")
    return d


def test_savedmodel_that_writes_a_file_is_refused_without_the_flag(run_cli: Run, hostile: Path) -> None:
    marker = hostile / "written-by-the-model"
    marker.unlink(missing_ok=True)
    code, out, err = run_cli("run", "--steps", "2", "--quiet", "--model", str(hostile / "writer"))
    assert_refused(code, out, err, "--model", "is a SavedModel directory")
    assert "--trust-model" in err
    assert not marker.exists()


def test_the_same_savedmodel_runs_with_the_flag(run_cli: Run, hostile: Path) -> None:
    """The control: the fixture really is hostile, and --trust-model really lets it run."""
    marker = hostile / "written-by-the-model"
    marker.unlink(missing_ok=True)
    code, _, err = run_cli("run", "--steps", "2", "--quiet", "--model", str(hostile / "writer"), "--trust-model")
    assert code == 0, err
    assert marker.read_text() == "this graph ran"
    marker.unlink()


@pytest.mark.parametrize("name", ["lambda.keras", "lambda.h5"])
def test_keras_safe_mode_refusal_is_whole_and_names_the_flag(run_cli: Run, hostile: Path, name: str) -> None:
    code, out, err = run_cli("run", "--steps", "1", "--quiet", "--model", str(hostile / name))
    assert_refused(code, out, err, "--model", "needs unsafe deserialization")
    assert "Lambda" in err and "Python lambda" in err and "--trust-model" in err
    assert "..." not in err  # the reason is whole, not cut


def test_trusted_lambda_model_loads_and_steps(run_cli: Run, hostile: Path) -> None:
    code, _out, err = run_cli(
        "run", "--steps", "2", "--quiet", "--model", str(hostile / "lambda.keras"), "--trust-model"
    )
    assert code == 0, err


def test_a_grant_covers_only_the_path_typed(hostile: Path, tmp_path: Path) -> None:
    """A session file or demo names its model by path: trusting one path does not trust another."""
    import shutil

    from gradtui import trust
    from gradtui.config import LabConfig
    from gradtui.lab.session import Session

    other = tmp_path / "other"
    shutil.copytree(hostile / "writer", other)
    trust.grant(hostile / "writer")
    with pytest.raises(trust.UntrustedModel, match="--trust-model"):
        Session.build(LabConfig.parse({"model": str(other)}))
    assert not (hostile / "written-by-the-model").exists()


def test_trust_is_no_setting_a_file_can_carry() -> None:
    """Demo `set` lines and session configs are parsed as LabConfig fields: trust is not one."""
    from gradtui.config import LabConfig
    from gradtui.errors import ConfigError
    from gradtui.tui.demo import DemoError, parse_script

    for key in ("trust_model", "trust-model"):
        with pytest.raises(ConfigError, match="unknown setting"):
            LabConfig.from_dict({key: "yes"})
    with pytest.raises(DemoError, match="trust"):
        parse_script("set trust_model=yes\nstep\n", "demo.txt")


def test_trust_flag_without_a_model_file_is_refused(run_cli: Run) -> None:
    assert_refused(*run_cli("run", "--trust-model", "--steps", "1"), "--trust-model", "does not apply")


# ---- .npz headers before arrays ------------------------------------------------------------------


def _data(path: Path, **extra: np.ndarray) -> Path:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 5)).astype(np.float32)
    arrays = {"x_train": x, "y_train": (x[:, 0] > 0).astype(np.float32), **extra}
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]
    return path


def test_unknown_array_in_a_data_file_is_refused_before_reading(run_cli: Run, tmp_path: Path) -> None:
    # 1.6 GB of zeros in a 1.5 MB file: reading it is what the header check prevents
    path = _data(tmp_path / "bomb.npz", extra=np.zeros((20_000, 10_000)))
    assert path.stat().st_size < 3_000_000
    start = time.monotonic()
    code, out, err = run_cli("run", "--steps", "1", "--quiet", "--data", str(path))
    assert_refused(code, out, err, "--data", "'extra' is not an array of a data file")
    assert "bomb.npz" in err
    assert time.monotonic() - start < 5


def test_data_array_over_the_memory_limit_is_refused_naming_file_key_and_size(
    run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A box with 8 MB available: a 16 MB x_train (float64, as read) is refused from its header."""
    from gradtui.lab import array_files

    rng = np.random.default_rng(1)
    x = rng.standard_normal((400_000, 5))
    path = tmp_path / "big.npz"
    np.savez(path, x_train=x, y_train=(x[:, 0] > 0).astype(np.float32))
    monkeypatch.setattr(array_files, "host_available", lambda: 8 << 20)
    code, out, err = run_cli("run", "--steps", "1", "--quiet", "--data", str(path), "--rule", "batch-loss")
    assert_refused(code, out, err, "--data", "'x_train' is (400000, 5) float64 (15.3 MB)")
    assert "big.npz" in err and "4.0 MB allowed" in err


def test_header_claiming_more_than_the_archive_holds_is_refused(run_cli: Run, tmp_path: Path) -> None:
    """A hand-made member whose header says (10^6, 10^6) float64 (8 TB) over 40 bytes of data."""
    import io

    from numpy.lib import format as npy_format

    good = _data(tmp_path / "good.npz")
    path = tmp_path / "liar.npz"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            if item.filename == "y_train.npy":
                head = io.BytesIO()
                npy_format.write_array_header_1_0(
                    head, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)}
                )
                dst.writestr("y_train.npy", head.getvalue() + bytes(40))
            else:
                dst.writestr(item, src.read(item.filename))
    code, out, err = run_cli("run", "--steps", "1", "--quiet", "--data", str(path), "--rule", "batch-loss")
    assert_refused(code, out, err, "--data", "its header claims")
    assert "'y_train'" in err and "liar.npz" in err


def test_wrong_input_shape_is_refused_from_the_header(run_cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "wide.npz"
    np.savez(path, x_train=np.zeros((10, 7), np.float32), y_train=np.zeros(10))
    assert_refused(*run_cli("run", "--steps", "1", "--data", str(path)), "--data", "rows have shape (7,)")


def test_probe_npy_with_too_many_rows_is_refused_from_the_header(run_cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "many.npy"
    np.save(path, np.zeros((100_000, 5), np.float32))
    code, out, err = run_cli("run", "--steps", "1", "--probe", str(path))
    assert_refused(code, out, err, "--probe", "has 100000 rows (1 to 256 are tracked)")


# ---- memory estimate before building -------------------------------------------------------------


def test_oversized_backbone_is_refused_from_the_estimate_without_building(run_cli: Run) -> None:
    from gradtui.lab import memory
    from gradtui.lab.runtime import keras  # imported before the clock starts: the import is not the refusal

    assert keras is not None
    free = memory.host_available()
    start = time.monotonic()
    code, _out, err = run_cli(
        "run", "--model", "vgg16", "--weights", "none", "--input-shape", "1024,1024,3", "--steps", "1", "--quiet"
    )
    elapsed = time.monotonic() - start
    if free is not None and free > 300 << 30:
        pytest.skip("this machine has room for vgg16 at 1024x1024")
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "out of memory (estimated before building): vgg16 at 1024x1024x3" in lines[0]
    assert "needs about" in lines[0] and "available (MemAvailable)" in lines[0] and "--input-shape" in lines[0]
    assert elapsed < 3.0, elapsed


@pytest.mark.parametrize(
    ("name", "shape"), [("vgg16", (32, 32, 3)), ("vgg16", (67, 45, 1)), ("mobilenetv2", (51, 64, 3))]
)
def test_backbone_table_matches_the_model_keras_builds(name: str, shape: tuple[int, int, int]) -> None:
    """The layer table (no allocation) against the real keras.applications model's shapes."""
    from gradtui.lab import memory
    from gradtui.lab.runtime import keras

    builder = {"vgg16": keras.applications.VGG16, "mobilenetv2": keras.applications.MobileNetV2}[name]
    base = builder(include_top=False, weights=None, input_shape=shape)
    model = keras.Sequential([base, keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(7, activation="softmax")])
    expected_params = int(sum(int(np.prod(w.shape)) for w in model.weights))
    table = memory.backbone_footprint(name, shape, 7)
    assert table.params == expected_params
    activations = sum(int(np.prod(layer.output.shape[1:])) for layer in [*base.layers, *model.layers[1:]])
    assert table.activations == activations


@pytest.fixture(scope="module")
def impossible(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model whose one forward pass needs 32 TiB: RepeatVector(2^31 - 1) over 4096 features."""
    from gradtui.lab.runtime import keras

    model = keras.Sequential(
        [
            keras.Input((4096,)),
            keras.layers.RepeatVector(2**31 - 1),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    path = tmp_path_factory.mktemp("impossible") / "impossible.keras"
    model.save(path)
    return path


def test_user_model_too_large_is_refused_from_the_estimate(run_cli: Run, impossible: Path) -> None:
    code, _out, err = run_cli("run", "--model", str(impossible), "--steps", "1", "--quiet")
    assert code == 1, err
    assert err.count("\n") == 1 and "out of memory (estimated before building): impossible.keras needs about" in err


def test_a_real_out_of_memory_error_is_exit_1_with_one_line(
    run_cli: Run, impossible: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where free memory cannot be known the estimate lets it through, and TensorFlow's allocator
    refuses the 32 TiB tensor: exit 1, "out of memory", one line (SECURITY.md's promise)."""
    from gradtui.lab import memory

    monkeypatch.setattr(memory, "free_on", lambda device: (None, "unknown"))
    code, _out, err = run_cli("run", "--model", str(impossible), "--steps", "1", "--quiet")
    assert code == 1, err
    assert err.count("\n") == 1 and "out of memory" in err and "estimated" not in err
    assert "Traceback" not in err


# ---- typed flags the experiment ignores ------------------------------------------------------------

IGNORED: list[tuple[list[str], str, str]] = [
    (["--label", "1", "--rule", "batch-loss"], "--label", "only the example-loss rule"),
    (["--batch-size", "5"], "--batch-size", "only the batch-loss rule uses it (the rule is prediction)"),
    (["--batch-size", "5", "--preset", "example2"], "--batch-size", "the rule is prediction"),
    (["--target", "argmax", "--rule", "batch-loss"], "--target", "only the prediction and random rules"),
    (["--weights", "none"], "--weights", "only vgg16 and mobilenetv2"),
    (["--classes", "3"], "--classes", "(the model is mlp)"),
    (["--input-shape", "64,64,3"], "--input-shape", "the model is mlp"),
    (["--model", "{d}/linear.keras", "--eval-every", "5"], "--eval-every", "no held-out data"),
    (["--model", "{d}/linear.keras", "--loss", "mse"], "--loss", "no loss is computed"),
    (["--probe", "{d}/probe5.npy", "--n-probe", "3"], "--n-probe", "the probe file fixes"),
    (["--target", "argmax", "--label", "1"], "--label", "choose one rule with --rule"),
]


@pytest.mark.parametrize(("args", "flag", "reason"), IGNORED, ids=[" ".join(a[0]) for a in IGNORED])
def test_a_flag_that_does_nothing_is_refused(
    run_cli: Run, files: Path, args: list[str], flag: str, reason: str
) -> None:
    argv = [a.replace("{d}", str(files)) for a in args]
    code, out, err = run_cli("run", "--steps", "1", *argv)
    assert_refused(code, out, err, flag, reason)


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--demo", "missing.txt", "run"], "--demo"),
        (["--session", "x.npz", "run"], "--session"),
        (["--lr", "0.5", "bench"], "--lr"),
        (["--preset", "example1", "devices"], "--preset"),
    ],
)
def test_lab_only_flags_with_another_command_are_refused(run_cli: Run, argv: list[str], flag: str) -> None:
    assert_refused(*run_cli(*argv), flag, "does not apply to gradtui")


def test_share_max_without_share_is_refused_not_ignored(run_cli: Run) -> None:
    assert_refused(*run_cli("--share-max", "3", "run", "--steps", "1"), "--share-max", "does nothing without --share")


@pytest.mark.parametrize(
    ("flag", "value", "rule"),
    [("--label", "1", "example-loss"), ("--target", "argmax", "prediction")],
)
def test_a_rules_own_setting_selects_that_rule(run_cli: Run, tmp_path: Path, flag: str, value: str, rule: str) -> None:
    out_file = tmp_path / "h.json"
    code, _, err = run_cli(
        "run", "--preset", "example3", flag, value, "--steps", "1", "--quiet", "--out", str(out_file)
    )
    assert code == 0, err
    assert json.loads(out_file.read_text())["config"]["rule"] == rule


# ---- stale temporary files --------------------------------------------------------------------------


def test_stale_temporary_of_a_killed_write_is_removed_on_the_next_write(run_cli: Run, tmp_path: Path) -> None:
    out_file = tmp_path / "h.json"
    stale = tmp_path / ".h.json.ab12cd_3.tmp"  # what mkstemp leaves when the writer is killed
    fresh = tmp_path / ".h.json.zz99yy88.tmp"  # a write in progress in another process
    foreign = tmp_path / ".h.json.backup.tmp"  # not ours by name
    for path in (stale, fresh, foreign):
        path.write_bytes(b"x" * 1000)
    old = time.time() - 3600
    os.utime(stale, (old, old))
    os.utime(foreign, (old, old))
    code, _, err = run_cli("run", "--steps", "1", "--quiet", "--out", str(out_file))
    assert code == 0, err
    assert not stale.exists() and fresh.exists() and foreign.exists()
    assert json.loads(out_file.read_text())["format"] == "gradtui-history/1"


# ---- integer-input models ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedding(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Indices 0..19 of a 4-token input -> Embedding -> Dense(1, sigmoid)."""
    from gradtui.lab.runtime import keras

    keras.utils.set_random_seed(2)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Embedding(20, 3),
            keras.layers.Flatten(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    path = tmp_path_factory.mktemp("embedding") / "tokens.keras"
    model.save(path)
    return path


def test_embedding_model_gets_integer_probes_in_range(embedding: Path) -> None:
    from gradtui.config import LabConfig
    from gradtui.lab.session import Session

    session = Session.build(LabConfig.parse({"model": str(embedding), "n_probe": "50"}))
    probes = session.x_probe.numpy()
    assert probes.shape == (50, 4)
    assert np.all(probes == np.round(probes)) and probes.min() >= 0 and probes.max() <= 19
    assert len(np.unique(probes)) > 10  # drawn over the whole range, not cut from normal noise
    session.step(2)


def test_embedding_probe_out_of_range_is_refused_naming_probe(run_cli: Run, embedding: Path, tmp_path: Path) -> None:
    probe = tmp_path / "tokens.npy"
    np.save(probe, np.array([[1, 2, 3, 50]], np.float32))
    code, out, err = run_cli("run", "--model", str(embedding), "--probe", str(probe), "--steps", "1")
    assert_refused(code, out, err, "--probe", "values 1 to 50; the model's Embedding takes whole indices 0..19")


def test_embedding_data_with_fractions_is_refused_naming_data(run_cli: Run, embedding: Path, tmp_path: Path) -> None:
    data = tmp_path / "tokens.npz"
    np.savez(data, x_train=np.full((10, 4), 0.5, np.float32), y_train=np.zeros(10))
    code, out, err = run_cli("run", "--model", str(embedding), "--data", str(data), "--steps", "1")
    assert_refused(code, out, err, "--data", "x_train holds values that are not whole numbers")
