"""Several devices: GRADTUI_LOGICAL_CPUS splits the CPU before TensorFlow starts, so each check runs
in a child process (paying the TensorFlow import once for a batch of checks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.compat, pytest.mark.slow]  # MirroredStrategy and Keras optimizers under it

ROOT = Path(__file__).resolve().parents[2]

# The child calls the CLI's main() for each argv and prints one JSON line: [[code, stdout, stderr], ...].
CHILD = """
import contextlib, io, json, sys
from gradtui.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    results.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""


def child(code: str, *args: str, tmp: Path) -> str:
    """Run `code` in a fresh Python with the CPU split into two devices; its stdout's last line."""
    env = {**os.environ, "GRADTUI_LOGICAL_CPUS": "2", "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(tmp)}
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.splitlines()[-1]


def run_many(*argvs: list[str], tmp: Path) -> list[tuple[int, str, str]]:
    """Every argv through gradtui's main() in one child process with the CPU split into two devices."""
    return [tuple(r) for r in json.loads(child(CHILD, json.dumps(list(argvs)), tmp=tmp))]


def one_line_refusal(result: tuple[int, str, str], *pieces: str) -> None:
    code, out, err = result
    assert code == 2, result
    assert "Traceback" not in out + err
    assert len(err.splitlines()) == 1, err
    for piece in pieces:
        assert piece in err, (piece, err)


def test_logical_cpus_are_listed_and_unknown_devices_refused(tmp_path: Path) -> None:
    listed, missing, missing_gpu = run_many(
        ["devices"],
        ["run", "--steps", "1", "--quiet", "--device", "cpu:0,cpu:2"],
        ["run", "--steps", "1", "--quiet", "--device", "gpu:0,gpu:1"],
        tmp=tmp_path,
    )
    assert listed[0] == 0
    lines = listed[1].splitlines()
    assert lines[0].split()[:2] == ["cpu:0", "/device:CPU:0"]
    assert lines[1].split()[:2] == ["cpu:1", "/device:CPU:1"]
    assert "--device cpu:0,cpu:1" in lines[-1]
    one_line_refusal(missing, "--device", "'cpu:2' does not exist", "/device:CPU:0, /device:CPU:1")
    if not any(line.startswith("gpu:") for line in lines):
        one_line_refusal(missing_gpu, "--device", "'gpu:0' does not exist (GPUs here: none)")


def test_a_bad_logical_cpu_count_is_refused_before_tensorflow(tmp_path: Path) -> None:
    env = {**os.environ, "GRADTUI_LOGICAL_CPUS": "two", "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(tmp_path)}
    code = (
        "import sys\nfrom gradtui.cli import main\n"
        "code = main(['devices'])\nassert 'tensorflow' not in sys.modules\nsys.exit(code)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    one_line_refusal((proc.returncode, proc.stdout, proc.stderr), "GRADTUI_LOGICAL_CPUS", "whole number")


def history_columns(path: Path) -> dict[str, np.ndarray]:
    """Every recorded column of a `gradtui run --out` JSON file (null = not measured -> NaN)."""
    data = json.loads(path.read_text())
    return {name: np.array(values, dtype=np.float64) for name, values in data.items() if name in data["columns"]}


def max_differences(one: Path, several: Path) -> dict[str, float]:
    """Max |one - several| per column; NaN must sit in the same places (not measured is not a number)."""
    a, b = history_columns(one), history_columns(several)
    assert a.keys() == b.keys()
    out = {}
    for name in a:
        assert a[name].shape == b[name].shape, name
        assert np.array_equal(np.isnan(a[name]), np.isnan(b[name])), name
        finite = np.isfinite(a[name])
        out[name] = float(np.max(np.abs(a[name][finite] - b[name][finite]))) if finite.any() else 0.0
    return out


# Every rule, each with two optimizers; clipping, weight decay and ascent ride along on some of them.
CASES = [
    ("prediction", "sgd", ["--lr", "0.05"]),
    ("prediction", "adam", ["--lr", "0.01", "--target", "argmax", "--clipnorm", "0.2"]),
    ("example-loss", "sgd", ["--lr", "0.1", "--label", "1", "--sign", "ascend"]),
    ("example-loss", "adam", ["--lr", "0.01", "--label", "0", "--weight-decay", "0.01"]),
    ("batch-loss", "sgd", ["--lr", "0.1", "--batch-size", "64"]),
    ("batch-loss", "adam", ["--lr", "0.01", "--batch-size", "100", "--clipnorm", "0.5"]),
    ("random", "sgd", ["--lr", "0.05"]),
    ("random", "adam", ["--lr", "0.01"]),
]
TOLERANCE = 1e-5


def test_every_rule_on_two_devices_matches_one_device(tmp_path: Path) -> None:
    argvs = []
    for rule, optimizer, extra in CASES:
        for name, device in (("one", "cpu:0"), ("two", "cpu:0,cpu:1")):
            out = tmp_path / f"{rule}-{optimizer}-{name}.json"
            common = ["--rule", rule, "--optimizer", optimizer, "--steps", "12", "--eval-every", "4"]
            argvs.append(["run", "--quiet", *common, *extra, "--device", device, "--out", str(out)])
    results = run_many(*argvs, tmp=tmp_path)
    assert all(code == 0 for code, _, _ in results), [r for r in results if r[0] != 0]
    worst = {}
    for rule, optimizer, _ in CASES:
        one, two = tmp_path / f"{rule}-{optimizer}-one.json", tmp_path / f"{rule}-{optimizer}-two.json"
        assert json.loads(two.read_text())["model"]["devices"] == [
            "/job:localhost/replica:0/task:0/device:CPU:0",
            "/job:localhost/replica:0/task:0/device:CPU:1",
        ]
        differences = max_differences(one, two)
        worst[f"{rule}/{optimizer}"] = max(differences.values())
        assert all(d <= TOLERANCE for d in differences.values()), (rule, optimizer, differences)
        moved = history_columns(one)["distance"]
        assert np.nanmax(moved) > 1e-3, (rule, optimizer)  # the run did move the weights
    print("max |one device - two devices| per rule/optimizer:", worst)


UNDO_CHILD = """
import json, sys
import numpy as np
from gradtui.config import LabConfig
from gradtui.lab.session import Session

path = sys.argv[1]
settings = {"rule": "batch-loss", "optimizer": "adam", "lr": "0.01", "batch_size": "50"}
def build(device):
    return Session.build(LabConfig.parse({**settings, "device": device}))
def copies(session):
    # every replica's copy of every weight and optimizer slot
    found = [getattr(v, "value", v) for v in session.vars + session.optimizer.variables]
    return [[c.numpy() for c in getattr(v, "values", (v,))] for v in found]
def apart(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b, strict=True))
def replicas_apart(session):
    return max(float(np.max(np.abs(c[0] - other))) for c in copies(session) for other in c[1:])

two = build("cpu:0,cpu:1")
two.step(4)
at_four = two.weights()
two.snapshot("four")
two.step(3)
out = {"undone": two.undo(), "step_after_undo": two.step_count, "undo_apart": apart(at_four, two.weights())}
out["undo_replicas_apart"] = replicas_apart(two)
two.step(3)
two.save(path)
loaded = Session.load(path)
out["loaded_devices"] = list(loaded.summary.devices)
out["load_apart"] = apart(two.weights(), loaded.weights())
out["load_replicas_apart"] = replicas_apart(loaded)
two.step(2)
loaded.step(2)
out["after_load_apart"] = apart(two.weights(), loaded.weights())
loaded.restore("four")
out["restore_apart"] = apart(at_four, loaded.weights())
one = build("cpu:0")
one.step(4)
one.step(3)
one.step(2)
out["one_device_apart"] = apart(one.weights(), two.weights())
print(json.dumps(out))
"""


def test_undo_snapshots_and_session_files_across_replicas(tmp_path: Path) -> None:
    out = json.loads(child(UNDO_CHILD, str(tmp_path / "two.npz"), tmp=tmp_path))
    assert out["undone"] and out["step_after_undo"] == 4
    assert out["undo_apart"] == 0.0 and out["undo_replicas_apart"] == 0.0
    assert out["loaded_devices"] == [
        "/job:localhost/replica:0/task:0/device:CPU:0",
        "/job:localhost/replica:0/task:0/device:CPU:1",
    ]
    assert out["load_apart"] == 0.0 and out["load_replicas_apart"] == 0.0
    assert out["after_load_apart"] == 0.0  # the optimizer's slots came back too
    assert out["restore_apart"] == 0.0
    assert out["one_device_apart"] <= TOLERANCE


BENCH_CHILD = """
import json
from gradtui.bench.engine_figures import replica_figure
from gradtui.bench.report import TINY, Results
results = Results()
replica_figure(TINY, results)
print(json.dumps({"figures": results.figures, "extra": results.extra, "notes": results.notes}))
"""


def test_bench_replica_figure_compares_two_devices_with_one(tmp_path: Path) -> None:
    report = json.loads(child(BENCH_CHILD, tmp=tmp_path))
    figures = report["figures"]
    assert figures["replicas"] == 2.0
    assert 0.0 <= figures["replicas_max_abs_diff"] <= TOLERANCE
    assert figures["replicas_steps_per_s"] > 0 and figures["one_device_steps_per_s"] > 0
    assert report["extra"]["replica_devices"] == ["/device:CPU:0", "/device:CPU:1"]


STATEFUL_CHILD = """
import contextlib, io, json, sys
from pathlib import Path
import numpy as np
from gradtui.cli import main
from gradtui.lab.runtime import keras

where = Path(sys.argv[1])
rng = np.random.default_rng(4)
x = rng.standard_normal((96, 6)).astype(np.float32)
y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5).astype(np.int64)
np.savez(where / "rows.npz", x_train=x[:64], y_train=y[:64], x_test=x[64:], y_test=y[64:])
middles = {
    "bn-synchronized": lambda: keras.layers.BatchNormalization(synchronized=True),
    "bn-per-replica": lambda: keras.layers.BatchNormalization(),
    "dropout": lambda: keras.layers.Dropout(0.2, seed=5),
}
codes = {}
for name, middle in middles.items():
    keras.utils.set_random_seed(2)
    hidden, out = keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(3, activation="softmax")
    keras.Sequential([keras.Input((6,)), hidden, middle(), out]).save(where / f"{name}.keras")
    for device in ("cpu:0", "cpu:0,cpu:1"):
        argv = ["run", "--quiet", "--model", str(where / f"{name}.keras"), "--data", str(where / "rows.npz")]
        argv += ["--rule", "batch-loss", "--optimizer", "sgd", "--lr", "0.05", "--batch-size", "32", "--steps", "10"]
        argv += ["--eval-every", "5", "--device", device, "--out", str(where / f"{name}-{device}.json")]
        with contextlib.redirect_stdout(io.StringIO()):
            codes[f"{name} {device}"] = main(argv)
print(json.dumps(codes))
"""
LOOSE = 0.05  # training mode, replicas that legitimately differ: probe predictions within this of one device


def test_batchnorm_and_dropout_differ_only_as_documented(tmp_path: Path) -> None:
    codes = json.loads(child(STATEFUL_CHILD, str(tmp_path), tmp=tmp_path))
    assert set(codes.values()) == {0}, codes
    differences = {
        name: max_differences(tmp_path / f"{name}-cpu:0.json", tmp_path / f"{name}-cpu:0,cpu:1.json")
        for name in ("bn-synchronized", "bn-per-replica", "dropout")
    }
    print("max |one device - two devices|:", {k: max(v.values()) for k, v in differences.items()})
    assert max(differences["bn-synchronized"].values()) <= TOLERANCE  # all-reduced batch statistics
    mode = json.loads((tmp_path / "dropout-cpu:0.json").read_text())["model"].get("mode", "infer")
    for name in ("bn-per-replica", "dropout"):
        if mode == "train":  # each replica's slice has its own statistics, its own dropout mask
            assert 1e-4 < differences[name]["predictions"] <= LOOSE, (name, differences[name])
        else:  # inference mode: moving statistics and no dropout, like any other layer
            assert max(differences[name].values()) <= TOLERANCE, (name, differences[name])
