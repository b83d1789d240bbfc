"""The lab's questions in modal prompts: export (history or SVG), save and open a session, which snapshot
to restore, and whether to trust a model file that could run code.

Each asks on a prompt (screens/prompts.py, imported here when first asked: not on the first frame's
path) and acts on the answer through the lab screen's engine. Answers arrive while the lab screen is
below the prompt; it is always mounted, so acting on it then is safe.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from gradtui import trust
from gradtui.files import atomic_write_text
from gradtui.tui.messages import FileWritten

if TYPE_CHECKING:
    from gradtui.tui.lab_screen import LabScreen

REPLACE = "Replace it"
KEEP = "Keep it (cancel)"


def default_path(stem: str, suffix: str) -> str:
    """A timestamped file name in the current directory, e.g. gradtui-20260125-101500.csv."""
    return os.path.join(os.getcwd(), f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}{suffix}")


def ask_export(lab: LabScreen) -> None:
    """The history and pins (CSV, JSON, .npz) or the screen (SVG), to a path the user picks."""
    from gradtui.tui.screens.prompts import ExportScreen

    def chosen(answer: tuple[str, str] | None) -> None:
        if answer is None:
            return
        fmt, path = answer
        if fmt == "svg" or path.lower().endswith(".svg"):  # the name says what the user wants
            save_svg(lab, path)
        elif lab.can_act():
            lab.engine.export_history(path)

    lab.app.push_screen(ExportScreen(default_path("gradtui", "")), chosen)


def save_svg(lab: LabScreen, path: str) -> None:
    """The screen as SVG, rendered to text first and then written atomically (a full disk or a kill
    leaves the old file whole)."""
    target = Path(path).expanduser()
    try:
        atomic_write_text(target, lab.app.export_screenshot())
    except (OSError, ValueError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        lab.notify(f"could not write {path}: {reason}", severity="error")
        return
    lab.post_message(FileWritten("screen", str(target)))


def ask_save_session(lab: LabScreen) -> None:
    """Save to a path the user picks; replacing another existing file asks first."""
    from gradtui.tui.screens.prompts import ChoiceScreen, PathScreen

    def save(path: str) -> None:
        lab.session_file = path
        lab.engine.save(path)

    def chosen(path: str | None) -> None:
        if not path:
            return
        if path == lab.session_file or not Path(path).expanduser().exists():
            save(path)  # a new file, or the one this lab opened or saved: no question
            return

        def confirmed(answer: str | None) -> None:
            if answer == REPLACE:
                save(path)

        lab.app.push_screen(ChoiceScreen(f"{path} exists", [REPLACE, KEEP]), confirmed)

    default = lab.session_file or default_path("gradtui-session", ".npz")
    lab.app.push_screen(PathScreen("Save session", default, must_exist=False), chosen)


def ask_overwrite_changed(lab: LabScreen, path: str, change: str) -> None:
    """The file changed on disk since this lab loaded or saved it (another gradtui saved it): nothing was
    written; replace it only if the person says so, naming what changed."""
    from gradtui.tui.screens.prompts import ChoiceScreen

    def confirmed(answer: str | None) -> None:
        if answer == REPLACE:
            lab.engine.save(path, overwrite=True)
        else:
            lab.notify(f"{path} was kept as it is; ctrl+s saves this session to another file", severity="warning")

    question = f"{change}. Nothing was written. Replace it with this lab's session?"
    lab.app.push_screen(ChoiceScreen("Save session", [REPLACE, KEEP], question), confirmed)


def ask_open_session(lab: LabScreen) -> None:
    from gradtui.tui.screens.prompts import PathScreen

    def chosen(path: str | None) -> None:
        if path:
            lab.session_file = path
            lab.interrupt()
            lab.loads.switch(Path(path).name, time.monotonic())  # the status says so until it is open
            lab.update_status()
            lab.engine.load(path)

    lab.app.push_screen(PathScreen("Open session", lab.session_file or "", must_exist=True), chosen)


def ask_restore(lab: LabScreen) -> None:
    """Pick one of the snapshots to go back to."""
    from gradtui.tui.screens.prompts import ChoiceScreen

    choices = lab.view.snapshot_choices()
    if not choices:
        lab.notify("No snapshots yet (s takes one).", severity="warning")
        return

    def chosen(picked: str | None) -> None:
        if picked:
            lab.interrupt()
            lab.engine.restore(picked)

    names, labels = [name for name, _ in choices], [label for _, label in choices]
    lab.app.push_screen(ChoiceScreen("Restore snapshot", names, labels=labels), chosen)


def ask_trust(lab: LabScreen, path: str, text: str, field: str | None) -> None:
    """A model file that could run code: the person at the keyboard decides, with a deliberate y."""
    from gradtui.tui.screens.prompts import TrustScreen

    why = text.split(": add --trust-model", 1)[0]

    def answered(yes: bool | None) -> None:
        if yes:
            trust.grant(path)
            lab.say(f"trusted {path} for this run (y at the prompt)")
            lab.engine.retry_trusted(path)
        else:
            if field:
                lab.form.show_engine_error(field, text, lab.view.config)
            lab.notify(text, title="model not loaded", severity="error", timeout=8)

    lab.app.push_screen(TrustScreen(path, why), answered)
