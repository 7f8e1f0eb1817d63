"""The real desktop window under a virtual X display (Xvfb): WebKitGTK with the server on a
thread (the Linux default), and the other designs where a test names them
(TASKCHAT_WEBVIEW=qt, TASKCHAT_SERVER=process).

Every test starts a fresh `python -m app` process, as a person would start `taskchat`.
The Xvfb server is started by the `xvfb_display` fixture (session-wide); the tests skip
when Xvfb is not installed (scripts/setup.sh --test installs it).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from app.desktop import single_instance as si
from tests.xvfb import have_xvfb, virtual_display

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parent.parent
FAKE_KEY = "fake-gui-test-key-not-real"


@pytest.fixture(scope="session")
def xvfb_display() -> Iterator[str]:
    """A private Xvfb display (`:N`), chosen by Xvfb itself (-displayfd)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("Xvfb is only used on Linux")
    if not have_xvfb():
        pytest.skip("Xvfb is not installed (scripts/setup.sh --test installs it)")
    with virtual_display() as display:
        yield display


def gui_env(display: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("WAYLAND_DISPLAY", None)
    env.pop("QT_QPA_PLATFORM", None)
    env.update(
        DISPLAY=display,
        TASKCHAT_DATA_DIR=str(data_dir),
        GEMINI_API_KEY=FAKE_KEY,  # no first-run settings dialog over the UI
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    return struct.unpack(">II", data[16:24])


def app_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "app", *args]


def wait_for_instance(
    data_dir: Path, proc: subprocess.Popen, timeout: float = 60
) -> si.InstanceInfo:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = si.read_info(data_dir)
        if info is not None:
            return info
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"the window process exited ({proc.returncode}): {out}")
        time.sleep(0.1)
    raise AssertionError("the window never published its instance file")


def read_log(data_dir: Path) -> str:
    path = data_dir / "logs" / "window.log"  # the window process; its server writes taskchat.log
    return path.read_text(encoding="utf-8") if path.exists() else ""


def test_self_test_from_source_prints_one_line_and_saves_a_screenshot(
    xvfb_display: str, data_dir: Path, tmp_path: Path
) -> None:
    shot = tmp_path / "window.png"
    result = subprocess.run(
        app_cmd("--self-test", "--screenshot", str(shot)),
        env=gui_env(xvfb_display, data_dir),
        capture_output=True,
        text=True,
        timeout=180,
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout + result.stderr[-3000:]
    assert lines[0].startswith("SELF-TEST OK "), lines[0] + result.stderr[-3000:]
    assert result.returncode == 0
    assert "chat=builtin" in lines[0] or "chat=chatkit" in lines[0]
    width, height = png_size(shot)
    assert width >= 420 and height >= 560
    # The shutdown is reported and was within the 3 s budget.
    shutdown = float(lines[0].split("shutdown=")[1].split("s")[0])
    assert shutdown < 3.0
    # The window's geometry was saved in the data folder; the lock was released.
    saved = json.loads((data_dir / "window.json").read_text())
    assert saved["width"] >= 420 and saved["height"] >= 560
    assert si.read_info(data_dir) is None
    log = read_log(data_dir)
    assert "self-test/launch timing ui=" in log
    # The UI painted (its conversation list answered) without the chat machinery.
    assert "chat machinery imported" not in log


def test_window_second_launch_focuses_and_sigterm_closes_cleanly(
    xvfb_display: str, data_dir: Path
) -> None:
    env = gui_env(xvfb_display, data_dir)
    first = subprocess.Popen(
        app_cmd(), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        info = wait_for_instance(data_dir, first)
        assert info.pid == first.pid
        with urllib.request.urlopen(f"http://127.0.0.1:{info.port}/api/health", timeout=5) as r:
            assert r.status == 200

        # A second launch must not start another server on the same database.
        second = subprocess.run(app_cmd(), env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "already running" in second.stdout
        assert "TaskChat running at" not in second.stdout
        assert first.poll() is None
        deadline = time.monotonic() + 10
        while "another launch asked this window" not in read_log(data_dir):
            assert time.monotonic() < deadline, "the running window never got the focus request"
            time.sleep(0.1)

        t0 = time.monotonic()
        first.send_signal(signal.SIGTERM)
        code = first.wait(15)
        elapsed = time.monotonic() - t0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
    output = first.stdout.read() if first.stdout else ""
    assert code == 0, output[-3000:]
    assert elapsed < 6, f"closing took {elapsed:.1f} s"
    log = read_log(data_dir)
    assert "closing the window" in log
    stopped = [line for line in log.splitlines() if "server stopped in" in line]
    assert stopped, log[-2000:]
    assert float(stopped[-1].split("server stopped in ")[1].split(" ")[0]) < 3.0
    # Lock and instance file released; the database is closed and intact.
    assert si.read_info(data_dir) is None
    with contextlib.closing(sqlite3.connect(data_dir / "taskchat.db")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert (
        not (data_dir / "taskchat.db-wal").exists()
        or (data_dir / "taskchat.db-wal").stat().st_size == 0
    )


@pytest.mark.parametrize("where", ["thread", "main"])
def test_unhandled_error_is_logged_and_shown(xvfb_display: str, data_dir: Path, where: str) -> None:
    env = gui_env(xvfb_display, data_dir, TASKCHAT_TEST_CRASH=where, TASKCHAT_DIALOG_TIMEOUT="1")
    proc = subprocess.Popen(
        app_cmd(), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 90
        while "error dialog closed" not in read_log(data_dir):
            assert proc.poll() is None or where == "main", "exited before showing the error"
            if proc.poll() is not None:
                break
            assert time.monotonic() < deadline, read_log(data_dir)[-3000:]
            time.sleep(0.2)
        if where == "thread":  # the window survives an error in a background thread
            assert proc.poll() is None
            proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    stderr = proc.stderr.read() if proc.stderr else ""
    log = read_log(data_dir)
    assert f"test crash in {'a background thread' if where == 'thread' else 'the main'}" in log
    assert "Traceback" in log and "unhandled error" in log
    assert "error dialog shown" in log and "error dialog closed" in log
    assert "TaskChat: unexpected error" in stderr
    assert code == (0 if where == "thread" else 1)
    assert si.read_info(data_dir) is None


def server_child(window_pid: int) -> psutil.Process:
    """The window's server with TASKCHAT_SERVER=process: its child `taskchat serve
    --stdin-control`."""
    children = [
        child
        for child in psutil.Process(window_pid).children()
        if "--stdin-control" in child.cmdline()
    ]
    assert len(children) == 1, [c.cmdline() for c in psutil.Process(window_pid).children()]
    return children[0]


def listening_ports(proc: psutil.Process) -> set[int]:
    return {c.laddr.port for c in proc.net_connections() if c.status == "LISTEN"}


@pytest.mark.parametrize("server", ["thread", "process"])
def test_killed_window_leaves_no_process_and_an_intact_database(
    xvfb_display: str, data_dir: Path, server: str
) -> None:
    window = subprocess.Popen(
        app_cmd(),
        env=gui_env(xvfb_display, data_dir, TASKCHAT_SERVER=server),
        stdout=subprocess.DEVNULL,
    )
    try:
        info = wait_for_instance(data_dir, window)
        helpers = psutil.Process(window.pid).children(recursive=True)
        if server == "process":
            child = server_child(window.pid)
            assert info.port in listening_ports(child)  # the window's process serves nothing
            assert info.port not in listening_ports(psutil.Process(window.pid))
        else:
            assert info.port in listening_ports(psutil.Process(window.pid))
            assert not any("--stdin-control" in c.cmdline() for c in helpers)
        assert helpers, "no web view helper processes"
        window.kill()  # no cleanup code runs in the window
        window.wait(10)
        _gone, alive = psutil.wait_procs(helpers, timeout=15)
        assert not alive, [p.cmdline() for p in alive]
    finally:
        if window.poll() is None:
            window.kill()
            window.wait(10)
    with contextlib.closing(sqlite3.connect(data_dir / "taskchat.db")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    if server == "process":  # the OS closed the child's stdin: it stopped by itself
        assert "standard input closed: stopping the server" in (
            data_dir / "logs" / "taskchat.log"
        ).read_text(encoding="utf-8")


@pytest.mark.parametrize("server", ["thread", "process"])
def test_window_closes_with_a_message_when_its_server_dies(
    xvfb_display: str, data_dir: Path, server: str
) -> None:
    env = gui_env(xvfb_display, data_dir, TASKCHAT_DIALOG_TIMEOUT="1", TASKCHAT_SERVER=server)
    if server == "thread":  # the server thread ends by itself 3 s after it answered
        env["TASKCHAT_TEST_CRASH"] = "server"
    window = subprocess.Popen(app_cmd(), env=env, stdout=subprocess.DEVNULL)
    try:
        wait_for_instance(data_dir, window)
        if server == "process":
            server_child(window.pid).kill()
        code = window.wait(30)
    finally:
        if window.poll() is None:
            window.kill()
            window.wait(10)
    log = read_log(data_dir)
    reason = "exit status -9" if server == "process" else "test crash of the server"
    assert f"the server stopped unexpectedly: {reason}" in log
    assert "error dialog shown" in log and "error dialog closed" in log
    assert code == 1
    assert si.read_info(data_dir) is None


@pytest.mark.parametrize("webview", ["gtk", "qt"])
def test_self_test_names_its_backend_and_screenshots_with_each(
    xvfb_display: str, data_dir: Path, tmp_path: Path, webview: str
) -> None:
    """Both web views stay usable: WebKitGTK (default) and Qt WebEngine (TASKCHAT_WEBVIEW=qt,
    server child), each with its own screenshot path."""
    if webview == "qt":
        pytest.importorskip("PySide6.QtWebEngineWidgets", reason="the `qt` extra")
    shot = tmp_path / "window.png"
    extra = {"TASKCHAT_WEBVIEW": webview}
    if webview == "qt":
        extra["TASKCHAT_SERVER"] = "process"
    result = subprocess.run(
        app_cmd("--self-test", "--screenshot", str(shot)),
        env=gui_env(xvfb_display, data_dir, **extra),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.stdout.startswith("SELF-TEST OK "), result.stdout + result.stderr[-3000:]
    assert result.stdout.rstrip().endswith(f"backend={webview}")
    width, height = png_size(shot)
    assert width >= 420 and height >= 560


@pytest.mark.parametrize("jit", ["off", "kept"])
def test_webkit_s_web_process_runs_without_the_jit_unless_asked(
    xvfb_display: str, data_dir: Path, jit: str
) -> None:
    """The switches `backend.prepare_environment` sets reach WebKit's web process (read
    from its /proc environment while the window shows the UI); TASKCHAT_WEBKIT_JIT=1
    keeps the JIT."""
    extra = {"TASKCHAT_SELF_TEST_HOLD": "30"}
    if jit == "kept":
        extra["TASKCHAT_WEBKIT_JIT"] = "1"
    env = gui_env(xvfb_display, data_dir, **extra)
    for name in ("JSC_useJIT", "WEBKIT_DISABLE_COMPOSITING_MODE"):
        env.pop(name, None)
    proc = subprocess.Popen(
        app_cmd("--self-test"), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while "self-test: holding the window open" not in read_log(data_dir):
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "the UI never painted"
            time.sleep(0.1)
        web = [
            p
            for p in psutil.Process(proc.pid).children(recursive=True)
            if p.name().startswith("WebKitWebProces")
        ]
        assert web, "no WebKit web process"
        for p in web:
            seen = p.environ()
            assert seen.get("WEBKIT_DISABLE_COMPOSITING_MODE") == "1"
            assert seen.get("JSC_useJIT") == ("0" if jit == "off" else None)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
