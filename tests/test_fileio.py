"""app/fileio.py: the one private atomic write."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from app.fileio import write_private_json, write_private_text


def test_writes_a_file_only_its_owner_can_read(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    write_private_json(path, {"a": 1}, indent=2)
    assert json.loads(path.read_text(encoding="utf-8")) == {"a": 1}
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_replaces_a_wider_file_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o644)
    stale = tmp_path / f".state.json.{os.getpid()}.tmp"
    stale.write_text("left by a crash", encoding="utf-8")
    stale.chmod(0o644)
    write_private_text(path, "new")
    assert path.read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "usage.json"
    write_private_json(path, {"n": 1})
    with pytest.raises(TypeError):
        write_private_json(path, {"n": object()})  # not JSON: fails before anything is written
    with pytest.raises(OSError):
        write_private_text(tmp_path / "missing" / "x.json", "{}")  # no such folder
    (tmp_path / "a-folder").mkdir()
    with pytest.raises(OSError):
        write_private_text(tmp_path / "a-folder", "{}")  # written, but cannot replace a folder
    assert json.loads(path.read_text(encoding="utf-8")) == {"n": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-folder", "usage.json"]
