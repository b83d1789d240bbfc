"""One printable line for an error, however it is shown: stderr, a status line, a toast."""

from __future__ import annotations

from gradtui.config import one_line


def first_line(err: BaseException | str, limit: int = 300) -> str:
    """The line of an error that says what went wrong, printable and at most `limit` characters.

    TensorFlow's graph errors open with 'in user code:' and a stack and end with the actual error:
    that last line is the one to show. An exception with no text shows its type's name.
    """
    raw = err if isinstance(err, str) else str(err)
    lines = [line.strip() for line in raw.strip().splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].rstrip(":") == "in user code":
        lines = lines[-1:]
    empty = "" if isinstance(err, str) else type(err).__name__
    text = one_line(lines[0]) if lines else empty
    return text if len(text) <= limit else text[: limit - 3] + "..."
