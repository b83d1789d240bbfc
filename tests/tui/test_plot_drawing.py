"""What a drawn plot shows: scales, legends outside the frame, marks, the forecast scatter."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator

import numpy as np
import pytest
from rich.text import Text
from textual.app import App, ComposeResult

from gradtui.lab import pins
from gradtui.lab.history import Dims, History
from gradtui.tui.widgets import series
from gradtui.tui.widgets.plots import ChartPlot

LAYERS = ("hidden", "output")


class Harness(App[None]):
    def compose(self) -> ComposeResult:
        yield ChartPlot("plot", id="plot")


@pytest.fixture
async def plot() -> AsyncIterator[ChartPlot]:
    async with Harness().run_test(size=(170, 50)) as pilot:
        yield pilot.app.query_one(ChartPlot)


def draw(plot: ChartPlot, chart: series.Chart, size: tuple[int, int]) -> list[str]:
    text: Text = plot._draw(chart, size, plot._get_plotext_theme_name(plot.app.theme), plot._look())
    lines = text.plain.split("\n")
    assert len(lines) == size[1] and all(len(line) <= size[0] for line in lines)
    return lines


def frame(lines: list[str]) -> list[str]:
    """The rows inside plotext's frame (between ┌ and └)."""
    top = next(i for i, line in enumerate(lines) if "┌" in line)
    bottom = next(i for i, line in enumerate(lines) if "└" in line)
    return lines[top + 1 : bottom]


def y_labels(lines: list[str]) -> list[str]:
    return [line[: line.index("┤")].strip() for line in frame(lines) if "┤" in line]


def history(k: int = 1, steps: int = 200, grads: float = 0.3, probes: int = 1) -> History:
    h = History(Dims(probes, k, len(LAYERS)))
    rng = np.random.default_rng(0)
    step = np.arange(steps + 1)
    if k == 1:
        pred = (0.378 * np.exp(-step / 30) + 0.0055)[:, None, None] * np.ones((1, probes, 1))
    else:
        logits = rng.normal(size=(steps + 1, probes, k)) + np.linspace(0, 3, k)
        pred = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    g = np.abs(rng.normal(size=(steps + 1, len(LAYERS)))) * grads
    g[0] = np.nan
    change = rng.normal(size=(2, steps + 1, probes, k)) * 0.01
    change[:, 0] = np.nan  # row 0 is before any step
    h.append(
        {
            "step": step,
            "predictions": pred,
            "weight_norm": 1 + np.cumsum(np.full((steps + 1, len(LAYERS)), 0.01), axis=0),
            "grad_norm": g,
            "update_ratio": g * 1e-3,
            "forecast": change[0],
            "actual": change[1],
        }
    )
    return h


async def test_a_sigmoid_output_is_drawn_on_0_to_1_and_a_logit_on_its_own_range(plot: ChartPlot) -> None:
    h = history()
    probability = y_labels(draw(plot, series.predictions(h, activation="sigmoid"), (40, 12)))
    assert probability[-1] == "0" and "1" in probability
    logit = y_labels(draw(plot, series.predictions(h, activation="linear"), (40, 12)))
    assert "1" not in logit and float(logit[0]) <= 0.5  # the data's own range (0.0055..0.38)
    assert float(logit[-1]) <= 0.0055


async def test_tick_labels_are_round_and_evenly_spaced(plot: ChartPlot) -> None:
    lines = draw(plot, series.per_layer(history(), "weight_norm", LAYERS, "weight norm", "L2"), (60, 14))
    rows = [i for i, line in enumerate(frame(lines)) if "┤" in line]
    values = [float(v) for v in y_labels(lines)]
    assert len({b - a for a, b in itertools.pairwise(rows)}) == 1  # the same rows apart
    assert len({round(a - b, 12) for a, b in itertools.pairwise(values)}) == 1  # the same values apart
    steps = [int(v.replace(",", "")) for v in lines[-1].split()]
    assert steps == list(range(0, 201, steps[1] - steps[0]))[: len(steps)] and steps[1] - steps[0] in (20, 25, 50)


async def test_the_legend_is_outside_the_frame_and_names_all_ten_classes_when_wide(plot: ChartPlot) -> None:
    h = history(k=10)
    chart = series.predictions(h, class_names=tuple(f"c{i}" for i in range(10)), activation="softmax")
    lines = draw(plot, chart, (160, 20))
    outside = "\n".join(line for line in lines if line not in frame(lines))
    assert all(re.search(rf"━ c{i}\b", outside) for i in range(10))
    assert not any("━" in line for line in frame(lines))  # nothing written over the curves


async def test_a_narrow_legend_merges_the_least_telling_classes_into_others(plot: ChartPlot) -> None:
    h = history(k=10)
    chart = series.predictions(h, class_names=tuple(f"class{i}" for i in range(10)), activation="softmax")
    lines = draw(plot, chart, (40, 10))
    legend = [line for line in lines if "━" in line]
    assert len(legend) == 1 and "others" in legend[0]
    named = re.findall(r"━ (class\d)", legend[0])
    others = int(re.search(r"━ (\d+) others", legend[0]).group(1))  # type: ignore[union-attr]
    assert len(named) + others == 10  # every class is either named or counted


async def test_a_zero_gradient_is_marked_as_rounding_and_its_values_kept(plot: ChartPlot) -> None:
    h = history(grads=5e-7)  # |w| ~ 4: a gradient under 4e-6 is float32 rounding
    chart = series.gradient_norms(h, LAYERS)
    assert chart.note == "zero to float32 rounding" and chart.from_zero and chart.marks
    _, grads = h.columns("step", "grad_norm")
    assert np.allclose(chart.series[0].y, grads[1:, 0])  # the data drawn is the data measured
    lines = draw(plot, chart, (80, 12))
    assert "zero to float32 rounding" in lines[0] and y_labels(lines)[-1] == "0"
    assert any("rounding level" in line for line in lines)
    assert series.gradient_norms(history(grads=0.3), LAYERS).note == ""


async def test_update_ratios_read_off_a_log_axis_of_decades(plot: ChartPlot) -> None:
    chart = series.per_layer(history(), "update_ratio", LAYERS, "update / weight ratio", "ratio", log=True)
    lines = draw(plot, chart, (80, 14))
    labels = y_labels(lines)
    exponents = [round(np.log10(float(label))) for label in labels]
    assert len(labels) >= 2 and all(float(label) == 10.0**e for label, e in zip(labels, exponents, strict=True))
    assert "log scale" in lines[0]


async def test_the_forecast_view_stays_a_bounded_scatter_at_100k_steps(plot: ChartPlot) -> None:
    chart = series.forecast(history(steps=100_000))
    assert chart.scatter and len(chart.series[0].x) <= series.SCATTER_POINTS
    assert chart.series[0].label == "100,000 steps" and chart.series[1].label == "step 100,000"
    lines = draw(plot, chart, (80, 16))
    assert any("y = x" in line for line in lines)


async def test_a_pin_is_drawn_beside_the_live_run_and_told_apart_without_colour(plot: ChartPlot) -> None:
    control = pins.make_pin(history(steps=100), "random", "mlp", LAYERS)
    chart = series.predictions(history(), activation="sigmoid", pins=[control])
    lines = draw(plot, chart, (80, 12))
    inside = "\n".join(frame(lines))
    assert any(ch in "▀▄▌▐▖▗▘▝▚▞▙▛▜▟█" for ch in inside) and any(
        "⠀" < ch <= "⣿" for ch in inside
    )  # pin blocks, live braille
    assert any("▀▄ ref:random" in line for line in lines)
    below = lines[next(i for i, line in enumerate(lines) if "└" in line) + 1]
    assert int(below.split()[-1]) == 200  # both runs on one step axis, up to the longer one


async def test_a_pin_from_another_model_draws_only_the_columns_that_match(plot: ChartPlot) -> None:
    cnn = pins.make_pin(history(k=6), "example2-class", "cnn", ("conv", "output"))
    prediction = series.predictions(history(), activation="sigmoid", pins=[cnn])
    assert prediction.refs == ["ref:example2-class (left out: 6 outputs, not 1)"]
    assert all(s.pin == -1 for s in prediction.series)
    weights = series.per_layer(history(), "weight_norm", LAYERS, "weight norm", "L2", pins=[cnn])
    assert [s.label for s in weights.series if s.pin == 0] == ["output"]  # matched by layer name
    assert weights.refs == ["ref:example2-class (left out: conv)"]
    assert any("left out: conv" in line for line in draw(plot, weights, (100, 12)))


async def test_a_small_fall_in_held_out_accuracy_does_not_stretch_the_axis_to_minus_1(plot: ChartPlot) -> None:
    h = History(Dims(1, 1, len(LAYERS)))
    acc = np.full(41, np.nan)
    acc[::10] = [0.80, 0.79, 0.78, 0.785, 0.78]
    measured = np.isfinite(acc)
    h.append(
        {
            "step": np.arange(41),
            "eval_acc": acc,
            "acc_change": acc - acc[0],  # down to -0.02
            "flipped": np.where(measured, 0.03, np.nan),
            "eval_loss": np.where(measured, 0.5, np.nan),
        }
    )
    for size in ((78, 10), (78, 14), (120, 20)):
        labels = y_labels(draw(plot, series.heldout(h, "eval_acc"), size))
        assert not any(label.startswith("-") for label in labels), (size, labels)
        assert labels[-1] == "0"  # lowest tick (y_labels runs top to bottom)
        change = [float(label) for label in y_labels(draw(plot, series.heldout(h, "acc_change"), size))]
        assert -0.05 <= min(change) < -0.01 and max(change) == 0, (size, change)  # its own axis: the fall reads
