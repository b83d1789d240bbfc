"""The synthetic shapes set must be deterministic, well-formed and actually learnable."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gradtui.lab.shapes import CLASS_NAMES, make_shapes


def test_ten_distinct_class_names() -> None:
    assert len(CLASS_NAMES) == 10
    assert len(set(CLASS_NAMES)) == 10


@pytest.mark.parametrize(("size", "channels"), [(16, 1), (16, 3), (32, 1), (32, 3)])
def test_shapes_dtypes_and_ranges(size: int, channels: int) -> None:
    x, y = make_shapes(200, size=size, channels=channels, seed=3)
    assert x.shape == (200, size, size, channels)
    assert x.dtype == np.float32
    assert y.shape == (200,)
    assert y.dtype == np.int64
    assert float(x.min()) >= 0.0
    assert float(x.max()) <= 1.0
    assert float(x.max()) > 0.5  # something is drawn
    assert set(np.unique(y).tolist()) == set(range(10))


def test_same_seed_same_arrays_other_seed_differs() -> None:
    x1, y1 = make_shapes(100, size=16, channels=3, seed=7)
    x2, y2 = make_shapes(100, size=16, channels=3, seed=7)
    x3, _ = make_shapes(100, size=16, channels=3, seed=8)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, x3)


@pytest.mark.parametrize("n", [0, 7, 100, 123])
def test_classes_balanced_with_remainder_spread(n: int) -> None:
    _, y = make_shapes(n, seed=0)
    counts = np.bincount(y, minlength=10)
    assert counts.sum() == n
    assert counts.max() - counts.min() <= (1 if n % 10 else 0)
    assert counts.min() == n // 10


def test_labels_are_shuffled() -> None:
    _, y = make_shapes(200, seed=0)
    assert not np.array_equal(y, np.sort(y))


def test_three_channel_images_are_tinted_not_grey() -> None:
    x, _ = make_shapes(50, size=16, channels=3, seed=0)
    assert not np.allclose(x[..., 0], x[..., 1])


def test_bad_arguments_refused() -> None:
    with pytest.raises(ValueError):
        make_shapes(10, channels=2)
    with pytest.raises(ValueError):
        make_shapes(-1)


@pytest.mark.parametrize(("size", "channels"), [(16, 1), (32, 3)])
def test_classes_distinguishable_by_nearest_class_mean(size: int, channels: int) -> None:
    """Even a pixel-space nearest-mean classifier beats 50% (chance is 10%): the labels carry signal."""
    x_train, y_train = make_shapes(1000, size=size, channels=channels, seed=1)
    x_test, y_test = make_shapes(500, size=size, channels=channels, seed=2)
    # Grey (channel mean) so the random tint does not dominate the distances.
    flat_train = x_train.mean(axis=-1).reshape(len(x_train), -1)
    flat_test = x_test.mean(axis=-1).reshape(len(x_test), -1)
    means = np.stack([flat_train[y_train == c].mean(axis=0) for c in range(10)])
    distances = ((flat_test[:, None, :] - means[None, :, :]) ** 2).sum(axis=-1)
    accuracy = float(np.mean(distances.argmin(axis=1) == y_test))
    assert accuracy > 0.5


def test_importing_shapes_does_not_import_tensorflow() -> None:
    """The generator must stay usable before (and without) the 3-second TensorFlow import."""
    code = "import sys, gradtui.lab.shapes; sys.exit('tensorflow' in sys.modules or 'keras' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0


def test_history_columns_are_cut_at_one_length_while_appending() -> None:
    """A plot's x and y come from one moment even while the engine thread appends."""
    import threading

    from gradtui.lab.history import Dims, History

    history = History(Dims(probes=1, outputs=2, layers=3), capacity=4)
    stop = threading.Event()

    def writer() -> None:
        step = 0
        while not stop.is_set():
            history.append({"step": np.arange(step, step + 7), "weight_norm": np.ones((7, 3))})
            step += 7

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(300):
            steps, norms, preds = history.columns("step", "weight_norm", "predictions")
            assert len(steps) == len(norms) == len(preds)
    finally:
        stop.set()
        thread.join()


def _downsample_reference(x: np.ndarray, y: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The obvious loop: per bucket, the first row of its min and of its max (first row if all NaN)."""
    n = len(x)
    if n <= 2 * width:
        return x, y
    edges = np.unique(np.linspace(0, n, width + 1).astype(np.int64))
    keep = {0, n - 1}
    for lo, hi in itertools.pairwise(edges):
        seg = y[lo:hi]
        if not np.isfinite(seg).any():
            keep.add(int(lo))
            continue
        keep.add(int(lo + np.nanargmin(np.where(np.isfinite(seg), seg, np.nan))))
        keep.add(int(lo + np.nanargmax(np.where(np.isfinite(seg), seg, np.nan))))
    sel = np.array(sorted(keep))
    return x[sel], y[sel]


@pytest.mark.parametrize("n", [5, 50, 1000, 100_003])
@pytest.mark.parametrize("width", [1, 7, 60])
def test_downsample_keeps_each_buckets_extremes(n: int, width: int) -> None:
    from gradtui.lab.history import downsample

    rng = np.random.default_rng(n + width)
    y = rng.standard_normal(n).astype(np.float32)
    y[rng.random(n) < 0.2] = np.nan
    y[n // 3 : n // 3 + n // 10] = np.nan  # a stretch with no values at all
    y[n // 2] = 50.0  # a spike must survive
    x = np.arange(n, dtype=np.float64)
    got_x, got_y = downsample(x, y, width)
    want_x, want_y = _downsample_reference(x, y, width)
    np.testing.assert_array_equal(got_x, want_x)
    np.testing.assert_array_equal(got_y, want_y)
    assert len(got_x) <= max(n, 2 * width + 1) and 50.0 in got_y
