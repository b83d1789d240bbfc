"""Honest memory limits for files: a deflate bomb is refused before it is inflated (and before
TensorFlow), content that needs no model is refused before the TensorFlow import, and the memory a
load is charged is the measured peak."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format

from gradtui.lab import array_files, data_files

ROOT = Path(__file__).resolve().parents[2]
PEAK_LIMIT_MB = 200  # the refusal comes before TensorFlow (~700 MB) and before any member is inflated


def _bomb(path: Path, rows: int) -> int:
    """An .npz whose x_train is `rows` x 5 float32 zeros, deflated: a few hundred KB declaring rows*20 bytes."""
    header = {"descr": "<f4", "fortran_order": False, "shape": (rows, 5)}
    zero_block = bytes(1 << 20)
    total = rows * 5 * 4
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("x_train.npy", "w", force_zip64=True) as member:
            npy_format.write_array_header_1_0(member, header)
            left = total
            while left:
                chunk = min(left, len(zero_block))
                member.write(zero_block[:chunk])
                left -= chunk
        with archive.open("y_train.npy", "w", force_zip64=True) as member:
            npy_format.write_array_header_1_0(member, {"descr": "<f4", "fortran_order": False, "shape": (rows, 1)})
            left = rows * 4
            while left:
                chunk = min(left, len(zero_block))
                member.write(zero_block[:chunk])
                left -= chunk
    return total


_RUN = textwrap.dedent(
    """
    import sys
    from gradtui.cli import main
    code = main(sys.argv[1:])
    print("tensorflow imported" if "tensorflow" in sys.modules else "tensorflow not imported", file=sys.stderr)
    peak = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")][0].split()[1]
    print(f"peak {int(peak) / 1024:.1f}", file=sys.stderr)  # this program's own (ru_maxrss counts the fork)
    sys.exit(code)
    """
)


def _run(*argv: str) -> tuple[int, str, float]:
    """gradtui in a child process: (exit code, stderr without the peak line, peak RSS in MB: VmHWM)."""
    done = subprocess.run(
        [sys.executable, "-c", _RUN, *argv], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    lines = done.stderr.splitlines()
    peak = float(lines[-1].removeprefix("peak "))
    return done.returncode, "\n".join(lines[:-1]), peak


def test_a_deflate_bomb_is_refused_before_inflating_with_peak_rss_under_the_limit(files: Path, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.npz"
    declared = _bomb(bomb, 13_500_000)  # 270 MB of zeros, 1,000 times smaller on disk
    assert bomb.stat().st_size < declared / 500
    code, err, peak_mb = _run("run", "--model", str(files / "linear.keras"), "--data", str(bomb), "--steps", "1")
    lines = err.splitlines()
    assert code == 2 and lines[0].startswith("gradtui: --data: ") and "expands" in lines[0], err
    assert f"more than {array_files.MAX_RATIO} times" in lines[0]
    assert lines[1] == "tensorflow not imported"
    assert peak_mb < PEAK_LIMIT_MB, f"peak RSS {peak_mb:.0f} MB"


@pytest.mark.parametrize(
    ("name", "reason"),
    [("nan_inputs.npz", "NaN"), ("rows_differ.npz", "rows"), ("labels_text.npz", "not numeric")],
)
def test_content_refusals_come_before_tensorflow(files: Path, name: str, reason: str) -> None:
    code, err, _ = _run("run", "--model", str(files / "linear.keras"), "--data", str(files / name), "--steps", "1")
    lines = err.splitlines()
    assert code == 2 and reason in lines[0] and lines[0].startswith("gradtui: --data: "), err
    assert lines[1] == "tensorflow not imported"


def test_real_data_passes_the_ratio_check(tmp_path: Path) -> None:
    """Realistic images, compressed, far past the size floor: not refused (the shipped assets neither)."""
    from gradtui.lab.shapes import make_shapes
    from gradtui.resources import asset

    x, y = make_shapes(300, size=28, channels=1, seed=1)
    images = np.tile(x.astype(np.float32), (80, 1, 1, 1))  # 24,000 images, 75 MB: past the 64 MB floor
    assert images.nbytes > array_files.RATIO_FLOOR
    path = tmp_path / "images.npz"
    np.savez_compressed(path, x_train=images, y_train=np.tile(y, 80))
    headers = array_files.npz_headers(path)
    assert headers["x_train"].shape == images.shape and headers["x_train"].expanded > array_files.RATIO_FLOOR
    array_files.check_headers(path, headers, lambda key: True, "a data file", None)  # the ratio is judged here
    for name in ("shapes.npz", "cnn.weights.npz"):
        array_files.check_headers(name, array_files.npz_headers(asset(name)), lambda key: True, "an asset", None)


def test_the_load_charge_is_the_measured_peak() -> None:
    """float32 arrays are charged 4x their bytes (measured peak 3.15x); uint8 13 bytes an element (12.6)."""
    f32 = array_files.Header("x_train", (1000, 10), np.dtype("float32"))
    u8 = array_files.Header("x_train", (1000, 10), np.dtype("uint8"))
    assert data_files.in_memory(f32) == 4 * f32.nbytes
    assert data_files.in_memory(u8) == 13 * u8.nbytes


def test_a_file_read_for_the_check_is_read_once(files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.npz"
    path.write_bytes((files / "regression.npz").read_bytes())
    data_files.precheck(str(path))
    reads: list[str] = []
    real = array_files.load_npz

    def counted(p: str, h: dict[str, array_files.Header]) -> dict[str, np.ndarray]:
        reads.append(str(p))
        return real(p, h)

    monkeypatch.setattr(array_files, "load_npz", counted)
    assert data_files.take_preloaded(str(path)) is not None
    assert data_files.take_preloaded(str(path)) is None  # dropped once taken
    os.utime(path, ns=(1, 1))
    data_files.precheck(str(path))
    assert reads == [str(path)]
