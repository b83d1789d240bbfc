"""Every kind of bad input to `gradtui run` exits 2 with one line naming the flag and the reason.

Each case is run for real through gradtui.cli.main (in this process), with real files and real
TensorFlow where the refusal needs the model (a class outside the output range, a data set whose
shape does not fit).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from .helpers import Run, assert_refused

# (arguments, with {d} for the inputs directory; the flag the line must name; a piece of the reason)
CASES: list[tuple[list[str], str, str]] = [
    # wrong type, out of range, NaN/inf
    (["--lr", "fast"], "--lr", "expected a number"),
    (["--lr", "nan"], "--lr", "finite"),
    (["--lr", "inf"], "--lr", "finite"),
    (["--lr", "-1e400"], "--lr", "finite"),
    (["--lr", "0"], "--lr", "greater than 0"),
    (["--lr", "1e7"], "--lr", "at most"),
    (["--steps", "1.5"], "--steps", "whole number"),
    (["--steps", "0"], "--steps", "at least 1"),
    (["--steps", "9" * 40], "--steps", "at most"),
    (["--n-probe", "257"], "--n-probe", "at most 256"),
    (["--batch-size", ""], "--batch-size", "whole number"),
    (["--clipnorm", "-2"], "--clipnorm", "greater than 0"),
    (["--clipnorm", "NaN"], "--clipnorm", "finite"),
    (["--weight-decay", "2"], "--weight-decay", "at most 1"),
    (["--seed", "-1"], "--seed", "at least 0"),
    (["--eval-every", "x"], "--eval-every", "whole number"),
    (["--classes", "1"], "--classes", "at least 2"),
    (["--input-shape", "16,16,3", "--model", "vgg16"], "--input-shape", "at least 32x32"),
    (["--new-head", "maybe"], "--new-head", "yes or no"),
    (["--rows", "-1"], "--rows", "at least 0"),
    # unknown names
    (["--model", "resnet"], "--model", "unknown model"),
    (["--rule", "newton"], "--rule", "unknown value"),
    (["--optimizer", "lbfgs"], "--optimizer", "unknown value"),
    (["--loss", "hinge"], "--loss", "unknown value"),
    (["--target", "max"], "--target", "unknown target"),
    (["--target", "class:x"], "--target", "whole number"),
    (["--device", "tpu"], "--device", "unknown device"),
    (["--weights", "coco"], "--weights", "unknown value"),
    (["--lr\n", "1"], "--lr", "unrecognized"),
    (["--preset", "example9"], "--preset", "invalid choice"),
    # missing files, files of the wrong kind
    (["--model", "{d}/missing.keras"], "--model", "does not exist"),
    (["--model", "{d}/probe5.npy"], "--model", "not a Keras model file"),
    (["--model", "{d}/plain_dir"], "--model", "is a directory"),
    (["--model", "{d}/text.keras"], "--model", "not a zip archive"),
    (["--model", "{d}/empty.keras"], "--model", "is empty"),
    (["--model", "{d}/text.h5"], "--model", "not an HDF5 file"),
    (["--data", "{d}/missing.npz"], "--data", "does not exist"),
    (["--data", "{d}/probe5.npy"], "--data", "expected .npz"),
    (["--data", "{d}/text.npz"], "--data", "not a zip archive"),
    (["--data", "{d}/no_keys.npz"], "--data", "no x_train array (it has: inputs)"),
    (["--data", "{d}/x_test_only.npz"], "--data", "no y_test"),
    (["--data", "{d}/labels_text.npz"], "--data", "not numeric"),
    (["--data", "{d}/rows_differ.npz"], "--data", "60 rows but y_train has 50"),
    (["--data", "{d}/nan_inputs.npz"], "--data", "NaN"),
    (["--probe", "{d}/missing.npy"], "--probe", "does not exist"),
    (["--probe", "{d}/text.npy"], "--probe", "not a NumPy .npy file"),
    (["--probe", "{d}/archive.npy"], "--probe", "not a NumPy .npy file"),
    (["--probe", "{d}/probe_text.npy"], "--probe", "not numeric"),
    (["--probe", "{d}/probe_empty.npy"], "--probe", "empty"),
    (["--probe", "{d}/probe_inf.npy"], "--probe", "NaN or infinite"),
    (["--probe", "{d}/probe_300.npy"], "--probe", "300 rows"),
    # shapes and classes that do not fit the model
    (["--probe", "{d}/probe4.npy"], "--probe", "rows have shape (4,), the model takes (5,)"),
    (["--data", "{d}/four_features.npz"], "--data", "rows have shape (4,), the model takes (5,)"),
    (["--model", "cnn", "--data", "{d}/regression.npz"], "--data", "the model takes (16, 16, 1)"),
    (["--data", "{d}/label7.npz", "--rule", "batch-loss"], "--data", "0 or 1"),
    (["--model", "{d}/softmax3.keras", "--data", "{d}/regression.npz"], "--data", "class numbers 0..2"),
    (["--target", "class:5"], "--target", "out of range"),
    (["--model", "{d}/softmax3.keras", "--target", "class:3"], "--target", "out of range"),
    (["--rule", "example-loss", "--label", "7"], "--label", "out of range"),
    (["--rule", "example-loss"], "--label", "needs --label"),
    (["--loss", "sce"], "--loss", "at least 2 outputs"),
    (
        ["--model", "{d}/softmax3.keras", "--data", "{d}/classes3.npz", "--loss", "bce"],
        "--loss",
        "does not fit a softmax",
    ),
    (["--new-head", "yes"], "--new-head", "no classifier head"),
    (["--model", "{d}/linear.keras", "--new-head", "yes"], "--new-head", "single layer"),
    (["--model", "{d}/linear.keras", "--rule", "batch-loss"], "--data", "needs a data set"),
    (["--model", "{d}/linear.keras", "--probe", "heldout"], "--probe", "need a data set"),
    # models that load but cannot be driven
    (["--model", "{d}/sequence_output.keras"], "--model", "flat (batch, K) output"),
    (["--model", "{d}/two_inputs.keras"], "--model", "2 inputs"),
    (["--model", "{d}/frozen.keras"], "--model", "no trainable weights"),
    # outputs that cannot be written
    (["--out", "{d}/history.txt"], "--out", "must end in .json, .csv or .npz"),
    (["--out", "{d}/no/such/dir/history.json"], "--out", "does not exist"),
    (["--out", "{d}/plain_dir"], "--out", "must end in .json, .csv or .npz"),
    (["--out", ""], "--out", "expected a file name"),
    (["--tensorboard", "{d}/probe5.npy"], "--tensorboard", "not a directory"),
]


def _fill(args: list[str], d: Path) -> list[str]:
    return [a.replace("{d}", str(d)) for a in args]


@pytest.mark.parametrize(("args", "flag", "reason"), CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_bad_input_is_one_line_exit_2(run_cli: Run, files: Path, args: list[str], flag: str, reason: str) -> None:
    code, out, err = run_cli("run", "--steps", "2", "--quiet", *_fill(args, files))
    assert_refused(code, out, err, flag, reason)


@pytest.mark.parametrize("flag", ["--device", "--model"])
def test_the_same_flags_are_checked_without_the_run_command(run_cli: Run, files: Path, flag: str) -> None:
    # The lab (no command) validates before the TUI starts.
    value = "gpu:x" if flag == "--device" else str(files / "text.keras")
    code, out, err = run_cli(flag, value)
    assert_refused(code, out, err, flag, "whole number" if flag == "--device" else "not a zip archive")


def test_lab_only_files_are_checked(run_cli: Run, files: Path) -> None:
    assert_refused(*run_cli("--demo", str(files / "plain_dir")), "--demo", "is a directory")
    assert_refused(*run_cli("--demo", str(files / "missing.txt")), "--demo", "does not exist")
    assert_refused(*run_cli("--session", str(files / "probe5.npy")), "--session", "not a gradtui session")
    assert_refused(*run_cli("--session", str(files / "no/dir/s.npz")), "--session", "does not exist")
    assert_refused(*run_cli("bench", "--json", str(files / "figures.txt")), "--json", "must end in .json")


def _read_only_dir(tmp_path: Path) -> Path:
    """A directory this process cannot create files in: a chmod 555 one, or (for root, who ignores
    permission bits) sysfs, which refuses new files to everyone."""
    d = tmp_path / "read-only"
    d.mkdir()
    d.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    try:
        (d / "probe").touch()
    except OSError:
        return d
    (d / "probe").unlink()
    if Path("/sys/kernel").is_dir():
        return Path("/sys/kernel")
    pytest.skip("no directory here refuses new files to this user")


@pytest.mark.parametrize(("flag", "name"), [("--out", "h.json"), ("--out", "h.csv"), ("--tensorboard", "tb")])
def test_unwritable_output_directory(run_cli: Run, tmp_path: Path, flag: str, name: str) -> None:
    target = _read_only_dir(tmp_path) / name
    code, out, err = run_cli("run", "--steps", "2", "--quiet", flag, str(target))
    assert_refused(code, out, err, flag, "not writable")
    assert not target.exists()


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_unreadable_input_file(run_cli: Run, files: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked.keras"
    locked.write_bytes((files / "linear.keras").read_bytes())
    locked.chmod(0)
    assert_refused(*run_cli("run", "--model", str(locked)), "--model", "not readable")


def test_control_characters_in_values_stay_on_one_line(run_cli: Run) -> None:
    code, out, err = run_cli("run", "--lr", "1\n2", "--quiet")
    assert_refused(code, out, err, "--lr", "expected a number, got '1\\n2'")
    code, out, err = run_cli("run", "--model", "bad\u2028name.keras\r")
    assert_refused(code, out, err, "--model", "does not exist")


def test_flags_before_the_command_are_used_and_checked(run_cli: Run, tmp_path: Path) -> None:
    code, out, err = run_cli("--lr", "abc", "run", "--steps", "1")
    assert_refused(code, out, err, "--lr", "expected a number")
    code, out, err = run_cli("--model", str(tmp_path / "nothere.keras"), "run", "--steps", "1")
    assert_refused(code, out, err, "--model", "does not exist")
    out_json = tmp_path / "h.json"
    code, _, err = run_cli("--lr", "0.5", "run", "--steps", "1", "--quiet", "--out", str(out_json))
    assert code == 0, err
    import json

    assert json.loads(out_json.read_text())["config"]["lr"] == 0.5
