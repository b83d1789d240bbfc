"""On GPUs the status line shows each replica's memory in use; on CPUs it shows none.

There is no GPU here: the CPU path and a missing GPU run on real TensorFlow; the GPU readings are
supplied at the lab function the engine calls, so the timer, the engine, the view and the status
line are the real ones.
"""

from __future__ import annotations

import time

import pytest
from textual.widgets import Static

from gradtui.tui.lab_display import MEMORY_SECONDS
from gradtui.tui.widgets.status import memory_label

from .helpers import make_app, make_real_app, settle, wait_until

LOCAL = "/job:localhost/replica:0/task:0/device:"
TWO_GPUS = (("GPU:0", 1228.8), ("GPU:1", 900.0))


@pytest.mark.compat
def test_cpus_and_absent_gpus_report_no_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only GPUs are asked (a CPU's answer, where TensorFlow gives one, is the whole process's), and a GPU
    that is not there gives no reading, not an error. What TensorFlow itself answers for a CPU differs
    between builds and machines ("Allocator stats not available" on some): asked of it, never relied on."""
    from gradtui.lab.runtime import memory_in_use, tf

    asked: list[str] = []
    real = tf.config.experimental.get_memory_info

    def spy(device: str) -> dict[str, int]:
        asked.append(device)
        return real(device)

    monkeypatch.setattr(tf.config.experimental, "get_memory_info", spy)
    assert memory_in_use((f"{LOCAL}CPU:0", "/device:CPU:0")) == ()
    assert asked == []  # a CPU is never asked
    assert memory_in_use((f"{LOCAL}GPU:0",)) == ()  # no such GPU here: no reading, no error
    assert asked == [f"{LOCAL}GPU:0"]


def test_memory_label() -> None:
    assert memory_label(()) == ""
    assert memory_label(TWO_GPUS) == "GPU:0 1.2G GPU:1 900M"
    eight = tuple((f"GPU:{i}", 500.0 + 100 * i) for i in range(8))
    assert memory_label(eight) == "GPU:0,1,2,3,4,5,6,7 500M-1.2G each"


def _status(app: object) -> str:
    from gradtui.tui.app import GradApp

    assert isinstance(app, GradApp)
    return str(app.query_one("#status", Static).render())


async def test_a_cpu_session_shows_no_memory() -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        app.lab.read_memory()
        await pilot.pause()
        assert app.lab.memory == () and "CPU:0 · step 0 ·" in _status(app)


@pytest.mark.e2e
@pytest.mark.parametrize("width", [80, 160])
async def test_gpu_memory_on_the_status_line(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from gradtui.lab import session

    asked: list[tuple[str, ...]] = []

    def two_gpus(names: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
        asked.append(names)
        return TWO_GPUS

    monkeypatch.setattr(session, "memory_in_use", two_gpus)  # what the session asks the runtime
    app = make_real_app()
    async with app.run_test(size=(width, 30)) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: "GPU:0 1.2G GPU:1 900M" in _status(app), timeout=MEMORY_SECONDS * 3)
        assert asked[-1] == app.engine.session.summary.devices  # type: ignore[union-attr]
        status = app.query_one("#status", Static)
        text = _status(app)
        assert status.size.height == 1 and "\n" not in text
        assert text.startswith(" ready ") and "GPU:0 1.2G GPU:1 900M · step 0 ·" in text
        assert text.index("step 0 ·") + len("step 0 ·") <= status.content_size.width  # visible, not cut off
        reads, started = len(asked), time.monotonic()
        for _ in range(5):  # steps do not read it: the timer does
            await pilot.press("space")
            await settle(pilot)
        assert "step 5" in _status(app) and "GPU:1 900M" in _status(app)
        assert len(asked) - reads <= (time.monotonic() - started) / MEMORY_SECONDS + 1
