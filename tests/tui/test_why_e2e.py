"""The Why and Preview tabs on the real engine (TensorFlow): what they draw is the session's attribution,
probe matrix and preview, for preset 1 (the probe rule, its probe-by-probe matrix) and preset 5 (the
mislabelled row pushing the vline output down)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gradtui.config import LabConfig
from gradtui.tui.app import GradApp
from gradtui.tui.widgets.why_text import number

from .helpers import make_real_app, real_session, settle, wait_until

pytestmark = pytest.mark.e2e


def shown(app: GradApp) -> str:
    return str(app.lab.plots.why.render())


async def test_preset_5_points_at_the_mislabelled_row_and_previews_the_next_step() -> None:
    app = make_real_app(config=LabConfig(device="cpu"), preset="wrong-label")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, timeout=120)
        await pilot.press("w")
        await settle(pilot, timeout=120)
        await pilot.press("space", "space", "space")
        await settle(pilot, timeout=120)
        session = real_session(app)
        split, influence = session.attribution(0), session.influence(0)
        assert split is not None and influence is not None and influence.steps == 3
        report = app.lab.plots.why.report
        assert report is not None and report.step == 3
        assert report.attributions[0].terms.tolist() == split.terms.tolist()
        text = shown(app)
        assert "probe 0's vline" in text  # the tracked output: the image's own class
        assert "↓ probe 0 labelled hline" in text  # the one row, its wrong label, pushing it down
        assert number(float(split.terms[0])) in text and number(split.actual) in text
        assert influence.rank_among_opponents(0) == 1
        assert "- probe 0 labelled hline" in text and number(float(influence.values[0])) in text
        weights = [v.numpy().copy() for v in session.model.trainable_variables]
        await pilot.press("v")
        await wait_until(pilot, lambda: app.lab.plots.preview.preview is not None, timeout=120)
        await settle(pilot, timeout=120)
        preview = app.lab.plots.preview.preview
        assert preview is not None and preview.step == 4
        again = session.preview()  # the preview changed nothing: the same again
        assert np.allclose(again.predictions, preview.predictions) and again.curvature == pytest.approx(
            preview.curvature
        )
        assert all(
            np.array_equal(a, v.numpy()) for a, v in zip(weights, session.model.trainable_variables, strict=True)
        )
        line = str(app.lab.query_one("#preview-line").render())
        assert f"{preview.curvature:.4g}" in line and f"2/η {preview.stability:.4g}" in line


async def test_preset_1_shows_the_probe_by_probe_matrix_after_a_rebuild() -> None:
    app = make_real_app(config=LabConfig(device="cpu"), preset="example1")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, timeout=120)
        await pilot.press("w")
        await settle(pilot, timeout=120)
        app.engine.apply(dataclasses.replace(app.lab.form.applied, n_probe=2))  # a new session: attribution again
        await settle(pilot, timeout=120)
        await pilot.press("space")
        await settle(pilot, timeout=120)
        session = real_session(app)
        matrix = session.probe_matrix()
        assert matrix is not None and matrix.values.shape == (2, 2)
        text = shown(app)
        assert "pushing probe j (column) moves probe i (row)" in text
        for value in matrix.values.ravel():
            assert number(float(value)) in text
        split = session.attribution(0)
        assert split is not None and number(split.total) in text  # = forecast (the sum)
