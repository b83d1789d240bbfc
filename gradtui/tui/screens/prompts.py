"""Small modal prompts: export (format + path), a file path, a choice from a list, trusting a model.

Text from elsewhere (paths, snapshot names, error text) is shown literally and with control characters
made visible (safe_text.visible): never as markup, never as escape codes sent to the terminal.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Select, Static

from gradtui.safe_text import visible
from gradtui.tui.widgets.field_input import FieldInput  # typing order; control characters refused


def literal(text: str) -> Text:
    """Text from elsewhere as a title or label: no markup, control characters visible."""
    return Text(visible(text))


EXPORT_FORMATS = (
    ("history as CSV", "csv"),
    ("history as JSON", "json"),
    ("history as NumPy arrays (.npz)", "npz"),
    ("screen as SVG", "svg"),
)

PROMPT_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 70; max-width: 95%; height: auto; border: round $primary; background: $surface;
                     padding: 0 1; }}
{name} .row {{ height: auto; }}
{name} Label {{ width: 8; padding-top: 0; }}
{name} Input, {name} Select {{ width: 1fr; }}
{name} .buttons {{ height: auto; align-horizontal: right; }}
{name} .problem {{ color: $text-error; height: auto; }}
{name} OptionList {{ height: auto; max-height: 12; }}
{name} .select-row Label {{ padding-top: 1; }}
"""


class SaysRefusals:
    """A prompt whose path field refused a paste (control characters): the refusal on its problem line."""

    def on_field_input_refused(self, event: FieldInput.Refused) -> None:
        event.stop()
        assert isinstance(self, ModalScreen)
        self.query_one(".problem", Static).update(literal(event.line))


class ExportScreen(SaysRefusals, ModalScreen[tuple[str, str] | None]):
    """Ask what to export and where; returns (format, path) or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]
    DEFAULT_CSS = PROMPT_CSS.format(name="ExportScreen")

    def __init__(self, stem: str) -> None:
        super().__init__()
        self.stem = stem

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Export"
            with Horizontal(classes="row select-row"):  # a framed Select: its open list is framed too, so at
                yield Label("format")  # 80x24 it reads as a list, not as the dialog's own border rows
                yield Select(EXPORT_FORMATS, value="csv", allow_blank=False, id="format")
            with Horizontal(classes="row"):
                yield Label("path")
                yield FieldInput(f"{self.stem}.csv", compact=True, id="path")
            yield Static("", classes="problem")
            with Horizontal(classes="buttons"):
                yield Button("Export", variant="primary", compact=True, id="ok")
                yield Button("Cancel", compact=True, id="cancel")

    def on_mount(self) -> None:
        if self.is_attached and self.query("#path"):  # not when the app quits while it mounts
            self.query_one("#path", Input).focus()

    @on(Select.Changed, "#format")
    def _format_changed(self, event: Select.Changed) -> None:
        path = self.query_one("#path", Input)
        path.value = with_format(path.value.strip(), self.stem, str(event.value))

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        path = self.query_one("#path", Input).value.strip()
        fmt = str(self.query_one("#format", Select).value)
        problem = check_writable(path)
        if problem:
            self.query_one(".problem", Static).update(literal(problem))  # it quotes the path: shown literally
            return
        self.dismiss((fmt, path))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class PathScreen(SaysRefusals, ModalScreen[str | None]):
    """Ask for a file path (save or open); returns it or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]
    DEFAULT_CSS = PROMPT_CSS.format(name="PathScreen")

    def __init__(self, title: str, default: str, must_exist: bool) -> None:
        super().__init__()
        self.title_text = title
        self.default = default
        self.must_exist = must_exist

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = literal(self.title_text)  # Text: never markup
            with Horizontal(classes="row"):
                yield Label("path")
                yield FieldInput(self.default, compact=True, id="path")
            yield Static("", classes="problem")

    def on_mount(self) -> None:
        if self.is_attached and self.query("#path"):
            self.query_one("#path", Input).focus()

    @on(Input.Submitted)
    def _ok(self) -> None:
        path = self.query_one("#path", Input).value.strip()
        if self.must_exist:
            problem = None if Path(path).is_file() else f"{path or '(empty)'}: no such file"
        else:
            problem = check_writable(path)
        if problem:
            self.query_one(".problem", Static).update(literal(problem))  # it quotes the path: shown literally
            return
        self.dismiss(path)


class ChoiceScreen(ModalScreen[str | None]):
    """Pick one of a few names (snapshots); returns it or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]
    DEFAULT_CSS = PROMPT_CSS.format(name="ChoiceScreen")

    def __init__(self, title: str, choices: list[str], question: str = "", labels: list[str] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.question = question  # a longer explanation above the choices (the title row is short)
        self.labels = labels or choices  # what each choice shows (a snapshot: its name and experiment)

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = literal(self.title_text)  # Text: never markup
            if self.question:
                yield Static(literal(self.question), classes="question")
            yield OptionList(*(literal(label) for label in self.labels), id="choices")  # names, not markup

    def on_mount(self) -> None:
        if not self.query(OptionList):
            return
        options = self.query_one(OptionList)
        options.highlighted = len(self.choices) - 1  # the newest snapshot
        options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[event.option_index])


def with_format(path: str, stem: str, fmt: str) -> str:
    """`path` with the format's suffix. A folder (`/tmp/`, `.`, `~`) gets the default file name in it,
    never a file beside it named after the folder (`/tmp/` was `/tmp.json`; `/` and `.` raised)."""
    suffix = f".{fmt}"
    if not path:
        return stem + suffix
    if path.endswith(("/", os.sep)) or Path(path).expanduser().is_dir():
        return os.path.join(path, Path(stem).name + suffix)
    try:
        return str(Path(path).with_suffix(suffix))
    except ValueError:  # a name with no stem to put a suffix on (`..`)
        return path + suffix


def check_writable(path: str) -> str | None:
    """Why `path` cannot be written, or None."""
    if not path:
        return "enter a file name"
    target = Path(path).expanduser()
    if target.is_dir():
        return f"{path} is a directory"
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        return f"{parent} does not exist"
    return None


class TrustScreen(ModalScreen[bool]):
    """Ask whether to load a model file that could run code. Only a typed `y` says yes: any other key
    (`enter`, the demo's `→`, `n`, `escape`) says no, so no keystroke meant for something else grants it."""

    DEFAULT_CSS = PROMPT_CSS.format(name="TrustScreen")

    def __init__(self, path: str, why: str) -> None:
        super().__init__()
        self.path = path
        self.why = why

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Trust this model file?"
            text = Text()
            text.append(visible(self.path), style="bold")
            text.append(f"\n{visible(self.why)}\n\n")
            text.append("y", style="bold")
            text.append(": trust it and load it (for this run of gradtui)   any other key: do not")
            yield Static(text)

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        self.dismiss(event.character == "y")
