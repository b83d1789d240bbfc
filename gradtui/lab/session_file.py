"""Session files: config, current state, snapshots, history and notes in one .npz, written atomically.

Format "gradtui-session/2": a `meta` JSON string (format, config, notes, semantics, `snapshots`: a
list of {name, config}, each snapshot's own experiment) and, per state key (`current`, `snap0`,
`snap1`...), arrays KEY/wI (weights), KEY/oI (optimizer state), KEY/nI (non-trainable variables:
moving statistics), KEY/step and KEY/h/COLUMN (history, with its `summary` column), and pinned
reference runs (`pins` in meta, arrays `pins/I/COLUMN`, see pins.py), and while attribution is on its
probes and sums (`influence` in meta: probes, outputs; arrays influence/values, /since, /counted), so a
resumed session continues them. Version 1 (snapshot names
only, every snapshot of the file's own experiment) still opens. The header is checked before NumPy
reads anything. `pack` copies what to write (on the thread that owns the session); `write`
compresses and writes it (on any thread), so a save need not hold the engine.
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

INFLUENCE_KEYS = ("influence/values", "influence/since", "influence/counted")
FORMAT = "gradtui-session/2"
FORMATS = ("gradtui-session/1", FORMAT)
SEMANTICS = 2  # 2: fit semantics (training-mode loss rules, every row trained, whole test set evaluated)
OLD_SEMANTICS_NOTE = (
    "This session was saved by an older gradtui: its recorded numbers came from the old semantics "
    "(every pass in inference mode, a fifth of an .npz without x_test held out, at most 1,000 test rows "
    "evaluated, drawdown = accuracy at step 0 minus now). New steps follow the current semantics."
)


def save(session: Session, path: str | Path) -> None:
    write(path, pack(session))


def pack(session: Session) -> dict[str, np.ndarray]:
    """Copies of everything a session file holds (the history is bounded, so this is quick)."""
    snapshots = session.timeline.snapshots
    meta: dict[str, Any] = {
        "format": FORMAT,
        "config": session.config.to_dict(),
        "snapshots": [
            {"name": name, "config": (state.config or session.config).to_dict()} for name, state in snapshots.items()
        ],
        "notes": session.notes,
        "semantics": SEMANTICS,
    }
    states = {
        "current": timeline.capture(session.live, True, session.divergence),
        **{f"snap{i}": s for i, s in enumerate(snapshots.values())},
    }
    arrays: dict[str, np.ndarray] = {}
    for key, state in states.items():
        arrays.update(_state_arrays(key, state))
    spec = session.attributing
    if spec is not None and session._why is not None:
        meta["influence"] = {"probes": list(spec.probes), "outputs": list(spec.outputs)}
        why = session._why
        arrays.update(
            dict(zip(INFLUENCE_KEYS, (why.cumulative.copy(), why.since.copy(), why.counted.copy()), strict=True))
        )
    if session.pins:
        meta["pins"] = pins.describe(session.pins)
        arrays.update(pins.to_arrays(session.pins))
    arrays["meta"] = np.asarray(json.dumps(meta))
    return arrays


def write(path: str | Path, arrays: dict[str, np.ndarray], compress: bool = True) -> None:
    buffer = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buffer, **arrays)  # type: ignore[arg-type]
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
    config = LabConfig.from_dict(meta["config"])
    try:
        listed = [
            (entry, config) if isinstance(entry, str) else (entry["name"], LabConfig.from_dict(entry["config"]))
            for entry in meta.get("snapshots", [])
        ]
    except (KeyError, TypeError, ValueError) as err:
        raise LabError(f"{path} is not a readable gradtui session file ({first_line(err)})") from None
    session = build(config)
    live = session.live
    try:
        snapshots = {name: _state(arrays, f"snap{i}", snap) for i, (name, snap) in enumerate(listed)}
        current = _state(arrays, "current", None)
        for state in (*snapshots.values(), current):
            if state.config is None or session.same_variables(state.config):
                timeline.check(live, state)  # another experiment's snapshot is checked when restored
        session.pins = pins.from_arrays(arrays, meta.get("pins"))
    except (KeyError, ValueError) as err:
        raise LabError(f"{path} does not fit the model it names ({first_line(err)})") from None
    session.timeline.snapshots.update(snapshots)
    session.restore_state(current)
    session.notes = list(meta.get("notes", session.notes))
    if meta.get("semantics") != SEMANTICS and OLD_SEMANTICS_NOTE not in session.notes:
        session.notes.append(OLD_SEMANTICS_NOTE)
    if "influence" in meta:
        _continue_influence(session, meta["influence"], arrays, path)
    return session


def _continue_influence(session: Session, saved: Any, arrays: dict[str, np.ndarray], path: str | Path) -> None:
    """Attribution back on for the saved probes, its sums continued; LabError if they do not fit."""
    try:
        probes = [int(p) for p in saved["probes"]]
        outputs = dict(zip(probes, (int(k) for k in saved["outputs"]), strict=True))
        session.attribution_on(probes, outputs)
        session.set_influence(*(np.asarray(arrays[key]) for key in INFLUENCE_KEYS))
    except (KeyError, TypeError, ValueError) as err:
        raise LabError(f"{path}: its saved influence does not fit the session ({first_line(err)})") from None


def _read(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Headers first (keys, sizes), then the meta JSON's types, then the arrays and their steps."""
    try:
        with open(path, "rb") as handle:
            if handle.read(4) != b"PK\x03\x04":  # np.load would call anything else "pickled data"
                raise ValueError("not an .npz archive: it is not a file gradtui saved")
        headers = session_check.check_headers(path, INFLUENCE_KEYS)
        meta_only = array_files.load_npz(path, {"meta": headers["meta"]})
        meta = json.loads(str(meta_only["meta"]))
        if not isinstance(meta, dict) or meta.get("format") not in FORMATS:
            raise ValueError("not a gradtui session file")
    except session_check.SessionFileError as err:
        raise LabError(str(err)) from None
    except Exception as err:
        raise LabError(f"{path} is not a readable gradtui session file ({first_line(err)})") from None
    try:
        session_check.check_meta(path, meta, ("influence",))
        session_check.check_snapshot_keys(path, headers, len(meta.get("snapshots", [])))
        arrays = array_files.load_npz(path, headers)
        for key in ("current", *(f"snap{i}" for i in range(len(meta.get("snapshots", []))))):
            history = {k.split("/h/", 1)[1]: v for k, v in arrays.items() if k.startswith(f"{key}/h/")}
            if f"{key}/step" in arrays:
                session_check.check_steps(path, key, arrays[f"{key}/step"], history)
    except session_check.SessionFileError as err:
        raise LabError(str(err)) from None
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
