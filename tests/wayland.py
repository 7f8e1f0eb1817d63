"""A private headless Wayland compositor (weston) for GUI tests: a session without X11."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def have_weston() -> bool:
    return shutil.which("weston") is not None


@contextlib.contextmanager
def wayland_session() -> Iterator[dict[str, str]]:
    """Start weston's headless backend in a private runtime folder; yield the environment
    a Wayland client needs (WAYLAND_DISPLAY and XDG_RUNTIME_DIR)."""
    exe = shutil.which("weston")
    if exe is None:
        raise FileNotFoundError("weston is not installed (scripts/setup.sh --test installs it)")
    with tempfile.TemporaryDirectory(prefix="taskchat-wayland-") as runtime:
        Path(runtime).chmod(0o700)  # Wayland clients refuse a runtime folder others can read
        env = {"XDG_RUNTIME_DIR": runtime, "WAYLAND_DISPLAY": "taskchat-test"}
        log = Path(runtime) / "weston.log"
        proc = subprocess.Popen(
            [
                exe,
                "--backend=headless-backend.so",
                "--socket=taskchat-test",
                "--idle-time=0",
                "--width=1280",
                "--height=900",
                f"--log={log}",
            ],
            env={"XDG_RUNTIME_DIR": runtime, "PATH": "/usr/bin:/bin"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            socket = Path(runtime) / "taskchat-test"
            deadline = time.monotonic() + 20
            while not socket.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    detail = log.read_text() if log.exists() else ""
                    raise RuntimeError(f"weston did not start:\n{detail[-2000:]}")
                time.sleep(0.05)
            yield env
        finally:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
