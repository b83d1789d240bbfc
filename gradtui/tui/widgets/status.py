"""The control row and the one-line status: what the engine is doing and where the probe stands."""

from __future__ import annotations

import math

import numpy as np
from rich.console import Console
from rich.text import Text
from textual.app import ComposeResult, RenderResult
from textual.containers import Horizontal
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Button, Static

STATE_STYLE = {
    "loading": "bold yellow",
    "waiting": "bold yellow",  # a follower whose lab is gone for now
    "ready": "bold green",
    "running": "bold cyan",
    "paused": "bold magenta",
    "diverged": "bold red",
    "error": "bold red",
}
CONTROLS = (
    ("Step", "step", "space"),
    ("Run N", "run_n", "n"),
    ("Play", "play_pause", "p"),
    ("Undo", "undo", "u"),
    ("Reset", "reset", "r"),
    ("Snapshot", "snapshot", "s"),
)


class Controls(Horizontal):
    """Mouse-friendly twins of the keys; not focusable, so Tab stays in the form."""

    DEFAULT_CSS = """
    Controls { height: 1; width: 1fr; }
    Controls Button { margin-right: 1; min-width: 6; }
    Controls #btn-play_pause { width: 7; }
    """

    def compose(self) -> ComposeResult:
        for label, action, key in CONTROLS:
            button = Button(label, compact=True, action=f"screen.{action}", id=f"btn-{action}")
            button.can_focus = False
            button.tooltip = f"{label} ({key})"
            yield button

    def set_enabled(self, ready: bool, valid: bool, running: bool) -> None:
        for _, action, _ in CONTROLS:
            button = self.query_one(f"#btn-{action}", Button)
            if action == "play_pause":
                button.label = "Pause" if running else "Play"
                button.disabled = not ready or (not valid and not running)
            elif action in ("step", "run_n"):
                button.disabled = not ready or not valid
            else:
                button.disabled = not ready


def format_prediction(row: np.ndarray | None, regression: bool = False) -> str:
    """Probe 0's prediction and argmax: `p=0.4123` for one output, `p[3]=0.8312 argmax 3` for several;
    a regression's values as values (`value=12.3`), never as classes."""
    if row is None or row.size == 0:
        return "probe —"
    values = np.asarray(row, dtype=np.float64).reshape(-1)
    if regression:
        shown = ", ".join(f"{v:.4g}" for v in values[:3]) + (", …" if values.size > 3 else "")
        return f"probe value={shown}" if values.size == 1 else f"probe values {shown}"
    if values.size == 1:
        v = float(values[0])
        return f"probe p={v:.4f}" + (" (class 1)" if v >= 0.5 else " (class 0)")
    if not np.isfinite(values).any():
        return "probe non-finite"
    k = int(np.nanargmax(values))
    return f"probe p[{k}]={values[k]:.4f} argmax {k}"


def format_rate(rate: float | None, frozen: bool) -> str:
    if frozen:
        return "— steps/s"
    if rate is None or not math.isfinite(rate) or rate <= 0:
        return "— steps/s"
    return f"{rate:,.0f} steps/s" if rate >= 10 else f"{rate:.1f} steps/s"


def devices_label(names: tuple[str, ...]) -> str:
    """Every replica's device, short: `/job:localhost/.../device:GPU:0` and `...GPU:1` -> `GPU:0,1`."""
    short = [name.rsplit("device:", 1)[-1] if "device:" in name else name for name in names]
    if len(short) < 2:  # one device; a list is of one kind (--device refuses a mix)
        return short[0] if short else ""
    return f"{short[0].rsplit(':', 1)[0]}:{','.join(name.rsplit(':', 1)[-1] for name in short)}"


def format_megabytes(mb: float) -> str:
    return f"{mb / 1024:.1f}G" if mb >= 1024 else f"{mb:.0f}M"


def memory_label(readings: tuple[tuple[str, float], ...]) -> str:
    """Each GPU replica with its memory in use (`GPU:0 1.2G GPU:1 900M`); beyond four, the range."""
    if not readings:
        return ""
    if len(readings) <= 4:
        return " ".join(f"{name} {format_megabytes(mb)}" for name, mb in readings)
    low, high = min(mb for _, mb in readings), max(mb for _, mb in readings)
    return f"{devices_label(tuple(name for name, _ in readings))} {format_megabytes(low)}-{format_megabytes(high)} each"


class StatusLine(Static):
    """engine state · device (a GPU's memory in use with it) · step · steps/s · probe prediction and argmax."""

    DEFAULT_CSS = """
    StatusLine { height: 1; width: 1fr; background: $boost; padding: 0 1; }
    """

    _shown: Text | None = None

    def show(
        self,
        device: str,
        step: int | None,
        rate: str,
        prediction: str,
        state: str,
        detail: str,
        followers: int | None = None,
        alert: str = "",
    ) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        if alert:  # a save that did not land where asked: first, so no width cuts it off
            text.append(f" {alert} ", style="reverse bold red")
            text.append(" ")
        text.append(f" {state} ", style=f"reverse {STATE_STYLE.get(state, 'bold')}")
        if detail:
            text.append(f" {detail}", style="italic")
        text.append(f"  {device or '—'} · step {step if step is not None else '—'} · {rate} · {prediction}")
        if followers is not None:  # a shared lab (--share): how many follow it
            text.append(f" · {followers} following")
        if text == self._shown:
            return  # the timer calls this 4 times a second: an unchanged line costs no repaint
        self._shown = text
        self.update(text, layout=False)  # one fixed line: a new text never moves the layout


STORY_HINT = " … (i: whole note)"
_MEASURE = Console(width=1000, color_system=None, legacy_windows=False)  # only wraps text, never prints


def wrapped_lines(text: Text, width: int) -> int:
    return len(text.wrap(_MEASURE, width)) if width > 0 else 0


def fit_text(text: Text, width: int, max_lines: int, hint: str = STORY_HINT) -> Text:
    """`text` if it wraps into `max_lines` lines of `width`; else its longest word-boundary prefix that,
    with `hint` appended, still does (so a cut explanation always says where the rest is)."""
    if width <= 0 or max_lines <= 0 or wrapped_lines(text, width) <= max_lines:
        return text
    tail = Text(hint, style="italic")

    def cut(n: int) -> Text:
        head = text[:n]
        head.rstrip()
        return Text.assemble(head, tail)

    lo, hi, best = 0, len(text.plain), 0
    while lo <= hi:
        mid = (lo + hi) // 2
        if wrapped_lines(cut(mid), width) <= max_lines:
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    space = text.plain.rfind(" ", 0, best + 1)
    if space > best - 20:  # end on a whole word unless that wastes most of a line
        best = max(space, 0)
    return cut(best)


class StoryLine(Widget):
    """The preset story or the latest engine note, in at most max-height lines (set in app.tcss so the
    plots keep their height at 80x24); a longer text ends with a hint to `i`, which shows it whole."""

    DEFAULT_CSS = """
    StoryLine { height: auto; max-height: 3; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.full = Text()

    def show(self, text: Text) -> None:
        """Show `text`; the screen is laid out again only if the line count changes (a layout of the whole
        screen costs tens of milliseconds, which a preset key's feedback cannot spare)."""
        before = self.get_content_height(self.size, self.size, self.content_size.width)
        self.full = text
        after = self.get_content_height(self.size, self.size, self.content_size.width)
        self.refresh(layout=after != before or not self.content_size.width)

    def max_lines(self) -> int:
        limit = self.styles.max_height
        return int(limit.value) if limit is not None and limit.is_cells else 3

    @property
    def truncated(self) -> bool:
        """Whether the text is cut at the current width."""
        return wrapped_lines(self.full, self.content_size.width) > self.max_lines()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, min(wrapped_lines(self.full, width), self.max_lines())) if self.full.plain else 0

    def render(self) -> RenderResult:
        return fit_text(self.full, self.content_size.width, self.max_lines())
