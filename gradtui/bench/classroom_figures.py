"""The classroom's costs (`gradtui --share`): what followers cost the teacher's lab, and what a
follower costs and lags.

- classroom_ui_latency_p99_ms_0 / _30, classroom_ui_latency_p99_delta_ms: the lab app (headless,
  sharing, auto-running example 3 with its plots refreshing) and the same latency probe as
  ui_latency_p99_ms, with no follower and with 30 connected to its stream, in alternating windows.
  The 30 are stream followers in one separate process (each a StreamClient and Mirror, exactly the
  network side of `gradtui follow`, decoding every row) but do not draw: what they would cost the
  lab is their stream, while 30 drawing followers on this 2-core machine would measure the
  machine's contention, not the lab's.
- classroom_key_to_follower_ms_p50 / _p99: the lab in a pseudo-terminal with `--share 0` and 10
  `gradtui follow` processes in pseudo-terminals of their own; Space typed into the lab until each
  follower's terminal shows the new step number (every press times every follower).
- classroom_follower_rss_mb: the largest resident memory of those 10 follower processes, after the
  lab has played a few seconds (so their histories hold thousands of rows).

Imports no TensorFlow (the lab's engine thread, or the lab's process, does); Textual only inside
the latency figure.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from gradtui.bench.report import EXAMPLE3, Results, Sizes
from gradtui.bench.terminal_figures import READY_MARK, Terminal

FOLLOWERS_LATENCY = 30
FOLLOWERS_KEYS = 10
LAB_TERMINAL = (120, 36)
FOLLOWER_TERMINAL = (100, 30)


def _stream_info(state: Path, timeout: float = 60.0) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in (state / "gradtui" / "streams").glob("stream-*.json"):
            return dict(json.loads(path.read_text()))
        time.sleep(0.05)
    raise RuntimeError("the shared lab wrote no stream file")


# ---- teacher's key to a follower's screen, and a follower's memory ------------------------------


def key_to_follower_figures(sizes: Sizes, results: Results, followers: int = FOLLOWERS_KEYS) -> None:
    import tempfile

    presses = max(3, sizes.key_presses // 3)
    with tempfile.TemporaryDirectory(prefix="gradtui-bench-classroom-") as state, ExitStack() as stack:
        env = {"XDG_STATE_HOME": state}
        lab = stack.enter_context(Terminal(LAB_TERMINAL, ("--share", "0", "--share-max", "50"), env))
        lab.wait_for(READY_MARK, 180)
        info = _stream_info(Path(state))
        follow_env = {**env, "GRADTUI_STREAM_TOKEN": str(info["token"])}
        address = f"{info['host']}:{info['port']}"
        terms = [
            stack.enter_context(Terminal(FOLLOWER_TERMINAL, ("follow", address), follow_env)) for _ in range(followers)
        ]
        for term in terms:
            term.wait_for(re.compile(rb"step 0 \xc2\xb7"), 120)
        delays: list[float] = []
        seen = [b""] * len(terms)
        for step in range(1, presses + 1):
            mark = re.compile(rb"step %d \xc2\xb7" % step)
            for i, term in enumerate(terms):
                seen[i] = term.take()[-4096:]  # what came before this press cannot count
            pressed = lab.type(b" ")
            waiting = set(range(len(terms)))
            deadline = pressed + 10.0
            while waiting and time.perf_counter() < deadline:
                for i in list(waiting):
                    seen[i] = (seen[i] + terms[i].take())[-65536:]
                    if mark.search(seen[i]):
                        delays.append(time.perf_counter() - pressed)
                        waiting.discard(i)
                time.sleep(0.002)
            if waiting:
                raise RuntimeError(f"{len(waiting)} followers never showed step {step}")
            time.sleep(0.3)
        lab.type(b"p")  # play a few seconds: the followers' histories fill
        time.sleep(max(2.0, sizes.tui_seconds / 2))
        lab.type(b"p")
        time.sleep(1.0)
        rss = [term.rss_mb() for term in terms]
    ms = np.asarray(delays) * 1e3
    results.figures["classroom_key_to_follower_ms_p50"] = float(np.percentile(ms, 50))
    results.figures["classroom_key_to_follower_ms_p99"] = float(np.percentile(ms, 99))
    results.figures["classroom_follower_rss_mb"] = max(rss)
    results.extra["classroom_follower_rss_mb_median"] = round(statistics.median(rss), 1)
    results.extra["classroom_key_samples"] = len(delays)
    results.extra["classroom_followers_keys"] = followers


# ---- the lab's UI latency with 30 followers -----------------------------------------------------


def _start_stream_followers(address: str, token: str, count: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradtui.bench.classroom_load", "followers", address, str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "GRADTUI_STREAM_TOKEN": token},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "connected N" once every follower has its hello
    if not line.startswith(b"connected"):
        proc.kill()
        raise RuntimeError(f"the stream followers did not connect ({line!r})")
    return proc


async def lab_latency_run(sizes: Sizes, results: Results, followers: int = FOLLOWERS_LATENCY) -> None:
    from gradtui.bench.tui_figures import TERMINAL, _LatencyProbe, _percentile_ms, _wait_for
    from gradtui.config import LabConfig
    from gradtui.stream.address import ShareSpec
    from gradtui.tui.app import GradApp
    from gradtui.tui.share import Share

    share = Share(ShareSpec("127.0.0.1", 0, max_followers=followers + 10)).start()
    app = GradApp(LabConfig.parse(EXAMPLE3), frozen=True, share=share)
    windows: dict[int, list[float]] = {0: [], followers: []}
    counts: dict[int, list[int]] = {0: [], followers: []}
    cpu: dict[int, list[float]] = {0: [], followers: []}  # the publisher thread's CPU seconds per second
    try:
        async with app.run_test(size=TERMINAL) as pilot:
            view = app.view
            await _wait_for(lambda: view.loaded and view.idle, 180, "the engine to build the model")
            await pilot.press("p")
            await _wait_for(lambda: view.rows > 1, 120, "the first steps")
            await asyncio.sleep(sizes.tui_warmup_s)
            address = f"{share.publisher.host}:{share.publisher.port}"
            for _ in range(2):  # alternate: none, 30, none, 30 (the machine's noise falls on both)
                for count in (0, followers):
                    proc = _start_stream_followers(address, share.publisher.token, count) if count else None
                    try:
                        if proc is not None:
                            await _wait_for(lambda: share.followers >= followers, 60, "the followers to join")
                        cpu0, t0 = share.publisher.cpu_s, time.perf_counter()
                        with _LatencyProbe(app) as probe:
                            await asyncio.sleep(sizes.tui_seconds)
                        cpu[count].append((share.publisher.cpu_s - cpu0) / (time.perf_counter() - t0))
                        windows[count] += probe.delays
                        counts[count].append(share.followers)
                    finally:
                        if proc is not None:
                            assert proc.stdin is not None
                            proc.stdin.close()
                            proc.wait(10)
                    await _wait_for(lambda: share.followers == 0, 30, "the followers to leave")
            running = view.busy
            await pilot.press("p")
    finally:
        share.close()
    if not running:
        raise RuntimeError("the auto-run stopped during the measurement")
    none, many = _percentile_ms(windows[0], 99), _percentile_ms(windows[followers], 99)
    results.figures["classroom_ui_latency_p99_ms_0"] = none
    results.figures["classroom_ui_latency_p99_ms_30"] = many
    results.figures["classroom_ui_latency_p99_delta_ms"] = many - none
    results.extra["classroom_ui_latency_p50_ms_0"] = round(_percentile_ms(windows[0], 50), 3)
    results.extra["classroom_ui_latency_p50_ms_30"] = round(_percentile_ms(windows[followers], 50), 3)
    results.extra["classroom_followers_during_window"] = counts[followers]
    results.figures["classroom_publisher_cpu_ms_per_s_30"] = statistics.mean(cpu[followers]) * 1e3
    results.extra["classroom_publisher_cpu_ms_per_s_0"] = round(statistics.mean(cpu[0]) * 1e3, 3)
