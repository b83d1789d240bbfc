"""Snapshots of the Why and Preview tabs at 80x24 and 160x48, on the fake engine (deterministic NumPy):
a cnn on batch-loss, so the Why tab shows rows, labels and thumbnails; the preview after two steps."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from gradtui.config import LabConfig

from .helpers import make_app, settle, wait_until

SIZES = [(80, 24), (160, 48)]
CONFIG = LabConfig(model="cnn", rule="batch-loss", n_probe=2)


@pytest.mark.parametrize("size", SIZES)
def test_why_tab(snap_compare: Any, size: tuple[int, int]) -> None:
    async def open_why_and_step(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)
        await pilot.press("space", "space")
        await settle(pilot)
        pilot.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(make_app(config=CONFIG), terminal_size=size, run_before=open_why_and_step)


@pytest.mark.parametrize("size", SIZES)
def test_preview_tab(snap_compare: Any, size: tuple[int, int]) -> None:
    async def step_then_preview(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("space", "space")
        await settle(pilot)
        await pilot.press("v")
        app: Any = pilot.app
        await wait_until(pilot, lambda: app.lab.plots.preview.preview is not None)
        await settle(pilot)
        app.clear_notifications()
        await pilot.pause()

    assert snap_compare(make_app(config=CONFIG), terminal_size=size, run_before=step_then_preview)
