"""The log tab: a RichLog that wraps its lines again when its width changes.

RichLog renders each line once, at the width it had when the line was written, so after a terminal is
widened the old lines stay wrapped at the old width. This one keeps the texts it holds (as many as its
max_lines) and writes them again at the new width.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from rich.text import Text
from textual.events import Resize
from textual.widgets import RichLog


class LogView(RichLog):
    def __init__(self, max_lines: int = 2000, **kwargs: Any) -> None:
        super().__init__(max_lines=max_lines, wrap=True, **kwargs)
        self._texts: deque[Text] = deque(maxlen=max_lines)
        self._wrapped_at: int | None = None

    def add(self, text: Text) -> None:
        """One plain-text line, word-wrapped to the view's width now and again after each width change."""
        self._texts.append(text)
        self.write(text, width=self._width())

    def clear(self) -> LogView:
        self._texts.clear()
        super().clear()
        return self

    def on_resize(self, event: Resize) -> None:
        width = self.scrollable_content_region.width
        if self._texts and self._wrapped_at is not None and width != self._wrapped_at:
            at_end = self.is_vertical_scroll_end
            super().clear()
            for text in self._texts:
                self.write(text, width=self._width(), scroll_end=at_end)
        if width:
            self._wrapped_at = width

    def _width(self) -> int | None:
        """The view's width now (the console's may lag behind a resize); None before it is laid out."""
        width = self.scrollable_content_region.width
        return max(width, self.min_width) if width else None
