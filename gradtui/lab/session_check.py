"""What a session file may hold, judged before it is trusted: its array keys and sizes from the
headers (before any array is read), then the types of its `meta` JSON, then its step counters.

A session file comes from anywhere (a colleague, a download): a dict where the notes should be, a
snapshot name that is not text, a step of -5 or an extra array of zeros that would fill the
machine are refused with one line naming the file. Every format version calls these checks; a
version adds its own meta keys and array keys through the `extra_*` arguments.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gradtui.errors import ArrayFileError, SessionFileError, one_line
from gradtui.lab import array_files, pins
from gradtui.lab.history import COLUMNS, SUMMARY

META_KEYS = ("format", "config", "snapshots", "notes", "pins", "semantics", "preset", "influence")
INFLUENCE_KEYS = ("influence/values", "influence/since", "influence/counted")  # attribution's saved sums
LEGACY_COLUMNS = ("drawdown",)  # files saved before acc_change: read as -acc_change
MAX_META_CHARS = 16 << 20  # the meta JSON: config, names, notes
_STATE = re.compile(r"(current|snap(0|[1-9][0-9]*))/(w\d+|o\d+|n\d+|step|h/(.+))")


def _where(path: str | Path) -> str:
    return one_line(str(path))


def check_headers(path: str | Path, extra_keys: Collection[str] = ()) -> dict[str, array_files.Header]:
    """The archive's headers: only the keys a session holds, within half the memory available."""
    try:
        headers = array_files.npz_headers(path, text_keys=("meta",))
    except ArrayFileError as err:
        raise SessionFileError(str(err)) from err
    if "meta" not in headers:
        raise SessionFileError(f"{_where(path)} is not a gradtui session file (no meta)")
    meta = headers["meta"]
    if meta.shape != () or meta.dtype.kind != "U" or meta.dtype.itemsize // 4 > MAX_META_CHARS:
        raise SessionFileError(f"{_where(path)}: 'meta' is not one JSON string of at most {MAX_META_CHARS} characters")

    def known(key: str) -> bool:
        if key == "meta" or key in extra_keys or key in INFLUENCE_KEYS or pins.is_pin_key(key):
            return True
        match = _STATE.fullmatch(key)
        return match is not None and (match.group(4) is None or match.group(4) in (*COLUMNS, SUMMARY, *LEGACY_COLUMNS))

    try:
        array_files.check_headers(path, headers, known, "a gradtui session", array_files.memory_limit())
    except ArrayFileError as err:
        raise SessionFileError(str(err)) from err
    for key, header in headers.items():
        match = _STATE.fullmatch(key)
        if match is not None and match.group(3) == "step" and header.shape != ():
            raise SessionFileError(f"{_where(path)}: {key!r} is not one step number (shape {header.shape})")
    return headers


def check_meta(path: str | Path, meta: Any, extra_keys: Collection[str] = ()) -> None:
    """The meta JSON's types: a mapping with a config mapping, snapshot names and notes as text."""
    where = _where(path)
    if not isinstance(meta, Mapping):
        raise SessionFileError(f"{where}: meta is {type(meta).__name__}, not a mapping")
    unknown = sorted(str(k) for k in meta if k not in META_KEYS and k not in extra_keys)
    if unknown:
        raise SessionFileError(f"{where}: unknown meta key {one_line(unknown[0])!r}")
    if not isinstance(meta.get("config"), Mapping):
        raise SessionFileError(f"{where}: config is {type(meta.get('config')).__name__}, not a mapping")
    notes = meta.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(v, str) for v in notes):
        kind = type(notes).__name__ if not isinstance(notes, list) else "a list holding something other than text"
        raise SessionFileError(f"{where}: notes is {kind}; expected a list of text")
    if not isinstance(meta.get("preset", ""), str):
        raise SessionFileError(f"{where}: preset is {type(meta.get('preset')).__name__}, not a name")
    if not isinstance(meta.get("semantics", 0), int) or isinstance(meta.get("semantics", 0), bool):
        raise SessionFileError(f"{where}: semantics is {type(meta.get('semantics')).__name__}, not a whole number")
    snapshots = meta.get("snapshots", [])
    names = [_snapshot_name(where, entry) for entry in snapshots] if isinstance(snapshots, list) else None
    if names is None:
        raise SessionFileError(f"{where}: snapshots is {type(snapshots).__name__}; expected a list")
    if len(set(names)) != len(names):
        raise SessionFileError(f"{where}: a snapshot name appears twice")


def _snapshot_name(where: str, entry: Any) -> str:
    """A snapshot's name: text (version 1), or {name: text, config: mapping} (version 2)."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, Mapping) and isinstance(entry.get("name"), str) and isinstance(entry.get("config"), Mapping):
        return entry["name"]
    raise SessionFileError(f"{where}: snapshots is a list holding something other than text (or a name and its config)")


def check_snapshot_keys(path: str | Path, headers: Mapping[str, Any], snapshots: int) -> None:
    """Every snapN array belongs to one of the snapshots meta names."""
    for key in headers:
        match = _STATE.fullmatch(key)
        if match and match.group(1).startswith("snap") and int(match.group(2)) >= snapshots:
            raise SessionFileError(f"{_where(path)}: {one_line(key)!r} belongs to no snapshot (meta names {snapshots})")


def check_steps(path: str | Path, key: str, step: np.ndarray, history: Mapping[str, np.ndarray]) -> None:
    """A state's step is a whole number >= 0; its history's steps are >= 0, increasing, none after it."""
    where = _where(path)
    if step.dtype.kind not in "iu" or int(step) < 0:
        raise SessionFileError(f"{where}: {key}/step is {step.item()!r}; a step is a whole number from 0")
    steps = history.get("step")
    if steps is None:
        return
    if steps.ndim != 1 or steps.dtype.kind not in "iu":
        raise SessionFileError(f"{where}: {key}/h/step is not a list of whole step numbers")
    kinds = history.get("summary")  # summarised rows: a bucket's min and max rows share its first step
    if kinds is not None and (kinds.shape != steps.shape or kinds.dtype.kind not in "iu"):
        raise SessionFileError(f"{where}: {key}/h/summary is not one code per history row")
    samples = steps if kinds is None else steps[np.isin(kinds, (0, 3))]
    if len(steps) and (int(steps.min()) < 0 or np.any(np.diff(steps) < 0) or np.any(np.diff(samples) <= 0)):
        raise SessionFileError(f"{where}: {key}/h/step is not increasing from 0")
    if len(steps) and int(steps[-1]) > int(step):
        raise SessionFileError(f"{where}: {key} history reaches step {int(steps[-1])}, after its step {int(step)}")
