"""A dropped connection or a kill loses nothing: the real app in a pseudo-terminal, given real signals.

The lab runs as `python -m gradtui` on a pty (Textual needs a terminal), keys are typed into it, and
SIGHUP/SIGTERM arrive as they would from sshd or `kill`. Then the autosave must reopen with the step
count and the snapshot, `--resume` must show it, and the terminal must have been restored.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest

from gradtui.bench.terminal_figures import launch_in_pty

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # the whole app, TensorFlow and all, twice per signal

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


class Lab:
    """`python -m gradtui ARGS` on a 120x40 pty; its screen output collected as it comes."""

    def __init__(self, state: Path, *args: str) -> None:
        env = {**os.environ, "XDG_STATE_HOME": str(state), "TERM": "xterm-256color", "PYTHONPATH": str(ROOT)}
        env.pop("GRADTUI_FROZEN", None)
        self.proc, self.master = launch_in_pty(list(args), (120, 40), env, cwd=ROOT)
        self.output = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output.extend(chunk)

    def text(self) -> str:
        return ANSI.sub(b"", bytes(self.output)).decode("utf-8", "replace")

    def wait_for(self, pattern: str, timeout: float = 120.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text())
            if found:
                return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"no {pattern!r} on the screen; the end of it: {self.text()[-600:]!r}")

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def finish(self, timeout: float = 60.0) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        os.close(self.master)
        return code


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM])
def test_a_signal_during_play_autosaves_restores_the_terminal_and_resume_reopens_it(
    tmp_path: Path, signum: signal.Signals
) -> None:
    from gradtui.lab.session import Session

    lab = Lab(tmp_path)
    lab.wait_for(r"ready")
    lab.type("   ")  # three steps in one write: each counts
    lab.wait_for(r"step 3 ")
    lab.type("s")
    lab.wait_for(r"snapshot 'step-3' taken")
    lab.type("p")
    lab.wait_for(r"running")
    time.sleep(1.0)
    os.kill(lab.proc.pid, signum)
    code = lab.finish()
    assert code == 128 + signum
    tail = bytes(lab.output[-3000:])
    for restored in (b"\x1b[?1049l", b"\x1b[?25h", b"\x1b[?1000l"):  # alternate screen, cursor, mouse
        assert restored in tail, restored
    saved = list((tmp_path / "gradtui").glob("autosave-*.npz"))
    assert len(saved) == 1
    assert f"{signum.name}: the session was autosaved to {saved[0]}" in lab.text().replace("\r\n", "")

    session = Session.load(saved[0])
    assert session.step_count > 3 and session.snapshot_names == ["step-3"]

    again = Lab(tmp_path, "--resume")
    again.wait_for(rf"step {session.step_count} ")
    again.type("o")
    again.wait_for(r"step-3")
    again.type("\x1b")
    time.sleep(0.5)
    again.type("q")
    assert again.finish() == 0
    assert len(list((tmp_path / "gradtui").glob("autosave-*.npz"))) == 1  # nothing new was unsaved
