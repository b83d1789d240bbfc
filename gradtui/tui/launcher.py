"""Starting the app in a real terminal: argument checks, the screen driver, and the log redirect.

Kept apart from the app so the app stays a composition of widgets and actions that tests drive
headless, while this owns what only a real terminal needs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import IO

from gradtui import logs
from gradtui.config import LabConfig
from gradtui.presets import find_preset
from gradtui.stream.address import ShareSpec
from gradtui.tui import demo as demo_script
from gradtui.tui.app import GradApp
from gradtui.tui.demo import DemoError
from gradtui.tui.engine import Engine, EngineFactory
from gradtui.tui.share import Share
from gradtui.tui.terminal import screen_driver


def run_app(
    config: LabConfig,
    preset: str | None,
    demo: str | None,
    session_file: str | None,
    resume: str | None = None,
    share_spec: ShareSpec | None = None,
    notices: list[str] | None = None,
    engine: EngineFactory = Engine,
) -> int:
    """The TUI, as `gradtui` runs it: exit code 0 on a normal quit, 2 for bad arguments, 1 on a crash or
    when unsaved work could not be saved anywhere, 128 + the signal's number after SIGHUP, SIGTERM or
    SIGINT (the session autosaved first, however busy the app was: watchdog.py). `engine`: tests run
    the real terminal path on the fake engine."""
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
            driver_class=screen_driver(screen) if screen else None,
            resume=resume,
            share=share,
            # the URL on one line under the story until escape (a toast wrapped its token: hard to copy)
            notices=(*(notices or ()), *([f"followers open {share.url}"] if share is not None else [])),
            screen=screen,
            engine=engine,
        )
        with logs.fd2_to_log():
            code = app.run()
        if app.watchdog is not None:
            app.watchdog.stand_down()
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
    if app.return_code not in (0, None):  # a crash exits non-zero, even after `q` had asked for 0
        print(f"gradtui: the app stopped with an error (details in {logs.log_file()})", file=sys.stderr)
        return app.return_code or 1
    return code if isinstance(code, int) else 0


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
