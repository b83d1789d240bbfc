"""The saver: what is unsaved, said once, across the engine thread, writer threads and the UI."""

from __future__ import annotations

import errno
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from textual.message import Message

from gradtui.config import LabConfig
from gradtui.tui.engine.protocol import Arrays, EngineSession
from gradtui.tui.engine.saver import Saver
from gradtui.tui.messages import EngineFailed, FileWritten


class Written:
    """Sessions whose files are dicts in memory; writes to a path named `full` fail as a full disk does."""

    def __init__(self) -> None:
        self.files: dict[str, Arrays] = {}

    def prepare(self) -> None: ...
    def build(self, config: LabConfig) -> EngineSession:
        raise NotImplementedError

    def load(self, path: str) -> EngineSession:
        raise NotImplementedError

    def pack(self, session: EngineSession) -> Arrays:
        return {"pins": cast(Any, session.pins)}

    def write(self, path: str | Path, arrays: Arrays, compress: bool) -> None:
        if Path(path).name == "full":
            raise OSError(errno.ENOSPC, "No space left on device")
        self.files[str(path)] = arrays


def session() -> EngineSession:
    return cast(EngineSession, SimpleNamespace(pins=()))


def test_a_save_clears_dirty_and_a_failed_write_sets_it_again_and_says_so(tmp_path: Path) -> None:
    posted: list[Message] = []
    sessions = Written()
    saver = Saver(sessions, posted.append)
    assert not saver.dirty and not saver.want_autosave()  # nothing to autosave
    saver.changed()
    assert saver.dirty
    saver.save(session(), (), str(tmp_path / "ok.npz"))
    assert not saver.dirty  # cleared when the copy is taken, before the write finishes
    assert saver.join_writes(5) == []
    assert str(tmp_path / "ok.npz") in sessions.files
    assert [type(m) for m in posted] == [FileWritten]
    saver.changed()
    saver.save(session(), (), str(tmp_path / "full"))
    assert saver.join_writes(5) == []
    assert saver.dirty  # the writer thread set it again: the work is still unsaved
    failed = posted[-1]
    assert isinstance(failed, EngineFailed) and failed.action == "save"
    assert failed.text == f"could not write {tmp_path / 'full'}: No space left on device"


def test_an_autosave_runs_only_when_asked_and_a_save_since_makes_it_unneeded(tmp_path: Path) -> None:
    posted: list[Message] = []
    sessions = Written()
    saver = Saver(sessions, posted.append)
    saver.changed()
    saver.autosave_if_wanted(session(), ())  # not asked: nothing written
    assert saver.dirty and sessions.files == {}
    assert saver.want_autosave() and saver.autosave_wanted
    saver.autosave_if_wanted(session(), ())
    assert saver.join_writes(5) == [] and not saver.dirty and not saver.autosave_wanted
    assert list(sessions.files) == [str(saver.autosave_path)] and posted == []  # an autosave is not announced
    saver.autosave_path.parent.mkdir(parents=True, exist_ok=True)
    saver.autosave_path.write_bytes(b"autosaved")
    saver.changed()
    assert not saver.nothing_unsaved(1)  # unsaved work: the final autosave is needed
    saver.save(session(), (), str(tmp_path / "kept.npz"))
    assert saver.join_writes(5) == []
    assert saver.nothing_unsaved(1) and not saver.autosave_path.exists()  # saved to a file: autosave removed
