"""`gradtui follow`: the lab's status, story, plots, pins and log, drawn by the lab's own widgets.

Read-only by construction: this app holds no engine and no command to one. Its socket carries one
line to the lab (the token), and the keys below change only this view: its tab, its probe, its
scales, its log's scroll and its help. TensorFlow is never imported (an import-linter contract).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Footer, Static, TabbedContent

from gradtui.follow.mirror import Mirror
from gradtui.lab.pins import Pin
from gradtui.stream.address import StreamInfo, same_lab
from gradtui.stream.client import StreamClient
from gradtui.tui.screens.help import HelpScreen, NotesScreen
from gradtui.tui.widgets.plots_panel import PlotsPanel
from gradtui.tui.widgets.status import StatusLine, StoryLine, format_prediction

REDRAW_S = 0.1  # the plots follow the stream's pace (ten sends a second at most)
LAB_CSS = Path(__file__).resolve().parent.parent / "tui" / "app.tcss"


@dataclass(frozen=True)
class FollowAction:
    key: str
    action: str
    label: str
    help: str
    footer: bool = True


# Every key a follower has: none reaches the lab.
ACTIONS: tuple[FollowAction, ...] = (
    FollowAction("left_square_bracket", "previous_tab", "Tab", "Previous plot tab"),
    FollowAction("right_square_bracket", "next_tab", "Tab", "Next plot tab"),
    FollowAction("comma", "probe(-1)", "Probe", "Previous probe in the prediction and forecast plots", footer=False),
    FollowAction("full_stop", "probe(1)", "Probe", "Next probe in the prediction and forecast plots"),
    FollowAction("l", "toggle_log", "Log", "Weight and gradient norms on a log axis / a linear one", footer=False),
    FollowAction("z", "toggle_zero", "Zero", "Axes from zero / fitted to the data", footer=False),
    FollowAction("i", "story", "Notes", "The whole preset story and the lab's notes"),
    FollowAction("t", "toggle_theme", "Theme", "Light or dark theme", footer=False),
    FollowAction("question_mark", "help", "Help", "Show every key"),
    FollowAction("q", "quit", "Quit", "Stop following (the lab goes on)"),
)
KEY_NAMES = {
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "comma": ",",
    "full_stop": ".",
    "question_mark": "?",
}


def help_markdown() -> str:
    rows = ["| key | what it does |", "|---|---|"]
    rows += [f"| `{KEY_NAMES.get(a.key, a.key)}` | {a.help} |" for a in ACTIONS]
    rows += ["| `tab`, then `↑ ↓ PgUp PgDn` | focus the log tab's text and scroll it |"]
    return (
        "# Following a lab\n\nYou are watching a lab someone else drives: its steps, presets and notes arrive as they "
        "happen. Your keys change only your own view.\n\n" + "\n".join(rows) + "\n"
    )


class FollowHelp(HelpScreen):
    def compose(self) -> ComposeResult:
        from textual.containers import VerticalScroll
        from textual.widgets import Markdown

        with VerticalScroll() as box:
            box.border_title = "Help (escape to close)"
            yield Markdown(help_markdown())


class Received(Message):
    """The reader thread applied a message of this kind to the mirror."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind


class Connection(Message):
    def __init__(self, state: str, text: str) -> None:
        super().__init__()
        self.state = state
        self.text = text


class FollowApp(App[int]):
    """A lab's screen without its controls: what the teacher sees, at the student's own pace."""

    CSS_PATH = LAB_CSS
    CSS = """
    #follow-bar { height: 1; padding: 0 1; background: $panel; color: $text-muted; }
    """
    TITLE = "gradtui follow"
    AUTO_FOCUS = None
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(a.key, a.action, a.label, show=a.footer, tooltip=a.help) for a in ACTIONS
    ]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012 - the lab's, so its CSS applies
    VERTICAL_BREAKPOINTS = [(0, "-tiny"), (22, "-short"), (34, "-tall")]  # noqa: RUF012
    ENABLE_COMMAND_PALETTE = False  # the palette would list the app's own commands: nothing to run here

    def __init__(self, info: StreamInfo, connect: bool = True) -> None:
        super().__init__()
        self.info = info
        self.mirror = Mirror()
        self.connection = ("waiting", f"connecting to {info.address}")
        locate = partial(same_lab, info)  # the same lab again after it restarts (on its new stream port)
        self._client = StreamClient(info, self._from_stream, self._from_client, locate) if connect else None
        self._drawn_resets = -1
        self._last_draw = 0.0
        self._draw_pending = False
        self._stories_shown: Text | None = None
        self._drawn_pins: tuple[Pin, ...] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="follow-bar")
        yield StatusLine(id="status")
        yield StoryLine(id="story")
        yield PlotsPanel(id="plots")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._update_bar()
        self._update_status()
        if self._client is not None:
            self._client.start()

    def on_unmount(self) -> None:
        if self._client is not None:
            self._client.close()

    # -- the stream (reader thread) ---------------------------------------------------------------

    def _from_stream(self, message: dict[str, Any]) -> None:
        self.post_message(Received(self.mirror.apply(message)))

    def _from_client(self, state: str, text: str) -> None:
        self.post_message(Connection(state, text))

    # -- on the loop ------------------------------------------------------------------------------

    @on(Connection)
    def _connection(self, message: Connection) -> None:
        self.connection = (message.state, message.text)
        self._update_bar()
        self._update_status()

    @on(Received)
    def _received(self, message: Received) -> None:
        if message.kind == "log":
            log = self.query_one(PlotsPanel).log_view
            if log is not None:
                for line in self.mirror.take_log():
                    log.add(Text(line))
            return
        if message.kind == "state":
            self._update_bar()
            self._show_story()
        if message.kind in ("reset", "rows", "pins", "state"):
            self._update_status()
            self._schedule_draw()

    def _schedule_draw(self) -> None:
        if self._draw_pending:
            return
        self._draw_pending = True
        wait = REDRAW_S - (time.monotonic() - self._last_draw)
        if wait <= 0:  # after the next paint: the status line's new step is on screen before the plots build
            self.call_after_refresh(self._draw)
        else:
            self.set_timer(wait, self._draw)

    def _draw(self) -> None:
        self._draw_pending = False
        self._last_draw = time.monotonic()
        mirror, panel = self.mirror, self.query_one(PlotsPanel)
        history, summary = mirror.history, mirror.summary
        if history is None or summary is None:
            return
        if mirror.resets != self._drawn_resets:
            self._drawn_resets = mirror.resets
            panel.mark_dirty()
        if mirror.pins is not self._drawn_pins:
            self._drawn_pins = mirror.pins
            panel.mark_dirty()
        panel.refresh_plots(history, summary, mirror.pins, mirror.state == "running")

    def _update_status(self) -> None:
        mirror = self.mirror
        probe = self.query_one(PlotsPanel).probe
        regression = mirror.summary is not None and mirror.summary.regression
        prediction = format_prediction(mirror.prediction(probe), regression=regression)
        if probe:
            prediction = prediction.replace("probe", f"probe {probe}", 1)
        state, detail = mirror.state, mirror.detail
        if self.connection[0] != "connected":  # why is said once, in the bar above; here the last known step
            state, detail = "waiting", ""
        self.query_one("#status", StatusLine).show(mirror.device, mirror.step, mirror.rate, prediction, state, detail)

    def _update_bar(self) -> None:
        mirror = self.mirror
        info = self._client.info if self._client is not None else self.info  # a restarted lab: its new port
        parts = [f"following the lab at {info.address}" if self.connection[0] == "connected" else self.connection[1]]
        if mirror.preset:
            parts.append(f"preset {mirror.preset}")
        if mirror.followers and self.connection[0] == "connected":  # a gone lab's count is stale
            parts.append(f"{mirror.followers} following")
        parts.append("read-only: your keys change your view only (? help)")
        self.query_one("#follow-bar", Static).update(Text(" · ".join(parts), no_wrap=True, overflow="ellipsis"))

    def _show_story(self) -> None:
        stories = self.mirror.stories
        latest = stories[-1] if stories else Text()
        if latest is not self._stories_shown:
            self._stories_shown = latest
            self.query_one("#story", StoryLine).show(latest)

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self._draw()

    # -- the follower's own keys ------------------------------------------------------------------

    def action_next_tab(self) -> None:
        self.query_one(PlotsPanel).switch_tab(1)

    def action_previous_tab(self) -> None:
        self.query_one(PlotsPanel).switch_tab(-1)

    def action_probe(self, step: int) -> None:
        panel = self.query_one(PlotsPanel)
        history = self.mirror.history
        probes = history.dims.probes if history is not None else 1
        panel.probe = (panel.probe + step) % max(1, probes)
        self.notify(f"probe {panel.probe} of {probes}", timeout=2)
        self._redraw_now()

    def action_toggle_log(self) -> None:
        panel = self.query_one(PlotsPanel)
        panel.log_scale = not panel.log_scale
        self.notify("norms on a " + ("log" if panel.log_scale else "linear") + " axis", timeout=2)
        self._redraw_now()

    def action_toggle_zero(self) -> None:
        panel = self.query_one(PlotsPanel)
        panel.from_zero = not panel.from_zero
        self.notify("axes from zero" if panel.from_zero else "axes fitted to the data", timeout=2)
        self._redraw_now()

    def _redraw_now(self) -> None:
        self.query_one(PlotsPanel).mark_dirty()
        self._update_status()
        self._draw()

    def action_story(self) -> None:
        self.push_screen(NotesScreen(list(reversed(self.mirror.stories))))

    def action_help(self) -> None:
        self.push_screen(FollowHelp())

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"


def run_follow(info: StreamInfo) -> int:
    """Follow the lab at `info` (and the same lab again after a restart) until the user quits."""
    app = FollowApp(info)
    code = app.run()
    return code if isinstance(code, int) else 0


__all__ = ["ACTIONS", "FollowApp", "run_follow"]
