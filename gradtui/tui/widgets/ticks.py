"""Round, evenly spaced axis ticks with exact labels, as matplotlib's MaxNLocator picks them.

A tick step is 1, 2, 2.5 or 5 x 10^k. Ticks are computed in Decimal, so `0.3` is labelled `0.3`
and never `0.30000000000000004`; step axes get whole-number ticks only. The plot hands the result
to plotext's own tick API (`xticks`/`yticks` with labels), so plotext still draws the frame.

A y axis is also fitted to the plot's rows: its limits are chosen so every tick lands exactly on a
text row, the same number of rows apart, or a terminal plot draws evenly spaced values unevenly.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, localcontext

MANTISSAS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5))


@dataclass(frozen=True)
class Axis:
    """Limits and ticks for plotext. On a log axis `lo`/`hi` are log10 values (plotext scales the data
    but not the limits) while `ticks` stay in data units (plotext scales those itself)."""

    lo: float
    hi: float
    ticks: tuple[float, ...]
    labels: tuple[str, ...]
    log: bool = False


def _decimal(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def _steps(span: float, intervals: int, integer: bool) -> Iterator[Decimal]:
    """Candidate steps in increasing order, from just under span/intervals upwards."""
    exponent = math.floor(math.log10(span / max(1, intervals))) - 1 if span > 0 and math.isfinite(span) else 0
    while True:
        for mantissa in MANTISSAS:
            step = mantissa.scaleb(exponent)
            if not integer or step == step.to_integral_value():
                yield step
        exponent += 1


def nice_step(span: float, intervals: int, integer: bool = False) -> Decimal:
    """The smallest 1/2/2.5/5 x 10^k step that covers `span` in at most `intervals` steps."""
    if not math.isfinite(span) or span <= 0:
        return Decimal(1)
    return next(s for s in _steps(span, intervals, integer) if span / float(s) <= max(1, intervals) * (1 + 1e-9))


def _covering(lo: float, hi: float, step: Decimal) -> list[Decimal]:
    """Multiples of `step` from the last one <= lo to the first one >= hi (an end within a billionth of a
    step of a multiple counts as on it, as in MaxNLocator, so float noise never adds a tick)."""
    with localcontext() as ctx:
        ctx.prec = 50
        first = _snap(_decimal(lo) / step, "ROUND_FLOOR")
        last = _snap(_decimal(hi) / step, "ROUND_CEILING")
        return [(first + k) * step for k in range(int(last - first) + 1)]


def _snap(quotient: Decimal, rounding: str) -> Decimal:
    nearest = quotient.to_integral_value()
    return nearest if abs(quotient - nearest) < Decimal("1e-9") else quotient.to_integral_value(rounding=rounding)


def _inside(lo: float, hi: float, step: Decimal) -> list[Decimal]:
    """Multiples of `step` within [lo, hi]."""
    with localcontext() as ctx:
        ctx.prec = 50
        first = (_decimal(lo) / step).to_integral_value(rounding="ROUND_CEILING")
        last = (_decimal(hi) / step).to_integral_value(rounding="ROUND_FLOOR")
        return [(first + k) * step for k in range(int(last - first) + 1)]


def locate(lo: float, hi: float, max_intervals: int, integer: bool = False) -> list[Decimal]:
    """Round ticks covering [lo, hi], as MaxNLocator(nbins=max_intervals, steps=[1, 2, 2.5, 5, 10]) picks
    them: the smallest round step with at most `max_intervals` steps across the span, then every multiple
    from the last one <= lo to the first one >= hi (so up to `max_intervals` + 2 ticks)."""
    lo, hi = _span(lo, hi)
    return _covering(lo, hi, nice_step(hi - lo, max_intervals, integer))


def _span(lo: float, hi: float) -> tuple[float, float]:
    """A range with room for ticks: a single value is shown against zero (or 0..1 for zero itself)."""
    lo, hi = float(min(lo, hi)), float(max(lo, hi))
    if hi - lo <= 1e-12 * max(abs(lo), abs(hi)) or hi == lo:
        if lo == 0:
            return 0.0, 1.0
        return (0.0, hi) if lo > 0 else (lo, 0.0)
    return lo, hi


def labels(ticks: list[Decimal]) -> list[str]:
    """Exact labels in one notation for the whole axis: plain decimals, or `2.5e-7` style when that is
    shorter (very small or very large values)."""
    plain = [_plain(t) for t in ticks]
    if not ticks:
        return plain
    scientific = [_scientific(t) for t in ticks]
    if max(map(len, scientific)) < max(map(len, plain)) and max(map(len, plain)) > 7:
        return scientific
    return plain


def _plain(value: Decimal) -> str:
    return "0" if value == 0 else format(value.normalize(), "f")


def _scientific(value: Decimal) -> str:
    if value == 0:
        return "0"
    value = value.normalize()
    exponent = value.adjusted()
    mantissa = value.scaleb(-exponent).normalize()
    return f"{format(mantissa, 'f')}e{exponent}"


def step_labels(ticks: list[Decimal]) -> list[str]:
    """Whole steps with thousands separators: `12,500`."""
    return [f"{int(t):,}" for t in ticks]


def x_axis(lo: float, hi: float, width: int, integer: bool = True) -> Axis:
    """Ticks inside [lo, hi] spaced for `width` columns (each label gets its width plus three spaces, or
    round ends three spaces apart: a small multiple's `0` and `100`); the limits stay at the data's
    ends, so the latest step is at the right edge."""
    lo, hi = float(lo), float(hi)
    if hi <= lo:
        hi = lo + 1
    latest: list[Decimal] = []  # the last round tick inside, should no evenly spaced set fit
    for intervals in range(max(1, width // 6), 0, -1):
        step = nice_step(hi - lo, intervals, integer)
        ticks = _inside(lo, hi, step)
        if not ticks:
            continue
        latest = latest or ticks[-1:]
        text = step_labels(ticks) if integer else labels(ticks)
        room = (width - 2) / max(1, len(ticks))
        at_ends = len(ticks) == 2 and float(ticks[0]) == lo and float(ticks[1]) == hi
        if max(map(len, text)) + 3 <= room or (at_ends and sum(map(len, text)) + 3 <= width - 2):
            return Axis(lo, hi, tuple(float(t) for t in ticks), tuple(text))
    text = step_labels(latest) if integer else labels(latest)
    if latest and len(text[0]) + 3 <= width - 2:  # one round tick reads better than two odd ends
        return Axis(lo, hi, (float(latest[0]),), tuple(text))
    ends = [t for t in (_decimal(lo), _decimal(hi)) if not integer or t == t.to_integral_value()]
    text = step_labels(ends) if integer else labels(ends)
    if sum(map(len, text)) + 3 > width - 2:  # too narrow for both ends: the latest only
        ends, text = ends[-1:], text[-1:]
    return Axis(lo, hi, tuple(float(t) for t in ends), tuple(text))


def y_axis(lo: float, hi: float, rows: int) -> Axis:
    """Round ticks for a y axis drawn on `rows` text rows, each tick on its own row, evenly apart.

    The ticks cover [lo, hi] (a round range such as 0..1 keeps its ends as ticks); the upper limit is then
    set so the ticks fall the same number of rows apart, which can leave a little room above the last
    tick. Among the tick counts that fit, the one that wastes the least height wins, with a bonus for
    every label up to four (three labels on 80% of the height read better than two on all of it).
    """
    lo, hi = _span(lo, hi)
    gaps = max(1, rows - 1)
    best: tuple[float, list[Decimal], float] | None = None
    for intervals in range(max(1, gaps // 2), 0, -1):
        ticks = locate(lo, hi, intervals)
        n = len(ticks) - 1
        if n < 1 or (n > gaps // 2 and gaps >= 2):
            continue
        top = float(ticks[0]) + float(ticks[1] - ticks[0]) * gaps / (gaps // n)
        score = (hi - lo) / (top - float(ticks[0])) + 0.25 * min(n, 3)  # height used, and up to 4 labels
        if best is None or score > best[0]:
            best = (score, ticks, top)
    if best is None:  # too few rows for a tick in between: the ends only
        around = locate(lo, hi, 1)
        ends = [around[0], around[-1]]
        return Axis(float(ends[0]), float(ends[-1]), tuple(float(t) for t in ends), tuple(labels(ends)))
    _, ticks, top = best
    return Axis(float(ticks[0]), top, tuple(float(t) for t in ticks), tuple(labels(ticks)))


def y_axis_dipping(lo: float, hi: float, rows: int, data_lo: float) -> Axis:
    """Round ticks over [lo, hi] (a fixed range such as 0..1) with data dipping just below `lo` (a small
    fall in accuracy on a 0..1 axis): the axis gets a few more text rows below its lowest tick instead of
    a whole tick step, so -0.02 does not stretch 0..1 to -1..1. Ticks stay round and each on its own row;
    a dip deeper than a sixth of the rows (one row on a short plot) gets the ordinary axis over all of it."""
    for extra in range(1, max(1, rows // 6) + 1):
        axis = y_axis(lo, hi, rows - extra)
        row = (axis.hi - axis.lo) / max(1, rows - extra - 1)
        if axis.lo - extra * row <= data_lo:
            return Axis(axis.lo - extra * row, axis.hi, axis.ticks, axis.labels)
    return y_axis(min(lo, data_lo), hi, rows)


def log_axis(lo: float, hi: float, rows: int) -> Axis:
    """Decade ticks (every 1, 2, 3, 5, 10 ... decades) for positive data on a log axis, fitted to rows."""
    lo = max(float(lo), 1e-300)
    hi = max(float(hi), lo)
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    if b <= a:
        b = a + 1
    gaps = max(1, rows - 1)
    steps = (1, 2, 3, *(m * 10**e for e in range(4) for m in (5, 10, 20)))  # up to 20,000 decades
    step = next(k for k in steps if -(-(b - a) // k) <= max(1, gaps // 2))
    intervals = -(-(b - a) // step)
    decades = [a + k * step for k in range(intervals + 1)]  # from the data's lowest decade up
    top = decades[0] + step * gaps / max(1, gaps // intervals)
    shown = [d for d in decades if abs(d) <= 307]  # a float holds 10^d only this far
    return Axis(float(decades[0]), top, tuple(10.0**d for d in shown), tuple(_decade(d) for d in shown), log=True)


def _decade(exponent: int) -> str:
    if -3 <= exponent <= 4:
        return _plain(Decimal(1).scaleb(exponent))
    return f"1e{exponent}"
