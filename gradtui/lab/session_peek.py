"""A session file looked at without building its model (NumPy, no TensorFlow): its step count from one
tiny member, or the whole file checked and summed up for `gradtui sessions` and `--resume`.

`step_of` reads only `current/step.npy` (a few hundred bytes, whatever the file's size): what a
save that finds the file changed on disk tells the person ("step 120 then, step 170 now").
`peek` reads every array with its CRC (session_file.read_checked), so a cut-off or corrupted
autosave is found before the lab opens it, not after.
"""

from __future__ import annotations

import json
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from numpy.lib import format as npy_format

from gradtui.config import ConfigError, LabConfig
from gradtui.errors import SessionFileError, first_line
from gradtui.lab import array_files, session_check, session_file
from gradtui.presets import matching

STEP_MEMBER = "current/step.npy"
_MAX_STEP_MEMBER = 4096  # a scalar's .npy is ~130 bytes; anything larger is not a step count


def step_of(path: str | Path) -> int | None:
    """The session's step count from its `current/step` member alone; None if it cannot be read."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(STEP_MEMBER)
            if info.file_size > _MAX_STEP_MEMBER:
                return None
            with archive.open(info) as handle:
                version = npy_format.read_magic(handle)
                if version == (1, 0):
                    shape, _, dtype = npy_format.read_array_header_1_0(handle)
                elif version == (2, 0):
                    shape, _, dtype = npy_format.read_array_header_2_0(handle)
                else:
                    return None
                if shape != () or dtype.kind not in "iu":
                    return None
                raw = handle.read(dtype.itemsize)
        return int.from_bytes(raw, "little" if dtype.byteorder in "<=|" else "big", signed=dtype.kind == "i")
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None


def check_opens(path: str | Path) -> None:
    """UnreadableSession when the file is cut off, not an archive or not a session (its headers and settings
    read, nothing else): `gradtui --session FILE` says so before the lab starts, instead of a fresh lab at
    step 0 with the reason in a toast."""
    try:
        headers = session_check.check_headers(path)
        session_check.check_meta(path, json.loads(str(array_files.load_npz(path, {"meta": headers["meta"]})["meta"])))
    except SessionFileError as err:
        raise session_file.UnreadableSession(first_line(err)) from err
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise session_file.UnreadableSession(
            f"{path} is not a readable gradtui session file ({first_line(err)})"
        ) from err


def saved_config(path: str | Path) -> LabConfig:
    """The experiment a session file holds, from its meta alone (headers checked first, no other array
    read): what `gradtui run --session` compares the typed flags with before importing TensorFlow."""
    try:
        headers = session_check.check_headers(path)
        meta = json.loads(str(array_files.load_npz(path, {"meta": headers["meta"]})["meta"]))
        session_check.check_meta(path, meta)
        return LabConfig.from_dict(meta["config"])
    except (SessionFileError, ConfigError) as err:
        raise session_file.UnreadableSession(first_line(err)) from err
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise session_file.UnreadableSession(
            f"{path} is not a readable gradtui session file ({first_line(err)})"
        ) from err


@dataclass(frozen=True)
class SessionInfo:
    """One line of `gradtui sessions`: when, what, how far, and whether it can be opened."""

    path: Path
    mtime: float
    readable: bool
    problem: str = ""  # the one line saying why not, when not readable
    what: str = ""  # the preset the experiment is, else its model
    step: int | None = None
    snapshots: int = 0

    def row(self, number: int | None, running: bool = False) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.mtime))
        label = f"{number:>3}" if number is not None else "  -"
        state = "readable" if self.readable else f"DAMAGED: {self.problem}"
        step = f"step {self.step}" if self.step is not None else "step ?"
        snaps = f"{self.snapshots} snapshot{'s' if self.snapshots != 1 else ''}" if self.readable else "? snapshots"
        alive = "  (its lab is running)" if running else ""
        return f"{label}  {when}  {self.what or '?':<22} {step:<12} {snaps:<12} {state}  {self.path.name}{alive}"


def describe_experiment(config: LabConfig) -> str:
    """`preset example2` when the settings are exactly one of the article's experiments (autos settled as
    a built-in model runs them), else `model mlp`."""
    try:
        preset = matching(config)
    except ConfigError:
        preset = None
    if preset is not None:
        return f"preset {preset.name}"
    return f"model {config.model if not config.is_user_model else Path(config.model).name}"


def peek(path: str | Path) -> SessionInfo:
    """Everything `gradtui sessions` shows, from a full check of the file (every CRC, every header)."""
    target = Path(path)
    try:
        mtime = target.stat().st_mtime
    except OSError as err:
        return SessionInfo(target, 0.0, False, first_line(err))
    try:
        arrays, meta = session_file.read_checked(target)
        config = LabConfig.from_dict(meta["config"])
    except (session_file.UnreadableSession, ConfigError, KeyError) as err:
        return SessionInfo(target, mtime, False, _without_path(first_line(err), target), step=step_of(target))
    step = arrays.get("current/step")
    return SessionInfo(
        target,
        mtime,
        True,
        what=describe_experiment(config),
        step=int(step) if step is not None else None,
        snapshots=len(meta.get("snapshots", [])),
    )


def _without_path(line: str, path: Path) -> str:
    """The reason alone: the listing names the file already."""
    for prefix in (f"{path}: ", f"{path} "):
        if line.startswith(prefix):
            return line[len(prefix) :]
    return line
