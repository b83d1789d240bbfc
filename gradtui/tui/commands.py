"""Every user action in one table: the key bindings, the footer, the `?` help screen and the command
palette are all generated from it, so a key can never be documented but missing. Beside it, the table
of what each demo-script verb does, through the same actions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.notifications import SeverityLevel

from gradtui.presets import PRESETS
from gradtui.tui.demo import DemoCommand
from gradtui.tui.messages import Origin


@dataclass(frozen=True)
class Action:
    key: str  # Textual key name(s), comma separated
    action: str  # app action, e.g. "step" for action_step
    label: str  # footer text
    help: str  # palette / help screen text
    footer: bool = True
    palette: bool = True
    group: str = ""  # a GROUPS key: shown together in the footer
    app: bool = False  # the app's action (quit, help, notes, theme); the rest are the lab screen's


# Order is footer order. The footer entries fit 80 columns whole (with ctrl+p on the right); the rest are in
# `?` help and the palette.
ACTIONS: tuple[Action, ...] = (
    Action("space", "step", "Step", "Apply one step of the rule"),
    Action("n", "run_n", "Run N", "Run the number of steps in 'steps/run' (one undo entry)"),
    Action("p", "play_pause", "Play", "Run until paused; pause a run in progress"),
    Action("u", "undo", "Undo", "Undo the last step, run or play"),
    Action(
        "c",
        "pin",
        "Compare",
        "Pin this run as a reference: every plot draws it dimmed beside the live run (up to 3, kept across presets)",
    ),
    Action("left_square_bracket", "previous_tab", "Tab", "Previous plot tab", group="tabs"),
    Action("right_square_bracket", "next_tab", "Tab", "Next plot tab", group="tabs"),
    Action("l", "toggle_log", "Log", "Weight and gradient norms on a log axis / a linear one", footer=False),
    Action("question_mark", "help", "Help", "Show every key", app=True),
    Action("q", "quit", "Quit", "Quit gradtui", app=True),
    Action("r", "reset", "Reset", "Back to the initial weights and optimizer state", footer=False),
    Action(
        "s", "snapshot", "Snapshot", "Snapshot the weights and optimizer state, named step-N (o restores)", footer=False
    ),
    Action("o", "restore", "Restore", "Go back to a snapshot", footer=False),
    Action("x", "unpin", "Unpin", "Clear the pinned reference runs", footer=False),
    Action(
        "z", "toggle_zero", "Zero", "Axes from zero / fitted to the data (probabilities stay on 0..1)", footer=False
    ),
    Action("e", "export", "Export", "Export the history and pins (CSV, JSON or .npz) or the screen (SVG)"),
    Action(
        "ctrl+s", "save_session", "Save", "Save the session (config, snapshots, history, pins) to a file", footer=False
    ),
    Action("ctrl+o", "open_session", "Open", "Open a saved session file", footer=False),
    Action(
        "i",
        "story",
        "Notes",
        "Show the whole preset story and engine notes (the story line shows their start) and what the "
        "current tab's quantities mean (all of them: below in this help)",
        footer=False,
        app=True,
    ),
    Action("f", "toggle_form", "Form", "Show or hide the settings form", footer=False),
    Action("right,enter", "demo_next", "Next beat", "Demo: play the next beat of the script", footer=False),
    Action(
        "escape",
        "leave_form",
        "Leave field",
        "Take focus out of the form so keys drive the lab",
        footer=False,
        palette=False,
    ),
    Action(
        "w",
        "why",
        "Why",
        "The Why tab: which training rows pushed the probe this step and over the run (attribution runs "
        "only while the tab is open)",
        footer=False,
    ),
    Action(
        "v",
        "preview",
        "Preview",
        "Preview the next update: probes and loss at w + α·Δw against the first-order line (changes nothing)",
        footer=False,
    ),
    Action(
        "j", "next_probe", "Probe", "Next probe: the one the prediction, forecast, Why and Preview draw", footer=False
    ),
    Action("t", "toggle_theme", "Theme", "Switch between the light and dark themes", footer=False, app=True),
)
GROUPS = {"tabs": Binding.Group("Tab")}  # keys shown as one footer entry: `[ ] Tab`
# the footer's labels when the full ones do not fit (80 columns), and the entries it drops first when even
# those do not (widgets/footer.py); the preset keys show as one entry, `1-6 Presets`
FOOTER_SHORT = {"run_n": "Run", "pin": "Pin"}
FOOTER_DROPS = ("Tab", "export", "pin", "play_pause", "undo", "run_n")


# what `?` says of keys that arrive while the lab is busy
QUEUED_KEYS = (
    "`space` and `n` queue behind each other (at most 100 presses waiting): `n n` runs twice the steps; "
    "a play stops first. While an experiment loads (a preset on another model rebuilds for seconds), the "
    "status says what is loading, with a spinner and the time so far, and the old plots are dimmed; keys "
    "pressed meanwhile are queued for the new experiment, and the status counts them (`queued: 20 steps`). "
    "Before the first model is built, keys are refused with a note."
)


# lab actions on printable keys: they never fire while a form field or dropdown has focus (escape leaves it)
TYPED_ACTIONS = frozenset(
    {a.action for a in ACTIONS if any(len(k) == 1 or k in ("space", "question_mark") for k in a.key.split(","))}
    | {"preset"}  # the digit keys
)


def _binding(a: Action) -> Binding:
    return Binding(a.key, a.action, a.label, show=a.footer, id=a.action, tooltip=a.help, group=GROUPS.get(a.group))


def app_bindings() -> list[Binding]:
    """The app's keys (quit, help, notes, theme), and Tab/shift+tab between form fields.

    Tab and shift+tab are priority: Textual sends each key to the widget focused when the key arrives,
    so a focus change that waited for its key to bubble up to the app would hand the keys typed right
    after it to the field just left."""
    out = [_binding(a) for a in ACTIONS if a.app]
    out.append(Binding("tab", "app.focus_next", "Next field", show=False, priority=True, id="focus-next"))
    out.append(
        Binding("shift+tab", "app.focus_previous", "Previous field", show=False, priority=True, id="focus-previous")
    )
    return out


def lab_bindings() -> list[Binding]:
    """The lab screen's keys. They are non-priority: a focused Input gets printable keys (space, digits,
    letters) first. Escape in a form field is priority, for the reason Tab is (see app_bindings: e.g.
    `escape space` typed a space instead of stepping); the screen's check_action limits `leave_field`
    to a focused field of the form."""
    out = [_binding(a) for a in ACTIONS if not a.app]
    out.append(Binding("escape", "leave_field", "Leave field", show=False, priority=True, id="leave-field"))
    for preset in PRESETS:
        out.append(
            Binding(
                preset.key,
                f"preset('{preset.name}')",
                preset.name,
                show=False,
                id=f"preset-{preset.key}",
                tooltip=preset.title,
            )
        )
    return out


def bindings() -> list[Binding]:
    """Every key, the app's and the lab screen's (the help screen and the tests list them)."""
    return [*lab_bindings(), *app_bindings()]


def key_display(key: str) -> str:
    names = {
        "question_mark": "?",
        "right": "→",
        "enter": "enter",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
    }
    return "/".join(names.get(k, k) for k in key.split(","))


class LabCommands(Provider):
    """Command palette entries: every action and every preset."""

    def _entries(self) -> list[tuple[str, str, str]]:
        entries = [(f"{a.label} ({key_display(a.key)})", self._scoped(a), a.help) for a in ACTIONS if a.palette]
        entries += [(f"Preset {p.key}: {p.title}", f"preset('{p.name}')", p.story) for p in PRESETS]
        return entries

    @staticmethod
    def _scoped(action: Action) -> str:
        return f"app.{action.action}" if action.app else action.action

    def _runner(self, action: str) -> partial[Any]:
        return partial(self.app.run_action, action, self.screen)  # the screen the palette was opened on

    async def discover(self) -> Hits:
        for text, action, help_text in self._entries():
            yield DiscoveryHit(text, self._runner(action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, action, help_text in self._entries():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), self._runner(action), help=help_text)


class DemoLab(Protocol):
    """What a demo script drives: the lab screen's own actions, as its keys run them."""

    def action_preset(self, name: str, origin: Origin = "preset") -> None: ...
    def action_step(self, count: int = 1) -> None: ...
    def action_run_n(self, count: int | None = None) -> None: ...
    def action_play(self) -> None: ...
    def action_pause(self) -> None: ...
    def action_undo(self) -> None: ...
    def action_reset(self) -> None: ...
    def action_snapshot(self, name: str | None = None) -> None: ...
    def action_restore(self, name: str | None = None) -> None: ...
    def action_pin(self, name: str | None = None) -> None: ...
    def action_unpin(self) -> None: ...
    def set_fields(self, settings: tuple[tuple[str, str], ...]) -> None: ...
    def show_tab(self, name: str) -> None: ...
    def action_preview(self) -> None: ...
    def say(self, text: str) -> None: ...
    def notify(
        self, message: str, *, title: str = "", severity: SeverityLevel = "information", timeout: float | None = None
    ) -> None: ...


# What each demo-script verb (demo.VERBS) does: the action its key runs. A script's presets start afresh,
# unannounced (origin "demo").
DEMO_ACTIONS: dict[str, Callable[[DemoLab, DemoCommand], None]] = {
    "preset": lambda lab, c: lab.action_preset(c.arg, origin="demo"),
    "step": lambda lab, c: lab.action_step(c.count or 1),
    "run": lambda lab, c: lab.action_run_n(c.count),
    "play": lambda lab, c: lab.action_play(),
    "pause": lambda lab, c: lab.action_pause(),
    "undo": lambda lab, c: lab.action_undo(),
    "reset": lambda lab, c: lab.action_reset(),
    "snapshot": lambda lab, c: lab.action_snapshot(c.arg or None),
    "restore": lambda lab, c: lab.action_restore(c.arg),
    "set": lambda lab, c: lab.set_fields(c.settings),
    "pin": lambda lab, c: lab.action_pin(c.arg or None),
    "unpin": lambda lab, c: lab.action_unpin(),
    "tab": lambda lab, c: lab.show_tab(c.arg),
    "preview": lambda lab, c: lab.action_preview(),
    "note": lambda lab, c: lab.say(f"note: {c.arg}"),
}
