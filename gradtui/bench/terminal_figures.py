"""What a user feels, read back from a real terminal: `python -m gradtui` in a pseudo-terminal, from
launch to its first frame and to "ready", key to painted step, and its memory while playing.

The app runs in its own process exactly as a user starts it; keys are bytes written to the terminal
and "painted" means the new step number arrived in the terminal's output. Imports neither
TensorFlow nor Textual (the app process does).
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import numpy as np

from gradtui.bench.report import Results, Sizes

TERMINAL = (120, 40)  # columns, rows of the first-frame terminal
KEY_TERMINAL = (120, 36)  # the terminal of the key and memory figures
FRAME_MARK = re.compile(re.escape(b"\x1b[1;1H"))  # the first full-screen paint starts at the top-left cell
READY_MARK = re.compile(rb" ready ")  # the status line's state, painted once the session is built
STEP_NUMBER = re.compile(rb"step (\d+) \xc2\xb7")  # the status line's step, as it reaches the terminal
LOADING_MARK = re.compile(rb" loading ")  # the status line's state while an experiment loads
# a preset key on another model, from the default lab (example 1, mlp): the cnn's example 2 with a class
# target, then the mlp's example 3; each rebuilds the model and traces its step
PRESET_SWITCHES = (("3", "preset_key_to_ready_cnn_s"), ("4", "preset_key_to_ready_mlp_s"))


def _step_mark(step: int) -> re.Pattern[bytes]:
    """The status line showing `step` ("· step 12 ·"), as it reaches the terminal."""
    return re.compile(rb"step %d \xc2\xb7" % step)


def launch_in_pty(
    args: list[str],
    size: tuple[int, int],
    env: dict[str, str],
    cwd: Path | None = None,
    entry: tuple[str, ...] = ("-m", "gradtui"),
) -> tuple[subprocess.Popen[bytes], int]:
    """`python -m gradtui ARGS` on a new pseudo-terminal of `size` (columns, rows), in its own process
    group as a login shell would start it; returns the process and the terminal's master end. `entry`
    replaces `-m gradtui` (the tests run the lab on the fake engine with `-c SCRIPT`)."""
    import fcntl
    import struct
    import termios

    columns, rows = size
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, *entry, *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    return proc, master


class Terminal:
    """`python -m gradtui` in a pseudo-terminal of the given size: read its output, type keys."""

    def __init__(self, size: tuple[int, int], args: tuple[str, ...] = (), env: dict[str, str] | None = None) -> None:
        self.size = size
        self.args = args  # gradtui's arguments (`--share 0`, `follow ADDRESS`): the lab with none
        self.extra_env = env or {}
        self.started = 0.0
        self.seen = b""  # output not yet consumed by `wait_for`
        self._state = tempfile.TemporaryDirectory(prefix="gradtui-bench-")
        self._master = -1
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Terminal:
        columns, rows = self.size
        env = {
            **os.environ,
            "TERM": "xterm-256color",
            "XDG_STATE_HOME": self._state.name,  # a first start: no remembered config or session
            "COLUMNS": str(columns),
            "LINES": str(rows),
        }
        self.started = time.perf_counter()
        self.proc, self._master = launch_in_pty(list(self.args), self.size, {**env, **self.extra_env})
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self._master >= 0:
            os.close(self._master)
        self._state.cleanup()

    def wait_for(self, pattern: re.Pattern[bytes], timeout: float) -> float:
        """perf_counter() when `pattern` has arrived; the output up to it is consumed."""
        deadline = time.perf_counter() + timeout
        while True:
            found = pattern.search(self.seen)
            if found:
                now = time.perf_counter()
                self.seen = self.seen[found.end() :]
                return now
            if time.perf_counter() > deadline or not self._read(0.005):
                break
        code = self.proc.poll() if self.proc is not None else None
        tail = self.seen[-300:].decode("utf-8", "replace")
        raise RuntimeError(f"no {pattern.pattern!r} within {timeout:.0f} s (exit {code}); output ends {tail!r}")

    def _read(self, wait: float) -> bool:
        """Append what the app wrote within `wait` seconds; False once the app is gone."""
        ready, _, _ = select.select([self._master], [], [], wait)
        if not ready:
            return self.proc is None or self.proc.poll() is None
        try:
            data = os.read(self._master, 1 << 20)
        except OSError:
            return False
        self.seen += data
        return bool(data)

    def take(self) -> bytes:
        """What the app wrote since the last call, read without blocking (a playing app never stalls
        on a full terminal); consumed."""
        while select.select([self._master], [], [], 0)[0] and self._read(0):
            pass
        taken, self.seen = self.seen, b""
        return taken

    def type(self, key: bytes) -> float:
        """Write a key; perf_counter() just before."""
        now = time.perf_counter()
        os.write(self._master, key)
        return now

    @property
    def state_dir(self) -> Path:
        """This terminal's XDG_STATE_HOME (a shared lab's stream file is in it)."""
        return Path(self.extra_env.get("XDG_STATE_HOME", self._state.name))

    def rss_mb(self) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS for the app process")


# ---- first frame ------------------------------------------------------------------------------


def first_frame_once(timeout: float = 60.0) -> float:
    """Seconds from spawning `python -m gradtui` in a pseudo-terminal to its first painted frame."""
    with Terminal(TERMINAL) as term:
        return term.wait_for(FRAME_MARK, timeout) - term.started


def first_frame_figure(sizes: Sizes, results: Results) -> None:
    if sys.platform == "win32":
        raise RuntimeError("needs a POSIX pseudo-terminal")
    runs = [first_frame_once() for _ in range(sizes.first_frame_runs)]
    results.figures["first_frame_s"] = statistics.median(runs)
    results.extra["first_frame_runs_s"] = [round(r, 3) for r in runs]


# ---- launch, keys, play -----------------------------------------------------------------------


def tf_import_seconds() -> float:
    """`python -c "import tensorflow"` from spawn to exit: the floor under any TensorFlow app's start.

    Same interpreter and environment as the app's launch (the app quiets TensorFlow's C++ logs the
    same way, and its import writes them to its log file rather than a terminal)."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import tensorflow"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    return time.perf_counter() - started


def tf_import_figure(sizes: Sizes, results: Results) -> float:
    """The median of fresh imports taken just before the app's launch, after one untimed import.

    The untimed one reads TensorFlow's ~2 GB of libraries into the page cache if they had left it
    (measured here: 7-9 s cold against 2.7 s warm): the app's launch, right after, finds them cached,
    so the reference must too, or `ready_over_tf_import_s` compares a warm start with a cold one."""
    cold = tf_import_seconds()
    runs = [tf_import_seconds() for _ in range(sizes.tf_import_runs)]
    results.extra["tf_import_first_s"] = round(cold, 3)
    results.extra["tf_import_runs_s"] = [round(r, 3) for r in runs]
    return statistics.median(runs)


def _rss_slope_mb_per_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares growth of (seconds, MB) samples, in MB per minute."""
    t, mb = np.array(samples).T
    return float(np.polyfit(t - t[0], mb, 1)[0] * 60.0)


def app_figures(sizes: Sizes, results: Results) -> None:
    """One app session on the default lab: launch to ready, the first step, key steps, then play."""
    if sys.platform == "win32":
        raise RuntimeError("needs a POSIX pseudo-terminal")
    figures = results.figures
    figures["tf_import_s"] = tf_import = tf_import_figure(sizes, results)
    with Terminal(KEY_TERMINAL) as term:
        figures["ready_s"] = ready = term.wait_for(READY_MARK, 180) - term.started
        figures["ready_over_tf_import_s"] = ready - tf_import
        pressed = term.type(b" ")
        figures["first_step_ms"] = (term.wait_for(_step_mark(1), 120) - pressed) * 1e3
        delays = []
        for step in range(2, sizes.key_presses + 2):
            time.sleep(0.05)  # a person's presses are apart; the app settles between them
            pressed = term.type(b" ")
            delays.append(term.wait_for(_step_mark(step), 30) - pressed)
        ms = np.asarray(delays) * 1e3
        figures["key_step_ms_p50"] = float(np.percentile(ms, 50))
        figures["key_step_ms_p99"] = float(np.percentile(ms, 99))
        results.extra["key_step_ms_max"] = round(float(ms.max()), 1)
        results.extra["key_presses"] = len(delays)
        results.extra["key_terminal"] = list(KEY_TERMINAL)
        figures["play_rss_mb_per_min"] = _play_memory(term, sizes, results)


def preset_switch_figures(sizes: Sizes, results: Results) -> None:
    """Preset key to the first step possible (the status says `ready` on the new model), for the cnn and the
    mlp (medians of `sizes.preset_rounds`), and key to the status saying `loading` (the lab must never look
    frozen: within 100 ms; the median of every switch, the slowest in extra)."""
    if sys.platform == "win32":
        raise RuntimeError("needs a POSIX pseudo-terminal")
    feedback: list[float] = []
    ready: dict[str, list[float]] = {figure: [] for _, figure in PRESET_SWITCHES}
    with Terminal(KEY_TERMINAL) as term:
        term.wait_for(READY_MARK, 180)
        for _ in range(sizes.preset_rounds):
            for key, figure in PRESET_SWITCHES:
                time.sleep(1.0)  # a person reads the new experiment before the next key; its frames are painted
                term.take()
                pressed = term.type(key.encode())
                feedback.append(term.wait_for(LOADING_MARK, 30) - pressed)
                ready[figure].append(term.wait_for(READY_MARK, 300) - pressed)
    for figure, seconds in ready.items():
        results.figures[figure] = statistics.median(seconds)
        results.extra[figure.removesuffix("_s") + "_runs_s"] = [round(s, 2) for s in seconds]
    results.figures["preset_key_to_loading_ms"] = statistics.median(feedback) * 1e3
    results.extra["preset_key_to_loading_ms_each"] = [round(f * 1e3, 1) for f in feedback]


PREVIEW_MARK = re.compile("uᵀHu/uᵀu".encode())  # the Preview tab's line, painted once the preview is back
PREVIEW_PAUSE_S = 3.0  # a person looks at the freshly loaded experiment before pressing v
# (figure, the lab's arguments, seconds from "ready" to `v`): the cnn preset a person loads, and the cnn on
# batch-loss (the preview's heaviest: forward passes over the batch), with the pause and at once
PREVIEW_RUNS = (
    ("preview_key_first_s", ("--preset", "example2-class"), PREVIEW_PAUSE_S),
    ("preview_key_batch_first_s", ("--model", "cnn", "--rule", "batch-loss"), PREVIEW_PAUSE_S),
    ("preview_key_at_once_s", ("--model", "cnn", "--rule", "batch-loss"), 0.0),
)


def preview_key_figures(results: Results) -> None:
    """`v` to the step preview on screen, the first in a freshly started lab on the cnn: after a person's
    pause (the engine has traced the preview ahead while idle) and at once (it has not)."""
    if sys.platform == "win32":
        raise RuntimeError("needs a POSIX pseudo-terminal")
    for figure, args, pause in PREVIEW_RUNS:
        with Terminal(KEY_TERMINAL, args) as term:
            term.wait_for(READY_MARK, 180)
            time.sleep(pause)
            term.take()
            pressed = term.type(b"v")
            results.figures[figure] = term.wait_for(PREVIEW_MARK, 60) - pressed


def _play_memory(term: Terminal, sizes: Sizes, results: Results) -> float:
    """RSS growth of the app process while it plays, sampled every half second after a warm-up.

    The warm-up plays until the history holds `sizes.play_warmup_steps` steps (past the point where
    every history's memory has settled, see report.PLAY_WARMUP_STEPS) or `play_warmup_s` seconds
    have passed, so the slope measures play, not the history filling up."""
    term.type(b"p")
    warm_started = time.perf_counter()
    last_step = 0
    while last_step < sizes.play_warmup_steps and time.perf_counter() - warm_started < sizes.play_warmup_s:
        last_step = max(last_step, _last_step(term.take()))
        time.sleep(0.05)
    warmup_s = time.perf_counter() - warm_started
    samples: list[tuple[float, float]] = []
    started = time.perf_counter()
    next_sample = started
    first_step = last_step
    while (now := time.perf_counter()) - started < sizes.play_seconds:
        last_step = max(last_step, _last_step(term.take()))
        if now >= next_sample:
            samples.append((now, term.rss_mb()))
            next_sample += 0.5
        time.sleep(0.02)
    term.type(b"p")
    if len(samples) < 3:
        raise RuntimeError("too few memory samples while playing")
    results.extra["play"] = {
        "seconds": round(samples[-1][0] - samples[0][0], 1),
        "warmup_s": round(warmup_s, 1),
        "warmup_steps": first_step,
        "rss_start_mb": round(samples[0][1], 1),
        "rss_end_mb": round(samples[-1][1], 1),
        "last_step_seen": last_step,
        "steps_per_s": round((last_step - first_step) / max(samples[-1][0] - started, 1e-9)),
    }
    if sizes.play_seconds < 60:
        results.notes.append(f"play memory measured over {sizes.play_seconds:.0f} s of play (60 s in --quick and full)")
    if first_step < sizes.play_warmup_steps:
        results.notes.append(
            f"play memory: the warm-up ended at step {first_step:,} after {warmup_s:.0f} s, before the history "
            f"settles ({sizes.play_warmup_steps:,} steps): the slope includes the history filling up"
        )
    return _rss_slope_mb_per_min(samples)


def _last_step(output: bytes) -> int:
    """The highest step number the status line showed in `output` (0 if none)."""
    return max((int(s) for s in STEP_NUMBER.findall(output)), default=0)
