"""`taskchat doctor`: each check against the real thing (keyring, fake Gemini, PostgreSQL)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import Settings, get_settings
from app.desktop import doctor
from tests.fakes.chatkit import TEST_KEY
from tests.fakes.gemini import FakeGemini
from tests.pg import free_port
from tests.test_desktop_gui import gui_env, xvfb_display  # noqa: F401 (fixture)


def levels(findings: list[doctor.Finding]) -> dict[str, str]:
    return {f.topic: f.level for f in findings}


def closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}/v1beta/openai/"


def test_gemini_reachable_and_key_accepted(gemini: FakeGemini) -> None:
    findings = doctor.check_gemini(get_settings())
    assert levels(findings) == {"Gemini": "ok", "Gemini key": "ok"}
    text = " ".join(f.text for f in findings)
    assert "GEMINI_API_KEY variable" in text
    assert TEST_KEY not in text and TEST_KEY[-4:] not in text
    # It really asked Gemini's model list, with the key.
    assert gemini.model_lists[-1].headers["authorization"] == f"Bearer {TEST_KEY}"


def test_gemini_rejects_the_key(gemini: FakeGemini) -> None:
    gemini.rejected_keys.add(TEST_KEY)
    findings = doctor.check_gemini(get_settings())
    assert levels(findings) == {"Gemini": "ok", "Gemini key": "problem"}
    assert "rejected" in findings[1].text


def test_gemini_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_BASE_URL", closed_url())
    monkeypatch.setenv("GEMINI_API_KEY", TEST_KEY)
    findings = doctor.check_gemini(get_settings())
    assert levels(findings) == {"Gemini": "problem", "Gemini key": "note"}
    assert "cannot reach" in findings[0].text


def test_no_key_still_checks_that_gemini_answers(gemini: FakeGemini, monkeypatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")
    findings = doctor.check_gemini(get_settings())
    assert levels(findings) == {"Gemini key": "problem", "Gemini": "ok"}
    assert "taskchat key set" in findings[0].fix


def test_keyring_absent_without_a_key_is_a_problem() -> None:
    # conftest pins keyring's real `fail` backend (what a machine without a Secret Service has)
    findings = doctor.check_keyring(get_settings())
    assert levels(findings) == {"Keyring": "problem"}
    assert "GEMINI_API_KEY" in findings[0].fix


def test_keyring_absent_with_the_key_in_the_environment_is_a_note(monkeypatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", TEST_KEY)
    assert levels(doctor.check_keyring(get_settings())) == {"Keyring": "note"}


@pytest.mark.keyring
def test_keyring_present(monkeypatch: pytest.MonkeyPatch) -> None:
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        pytest.skip("no D-Bus session (run inside dbus-run-session with gnome-keyring)")
    monkeypatch.setenv("TASKCHAT_KEYRING_BACKEND", "secretservice")
    findings = doctor.check_keyring(get_settings())
    assert levels(findings) == {"Keyring": "ok"}, findings


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_data_folder_permissions(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir)
    assert levels(doctor.check_data_folder(settings)) == {"Data folder": "ok"}  # not yet there
    settings.ensure_data_dir()
    (data_dir / "config.json").write_text("{}")
    (data_dir / "config.json").chmod(0o600)
    assert [f.level for f in doctor.check_data_folder(settings)] == ["ok"]
    data_dir.chmod(0o755)
    (data_dir / "config.json").chmod(0o644)
    findings = doctor.check_data_folder(settings)
    assert [f.level for f in findings] == ["ok", "problem", "problem"]
    assert "chmod 700" in findings[1].fix and "config.json" in findings[2].text


def test_sync_off_and_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert levels(doctor.check_sync(get_settings())) == {"Sync": "ok"}
    monkeypatch.setenv("TASKCHAT_SYNC_URL", f"postgresql://me:secret-pw@127.0.0.1:{free_port()}/x")
    get_settings.cache_clear()
    findings = doctor.check_sync(get_settings())
    assert levels(findings) == {"Sync": "problem"}
    assert "secret-pw" not in findings[0].text


@pytest.mark.postgres
def test_sync_connects(pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKCHAT_SYNC_URL", pg_database)
    get_settings.cache_clear()
    findings = doctor.check_sync(get_settings())
    assert levels(findings) == {"Sync": "ok"}
    assert findings[0].text.startswith("connected to")


def test_run_prints_every_check_and_fails_on_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GEMINI_BASE_URL", closed_url())
    out = io.StringIO()
    assert doctor.run(get_settings(), out) == 1
    text = out.getvalue()
    for topic in ("Display", "Keyring", "Data folder", "Gemini", "Sync"):
        assert f" {topic}: " in text or f"{topic}:" in text
    assert "problem(s) found" in text


@pytest.mark.gui
def test_doctor_command_all_good_under_xvfb(
    xvfb_display: str,  # noqa: F811
    gemini: FakeGemini,
    data_dir: Path,
) -> None:
    """The whole command in its own process, on a machine that has everything: exit 0.
    The key comes from the environment (keyring absent = a note, not a problem)."""
    env = gui_env(xvfb_display, data_dir, GEMINI_BASE_URL=gemini.base_url, GEMINI_API_KEY=TEST_KEY)
    result = subprocess.run(
        [sys.executable, "-m", "app", "doctor"], env=env, capture_output=True, text=True, timeout=90
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK      Display: the display" in result.stdout
    assert "OK      Web view: the system WebKitGTK through PyGObject 2." in result.stdout
    assert "(pywebview's gtk backend)" in result.stdout
    assert "Everything TaskChat needs is here." in result.stdout
    assert TEST_KEY not in result.stdout + result.stderr


def test_doctor_command_on_a_dead_display_exits_non_zero(data_dir: Path) -> None:
    env = gui_env(":931", data_dir, GEMINI_BASE_URL=closed_url())
    result = subprocess.run(
        [sys.executable, "-m", "app", "doctor"], env=env, capture_output=True, text=True, timeout=90
    )
    assert result.returncode == 1
    assert "PROBLEM Display: no display answers at DISPLAY=:931." in result.stdout


@pytest.mark.gui
def test_doctor_names_the_qt_backend_when_chosen(
    xvfb_display: str,  # noqa: F811
    gemini: FakeGemini,
    data_dir: Path,
) -> None:
    pytest.importorskip("PySide6.QtWebEngineWidgets", reason="the `qt` extra")
    env = gui_env(
        xvfb_display,
        data_dir,
        GEMINI_BASE_URL=gemini.base_url,
        GEMINI_API_KEY=TEST_KEY,
        TASKCHAT_WEBVIEW="qt",
    )
    result = subprocess.run(
        [sys.executable, "-m", "app", "doctor"], env=env, capture_output=True, text=True, timeout=90
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Web view: Qt WebEngine through PySide6 (pywebview's qt backend)." in result.stdout


def test_doctor_names_a_missing_web_view_library(data_dir: Path, tmp_path: Path) -> None:
    """WebKitGTK's library hidden (an empty file first on LD_LIBRARY_PATH): a problem with
    the package to install, and a non-zero exit."""
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "libwebkit2gtk-4.1.so.0").write_bytes(b"")
    env = gui_env(":931", data_dir, GEMINI_BASE_URL=closed_url(), LD_LIBRARY_PATH=str(hidden))
    result = subprocess.run(
        [sys.executable, "-m", "app", "doctor"], env=env, capture_output=True, text=True, timeout=90
    )
    assert result.returncode == 1
    assert (
        "PROBLEM Web view: a system library the window needs is missing or broken: "
        "libwebkit2gtk-4.1.so.0" in result.stdout
    ), result.stdout
    assert "sudo apt install libwebkit2gtk-4.1-0" in result.stdout
