"""`gradtui run` keeps every step exactly (the file is the experiment), checked against memory up front.

The lab's bound is forced tiny here, so a 120-step run is past it: what the lab would summarise, a
headless run still writes row by row, unless --history bounded asks for the lab's behaviour.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gradtui.lab import history as lab_history
from gradtui.lab.history import EXACT, Dims, History

from .helpers import Run, assert_refused

STEPS = 120
ARGS = ("run", "--steps", str(STEPS), "--rule", "batch-loss", "--n-probe", "2", "--rows", "3")


@pytest.fixture
def tiny_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lab's history keeps 10 recent rows exactly (a real lab keeps 2,000 to 50,000)."""
    monkeypatch.setattr(lab_history, "RECENT_ROWS", (10, 10))


def test_the_export_holds_every_step_past_the_lab_bound(run_cli: Run, tmp_path: Path, tiny_bound: None) -> None:
    exact, bounded = tmp_path / "exact.npz", tmp_path / "bounded.npz"
    code, out, err = run_cli(*ARGS, "--out", str(exact))
    assert code == 0, err
    assert f"wrote {STEPS + 1} rows to {exact}" in out
    code, out, err = run_cli(*ARGS, "--out", str(bounded), "--history", "bounded")
    assert code == 0, err
    assert "of them summarise older steps" in out
    with np.load(exact) as every, np.load(bounded) as summarised:
        assert every["step"].tolist() == list(range(STEPS + 1))
        assert not every["summary"].any()
        # the same seeded run, bounded: fewer rows, and its exact rows are the exact run's rows
        kept = summarised["summary"] == EXACT
        assert len(summarised["step"]) < STEPS and kept.sum() < len(summarised["step"])
        at = summarised["step"][kept]
        assert at[-1] == STEPS
        for name in ("loss", "predictions", "weight_norm"):
            np.testing.assert_array_equal(summarised[name][kept], every[name][at])
    # the printed table reads recorded states only, first and last included
    table = [line.split()[0] for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert table[0] == "0" and table[-1] == str(STEPS)


def test_a_history_that_would_not_fit_is_refused_before_any_step(
    run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_bound: None
) -> None:
    from gradtui.lab import memory

    # 200 KB free: enough for the mlp itself (estimated at about 120 KB), not for 3,000 exact rows of
    # 8 probes (about 170 bytes each)
    monkeypatch.setattr(memory, "host_available", lambda: 200 << 10)
    args = ("run", "--steps", "3000", "--n-probe", "8", "--quiet")
    target = tmp_path / "h.npz"
    code, out, err = run_cli(*args, "--out", str(target))
    assert_refused(code, out, err, "--steps", "keeping all 3,000 steps exactly")
    assert "200.0 KB is available" in err and "--history bounded" in err
    assert out == "" and not target.exists()  # refused before the first step: nothing printed, nothing written
    code, out, err = run_cli(*args, "--out", str(target), "--history", "bounded")  # the way out it names
    assert code == 0, err
    with np.load(target) as written:
        assert written["step"][-1] == 3000 and len(written["step"]) < 3000


def test_the_check_counts_the_history_and_the_copies_written_from_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from gradtui.headless import exact_misfit
    from gradtui.lab import memory

    history = History(Dims(3, 4, 2))
    history.append({"step": np.arange(1)})
    rows = 1 + 1_000
    held = rows * history.row_bytes
    column = rows * 4 * 3 * 4  # predictions: 3 probes x 4 outputs of float32, the widest column
    for export, save, need in ((False, False, held), (True, False, held + column), (True, True, 3 * held)):
        monkeypatch.setattr(memory, "host_available", lambda n=need: n)
        assert exact_misfit(history, 1_000, export, save) is None
        monkeypatch.setattr(memory, "host_available", lambda n=need: n - 1)
        refusal = exact_misfit(history, 1_000, export, save)
        assert refusal is not None and refusal.startswith("--steps: keeping all 1,000 steps exactly")
    monkeypatch.setattr(memory, "host_available", lambda: None)  # no /proc/meminfo: nothing to check against
    assert exact_misfit(history, 10_000_000, True, True) is None
