"""Plays a demo script (demo.py parses it) one beat per → press, through the lab's own actions.

A beat's commands go through the same actions as the keys (commands.DEMO_ACTIONS), so a demo shows
exactly what a user would get pressing them.
"""

from __future__ import annotations

from rich.text import Text

from gradtui.safe_text import visible
from gradtui.tui.commands import DEMO_ACTIONS, DemoLab
from gradtui.tui.demo import Beat


class DemoRunner:
    """The loaded beats and how far the demo has got."""

    def __init__(self, beats: list[Beat]) -> None:
        self.beats = beats
        self.index = 0  # beats played so far

    def intro(self) -> str:
        return f"Demo: {len(self.beats)} beats; press → (right) for the next one."

    def advance(self, lab: DemoLab) -> Text | None:
        """Play the next beat; the line for the demo banner, None (and a toast) if there is none."""
        if not self.beats:
            lab.notify("No demo script loaded (start with --demo FILE).", severity="warning")
            return None
        if self.index >= len(self.beats):
            lab.notify("The demo is over (q quits).")
            return None
        beat = self.beats[self.index]
        self.index += 1
        lab.say(f"demo beat {self.index}/{len(self.beats)}: {beat.describe()}")
        notes = [c.arg for c in beat.commands if c.verb == "note"]
        for command in beat.commands:
            DEMO_ACTIONS[command.verb](lab, command)
        note = Text()
        note.append(f" {self.index}/{len(self.beats)} ", style="reverse")
        note.append(" " + visible(" ".join(notes) or beat.describe()))  # before Text, which would drop BEL and CR
        return note
