"""Session files: config, current state, snapshots, history and notes in one .npz, written atomically.

Format "gradtui-session/1": a `meta` JSON string (format, config, snapshot names, notes, semantics)
and, per state key (`current`, `snap0`, `snap1`...), arrays KEY/wI (weights), KEY/oI (optimizer
state), KEY/nI (non-trainable variables: moving statistics), KEY/step and KEY/h/COLUMN (history),
and pinned reference runs (`pins` in meta, arrays `pins/I/COLUMN`, see pins.py). The header is
checked before NumPy reads anything.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gradtui.config import LabConfig
from gradtui.errors import first_line
from gradtui.files import atomic_write_bytes
from gradtui.lab import array_files, pins, session_check, timeline
from gradtui.lab.results import LabError
from gradtui.lab.timeline import State

if TYPE_CHECKING:
    from gradtui.lab.session import Session

FORMAT = "gradtui-session/1"
SEMANTICS = 2  # 2: fit semantics (training-mode loss rules, every row trained, whole test set evaluated)
OLD_SEMANTICS_NOTE = (
    "This session was saved by an older gradtui: its recorded numbers came from the old semantics "
    "(every pass in inference mode, a fifth of an .npz without x_test held out, at most 1,000 test rows "
    "evaluated, drawdown = accuracy at step 0 minus now). New steps follow the current semantics."
)


def save(session: Session, path: str | Path) -> None:
    meta: dict[str, Any] = {
        "format": FORMAT,
        "config": session.config.to_dict(),
        "snapshots": session.snapshot_names,
        "notes": session.notes,
        "semantics": SEMANTICS,
    }
    states = {
        "current": timeline.capture(session.live, True, session.divergence),
        **{f"snap{i}": s for i, s in enumerate(session.timeline.snapshots.values())},
    }
    arrays: dict[str, np.ndarray] = {}
    for key, state in states.items():
        arrays.update(_state_arrays(key, state))
    if session.pins:
        meta["pins"] = pins.describe(session.pins)
        arrays.update(pins.to_arrays(session.pins))
    arrays["meta"] = np.asarray(json.dumps(meta))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    atomic_write_bytes(Path(path), buffer.getvalue())


def _state_arrays(key: str, state: State) -> dict[str, np.ndarray]:
    arrays = {f"{key}/w{i}": w for i, w in enumerate(state.weights)}
    arrays.update({f"{key}/o{i}": o for i, o in enumerate(state.optimizer)})
    arrays.update({f"{key}/n{i}": n for i, n in enumerate(state.state or [])})
    arrays[f"{key}/step"] = np.asarray(state.step)
    arrays.update({f"{key}/h/{name}": col for name, col in (state.history or {}).items()})
    return arrays


def load(path: str | Path, build: Callable[[LabConfig], Session]) -> Session:
    """Rebuild a saved session: the model from its config, then weights, optimizer state, history."""
    arrays, meta = _read(path)
    session = build(LabConfig.from_dict(meta["config"]))
    live = session.live
    try:
        snapshots = {name: _state(arrays, f"snap{i}", live) for i, name in enumerate(meta.get("snapshots", []))}
        current = _state(arrays, "current", live)
        for state in (*snapshots.values(), current):
            timeline.check(live, state)
        session.pins = pins.from_arrays(arrays, meta.get("pins"))
    except (KeyError, ValueError) as err:
        raise LabError(f"{path} does not fit the model it names ({first_line(err)})") from None
    session.timeline.snapshots.update(snapshots)
    session.restore_state(current)
    session.notes = list(meta.get("notes", session.notes))
    if meta.get("semantics") != SEMANTICS and OLD_SEMANTICS_NOTE not in session.notes:
        session.notes.append(OLD_SEMANTICS_NOTE)
    return session


def _read(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Headers first (keys, sizes), then the meta JSON's types, then the arrays and their steps."""
    try:
        with open(path, "rb") as handle:
            if handle.read(4) != b"PK\x03\x04":  # np.load would call anything else "pickled data"
                raise ValueError("not an .npz archive: it is not a file gradtui saved")
        headers = session_check.check_headers(path)
        meta_only = array_files.load_npz(path, {"meta": headers["meta"]})
        meta = json.loads(str(meta_only["meta"]))
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError("not a gradtui session file")
    except session_check.SessionFileError as err:
        raise LabError(str(err)) from None
    except Exception as err:
        raise LabError(f"{path} is not a readable gradtui session file ({first_line(err)})") from None
    try:
        session_check.check_meta(path, meta)
        session_check.check_snapshot_keys(path, headers, len(meta.get("snapshots", [])))
        arrays = array_files.load_npz(path, headers)
        for key in ("current", *(f"snap{i}" for i in range(len(meta.get("snapshots", []))))):
            history = {k.split("/h/", 1)[1]: v for k, v in arrays.items() if k.startswith(f"{key}/h/")}
            if f"{key}/step" in arrays:
                session_check.check_steps(path, key, arrays[f"{key}/step"], history)
    except session_check.SessionFileError as err:
        raise LabError(str(err)) from None
    return arrays, meta


def _state(arrays: dict[str, np.ndarray], key: str, live: timeline.Live) -> State:
    weights = [arrays[f"{key}/w{i}"] for i in range(len(live.weights))]
    optimizer = [arrays[f"{key}/o{i}"] for i in range(len(live.optimizer))]
    history = {k.split("/h/", 1)[1]: v for k, v in arrays.items() if k.startswith(f"{key}/h/")}
    if "drawdown" in history and "acc_change" not in history:  # the old sign: accuracy at step 0 minus now
        history["acc_change"] = -history.pop("drawdown")
    # moving statistics: a file saved before they were kept leaves the model's own
    state = [arrays[f"{key}/n{i}"] for i in range(len(live.state))] if f"{key}/n0" in arrays else None
    return State(weights, optimizer, int(arrays[f"{key}/step"]), len(history["step"]), history, state=state)
