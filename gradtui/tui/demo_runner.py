"""Plays a demo script (demo.py parses it) one beat per → press, through the app's own actions.

A beat's commands go through the same actions as the keys, so a demo shows exactly what a user
would get pressing them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from gradtui.tui.demo import Beat, DemoCommand

if TYPE_CHECKING:
    from gradtui.tui.app import GradApp


class DemoRunner:
    """The loaded beats and how far the demo has got."""

    def __init__(self, beats: list[Beat]) -> None:
        self.beats = beats
        self.index = 0  # beats played so far

    def intro(self) -> str:
        return f"Demo: {len(self.beats)} beats; press → (right) for the next one."

    def advance(self, app: GradApp) -> Text | None:
        """Play the next beat; the line for the demo banner, None (and a toast) if there is none."""
        if not self.beats:
            app.notify("No demo script loaded (start with --demo FILE).", severity="warning")
            return None
        if self.index >= len(self.beats):
            app.notify("The demo is over (q quits).")
            return None
        beat = self.beats[self.index]
        self.index += 1
        app.say(f"demo beat {self.index}/{len(self.beats)}: {beat.describe()}")
        notes = [c.arg for c in beat.commands if c.verb == "note"]
        for command in beat.commands:
            run_command(app, command)
        note = Text()
        note.append(f" {self.index}/{len(self.beats)} ", style="reverse")
        note.append(" " + (" ".join(notes) or beat.describe()))
        return note


def run_command(app: GradApp, command: DemoCommand) -> None:
    """One script command, as the matching key would do it."""
    verb = command.verb
    if verb == "preset":
        app.action_preset(command.arg, origin="demo")  # a script's presets are meant to start afresh, unannounced
    elif verb == "step":
        app.action_step(command.count or 1)
    elif verb == "run":
        app.action_run_n(command.count)
    elif verb == "play":
        app.action_play()
    elif verb == "pause":
        app.action_pause()
    elif verb == "undo":
        app.action_undo()
    elif verb == "reset":
        app.action_reset()
    elif verb == "snapshot":
        app.action_snapshot(command.arg or None)
    elif verb == "restore":
        app.action_restore(command.arg)
    elif verb == "set":
        app.set_fields(command.settings)
    elif verb == "pin":
        app.action_pin(command.arg or None)
    elif verb == "unpin":
        app.action_unpin()
    elif verb == "tab":
        app.show_tab(command.arg)
    elif verb == "note":
        app.say(f"note: {command.arg}")
