"""Say what is on screen at 80x24: the story line names the experiment, a plain start shows the keys that
matter until any key, and the footer fits `1-6 Presets` and `e Export` in (snapshots on the fake engine)."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.pilot import Pilot

from gradtui.config import LabConfig
from gradtui.presets import PRESET_BY_NAME
from gradtui.tui.commands import FOOTER_DROPS as DROPS
from gradtui.tui.experiment import heading, settings_title
from gradtui.tui.widgets.footer import Entry, fit
from gradtui.tui.widgets.status import StoryLine

from .helpers import make_app, settle, wait_until


def entry(name: str, key: str, label: str, short: str = "") -> Entry:
    return Entry(name, [(Binding(key, name, label), True, "")], label, short or label)


def test_the_footer_keeps_the_first_needs_and_shortens_then_drops_the_rest() -> None:
    entries = [
        entry("step", "space", "Step"),
        entry("run_n", "n", "Run N", "Run"),
        entry("pin", "c", "Compare", "Pin"),
        entry("presets", "presets", "Presets"),
        entry("export", "e", "Export"),
        entry("quit", "q", "Quit"),
    ]
    display = {"space": "space", "n": "n", "c": "c", "presets": "1-6", "e": "e", "q": "q"}
    full = "space Step n Run N c Compare 1-6 Presets e Export q Quit"
    assert fit(entries, len(full) + 13, display, DROPS) == (entries, False, True)  # all, and the palette hint
    assert fit(entries, len(full) + 1, display, DROPS) == (entries, False, False)  # the presets entry stands for it
    shown, short, palette = fit(entries, len(full) - 4, display, DROPS)
    assert (shown, short, palette) == (entries, True, False)  # `n Run`, `c Pin`
    shown, short, _ = fit(entries, 30, display, DROPS)
    assert [e.name for e in shown] == ["step", "presets", "quit"] and short  # export, pin, run_n left


async def test_80x24_names_the_experiment_shows_the_keys_and_the_footer_fits_presets_and_export() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        story = str(app.query_one("#story", StoryLine).render())
        assert story.startswith("1. Article example 1: gradient of the prediction, SGD")  # the default is example 1
        hint = app.query_one("#hint", StoryLine)
        await wait_until(pilot, lambda: bool(hint.display))  # decided after the resume lookup's thread
        assert hint.display and "space steps" in str(hint.render()) and "1-6" in str(hint.render())
        footer = " ".join(str(w.render()) for w in app.screen.query("Footer > *"))
        for words in ("space Step", "1-6 Presets", "e Export", "? Help", "q Quit"):
            assert words in " ".join(footer.split()), words
        await pilot.press("z")  # any key hides the hint, and does what it does
        await pilot.pause()
        assert not hint.display and app.lab.plots.from_zero


async def test_a_changed_setting_names_the_settings_and_keeps_the_preset_story() -> None:
    app = make_app(preset="example1")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not app.query_one("#hint", StoryLine).display  # a chosen preset is no plain start
        app.lab.set_fields((("lr", "0.5"),))
        await settle(pilot)
        story = app.query_one("#story", StoryLine).full.plain
        assert story.startswith("mlp · prediction · sgd 0.5 (preset 1, changed)")
        assert PRESET_BY_NAME["example1"].story in story


def test_settings_without_a_preset_get_the_rules_story() -> None:
    config = LabConfig(rule="batch-loss", optimizer="adam", lr=0.003)
    title, story, preset = heading(config, None)
    assert title == settings_title(config) == "mlp · batch-loss · adam 0.003" and preset is None
    assert story.startswith("The loss on labelled minibatches")


async def _settled_with_hint(pilot: Pilot[Any]) -> None:
    """Ready, and the hint line shown (the resume lookup that decides it runs on a thread)."""
    await settle(pilot)
    await wait_until(pilot, lambda: bool(pilot.app.query_one("#hint", StoryLine).display))
    await pilot.pause()


def test_the_first_screen_at_80x24(snap_compare: Any) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_settled_with_hint)


def test_a_preset_switch_in_progress_at_80x24(snap_compare: Any) -> None:
    async def switch_held_open(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        app.engine.hold_builds()  # type: ignore[attr-defined]
        await pilot.press("3", "n", "n")
        await wait_until(pilot, lambda: "building model" in str(app.query_one("#status").render()))
        app.lab.tick()  # type: ignore[attr-defined]
        await pilot.pause()

    app = make_app()
    try:
        assert snap_compare(app, terminal_size=(80, 24), run_before=switch_held_open)
    finally:
        app.engine.release_builds()  # type: ignore[attr-defined]


def test_a_model_files_own_compile_settings_are_named_not_a_bare_auto_auto() -> None:
    """Found in the hands-on run: `my model [x].keras · prediction · auto auto` read as a typo."""
    title = settings_title(LabConfig(model="/tmp/odd [1]/my model [x].keras"))
    assert title == "my model [x].keras · prediction · optimizer auto, lr auto"
    assert settings_title(LabConfig(model="/tmp/m.keras", optimizer="adam")).endswith("· optimizer adam, lr auto")
