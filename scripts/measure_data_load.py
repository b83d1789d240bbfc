"""Measure the peak memory of loading a data file into a session, per byte of its arrays.

    python scripts/measure_data_load.py --rows 50000 --dims 1000 --dtype float32

One process builds a session on a 10-row file (TensorFlow imported and warmed up), resets its peak
RSS (/proc/self/clear_refs), then builds the same model on the big file: the figure is that build's
peak RSS minus the RSS before it, divided by the arrays' bytes (and per element as float32).
It is the factor gradtui/lab/data_files.py's LOAD_COPIES must cover.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = """
import sys
from gradtui.config import LabConfig
from gradtui.lab.session import Session

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024

def build(data):
    settings = {"model": sys.argv[1], "data": data, "rule": "batch-loss", "batch_size": "32"}
    return Session.build(LabConfig.parse(settings))

warm = build(sys.argv[2])  # TensorFlow imported, its kernels and the tracing machinery warmed up
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")  # reset the peak (VmHWM) to the RSS now
big = build(sys.argv[3])
print(before, status("VmHWM"), status("VmRSS"))
"""


def _measure(model: Path, small: Path, big: Path) -> tuple[int, int, int]:
    """(RSS before the big build, its peak, RSS after), in one process with TensorFlow warmed up."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(model), str(small), str(big)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    before, peak, after = (int(v) for v in done.stdout.strip().splitlines()[-1].split())
    return before, peak, after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--dims", type=int, default=1000)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--compressed", action="store_true", help="np.savez_compressed, as a download would be")
    parser.add_argument("--zeros", action="store_true", help="all-zero inputs (a deflate bomb's content)")
    parser.add_argument("--no-test", action="store_true", help="x_train/y_train only (no held-out arrays)")
    args = parser.parse_args()
    from gradtui.lab.runtime import keras

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        model = d / "linear.keras"
        keras.Sequential([keras.Input((args.dims,)), keras.layers.Dense(1, activation="sigmoid")]).save(model)
        rng = np.random.default_rng(0)

        def write(path: Path, rows: int) -> int:
            x = (
                np.zeros((rows, args.dims), args.dtype)
                if args.zeros
                else (rng.random((rows, args.dims)) * 255).astype(args.dtype)
            )
            y = rng.integers(0, 2, (rows, 1)).astype(np.float32)
            held = 0 if args.no_test else rows // 10
            arrays: dict[str, np.ndarray] = {"x_train": x[held:], "y_train": y[held:]}
            if held:
                arrays.update(x_test=x[:held], y_test=y[:held])
            (np.savez_compressed if args.compressed else np.savez)(path, **arrays)  # type: ignore[arg-type]
            return int(x.nbytes + y.nbytes)

        small, big = d / "small.npz", d / "big.npz"
        write(small, 10)
        nbytes = write(big, args.rows)
        elements = args.rows * (args.dims + 1)
        before, peak, after = _measure(model, small, big)
        extra = peak - before
        print(
            json.dumps(
                {
                    "dtype": args.dtype,
                    "arrays_mb": round(nbytes / 2**20, 1),
                    "rss_before_mb": round(before / 2**20, 1),
                    "peak_mb": round(peak / 2**20, 1),
                    "held_after_mb": round((after - before) / 2**20, 1),
                    "peak_factor_of_arrays": round(extra / nbytes, 2),
                    "peak_factor_of_float32": round(extra / (4 * elements), 2),
                }
            )
        )


if __name__ == "__main__":
    main()
