"""TUI test fixtures: one TensorFlow import per process (helpers live in helpers.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _tensorflow_once() -> None:
    """Import the engine (and TensorFlow) once, so no Pilot test pays the 3-second import in its timing."""
    import gradtui.lab.session  # noqa: F401
