"""A deterministic, offline 10-class data set of drawn shapes (NumPy only, no TensorFlow).

It lets the built-in CNN ship with real held-out data and lets tests run without a download.
Each shape is drawn from a distance field, so a whole class is rendered in one broadcast and
strokes get soft (anti-aliased) edges; position, scale, thickness, brightness and noise are
jittered per image so the task is learnable but not trivial.
"""

from __future__ import annotations

import numpy as np

CLASS_NAMES: tuple[str, ...] = (
    "hline",
    "vline",
    "diag",
    "antidiag",
    "square",
    "filled-square",
    "circle",
    "cross",
    "plus",
    "triangle",
)

_Field = np.ndarray  # float64 (m, size, size): distance in pixels from each pixel to the shape's stroke
_Point = tuple[np.ndarray, np.ndarray]  # (x, y), each (m, 1, 1)


def _segment(px: np.ndarray, py: np.ndarray, a: _Point, b: _Point) -> _Field:
    """Distance to segment a-b; endpoints are (m, 1, 1) so every image gets its own segment."""
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    length2 = np.maximum(dx * dx + dy * dy, 1e-12)
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / length2, 0.0, 1.0)
    d: _Field = np.hypot(px - (ax + t * dx), py - (ay + t * dy))
    return d


def _field(name: str, px: np.ndarray, py: np.ndarray, cx: np.ndarray, cy: np.ndarray, r: np.ndarray) -> _Field:
    """The distance field of one class, for m images at once."""
    ux, uy = np.abs(px - cx), np.abs(py - cy)
    d: _Field
    if name == "hline":
        d = _segment(px, py, (cx - r, cy), (cx + r, cy))
    elif name == "vline":
        d = _segment(px, py, (cx, cy - r), (cx, cy + r))
    elif name == "diag":
        d = _segment(px, py, (cx - r, cy - r), (cx + r, cy + r))
    elif name == "antidiag":
        d = _segment(px, py, (cx - r, cy + r), (cx + r, cy - r))
    elif name == "square":
        d = np.abs(np.maximum(ux, uy) - r)
    elif name == "filled-square":
        d = np.maximum(np.maximum(ux, uy) - r, 0.0)
    elif name == "circle":
        d = np.abs(np.hypot(ux, uy) - r)
    elif name == "cross":
        d = np.minimum(_field("diag", px, py, cx, cy, r), _field("antidiag", px, py, cx, cy, r))
    elif name == "plus":
        d = np.minimum(_field("hline", px, py, cx, cy, r), _field("vline", px, py, cx, cy, r))
    elif name == "triangle":
        top, left, right = (cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)
        sides = (_segment(px, py, top, left), _segment(px, py, left, right), _segment(px, py, right, top))
        d = np.minimum(np.minimum(sides[0], sides[1]), sides[2])
    else:
        raise ValueError(f"unknown shape {name!r}")
    return d


def make_shapes(n: int, size: int = 16, channels: int = 1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n shuffled images (float32, (n, size, size, channels), in [0, 1]) and labels (int64, (n,)).

    Classes are balanced (n // 10 each, the first n % 10 classes get one more); the same arguments
    always give identical arrays. Three channels get a random tint per image, so colour carries no
    class information.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if size < 8:
        raise ValueError(f"size must be >= 8, got {size}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    k = len(CLASS_NAMES)
    rng = np.random.default_rng(seed)
    counts = np.full(k, n // k) + (np.arange(k) < n % k)
    y = rng.permutation(np.repeat(np.arange(k, dtype=np.int64), counts))

    # Geometry in pixels, scaled with the image so 16 and 32 look alike; the shape always fits.
    scale = size / 16.0
    r = rng.uniform(3.2, 5.6, n) * scale
    thickness = rng.uniform(0.9, 1.8, n) * scale
    margin = r + thickness / 2 + 0.5
    cx = rng.uniform(margin, size - 1 - margin)
    cy = rng.uniform(margin, size - 1 - margin)
    brightness = rng.uniform(0.7, 1.0, n)
    tint = rng.uniform(0.35, 1.0, (n, channels)) if channels == 3 else np.ones((n, 1))
    tint /= tint.max(axis=1, keepdims=True)

    grid = np.arange(size, dtype=np.float64)
    px, py = grid[None, None, :], grid[:, None][None]
    ink = np.empty((n, size, size))
    for c, name in enumerate(CLASS_NAMES):
        idx = np.flatnonzero(y == c)
        if idx.size == 0:
            continue
        col = (slice(None), None, None)
        d = _field(name, px, py, cx[idx][col], cy[idx][col], r[idx][col])
        ink[idx] = np.clip(thickness[idx][col] / 2 - d + 0.5, 0.0, 1.0)

    x = (ink * brightness[:, None, None])[..., None] * tint[:, None, None, :]
    # Noise: faint uniform background speckle on ~1 pixel in 8, so x still compresses well as uint8.
    speckle = rng.random(x.shape) < 0.125
    x = x + speckle * rng.uniform(0.0, 0.3, x.shape)
    return np.clip(x, 0.0, 1.0).astype(np.float32), y


__all__ = ["CLASS_NAMES", "make_shapes"]
