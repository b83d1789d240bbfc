"""TUI test fixtures (helpers live in helpers.py). Most TUI tests run on the fake engine and never import
TensorFlow; the end-to-end ones (marked e2e) import it once per process, before the test starts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .pty_lab import kill_started


@pytest.fixture(autouse=True)
def _tensorflow_before_e2e(request: pytest.FixtureRequest) -> None:
    """Import the engine (and TensorFlow) before an e2e test, so no Pilot test pays the 3-second import in
    its timing; the other tests never import it."""
    if request.node.get_closest_marker("e2e") is not None:
        import gradtui.lab.session  # noqa: F401


@pytest.fixture(autouse=True)
def _no_lab_outlives_its_test() -> Iterator[None]:
    """A lab a test started in a pty (pty_lab.PtyLab) is killed after the test, pass or fail."""
    yield
    kill_started()
