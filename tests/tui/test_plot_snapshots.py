"""Snapshots of the plots a class compares, at 80x24 and 160x48 (seeded, CPU, rate frozen): example 1
with the random control pinned, the Held-out tab after example 3, and norms on a log axis."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from gradtui.config import LabConfig
from gradtui.tui.app import GradApp

from .helpers import make_real_app, settle

pytestmark = pytest.mark.e2e  # the real engine's numbers, drawn

pytestmark = pytest.mark.e2e  # the real engine: seeded TensorFlow runs
SIZES = [(80, 24), (160, 48)]


async def run(pilot: Pilot[Any], steps: int) -> None:
    app = pilot.app
    assert isinstance(app, GradApp)
    app.lab.action_run_n(steps)
    await settle(pilot)


async def quiet(pilot: Pilot[Any]) -> None:
    """Close the notices (which say what a key did) so the snapshot shows the plots under them."""
    pilot.app.clear_notifications()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_example1_with_the_random_control_pinned(snap_compare: Any, size: tuple[int, int]) -> None:
    async def pin_the_control_then_run_example1(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await run(pilot, 100)
        await pilot.press("c")  # pin the control (preset 6)
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        await run(pilot, 100)
        await quiet(pilot)

    app = make_real_app(config=LabConfig(device="cpu"), preset="random", frozen=True)
    assert snap_compare(app, terminal_size=size, run_before=pin_the_control_then_run_example1)


@pytest.mark.parametrize("size", SIZES)
def test_heldout_tab_after_example3(snap_compare: Any, size: tuple[int, int]) -> None:
    async def train_then_open_heldout(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await run(pilot, 100)
        await pilot.press("right_square_bracket", "right_square_bracket")  # Gradients -> Update/weight -> Held-out
        await settle(pilot)

    app = make_real_app(config=LabConfig(device="cpu"), preset="example3", frozen=True)
    assert snap_compare(app, terminal_size=size, run_before=train_then_open_heldout)


@pytest.mark.parametrize("size", SIZES)
def test_norms_on_a_log_axis(snap_compare: Any, size: tuple[int, int]) -> None:
    async def run_then_log(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await run(pilot, 100)
        await pilot.press("l")
        await settle(pilot)
        await quiet(pilot)

    app = make_real_app(config=LabConfig(device="cpu"), preset="example1", frozen=True)
    assert snap_compare(app, terminal_size=size, run_before=run_then_log)
