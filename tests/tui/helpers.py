"""Helpers for the TUI tests: app construction and engine-aware waiting."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot

from gradtui.config import LabConfig
from gradtui.tui.app import GradApp
from gradtui.tui.engine import Engine
from gradtui.tui.engine.fake import FakeEngine, FakeSessions

if TYPE_CHECKING:
    from gradtui.lab.session import Session


def make_app(**kwargs: Any) -> GradApp:
    """The app on the fake engine (NumPy, no TensorFlow): what a UI test needs, in a fraction of a second."""
    kwargs.setdefault("config", LabConfig())
    kwargs.setdefault("frozen", True)
    kwargs.setdefault("engine", FakeEngine)
    return GradApp(**kwargs)


def make_real_app(**kwargs: Any) -> GradApp:
    """The app on the real engine (TensorFlow): for the end-to-end tests, marked e2e."""
    return make_app(engine=Engine, **kwargs)


def real_session(app: GradApp) -> Session:
    """The real engine's Keras session (e2e tests read its weights and optimizer state)."""
    from gradtui.lab.session import Session

    session = app.engine.session
    assert isinstance(session, Session)
    return session


async def wait_until(pilot: Pilot[Any], predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.02)


async def settle(pilot: Pilot[Any], timeout: float = 30.0) -> None:
    """Wait until the engine has nothing queued, its messages are handled and the plots are redrawn."""
    app = pilot.app
    assert isinstance(app, GradApp)
    await wait_until(pilot, lambda: app.engine.idle, timeout)
    await pilot.pause()
    app.lab.tick()
    await pilot.pause()


def of_type(messages: list[Message], kind: type[Message]) -> list[Any]:
    return [m for m in messages if isinstance(m, kind)]


def toasts_said(messages: list[Message]) -> list[str]:
    """Every toast the app was asked to show, from the captured messages: unlike app._notifications,
    this keeps a toast that has already timed out (a slow machine's build can outlast one)."""
    return [m.notification.message for m in messages if isinstance(m, Notify)]


def fake_session_file(
    path: Path, steps: int, config: LabConfig | None = None, notes: tuple[str, ...] = (), snapshot: str = ""
) -> Path:
    """A fake engine's session file at `path`: `steps` steps, these notes and a snapshot named `snapshot`."""
    sessions = FakeSessions()
    session = sessions.build(config or LabConfig())
    session.step(steps)
    session.notes.extend(notes)
    if snapshot:
        session.snapshot(snapshot)
    path.write_bytes(sessions.to_bytes(sessions.pack(session), compress=True))
    return path
