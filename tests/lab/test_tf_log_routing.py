"""TensorFlow's own Python warnings (tf.function retracing, with its URL) go to the log file, never to
the in-memory tail the Log tab shows; gradtui's own lines still go to both."""

from __future__ import annotations

import logging
from pathlib import Path

from gradtui import logs


def test_tensorflow_warnings_reach_the_file_but_not_the_log_tab() -> None:
    import gradtui.lab.runtime  # noqa: F401  (adopts the tensorflow, absl, keras loggers)

    serial = max((n for n, _ in logs.TAIL.since(0)), default=0)
    tf_log = logging.getLogger("tensorflow")
    files = [h for h in tf_log.handlers if isinstance(h, logging.FileHandler)]
    assert files and logs.TAIL not in tf_log.handlers
    tf_log.warning("5 out of the last 5 calls to <function f> triggered tf.function retracing")
    for handler in files:
        handler.flush()
        assert "triggered tf.function retracing" in Path(handler.baseFilename).read_text(encoding="utf-8")
    logs.logger().warning("gradtui's own line")
    shown = [text for _, text in logs.TAIL.since(serial)]
    assert not any("retracing" in text for text in shown)
    assert any("gradtui's own line" in text for text in shown)
