"""Text gradtui did not write, made safe to show on a terminal: control characters become visible.

A note, a snapshot name, a file name or a model's name comes from a file anyone may have made. Sent
raw, `"\\x1b]0;pwned\\x07\\x1b[2J"` retitles the terminal and clears the screen; a lone `\\r` or a
bidi override makes one line look like another. So every C0 and C1 control, DEL, ESC and the
Unicode line/paragraph separators and bidi controls are shown as the escape a Python string would
use (`\\x1b`, `\\x07`, `\\u202e`); newlines survive only where the caller allows them. Everything else
(accents, CJK, emoji with their joiners) is shown as it is.

The bottom layer: it imports nothing else of gradtui. The TUI and every command use this one function.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TextIO

# bidi embeddings/overrides/isolates and marks, the line and paragraph separators: invisible,
# yet they reorder or break what is shown around them
_INVISIBLE_FORMAT = frozenset(
    [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x2028, 0x2029, 0xFEFF]
)


def _escape(char: str) -> str:
    code = ord(char)
    if char == "\t":
        return "\\t"
    if char == "\r":
        return "\\r"
    if char == "\n":
        return "\\n"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _unsafe(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code < 0xA0 or code in _INVISIBLE_FORMAT


def visible(text: object, newlines: bool = False) -> str:
    """`text` with every control character shown as its escape (`\\x1b`, `\\x07`, `\\u202e`).

    With `newlines`, `\\n` is kept as a line break (for a multi-line message a caller lays out
    itself); otherwise it is shown as `\\n` too, so one value stays on one line.
    """
    value = text if isinstance(text, str) else str(text)
    if not any(_unsafe(c) for c in value):
        return value  # the common case: nothing to copy
    return "".join(_escape(c) if _unsafe(c) and not (newlines and c == "\n") else c for c in value)


def pictured(text: str) -> str:
    """`text` with each control character replaced by ONE visible character (its Unicode control picture,
    `␛` for ESC, `␇` for BEL; `�` for C1 controls and bidi/separator characters): for a text field being
    edited, whose cursor counts characters, where `visible`'s `\\x1b` would move it."""
    if not any(_unsafe(c) for c in text):
        return text
    return "".join(_picture(c) if _unsafe(c) else c for c in text)


def _picture(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)
    return "\u2421" if code == 0x7F else "\ufffd"


class VisibleStream:
    """A text stream that shows control characters as escapes and keeps line breaks: stdout and stderr
    of a command (never the lab's, where Textual paints with escape codes)."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        self.inner.write(visible(text, newlines=True))
        return len(text)

    def flush(self) -> None:
        self.inner.flush()

    def fileno(self) -> int:
        return self.inner.fileno()

    def isatty(self) -> bool:
        return self.inner.isatty()

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


@contextlib.contextmanager
def visible_output() -> Iterator[None]:
    """While the block runs, everything printed to sys.stdout/sys.stderr shows control characters as
    escapes (a command's output: `gradtui run`, `sessions`, `devices`, `bench`, and every error line)."""
    saved = sys.stdout, sys.stderr
    sys.stdout = VisibleStream(saved[0])
    sys.stderr = VisibleStream(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
