"""`?`: every key, generated from the action table so it cannot drift from the bindings."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from gradtui.presets import PRESETS
from gradtui.tui.commands import ACTIONS, key_display
from gradtui.tui.demo import __doc__ as DEMO_DOC


def help_markdown() -> str:
    rows = ["| key | action |", "|---|---|"]
    rows += [f"| `{key_display(a.key)}` | {a.help} |" for a in ACTIONS]
    rows += [f"| `{p.key}` | preset {p.name}: {p.title} |" for p in PRESETS]
    rows += ["| `ctrl+p` | command palette: every action and preset |", "| `tab` | next field in the form |"]
    demo = (DEMO_DOC or "").split("Format", 1)[-1]
    return ("# gradtui keys\n\n" + "\n".join(rows)
            + "\n\nKeys act when no text field has focus (`escape` leaves a field).\n\n"
            + "## Demo scripts (`gradtui --demo FILE`, `→` plays the next beat)\n\n```\nFormat" + demo + "```\n")


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 100; height: 90%; border: round $primary;
                                  background: $surface; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "Help (escape to close)"
            yield Markdown(help_markdown())
