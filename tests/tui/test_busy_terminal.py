"""The lab in a real terminal, busy or flooded: signals still save and exit, escape codes from files never
reach the terminal, keys typed after `q` do not crash it, and a crash exits non-zero after an autosave.

The lab runs through the launcher's real terminal path (run_app: its driver, log redirect, watchdog) on a
pseudo-terminal, on the fake engine (no TensorFlow), so each test takes seconds. `z` is made to spin
the event loop for a minute where a test needs it busy, or to raise where it needs a crash.
"""

from __future__ import annotations

import os
import random
import signal
import textwrap
import time
from pathlib import Path

from gradtui.config import LabConfig
from gradtui.lab.session_peek import step_of

from .helpers import fake_session_file
from .pty_lab import PtyLab

PWNED = "\x1b]0;pwned\x07\x1b[2J"

_RUN = textwrap.dedent(
    """
    import sys, time
    from gradtui.config import LabConfig
    from gradtui.tui.engine.fake import FakeEngine
    from gradtui.tui.lab_screen import LabScreen
    from gradtui.tui.launcher import run_app

    def busy(self):
        end = time.monotonic() + 60
        while time.monotonic() < end:  # the event loop spins: no message, no callback runs
            pass

    def crash(self):
        raise RuntimeError("a bug in a key's action")

    if sys.argv[1] == "busy":
        LabScreen.action_toggle_zero = busy
    elif sys.argv[1] == "crash":
        LabScreen.action_toggle_zero = crash
    sys.exit(run_app(LabConfig(), None, None, sys.argv[2] or None, engine=FakeEngine))
    """
)


def fake_lab(state: Path, mode: str = "", session: str = "", size: tuple[int, int] = (120, 40)) -> PtyLab:
    """The lab on the fake engine in a pty of `size` (`mode`: busy or crash makes `z` spin or raise)."""
    return PtyLab(state, [mode, session], entry=("-c", _RUN), size=size, cwd=state)


def autosaves(state: Path) -> list[Path]:
    return sorted((state / "gradtui").glob("autosave-*.npz"))


def test_sigterm_while_the_event_loop_is_busy_autosaves_restores_the_terminal_and_exits_143(tmp_path: Path) -> None:
    lab = fake_lab(tmp_path, "busy")
    lab.wait_for(r"ready")
    lab.type("   ")
    lab.wait_for(r"step 3 ")
    lab.type("z")  # the event loop spins for a minute from here
    time.sleep(0.5)
    os.kill(lab.proc.pid, signal.SIGTERM)
    time.sleep(0.05)
    os.kill(lab.proc.pid, signal.SIGTERM)
    code, took = lab.finish(20)
    assert code == 128 + signal.SIGTERM, lab.text()[-800:]
    assert took < 2.0 + 3.0  # the watchdog's 2 s, then a quick save (the minute of spinning is not waited for)
    assert lab.restored()
    saved = autosaves(tmp_path)
    assert len(saved) == 1 and step_of(saved[0]) == 3
    assert f"SIGTERM: the session was autosaved to {saved[0]}" in lab.text().replace("\r\n", "")


def test_a_flood_of_keys_and_resizes_then_two_sigterms_exits_at_once(tmp_path: Path) -> None:
    lab = fake_lab(tmp_path)
    lab.wait_for(r"ready")
    lab.type(" " * 5000)  # pasted spaces
    rng = random.Random(21)
    for _ in range(20):
        lab.resize(rng.randint(20, 200), rng.randint(5, 60))
        time.sleep(0.02)
    lab.resize(1, 1)
    time.sleep(0.05)
    lab.resize(400, 120)
    time.sleep(0.05)
    lab.wait_for(r"arrived faster", 20)  # the drop is said once (a toast), and the steps go on
    time.sleep(1.0)
    lab.type("\x13")  # ctrl+s
    time.sleep(0.5)
    os.kill(lab.proc.pid, signal.SIGTERM)
    time.sleep(0.05)
    os.kill(lab.proc.pid, signal.SIGTERM)
    code, took = lab.finish(30)
    assert code == 128 + signal.SIGTERM
    assert took < 5.0
    assert lab.restored()
    saved = autosaves(tmp_path)
    assert len(saved) == 1 and (step_of(saved[0]) or 0) > 0  # the steps the engine took were saved


def test_typing_question_quits_cleanly_after_saving(tmp_path: Path) -> None:
    lab = fake_lab(tmp_path)
    lab.wait_for(r"ready")
    lab.type("   ")
    lab.wait_for(r"step 3 ")
    lab.type("question")  # q, then `e` (export) and the rest arrive while it quits
    code, _ = lab.finish(30)
    assert code == 0
    assert "stopped with an error" not in lab.text()
    assert "NoMatches" not in (tmp_path / "gradtui" / "gradtui.log").read_text()
    saved = autosaves(tmp_path)
    assert len(saved) == 1 and step_of(saved[0]) == 3


def test_a_crash_autosaves_and_exits_non_zero(tmp_path: Path) -> None:
    lab = fake_lab(tmp_path, "crash")
    lab.wait_for(r"ready")
    lab.type("  ")
    lab.wait_for(r"step 2 ")
    lab.type("z")
    code, _ = lab.finish(30)
    assert code == 1
    saved = autosaves(tmp_path)
    assert len(saved) == 1 and step_of(saved[0]) == 2
    assert f"after a crash: the session was autosaved to {saved[0]}" in lab.text().replace("\r\n", "")
    assert "the app stopped with an error" in lab.text()


def test_escape_codes_in_an_opened_sessions_note_and_snapshot_never_reach_the_terminal(tmp_path: Path) -> None:
    path = fake_session_file(tmp_path / "hostile.npz", 4, notes=(f"note {PWNED} end",), snapshot=f"snap{PWNED}")
    lab = fake_lab(tmp_path, session=str(path), size=(160, 48))
    lab.wait_for(r"ready")
    lab.wait_for(r"step 4 ")
    lab.type("o")  # the snapshot list
    lab.wait_for(r"snap\\x1b\]0;pwned\\x07\\x1b\[2J")
    lab.type("\x1b")
    time.sleep(0.3)
    lab.type("[")  # back from the first tab to the last, the log tab (the note is logged as it is loaded)
    time.sleep(0.5)
    lab.type("q")
    code, _ = lab.finish(30)
    assert code == 0
    written = bytes(lab.output)
    assert b"]0;pwned" not in written.replace(b"\\x1b]0;pwned", b"")  # only its visible form
    assert b"pwned\x07" not in written and b"\x1b[2J" not in written  # (Textual's own OSC 22 ends in BEL)
    shown = lab.text()
    assert r"snap\x1b]0;pwned\x07\x1b[2J" in shown  # the snapshot list showed the name, made visible
    assert r"from the session file: note \x1b]0;pwned\x07\x1b[2J end" in shown  # the log tab showed the note


def test_escape_codes_pasted_into_the_form_and_the_path_prompt_never_reach_the_terminal(tmp_path: Path) -> None:
    lab = fake_lab(tmp_path, size=(160, 48))
    lab.wait_for(r"ready")
    for _ in range(12):  # tab through the form: each field takes the paste (Textual types an ESC in one as ^)
        lab.type("\t")
        time.sleep(0.2)
        lab.type(f"\x1b[200~{PWNED}\x9b2J\x1b[201~")  # a bracketed paste
    time.sleep(0.5)
    lab.type("\x1b")  # out of the form
    time.sleep(0.3)
    lab.type("\x13")  # ctrl+s: the path prompt
    lab.wait_for(r"Save session")
    lab.type("\x15")  # ctrl+u: the prefilled path goes, so a file named by the paste would show in tmp_path
    lab.type(f"\x1b[200~x{PWNED}\x9b2J\x1b[201~")
    time.sleep(0.5)  # (Textual's parser types a pasted ESC's sequence as keys, ESC as ^: printable)
    lab.type("\x1b")
    time.sleep(0.3)
    lab.type("q")
    code, _ = lab.finish(30)
    assert code == 0
    written = bytes(lab.output)
    assert b"\x1b]0;pwned" not in written  # (the parser's printable "^]0;pwned" keys are harmless)
    assert b"pwned\x07" not in written and b"\x1b[2J" not in written and b"\xc2\x9b" not in written
    assert not [p for p in tmp_path.iterdir() if "pwned" in p.name]  # nothing saved under the pasted name


def test_escape_codes_in_a_model_path_and_a_pins_name_never_reach_the_terminal(tmp_path: Path) -> None:
    """Found by hand in tmux: a model file named `m\\x1b]0;x\\x07\\x1b[2J.keras` retitled the terminal and
    cleared the screen from the plots' legend once pinned (`ref:` + the file's name), and from the form's
    model-file field when its end was in view (test_form tests the field)."""
    model = tmp_path / f"m{PWNED}.keras"
    model.write_bytes(b"the fake engine never reads it")
    path = fake_session_file(tmp_path / "hostile.npz", 3, LabConfig(model=str(model)))
    lab = fake_lab(tmp_path, session=str(path), size=(160, 48))
    lab.wait_for(r"ready")
    lab.wait_for(r"step 3 ")
    lab.type("c")  # pin the run: its label is the model file's name
    lab.wait_for(r"ref:m\\x1b\]0;pwned\\x07")  # the toast or the legend, made visible
    time.sleep(1.0)  # the legend painted too (a frame only sends the cells that changed: no regex over it)
    lab.type("q")
    code, _ = lab.finish(30)
    assert code == 0
    written = bytes(lab.output)
    assert b"\x1b]0;pwned" not in written and b"pwned\x07" not in written and b"\x1b[2J" not in written
