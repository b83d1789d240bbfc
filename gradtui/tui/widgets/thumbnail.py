"""Small pictures of image rows in half blocks: each cell shows two pixels (▀: the upper one in the
foreground, the lower one in the background), so a 16x16 image takes 16 columns and 8 rows."""

from __future__ import annotations

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Text

MAX_SIDE = 16  # wider images are sampled down to this many columns


def as_image(x: np.ndarray) -> np.ndarray | None:
    """A row's input as a 2-D grey image (H, W), or None when it is not a picture (a feature vector)."""
    a = np.asarray(x, np.float64)
    if a.ndim == 3 and a.shape[-1] in (1, 3):
        a = a.mean(axis=-1)
    if a.ndim != 2 or min(a.shape) < 4:
        return None
    return a


def thumbnail(x: np.ndarray) -> list[Text] | None:
    """The picture as lines of half blocks (darkest pixel black, brightest white); None if not a picture."""
    image = as_image(x)
    if image is None:
        return None
    step = int(np.ceil(max(image.shape) / MAX_SIDE))
    image = image[::step, ::step]
    lo, hi = float(np.min(image)), float(np.max(image))
    grey = np.zeros_like(image) if hi <= lo else (image - lo) / (hi - lo)
    if len(grey) % 2:
        grey = np.vstack([grey, np.zeros((1, grey.shape[1]))])
    lines = []
    for top, bottom in zip(grey[0::2], grey[1::2], strict=True):
        line = Text()
        for up, down in zip(top, bottom, strict=True):
            line.append("▀", Style(color=_grey(up), bgcolor=_grey(down)))
        lines.append(line)
    return lines


def _grey(level: float) -> Color:
    v = round(40 + 215 * float(level))  # black stays off the terminal's own background
    return Color.from_rgb(v, v, v)
