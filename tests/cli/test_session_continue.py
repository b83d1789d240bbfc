"""`gradtui run --session`: continuing keeps the experiment, a new file is created, a file changed on disk
meanwhile is not written over, a damaged file is bad input (2), and text from the file is printed with
its control characters visible."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from gradtui.config import LabConfig
from gradtui.lab import session_peek

from .helpers import Run, assert_refused

EVIL = "\x1b]0;pwned\x07\x1b[2J"


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default experiment (mlp, 500 held-out rows) after 3 steps, a snapshot and a note, both with
    escape codes in them."""
    from gradtui.lab.session import Session

    session = Session.build(LabConfig())
    session.step(3)
    session.snapshot(f"snap{EVIL}")
    session.notes.append(f"a note {EVIL} end")
    path = tmp_path_factory.mktemp("sessions") / "s.npz"
    session.save(path)
    return path


@pytest.fixture
def s(saved: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "s.npz"
    copy.write_bytes(saved.read_bytes())
    return copy


def test_a_flag_that_would_rebuild_is_refused_naming_it_and_the_file_is_kept(run_cli: Run, s: Path) -> None:
    before = s.read_bytes()
    code, out, err = run_cli("run", "--session", str(s), "--steps", "5", "--eval-max", "300", "--quiet")
    assert_refused(code, out, err, "--eval-max 300", "would start a new experiment")
    assert s.read_bytes() == before
    code, out, err = run_cli("run", "--session", str(s), "--steps", "5", "--seed", "7", "--loss", "mse", "--quiet")
    assert_refused(code, out, err, "--seed 7", "--loss mse")
    assert s.read_bytes() == before


def test_a_flag_with_the_effective_value_changes_nothing(run_cli: Run, s: Path) -> None:
    """--eval-max 500 on 500 held-out rows, the device and seed it already has: continued, not rebuilt."""
    code, out, err = run_cli(
        "run", "--session", str(s), "--steps", "2", "--eval-max", "500", "--device", "cpu", "--seed", "0", "--rows", "0"
    )
    assert code == 0, err
    assert "continuing" in out and "at step 3" in out
    assert session_peek.step_of(s) == 5


def test_settings_that_change_in_place_still_apply(run_cli: Run, s: Path) -> None:
    code, _, err = run_cli("run", "--session", str(s), "--steps", "2", "--lr", "0.5", "--quiet")
    assert code == 0, err
    assert session_peek.step_of(s) == 5
    assert session_peek.saved_config(s).lr == 0.5


def test_typed_settings_are_checked_against_the_continued_sessions_own(run_cli: Run, tmp_path: Path) -> None:
    """Found by hand: `--batch-size 8` continuing a batch-loss session was refused as "only the batch-loss
    rule uses it (the rule is prediction)" (checked against the defaults), and `--label 1` was saved while
    the session stayed on batch-loss, which ignores it (the rule a label selects was not applied)."""
    path = tmp_path / "b.npz"
    code, _, err = run_cli("run", "--session", str(path), "--rule", "batch-loss", "--steps", "1", "--quiet")
    assert code == 0, err
    code, _, err = run_cli("run", "--session", str(path), "--steps", "1", "--batch-size", "8", "--quiet")
    assert code == 0, err
    assert session_peek.saved_config(path).batch_size == 8
    code, out, err = run_cli("run", "--session", str(path), "--steps", "1", "--momentum", "0.5", "--quiet")
    assert_refused(code, out, err, "--momentum", "the optimizer is auto")  # the session's optimizer, rightly
    code, _, err = run_cli("run", "--session", str(path), "--steps", "1", "--label", "1", "--quiet")
    assert code == 0, err
    config = session_peek.saved_config(path)
    assert (config.rule, config.label, session_peek.step_of(path)) == ("example-loss", 1, 3)


def test_a_new_session_file_is_created_from_the_flags(run_cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "new.npz"
    code, out, err = run_cli("run", "--session", str(path), "--steps", "2", "--lr", "0.3", "--eval-max", "100")
    assert code == 0, err
    assert f"created the session (step 2) at {path}" in out
    assert session_peek.step_of(path) == 2
    config = session_peek.saved_config(path)
    assert (config.lr, config.eval_max) == (0.3, 100)


def test_a_file_changed_during_the_run_is_not_written_over(
    run_cli: Run, s: Path, monkeypatch: pytest.MonkeyPatch, saved: Path
) -> None:
    """The lab saved s.npz while `gradtui run --session s.npz` was running: the run does not throw the
    lab's work away; it saves itself beside it and says so (exit 2)."""
    from gradtui.lab.session import Session

    real_step = Session.step
    theirs = saved.read_bytes()  # the other writer: same steps, other bytes (a later save of the lab)

    def step_while_another_writes(self: Session, n: int = 1, *args: Any, **kwargs: Any) -> Any:
        report = real_step(self, n, *args, **kwargs)
        s.write_bytes(theirs)
        with zipfile.ZipFile(s, "a") as z:
            z.writestr("lab-was-here.txt", "x")  # and different bytes
        return report

    monkeypatch.setattr(Session, "step", step_while_another_writes)
    code, _, err = run_cli("run", "--session", str(s), "--steps", "4", "--quiet")
    lab_copy = s.read_bytes()
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and "changed on disk" in lines[0] and "step 3 then, step 3 now" in lines[0]
    assert "not written over" in lines[0] and "saved to" in lines[0]
    assert b"lab-was-here" in lab_copy  # the other writer's file is intact
    beside = [p for p in s.parent.glob("s.run-*.npz")]
    assert len(beside) == 1 and session_peek.step_of(beside[0]) == 7
    assert str(beside[0]) in lines[0]


def test_a_session_with_a_bad_crc_is_bad_input(run_cli: Run, s: Path) -> None:
    with zipfile.ZipFile(s) as z:
        info = z.getinfo("current/w0.npy")
        start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data = bytearray(s.read_bytes())
    data[start + info.compress_size // 2] ^= 0xFF
    s.write_bytes(bytes(data))
    code, _, err = run_cli("run", "--session", str(s), "--steps", "1", "--quiet")
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "CRC" in err or "damaged" in err or "not a readable" in err


def test_escape_codes_from_a_session_are_shown_not_sent(run_cli: Run, s: Path) -> None:
    code, out, err = run_cli("run", "--session", str(s), "--steps", "1", "--rows", "1")
    assert code == 0, err
    for stream in (out, err):
        assert "\x1b" not in stream and "\x07" not in stream
    assert "a note \\x1b]0;pwned\\x07\\x1b[2J end" in out
    assert "snap\\x1b]0;pwned\\x07\\x1b[2J" in out


def test_escape_codes_in_a_file_name_are_shown_in_the_error(run_cli: Run, tmp_path: Path) -> None:
    path = tmp_path / f"x{EVIL}.npz"
    path.write_bytes(b"PK\x03\x04not really")
    code, _, err = run_cli("run", "--session", str(path), "--steps", "1", "--quiet")
    assert code == 2
    assert "\x1b" not in err and "\x07" not in err and "\\x1b]0;pwned\\x07" in err


def test_the_lab_refuses_a_damaged_session_file_before_it_starts(
    run_cli: Run, s: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in tmux: `gradtui --session cut.npz` opened a fresh lab at step 0, the reason in a toast that
    was gone in 8 s (and a ctrl+s then saved the blank lab); now one line, exit 2, as `run --session`."""
    import gradtui.tui.launcher

    opened: list[object] = []

    def fake_app(*args: object, **kwargs: object) -> int:
        opened.append(kwargs.get("session_file"))
        return 0

    monkeypatch.setattr(gradtui.tui.launcher, "run_app", fake_app)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(s.read_bytes()[:3000])
    code, out, err = run_cli("--session", str(cut))
    assert_refused(code, out, err, f"--session: {cut}", "is not a readable .npz archive")
    assert opened == []
    assert run_cli("--session", str(s))[0] == 0 and opened == [str(s)]  # a whole one opens
