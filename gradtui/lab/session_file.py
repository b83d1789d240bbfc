"""Session files: config, current state, snapshots, history and notes in one .npz, written atomically.

Format "gradtui-session/2": a `meta` JSON string (format, config, notes, semantics, `preset`: the
preset it runs as, so a resumed lab tells its story again; `snapshots`: a list of {name, config}, each
snapshot's own experiment) and, per state key (`current`, `snap0`,
`snap1`...), arrays KEY/wI (weights), KEY/oI (optimizer state), KEY/nI (non-trainable variables:
moving statistics), KEY/step and KEY/h/COLUMN (history, with its `summary` column), and pinned
reference runs (`pins` in meta, arrays `pins/I/COLUMN`, see pins.py), and while attribution is on its
probes and sums (`influence` in meta: probes, outputs; arrays influence/values, /since, /counted), so a
resumed session continues them. Version 1 (snapshot names
only, every snapshot of the file's own experiment) still opens. The header is checked before NumPy
reads anything. The module sees a SessionRecord (record.py), never the Session: `pack` turns a
record (taken on the thread that owns the session) into arrays, `write` compresses and writes them
(on any thread, so a save need not hold the engine), and `read` turns a file back into a record.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from gradtui.config import LabConfig
from gradtui.errors import LabError, SessionFileError, first_line
from gradtui.files import ZIP_MAGIC, atomic_write_bytes
from gradtui.lab import array_files, pins, progress, session_check
from gradtui.lab.record import InfluenceRecord, Recorded, SessionRecord
from gradtui.lab.timeline import State
from gradtui.presets import PRESET_BY_NAME, preset_name

INFLUENCE_KEYS = session_check.INFLUENCE_KEYS
FORMAT = "gradtui-session/2"
FORMATS = ("gradtui-session/1", FORMAT)
# 2: fit semantics (training-mode loss rules, every row trained, whole test set evaluated); 3: Keras's
# definitions (validation_split's rows, binary_accuracy for several sigmoids, the inference-mode forecast)
SEMANTICS = 3
KERAS_DEFINITIONS_NOTE = (
    "This session was saved before gradtui defined its numbers as Keras does: its --holdout rows stay the "
    "seeded random ones it was saved with (--holdout-rows random), but accuracy for several sigmoid outputs "
    "was then a row's top output being a positive label, and a one-probe training-mode forecast the "
    "training-mode gradient times the update. New steps follow Keras's definitions."
)
OLD_SEMANTICS_NOTE = (
    "This session was saved by an older gradtui: its recorded numbers came from the old semantics "
    "(every pass in inference mode, a fifth of an .npz without x_test held out, at most 1,000 test rows "
    "evaluated, drawdown = accuracy at step 0 minus now). New steps follow the current semantics."
)


def save(record: SessionRecord, path: str | Path) -> None:
    write(path, pack(record))


def pack(source: SessionRecord | Recorded) -> dict[str, np.ndarray]:
    """The arrays of a session file for a record (or for a session, which gives its record)."""
    record = source if isinstance(source, SessionRecord) else source.to_record()
    meta: dict[str, Any] = {
        "format": FORMAT,
        "config": record.config.to_dict(),
        "snapshots": [
            {"name": name, "config": (state.config or record.config).to_dict()}
            for name, state in record.snapshots.items()
        ],
        "notes": record.notes,
        "semantics": SEMANTICS,
        "preset": record.preset,
    }
    states = {"current": record.current, **{f"snap{i}": s for i, s in enumerate(record.snapshots.values())}}
    arrays: dict[str, np.ndarray] = {}
    for key, state in states.items():
        arrays.update(_state_arrays(key, state))
    if record.influence is not None:
        saved = record.influence
        meta["influence"] = {"probes": list(saved.probes), "outputs": list(saved.outputs)}
        arrays.update(dict(zip(INFLUENCE_KEYS, (saved.values, saved.since, saved.counted), strict=True)))
    if record.pins:
        meta["pins"] = pins.describe(record.pins)
        arrays.update(pins.to_arrays(record.pins))
    arrays["meta"] = np.asarray(json.dumps(meta))
    return arrays


def write(path: str | Path, arrays: dict[str, np.ndarray], compress: bool = True) -> None:
    atomic_write_bytes(Path(path), to_bytes(arrays, compress))


def to_bytes(arrays: dict[str, np.ndarray], compress: bool = True) -> bytes:
    """The file's bytes (what saving.save_bytes writes under the file's lock, and hashes)."""
    buffer = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


class UnreadableSession(LabError):
    """The file is not a session gradtui can read (damaged, cut off, or made to look like one): bad
    input (exit 2), unlike a failure to build the experiment it names (exit 1)."""


def _state_arrays(key: str, state: State) -> dict[str, np.ndarray]:
    arrays = {f"{key}/w{i}": w for i, w in enumerate(state.weights)}
    arrays.update({f"{key}/o{i}": o for i, o in enumerate(state.optimizer)})
    arrays.update({f"{key}/n{i}": n for i, n in enumerate(state.state or [])})
    arrays[f"{key}/step"] = np.asarray(state.step)
    arrays.update({f"{key}/h/{name}": col for name, col in (state.history or {}).items()})
    return arrays


def read(path: str | Path) -> SessionRecord:
    """A saved session as a record: its settings, states, notes and pins, checked before use.

    Whether the states fit the model the config names is Session.from_record's to check (it needs
    the model). A version-1 snapshot (a name only) was taken under the file's own config.
    """
    progress.phase("reading the file")
    arrays, meta = _read(path)
    older = meta.get("semantics") != SEMANTICS
    config = LabConfig.from_dict(_upgraded(meta["config"], older))
    try:
        listed = [
            (entry, config)
            if isinstance(entry, str)
            else (entry["name"], LabConfig.from_dict(_upgraded(entry["config"], older)))
            for entry in meta.get("snapshots", [])
        ]
    except (KeyError, TypeError, ValueError) as err:
        raise UnreadableSession(f"{path} is not a readable gradtui session file ({first_line(err)})") from err
    try:
        snapshots = {name: _state(arrays, f"snap{i}", snap) for i, (name, snap) in enumerate(listed)}
        current = _state(arrays, "current", None)
        pinned = pins.from_arrays(arrays, meta.get("pins"))
    except (KeyError, ValueError) as err:
        raise UnreadableSession(f"{path} does not fit the model it names ({first_line(err)})") from err
    notes = list(meta["notes"]) if "notes" in meta else None
    about_file = ((OLD_SEMANTICS_NOTE,) if meta.get("semantics", 0) < 2 else ()) + (
        (KERAS_DEFINITIONS_NOTE,) if older else ()
    )
    influence = _influence(meta, arrays, path)
    preset = recorded_preset(meta, config)
    return SessionRecord(config, current, snapshots, notes, pinned, about_file, preset, influence)


def read_checked(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Every array and the meta of a session file, all checked, without building its model (no
    TensorFlow): UnreadableSession with one line if any of it is damaged (`--resume` skips those)."""
    return _read(path)


def recorded_preset(meta: dict[str, Any], config: LabConfig) -> str:
    """The preset a file says it ran as (a name this gradtui knows), else the one its config runs exactly
    (files saved before the name was kept), else ""."""
    name = meta.get("preset")
    if isinstance(name, str) and name in PRESET_BY_NAME:
        return name
    return preset_name(config) if name is None else ""


def _upgraded(config: Any, older: bool) -> Any:
    """A config saved before --holdout-rows existed held out seeded random rows: it keeps them."""
    if older and isinstance(config, dict) and "holdout_rows" not in config:
        return {**config, "holdout_rows": "random"}
    return config


def _influence(meta: dict[str, Any], arrays: dict[str, np.ndarray], path: str | Path) -> InfluenceRecord | None:
    """The attribution a file saved (its probes, tracked outputs and sums), for a resume to continue."""
    if "influence" not in meta:
        return None
    saved = meta["influence"]
    try:
        probes = tuple(int(p) for p in saved["probes"])
        outputs = tuple(int(k) for k in saved["outputs"])
        values, since, counted = (np.asarray(arrays[key]) for key in INFLUENCE_KEYS)
    except (KeyError, TypeError, ValueError) as err:
        raise UnreadableSession(f"{path}: its saved influence is not readable ({first_line(err)})") from err
    return InfluenceRecord(probes, outputs, values, since, counted)


def _read(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Headers first (keys, sizes), then the meta JSON's types, then the arrays and their steps."""
    try:
        with open(path, "rb") as handle:
            if handle.read(4) != ZIP_MAGIC[0]:  # np.load would call anything else "pickled data"
                raise ValueError("not an .npz archive: it is not a file gradtui saved")
        headers = session_check.check_headers(path)
        meta_only = array_files.load_npz(path, {"meta": headers["meta"]})
        meta = json.loads(str(meta_only["meta"]))
        if not isinstance(meta, dict) or meta.get("format") not in FORMATS:
            raise ValueError("not a gradtui session file")
    except SessionFileError as err:
        raise UnreadableSession(str(err)) from err
    except Exception as err:
        raise UnreadableSession(f"{path} is not a readable gradtui session file ({first_line(err)})") from err
    try:
        session_check.check_meta(path, meta)
        session_check.check_snapshot_keys(path, headers, len(meta.get("snapshots", [])))
        arrays = array_files.load_npz(path, headers)
        for key in ("current", *(f"snap{i}" for i in range(len(meta.get("snapshots", []))))):
            history = {k.split("/h/", 1)[1]: v for k, v in arrays.items() if k.startswith(f"{key}/h/")}
            if f"{key}/step" in arrays:
                session_check.check_steps(path, key, arrays[f"{key}/step"], history)
    except SessionFileError as err:
        raise UnreadableSession(str(err)) from err
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError) as err:  # a bad CRC, a cut-off member
        raise UnreadableSession(f"{path} is damaged: {first_line(err)}") from err
    return arrays, meta


def _state(arrays: dict[str, np.ndarray], key: str, config: LabConfig | None) -> State:
    """One saved state, its arrays counted from the file (another experiment's model has other shapes)."""
    weights = _numbered(arrays, f"{key}/w")
    optimizer = _numbered(arrays, f"{key}/o")
    history = {k.split("/h/", 1)[1]: v for k, v in arrays.items() if k.startswith(f"{key}/h/")}
    if "drawdown" in history and "acc_change" not in history:  # the old sign: accuracy at step 0 minus now
        history["acc_change"] = -history.pop("drawdown")
    # moving statistics: a file saved before they were kept leaves the model's own
    state = _numbered(arrays, f"{key}/n") or None
    return State(
        weights, optimizer, int(arrays[f"{key}/step"]), len(history["step"]), history, state=state, config=config
    )


def _numbered(arrays: dict[str, np.ndarray], prefix: str) -> list[np.ndarray]:
    found: list[np.ndarray] = []
    while f"{prefix}{len(found)}" in arrays:
        found.append(arrays[f"{prefix}{len(found)}"])
    return found
