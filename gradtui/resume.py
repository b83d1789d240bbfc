"""`gradtui --resume [N]` and `gradtui sessions`: which autosave to reopen, and the list to choose from.

No TensorFlow: every autosave is read back whole (its CRCs checked) with NumPy alone.
"""

from __future__ import annotations

import sys

from gradtui.errors import UsageError as Refused  # a bad flag or file: printed as one line, exit 2


def choose_autosave(number: int, notices: list[str] | None = None) -> str:
    """The autosave `--resume` (0: the newest readable, damaged newer ones moved aside and named on
    stderr and in `notices`, which the lab shows until dismissed) or `--resume N` (the N-th that
    `gradtui sessions` lists) opens."""
    from gradtui import autosave

    if number == 0:
        choice = autosave.newest_readable()
        if choice.notice:
            print(f"gradtui: {choice.notice}", file=sys.stderr)
            if notices is not None:
                notices.append(choice.notice)
        if choice.path is None:
            raise Refused(f"--resume: no readable autosave to resume in {autosave.directory()}")
        return str(choice.path)
    listed = autosave.listing()
    if not 1 <= number <= len(listed):
        raise Refused(f"--resume: {number} is not an autosave's number (gradtui sessions lists {len(listed)})")
    info = listed[number - 1]
    if not info.readable:
        raise Refused(f"--resume: {info.path.name} is damaged ({info.problem})")
    return str(info.path)


def print_sessions() -> int:
    """`gradtui sessions`: the autosaves, newest first, numbered for `--resume N`, damaged ones said."""
    from gradtui import autosave

    listed = autosave.listing()
    if not listed:
        print(f"no autosaves in {autosave.directory()}")
        return 0
    print(f"autosaves in {autosave.directory()}, newest first (gradtui --resume N reopens one):")
    for number, info in enumerate(listed, 1):
        print(info.row(number, running=autosave.is_running(info.path)))
    return 0
