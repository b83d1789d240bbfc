"""Running labs' autosaves are never pruned; a lost autosave is written again; `--resume` skips damaged
ones and `gradtui sessions` lists them. No TensorFlow: session files are made by hand."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gradtui import autosave
from gradtui.lab import session_peek

from .helpers import Run
from .test_saving import session_bytes


def _finished(name: str, step: int, age: float) -> Path:
    """An autosave left by a lab that quit or died `age` seconds ago."""
    path = autosave.directory() / f"{autosave.PREFIX}{name}.npz"
    path.write_bytes(session_bytes(step))
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


_LAB = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from gradtui import autosave
    slot = autosave.AutosaveSlot(Path(sys.argv[1]))
    slot.write(Path(sys.argv[2]).read_bytes(), step=4)
    print("running", flush=True)
    sys.stdin.readline()
    """
)


@pytest.fixture
def running_lab(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """Another lab process, holding its autosave slot, with an autosave written an hour ago."""
    path = autosave.directory() / f"{autosave.PREFIX}20200101-000000-1.npz"
    data = tmp_path / "data.npz"
    data.write_bytes(session_bytes(4))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _LAB, str(path), str(data)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "running"
    stamp = time.time() - 3600
    os.utime(path, (stamp, stamp))
    yield path, proc
    proc.kill()
    proc.wait()


def test_pruning_never_removes_a_running_labs_autosave(running_lab: tuple[Path, subprocess.Popen[str]]) -> None:
    """Lab A autosaved an hour ago and still runs; five newer autosaves exist; lab B quits and prunes."""
    path, _ = running_lab
    newer = [_finished(f"2024010{i}-000000-9{i}", i, age=60 * i) for i in range(1, 6)]
    older = _finished("20190101-000000-7", 1, age=7200)
    assert autosave.is_running(path)
    removed = autosave.prune()
    assert path.exists()  # the running lab's file stays, and does not count among the five
    assert all(p.exists() for p in newer)
    assert removed == [older] and not older.exists()


def test_a_killed_labs_autosave_counts_as_finished_and_its_lock_goes(
    running_lab: tuple[Path, subprocess.Popen[str]],
) -> None:
    path, proc = running_lab
    proc.kill()
    proc.wait()
    assert not autosave.is_running(path)
    for i in range(1, 6):
        _finished(f"2024010{i}-000000-9{i}", i, age=60 * i)
    autosave.prune()
    assert not path.exists() and not autosave.lock_path(path).exists()


def test_a_lab_whose_autosave_was_removed_writes_it_again(tmp_path: Path) -> None:
    slot = autosave.AutosaveSlot()
    try:
        assert slot.locked and not slot.needs_write(dirty=False)
        assert slot.write(session_bytes(3), step=3).where_asked
        assert not slot.needs_write(dirty=False)
        slot.path.unlink()  # an older gradtui's pruning, or a person
        assert slot.lost() and slot.needs_write(dirty=False)
        slot.write(session_bytes(3), step=3)
        assert slot.path.exists() and not slot.lost()
        slot.path.write_bytes(session_bytes(99))  # someone else's bytes under this lab's name
        assert slot.needs_write(dirty=False)
    finally:
        slot.close(discard=True)
    assert not slot.path.exists() and not autosave.lock_path(slot.path).exists()


def test_resume_skips_a_damaged_newest_autosave_and_moves_it_aside() -> None:
    good = _finished("20240101-000000-1", 4, age=600)
    whole = session_bytes(9)
    bad = autosave.directory() / f"{autosave.PREFIX}20240102-000000-2.npz"
    bad.write_bytes(whole[: len(whole) // 2])  # truncated: the newest
    for _ in range(2):  # the second time there is nothing left to move
        choice = autosave.newest_readable()
        assert choice.path == good
    assert not bad.exists() and bad.with_name(bad.name + ".damaged").exists()
    assert autosave.existing() == [good]  # out of the five slots


def test_resume_notice_names_the_damaged_file_in_one_line() -> None:
    _finished("20240101-000000-1", 4, age=600)
    bad = autosave.directory() / f"{autosave.PREFIX}20240102-000000-2.npz"
    bad.write_bytes(b"PK\x03\x04 cut off\n\x1b[2J")
    notice = autosave.newest_readable().notice
    assert notice is not None and bad.name in notice and ".damaged" in notice
    assert "\n" not in notice and "\x1b" not in notice


def test_sessions_lists_autosaves_and_resume_n_picks_one(run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    older = _finished("20240101-000000-1", 4, age=600)
    bad = autosave.directory() / f"{autosave.PREFIX}20240102-000000-2.npz"
    bad.write_bytes(b"PK\x03\x04 cut off")
    code, out, err = run_cli("sessions")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[1].split()[0] == "1" and "DAMAGED" in lines[1] and bad.name in lines[1]
    assert "step ?" in lines[1] and "? snapshots" in lines[1]  # unknown, not "0 snapshots"
    assert (
        lines[2].split()[0] == "2" and "step 4" in lines[2] and "readable" in lines[2] and "preset example1" in lines[2]
    )  # the defaults are the first experiment

    opened: dict[str, object] = {}

    def fake_app(*args: object, **kwargs: object) -> int:
        opened.update(kwargs)
        return 0

    import gradtui.tui.launcher

    monkeypatch.setattr(gradtui.tui.launcher, "run_app", fake_app)
    assert run_cli("--resume", "2")[0] == 0 and opened["resume"] == str(older)
    code, out, err = run_cli("--resume", "1")
    assert code == 2 and bad.name in err and "damaged" in err and len(err.splitlines()) == 1
    code, out, err = run_cli("--resume", "7")
    assert code == 2 and "lists 2" in err
    for typed in ("0", "-1", "two"):  # numbered from 1: 0 is not a second spelling of the newest
        code, out, err = run_cli("--resume", typed)
        assert code == 2 and "from 1" in err and len(err.strip().splitlines()) == 1, err
    code, out, err = run_cli("--resume")  # the newest readable, the damaged one moved aside and named
    assert code == 0 and opened["resume"] == str(older) and bad.name in err and ".damaged" in err


def test_sessions_with_none(run_cli: Run) -> None:
    code, out, _ = run_cli("sessions")
    assert code == 0 and out.startswith("no autosaves in ")


def test_step_of_a_running_labs_autosave(running_lab: tuple[Path, subprocess.Popen[str]]) -> None:
    path, _ = running_lab
    assert session_peek.step_of(path) == 4
    info = session_peek.peek(path)
    assert info.readable and info.step == 4 and info.snapshots == 0


def test_resume_prefers_a_finished_labs_autosave_to_a_running_labs_newer_one(
    running_lab: tuple[Path, subprocess.Popen[str]],
) -> None:
    """Found with two labs in tmux: the one still playing autosaves every 30 s, so after the other lab's
    connection dropped, `gradtui --resume` opened the running lab's work instead of the dropped one's."""
    path, _ = running_lab
    now = time.time()
    os.utime(path, (now, now))  # the running lab saved a moment ago: the newest
    dropped = _finished("20240101-000000-1", 7, age=60)
    assert autosave.existing()[0] == path
    assert autosave.newest_readable().path == dropped
    dropped.unlink()
    assert autosave.newest_readable().path == path  # the only one left: still offered


def test_a_state_dir_that_cannot_be_made_is_no_traceback_and_autosaves_fall_back(
    run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found with HOME on a read-only filesystem: `gradtui sessions` and the lab ended in a traceback (the
    state dir was created on every look at it); now the look works and an autosave goes to $TMPDIR."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the state directory's parent should be")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    code, out, err = run_cli("sessions")
    assert (code, err) == (0, "") and out.startswith(f"no autosaves in {blocker / 'gradtui'}")
    code, out, err = run_cli("--resume")
    assert code == 2 and err.startswith("gradtui: --resume: no readable autosave") and out == ""
    slot = autosave.AutosaveSlot()
    outcome = slot.write(session_bytes(3), step=3)
    slot.close()
    assert outcome.written == tmp_path / slot.path.name and session_peek.step_of(outcome.written) == 3
    said = outcome.line("autosave")
    assert said.startswith(f"autosave failed: cannot write to {blocker / 'gradtui'} (not a directory); saved to")
