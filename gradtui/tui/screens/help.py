"""`?`: every key, generated from the action table so it cannot drift from the bindings, and the glossary
of every measured quantity; `i`: the whole preset story and engine notes, which the one-to-three-line
story row can only start, and what the current tab's quantities mean."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static, TabbedContent

from gradtui.presets import PRESETS
from gradtui.tui import glossary
from gradtui.tui.commands import ACTIONS, QUEUED_KEYS, key_display
from gradtui.tui.demo import __doc__ as DEMO_DOC


def help_markdown() -> str:
    rows = ["| key | action |", "|---|---|"]
    rows += [f"| `{key_display(a.key)}` | {a.help} |" for a in ACTIONS]
    rows += [f"| `{p.key}` | preset {p.name}: {p.title} |" for p in PRESETS]
    rows += ["| `ctrl+p` | command palette: every action and preset |", "| `tab` | next field in the form |"]
    return (
        "# gradtui keys\n\n"
        + "\n".join(rows)
        + "\n\nKeys act when no text field has focus (`escape` leaves a field). "
        + QUEUED_KEYS
        + "\n\n"
        + glossary.markdown()
        + "\n"
        + "## Demo scripts (`gradtui --demo FILE`, `→` plays the next beat)\n\n"
        + demo_markdown(DEMO_DOC or "")
    )


def demo_markdown(doc: str) -> str:
    """The demo format's docstring as a table and paragraphs, which wrap at any width (a code block would
    be cut at 80 columns)."""
    text = doc.split("Format", 1)[-1]
    intro, _, rest = text.partition("\n\n")
    commands = ["| command | what it does |", "|---|---|"]
    prose: list[str] = []
    for line in rest.splitlines():
        if line.startswith("    ") and line.strip():
            command, _, meaning = line.strip().partition("  ")
            commands.append(f"| `{command.replace('|', chr(92) + '|')}` | {meaning.strip()} |")
        elif line.strip():
            prose.append(line.strip())
    return "Format" + intro.rstrip() + "\n\n" + "\n".join(commands) + "\n\n" + " ".join(prose) + "\n"


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
            box.border_subtitle = "↑↓ PgUp PgDn scroll"
            yield Markdown(help_markdown())

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()  # arrows and page keys scroll at once, no Tab needed


class NotesScreen(ModalScreen[None]):
    """The explanations the story row has shown, newest first, whole and word-wrapped, with what the current
    tab's quantities mean after the latest one (`tab`: the active tab's id; None: read from the lab screen)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,i", "dismiss", "Close")]
    DEFAULT_CSS = """
    NotesScreen { align: center middle; }
    NotesScreen > VerticalScroll { width: 90%; max-width: 100; height: auto; max-height: 90%;
                                   border: round $primary; background: $surface; padding: 0 1; }
    NotesScreen Static { margin-bottom: 1; }
    NotesScreen .earlier { color: $text-muted; }
    """

    def __init__(self, stories: list[Text], tab: str | None = None) -> None:
        super().__init__()
        self.stories = stories
        self.tab = tab

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "Notes (escape to close)"
            box.border_subtitle = "also in the Log tab"
            if not self.stories:
                yield Static("No notes yet: pick a preset (1-6) or take a step.")
            else:
                yield Static(self.stories[0], classes="latest")
            yield Static(glossary.for_tab(self.tab or active_tab(self)), classes="glossary")
            for story in self.stories[1:]:
                yield Static(story, classes="earlier")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()  # up/down/page keys scroll a long list


def active_tab(screen: ModalScreen[None]) -> str | None:
    """The active plot tab's id on the screen under this one (the lab's), or None."""
    for under in reversed(screen.app.screen_stack):
        if under is not screen:
            found = under.query("#tabs").results(TabbedContent)
            for tabs in found:
                return tabs.active or None
    return None
