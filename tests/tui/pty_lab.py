"""The lab in a real pseudo-terminal for the tests: started by the bench's launcher, its output collected by a
thread, keys typed as bytes. Every lab started here is in STARTED, which tests/tui/conftest.py kills after each
test, pass or fail, so a failed wait never leaves a lab spinning."""

from __future__ import annotations

import fcntl
import os
import re
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from gradtui.bench.terminal_figures import launch_in_pty

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")

STARTED: list[subprocess.Popen[bytes]] = []  # every lab a test started: killed after it, pass or fail


def kill_started() -> None:
    """Kill every lab a test started that is still running (the fixture calls it after each test)."""
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


class PtyLab:
    """`python ENTRY ARGS` (the lab: `-m gradtui`) on a pty of `size`, with XDG_STATE_HOME=`state`; everything
    it writes to the terminal is kept. `timeout` is how long `wait_for` waits unless told."""

    def __init__(
        self,
        state: Path,
        args: Sequence[str] = (),
        *,
        entry: tuple[str, ...] = ("-m", "gradtui"),
        size: tuple[int, int] = (120, 40),
        cwd: Path = ROOT,
        timeout: float = 60.0,
    ) -> None:
        env = {**os.environ, "XDG_STATE_HOME": str(state), "TERM": "xterm-256color", "PYTHONPATH": str(ROOT)}
        env.pop("GRADTUI_FROZEN", None)
        self.timeout = timeout
        self.proc, self.master = launch_in_pty(list(args), size, env, cwd=cwd, entry=entry)
        STARTED.append(self.proc)
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

    def wait_for(self, pattern: str, timeout: float | None = None) -> re.Match[str]:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text())
            if found:
                return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} on the screen; the end of it: {self.text()[-600:]!r}")

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def resize(self, columns: int, rows: int) -> None:
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        os.kill(self.proc.pid, signal.SIGWINCH)

    def finish(self, timeout: float) -> tuple[int | None, float]:
        """The exit code (None: still running after `timeout`, then killed) and how long it took."""
        started = time.monotonic()
        try:
            code: int | None = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
            self.proc.kill()
            self.proc.wait()
        took = time.monotonic() - started
        self._reader.join(5)
        os.close(self.master)
        return code, took

    def restored(self) -> bool:
        """The terminal was given back: the alternate screen left and the cursor shown."""
        tail = bytes(self.output[-4000:])
        return all(seq in tail for seq in (b"\x1b[?1049l", b"\x1b[?25h"))
