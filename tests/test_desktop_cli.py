"""`taskchat` without a display: a clear message and the `serve` behaviour."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from app.cli import main
from app.desktop.server_process import is_window_launch


def headless_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(name, None)
    env["TASKCHAT_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_no_display_falls_back_to_serve(data_dir: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "app"],
        env=headless_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.fullmatch(r"TaskChat running at (http://127\.0\.0\.1:\d+)/\?launch=\S+\n", line)
        assert match, line
        with urllib.request.urlopen(match.group(1) + "/api/health", timeout=5) as r:
            assert r.status == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    stderr = proc.stderr.read() if proc.stderr else ""
    assert "can't open its window: no display found" in stderr
    assert "open the link below in a web browser" in stderr


def test_self_test_without_display_fails_with_one_line(data_dir: Path) -> None:
    t0 = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "app", "--self-test"],
        env=headless_env(data_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "SELF-TEST FAILED: no display found (neither DISPLAY nor WAYLAND_DISPLAY is set)"
    ]
    assert time.monotonic() - t0 < 30


def test_offscreen_qt_counts_as_no_display(data_dir: Path) -> None:
    env = headless_env(data_dir)
    env.update(DISPLAY=":99", QT_QPA_PLATFORM="offscreen", TASKCHAT_WEBVIEW="qt")
    result = subprocess.run(
        [sys.executable, "-m", "app", "--self-test"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout.startswith("SELF-TEST FAILED: Qt is set to run without a screen")


def test_screenshot_needs_self_test(capsys) -> None:
    try:
        main(["--screenshot", "x.png"])
    except SystemExit as exc:
        assert exc.code == 2
    else:  # pragma: no cover
        raise AssertionError("argparse should have refused --screenshot alone")
    assert "--screenshot only works together with --self-test" in capsys.readouterr().err


def stdin_controlled_serve(data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--stdin-control"],
        env=headless_env(data_dir),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def test_serve_stdin_control_waits_for_go_and_stops_when_stdin_closes(data_dir: Path) -> None:
    """How the window runs its server: `go` lets it open the data folder; closing the pipe
    is a graceful stop with status 0."""
    proc = stdin_controlled_serve(data_dir)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        time.sleep(1.0)
        assert not (data_dir / "taskchat.db").exists()  # nothing opened before `go`
        proc.stdin.write("go\n")
        proc.stdin.flush()
        match = re.search(r"(http://127\.0\.0\.1:\d+)/", proc.stdout.readline())
        assert match
        with urllib.request.urlopen(match.group(1) + "/api/health", timeout=5) as r:
            assert r.status == 200
        proc.stdin.close()
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    log = (data_dir / "logs" / "taskchat.log").read_text(encoding="utf-8")
    assert "standard input closed: stopping the server" in log
    # The GC, paused for the start-up (app/boot.py), ran again once it was serving.
    assert "garbage collector resumed" in log
    with contextlib.closing(sqlite3.connect(data_dir / "taskchat.db")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # The lifespan closed the database (WAL checkpointed) before the fast exit.
    wal = data_dir / "taskchat.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0


def test_serve_stdin_control_closed_before_go_touches_nothing(data_dir: Path) -> None:
    """A second launch's server is stopped unused: it never opens the database."""
    proc = stdin_controlled_serve(data_dir)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        assert proc.wait(30) == 0
        assert proc.stdout.read() == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert not (data_dir / "taskchat.db").exists()
    assert not (data_dir / "logs").exists()


@pytest.mark.parametrize(
    ("argv", "window"),
    [
        ([], True),
        (["--self-test"], True),
        (["--self-test", "--screenshot", "shot.png"], True),
        (["--screenshot=shot.png", "--self-test"], True),
        (["--screenshot", "shot.png"], False),  # argparse refuses it: no server is started
        (["serve"], False),
        (["--version"], False),
        (["--help"], False),
        (["key", "status"], False),
        (["--self-tset"], False),
    ],
)
def test_only_window_launches_start_the_server_early(argv: list[str], window: bool) -> None:
    assert is_window_launch(argv) is window
