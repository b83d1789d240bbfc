"""The gradtui app: wiring, signals, quit, toasts, the theme and the help and notes screens.

The lab itself is a screen (lab_screen.py: its keys, actions and the engine's messages; lab_display.py:
its layout and redraws), the app's default screen. The first frame paints at once; the engine thread
imports TensorFlow and builds the model behind it (engine/). The UI never waits on the engine: actions
queue commands, results come back as messages. Terminal setup is in launcher.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from typing import TYPE_CHECKING, ClassVar

from textual.app import App
from textual.binding import BindingType
from textual.driver import Driver
from textual.notifications import SeverityLevel

from gradtui import autosave as autosaves
from gradtui import logs
from gradtui.config import LabConfig
from gradtui.presets import find_preset
from gradtui.tui.commands import TYPED_ACTIONS, LabCommands, app_bindings
from gradtui.tui.demo import Beat
from gradtui.tui.demo_runner import DemoRunner
from gradtui.tui.engine import FINAL_SAVE_SECONDS, Engine, EngineFactory
from gradtui.tui.lab_screen import LabScreen
from gradtui.tui.messages import State

if TYPE_CHECKING:
    from gradtui.tui.share import Share

__all__ = ["FROZEN_ENV", "GradApp"]

FROZEN_ENV = "GRADTUI_FROZEN"  # set to 1 to hide timing-dependent text (snapshot tests, recorded demos)


class GradApp(App[int]):
    """Step through what applying gradients does to a Keras model's predictions.

    `engine` makes the engine the lab drives (tests pass engine.fake.FakeEngine: no TensorFlow)."""

    CSS_PATH = "app.tcss"
    TITLE = "gradtui"
    AUTO_FOCUS = None  # keys drive the lab until the user tabs into the form
    BINDINGS: ClassVar[list[BindingType]] = app_bindings()  # type: ignore[assignment]
    COMMANDS = App.COMMANDS | {LabCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012 - Textual's class attribute
    # under 34 rows the layout tightens so each plot keeps ~9 rows; under 22 only the top row of plots shows
    VERTICAL_BREAKPOINTS = [(0, "-tiny"), (22, "-short"), (34, "-tall")]  # noqa: RUF012
    NOTIFICATION_TIMEOUT = 4

    def __init__(
        self,
        config: LabConfig | None = None,
        preset: str | None = None,
        beats: list[Beat] | None = None,
        session_file: str | None = None,
        frozen: bool | None = None,
        driver_class: type[Driver] | None = None,
        resume: str | None = None,
        engine: EngineFactory = Engine,
        share: Share | None = None,
    ) -> None:
        super().__init__(driver_class=driver_class)
        chosen = find_preset(preset) if preset else None
        base = config or LabConfig()
        self.lab = LabScreen(
            engine,
            chosen.config(base) if chosen else base,
            preset=chosen,
            demo=DemoRunner(beats or []),
            session_file=session_file,  # opened first when it exists; where ctrl+s saves
            resume=resume,  # an autosave to reopen (saving never writes over it)
            frozen=frozen if frozen is not None else os.environ.get(FROZEN_ENV) == "1",
        )
        self.lab.share = share  # --share: the lab screen offers each status to the followers
        self.engine = self.lab.engine
        self.view = self.lab.view  # all the UI reads of the engine goes through this
        self.exit_note = ""  # printed by the launcher once the terminal is restored
        self.watchdog: threading.Timer | None = None
        self._quitting = False

    @property
    def state(self) -> State:
        return self.view.state

    def get_default_screen(self) -> LabScreen:
        return self.lab

    def on_mount(self) -> None:
        self.set_interval(autosaves.INTERVAL_SECONDS, self.engine.autosave)
        self.call_after_refresh(self.engine.start)  # once the first frame is painted (see Engine.start)
        if not self.is_headless:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError, AttributeError):
                    loop.add_signal_handler(signum, self._signalled, signum)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self._quitting:  # keys typed after q (or a signal) wait behind the final save: none opens anything
            return False
        return not (action in TYPED_ACTIONS and self.lab.typing_in_form())  # `q` typed into a field is a q

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def action_help(self) -> None:
        from gradtui.tui.screens.help import HelpScreen  # (the modal screens are not on the first frame's path)

        self.push_screen(HelpScreen())

    def action_story(self) -> None:
        from gradtui.tui.screens.help import NotesScreen

        self.push_screen(NotesScreen(list(reversed(self.lab.stories))))

    async def action_quit(self) -> None:
        """Quit; unsaved work is autosaved first and writes in progress finish (the launcher says where)."""
        await self._leave(0, "")

    def _signalled(self, signum: int) -> None:
        """SIGHUP (a dropped connection), SIGTERM or SIGINT: autosave, then leave through the normal exit,
        which restores the terminal."""
        name = signal.Signals(signum).name
        logs.logger().info("%s: saving the session and quitting", name)
        self.run_worker(self._leave(128 + signum, name), exit_on_error=False)

    async def _leave(self, code: int, why: str) -> None:
        if self._quitting:
            return
        self._quitting = self.lab.closing = True
        if not self.is_headless:  # never hang on a gone terminal: the launcher cancels this once run() returns
            self.watchdog = threading.Timer(FINAL_SAVE_SECONDS + 10, os._exit, (code or 1,))
            self.watchdog.daemon = True
            self.watchdog.start()
        if self.engine.dirty:
            self.notify("Saving the session before quitting...", timeout=30)
        saved = await asyncio.to_thread(self.engine.final_save)
        unfinished = self.engine.join_writes(0)
        notes = []
        if saved is not None:
            notes.append(
                f"gradtui: {why + ': ' if why else ''}the session was autosaved to {saved}; gradtui --resume reopens it"
            )
        for path in unfinished:
            notes.append(f"gradtui: {path} was still being written; it is finished before gradtui exits")
        self.exit_note = "\n".join(notes)
        self.engine.shutdown(timeout=0.9)
        self.exit(code)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A toast, unless the same one is still on screen (a hundred `u` presses make one toast).
        Toasts quote paths, snapshot names, notes and error text: shown literally, never as markup."""
        for shown in list(self._notifications):
            if shown.message == message and shown.title == title and shown.severity == severity:
                self._unnotify(shown, refresh=False)  # shown again below, its time restarted
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def on_unmount(self) -> None:
        self.engine.shutdown(timeout=0.9)
