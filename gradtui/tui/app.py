"""The gradtui app: wiring, signals, quit, toasts, the theme and the help and notes screens.

The lab itself is a screen (lab_screen.py: its keys, actions and the engine's messages; lab_display.py:
its layout and redraws), the app's default screen. The first frame paints at once; the engine thread
imports TensorFlow and builds the model behind it (engine/). The UI never waits on the engine: actions
queue commands, results come back as messages. Terminal setup is in launcher.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import IO, TYPE_CHECKING, ClassVar

from textual.app import App
from textual.binding import BindingType
from textual.driver import Driver
from textual.notifications import SeverityLevel

from gradtui import autosave as autosaves
from gradtui import logs
from gradtui.config import LabConfig
from gradtui.presets import find_preset
from gradtui.safe_text import visible
from gradtui.saving import SaveOutcome
from gradtui.tui.commands import TYPED_ACTIONS, LabCommands, app_bindings
from gradtui.tui.demo import Beat
from gradtui.tui.demo_runner import DemoRunner
from gradtui.tui.engine import FINAL_SAVE_SECONDS, Engine, EngineFactory
from gradtui.tui.lab_screen import LabScreen
from gradtui.tui.messages import State
from gradtui.tui.terminal import KeysDropped, let_go
from gradtui.tui.watchdog import SignalWatchdog

if TYPE_CHECKING:
    from gradtui.tui.share import Share

__all__ = ["FROZEN_ENV", "GradApp"]

FROZEN_ENV = "GRADTUI_FROZEN"  # set to 1 to hide timing-dependent text (snapshot tests, recorded demos)
TOAST_REPEAT_SECONDS = 0.5  # the last toast asked for again within this is not posted again (floods)


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
        notices: tuple[str, ...] = (),
        screen: IO[str] | None = None,
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
            notices=notices,  # damaged autosaves --resume moved aside: shown until dismissed
        )
        self.lab.share = share  # --share: the lab screen offers each status to the followers
        self.engine = self.lab.engine
        self.view = self.lab.view  # all the UI reads of the engine goes through this
        self.exit_note = ""  # printed by the launcher once the terminal is restored
        self.screen_file = screen  # the real terminal (fd 2 is the log while the app runs): for the watchdog
        self.watchdog: SignalWatchdog | None = None
        self._quitting = False
        self._crashed = False
        self._toasted: tuple[tuple[str, str, str], float] = (("", "", ""), 0.0)  # the last toast posted, when

    @property
    def state(self) -> State:
        return self.view.state

    def get_default_screen(self) -> LabScreen:
        return self.lab

    def on_mount(self) -> None:
        self.set_interval(autosaves.INTERVAL_SECONDS, self.engine.autosave)
        self.call_after_refresh(self.engine.start)  # once the first frame is painted (see Engine.start)
        if not self.is_headless:  # a signal sets a flag; a watchdog acts if the event loop does not
            loop = asyncio.get_running_loop()
            self.watchdog = SignalWatchdog(
                lambda signum: loop.call_soon_threadsafe(self._signalled, signum),
                self._last_save,
                lambda: let_go(self),
                self.screen_file,
            )
            self.watchdog.install()

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
        if self.watchdog is not None:  # never hang on a gone terminal or a stuck save: it takes over then
            self.watchdog.begun(FINAL_SAVE_SECONDS + 10)
        if self.engine.dirty:
            self.notify("Saving the session before quitting...", timeout=30)
        outcome = await asyncio.to_thread(self.engine.final_save)
        unfinished = self.engine.join_writes(0)
        notes = [exit_line(outcome, why)] if outcome is not None else []
        if self.lab.save_alert.startswith("save "):  # a ctrl+s that went elsewhere: said in a toast, long gone
            notes.insert(0, f"gradtui: {self.lab.save_alert}")
        if outcome is not None and not outcome.saved and code == 0:
            code = 1  # the work could not be saved anywhere: say so in the exit code too
        for path in unfinished:
            notes.append(f"gradtui: {visible(path)} was still being written; it is finished before gradtui exits")
        self.exit_note = "\n".join(notes)
        self.engine.shutdown(timeout=0.9)
        self.exit(code)

    def _last_save(self, signum: int) -> str:
        """The watchdog's final autosave (its thread, the event loop stuck): the line to print."""
        outcome = self.engine.final_save(timeout=FINAL_SAVE_SECONDS / 2)
        name = signal.Signals(signum).name if signum else ""
        return exit_line(outcome, name) if outcome is not None else "gradtui: nothing was unsaved"

    def _handle_exception(self, error: Exception) -> None:
        """A crash: autosave what is unsaved first (the launcher prints where, and exits non-zero)."""
        if not self._crashed:
            self._crashed = True
            logs.logger().error("the app crashed: %s: %s", type(error).__name__, error, exc_info=error)
            try:
                outcome = self.engine.final_save(timeout=FINAL_SAVE_SECONDS / 2)
            except Exception:
                logs.logger().exception("the autosave after the crash failed")
            else:
                if outcome is not None:
                    self.exit_note = "\n".join(n for n in (self.exit_note, exit_line(outcome, "after a crash")) if n)
        super()._handle_exception(error)

    def on_keys_dropped(self, message: KeysDropped) -> None:
        self.notify(
            f"{message.key} arrived faster than the lab can act on it: the repeats past 100 a second were dropped",
            severity="warning",
        )

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A toast, unless the same one is still on screen (a hundred `u` presses make one toast) or was
        just asked for (a flood of them would be queued before the first is shown). Toasts quote paths,
        snapshot names, notes and error text: shown literally, never as markup, controls made visible."""
        message, title = visible(message, newlines=True), visible(title)
        key, now = (message, title, str(severity)), time.monotonic()
        if key == self._toasted[0] and now - self._toasted[1] < TOAST_REPEAT_SECONDS:
            return  # the same toast again at once: a flood (its copies would queue before the first is shown)
        self._toasted = (key, now)
        for shown in list(self._notifications):
            if shown.message == message and shown.title == title and shown.severity == severity:
                self._unnotify(shown, refresh=False)  # shown again below, its time restarted
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def on_unmount(self) -> None:
        self.engine.shutdown(timeout=0.9)


def exit_line(outcome: SaveOutcome, why: str) -> str:
    """What the terminal is told on exit about the last autosave: where it went and how to reopen it."""
    said = f"gradtui: {why + ': ' if why else ''}"
    if outcome.where_asked and outcome.written is not None:
        written = visible(outcome.written)
        if autosaves.resume_opens(outcome.written):
            return f"{said}the session was autosaved to {written}; gradtui --resume reopens it"
        return (
            f"{said}the session was autosaved to {written}; gradtui --session {written} reopens it "
            "(another lab is running or saved later; gradtui sessions lists them all)"
        )
    if outcome.written is not None:
        return f"{said}{outcome.line('autosave')}; gradtui --session {visible(outcome.written)} reopens it"
    return f"{said}{outcome.line('autosave')}: the unsaved work is lost"
