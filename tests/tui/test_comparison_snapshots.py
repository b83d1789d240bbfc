"""The issue's comparison at 80x24, as a snapshot: example 1 run 10 steps and pinned (c), then the random
control (6) for 30 steps. Example 1's fall (0.378 -> 0.240) shares its rows with the control's flat
0.39, and the reference must still show (▀▄ over the braille line), also on the Gradients plot."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from gradtui.config import LabConfig
from gradtui.tui.app import GradApp

from .helpers import make_real_app, settle


async def _example1_pinned_then_the_control(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, GradApp)
    await settle(pilot)
    app.lab.action_run_n(10)
    await settle(pilot)
    await pilot.press("c")  # pin example 1
    await settle(pilot)
    await pilot.press("6")  # the random control, same mlp
    await settle(pilot)
    for _ in range(3):
        app.lab.action_run_n(10)
        await settle(pilot)
    app.clear_notifications()  # the notices say what each key did; the plots are under them
    await pilot.pause()


@pytest.mark.e2e
def test_example1_pinned_under_the_random_control_after_30_steps(snap_compare: Any) -> None:
    app = make_real_app(config=LabConfig(device="cpu"), preset="example1", frozen=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_example1_pinned_then_the_control)
