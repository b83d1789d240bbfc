"""Text to value for the generic kinds (whole number, number, choice, yes/no), each refusal a
ValueError whose text is the one-line reason. Field-specific parsers (a model path, a target, a
shape) build on these in config/field_parsers.py; devices.py parses --device with them.
"""

from __future__ import annotations

import math

from gradtui.errors import show


def whole_number(text: str, lo: int | None = None, hi: int | None = None) -> int:
    try:
        value = int(str(text).strip())
    except ValueError as err:
        raise ValueError(f"expected a whole number, got {show(text)}") from err
    shown = str(value) if abs(value) < 10**30 else show(str(text).strip(), 30)
    if lo is not None and value < lo:
        raise ValueError(f"must be at least {lo}, got {shown}")
    if hi is not None and value > hi:
        raise ValueError(f"must be at most {hi}, got {shown}")
    return value


def number(text: str, lo: float | None = None, hi: float | None = None, open_lo: bool = False) -> float:
    try:
        value = float(str(text).strip())
    except ValueError as err:
        raise ValueError(f"expected a number, got {show(text)}") from err
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {show(text)}")
    if lo is not None and (value < lo or (open_lo and value == lo)):
        raise ValueError(f"must be {'greater than' if open_lo else 'at least'} {lo:g}, got {value:g}")
    if hi is not None and value > hi:
        raise ValueError(f"must be at most {hi:g}, got {value:g}")
    return value


def choice(text: str, choices: tuple[str, ...]) -> str:
    value = str(text).strip().lower()
    if value not in choices:
        raise ValueError(f"unknown value {show(text)} (choose from {', '.join(choices)})")
    return value


def yes_no(text: str) -> bool:
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected yes or no, got {show(text)}")
