"""Signals are handled however busy the event loop is.

asyncio's signal handlers run as event-loop callbacks: a loop busy for a minute answered SIGTERM a
minute late, and a loop that never freed up never answered. Here a signal only sets a flag (a plain
Python handler, which runs between two bytecodes of the main thread whatever the loop is doing), asks
the loop to leave as usual, and wakes a watchdog thread. If the loop has not begun leaving within
GRACE seconds, or has begun and not finished within its own deadline, the watchdog does it: the
engine autosaves from its session as it stands between two chunks (its thread is not the loop's), the
terminal is put back (terminal.let_go), the outcome is printed on it, and the process exits 128+N.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from typing import IO

from gradtui import logs
from gradtui.tui.terminal import poke, wakeup_pipe

GRACE = 2.0  # seconds the event loop has to begin leaving after a signal
SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)


class SignalWatchdog:
    """Installed once the app runs (main thread). `leave(signum)` asks the event loop to leave (thread-safe);
    `save()` is the final autosave, returning the line to print; `let_go()` restores the terminal."""

    def __init__(
        self,
        leave: Callable[[int], object],
        save: Callable[[int], str],
        let_go: Callable[[], None],
        screen: IO[str] | None,
    ) -> None:
        self._leave = leave
        self._save = save
        self._let_go = let_go
        self._screen = screen
        self._wake = wakeup_pipe()  # the signal handler's only way to wake the watchdog: no lock taken
        self._begun = threading.Event()  # the event loop has begun leaving (it answered)
        self._done = threading.Event()  # the app has exited normally: stand down
        self._deadline = GRACE
        self.signum = 0
        self._thread = threading.Thread(target=self._watch, name="gradtui-watchdog", daemon=True)

    def install(self) -> None:
        for signum in SIGNALS:
            with contextlib.suppress(ValueError, OSError):  # not the main thread (tests): asyncio's only
                signal.signal(signum, self._handler)
        self._thread.start()

    def _handler(self, signum: int, frame: object) -> None:
        """The main thread, between two bytecodes: a flag, a byte down a pipe, a request to the loop. It takes
        no lock (it may have interrupted the code holding it) and never blocks."""
        if self.signum:
            return  # a second signal changes nothing: the first is being acted on
        self.signum = signum
        poke(self._wake[1])
        with contextlib.suppress(RuntimeError):  # the loop is closed: the watchdog acts alone
            self._leave(signum)

    def begun(self, within: float) -> None:
        """The event loop is leaving (quit or signal) and should be done within `within` seconds; the
        watchdog takes over after that."""
        self._deadline = within
        self._begun.set()
        poke(self._wake[1])

    def stand_down(self) -> None:
        """The app has exited by itself: the watchdog has nothing to do."""
        self._done.set()
        poke(self._wake[1])

    def _watch(self) -> None:
        with contextlib.suppress(OSError):
            os.read(self._wake[0], 1)
        if self._done.is_set():
            return
        if not self._begun.wait(GRACE):
            why = f"the event loop did not answer {signal.Signals(self.signum).name} within {GRACE:g} s"
        elif self._done.wait(self._deadline):
            return
        else:
            why = f"leaving took more than {self._deadline:g} s"
        if self._done.is_set():
            return
        code = 128 + self.signum if self.signum else 1
        logs.logger().warning("watchdog: %s; saving and exiting %d", why, code)
        line = ""
        with contextlib.suppress(Exception):
            line = self._save(self.signum)
        self._let_go()
        if self._screen is not None:
            with contextlib.suppress(OSError, ValueError):
                os.write(self._screen.fileno(), f"\r\n{line}\r\ngradtui: {why}; exiting {code}\r\n".encode())
        os._exit(code)
