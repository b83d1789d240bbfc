"""The one-line text input of the settings form and the prompts: keys act in typing order, and no control
character ever reaches the terminal from it.

Control characters (ESC, BEL, a C1 `\\x9b`, a tab or line break inside a paste, a bidi override) are
refused when typed or pasted: the field keeps its text and says so in one line (the owner shows it, see
`Refused`). No setting's value holds one: a number, a choice or a path with an escape code in it is
almost always terminal junk or a hostile paste, and accepting it would only move the error to the run
(or write a file whose name retitles the next terminal that lists it). A copied line's own trailing line
break is dropped, as every terminal copy adds one.

A value the lab sets itself (a session or model path it opened, which may be such a name) is kept as it
is, so saving still names that file, and shown as safe_text.visible shows it (`\\x1b`, `\\x07`), the
cursor and selection moving over each escape as over one character.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.geometry import clamp
from textual.message import Message
from textual.strip import Strip
from textual.widgets import Input

from gradtui.safe_text import visible

SHOWN_OF_A_REFUSAL = 24  # characters of a refused paste quoted in its one-line message


def has_controls(text: str) -> bool:
    """Whether safe_text would escape anything in `text`."""
    return visible(text) != text


def refusal(text: str) -> str:
    """The one line that says a typed or pasted text was refused, quoting it made visible."""
    shown = visible(text)
    if len(shown) > SHOWN_OF_A_REFUSAL:
        shown = shown[: SHOWN_OF_A_REFUSAL - 1] + "…"
    return f"refused, it holds control characters: {shown}"


class FieldInput(Input):
    """An Input whose editing keys act in typing order and that never shows a control character raw.

    Textual inserts a printable key when the Input's own queue reaches it, but runs the Input's key
    bindings only after the key has bubbled up through every container to the App. In a burst such as
    `end backspace backspace 3 0 4` the digits then land first and the late backspaces delete them,
    leaving "", "3" or a wrong but valid number. Running the Input's own bindings here, in its queue,
    keeps every key in order.
    """

    class Refused(Message):
        """Typed or pasted text was refused (it holds control characters); `line` says so."""

        def __init__(self, field: FieldInput, line: str) -> None:
            super().__init__()
            self.field = field
            self.line = line

        @property
        def control(self) -> FieldInput:
            return self.field

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable:
            for binding in self._bindings.key_to_bindings.get(event.key, ()):
                if not binding.priority and await self.app.run_action(binding.action, self):
                    event.stop()
                    event.prevent_default()
                    return
        await super()._on_key(event)

    # -- what may be typed -----------------------------------------------------------------------

    def _on_paste(self, event: events.Paste) -> None:
        """The whole paste or nothing (Textual keeps its first line and drops the rest unsaid)."""
        event.stop()
        event.prevent_default()  # Input's own paste handler is not run after this one
        text = event.text.rstrip("\r\n")
        if text:
            self.replace(text, *self.selection)

    def replace(self, text: str, start: int, end: int) -> None:
        if has_controls(text):
            self.post_message(self.Refused(self, refusal(text)))
            return
        super().replace(text, start, end)

    # -- showing a value the lab set, control characters and all ---------------------------------

    @property
    def _value(self) -> Text:
        return Text(visible(self.value), no_wrap=True, overflow="ignore", end="")

    def _shown(self, position: int) -> int:
        """Where the value's character `position` starts in its shown (escaped) text."""
        return len(visible(self.value[:position]))

    def _position_to_cell(self, position: int) -> int:
        if not has_controls(self.value):
            return super()._position_to_cell(position)
        return cell_len(visible(self.value[:position]))

    def _cell_offset_to_index(self, offset: int) -> int:
        if not has_controls(self.value):
            return super()._cell_offset_to_index(offset)
        cells = 0
        offset += self.scroll_offset.x
        for index, char in enumerate(self.value):
            width = cell_len(visible(char))
            if cells <= offset < cells + width:
                return index
            cells += width
        return clamp(offset, 0, len(self.value))

    def render_line(self, y: int) -> Strip:
        if y != 0 or not has_controls(self.value):
            return super().render_line(y)
        result = self._value  # Input.render_line's own steps, at the escaped text's positions
        if self.has_focus:
            if not self.selection.is_empty:
                start, end = sorted(self.selection)
                style = self.get_component_rich_style("input--selection")
                result.stylize_before(style, self._shown(start), self._shown(end))
            if self._cursor_visible:
                if self.cursor_at_end:
                    result.pad_right(1)
                cursor = self.cursor_position
                end = self._shown(cursor + 1) if not self.cursor_at_end else self._shown(cursor) + 1
                result.stylize(self.get_component_rich_style("input--cursor"), self._shown(cursor), end)
        options = self.app.console_options.update_width(self.content_width)
        width = self.scrollable_content_region.width
        strip = Strip(list(self.app.console.render(result, options)))
        strip = strip.crop(self.scroll_offset.x, self.scroll_offset.x + width + 1).extend_cell_length(width + 1)
        return strip.apply_style(self.rich_style)
