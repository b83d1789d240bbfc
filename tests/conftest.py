"""Shared fixtures. Tests that need TensorFlow import it once per process through gradtui.lab.runtime."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("XDG_STATE_HOME", os.path.join(os.path.dirname(__file__), "..", ".pytest_cache", "state"))


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep log files out of the user's home."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.getbasetemp() / "state"))
