"""Saved files are written to a temporary file and renamed: an interrupted write leaves the old file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gradtui.files import atomic_write_bytes, check_writable


def test_a_write_interrupted_before_the_rename_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "history.json"
    target.write_text("old and whole")

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt  # the user pressed ctrl+c, or the machine went down, mid-save

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(target, b"new " * 100_000)
    assert target.read_text() == "old and whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.json"]  # no temporary file left behind


def test_a_finished_write_replaces_the_file_with_normal_permissions(tmp_path: Path) -> None:
    target = tmp_path / "session.npz"
    atomic_write_bytes(target, b"x" * 1000)
    atomic_write_bytes(target, b"y" * 10)
    assert target.read_bytes() == b"y" * 10
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.npz"]


def test_check_writable_refuses_a_missing_or_impossible_directory(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        check_writable(tmp_path / "no" / "such" / "out.json")
    check_writable(tmp_path / "new" / "out.json", create_parents=True)  # fine: it would be created in tmp_path
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError):
        check_writable(tmp_path / "file" / "out.json", create_parents=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
