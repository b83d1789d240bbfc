"""A writer knows what it wrote, one writer at a time, and a save that fails says where it went.

No TensorFlow: the files here are bytes; the session-specific part (the step count read from a
file) is tested on a session file made by hand.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from gradtui import file_lock, files, saving
from gradtui.config import LabConfig
from gradtui.file_identity import FileIdentity, changed_since, identify
from gradtui.lab import session_file, session_peek


def session_bytes(step: int, notes: tuple[str, ...] = (), snapshots: tuple[str, ...] = ()) -> bytes:
    """A small session file made by hand: what read_checked and step_of see in a real one."""
    meta = {
        "format": session_file.FORMAT,
        "config": LabConfig().to_dict(),
        "snapshots": [{"name": n, "config": LabConfig().to_dict()} for n in snapshots],
        "notes": list(notes),
        "semantics": session_file.SEMANTICS,
    }
    arrays = {
        "meta": np.asarray(json.dumps(meta)),
        "current/w0": np.ones(3, np.float32),
        "current/step": np.asarray(step),
    }
    for i in range(len(snapshots)):
        arrays[f"snap{i}/w0"] = np.ones(3, np.float32)
        arrays[f"snap{i}/step"] = np.asarray(0)
    return session_file.to_bytes(arrays)


def test_identity_survives_a_touch_but_not_a_change(tmp_path: Path) -> None:
    path = tmp_path / "s.npz"
    path.write_bytes(session_bytes(4))
    seen = identify(path, step=4)
    assert changed_since(path, seen) is None
    os.utime(path, ns=(seen.mtime_ns + 10**9, seen.mtime_ns + 10**9))  # touched: same bytes
    assert changed_since(path, seen) is None
    path.write_bytes(session_bytes(9))  # another writer's steps
    now = changed_since(path, seen)
    assert now is not None and now.exists
    path.unlink()
    gone = changed_since(path, seen)
    assert gone is not None and not gone.exists
    assert changed_since(path, FileIdentity.absent()) is None  # still missing: unchanged


def test_step_count_is_read_from_one_member(tmp_path: Path) -> None:
    path = tmp_path / "s.npz"
    path.write_bytes(session_bytes(170))
    assert session_peek.step_of(path) == 170
    (tmp_path / "text.npz").write_text("not a zip")
    assert session_peek.step_of(tmp_path / "text.npz") is None


def test_a_save_over_a_file_changed_since_it_was_loaded_is_refused_naming_the_steps(tmp_path: Path) -> None:
    """The lab loaded s.npz at step 120; a headless run saved step 170 over it; the lab's save must not
    throw those steps away (it asks; `gradtui run` refuses)."""
    path = tmp_path / "s.npz"
    path.write_bytes(session_bytes(120))
    loaded = identify(path, step=120)
    path.write_bytes(session_bytes(170))  # the other writer
    outcome = saving.save_bytes(path, session_bytes(121), since=loaded, step_of=session_peek.step_of)
    assert not outcome.saved
    assert outcome.conflict is not None and "step 120 then, step 170 now" in outcome.conflict
    assert session_peek.step_of(path) == 170  # the other writer's file is intact
    assert "refused" in outcome.line() and "\n" not in outcome.line()
    # after asking, the person may overwrite: no `since`
    forced = saving.save_bytes(path, session_bytes(121), since=None)
    assert forced.where_asked and session_peek.step_of(path) == 121
    # and the next save is checked against what was written, not what was loaded
    assert forced.identity is not None
    again = saving.save_bytes(path, session_bytes(122), since=forced.identity)
    assert again.where_asked and again.identity is not None


def test_a_file_created_meanwhile_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "new.npz"
    planned = identify(path)
    assert not planned.exists
    path.write_bytes(session_bytes(7))
    outcome = saving.save_bytes(path, session_bytes(1), since=planned, step_of=session_peek.step_of)
    assert outcome.conflict is not None and "created" in outcome.conflict and "step 7" in outcome.conflict


_HOLD = textwrap.dedent(
    """
    import sys, time
    from gradtui import file_lock
    with file_lock.write_lock(sys.argv[1]):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def _holder(path: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_refuses_in_one_line_while_another_process_writes(tmp_path: Path) -> None:
    path = tmp_path / "s.npz"
    path.write_bytes(session_bytes(1))
    proc = _holder(path, 5)
    try:
        started = time.monotonic()
        outcome = saving.save_bytes(path, session_bytes(2), wait=0.3)
        assert time.monotonic() - started < 3
        assert not outcome.saved and outcome.conflict is not None
        assert f"pid {proc.pid}" in outcome.conflict and "being written" in outcome.conflict
        assert session_peek.step_of(path) == 1
    finally:
        proc.kill()
        proc.wait()
    # the holder is gone (killed: the kernel dropped its lock): the next writer gets through at once
    assert saving.save_bytes(path, session_bytes(3), wait=0.3).where_asked


def test_a_second_writer_waits_for_the_first_and_never_interleaves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two threads save the same file many times with different bytes, each checking what it last wrote:
    every write lands whole, and no write lands over another's without the identity check seeing it."""
    path = tmp_path / "s.npz"
    payloads = {name: session_bytes(step) for name, step in (("a", 1), ("b", 2))}
    path.write_bytes(payloads["a"])
    inside = threading.Lock()
    overlaps: list[str] = []
    real = files.atomic_write_bytes

    def watched(target: Path, data: bytes) -> None:
        if not inside.acquire(blocking=False):
            overlaps.append(str(target))
            real(target, data)
            return
        try:
            time.sleep(0.002)
            real(target, data)
        finally:
            inside.release()

    monkeypatch.setattr(saving, "atomic_write_bytes", watched)
    results: dict[str, list[bool]] = {"a": [], "b": []}

    def writer(name: str) -> None:
        for _ in range(30):
            results[name].append(saving.save_bytes(path, payloads[name], wait=5).where_asked)

    threads = [threading.Thread(target=writer, args=(n,)) for n in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []
    assert all(results["a"]) and all(results["b"])
    assert path.read_bytes() in payloads.values()
    assert not file_lock.sidecar(path).exists()  # released and removed


def _enospc_under(directory: Path) -> object:
    real = files.atomic_write_bytes

    def failing(target: Path, data: bytes) -> None:
        if Path(target).absolute().is_relative_to(directory):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
        real(target, data)

    return failing


def test_a_full_disk_falls_back_to_tmpdir_and_says_where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    full, spare = tmp_path / "full", tmp_path / "spare"
    full.mkdir()
    spare.mkdir()
    monkeypatch.setattr(saving, "atomic_write_bytes", _enospc_under(full))
    monkeypatch.setenv("TMPDIR", str(spare))
    monkeypatch.setattr("tempfile.tempdir", None)  # re-read $TMPDIR
    outcome = saving.save_bytes(full / "s.npz", session_bytes(5))
    assert outcome.saved and not outcome.where_asked
    assert outcome.written == spare / "s.npz" and session_peek.step_of(spare / "s.npz") == 5
    line = outcome.line("autosave")
    assert line.startswith("autosave failed: no space left on device on ") and str(full) in line
    assert f"saved to {spare / 's.npz'} instead" in line


def test_a_save_that_lands_nowhere_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(saving, "atomic_write_bytes", _enospc_under(tmp_path))
    monkeypatch.setattr(saving, "fallback_dirs", lambda: [tmp_path / "tmp", tmp_path / "cwd"])
    outcome = saving.save_bytes(tmp_path / "s.npz", session_bytes(5))
    assert not outcome.saved
    assert outcome.line().endswith("not saved anywhere") and outcome.line().count("no space left") == 3


def test_a_fallback_never_replaces_a_file_that_is_not_ours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    full, spare = tmp_path / "full", tmp_path / "spare"
    full.mkdir()
    spare.mkdir()
    (spare / "s.npz").write_bytes(b"someone else's")
    monkeypatch.setattr(saving, "atomic_write_bytes", _enospc_under(full))
    outcome = saving.save_bytes(full / "s.npz", session_bytes(5), fallbacks=[spare])
    assert outcome.written == spare / f"s-{os.getpid()}.npz"
    assert (spare / "s.npz").read_bytes() == b"someone else's"


def _can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None or sys.platform != "linux":
        return False
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


_ON_TMPFS = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    from gradtui import saving
    full = Path(sys.argv[1])
    filler = full / "filler"
    try:
        with open(filler, "wb") as handle:  # fill the tmpfs to the last block
            while True:
                handle.write(b"x" * 4096)
                handle.flush()
    except OSError:
        pass
    outcome = saving.save_bytes(full / "s.npz", b"z" * 20000, fallbacks=[Path(sys.argv[2])])
    print(json.dumps([str(outcome.written), outcome.line("autosave")]))
    """
)


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="no user namespace to mount a small tmpfs in")
def test_a_really_full_tmpfs_falls_back(tmp_path: Path) -> None:
    """A 64 KB tmpfs filled to the last block: the kernel's own ENOSPC, not a wrapper's."""
    full = tmp_path / "full"
    full.mkdir()
    spare = tmp_path / "spare"
    spare.mkdir()
    script = f"mount -t tmpfs -o size=64k tmpfs {full} && exec {sys.executable} -c '{_ON_TMPFS}' {full} {spare}"
    done = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    assert done.returncode == 0, done.stderr
    written, line = json.loads(done.stdout)
    assert written == str(spare / "s.npz") and (spare / "s.npz").stat().st_size == 20000
    assert "no space left on device on" in line and "instead" in line
