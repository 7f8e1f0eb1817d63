"""The tray under Xvfb: with a tray host closing hides the window, quick add adds a task, Quit
ends every process; without one, closing the window quits.

Tray hosts: trayer (an XEmbed tray: GTK's status icon, Qt's QSystemTrayIcon) and, for the
AppIndicator route, a StatusNotifierWatcher on a private session bus (a small GDBus
service in this file) with dunst for the "still running" notification.
"""

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

from tests.notify_stack import have_stack, notification_stack
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


def run_window(
    display: str, data_dir: Path, script: str, **extra: str
) -> tuple[int, list[int], str]:
    env = gui_env(display, data_dir, TASKCHAT_TEST_TRAY=script, TASKCHAT_REMINDERS="0", **extra)
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


@pytest.mark.parametrize("webview", ["gtk", "qt"])
def test_tray_keeps_running_quick_adds_and_quits(
    display: str, data_dir: Path, webview: str
) -> None:
    extra = {"TASKCHAT_WEBVIEW": webview}
    if webview == "qt":
        pytest.importorskip("PySide6.QtWebEngineWidgets", reason="the `qt` extra")
        extra["TASKCHAT_SERVER"] = "process"
    suffix = "" if webview == "gtk" else "-qt"
    shot = ARTIFACTS / f"tray-quick-add{suffix}.png"
    tray_shot = ARTIFACTS / f"tray-icon{suffix}.png"
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
        code, children, out = run_window(display, data_dir, script, **extra)
    log = read_log(data_dir)
    assert code == 0, out[-3000:] + log[-3000:]
    assert ("tray icon shown (XEmbed)" if webview == "gtk" else "tray icon shown") in log
    assert "window hidden; TaskChat keeps running in the tray" in log
    assert "quick add created a task" in log
    assert "quit from the tray" in log
    assert '"told": true' in (data_dir / "tray.json").read_text()  # said so, once
    assert children, "the window started no helper process"
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


WATCHER = """
import sys
import gi
gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib

XML = \"\"\"<node><interface name="org.kde.StatusNotifierWatcher">
<method name="RegisterStatusNotifierItem"><arg name="service" type="s" direction="in"/></method>
<method name="RegisterStatusNotifierHost"><arg name="service" type="s" direction="in"/></method>
<property name="RegisteredStatusNotifierItems" type="as" access="read"/>
<property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
<property name="ProtocolVersion" type="i" access="read"/>
<signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
<signal name="StatusNotifierHostRegistered"/>
</interface></node>\"\"\"
items = []


def call(conn, sender, path, iface, method, params, invocation):
    service = params.unpack()[0]
    if method == "RegisterStatusNotifierItem":
        items.append(service)
        print("REGISTERED", sender, service, flush=True)
        conn.emit_signal(
            None, path, iface, "StatusNotifierItemRegistered", GLib.Variant("(s)", (service,))
        )
    invocation.return_value(None)


def prop(conn, sender, path, iface, name):
    return {
        "RegisteredStatusNotifierItems": GLib.Variant("as", items),
        "IsStatusNotifierHostRegistered": GLib.Variant("b", True),
        "ProtocolVersion": GLib.Variant("i", 0),
    }[name]


def acquired(conn, name):
    node = Gio.DBusNodeInfo.new_for_xml(XML)
    conn.register_object("/StatusNotifierWatcher", node.interfaces[0], call, prop, None)


Gio.bus_own_name(
    Gio.BusType.SESSION, "org.kde.StatusNotifierWatcher", 0, acquired,
    lambda *a: print("READY", flush=True), None,
)
GLib.MainLoop().run()
"""


def item_property(env: dict[str, str], sender: str, path: str, name: str) -> str:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from gi.repository import Gio, GLib\n"
            "bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)\n"
            "r = bus.call_sync(sys.argv[1], sys.argv[2], 'org.freedesktop.DBus.Properties', "
            "'Get', GLib.Variant('(ss)', ('org.kde.StatusNotifierItem', sys.argv[3])), "
            "None, 0, 5000, None)\n"
            "print(r.unpack()[0])",
            sender,
            path,
            name,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.skipif(not have_stack(), reason="needs Xvfb, dbus-daemon and dunst (apt)")
def test_gtk_tray_is_an_app_indicator_where_a_status_notifier_host_runs(
    tmp_path: Path, data_dir: Path
) -> None:
    pytest.importorskip("gi")
    with notification_stack(tmp_path / "stack") as stack:
        watcher = subprocess.Popen(
            [sys.executable, "-c", WATCHER],
            env=stack.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert watcher.stdout is not None
            assert watcher.stdout.readline().strip() == "READY"
            proc = subprocess.Popen(
                app_cmd(),
                env=gui_env(
                    stack.env["DISPLAY"],
                    data_dir,
                    DBUS_SESSION_BUS_ADDRESS=stack.env["DBUS_SESSION_BUS_ADDRESS"],
                    TASKCHAT_REMINDERS="0",
                    TASKCHAT_TEST_TRAY="wait=2;close;wait=2;quit",
                    TASKCHAT_WEBVIEW="gtk",
                ),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            try:
                line = watcher.stdout.readline().split()
                assert line[:1] == ["REGISTERED"], line
                sender, path = line[1], line[2]
                if not path.startswith("/"):  # a bus name was registered, not a path
                    sender, path = path, "/StatusNotifierItem"
                assert item_property(stack.env, sender, path, "Title") == "TaskChat"
                assert item_property(stack.env, sender, path, "Status") == "Active"
                code = proc.wait(120)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
        finally:
            watcher.terminate()
            watcher.wait(10)
        calls = stack.notify_calls()
    log = read_log(data_dir)
    assert code == 0, (proc.stdout.read() if proc.stdout else "")[-3000:] + log[-3000:]
    assert "tray icon shown (StatusNotifierItem)" in log
    assert "window hidden; TaskChat keeps running in the tray" in log
    assert "quit from the tray" in log
    # The "still running" notice went to the desktop's notification service.
    assert any(len(c) > 3 and c[2] == "TaskChat is still running" for c in calls), calls
