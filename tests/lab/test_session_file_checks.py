"""Crafted session files: each is a real session the lab saved, then edited as an attacker or a
broken tool would, and each is refused with one line naming the file, never a traceback or an
allocation the size of its claims."""

from __future__ import annotations

import json
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradtui.lab.results import LabError


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from gradtui.config import LabConfig
    from gradtui.lab.session import Session

    session = Session.build(LabConfig.parse({"steps": "3"}))
    session.step(3)
    session.snapshot("before")
    session.step(2)
    path = tmp_path_factory.mktemp("sessions") / "good.npz"
    session.save(path)
    return path


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def _edited(saved: Path, tmp_path: Path, edit: Callable[[dict[str, np.ndarray], dict[str, Any]], None]) -> Path:
    arrays = _arrays(saved)
    meta = json.loads(str(arrays["meta"]))
    edit(arrays, meta)
    arrays["meta"] = np.asarray(json.dumps(meta))
    path = tmp_path / "crafted.npz"
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]
    return path


def _refused(path: Path, reason: str) -> str:
    from gradtui.lab.session import Session

    with pytest.raises(LabError) as caught:
        Session.load(path)
    text = str(caught.value)
    assert "\n" not in text and reason in text, text
    assert "crafted.npz" in text or path.name in text
    return text


def test_the_unedited_session_loads(saved: Path) -> None:
    from gradtui.lab.session import Session

    session = Session.load(saved)
    assert session.step_count == 5 and session.snapshot_names == ["before"]


def test_notes_that_are_a_dict_are_refused(saved: Path, tmp_path: Path) -> None:
    path = _edited(saved, tmp_path, lambda a, m: m.update(notes={"a": 1}))
    _refused(path, "notes is dict; expected a list of text")


def test_a_snapshot_name_that_is_not_text_is_refused(saved: Path, tmp_path: Path) -> None:
    path = _edited(saved, tmp_path, lambda a, m: m.update(snapshots=[7]))
    _refused(path, "snapshots is a list holding something other than text")


def test_a_negative_step_is_refused(saved: Path, tmp_path: Path) -> None:
    path = _edited(saved, tmp_path, lambda a, m: a.update({"current/step": np.asarray(-5)}))
    _refused(path, "current/step is -5; a step is a whole number from 0")


def test_history_steps_going_backwards_are_refused(saved: Path, tmp_path: Path) -> None:
    def edit(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        arrays["current/h/step"] = arrays["current/h/step"][::-1].copy()

    _refused(_edited(saved, tmp_path, edit), "current/h/step is not increasing from 0")


def test_unknown_meta_key_is_refused(saved: Path, tmp_path: Path) -> None:
    path = _edited(saved, tmp_path, lambda a, m: m.update(trust_model=True))
    _refused(path, "unknown meta key 'trust_model'")


def test_a_trust_setting_in_the_config_is_refused(saved: Path, tmp_path: Path) -> None:
    """A session names its model by path; it cannot carry trust for it."""
    from gradtui.errors import ConfigError
    from gradtui.lab.session import Session

    path = _edited(saved, tmp_path, lambda a, m: m["config"].update(trust_model="yes"))
    with pytest.raises(ConfigError, match="unknown setting"):
        Session.load(path)


def test_an_extra_array_of_zeros_is_refused_before_it_is_read(saved: Path, tmp_path: Path) -> None:
    # 1.6 GB of zeros compresses to about 1.5 MB: the 1.2 MB session that reached 1.9 GB resident
    path = _edited(saved, tmp_path, lambda a, m: a.update(extra=np.zeros((20_000, 10_000))))
    assert path.stat().st_size < 3_000_000
    start = time.monotonic()
    _refused(path, "'extra' is not an array of a gradtui session")
    assert time.monotonic() - start < 5


def test_arrays_for_a_snapshot_meta_does_not_name_are_refused(saved: Path, tmp_path: Path) -> None:
    def edit(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        arrays["snap9/w0"] = arrays["snap0/w0"]

    _refused(_edited(saved, tmp_path, edit), "'snap9/w0' belongs to no snapshot")


def test_a_header_claiming_terabytes_is_refused(saved: Path, tmp_path: Path) -> None:
    import io

    from numpy.lib import format as npy_format

    path = tmp_path / "crafted.npz"
    with zipfile.ZipFile(saved) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            if item.filename == "current/h/loss.npy":
                head = io.BytesIO()
                npy_format.write_array_header_1_0(head, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)})
                dst.writestr(item.filename, head.getvalue() + bytes(64))
            else:
                dst.writestr(item, src.read(item.filename))
    _refused(path, "'current/h/loss': its header claims")


def test_meta_that_is_not_text_is_refused(saved: Path, tmp_path: Path) -> None:
    arrays = _arrays(saved)
    arrays["meta"] = np.zeros(3)
    path = tmp_path / "crafted.npz"
    np.savez(path, **arrays)  # type: ignore[arg-type]
    _refused(path, "'meta' is not one JSON string")
