"""The phases of a long build (building the model, loading data, tracing the step), told to whoever listens.

A rebuild takes seconds to tens of seconds on a small machine; without a word on what it is doing it looks
like a hang. The TUI's engine listens on its own thread (a context variable, so nothing else hears it);
nobody listens in the headless runs and the bench, where `phase` costs one lookup.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

_listener: ContextVar[Callable[[str], None] | None] = ContextVar("gradtui_progress", default=None)


def phase(text: str) -> None:
    """Say that the build is now `text` ("building model", "loading data", "tracing the step")."""
    listener = _listener.get()
    if listener is not None:
        listener(text)


@contextlib.contextmanager
def reporting(listener: Callable[[str], None]) -> Iterator[None]:
    """Within the block, on this thread, every phase goes to `listener`."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)
