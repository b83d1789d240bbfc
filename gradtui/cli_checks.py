"""The command line's checks that need more than the parser: flags given to the wrong command, output
paths that cannot be written, input files that are missing or not what they claim to be.

Each refuses with a UsageError (or ConfigError) of one line before any work, and before TensorFlow.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from gradtui import trust
from gradtui.cli_args import experiment_flags
from gradtui.config import LabConfig
from gradtui.errors import ArrayFileError, ConfigError, UsageError


def parse_alphas(text: str) -> tuple[float, ...]:
    """--preview's comma-separated step multiples: finite numbers, 1 to 32 of them."""
    try:
        alphas = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise UsageError(f"--preview: give step multiples separated by commas, such as 0,1,2,4; got {text!r}") from None
    if not 1 <= len(alphas) <= 32 or not all(math.isfinite(a) and abs(a) <= 1e6 for a in alphas):
        raise UsageError(f"--preview: 1 to 32 finite multiples of the step (|alpha| <= 1e6), got {text!r}")
    return alphas


def check_command_flags(args: argparse.Namespace, config: LabConfig) -> None:
    """Flags that belong to another command, or to a model file, refused with the reason."""
    command = args.command
    for flag, value in (("--demo", args.demo), ("--session", args.session)):
        if value is not None and command is not None:
            raise UsageError(f"{flag}: does not apply to gradtui {command}: it opens the lab (gradtui {flag} FILE)")
    trusted = bool(getattr(args, "trust_model", False))
    if args.share is not None and command is not None:
        raise UsageError(f"--share: does not apply to gradtui {command}: it shares the lab (gradtui --share PORT)")
    if command in ("bench", "devices", "follow", "sessions"):
        typed = [flag for flag, name in experiment_flags() if getattr(args, name, None) not in (None, False)]
        if typed:
            raise UsageError(f"{typed[0]}: does not apply to gradtui {command}: it takes no experiment settings")
        return
    if trusted and not config.is_user_model:
        raise UsageError(
            f"{trust.FLAG}: does not apply: it trusts the model file named by --model PATH "
            f"(the model is {config.model})"
        )


def check_out(path: str, suffixes: tuple[str, ...], flag: str) -> None:
    """Refuse an output path that has the wrong suffix or cannot be written, before any work is done."""
    from gradtui.files import check_writable

    if not path.strip():
        raise UsageError(f"{flag}: expected a file name")
    try:
        target = Path(path).expanduser()
        if suffixes and target.suffix.lower() not in suffixes:
            listed = " or ".join([", ".join(suffixes[:-1]), suffixes[-1]] if len(suffixes) > 1 else suffixes)
            raise UsageError(f"{flag}: {path} must end in {listed}")
        check_writable(target)
    except (OSError, RuntimeError, ValueError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise UsageError(f"{flag}: cannot write {path}: {reason}") from err


def check_dir(path: str, flag: str) -> None:
    """A directory gradtui will create (if missing) and write into."""
    if not path.strip():
        raise UsageError(f"{flag}: expected a directory name")
    from gradtui.files import check_writable

    try:
        target = Path(path).expanduser()
        if target.exists() and not target.is_dir():
            raise UsageError(f"{flag}: {path} exists and is not a directory")
        check_writable(target / "events", create_parents=True)
    except (OSError, RuntimeError, ValueError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise UsageError(f"{flag}: cannot write to {path}: {reason}") from err


def check_in(path: str, flag: str) -> None:
    """An input file that must exist and be readable."""
    target = Path(path).expanduser()
    try:
        problem = (
            None
            if target.is_file() and os.access(target, os.R_OK)
            else "is a directory, not a file"
            if target.is_dir()
            else "does not exist"
            if not target.exists()
            else "is not a readable file"
        )
    except (OSError, ValueError) as err:
        problem = f"is not a usable path ({err})"
    if problem:
        raise UsageError(f"{flag}: {path} {problem}")


def check_session(path: str) -> None:
    """--session (the lab's, or run's): an existing file must be a gradtui session (.npz); a new one must be
    writable on save."""
    target = Path(path).expanduser()
    if not target.exists():
        check_out(path, (), "--session")
        return
    check_in(path, "--session")
    with target.open("rb") as handle:
        head = handle.read(4)
    if head[:2] != b"PK":
        raise UsageError(f"--session: {path} is not a gradtui session file (expected the .npz the lab saves)")


def check_session_opens(path: str) -> None:
    """The lab's --session FILE, when it exists, reads as a session (headers and settings, no TensorFlow):
    a damaged one is bad input, refused in one line, as `gradtui run --session` refuses it."""
    if not Path(path).expanduser().is_file():
        return
    from gradtui.lab import session_file, session_peek

    try:
        session_peek.check_opens(Path(path).expanduser())
    except session_file.UnreadableSession as err:
        raise UsageError(f"--session: {err}") from err


def continues(args: argparse.Namespace) -> bool:
    """`gradtui run --session FILE` on a FILE that exists: its own data and probe, not the flags'."""
    return args.run_session is not None and Path(args.run_session).expanduser().exists()


def precheck_files(config: LabConfig, read: bool) -> None:
    """What a --data or --probe file's content can be refused for without a model, before TensorFlow is
    imported: its headers (keys, dtypes, rows, memory, compression ratio) and, with `read` (headless,
    where no first frame waits), its values (NaN, infinities), read once for the build."""
    from gradtui.lab import array_files, data_files

    if config.data is not None:
        data_files.precheck(config.data, read=read)
    if config.probe not in ("random", "heldout"):
        try:
            array_files.npy_header(config.probe)
        except ArrayFileError as err:
            raise ConfigError("probe", str(err)) from err


def tensorboard_installed() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("tensorboard") is not None
    except (ImportError, ValueError):
        return False
