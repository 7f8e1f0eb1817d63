"""The tray under Xvfb: with a tray host (trayer) closing hides the window, quick add adds a
task, Quit ends every process; without one, closing the window quits."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.test_desktop_gui import app_cmd, gui_env, read_log, wait_for_instance
from tests.xvfb import have_xvfb, virtual_display

pytestmark = pytest.mark.gui
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture
def display() -> Iterator[str]:
    if not sys.platform.startswith("linux") or not have_xvfb():
        pytest.skip("needs Xvfb (scripts/setup.sh --test installs it)")
    with virtual_display() as d:
        yield d


@contextlib.contextmanager
def tray_host(display: str) -> Iterator[None]:
    exe = shutil.which("trayer")
    if exe is None:
        pytest.skip("needs a tray host: apt trayer")
    proc = subprocess.Popen(
        [exe, "--edge", "top", "--align", "right", "--widthtype", "request", "--height", "32"],
        env={"DISPLAY": display, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # trayer owns _NET_SYSTEM_TRAY_S0
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(5)


def run_window(display: str, data_dir: Path, script: str) -> tuple[int, list[int], str]:
    env = gui_env(display, data_dir, TASKCHAT_TEST_TRAY=script, TASKCHAT_REMINDERS="0")
    proc = subprocess.Popen(
        app_cmd(), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_for_instance(data_dir, proc)
        children = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        code = proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    out = proc.stdout.read() if proc.stdout else ""
    return code, children, out


def assert_all_gone(pids: list[int], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    alive: list[str] = []
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc = psutil.Process(pid)
                if proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(" ".join(proc.cmdline())[:120])
        if not alive:
            return
        time.sleep(0.2)
    raise AssertionError(f"still running: {alive}")


def test_tray_keeps_running_quick_adds_and_quits(display: str, data_dir: Path) -> None:
    shot = ARTIFACTS / "tray-quick-add.png"
    tray_shot = ARTIFACTS / "tray-icon.png"
    text = "water the plants every sunday at 6pm"
    steps = [
        "wait=2",
        "close",
        "wait=1",
        f"shot={tray_shot}",
        f"quicktype={text}",
        f"shot={shot}",
        f"quickadd={text}",
        "wait=1",
        "quit",
    ]
    script = ";".join(steps)
    with tray_host(display):
        code, children, out = run_window(display, data_dir, script)
    log = read_log(data_dir)
    assert code == 0, out[-3000:] + log[-3000:]
    assert "tray icon shown" in log
    assert "window hidden; TaskChat keeps running in the tray" in log
    assert "quick add created a task" in log
    assert "quit from the tray" in log
    assert '"told": true' in (data_dir / "tray.json").read_text()  # said so, once
    assert children, "the window started no server process"
    assert_all_gone(children)
    with contextlib.closing(sqlite3.connect(data_dir / "taskchat.db")) as db:
        rows = db.execute("SELECT title, recurrence, due_at FROM task").fetchall()
    assert [(r[0], r[1]) for r in rows] == [("water the plants", "FREQ=WEEKLY;BYDAY=SU")]
    assert rows[0][2] is not None
    assert shot.exists() and shot.stat().st_size > 0
    assert tray_shot.exists() and tray_shot.stat().st_size > 0


def test_without_a_tray_closing_quits(display: str, data_dir: Path) -> None:
    code, children, out = run_window(display, data_dir, "wait=2;close;wait=30")
    log = read_log(data_dir)
    assert code == 0, out[-3000:]
    assert "no system tray: closing the window quits TaskChat" in log
    assert "window hidden" not in log
    assert_all_gone(children)
