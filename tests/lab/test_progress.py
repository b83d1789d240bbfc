"""A build says its phases to whoever listens on its thread, and to nobody else."""

from __future__ import annotations

import threading

from gradtui.config import LabConfig
from gradtui.lab import progress


def test_a_build_reports_its_phases_in_order_to_its_own_thread_only() -> None:
    from gradtui.lab.session import Session

    heard: list[str] = []
    with progress.reporting(heard.append):
        session = Session.build(LabConfig.parse({"rule": "batch-loss", "optimizer": "adam"}))
        other = threading.Thread(target=lambda: progress.phase("not mine"))
        other.start()
        other.join()
    progress.phase("nobody listens")
    assert heard == ["building model", "loading data", "tracing the step"]  # not another thread's phase
    with progress.reporting(heard.append):
        session.with_config(session.config.replace(rule="prediction"))  # a new step graph, traced again
    assert heard[3:] == ["tracing the step"]
