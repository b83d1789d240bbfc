"""The classroom's costs (`gradtui --share`): what followers cost the teacher's lab, and what a
follower costs and lags.

- classroom_ui_latency_p99_ms_0 / _30, classroom_ui_latency_p99_delta_ms: the lab app (headless,
  sharing, auto-running example 3 with its plots refreshing) under the latency probe of
  ui_latency_p99_ms (a callback posted every 10 ms here, as the driver's input thread posts a key),
  in windows with no follower and with 30, interleaved in pairs (none, 30 | 30, none | ...) so the
  machine's load falls on both alike. Each figure is the median over the windows of a window's p99,
  and the delta the median of the pairs' differences: a burst of the machine's other work spoils
  one pair, not the figure (the pooled p99s are in the extras beside the per-window ones).
  The 30 are stream followers in one separate process (each a StreamClient and Mirror, the network
  side of `gradtui follow`, reading and decoding every row into a History as a follower does),
  joined before each 30-window (their first whole history is left to settle: a join's cost, not a
  steady one) and gone before the next none-window. They do not draw: the target is the lab's own
  cost of serving them (its stream thread, its GIL, its sockets); 30 drawing followers on a 2-core
  machine would measure the machine's size. What the followers' process itself used is reported
  (classroom_followers_process_cpu_ms_per_s), and so is the load average.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gradtui.bench.report import EXAMPLE3, Results, Sizes, say
from gradtui.bench.terminal_figures import READY_MARK, Terminal

FOLLOWERS_LATENCY = 30
FOLLOWERS_KEYS = 10
LAB_TERMINAL = (120, 36)
FOLLOWER_TERMINAL = (100, 30)
PROBE_S = 0.01  # the latency probe's interval in the classroom windows (100 samples a second)
SETTLE_S = 1.0  # after the followers join, before a window opens


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


class _Crowd:
    """The bench's handle on the stream followers' process (gradtui.bench.classroom_load followers)."""

    def __init__(self, address: str, token: str, count: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gradtui.bench.classroom_load", "followers", address, str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "GRADTUI_STREAM_TOKEN": token},
        )
        self.count = count
        if self._line() != ["ready"]:
            self.close()
            raise RuntimeError("the stream followers' process did not start")

    def _line(self) -> list[str]:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().decode().split()

    def ask(self, command: str) -> tuple[str, float]:
        """Send `join`, `leave` or `cpu`; (its answer, the process's CPU seconds so far)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()
        words = self._line()
        if len(words) != 3:
            raise RuntimeError(f"the stream followers' process answered {words!r} to {command}")
        return words[1], float(words[2])

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1e3, q))


@dataclass
class _Windows:
    """What the interleaved windows saw, by number of followers (0 or 30)."""

    delays: dict[int, list[float]]  # every probe's delay, in seconds
    p99: dict[int, list[float]]  # each window's p99, in ms, in order (pairs line up)
    stream_cpu: dict[int, list[float]]  # the publisher thread's CPU seconds per second
    crowd_cpu: list[float] = field(default_factory=list)  # the followers' process's CPU s per s
    behind_ms: list[float] = field(default_factory=list)  # how far the slowest follower was behind


async def _window(app: Any, share: Any, count: int, seconds: float, windows: _Windows) -> None:
    from gradtui.bench.tui_figures import _LatencyProbe

    cpu0, t0 = share.publisher.cpu_s, time.perf_counter()
    with _LatencyProbe(app, PROBE_S) as probe:
        await asyncio.sleep(seconds)
    windows.stream_cpu[count].append((share.publisher.cpu_s - cpu0) / (time.perf_counter() - t0))
    windows.delays[count] += probe.delays
    windows.p99[count].append(_p(probe.delays, 99))
    say(f"classroom: {count} followers, UI p99 {windows.p99[count][-1]:.1f} ms (load {os.getloadavg()[0]:.1f})")


async def _with_followers(app: Any, share: Any, crowd: _Crowd, seconds: float, windows: _Windows) -> None:
    """Join the crowd, let its first whole histories arrive, take a window, leave."""
    from gradtui.bench.tui_figures import _wait_for

    count = crowd.count
    joined, _ = await asyncio.to_thread(crowd.ask, "join")
    if int(joined) != count:
        raise RuntimeError(f"{joined} of {count} stream followers joined")
    await _wait_for(lambda: share.followers >= count, 60, "the followers to join")
    await asyncio.sleep(SETTLE_S)  # a join sends the whole history: a join's cost, not a steady one
    _, cpu0 = await asyncio.to_thread(crowd.ask, "cpu")
    t0, step0 = time.perf_counter(), _lab_step(app)
    await _window(app, share, count, seconds, windows)
    if share.followers != count:
        raise RuntimeError(f"{share.followers} of {count} followers stayed for the window")
    t1, step1 = time.perf_counter(), _lab_step(app)
    lowest, cpu1 = await asyncio.to_thread(crowd.ask, "leave")
    windows.crowd_cpu.append((cpu1 - cpu0) / (time.perf_counter() - t0))
    windows.behind_ms.append(max(0, step1 - int(lowest)) / max(1e-9, (step1 - step0) / (t1 - t0)) * 1e3)
    await _wait_for(lambda: share.followers == 0, 30, "the followers to leave")
    await asyncio.sleep(SETTLE_S / 2)


def _lab_step(app: Any) -> int:
    history = app.view.history
    return int(history.last("step")) if history is not None and len(history) else 0


async def lab_latency_run(sizes: Sizes, results: Results, followers: int = FOLLOWERS_LATENCY) -> None:
    """The lab's stream file goes to a private state directory: a `gradtui follow` of this user's (it
    follows the newest lab sharing on the machine) must not join the bench's lab and skew its count."""
    import tempfile

    saved = os.environ.get("XDG_STATE_HOME")
    with tempfile.TemporaryDirectory(prefix="gradtui-bench-share-") as state:
        os.environ["XDG_STATE_HOME"] = state
        try:
            await _lab_latency(sizes, results, followers)
        finally:
            if saved is None:
                os.environ.pop("XDG_STATE_HOME", None)
            else:
                os.environ["XDG_STATE_HOME"] = saved


async def _lab_latency(sizes: Sizes, results: Results, followers: int) -> None:
    from gradtui.bench.tui_figures import TERMINAL, _wait_for
    from gradtui.config import LabConfig
    from gradtui.stream.address import ShareSpec
    from gradtui.tui.app import GradApp
    from gradtui.tui.share import Share

    share = Share(ShareSpec("127.0.0.1", 0, max_followers=followers + 10)).start()
    app = GradApp(LabConfig.parse(EXAMPLE3), frozen=True, share=share)
    windows = _Windows({0: [], followers: []}, {0: [], followers: []}, {0: [], followers: []})
    load = [os.getloadavg()[0]]
    try:
        async with app.run_test(size=TERMINAL) as pilot:
            view = app.view
            await _wait_for(lambda: view.loaded and view.idle, 180, "the engine to build the model")
            await pilot.press("p")
            await _wait_for(lambda: view.rows > 1, 120, "the first steps")
            await asyncio.sleep(sizes.tui_warmup_s)
            crowd = _Crowd(f"{share.publisher.host}:{share.publisher.port}", share.publisher.token, followers)
            try:
                for pair in range(sizes.classroom_pairs):
                    # none, 30, 30, none, none, 30...: the machine's load and any drift fall on both alike
                    for count in (0, followers) if pair % 2 == 0 else (followers, 0):
                        if count:
                            await _with_followers(app, share, crowd, sizes.classroom_window_s, windows)
                        else:
                            await _window(app, share, 0, sizes.classroom_window_s, windows)
            finally:
                crowd.close()
            running = view.busy
            await pilot.press("p")
    finally:
        share.close()
    load.append(os.getloadavg()[0])
    if not running:
        raise RuntimeError("the auto-run stopped during the measurement")
    _record(results, windows, followers, load)


def _record(results: Results, windows: _Windows, followers: int, load: list[float]) -> None:
    """The figures: each condition's median window p99, and the median of the pairs' differences (a
    window that a burst of the machine's other work hit moves its pair, not the figure)."""
    none, many = windows.p99[0], windows.p99[followers]
    results.figures["classroom_ui_latency_p99_ms_0"] = statistics.median(none)
    results.figures["classroom_ui_latency_p99_ms_30"] = statistics.median(many)
    results.figures["classroom_ui_latency_p99_delta_ms"] = statistics.median(
        b - a for a, b in zip(none, many, strict=True)
    )
    results.figures["classroom_publisher_cpu_ms_per_s_30"] = statistics.mean(windows.stream_cpu[followers]) * 1e3
    extra, delays = results.extra, windows.delays
    extra["classroom_ui_latency_p50_ms_0"] = round(_p(delays[0], 50), 3)
    extra["classroom_ui_latency_p50_ms_30"] = round(_p(delays[followers], 50), 3)
    extra["classroom_ui_latency_p99_ms_pooled"] = [round(_p(delays[0], 99), 2), round(_p(delays[followers], 99), 2)]
    extra["classroom_ui_latency_samples"] = [len(delays[0]), len(delays[followers])]
    extra["classroom_ui_latency_p99_by_window_ms"] = {
        str(n): [round(v, 2) for v in ms] for n, ms in windows.p99.items()
    }
    extra["classroom_publisher_cpu_ms_per_s_0"] = round(statistics.mean(windows.stream_cpu[0]) * 1e3, 3)
    extra["classroom_followers_process_cpu_ms_per_s"] = round(statistics.mean(windows.crowd_cpu) * 1e3, 1)
    extra["classroom_followers_behind_ms_max"] = round(max(windows.behind_ms), 1)
    extra["classroom_load_avg_1min"] = [round(v, 2) for v in load]
