"""`gradtui run --influence K` and `--preview A,B,C`: the exports carry the step log and the sums with
their meanings, a saved session continues the sums, and bad values are one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .helpers import Run, assert_refused

ARGS = ["run", "--rule", "batch-loss", "--optimizer", "momentum", "--lr", "0.05", "--batch-size", "50"]


def test_influence_in_json_and_npz_and_the_preview_table(run_cli: Run, tmp_path: Path) -> None:
    out_json, out_npz = tmp_path / "h.json", tmp_path / "h.npz"
    common = [*ARGS, "--n-probe", "2", "--steps", "4", "--influence", "3"]
    code, out, err = run_cli(*common, "--out", str(out_json), "--preview", "0,1,2")
    assert code == 0, err
    data = json.loads(out_json.read_text())
    found = data["influence"]
    assert found["step"] == [1, 2, 3, 4] and found["probes"] == [0, 1] and found["source"] == ["rows"]
    values = np.asarray(found["values"], float)
    assert values.shape == (4, 2, 3) and np.asarray(found["rows"]).shape == (4, 2, 3)
    assert np.all(np.abs(values[..., 0]) >= np.abs(values[..., 2]))  # largest in size first
    assert np.asarray(found["cumulative"]).shape == (2, 500)
    for key in ("rows", "values", "rest", "history", "residual", "cumulative"):
        assert data["columns"][f"influence/{key}"]
    forecast = np.asarray(data["forecast"][1:], float)[:, :, 0]
    total = values.sum(-1) + np.asarray(found["rest"]) + np.asarray(found["history"]) + np.asarray(found["decay"])
    np.testing.assert_allclose(total, forecast, rtol=1e-4, atol=1e-7)
    assert "influence on probe 0 output 0, steps 1-4" in out
    assert "<- this step" in out and "curvature along the step" in out
    code, _, err = run_cli(*common, "--out", str(out_npz), "--quiet")
    assert code == 0, err
    with np.load(out_npz) as npz:
        np.testing.assert_allclose(npz["influence/cumulative"], found["cumulative"], rtol=1e-6)
        assert "influence/step" in json.loads(str(npz["meta"][0]))["columns"]


def test_a_saved_session_continues_the_sums(run_cli: Run, files: Path, tmp_path: Path) -> None:
    """Two runs of 3 steps on one session file sum to one run of 6, tracking the outputs it was saved with."""
    from gradtui.config import LabConfig
    from gradtui.lab.session import Session

    path = tmp_path / "s.npz"
    config = LabConfig.parse(
        {
            "model": str(files / "softmax3.keras"),
            "data": str(files / "classes3.npz"),
            "probe": str(files / "probe5.npy"),
            "rule": "batch-loss",
            "optimizer": "adam",
            "lr": 0.05,
            "batch_size": 20,
        }
    )
    session = Session.build(config)
    session.attribution_on(None, {0: 2, 1: 1})
    session.save(path)
    for _ in range(2):
        code, _, err = run_cli("run", "--session", str(path), "--steps", "3", "--influence", "2", "--quiet")
        assert code == 0, err
    resumed = Session.load(path)
    assert resumed.step_count == 6 and resumed.attributing is not None and resumed.attributing.outputs == (2, 1)
    whole = Session.build(config)
    whole.attribution_on(None, {0: 2, 1: 1})
    whole.step(6)
    for probe in (0, 1):
        got, want = resumed.influence(probe), whole.influence(probe)
        assert got is not None and want is not None and got.steps == 6 and got.since == 0
        np.testing.assert_allclose(got.values, want.values, rtol=1e-5, atol=1e-9)


def test_bad_influence_and_preview_are_one_line(run_cli: Run) -> None:
    assert_refused(*run_cli(*ARGS, "--influence", "-1"), "--influence", "1 to 10000")
    assert_refused(*run_cli(*ARGS, "--preview", "1,x"), "--preview", "separated by commas")
    assert_refused(*run_cli(*ARGS, "--preview", "1,nan"), "--preview", "finite")
