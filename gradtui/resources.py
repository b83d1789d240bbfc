"""Where the shipped assets are, installed or in a source checkout (no TensorFlow)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def asset(name: str) -> Path:
    """Path of a file in assets/: the wheel maps assets/ to the gradtui.assets package."""
    try:
        path = Path(str(resources.files("gradtui.assets") / name))
        if path.exists():
            return path
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parent.parent / "assets" / name
