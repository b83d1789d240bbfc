"""The tick picker: round steps (1, 2, 2.5, 5 x 10^k), even spacing, exact labels, ticks on whole rows."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gradtui.tui.widgets import ticks

MANTISSAS = {Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5)}


def mantissa(step: Decimal) -> Decimal:
    return step.scaleb(-step.adjusted()).normalize()


def parse(label: str) -> Decimal:
    return Decimal(label.replace(",", ""))


magnitudes = st.integers(min_value=-12, max_value=12)
fractions = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)


@st.composite
def ranges(draw: st.DrawFn) -> tuple[float, float]:
    """Ranges of every size from 1e-12 to 1e12, centred anywhere up to 1e6 spans away (so offsets, ranges
    across zero and ranges of 1e-7 around 0.3783 all come up)."""
    span = 10.0 ** draw(magnitudes) * draw(st.floats(min_value=1.0, max_value=9.99))
    centre = draw(fractions) * span * 10.0 ** draw(st.integers(min_value=0, max_value=6))
    return centre - span / 2, centre + span / 2


@settings(max_examples=400, deadline=None)
@given(ranges(), st.integers(min_value=1, max_value=9))
@example((0.0055, 0.378), 4)
@example((0.3443, 0.396), 4)
@example((0.37830, 0.37830 + 1e-7), 4)
@example((4.83e-6, 6.30e-6), 3)
@example((-2e-7, 1e-7), 4)
@example((-0.3, 0.7), 1)
def test_ticks_are_round_even_covering_and_exactly_labelled(span: tuple[float, float], most: int) -> None:
    lo, hi = span
    found = ticks.locate(lo, hi, most)
    assert 2 <= len(found) <= most + 2  # the span in `most` steps, plus one more where the ends fall between
    step = found[1] - found[0]
    assert mantissa(step) in MANTISSAS
    assert all(b - a == step for a, b in itertools.pairwise(found))  # exactly even, in Decimal
    slack = 1e-9 * float(step)  # an end a billionth of a step past a tick counts as on it
    assert float(found[0]) <= lo + slack and float(found[-1]) >= hi - slack
    assert all((t / step) == (t / step).to_integral_value() for t in found)  # multiples of the step
    labels = ticks.labels(found)
    assert [parse(label) for label in labels] == found  # the label is the tick, no float noise
    assert len(set(labels)) == len(labels)


@settings(max_examples=200, deadline=None)
@given(ranges(), st.integers(min_value=1, max_value=9))
def test_the_step_is_the_smallest_round_one_that_fits_as_maxnlocator_picks(
    span: tuple[float, float], most: int
) -> None:
    lo, hi = span
    found = ticks.locate(lo, hi, most)
    step = found[1] - found[0]
    assert (hi - lo) / float(step) <= most * (1 + 1e-9)
    smaller = [m.scaleb(step.adjusted() + e) for e in (-1, 0) for m in MANTISSAS]
    for candidate in (s for s in smaller if s < step):
        assert (hi - lo) / float(candidate) > most  # every smaller round step needs more than `most` steps


@pytest.mark.parametrize(
    ("lo", "hi", "most", "expected"),
    [
        (0.0, 1.0, 4, ["0", "0.25", "0.5", "0.75", "1"]),
        (0.0055, 0.378, 4, ["0", "0.1", "0.2", "0.3", "0.4"]),
        (0.3443, 0.3960, 4, ["0.34", "0.36", "0.38", "0.4"]),
        (1.23e-7, 2.1e-7, 4, ["1e-7", "1.25e-7", "1.5e-7", "1.75e-7", "2e-7", "2.25e-7"]),
        (-0.3, 0.7, 5, ["-0.4", "-0.2", "0", "0.2", "0.4", "0.6", "0.8"]),
        (0.3783, 0.3853, 4, ["0.378", "0.38", "0.382", "0.384", "0.386"]),
    ],
)
def test_known_ranges(lo: float, hi: float, most: int, expected: list[str]) -> None:
    assert ticks.labels(ticks.locate(lo, hi, most)) == expected


def test_a_range_across_zero_has_zero_as_a_tick() -> None:
    for lo, hi in ((-0.3, 0.7), (-2e-7, 1e-7), (-1234.5, 0.01)):
        assert Decimal(0) in ticks.locate(lo, hi, 4)


@settings(max_examples=200, deadline=None)
@given(ranges(), st.integers(min_value=3, max_value=40))
def test_a_y_axis_puts_every_tick_on_its_own_row_the_same_distance_apart(span: tuple[float, float], rows: int) -> None:
    lo, hi = span
    axis = ticks.y_axis(lo, hi, rows)
    slack = 1e-9 * (axis.hi - axis.lo)
    assert axis.lo <= lo + slack and axis.hi >= hi - slack
    # plotext's own mapping from a value to a canvas row
    placed = [math.floor(round(0.5 + (rows - 1) * (t - axis.lo) / (axis.hi - axis.lo), 8)) for t in axis.ticks]
    assert placed[0] == 0 and all(0 <= p < rows for p in placed)
    gaps = {b - a for a, b in itertools.pairwise(placed)}
    assert len(gaps) == 1 and min(gaps) >= 2  # evenly apart, a blank row between labels


def test_a_probability_axis_reads_0_to_1_at_every_height() -> None:
    for rows in range(5, 30):
        axis = ticks.y_axis(0.0, 1.0, rows)
        assert axis.labels[0] == "0" and "1" in axis.labels and axis.lo == 0.0


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**7), st.integers(min_value=0, max_value=10**7), st.integers(20, 200))
def test_step_axes_get_whole_round_ticks_inside_the_run(a: int, b: int, width: int) -> None:
    lo, hi = min(a, b), max(a, b)
    axis = ticks.x_axis(lo, hi, width)
    assert axis.ticks and all(t == int(t) for t in axis.ticks)
    assert all(lo <= t <= max(hi, lo + 1) for t in axis.ticks)
    assert [int(label.replace(",", "")) for label in axis.labels] == [int(t) for t in axis.ticks]
    if len(axis.ticks) > 1:
        step = Decimal(int(axis.ticks[1] - axis.ticks[0]))
        assert mantissa(step) in MANTISSAS and step == step.to_integral_value()
    assert sum(map(len, axis.labels)) + 3 * (len(axis.labels) - 1) <= width - 2  # labels never run together


def test_step_axes_from_the_issue_are_even() -> None:
    assert ticks.x_axis(0, 10, 40).labels == ("0", "2", "4", "6", "8", "10")
    assert ticks.x_axis(0, 181, 78).labels[:3] == ("0", "20", "40")
    assert ticks.x_axis(0, 100_000, 40).labels == ("0", "50,000", "100,000")


@settings(max_examples=200, deadline=None)
@given(magnitudes, magnitudes, st.integers(min_value=3, max_value=40))
def test_log_axes_tick_whole_decades_on_even_rows(a: int, b: int, rows: int) -> None:
    lo, hi = 10.0 ** min(a, b) * 1.5, 10.0 ** max(a, b) * 3
    axis = ticks.log_axis(lo, hi, rows)
    exponents = [round(math.log10(t)) for t in axis.ticks]
    assert all(math.isclose(t, 10.0**e) for t, e in zip(axis.ticks, exponents, strict=True))
    assert axis.lo <= math.log10(lo) and axis.hi >= math.log10(hi)
    assert len({b - a for a, b in itertools.pairwise(exponents)}) <= 1
    for label, exponent in zip(axis.labels, exponents, strict=True):
        assert Decimal(label) == Decimal(1).scaleb(exponent)


def test_a_narrow_step_axis_keeps_one_round_tick_rather_than_two_odd_ends() -> None:
    """At 23 columns no evenly spaced set of millions fits: one round tick, not 713,892 and 4,055,192."""
    axis = ticks.x_axis(713_892, 4_055_192, 23)
    assert axis.ticks == (4_000_000.0,) and axis.labels == ("4,000,000",)
    assert (axis.lo, axis.hi) == (713_892.0, 4_055_192.0)  # the data's ends stay the limits


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-0.2, max_value=-1e-4), st.integers(min_value=4, max_value=40))
def test_a_small_dip_below_0_to_1_adds_rows_not_a_tick_step(dip: float, rows: int) -> None:
    axis = ticks.y_axis_dipping(0.0, 1.0, rows, dip)
    assert axis.lo <= dip and axis.hi >= 1.0
    placed = [math.floor(round(0.5 + (rows - 1) * (t - axis.lo) / (axis.hi - axis.lo), 8)) for t in axis.ticks]
    assert all(0 <= p < rows for p in placed)
    assert len({b - a for a, b in itertools.pairwise(placed)}) == 1  # still evenly apart, on whole rows
    exact = [(rows - 1) * (t - axis.lo) / (axis.hi - axis.lo) for t in axis.ticks]
    assert all(math.isclose(p, e, abs_tol=1e-6) for p, e in zip(placed, exact, strict=True))  # right on a row
    if axis.labels[0] == "0":  # the rows were enough: no negative tick, and far less than a step of 0..1 below
        assert axis.lo >= -0.5
    else:
        assert parse(axis.labels[0]) <= Decimal(repr(dip))


def test_a_dip_of_a_hundredth_keeps_0_to_1_at_80x24_heights() -> None:
    for rows in range(4, 30):
        axis = ticks.y_axis_dipping(0.0, 1.0, rows, -0.01)
        assert axis.labels[0] == "0" and "1" in axis.labels and -0.5 <= axis.lo < -0.01
    assert ticks.y_axis(-0.01, 1.0, 5).lo == -1.0  # what the ordinary axis does with the same data
