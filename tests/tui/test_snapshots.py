"""Snapshots of the main screen after some steps, at 80x24 and 160x48 (seeded, CPU, rate frozen)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from gradtui.config import LabConfig

from .helpers import make_real_app, settle

pytestmark = pytest.mark.e2e  # the real engine's numbers, drawn


async def run_twelve_steps(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("n")
    await settle(pilot)  # a key pressed while the run is queued would interrupt it (by design): wait for it
    await pilot.press("space", "space")
    await settle(pilot)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_main_screen_after_steps(snap_compare: Any, size: tuple[int, int]) -> None:
    app = make_real_app(config=LabConfig(device="cpu"), preset="example1", frozen=True)
    assert snap_compare(app, terminal_size=size, run_before=run_twelve_steps)


def test_form_open_at_80_columns_with_an_error(snap_compare: Any) -> None:
    async def open_form_and_type(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f")
        pilot.app.query_one("#field-lr").value = "fast"  # type: ignore[attr-defined]
        await pilot.pause()

    app = make_real_app(config=LabConfig(device="cpu"), frozen=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_form_and_type)
