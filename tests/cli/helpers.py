"""What the CLI tests share: the run_cli fixture's type and the one-line refusal check."""

from __future__ import annotations

from collections.abc import Callable

Run = Callable[..., tuple[int, str, str]]  # the run_cli fixture (conftest.py): argv -> (exit code, stdout, stderr)


def assert_refused(code: int, out: str, err: str, flag: str, reason: str) -> None:
    """Bad input: exit 2, one line on stderr naming the flag and the reason, never a traceback."""
    assert code == 2, (code, err)
    assert "Traceback" not in err + out
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("gradtui: "), err
    assert flag in lines[0], f"{flag} not named in {lines[0]!r}"
    assert reason in lines[0], f"{reason!r} not in {lines[0]!r}"
