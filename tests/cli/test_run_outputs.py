"""`gradtui run` writes what docs/cli.md documents: the JSON schema, the CSV, TensorBoard events; on a full
disk, --out goes to $TMPDIR and says so."""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pytest

from .helpers import Run


def test_json_csv_and_tensorboard(run_cli: Run, tmp_path: Path) -> None:
    out_json, out_csv, board = tmp_path / "h.json", tmp_path / "h.csv", tmp_path / "tb"
    args = [
        "run",
        "--rule",
        "batch-loss",
        "--optimizer",
        "adam",
        "--lr",
        "0.01",
        "--steps",
        "6",
        "--eval-every",
        "3",
        "--n-probe",
        "2",
        "--quiet",
    ]
    code, _, err = run_cli(*args, "--out", str(out_json), "--tensorboard", str(board))
    assert code == 0, err
    data = json.loads(out_json.read_text())
    assert data["format"] == "gradtui-history/1"
    assert data["config"]["rule"] == "batch-loss" and data["config"]["lr"] == 0.01 and data["config"]["steps"] == 6
    assert np.asarray(data["predictions"]).shape == (7, 2, 1)  # steps+1, n_probe, outputs; row 0 before any step
    assert data["step"] == list(range(7))
    assert np.asarray(data["weight_norm"]).shape == (7, len(data["layers"]))
    assert data["grad_norm"][0] == [None] * len(data["layers"])  # row 0 has no gradient
    assert data["eval_acc"][3] is not None and data["eval_acc"][4] is None  # evaluated every 3 steps
    assert set(data["columns"]) >= {"predictions", "forecast", "actual", "update_ratio", "acc_change", "flipped"}

    code, _, err = run_cli(*args, "--out", str(out_csv))
    assert code == 0, err
    with out_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 7 and "predictions_p1_k0" in rows[0]
    assert float(rows[6]["predictions_p1_k0"]) == np.float32(data["predictions"][6][1][0])  # same seeded run

    out_npz = tmp_path / "h.npz"
    code, _, err = run_cli(*args, "--out", str(out_npz))
    assert code == 0, err
    with np.load(out_npz) as columns:  # the same seeded run, as arrays, NaN where JSON has null
        assert json.loads(columns["meta"][0])["config"] == data["config"]
        assert columns["predictions"].tolist() == data["predictions"]
        assert np.isnan(columns["eval_acc"][4]) and columns["eval_acc"][3] == data["eval_acc"][3]

    from gradtui.lab.runtime import tf

    tags: dict[str, set[str]] = {"scalar": set(), "histogram": set()}
    for path in board.rglob("events.out.tfevents.*"):
        for raw in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(raw.numpy())
            for value in event.summary.value:
                kind = value.metadata.plugin_data.plugin_name
                tags["histogram" if kind == "histograms" else "scalar"].add(value.tag)
    assert any(t.startswith("gradients/") for t in tags["histogram"]), tags
    assert any(t.startswith("weights/") for t in tags["histogram"]), tags
    assert len(tags["scalar"]) >= 3, tags


def test_an_out_file_on_a_full_disk_goes_to_tmpdir_and_says_where(
    run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found on a full 300 KB tmpfs: `--out /full/x.json` after 3,000 steps said "cannot write" and the
    whole run's history was thrown away (exit 1); a session in the same place went to $TMPDIR."""
    from gradtui import files
    from gradtui.lab import export

    full, spare = tmp_path / "full", tmp_path / "spare"
    full.mkdir()
    spare.mkdir()
    (full / "x.json").write_text("an older export, kept whole")
    real = files.atomic_open

    @contextlib.contextmanager
    def full_disk(path: Path) -> Iterator[BinaryIO]:
        if Path(path).absolute().is_relative_to(full):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        with real(path) as handle:
            yield handle

    monkeypatch.setattr(export, "atomic_open", full_disk)
    monkeypatch.setenv("TMPDIR", str(spare))
    monkeypatch.setattr("tempfile.tempdir", None)
    code, _, err = run_cli("run", "--steps", "4", "--out", str(full / "x.json"), "--quiet")
    assert code == 1
    said = f"no space left on device on {full}; written to {spare / 'x.json'} instead"
    assert err == f"gradtui: --out: write failed: {said}\n"
    assert json.loads((spare / "x.json").read_text())["step"] == [0, 1, 2, 3, 4]
    assert (full / "x.json").read_text() == "an older export, kept whole"
