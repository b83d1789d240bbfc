"""The Why tab's text and the Preview tab's charts from hand-made results: the carry's parts are named,
bars point the way their term does, image rows become half-block thumbnails, the preview names where
the linear forecast stops holding and marks α = 1."""

from __future__ import annotations

import numpy as np

from gradtui.lab.attribution import Influence, StepAttribution
from gradtui.lab.preview_result import Preview
from gradtui.tui import glossary
from gradtui.tui.why_report import WhyReport
from gradtui.tui.widgets import preview_series
from gradtui.tui.widgets.plot_table import VIEWS, find_tab, tab_names
from gradtui.tui.widgets.thumbnail import thumbnail
from gradtui.tui.widgets.why_text import bar, why_text

CLASSES = ("hline", "vline", "diag")


def report(images: bool = False) -> WhyReport:
    rows = np.array([4, 9, 2, 7])
    terms = np.array([0.03, -0.02, 0.001, -0.004])
    split = StepAttribution(
        step=5,
        probe=0,
        output=1,
        source="rows",
        rows=rows,
        terms=terms,
        labels=np.array([1, 0, 1, 2]),
        direction=float(terms.sum()),
        carry=(("Adam first-moment history", 0.01), ("weight decay", -0.002)),
        forecast=float(terms.sum()) + 0.008,
        actual=0.0151,
    )
    values = np.zeros(10)
    values[[4, 9]] = [0.2, -0.3]
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    influence = Influence(0, 1, "rows", since=2, steps=3, values=values, labels=labels)
    pictures = {r: np.eye(16)[:, :, None] for r in (4, 9)} if images else {}
    return WhyReport(5, "batch-loss", "rows", {0: split}, {0: influence}, None, pictures)


def test_the_split_names_rows_labels_the_carry_and_the_residual() -> None:
    text = why_text(report(), 0, 100, 30, CLASSES).plain
    assert "probe 0's vline · attributed since step 2" in text
    assert "↑ row 4 vline" in text and "↓ row 9 hline" in text and "+0.03" in text and "-0.02" in text
    assert "Adam history" in text and "weight decay" in text and "-0.002" in text
    assert "= forecast (the sum)" in text and "+0.015" in text  # 0.007 + 0.01 - 0.002
    assert "residual" in text and "+0.0001" in text  # 0.0151 - 0.015
    assert "since step 2 (3 steps): same class +0.2 · other classes -0.3" in text
    assert "+ row 4 vline" in text and "- row 9 hline" in text


def test_at_80x24_it_fits_the_tab_and_keeps_the_sum_actual_and_residual() -> None:
    lines = why_text(report(), 0, 78, 8, CLASSES).plain.splitlines()
    assert len(lines) <= 8 and all(len(line) <= 78 for line in lines)
    assert any(line.startswith("= forecast +0.015 · actual +0.0151 · residual +0.0001") for line in lines)


def test_bars_point_the_way_of_their_term() -> None:
    up, down = bar(1.0, 1.0, 5).plain, bar(-0.6, 1.0, 5).plain
    assert up.index("│") == 5 and up[6:] == "█████"
    assert down[:5].strip() == "███" and down.endswith("│     ")


def test_image_rows_are_drawn_as_thumbnails_beside_the_numbers() -> None:
    lines = thumbnail(np.eye(16)[:, :, None])
    assert lines is not None and len(lines) == 8 and all(line.cell_len == 16 for line in lines)
    assert thumbnail(np.ones(5)) is None  # a feature row is no picture
    text = why_text(report(images=True), 0, 150, 30, CLASSES).plain
    assert "up most 4" in text and "down most 9" in text and "▀" * 16 in text


def test_the_preview_names_where_it_stops_being_linear_and_marks_this_step() -> None:
    a = np.array([0.0, 0.5, 1.0, 2.0])
    linear = np.array([0.5, 0.55, 0.6, 0.7])[:, None, None]
    actual = np.array([0.5, 0.55, 0.59, 0.62])[:, None, None]
    p = Preview(3, a, actual, linear, a, a, a, a * np.nan, 4.0, 20.0, 0.1, 2.0, None)
    chart = preview_series.predictions(p, 0)
    assert [m.y for m in chart.xmarks] == [1.0] and "linear until about 2x this step" in chart.note
    line = preview_series.curvature_line(p, 200)
    assert "uᵀHu/uᵀu = 4 beside 2/η = 20 (below it" in line
    assert "linear (within 10%) for every α shown" in preview_series.objective(p).note


def test_the_views_are_tabs_with_glossary_entries() -> None:
    assert {"Why", "Preview"} <= set(tab_names())
    assert find_tab("why") == "tab-why" and find_tab("Preview") == "tab-preview"
    assert all(view.key in glossary.GLOSSARY for view in VIEWS)
    assert "What the Why tab" in glossary.for_tab("tab-why").plain
    assert "uᵀHu/uᵀu beside 2/η" in glossary.markdown()
