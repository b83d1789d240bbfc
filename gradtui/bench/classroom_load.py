"""The classroom bench's load and its command line, apart from the figures (so `python -m` runs it
without the bench package importing it first).

    python -m gradtui.bench.classroom_load                         # the classroom figures (quick sizes)
    python -m gradtui.bench.classroom_load followers ADDR N        # N stream followers (join/leave on stdin)
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from typing import Any


class _Followers:
    """N stream followers, each a StreamClient feeding a Mirror: the network side of `gradtui follow`."""

    def __init__(self, address: str, count: int) -> None:
        from gradtui.stream.address import StreamInfo

        host, _, port = address.rpartition(":")
        self.info = StreamInfo(host, int(port), os.environ["GRADTUI_STREAM_TOKEN"], 0)
        self.count = count
        self.clients: list[Any] = []
        self.mirrors: list[Any] = []

    def join(self) -> int:
        """Connect every follower; how many have their hello and some rows (within 60 s)."""
        from gradtui.follow.mirror import Mirror
        from gradtui.stream.client import StreamClient

        joined = threading.Semaphore(0)
        self.mirrors = [Mirror() for _ in range(self.count)]
        for mirror in self.mirrors:

            def status(state: str, _text: str) -> None:
                if state == "connected":
                    joined.release()

            self.clients.append(StreamClient(self.info, mirror.apply, status).start())
        deadline = time.monotonic() + 60
        ready = sum(joined.acquire(timeout=max(0.0, deadline - time.monotonic())) for _ in range(self.count))
        while time.monotonic() < deadline and any(m.step is None for m in self.mirrors):
            time.sleep(0.01)
        return min(ready, sum(m.step is not None for m in self.mirrors))

    def leave(self) -> int:
        """Disconnect every follower; the lowest step any of them had (they kept up if it is recent)."""
        lowest = min((m.step or 0 for m in self.mirrors), default=0)
        for client in self.clients:
            client.close()
        self.clients, self.mirrors = [], []
        return lowest


def _run_stream_followers(address: str, count: int) -> int:
    """`followers ADDRESS N`: N stream followers, joined on `join` and gone on `leave` (stdin lines).

    Each answer is one line on stdout: `joined K CPU_S`, `left STEP CPU_S`, `cpu - CPU_S` (this
    process's CPU time so far, every thread: what the followers themselves cost). Ends at EOF.
    """
    crowd = _Followers(address, count)
    print("ready", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "join":
            answer = f"joined {crowd.join()}"
        elif command == "leave":
            answer = f"left {crowd.leave()}"
        elif command == "cpu":
            answer = "cpu -"
        else:
            answer = f"unknown {command!r}"
        times = os.times()
        print(f"{answer} {times.user + times.system:.4f}", flush=True)
    crowd.leave()
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
