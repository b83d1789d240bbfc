"""Demo scripts: a tiny line-oriented format that drives a talk one key per beat.

Format (one command per line; `#` starts a comment; blank lines are ignored):

    preset NAME|KEY          switch to a preset (example1 … random, or its key 1-6); shows its story
    step [N]                 N steps (default 1), one undo entry
    run [N]                  N steps in the background (default: the form's steps/run)
    play                     run until the next `pause` (or the `p` key)
    pause                    stop a run or play
    undo | reset             as the keys
    snapshot [NAME]          remember the weights
    restore NAME             go back to a snapshot
    set NAME=VALUE [...]     change settings, validated like the form and the CLI (e.g. set lr=0.5)
    pin [NAME]               pin the run so far as a reference on every plot (named NAME, else its preset)
    unpin                    clear the pinned runs
    tab NAME                 bring up a tab (Gradients, Update/weight, Held-out, Forecast, Why, Preview, Log)
    preview                  preview the next update along w + α·Δw in the Preview tab (changes nothing)
    note TEXT                show TEXT on screen (and in the log)

Each command is one beat, except that `note`, `set`, `pin`, `unpin` and `tab` lines join the beat of
the command after them, so a note appears together with what it explains, a setting changes just
before its run, and a run pinned for comparison is on screen when the next one starts.
The whole file is checked before the app starts; every problem is reported as `FILE:LINE: message`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gradtui.config import FIELD_BY_NAME, ConfigError, parse_field
from gradtui.presets import PRESET_BY_KEY, PRESET_BY_NAME
from gradtui.tui.widgets.plot_table import find_tab, tab_names

VERBS = (
    "preset",
    "step",
    "run",
    "play",
    "pause",
    "undo",
    "reset",
    "snapshot",
    "restore",
    "set",
    "pin",
    "unpin",
    "tab",
    "note",
    "preview",
)
NO_ARGS = ("play", "pause", "undo", "reset", "unpin", "preview")
JOINING = ("note", "set", "pin", "unpin", "tab")  # these join the beat of the command after them


class DemoError(ValueError):
    """A script problem, one `FILE:LINE: message` per line."""


@dataclass(frozen=True)
class DemoCommand:
    verb: str
    arg: str  # raw argument text (preset name, count, note text, …)
    line: int
    settings: tuple[tuple[str, str], ...] = ()  # for `set`: (name, text) pairs

    @property
    def count(self) -> int | None:
        return int(self.arg) if self.arg else None


@dataclass
class Beat:
    commands: list[DemoCommand] = field(default_factory=list)

    def describe(self) -> str:
        return "; ".join(f"{c.verb} {c.arg}".strip() for c in self.commands if c.verb != "note")


def _check(verb: str, arg: str) -> tuple[tuple[str, str], ...]:
    """Validate one command; ValueError with the reason."""
    if verb not in VERBS:
        raise ValueError(f"unknown command {verb!r} (choose from {', '.join(VERBS)})")
    if verb in NO_ARGS and arg:
        raise ValueError(f"{verb} takes no argument, got {arg!r}")
    if verb == "preset":
        if arg not in PRESET_BY_NAME and arg not in PRESET_BY_KEY:
            raise ValueError(f"unknown preset {arg!r} (choose from {', '.join(PRESET_BY_NAME)})")
    elif verb in ("step", "run") and arg:
        try:
            n = int(arg)
        except ValueError:
            raise ValueError(f"{verb} expects a whole number of steps, got {arg!r}") from None
        if not 1 <= n <= 10_000_000:
            raise ValueError(f"{verb} expects 1 to 10000000 steps, got {n}")
    elif verb == "restore" and not arg:
        raise ValueError("restore needs a snapshot name")
    elif verb == "note" and not arg:
        raise ValueError("note needs some text")
    elif verb == "tab" and find_tab(arg) is None:
        raise ValueError(f"unknown tab {arg!r} (choose from {', '.join(tab_names())})")
    elif verb == "set":
        if not arg:
            raise ValueError("set needs NAME=VALUE, e.g. set lr=0.5")
        pairs = []
        for item in arg.split():
            name, eq, value = item.partition("=")
            name = name.strip().replace("-", "_")
            if not eq:
                raise ValueError(f"set expects NAME=VALUE, got {item!r}")
            if name not in FIELD_BY_NAME:
                raise ValueError(f"unknown setting {name!r} (choose from {', '.join(FIELD_BY_NAME)})")
            try:
                parse_field(name, value)
            except ConfigError as err:
                raise ValueError(f"set {name}: {err.message}") from None
            pairs.append((name, value))
        return tuple(pairs)
    return ()


def parse_script(text: str, source: str = "<demo>") -> list[Beat]:
    """All beats of a script, or DemoError listing every bad line."""
    beats: list[Beat] = []
    pending: list[DemoCommand] = []
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        verb, _, arg = line.partition(" ")
        verb, arg = verb.lower(), arg.strip()
        try:
            settings = _check(verb, arg)
        except ValueError as err:
            problems.append(f"{source}:{number}: {err}")
            continue
        command = DemoCommand(verb, arg, number, settings)
        pending.append(command)
        if verb not in JOINING:
            beats.append(Beat(pending))
            pending = []
    if pending:
        beats.append(Beat(pending))
    if problems:
        raise DemoError("\n".join(problems))
    if not beats:
        raise DemoError(f"{source}: the script has no commands")
    return beats


def load_script(path: str) -> list[Beat]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise DemoError(f"{path}: cannot read the demo script ({err.strerror or err})") from None
    except UnicodeDecodeError:
        raise DemoError(f"{path}: not a UTF-8 text file") from None
    return parse_script(text, path)
