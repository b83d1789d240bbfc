"""The fake engine: the app runs on it without TensorFlow, and it answers with the real messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from textual.message import Message

from gradtui.tui.engine.fake import FakeEngine
from gradtui.tui.messages import EngineState, HistoryChanged, PinsChanged, SessionReady, StepsDone

from .helpers import make_app, of_type, settle

ROOT = Path(__file__).resolve().parents[2]

APP_ON_THE_FAKE = """
import asyncio, sys
from gradtui.tui.app import GradApp
from gradtui.tui.engine.fake import FakeEngine

async def main():
    app = GradApp(frozen=True, engine=FakeEngine)
    async with app.run_test(size=(80, 24)) as pilot:
        while not (app.view.loaded and app.engine.idle):
            await pilot.pause(0.02)
        await pilot.press("space", "space", "space", "n", "s", "u", "c")
        while not app.engine.idle:
            await pilot.pause(0.02)
        await pilot.pause()
        print("step", app.view.step)
asyncio.run(main())
tf = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
lab = sorted(m for m in sys.modules if m in ("gradtui.lab.session", "gradtui.lab.runtime"))
print("imported", tf[:3], lab)
"""


def test_the_app_on_the_fake_engine_never_imports_tensorflow(tmp_path: Path) -> None:
    env_code = APP_ON_THE_FAKE
    result = subprocess.run(
        [sys.executable, "-c", env_code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"XDG_STATE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert "step 3" in lines  # three steps, a run of ten, undone
    assert "imported [] []" in lines


async def test_the_fake_answers_keys_with_the_real_messages() -> None:
    messages: list[Message] = []
    app = make_app()
    async with app.run_test(message_hook=messages.append) as pilot:
        await settle(pilot)
        assert isinstance(app.engine, FakeEngine)
        await pilot.press("space", "space")
        await settle(pilot)
        await pilot.press("s", "c", "u")
        await settle(pilot)
        assert app.view.step == 1 and app.view.snapshot_names == ["step-2"]
        assert [p.label for p in app.view.pins] and app.view.pins[0].steps == 2
        assert app.engine.calls == ["step", "step", "snapshot", "pin", "undo"]
        assert [m.state for m in of_type(messages, EngineState)][-1] == "ready"
        assert of_type(messages, SessionReady)[0].origin == "build"
        assert [m.report.steps for m in of_type(messages, StepsDone)] == [1, 1]
        assert [m.action for m in of_type(messages, HistoryChanged)] == ["snapshot", "undo"]
        assert len(of_type(messages, PinsChanged)) == 1
        history = app.view.history
        assert history is not None and len(history) == 2
        predictions = history.column("predictions")
        assert predictions.shape == (2, 1, 1) and predictions[1, 0, 0] < predictions[0, 0, 0]  # descending


async def test_the_control_buttons_run_the_lab_screens_actions() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.click("#btn-step")
        await settle(pilot)
        await pilot.click("#btn-snapshot")
        await settle(pilot)
        assert app.view.step == 1 and app.view.snapshot_names == ["step-1"]
        assert isinstance(app.engine, FakeEngine) and app.engine.calls[-2:] == ["step", "snapshot"]
