"""The real sessions: the lab's Keras Session, imported lazily on the engine thread (TensorFlow)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gradtui.config import LabConfig
from gradtui.tui.engine.protocol import Arrays, EngineSession

if TYPE_CHECKING:
    from gradtui.lab.session import Session


class KerasSessions:
    """Session.build / Session.load and the session file format (lab/session_file.py)."""

    def prepare(self) -> None:
        import gradtui.lab.session  # noqa: F401 - the 3-second import, here off the UI thread

    def build(self, config: LabConfig) -> EngineSession:
        from gradtui.lab.session import Session

        return Session.build(config)

    def load(self, path: str) -> EngineSession:
        from gradtui.lab.session import Session

        return Session.load(path)

    def pack(self, session: EngineSession) -> Arrays:
        from gradtui.lab import session_file

        return session_file.pack(_real(session))

    def to_bytes(self, arrays: Arrays, compress: bool) -> bytes:
        from gradtui.lab import session_file

        return session_file.to_bytes(arrays, compress=compress)

    def step_of(self, path: Path) -> int | None:
        from gradtui.lab import session_peek

        return session_peek.step_of(path)


def _real(session: EngineSession) -> Session:
    from gradtui.lab.session import Session

    if not isinstance(session, Session):
        raise TypeError(f"a Keras session was expected, got {type(session).__name__}")
    return session
