"""The Why tab's text: for one probe's tracked output, this step's split into the rows that pushed it
(signed bars), the rest of the batch, the carry, their sum (the forecast), the actual change and the
residual; then the run so far (proponents, opponents, same class against other classes); under the probe
rules the probe-by-probe matrix; image rows as thumbnails when there is room. Plain Rich text, sized to
the widget (the layout is chosen by its width and height), so it is tested without an app."""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text

from gradtui.lab.attribution import Influence, StepAttribution
from gradtui.safe_text import visible
from gradtui.tui.why_report import SHOWN, WhyReport
from gradtui.tui.widgets.thumbnail import thumbnail

WIDE = 120  # from this many columns: this step on the left, the run so far on the right
UP, DOWN = "green", "red"
CARRY_NAMES = {"Adam first-moment history": "Adam history"}  # the carry's parts as the bars name them
NAME_WIDTH = 26
VALUE_WIDTH = 11


def class_name(k: int | None, classes: tuple[str, ...]) -> str:
    if k is None:
        return ""
    return classes[k] if 0 <= k < len(classes) else f"class {k}"


def number(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:+.4g}"


def bar(value: float, scale: float, half: int) -> Text:
    """A signed bar 2·half+1 wide: below zero to the left of the axis, above it to the right."""
    n = 0 if scale <= 0 or not math.isfinite(value) else min(half, round(abs(value) / scale * half))
    if value != 0 and n == 0 and math.isfinite(value):
        n = 1 if abs(value) >= 0.02 * scale else 0
    left = Text(" " * (half - n)) + Text("█" * n, DOWN) if value < 0 else Text(" " * half)
    right = Text("█" * n, UP) + Text(" " * (half - n)) if value > 0 else Text(" " * half)
    return Text.assemble(left, Text("│", "dim"), right)


def bar_line(name: str, value: float, scale: float, width: int, style: str = "") -> Text:
    """`name  bar  value` in `width` columns (the bar takes what is left)."""
    name_width = min(34, max(NAME_WIDTH, width // 4))
    half = max(2, (width - name_width - VALUE_WIDTH - 2) // 2)
    label = Text(visible(name)[:name_width].ljust(name_width), style)  # class names come from data files
    return Text.assemble(label, " ", bar(value, scale, half), " ", Text(number(value).rjust(VALUE_WIDTH - 1)))


def row_name(report: WhyReport, row: int, labels: np.ndarray | None, rows: np.ndarray, classes: tuple[str, ...]) -> str:
    """`row 17 vline` (a training row and its label), or `probe 2` (under the probe rules; `trained as
    hline` under example-loss, whose label is the rule's)."""
    if report.source == "probes":
        trained = f" labelled {class_name(report.trained_label, classes)}" if report.trained_label is not None else ""
        return f"probe {row}{trained}"
    label = ""
    if labels is not None:
        where = np.flatnonzero(rows == row)
        if len(where):
            label = " " + class_name(int(labels[where[0]]), classes)
    return f"row {row}{label}"


def this_step(
    report: WhyReport, a: StepAttribution, k: int, width: int, compact: bool, classes: tuple[str, ...]
) -> list[Text]:
    """The step's split, with bars on one scale."""
    out = [Text(f"step {a.step}: what moved it", "bold")]
    if a.source == "none":
        out.append(Text("the step came from no data: a random direction (the random rule)", "italic"))
    up_rows, up_terms = a.pushed(k, up=True)
    down_rows, down_terms = a.pushed(k, up=False)
    shown = np.concatenate([up_rows, down_rows])
    carry = [(CARRY_NAMES.get(name, name), value) for name, value in a.carry]
    values = [*up_terms, *down_terms, a.forecast, a.actual, *(v for _, v in carry)]
    scale = max((abs(v) for v in values if math.isfinite(v)), default=0.0)
    for rows, terms in ((up_rows, up_terms), (down_rows, down_terms)):
        for row, term in zip(rows, terms, strict=True):
            name = row_name(report, int(row), a.labels, a.rows, classes)
            out.append(bar_line(("↑ " if term > 0 else "↓ ") + name, float(term), scale, width))
    rest = len(a.rows) - len(shown)
    if a.source != "none" and rest > 0:
        noun = "probes" if a.source == "probes" else "rows"
        out.append(bar_line(f"  rest ({rest} {noun})", a.rest(shown), scale, width, "dim"))
    elif a.source == "none":
        out.append(bar_line("  random direction", a.direction, scale, width))
    if compact:
        carry_text = " · ".join(f"{name} {number(v)}" for name, v in carry)
        out.append(
            Text(f"= forecast {number(a.total)} · actual {number(a.actual)} · residual {number(a.residual)}")
            + (Text(f" (carry: {carry_text})", "dim") if carry_text else Text())
        )
        return out
    for name, value in carry:
        out.append(bar_line(f"  {name}", value, scale, width, "italic"))
    out.append(bar_line("= forecast (the sum)", a.total, scale, width, "bold"))
    out.append(bar_line("  actual change", a.actual, scale, width))
    out.append(bar_line("  residual", a.residual, scale, width, "dim"))
    return out


def run_so_far(report: WhyReport, i: Influence, k: int, width: int, classes: tuple[str, ...]) -> list[Text]:
    """The summed influence since attribution began: the strongest rows each way and the class split."""
    head = Text(f"since step {i.since} ({i.steps} step{'s' * (i.steps != 1)}): ", "bold")
    split = i.by_class()
    if split is not None:
        head.append(f"same class {number(split[0])} · other classes {number(split[1])}")
    out = [head]
    if i.source == "none":
        out.append(Text("no rows: the steps came from no data", "italic"))
        return out
    pro_rows, pro = i.proponents(k)
    opp_rows, opp = i.opponents(k)
    scale = max((abs(float(v)) for v in (*pro, *opp)), default=0.0)
    rows = np.arange(len(i.values))
    for sign, rs, vs in (("+ ", pro_rows, pro), ("- ", opp_rows, opp)):
        for row, value in zip(rs, vs, strict=True):
            out.append(bar_line(sign + row_name(report, int(row), i.labels, rows, classes), float(value), scale, width))
    if len(pro_rows) + len(opp_rows) == 0:
        out.append(Text("no row has moved it yet", "italic"))
    return out


def matrix_lines(report: WhyReport, rows: int, width: int) -> list[Text]:
    """Under the probe rules: M[i, j] = J_i·P(∇f_j), how far pushing probe j moves probe i (this step)."""
    m = report.matrix
    if m is None or rows < 3:
        return []
    n = min(len(m.probes), rows - 2, max(1, (width - 6) // 10))
    out = [Text(f"step {m.step}: pushing probe j (column) moves probe i (row) by", "bold")]
    out.append(Text("      " + "".join(f"{'p' + str(p):>10}" for p in m.probes[:n])))
    for r in range(n):
        cells = "".join(f"{number(float(v)):>10}" for v in m.values[r, :n])
        out.append(Text(f"{'p' + str(m.probes[r]):>5} " + cells))
    return out


Tile = tuple[str, list[Text]]  # a caption and a thumbnail
TILE = 18  # columns a thumbnail and its caption take (16 and a gap)


def tiles(report: WhyReport, a: StepAttribution | None, i: Influence | None) -> list[Tile]:
    """Thumbnails of the rows that pushed most up and down this step and over the run (when pictures)."""
    picks: list[tuple[str, int]] = []
    if a is not None:
        for up, name in ((True, "up most"), (False, "down most")):
            picks += [(name, int(r)) for r in a.pushed(1, up)[0]]
    if i is not None:
        for rows, name in ((i.proponents(1)[0], "run: most +"), (i.opponents(1)[0], "run: most -")):
            picks += [(name, int(r)) for r in rows]
    out: list[Tile] = []
    for name, row in picks:
        picture = thumbnail(report.images[row]) if row in report.images else None
        if picture:
            out.append((f"{name} {row}", picture))
    return out


def grid(shown: list[Tile], columns: int) -> list[Text]:
    """Tiles in rows of `columns`, each under its caption."""
    lines: list[Text] = []
    for at in range(0, len(shown), columns):
        group = shown[at : at + columns]
        lines.append(Text("".join(caption[: TILE - 1].ljust(TILE) for caption, _ in group), "dim"))
        for y in range(max(len(t) for _, t in group)):
            line = Text()
            for _, t in group:
                cell = t[y] if y < len(t) else Text(" " * t[0].cell_len)
                line.append_text(cell)
                line.append(" " * (TILE - cell.cell_len))
            lines.append(line)
    return lines


def why_text(report: WhyReport | None, probe: int, width: int, height: int, classes: tuple[str, ...] = ()) -> Text:
    """The whole tab at width x height."""
    if report is None:
        return Text("Attribution is on: the next step (space) shows which rows moved the probe.", "italic")
    a = report.attributions.get(probe)
    i = report.influences.get(probe)
    ref = a or i
    if ref is None:
        return Text(f"probe {probe} is not attributed (j cycles the probes)", "italic")
    header = Text(f"probe {probe}'s {class_name(ref.output, classes) or 'output'}", "bold")
    header.append(f" · attributed since step {i.since if i else report.step}", "")
    header.append("  (j: next probe)", "dim")
    if a is None:
        return Text("\n").join([header, Text("the next step (space) shows which rows moved it", "italic")])
    body, full = height - 1, width
    shown = tiles(report, a, i)
    side: list[Text] = []
    if shown and width >= 60 + 2 + TILE:  # the thumbnails to the right of the numbers
        columns = min(len(shown), 2, (width - 62) // TILE)
        tile_rows = len(shown[0][1]) + 1
        fit = max(0, body // tile_rows) * columns
        side = grid(shown[:fit], columns) if fit else []
        if side:
            width -= columns * TILE + 2
    wide = width >= WIDE
    compact = body < 14 and not wide
    extra = 0 if compact else 3 + len(a.carry)
    matrix = report.matrix is not None
    if wide:
        column = (width - 2) // 2
        k = max(1, min(SHOWN, (body - 3 - extra) // 2))
        left = this_step(report, a, k, column, compact=False, classes=classes)
        kk = max(1, min(SHOWN, (body - (len(report.matrix.probes) + 3 if matrix else 0) - 2) // 2))  # type: ignore[union-attr]
        right = run_so_far(report, i, kk, column, classes) if i is not None else []
        right += matrix_lines(report, body - len(right), column)
        lines = [Text.assemble(_fit(x, column), "  ", _fit(y, column)) for x, y in _pairs(left, right)]
    else:
        fixed = 4 + extra + (1 if a.source == "none" else 0)
        spare = body - fixed
        k = max(1, min(SHOWN, spare // 4 if i is not None else spare // 2))
        lines = this_step(report, a, k, width, compact, classes)
        if i is not None and body - len(lines) >= 2:
            kk = max(1, min(SHOWN, (body - len(lines) - 1) // 2))
            lines += run_so_far(report, i, kk, width, classes)
        lines += matrix_lines(report, body - len(lines), width)
    lines = lines[:body]
    if side:
        lines = [Text.assemble(_fit(x, width), "  ", y) for x, y in _pairs(lines, side)]
    return Text("\n").join([_cut(line, full) for line in (header, *lines)])


def _cut(line: Text, width: int) -> Text:
    """One row, never wrapped: cut to `width` with an ellipsis."""
    line = line.copy()
    line.truncate(width, overflow="ellipsis")
    return line


def _fit(line: Text, width: int) -> Text:
    line = line.copy()
    line.truncate(width, overflow="ellipsis")
    line.pad_right(width - line.cell_len)
    return line


def _pairs(left: list[Text], right: list[Text]) -> list[tuple[Text, Text]]:
    n = max(len(left), len(right))
    return [(left[j] if j < len(left) else Text(), right[j] if j < len(right) else Text()) for j in range(n)]
