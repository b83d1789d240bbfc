"""The Why and Preview tabs on the fake engine: keys w, v and j, attribution on only while the Why tab is
open (and back on after a rebuilding config change), and the numbers drawn are the session's."""

from __future__ import annotations

import dataclasses

import numpy as np
from textual.message import Message

from gradtui.config import LabConfig
from gradtui.tui.app import GradApp
from gradtui.tui.engine.fake import FakeSession
from gradtui.tui.messages import PreviewReady, WhyReady
from gradtui.tui.widgets.why_text import number

from .helpers import make_app, of_type, settle, wait_until


def fake(app: GradApp) -> FakeSession:
    session = app.engine.session
    assert isinstance(session, FakeSession)
    return session


def why_shown(app: GradApp) -> str:
    view = app.lab.plots.why
    return str(view.render())


async def test_w_opens_the_why_tab_and_attribution_runs_only_while_it_is_open() -> None:
    app = make_app(config=LabConfig(rule="batch-loss", model="cnn", n_probe=2))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert fake(app).attributing is None and not app.engine.explaining
        await pilot.press("w")
        await settle(pilot)
        assert app.lab.plots.active_tab == "tab-why"
        assert app.engine.explaining and fake(app).attributing is not None and "why" in app.engine.calls
        await pilot.press("space")
        await settle(pilot)
        report = app.lab.plots.why.report
        assert report is not None and report.step == 1 and report.source == "rows"
        split = report.attributions[0]
        assert split.forecast == fake(app).history.last("forecast")[0, split.output]
        assert abs(split.total - split.forecast) < 1e-6  # the rows' terms add up to the forecast
        shown = why_shown(app)
        assert "attributed since step 0" in shown and number(split.forecast) in shown
        assert "since step 0 (1 step)" in shown and "up most" in shown  # image rows drawn (the fake cnn's)
        await pilot.press("right_square_bracket")  # to the Preview tab: the Why tab closes
        await settle(pilot)
        assert not app.engine.explaining and fake(app).attributing is None
        await pilot.press("left_square_bracket")  # back: on again, from the step it opened at
        await settle(pilot)
        assert fake(app).attributing is not None
        assert "attributed since step 1" in why_shown(app)


async def test_j_cycles_the_probes_in_every_view() -> None:
    app = make_app(config=LabConfig(rule="prediction", n_probe=3))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("w", "space")
        await settle(pilot)
        assert "probe 0's" in why_shown(app)
        for expected in (1, 2, 0):
            await pilot.press("j")
            await settle(pilot)
            assert app.lab.plots.probe == expected
            assert f"probe {expected}'s" in why_shown(app)
        matrix = app.lab.plots.why.report.matrix  # type: ignore[union-attr]
        assert matrix is not None and matrix.values.shape == (3, 3)
        assert "pushing probe j (column) moves probe i (row)" in why_shown(app)
        assert number(float(matrix.values[0, 0])) in why_shown(app)


async def test_the_random_rule_says_the_step_came_from_no_data() -> None:
    app = make_app(config=LabConfig(rule="random"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("w", "space")
        await settle(pilot)
        assert "the step came from no data" in why_shown(app)


async def test_a_rebuilding_config_change_turns_attribution_back_on() -> None:
    messages: list[Message] = []
    app = make_app(config=LabConfig(rule="batch-loss"))
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("w", "space")
        await settle(pilot)
        before = app.engine.session
        app.engine.apply(dataclasses.replace(app.lab.form.applied, n_probe=2))  # a new session
        await settle(pilot)
        assert app.engine.session is not before and fake(app).attributing is not None
        await pilot.press("space")
        await settle(pilot)
        report = app.lab.plots.why.report
        assert report is not None and set(report.attributions) == {0, 1}
        assert of_type(messages, WhyReady)


async def test_v_previews_the_next_update_and_changes_nothing() -> None:
    messages: list[Message] = []
    app = make_app(config=LabConfig(rule="batch-loss"))
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)
        w, rows = fake(app).w.copy(), len(fake(app).history)
        await pilot.press("v")
        await wait_until(pilot, lambda: app.lab.plots.preview.preview is not None)
        await settle(pilot)
        assert app.lab.plots.active_tab == "tab-preview"
        preview = app.lab.plots.preview.preview
        assert preview is not None and preview.step == 2
        assert np.array_equal(fake(app).w, w) and len(fake(app).history) == rows
        line = str(app.lab.query_one("#preview-line").render())
        assert "step 2: " in line and f"2/η {preview.stability:.4g}" in line
        await pilot.press("space")
        await settle(pilot)
        await pilot.press("v")  # after a step, v previews the next update again
        await wait_until(pilot, lambda: app.lab.plots.preview.preview.step == 3)  # type: ignore[union-attr]
        assert len(of_type(messages, PreviewReady)) >= 2


async def test_opening_the_why_tab_at_step_0_leaves_the_lab_ready_not_loading() -> None:
    """Its attributing graph is built (and traced) in the "why" command, whose build phase says
    "loading tracing the step"; seen in tmux: that stayed on the status line until the next step."""
    app = make_app(config=LabConfig(rule="prediction", n_probe=2))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)
        assert app.engine.explaining and fake(app).attributing is not None
        status = str(app.query_one("#status").render())
        assert app.view.state == "ready" and "ready" in status and "tracing" not in status, status
