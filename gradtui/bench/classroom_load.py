"""The classroom bench's load and its command line, apart from the figures (so `python -m` runs it
without the bench package importing it first).

    python -m gradtui.bench.classroom_load                      # the classroom figures (quick sizes)
    python -m gradtui.bench.classroom_load followers ADDR N     # N stream followers until stdin closes
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from typing import Any


def _run_stream_followers(address: str, count: int) -> int:
    """`followers ADDRESS N`: N stream followers in this process until stdin closes (the bench's load)."""
    from gradtui.follow.mirror import Mirror
    from gradtui.stream.address import StreamInfo
    from gradtui.stream.client import StreamClient

    host, _, port = address.rpartition(":")
    info = StreamInfo(host, int(port), os.environ["GRADTUI_STREAM_TOKEN"], 0)
    joined = threading.Semaphore(0)
    clients = []
    for _ in range(count):
        mirror = Mirror()

        def apply(message: dict[str, Any], mirror: Mirror = mirror) -> None:
            mirror.apply(message)

        def status(state: str, _text: str) -> None:
            if state == "connected":
                joined.release()

        clients.append(StreamClient(info, apply, status).start())
    for _ in range(count):
        joined.acquire(timeout=30)
    print(f"connected {count}", flush=True)
    sys.stdin.read()
    for client in clients:
        client.close()
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "followers":
        raise SystemExit(_run_stream_followers(sys.argv[2], int(sys.argv[3])))
    from gradtui.bench.classroom_figures import key_to_follower_figures, lab_latency_run
    from gradtui.bench.report import QUICK, Results

    found = Results()
    asyncio.run(lab_latency_run(QUICK, found))
    key_to_follower_figures(QUICK, found)
    print(json.dumps({**found.figures, **found.extra}, indent=2))
