"""The lab's terminal driver: where it draws, what floods it may pass on, and how to let go of the
terminal when the event loop cannot.

Three things a real terminal needs that tests driving the app headless do not:

- It draws on a copy of the terminal's fd 2 (`screen`): while the app runs fd 2 is pointed at the log
  file so TensorFlow's C++ logs cannot draw over the screen.
- Floods are thinned before they reach the app's queue. A paste of 5,000 spaces was 5,000 key events
  queued at once; each step press past the engine's queue of 100 raised a toast, and Textual reaps
  and redraws every toast on each new one, so the event loop spun for minutes (and SIGTERM, which it
  handles, waited behind them). Now a key repeated more than KEY_BURST times within KEY_WINDOW seconds
  is dropped here (the app says so once), and SIGWINCH storms are read at most every RESIZE_SETTLE s.
- `let_go` puts the terminal back (alternate screen, cursor, mouse, keyboard modes, tty attributes)
  from any thread: the signal watchdog's way out when the event loop does not answer.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from textual import events
from textual.app import App
from textual.driver import Driver
from textual.message import Message

KEY_BURST = 100  # repeats of one key let through per KEY_WINDOW: more than the engine queues (STEP_QUEUE)
KEY_WINDOW = 1.0
RESIZE_SETTLE = 0.1  # a resize storm is read at most this often (the last size always wins)
# leave the alternate screen, show the cursor, stop mouse reports, bracketed paste, focus events and the
# kitty keyboard protocol, wrap lines again: what Textual's stop_application_mode writes, in one write
RESTORE = (
    b"\x1b[<u\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1015l\x1b[?1006l\x1b[?2004l\x1b[?1004l\x1b[?7h\x1b[?1049l\x1b[?25h"
)


@dataclass
class KeysDropped(Message, bubble=False):
    """Repeats of `key` arrived faster than the lab can act on them; the extra ones were dropped."""

    key: str


class KeyFlood:
    """Which key events to pass on: a key repeated more than `burst` times within `window` seconds of the
    first of its run is dropped (typing, and a held key's auto-repeat at ~30 a second, never are)."""

    def __init__(self, burst: int = KEY_BURST, window: float = KEY_WINDOW, clock: Callable[[], float] = time.monotonic):
        self.burst = burst
        self.window = window
        self.clock = clock
        self.dropped = 0
        self._key = ""
        self._since = 0.0
        self._count = 0

    def admit(self, key: str) -> bool:
        """Whether to pass this key on; False the first time in a run is the caller's cue to say so."""
        now = self.clock()
        if key == self._key and now - self._since < self.window:
            self._count += 1
        else:
            self._key, self._since, self._count = key, now, 1
        if self._count > self.burst:
            self.dropped += 1
            return False
        return True

    @property
    def first_drop(self) -> bool:
        """The last refused key was the first of its run to be dropped."""
        return self._count == self.burst + 1


def screen_driver(screen: IO[str]) -> type[Driver] | None:
    """A terminal driver that draws on `screen`, thins key floods and resize storms, and can let go of
    the terminal from any thread (None on Windows: Textual's own driver)."""
    if sys.platform == "win32":
        return None
    import termios

    from textual.drivers.linux_driver import LinuxDriver

    class ScreenDriver(LinuxDriver):
        def __init__(self, app: App[Any], **kwargs: Any) -> None:
            super().__init__(app, **kwargs)
            self._file = screen  # type: ignore[assignment]
            self.flood = KeyFlood()
            self._resize_handler: Callable[[int, Any], Any] | None = None
            self._resize_pipe: tuple[int, int] | None = None

        def process_message(self, message: Message) -> None:
            """On the input thread: drop a flood's extra repeats before they are queued."""
            if isinstance(message, events.Key) and not self.flood.admit(message.key):
                if self.flood.first_drop:
                    self._app.post_message(KeysDropped(message.key))
                return
            super().process_message(message)

        def start_application_mode(self) -> None:
            super().start_application_mode()  # type: ignore[no-untyped-call]
            handler = signal.getsignal(signal.SIGWINCH)
            if callable(handler):
                self._resize_handler = handler
                if self._resize_pipe is None:
                    self._resize_pipe = wakeup_pipe()
                    threading.Thread(target=self._settle_resizes, name="gradtui-resize", daemon=True).start()
                signal.signal(signal.SIGWINCH, self._on_resize)

        def _on_resize(self, signum: int, frame: Any) -> None:
            """The signal handler: one byte down a pipe (no lock: a handler that waited on one could wait on
            the very code it interrupted)."""
            if self._resize_pipe is not None:
                poke(self._resize_pipe[1])

        def _settle_resizes(self) -> None:
            """SIGWINCH read once per RESIZE_SETTLE s at most, the size taken when it is read (the last one)."""
            assert self._resize_pipe is not None
            wake = self._resize_pipe[0]
            while True:
                try:
                    os.read(wake, 4096)
                    time.sleep(RESIZE_SETTLE)
                    _drain(wake)
                except OSError:
                    return
                handler = self._resize_handler
                if handler is not None:
                    with contextlib.suppress(Exception):  # the app may be closing
                        handler(signal.SIGWINCH, None)

        def let_go(self) -> None:
            """Put the terminal back now, from any thread (the event loop may be stuck)."""
            with contextlib.suppress(OSError, ValueError):
                os.write(screen.fileno(), RESTORE)
            if self.attrs_before is not None:
                with contextlib.suppress(termios.error, OSError):
                    termios.tcsetattr(self.fileno, termios.TCSANOW, self.attrs_before)

    return ScreenDriver


def wakeup_pipe() -> tuple[int, int]:
    """A pipe a signal handler can poke without a lock (its write end never blocks)."""
    read, write = os.pipe()
    os.set_blocking(write, False)
    return read, write


def poke(fd: int) -> None:
    with contextlib.suppress(OSError):  # full: a wake-up is pending anyway
        os.write(fd, b"x")


def _drain(fd: int) -> None:
    os.set_blocking(fd, False)
    try:
        with contextlib.suppress(BlockingIOError):
            while os.read(fd, 4096):
                pass
    finally:
        os.set_blocking(fd, True)


def let_go(app: App[Any]) -> None:
    """Restore the terminal the app's driver took over, if it is ours (a real terminal)."""
    driver = getattr(app, "_driver", None)
    release = getattr(driver, "let_go", None)
    if callable(release):
        release()
