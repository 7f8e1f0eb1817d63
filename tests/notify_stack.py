"""A real notification stack for tests: Xvfb, a private session D-Bus, dunst, dbus-monitor.

Actions are pressed the way a person would through dunst's own context menu: `dunstctl
context` hands dunst's menu to a tiny dmenu stand-in that picks the entry named in a file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.xvfb import virtual_display

# A session bus without service activation: dunst runs only when a test starts it.
BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir={tmp}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""
PICK = """#!/bin/sh
tee -a {menu} | grep -m1 -F "$(cat {choice})"
"""


def have_stack() -> bool:
    return all(shutil.which(b) for b in ("Xvfb", "dbus-daemon", "dbus-monitor", "dunst"))


@dataclass
class Stack:
    env: dict[str, str]
    folder: Path
    monitor_log: Path

    def notify_calls(self) -> list[list[str]]:
        """The string arguments of every Notify call seen on the bus so far."""
        calls: list[list[str]] = []
        current: list[str] | None = None
        open_string: list[str] | None = None  # a string argument spanning several lines
        for line in self.monitor_log.read_text(errors="replace").splitlines():
            if open_string is not None:
                open_string.append(line)
                if line.endswith('"'):
                    assert current is not None
                    current.append("\n".join(open_string)[:-1])
                    open_string = None
                continue
            if line.startswith(("method call", "signal", "method return", "error")):
                current = [] if "member=Notify" in line else None
                if current is not None:
                    calls.append(current)
            elif current is not None and line.strip().startswith('string "'):
                text = line.strip()[len('string "') :]
                if text.endswith('"'):
                    current.append(text[:-1])
                else:
                    open_string = [text]
        return calls

    def notify_times(self) -> list[tuple[float, str]]:
        """(bus time in epoch seconds, summary) of every Notify call so far."""
        times = []
        for line in self.monitor_log.read_text(errors="replace").splitlines():
            if line.startswith("method call") and "member=Notify" in line:
                stamp = line.split("time=", 1)[1].split()[0]
                times.append(float(stamp))
        summaries = [call[2] if len(call) > 2 else "" for call in self.notify_calls()]
        return list(zip(times, summaries, strict=False))

    def wait_for_notify(self, count: int, timeout: float = 15.0) -> list[list[str]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = self.notify_calls()
            if len(calls) >= count:
                return calls
            time.sleep(0.05)
        raise AssertionError(f"expected {count} Notify calls, saw {self.notify_calls()}")

    def press(self, label: str) -> None:
        """Choose the action `label` in dunst's context menu (as a click would)."""
        (self.folder / "choice").write_text(label)
        subprocess.run(["dunstctl", "context"], env=self.env, check=True, timeout=10)


@contextlib.contextmanager
def _proc(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("w") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)


@contextlib.contextmanager
def session_bus(folder: Path) -> Iterator[str]:
    """A private session bus; yields its address."""
    conf = folder / "bus.conf"
    conf.write_text(BUS_CONF.format(tmp=folder))
    proc = subprocess.Popen(
        ["dbus-daemon", f"--config-file={conf}", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().strip()
        if not address:
            raise RuntimeError("dbus-daemon did not print its address")
        yield address
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)


@contextlib.contextmanager
def notification_stack(folder: Path, *, daemon: bool = True) -> Iterator[Stack]:
    """Xvfb + session bus + dbus-monitor (+ dunst unless daemon=False)."""
    folder.mkdir(parents=True, exist_ok=True)
    pick = folder / "pick.sh"
    pick.write_text(PICK.format(menu=folder / "menu.txt", choice=folder / "choice"))
    pick.chmod(0o755)
    (folder / "dunstrc").write_text(
        f"[global]\n    dmenu = {pick}\n    show_indicators = no\n    font = DejaVu Sans 11\n"
    )
    with virtual_display() as display, session_bus(folder) as address:
        env = {**os.environ, "DISPLAY": display, "DBUS_SESSION_BUS_ADDRESS": address}
        monitor_log = folder / "monitor.txt"
        with contextlib.ExitStack() as stack:
            stack.enter_context(
                _proc(
                    ["dbus-monitor", "--session", "interface='org.freedesktop.Notifications'"],
                    env,
                    monitor_log,
                )
            )
            if daemon:
                stack.enter_context(
                    _proc(["dunst", "-config", str(folder / "dunstrc")], env, folder / "dunst.log")
                )
                _wait_for_name(env, "org.freedesktop.Notifications")
            time.sleep(0.3)  # dbus-monitor has subscribed
            yield Stack(env=env, folder=folder, monitor_log=monitor_log)


def _wait_for_name(env: dict[str, str], name: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(
            [
                "dbus-send",
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                f"string:{name}",
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if "boolean true" in out.stdout:
            return
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not appear on the bus")


def screenshot(env: dict[str, str], out: Path) -> bool:
    """Grab the whole virtual screen (what dunst drew) into a PNG with Qt; False if it cannot."""
    code = (
        "import sys\n"
        "from PySide6.QtGui import QGuiApplication\n"
        "app = QGuiApplication(['shot'])\n"
        "ok = app.primaryScreen().grabWindow(0).save(sys.argv[1])\n"
        "sys.exit(0 if ok else 1)\n"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-c", code, str(out)],
        env={**env, "QT_QPA_PLATFORM": "xcb"},
        capture_output=True,
        timeout=30,
    )
    return result.returncode == 0
