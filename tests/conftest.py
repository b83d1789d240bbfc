"""Shared fixtures. Tests that need TensorFlow import it once per process through gradtui.lab.runtime."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

# CI runs the property tests on a fixed sequence of examples, so a run passes or fails the same way
# twice; elsewhere each run explores new ones (a failure prints the example to pin it with @example)
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

os.environ.setdefault("XDG_STATE_HOME", os.path.join(os.path.dirname(__file__), "..", ".pytest_cache", "state"))


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep log files out of the user's home, and each test's autosaves from the next test's lab (a
    directory of its own beside tmp_path, so tests that list tmp_path see only their files)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


@pytest.fixture(autouse=True)
def _no_trusted_models() -> Iterator[None]:
    """Each test starts with no model file trusted, as a new process does."""
    from gradtui import trust

    trust.revoke_all()
    yield
    trust.revoke_all()
