"""Colours, pinned runs' glyphs and the legend outside a plot's frame: what tells the lines apart.

Kept apart from plots.py (the widget and its plotext drawing) so each stays small.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Text

from gradtui.safe_text import visible
from gradtui.tui.widgets.series import OTHERS_HUE, Chart, Series

RGB = tuple[int, int, int]
# Line colours per theme: series i keeps its hue (blue, red, green, orange, magenta, teal, yellow, gray, pink,
# brown) in every plot and theme, shaded for the plot background ($surface: #1E1E1E dark, #D8D8D8 light) so
# each line has a contrast of at least 4.5:1 (plotext's named colours gave 1.2-1.9:1 on the light background).
PALETTE_DARK: tuple[RGB, ...] = (
    (78, 168, 255),
    (255, 107, 107),
    (79, 209, 106),
    (255, 169, 77),
    (226, 123, 230),
    (61, 217, 214),
    (240, 224, 74),
    (180, 180, 180),
    (255, 133, 192),
    (200, 170, 120),
)
PALETTE_LIGHT: tuple[RGB, ...] = (
    (10, 79, 163),
    (179, 0, 30),
    (23, 107, 44),
    (143, 69, 0),
    (132, 25, 143),
    (0, 95, 102),
    (92, 82, 0),
    (60, 60, 60),
    (163, 0, 92),
    (110, 70, 40),
)


def palette(dark: bool) -> tuple[RGB, ...]:
    return PALETTE_DARK if dark else PALETTE_LIGHT


@dataclass(frozen=True)
class Look:
    """The theme's colours a build needs, read on the UI thread (a build may run on another)."""

    dark: bool = True
    surface: str = "#1E1E1E"  # the plot's background (textual-plotext draws on $surface)
    foreground: str = "#E0E0E0"


DARK_LOOK = Look()


# pinned runs: told apart from the live braille line without colour (half blocks, dots, crosses)
PIN_MARKERS = ("hd", "•", "x")
PIN_GLYPHS = {"hd": "▀▄", "•": "••", "x": "xx"}  # how each looks in a legend


def dimmed(colour: RGB, look: Look) -> RGB:
    """A pinned run's colour: its hue halfway to the plot's background."""
    surface = Color.parse(look.surface).get_truecolor()
    return (
        (colour[0] + surface.red) // 2,
        (colour[1] + surface.green) // 2,
        (colour[2] + surface.blue) // 2,
    )


def hue(series: Series, chart: Chart) -> int:
    if series.hue >= 0:
        return series.hue
    return next(i for i, other in enumerate(chart.series) if other is series)  # (== compares the arrays)


def legend_entry(label: str, glyph: str, colour: RGB, look: Look) -> Text:
    base = Style(color=look.foreground, bgcolor=look.surface)
    entry = Text(f" {glyph} ", style=base + Style(color=Color.from_rgb(*colour), bold=True))
    entry.append(visible(label), style=base)  # pin and layer names come from files: controls made visible
    return entry


def _entries(chart: Chart, shown: list[Series], colours: tuple[RGB, ...], look: Look) -> list[Text]:
    live = [s for s in shown if s.pin < 0]
    named = [] if chart.titled and len(live) == 1 else live  # (the title names a panel's one line)
    items = [legend_entry(s.label, "━", colours[hue(s, chart) % len(colours)], look) for s in named]
    items += [legend_entry(mark.label, "─", colours[OTHERS_HUE], look) for mark in chart.marks]
    for i, ref in enumerate(chart.refs):
        glyph = PIN_GLYPHS[PIN_MARKERS[i % len(PIN_MARKERS)]]
        items.append(legend_entry(ref, glyph, dimmed(colours[OTHERS_HUE], look), look))
    if chart.scatter and live:
        items.append(legend_entry("y = x: forecast exact", "·", colours[OTHERS_HUE], look))
    return items


def _pack(items: list[Text], first: int, width: int) -> list[Text]:
    """Entries in rows: the first row `first` cells wide, the rest `width`."""
    rows: list[Text] = [Text()]
    room = first
    for item in items:
        if rows[-1].cell_len and rows[-1].cell_len + item.cell_len > room:
            rows.append(Text())
            room = width
        rows[-1].append_text(item)
    return rows


def fit_legend(
    chart: Chart,
    shown: list[Series],
    colours: tuple[RGB, ...],
    look: Look,
    first: int,
    width: int,
    rows: int,
) -> tuple[list[Series], list[Text]]:
    """The series to draw and the legend rows naming every one of them: all of them on the title line if
    they fit, else on up to `rows` rows under the plot. When even that is too narrow, the least telling
    series merge into one "others" line (for charts that allow it) or the legend says how many it left out."""
    packed = _pack(_entries(chart, shown, colours, look), first, width)
    if len(packed) == 1 and packed[0].cell_len <= first:
        return shown, packed
    packed = _pack(_entries(chart, shown, colours, look), width, width)
    if len(packed) <= rows:
        return shown, packed
    if chart.others:
        ranks = sorted({s.rank for s in shown if s.pin < 0})
        for keep in range(len(ranks) - 2, 0, -1):
            merged = merge_others(chart, shown, set(ranks[:keep]))
            if merged is None:
                break
            packed = _pack(_entries(chart, merged, colours, look), width, width)
            if len(packed) <= rows:
                return merged, packed
    items = _entries(chart, shown, colours, look)
    for keep in range(len(items) - 1, 0, -1):
        more = Text(f" +{len(items) - keep} more", style=Style(color=look.foreground, bgcolor=look.surface))
        packed = _pack([*items[:keep], more], width, width)
        if len(packed) <= rows:
            return shown, packed
    return shown, packed[:rows]


def merge_others(chart: Chart, shown: list[Series], named: set[int]) -> list[Series] | None:
    """The series whose rank is in `named`, and for the live run and each pin one "others" line combining
    the rest (their sum or max, step by step); None if some of the rest are not measured at the same steps."""
    out = [s for s in shown if s.rank in named]
    for pin in sorted({s.pin for s in shown}):
        rest = [s for s in shown if s.pin == pin and s.rank not in named]
        if not rest:
            continue
        if any(not np.array_equal(s.x, rest[0].x) for s in rest):
            return None
        stacked = np.stack([s.y for s in rest])
        y = np.sum(stacked, axis=0) if chart.others == "sum" else np.max(stacked, axis=0)
        count = sum(_count(s) for s in rest)
        out.append(Series(f"{count} others", rest[0].x, y, hue=OTHERS_HUE, rank=len(named), pin=pin))
    return sorted(out, key=lambda s: (s.pin, s.hue))


def _count(series: Series) -> int:
    """How many classes a line stands for ("3 others" stands for three)."""
    head = series.label.split(" ", 1)[0]
    return int(head) if series.label.endswith(" others") and head.isdigit() else 1
