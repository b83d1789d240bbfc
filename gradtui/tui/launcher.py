"""Starting the app in a real terminal: argument checks, the screen driver, and the log redirect.

Kept apart from the app so the app stays a composition of widgets and actions that tests drive
headless, while this owns what only a real terminal needs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import IO, Any

from textual.app import App
from textual.driver import Driver

from gradtui import logs
from gradtui.config import LabConfig
from gradtui.presets import find_preset
from gradtui.stream.address import ShareSpec
from gradtui.tui import demo as demo_script
from gradtui.tui.app import GradApp
from gradtui.tui.demo import DemoError
from gradtui.tui.share import Share


def _screen_driver(screen: IO[str]) -> type[Driver] | None:
    """A terminal driver that draws on `screen` (a copy of the terminal's fd 2).

    Textual draws on sys.__stderr__, i.e. fd 2; while the app runs fd 2 is pointed at the log
    file so TensorFlow's C++ logs cannot draw over the screen, so the app must draw elsewhere.
    """
    if sys.platform == "win32":
        return None
    from textual.drivers.linux_driver import LinuxDriver

    class ScreenDriver(LinuxDriver):
        def __init__(self, app: App[Any], **kwargs: Any) -> None:
            super().__init__(app, **kwargs)
            self._file = screen  # type: ignore[assignment]

    return ScreenDriver


def run_app(
    config: LabConfig,
    preset: str | None,
    demo: str | None,
    session_file: str | None,
    resume: str | None = None,
    share_spec: ShareSpec | None = None,
) -> int:
    """The TUI, as `gradtui` runs it: exit code 0 on a normal quit, 2 for bad arguments, 1 on a crash,
    128 + the signal's number after SIGHUP, SIGTERM or SIGINT (the session autosaved first)."""
    try:
        beats = demo_script.load_script(demo) if demo else None
        if preset:
            find_preset(preset)
    except (DemoError, ValueError) as err:
        print(f"gradtui: {err}", file=sys.stderr)
        return 2
    share: Share | None = None
    if share_spec is not None:
        try:
            share = Share(share_spec).start()
        except OSError as err:
            print(f"gradtui: {err}", file=sys.stderr)
            return 2
        print(f"gradtui: sharing this lab: followers open {share.url}", file=sys.stderr)
    screen: IO[str] | None = None
    try:
        if sys.platform != "win32" and sys.__stderr__ is not None:
            screen = os.fdopen(os.dup(sys.__stderr__.fileno()), "w", encoding="utf-8", errors="replace")
        app = GradApp(
            config,
            preset=preset,
            beats=beats,
            session_file=session_file,
            driver_class=_screen_driver(screen) if screen else None,
            resume=resume,
            share=share,
        )
        if share is not None:  # the URL stays in the log tab; a toast says where
            app.call_later(app.notify, f"Sharing: {share.url} (also in the Log tab)", timeout=20)
        with logs.fd2_to_log():
            code = app.run()
        if app.watchdog is not None:
            app.watchdog.cancel()
    except Exception as err:
        logs.logger().exception("the app crashed")
        print(f"gradtui: the app stopped: {type(err).__name__}: {err} (details in {logs.log_file()})", file=sys.stderr)
        return 1
    finally:
        if share is not None:
            share.close()
        if screen is not None:
            with contextlib.suppress(OSError):
                screen.close()
    if app.exit_note:
        with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
            print(app.exit_note, file=sys.stderr)
    if app.return_code not in (0, None):
        print(f"gradtui: the app stopped with an error (details in {logs.log_file()})", file=sys.stderr)
    return code if isinstance(code, int) else (app.return_code or 0)


def main(argv: list[str] | None = None) -> int:
    """`python -m gradtui.tui.launcher [--preset NAME] [--demo FILE] [--session FILE]` (the CLI has the full
    flags)."""
    parser = argparse.ArgumentParser(prog="python -m gradtui.tui.launcher")
    parser.add_argument("--preset")
    parser.add_argument("--demo")
    parser.add_argument("--session")
    args = parser.parse_args(argv)
    return run_app(LabConfig(), args.preset, args.demo, args.session)


if __name__ == "__main__":
    raise SystemExit(main())
