"""Every key press counts: bursts of steps queue, p toggles what was last asked, toasts collapse, and
letters typed into a dropdown never act on the lab."""

from __future__ import annotations

from textual.widgets import Select

from .helpers import make_app, settle


async def test_ten_steps_in_one_burst_make_ten_steps() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*["space"] * 10)
        await settle(pilot)
        assert app.view.step == 10


async def test_play_pause_follows_the_presses_not_the_lagging_state() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("p", "p")
        await settle(pilot)
        assert app.view.state != "running" and not app.lab.wants_play
        await pilot.press(*["p"] * 51)
        await pilot.pause(0.5)
        assert app.lab.wants_play and app.view.busy  # an odd count of presses: playing
        await pilot.press("p")
        await settle(pilot)
        assert app.view.state == "paused"


async def test_repeated_toasts_collapse_into_one() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*["u"] * 100)
        await settle(pilot)
        await pilot.pause(0.2)
        same = [n for n in app._notifications if n.message == "nothing to undo"]
        assert len(same) == 1


async def test_letters_typed_into_a_dropdown_do_not_act_on_the_lab() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.query_one("#field-optimizer", Select).focus()
        await pilot.pause()
        await pilot.press("space", "s", "p", "e", "1", "t", "q")
        await settle(pilot)
        assert app.view.step == 0 and app.view.snapshot_names == [] and app.is_running
        assert app.current_theme.dark  # `t` did not switch the theme
        await pilot.press("escape", "space")  # out of the dropdown, keys act again
        await settle(pilot)
        assert app.view.step == 1
