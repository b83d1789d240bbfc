"""No work lost at the edges, in the lab (issue 21): two writers of one session file, autosaves other
labs prune, a full disk, damaged autosaves. The lab runs on the fake engine (no TensorFlow); its files
are the fake engine's, which keep their step count where real ones do (`current/step`)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from gradtui import autosave, file_lock, saving
from gradtui.config import LabConfig
from gradtui.files import atomic_write_bytes
from gradtui.lab import session_file
from gradtui.lab.session_peek import step_of
from gradtui.tui.app import GradApp, exit_line
from gradtui.tui.engine.fake import FakeSessions
from gradtui.tui.screens.prompts import ChoiceScreen, PathScreen
from gradtui.tui.widgets.status import StatusLine, StoryLine

from .helpers import make_app, settle, wait_until

ROOT = Path(__file__).resolve().parents[2]


def session_bytes(step: int) -> bytes:
    """A small real-format session file made by hand (what `--resume` reads back whole)."""
    meta = {
        "format": session_file.FORMAT,
        "config": LabConfig().to_dict(),
        "snapshots": [],
        "notes": [],
        "semantics": session_file.SEMANTICS,
    }
    arrays = {
        "meta": np.asarray(json.dumps(meta)),
        "current/w0": np.ones(3, np.float32),
        "current/step": np.asarray(step),
    }
    return session_file.to_bytes(arrays)


def status(app: GradApp) -> str:
    shown = app.lab.query_one("#status", StatusLine)._shown
    return shown.plain if shown is not None else ""


async def steps(pilot: Pilot[Any], count: int) -> None:
    for _ in range(count):
        await pilot.press("space")
    await settle(pilot)


async def save_as(pilot: Pilot[Any], path: Path) -> None:
    """ctrl+s, the path typed over the default, enter."""
    app = pilot.app
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: isinstance(app.screen, PathScreen))
    app.screen.query_one("#path", Input).value = str(path)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(app, GradApp)
    await wait_until(pilot, lambda: app.engine.join_writes(5) == [])
    await pilot.pause()


def another_writer(path: Path, more: int) -> None:
    """What `gradtui run --session s.npz --steps N` does to the file: open it, step, save it whole."""
    sessions = FakeSessions()
    session = sessions.load(str(path))
    session.step(more)
    saving.save_bytes(path, sessions.to_bytes(sessions.pack(session), compress=True))


async def test_ctrl_s_over_a_file_another_writer_changed_asks_naming_the_steps(tmp_path: Path) -> None:
    target = tmp_path / "s.npz"
    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        await steps(pilot, 3)
        await save_as(pilot, target)
        assert step_of(target) == 3
        another_writer(target, 50)  # the headless run adds 50 steps and saves
        theirs = target.read_bytes()
        await steps(pilot, 1)
        await save_as(pilot, target)  # the prefilled path, as before: now it asks
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        question = cast(ChoiceScreen, app.screen).question
        assert f"{target} changed on disk since it was loaded or saved here (step 3 then, step 53 now)" in question
        assert target.read_bytes() == theirs  # nothing written over the other run's 50 steps
        assert app.engine.dirty  # this lab's step 4 is still unsaved
        await pilot.press("enter")  # "Keep it (cancel)": the choice highlighted first
        await settle(pilot)
        assert target.read_bytes() == theirs
        await save_as(pilot, target)  # asked again; this time replace it
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("up", "enter")  # "Replace it"
        await settle(pilot)
        await wait_until(pilot, lambda: step_of(target) == 4)
        await steps(pilot, 1)
        await save_as(pilot, target)  # the lab's own last write: no question
        assert not isinstance(app.screen, ChoiceScreen) and step_of(target) == 5


async def test_a_file_opened_in_the_lab_is_remembered_too(tmp_path: Path) -> None:
    target = tmp_path / "s.npz"
    sessions = FakeSessions()
    first = sessions.build(LabConfig())
    first.step(7)
    target.write_bytes(sessions.to_bytes(sessions.pack(first), compress=True))
    app = make_app(session_file=str(target))
    async with app.run_test() as pilot:
        await settle(pilot)
        assert app.view.step == 7
        another_writer(target, 5)
        await steps(pilot, 1)
        await save_as(pilot, target)
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        assert "(step 7 then, step 12 now)" in cast(ChoiceScreen, app.screen).question


_PRUNE = "from gradtui import autosave; print(len(autosave.prune(keep=0)))"


async def test_another_labs_pruning_skips_a_running_labs_autosave_and_a_lost_one_is_written_again() -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        await steps(pilot, 2)
        app.engine.autosave()  # the timer's call
        await settle(pilot)
        mine = app.engine.autosave_path
        await wait_until(pilot, lambda: mine.exists())
        for n in range(6):  # six finished labs' autosaves, all newer
            (autosave.directory() / f"{autosave.PREFIX}20990101-00000{n}-{n + 10}.npz").write_bytes(session_bytes(n))
        pruned = subprocess.run(
            [sys.executable, "-c", _PRUNE], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
        )
        assert pruned.stdout.strip() == "6"  # every finished one (keep=0), never the running lab's
        assert mine.exists()
        mine.unlink()  # lost behind the lab's back (an older gradtui's pruning, a person)
        assert not app.engine.dirty
        app.engine.autosave()  # nothing changed, but the file is gone: written again
        await settle(pilot)
        await wait_until(pilot, lambda: mine.exists())
        assert step_of(mine) == 2


def _failing_in(*directories: Path) -> Any:
    """atomic_write_bytes failing with ENOSPC in these directories, as a full filesystem does."""
    real = atomic_write_bytes

    def write(path: Path, data: bytes) -> None:
        if any(Path(path).absolute().is_relative_to(d) for d in directories):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    return write


def _full_state_dir(monkeypatch: pytest.MonkeyPatch, fallback: Path) -> Path:
    """The autosave directory full (ENOSPC) and $TMPDIR at `fallback`, where a failed autosave goes."""
    monkeypatch.setenv("TMPDIR", str(fallback))
    monkeypatch.setattr(tempfile, "tempdir", None)
    state = autosave.directory().absolute()
    monkeypatch.setattr(saving, "atomic_write_bytes", _failing_in(state))
    return state


async def _autosaved_after_two_steps(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await steps(pilot, 2)
    cast(GradApp, pilot.app).engine.autosave()


async def test_a_failed_autosave_is_on_the_status_line_at_once_and_the_fallback_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = _full_state_dir(monkeypatch, tmp_path)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await _autosaved_after_two_steps(pilot)
        await settle(pilot)
        fallback = tmp_path / app.engine.autosave_path.name
        await wait_until(pilot, lambda: "autosave failed" in status(app))
        assert status(app).startswith(f" autosave failed: no space left on device on {state}; saved to {fallback}")
        assert step_of(fallback) == 2
        monkeypatch.setattr(saving, "atomic_write_bytes", _failing_in(state, tmp_path, Path.cwd().absolute()))
        await steps(pilot, 1)
        await pilot.press("q")
        await wait_until(pilot, lambda: bool(app.exit_note), 30)
    assert app.return_value == 1  # the work could not be saved anywhere: a non-zero exit
    assert "autosave failed: no space left on device on" in app.exit_note
    assert app.exit_note.endswith("not saved anywhere: the unsaved work is lost")


async def test_at_80_columns_a_failed_autosave_says_whole_where_the_work_went_until_it_lands_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in tmux at 100x30: the status line ended at "...; saved to" and the fallback's path was cut off."""
    tmp_path = Path(tempfile.mkdtemp(prefix="q", dir="/tmp"))  # as short as a real $TMPDIR, not pytest's
    _full_state_dir(monkeypatch, tmp_path)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _autosaved_after_two_steps(pilot)
        fallback = tmp_path / app.engine.autosave_path.name
        notice = app.lab.query_one("#notice", StoryLine)
        await wait_until(pilot, lambda: bool(notice.display))
        await pilot.pause()
        assert not notice.truncated and notice.size.height >= 2  # wrapped, not cut
        assert f"saved to {fallback} instead" in notice.full.plain
        assert "autosave failed" in status(app)
        monkeypatch.setattr(saving, "atomic_write_bytes", atomic_write_bytes)  # space again
        await steps(pilot, 1)
        app.engine.autosave()
        await wait_until(pilot, lambda: "autosave failed" not in status(app))
        assert not notice.display  # it landed where it belongs: the notice would mislead now
    shutil.rmtree(tmp_path)


async def test_a_final_save_that_lands_in_the_fallback_says_where_and_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.setattr(saving, "atomic_write_bytes", _failing_in(autosave.directory().absolute()))
    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        await steps(pilot, 3)
        await pilot.press("q")
        await wait_until(pilot, lambda: bool(app.exit_note), 30)
    fallback = tmp_path / app.engine.autosave_path.name
    assert app.return_value == 0 and step_of(fallback) == 3
    assert f"saved to {fallback} instead; gradtui --session {fallback} reopens it" in app.exit_note


async def test_a_ctrl_s_that_landed_in_the_fallback_is_said_again_on_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in tmux: ctrl+s to a full disk went to /tmp/lab.npz, then `q` printed nothing (the work was
    saved, so there was no autosave to report): where it went was only in a toast, gone by then."""
    full, fallback = tmp_path / "full", tmp_path / "tmp"
    full.mkdir()
    fallback.mkdir()
    monkeypatch.setenv("TMPDIR", str(fallback))
    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.setattr(saving, "atomic_write_bytes", _failing_in(full))
    app = make_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        await steps(pilot, 2)
        await save_as(pilot, full / "lab.npz")
        assert step_of(fallback / "lab.npz") == 2
        await pilot.press("q")
        await wait_until(pilot, lambda: bool(app.exit_note), 30)
    assert app.return_value == 0
    assert f"save failed: no space left on device on {full}; saved to {fallback / 'lab.npz'} instead" in app.exit_note


async def test_a_plain_start_skips_a_damaged_newest_autosave_and_says_so_until_dismissed() -> None:
    good = autosave.directory() / f"{autosave.PREFIX}20200101-000000-1.npz"
    good.parent.mkdir(parents=True, exist_ok=True)
    good.write_bytes(session_bytes(4))
    os.utime(good, (1e9, 1e9))
    broken = autosave.directory() / f"{autosave.PREFIX}20200101-000001-2.npz"
    broken.write_bytes(session_bytes(9)[:200])  # cut off: newer, and unreadable
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        notice = app.lab.query_one("#notice", StoryLine)
        await wait_until(pilot, lambda: bool(notice.display))
        assert f"skipped a damaged autosave, moved aside: {broken.name}.damaged" in notice.full.plain
        assert f"autosaved to {good}" in app.lab.query_one("#hint", StoryLine).full.plain  # the offer: the readable one
        assert not broken.exists() and broken.with_name(broken.name + ".damaged").exists()
        await steps(pilot, 2)
        await pilot.pause(9)  # a toast would be gone by now; the notice stays
        assert notice.display
        await pilot.press("escape")
        await pilot.pause()
        assert not notice.display


async def test_resume_shows_the_damaged_autosaves_it_skipped() -> None:
    app = make_app(notices=("--resume: skipped a damaged autosave, moved aside: a.npz.damaged (cut off)",))
    async with app.run_test() as pilot:
        await settle(pilot)
        notice = app.lab.query_one("#notice", StoryLine)
        assert notice.display and "a.npz.damaged (cut off)" in notice.full.plain


def test_the_exit_line_says_resume_only_when_resume_would_open_this_labs_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found with two labs in tmux, HUP'd together: both printed `gradtui --resume reopens it`, but --resume
    opens only the newest, the other lab's. A lab whose autosave is not the newest, or while another lab
    runs (its autosave, written or to come, will be newer), names its own file."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    folder = autosave.directory()
    mine, other = folder / "autosave-20260101-100000-1.npz", folder / "autosave-20260101-100000-2.npz"
    mine.write_bytes(b"mine")
    os.utime(mine, (1000, 1000))
    outcome = saving.SaveOutcome(requested=mine, written=mine)
    assert exit_line(outcome, "SIGHUP").endswith(f"autosaved to {mine}; gradtui --resume reopens it")
    other.write_bytes(b"the other lab's, newer")
    os.utime(other, (2000, 2000))
    assert exit_line(outcome, "SIGHUP").endswith(
        f"; gradtui --session {mine} reopens it "
        "(another lab is running or saved later; gradtui sessions lists them all)"
    )
    os.utime(mine, (3000, 3000))  # this lab's is newest, but the other lab still runs and will save later
    held = file_lock.acquire(autosave.lock_path(other), 0.0)
    assert held is not None
    try:
        assert f"gradtui --session {mine} reopens it" in exit_line(outcome, "SIGHUP")
    finally:
        file_lock.release(held, autosave.lock_path(other))
    assert exit_line(outcome, "").endswith("gradtui --resume reopens it")
