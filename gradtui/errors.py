"""Every error gradtui reports to a person, and the one printable line each is shown as.

The bottom of the layers: nothing else of gradtui is imported here, so any module (the config,
the lab, the UI, the CLI) can raise and show these without reaching upwards. Modules that raised
these before keep re-exporting them (`gradtui.config.ConfigError`, `gradtui.lab.results.LabError`).
"""

from __future__ import annotations

from pathlib import Path

TRUST_FLAG = "--trust-model"


def one_line(text: str) -> str:
    """`text` with every character that is not printable (newlines, tabs, line separators) escaped."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(text))


def flag_of(name: str) -> str:
    """The command-line flag of a LabConfig field: `batch_size` -> `--batch-size`."""
    return "--" + one_line(str(name)).replace("_", "-")


def show(text: object, limit: int = 60) -> str:
    """A user's value quoted for an error line: repr (so control characters show), cut to `limit`."""
    value = str(text)
    return repr(value) if len(value) <= limit else repr(value[: limit - 3]) + "..."


def first_line(err: BaseException | str, limit: int = 300) -> str:
    """The line of an error that says what went wrong, printable and at most `limit` characters.

    TensorFlow's graph errors open with 'in user code:' and a stack and end with the actual error:
    that last line is the one to show. An exception with no text shows its type's name.
    """
    raw = err if isinstance(err, str) else str(err)
    lines = [line.strip() for line in raw.strip().splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].rstrip(":") == "in user code":
        lines = lines[-1:]
    empty = "" if isinstance(err, str) else type(err).__name__
    text = one_line(lines[0]) if lines else empty
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ConfigError(ValueError):
    """A refused value: `field` is the LabConfig attribute, `message` the reason, for one line.

    Whatever the value held (newlines, control characters), the text is one printable line.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = str(field)
        self.message = one_line(str(message))
        super().__init__(f"{flag_of(self.field)}: {self.message}")


class UntrustedModel(ConfigError):
    """A model file that could run code and was not trusted: one line naming the path and the flag.

    The lab catches this one to ask the person at the keyboard; everywhere else it is a refused
    --model like any other (see trust.py).
    """

    def __init__(self, path: str | Path, why: str) -> None:
        self.path = str(path)
        self.why = why
        super().__init__(
            "model",
            f"{self.path} {why}; it is not loaded unless you trust it: add {TRUST_FLAG} (on the command line, "
            "next to --model)",
        )


class LabError(Exception):
    """A failure the user can act on (model will not load, out of memory, shape mismatch): one line."""


class ArrayFileError(ValueError):
    """An .npz/.npy file refused from its headers: one line naming the file, the key and the size."""


class SessionFileError(ValueError):
    """A session file refused: one line naming the file and what is wrong."""


class UsageError(Exception):
    """A bad flag or file on the command line: printed as one line, exit 2."""
