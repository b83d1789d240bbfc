"""The saver: what is unsaved, said once, across the engine thread, writer threads and the UI."""

from __future__ import annotations

import errno
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from textual.message import Message

from gradtui import saving
from gradtui.config import LabConfig
from gradtui.files import atomic_write_bytes
from gradtui.tui.engine.protocol import Arrays, EngineSession
from gradtui.tui.engine.saver import Saver
from gradtui.tui.messages import FileWritten, SaveProblem


class Written:
    """Sessions whose files are a few bytes naming their pins; writes to a path named `full` fail as a full
    disk does (no fallback directory takes them either)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real = atomic_write_bytes

        def write(path: Path, data: bytes) -> None:
            if Path(path).name == "full":
                raise OSError(errno.EIO, "Input/output error")
            real(path, data)

        monkeypatch.setattr(saving, "atomic_write_bytes", write)

    def prepare(self) -> None: ...
    def build(self, config: LabConfig) -> EngineSession:
        raise NotImplementedError

    def load(self, path: str) -> EngineSession:
        raise NotImplementedError

    def pack(self, session: EngineSession) -> Arrays:
        return {"pins": cast(Any, session.pins)}

    def to_bytes(self, arrays: Arrays, compress: bool) -> bytes:
        return repr(arrays["pins"]).encode()

    def step_of(self, path: Path) -> int | None:
        return None


def session() -> EngineSession:
    return cast(EngineSession, SimpleNamespace(pins=(), history=[]))


def test_a_save_clears_dirty_and_a_failed_write_sets_it_again_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    posted: list[Message] = []
    sessions = Written(monkeypatch)
    saver = Saver(sessions, posted.append)
    assert not saver.dirty and not saver.want_autosave()  # nothing to autosave
    saver.changed()
    assert saver.dirty
    saver.save(session(), (), str(tmp_path / "ok.npz"))
    assert not saver.dirty  # cleared when the copy is taken, before the write finishes
    assert saver.join_writes(5) == []
    assert (tmp_path / "ok.npz").read_bytes() == b"()"
    assert [type(m) for m in posted] == [FileWritten]
    saver.changed()
    saver.save(session(), (), str(tmp_path / "full"))
    assert saver.join_writes(5) == []
    assert saver.dirty  # the writer thread set it again: the work is still unsaved
    failed = posted[-1]
    assert isinstance(failed, SaveProblem) and failed.what == "save"
    assert failed.line == "save failed: Input/output error; not saved anywhere"


def test_an_autosave_runs_only_when_asked_and_a_save_since_makes_it_unneeded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    posted: list[Message] = []
    sessions = Written(monkeypatch)
    saver = Saver(sessions, posted.append)
    saver.changed()
    saver.autosave_if_wanted(session(), ())  # not asked: nothing written
    assert saver.dirty and not saver.autosave_path.exists()
    assert saver.want_autosave() and saver.autosave_wanted
    saver.autosave_if_wanted(session(), ())
    assert saver.join_writes(5) == [] and not saver.dirty and not saver.autosave_wanted
    assert saver.autosave_path.read_bytes() == b"()" and posted == []  # an autosave is not announced
    saver.changed()
    assert not saver.nothing_unsaved(1)  # unsaved work: the final autosave is needed
    saver.save(session(), (), str(tmp_path / "kept.npz"))
    assert saver.join_writes(5) == []
    assert saver.nothing_unsaved(1) and not saver.autosave_path.exists()  # saved to a file: autosave removed
