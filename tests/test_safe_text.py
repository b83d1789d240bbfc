"""Control characters in text gradtui did not write are shown as escapes, never sent to the terminal."""

from __future__ import annotations

import io
import sys

from hypothesis import given
from hypothesis import strategies as st

from gradtui.safe_text import pictured, visible, visible_output

EVIL = "\x1b]0;pwned\x07\x1b[2J"


def test_the_issues_string_is_shown_literally() -> None:
    assert visible(EVIL) == "\\x1b]0;pwned\\x07\\x1b[2J"
    assert visible(f"note {EVIL}\nnext", newlines=True) == "note \\x1b]0;pwned\\x07\\x1b[2J\nnext"
    assert visible("a\nb\r\tc") == "a\\nb\\r\\tc"


def test_c1_controls_del_and_bidi_overrides_are_escaped() -> None:
    assert visible("\x9b2J\x7f") == "\\x9b2J\\x7f"  # CSI as one C1 byte, DEL
    assert visible("abc\u202etxt.exe") == "abc\\u202etxt.exe"
    assert visible("line\u2028sep") == "line\\u2028sep"


def test_ordinary_text_is_untouched() -> None:
    for text in ("café — 東京 🧑‍🔬", "C:\\path\\x1b is not an escape", "[b]markup[/b]", ""):
        assert visible(text) == text


@given(st.text())
def test_nothing_that_reaches_the_terminal_is_a_control_character(text: str) -> None:
    shown = visible(text)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in shown)
    kept = visible(text, newlines=True)
    assert not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0 for c in kept)


def test_command_output_goes_through_it() -> None:
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        with visible_output():
            print(f"note: {EVIL}")
            print(f"gradtui: {EVIL}", file=sys.stderr)
    finally:
        sys.stdout, sys.stderr = saved
    assert out.getvalue() == "note: \\x1b]0;pwned\\x07\\x1b[2J\n"
    assert err.getvalue() == "gradtui: \\x1b]0;pwned\\x07\\x1b[2J\n"


def test_pictured_shows_each_control_as_one_character_for_an_edited_field() -> None:
    """An Input's cursor counts characters: `\\x1b` would shift it, one picture per control does not."""
    text = "m\x1b]0;x\x07\x1b[2J\x7f\x9b\u202e é模型 🙂.keras"
    shown = pictured(text)
    assert shown == "m␛]0;x␇␛[2J␡\ufffd\ufffd é模型 🙂.keras" and len(shown) == len(text)
    assert pictured("plain [b]path[/b]") == "plain [b]path[/b]"
