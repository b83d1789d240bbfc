"""The control row and the one-line status: what the engine is doing and where the probe stands."""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Static

STATE_STYLE = {"loading": "bold yellow", "ready": "bold green", "running": "bold cyan", "paused": "bold magenta",
               "diverged": "bold red", "error": "bold red"}
CONTROLS = (("Step", "step", "space"), ("Run N", "run_n", "n"), ("Play", "play_pause", "p"),
            ("Undo", "undo", "u"), ("Reset", "reset", "r"), ("Snapshot", "snapshot", "s"))


class Controls(Horizontal):
    """Mouse-friendly twins of the keys; not focusable, so Tab stays in the form."""

    DEFAULT_CSS = """
    Controls { height: 1; width: 1fr; }
    Controls Button { margin-right: 1; min-width: 6; }
    Controls #btn-play_pause { width: 7; }
    """

    def compose(self) -> ComposeResult:
        for label, action, key in CONTROLS:
            button = Button(label, compact=True, action=f"app.{action}", id=f"btn-{action}")
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


def format_prediction(row: np.ndarray | None) -> str:
    """Probe 0's prediction and argmax: `p=0.4123` for one output, `p[3]=0.8312 argmax 3` for several."""
    if row is None or row.size == 0:
        return "probe —"
    values = np.asarray(row, dtype=np.float64).reshape(-1)
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


class StatusLine(Static):
    """device · step · steps/s · probe prediction and argmax · engine state."""

    DEFAULT_CSS = """
    StatusLine { height: 1; width: 1fr; background: $boost; padding: 0 1; }
    """

    def show(self, device: str, step: int | None, rate: str, prediction: str, state: str, detail: str) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {state} ", style=f"reverse {STATE_STYLE.get(state, 'bold')}")
        if detail:
            text.append(f" {detail}", style="italic")
        text.append(f"  {device or '—'} · step {step if step is not None else '—'} · {rate} · {prediction}")
        self.update(text)
