"""Several devices: GRADTUI_LOGICAL_CPUS splits the CPU before TensorFlow starts, so each check runs
in a child process (paying the TensorFlow import once for a batch of checks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The child calls the CLI's main() for each argv and prints one JSON line: [[code, stdout, stderr], ...].
CHILD = """
import contextlib, io, json, sys
from gradtui.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    results.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""


def run_many(*argvs: list[str], cpus: str = "2", tmp: Path) -> list[tuple[int, str, str]]:
    """Every argv through gradtui's main() in one child process with the CPU split into `cpus` devices."""
    env = {**os.environ, "GRADTUI_LOGICAL_CPUS": cpus, "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(tmp)}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(list(argvs))],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [tuple(r) for r in json.loads(proc.stdout.splitlines()[-1])]


def one_line_refusal(result: tuple[int, str, str], *pieces: str) -> None:
    code, out, err = result
    assert code == 2, result
    assert "Traceback" not in out + err
    assert len(err.splitlines()) == 1, err
    for piece in pieces:
        assert piece in err, (piece, err)


def test_logical_cpus_are_listed_and_unknown_devices_refused(tmp_path: Path) -> None:
    listed, missing, missing_gpu = run_many(
        ["devices"],
        ["run", "--steps", "1", "--quiet", "--device", "cpu:0,cpu:2"],
        ["run", "--steps", "1", "--quiet", "--device", "gpu:0,gpu:1"],
        tmp=tmp_path,
    )
    assert listed[0] == 0
    lines = listed[1].splitlines()
    assert lines[0].split()[:2] == ["cpu:0", "/device:CPU:0"]
    assert lines[1].split()[:2] == ["cpu:1", "/device:CPU:1"]
    assert "--device cpu:0,cpu:1" in lines[-1]
    one_line_refusal(missing, "--device", "'cpu:2' does not exist", "/device:CPU:0, /device:CPU:1")
    if not any(line.startswith("gpu:") for line in lines):
        one_line_refusal(missing_gpu, "--device", "'gpu:0' does not exist (GPUs here: none)")


def test_a_bad_logical_cpu_count_is_refused_before_tensorflow(tmp_path: Path) -> None:
    env = {**os.environ, "GRADTUI_LOGICAL_CPUS": "two", "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(tmp_path)}
    code = (
        "import sys\nfrom gradtui.cli import main\n"
        "code = main(['devices'])\nassert 'tensorflow' not in sys.modules\nsys.exit(code)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    one_line_refusal((proc.returncode, proc.stdout, proc.stderr), "GRADTUI_LOGICAL_CPUS", "whole number")
