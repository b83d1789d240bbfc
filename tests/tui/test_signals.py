"""A dropped connection or a kill loses nothing: the real app in a pseudo-terminal, given real signals.

The lab runs as `python -m gradtui` on a pty (Textual needs a terminal), keys are typed into it, and
SIGHUP/SIGTERM arrive as they would from sshd or `kill`. Then the autosave must reopen with the step
count and the snapshot, `--resume` must show it, and the terminal must have been restored.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from .pty_lab import PtyLab

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # the whole app, TensorFlow and all, twice per signal


def real_lab(state: Path, *args: str) -> PtyLab:
    """`python -m gradtui ARGS` on a 120x40 pty: the real engine, so its waits allow TensorFlow's import."""
    return PtyLab(state, args, timeout=120.0)


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM])
def test_a_signal_during_play_autosaves_restores_the_terminal_and_resume_reopens_it(
    tmp_path: Path, signum: signal.Signals
) -> None:
    from gradtui.lab.session import Session

    lab = real_lab(tmp_path)
    lab.wait_for(r"ready")
    lab.type("   ")  # three steps in one write: each counts
    lab.wait_for(r"step 3 ")
    lab.type("s")
    lab.wait_for(r"snapshot 'step-3' taken")
    lab.type("p")
    lab.wait_for(r"running")
    time.sleep(1.0)
    os.kill(lab.proc.pid, signum)
    code, _ = lab.finish(60)
    assert code == 128 + signum
    tail = bytes(lab.output[-3000:])
    for restored in (b"\x1b[?1049l", b"\x1b[?25h", b"\x1b[?1000l"):  # alternate screen, cursor, mouse
        assert restored in tail, restored
    saved = list((tmp_path / "gradtui").glob("autosave-*.npz"))
    assert len(saved) == 1
    assert f"{signum.name}: the session was autosaved to {saved[0]}" in lab.text().replace("\r\n", "")

    session = Session.load(saved[0])
    assert session.step_count > 3 and session.snapshot_names == ["step-3"]

    again = real_lab(tmp_path, "--resume")
    again.wait_for(rf"step {session.step_count} ")
    again.type("o")
    again.wait_for(r"step-3")
    again.type("\x1b")
    time.sleep(0.5)
    again.type("q")
    assert again.finish(60)[0] == 0
    assert len(list((tmp_path / "gradtui").glob("autosave-*.npz"))) == 1  # nothing new was unsaved
