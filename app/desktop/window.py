"""The desktop window: the local server in a background thread, the UI in a web view.

`run_window()` is what `taskchat` with no command does:

1. take the data folder's single-instance lock (a second launch focuses the first window);
2. start the server on 127.0.0.1 with a free port in a child process (`taskchat serve
   --exit-with-stdin`, see ServerProcess) and wait until /api/health answers;
3. open a pywebview window ("TaskChat", remembered size/position, minimum 420x560) on the
   one-time launch URL, which signs the window in;
4. when the window closes (or SIGTERM/SIGINT arrives) stop the server: closing its stdin
   makes uvicorn exit, the lifespan disposes the engine, so SQLite is closed cleanly;
   within 3 s.

With `self_test=True` the same window is checked instead (see app/desktop/self_test.py).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.config import Settings
from app.desktop import backend, crash, window_state
from app.desktop.single_instance import AlreadyRunning, SingleInstance, focus_running_instance

log = logging.getLogger(__name__)

TITLE = "TaskChat"
SHUTDOWN_BUDGET_S = 3.0
BACKGROUND = "#f6f7f9"
SPLASH_HTML = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{TITLE}</title><style>
html,body{{height:100%;margin:0;background:{BACKGROUND};color:#5b6170;
font:15px system-ui,-apple-system,"Segoe UI",sans-serif}}
body{{display:flex;align-items:center;justify-content:center}}
@media (prefers-color-scheme: dark){{html,body{{background:#17181c;color:#a3a8b5}}}}
</style></head><body><p>Starting TaskChat…</p></body></html>"""


def process_start() -> float:
    """Wall-clock time this process started (Linux: from /proc; else first import).

    TASKCHAT_LAUNCH_EPOCH (seconds since the epoch) overrides it: benchmarks/bench_desktop.py
    sets it just before starting the binary, so the one-file build's unpacking is counted.
    """
    raw = os.environ.get("TASKCHAT_LAUNCH_EPOCH")
    if raw:
        with contextlib.suppress(ValueError):
            return float(raw)
    return _PROCESS_START


def _read_process_start() -> float:
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])
        with open("/proc/stat", encoding="ascii") as fh:
            btime = next(int(line.split()[1]) for line in fh if line.startswith("btime "))
        return btime + start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration, AttributeError):
        return time.time()


_PROCESS_START = _read_process_start()


def icon_path() -> Path | None:
    path = Path(__file__).resolve().parent / "assets" / "taskchat.png"
    return path if path.is_file() else None


class ServerProcess:
    """The local server as a child process: `taskchat serve --port 0 --exit-with-stdin`.

    A process, not a thread of the window: Python threads share one interpreter lock, and
    the server's start-up (importing FastAPI, SQLAlchemy, ChatKit, the Agents SDK) and
    Qt's start-up slowed each other down badly (importing Qt WebEngine took 0.45 s alone
    and 3.4 s beside a busy thread). As a process the server starts on the other core,
    its memory is its own, and a crash in one process cannot take the other down halfway.
    The child stops gracefully when its standard input closes, which the OS also does
    when the window process dies however it dies, so no server outlives its window.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = 0
        self.launch_url = ""
        self.error: str | None = None
        self.on_unexpected_exit: Callable[[str], None] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._ready = threading.Event()
        self._stopping = False
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=20)

    def command(self) -> list[str]:
        args = ["serve", "--host", "127.0.0.1", "--port", "0", "--exit-with-stdin"]
        if getattr(sys, "frozen", False):  # the PyInstaller binary is the CLI itself
            return [sys.executable, *args]
        return [sys.executable, "-m", "app", *args]

    def start(self) -> None:
        env = {**os.environ, "TASKCHAT_DATA_DIR": str(self.settings.data_dir)}
        env["PYTHONUNBUFFERED"] = "1"
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # no console window on Windows
        self._proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            creationflags=flags,
        )
        threading.Thread(target=self._read_stdout, name="taskchat-server-out", daemon=True).start()
        threading.Thread(target=self._read_stderr, name="taskchat-server-err", daemon=True).start()

    def _read_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for raw in self._proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            match = re.search(r"(http://127\.0\.0\.1:(\d+)/\S*)", line)
            if match and not self._ready.is_set():
                self.launch_url, self.port = match.group(1), int(match.group(2))
                self._ready.set()
        code = self._proc.wait()
        if not self._ready.is_set():
            self.error = self._describe_exit(code)
            self._ready.set()
        elif not self._stopping:
            self.error = self._describe_exit(code)
            log.error("the server stopped unexpectedly: %s", self.error)
            if self.on_unexpected_exit is not None:
                self.on_unexpected_exit(self.error)

    def _read_stderr(self) -> None:
        # Passed on to this process's stderr (a terminal, when there is one); the last
        # lines also explain a server that failed to start.
        assert self._proc is not None and self._proc.stderr is not None
        for raw in self._proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            self._stderr_tail.append(line)
            with contextlib.suppress(OSError, ValueError, AttributeError):
                print(line, file=sys.stderr, flush=True)

    def _describe_exit(self, code: int) -> str:
        last = next((line for line in reversed(self._stderr_tail) if line.strip()), "")
        return f"exit status {code}" + (f": {last.strip()}" if last else "")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Block until /api/health answers; raise RuntimeError when the server failed."""
        if not self._ready.wait(timeout) or not self.port:
            reason = self.error or "timeout"
            raise RuntimeError(f"the TaskChat server did not start ({reason})")
        wait_for_health(self.base_url, timeout=timeout)

    def stop(self, budget: float = SHUTDOWN_BUDGET_S) -> float:
        """Close the child's stdin (a graceful stop); force it when slow. Returns seconds."""
        t0 = time.perf_counter()
        self._stopping = True
        proc = self._proc
        if proc is None:
            return 0.0
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(max(budget - 0.6, 0.1))
        except subprocess.TimeoutExpired:
            log.warning("server still draining connections: forcing the exit")
            proc.terminate()  # SIGTERM: uvicorn's own fast shutdown; on Windows, final
            try:
                proc.wait(0.5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        elapsed = time.perf_counter() - t0
        log.info("server stopped in %.2f s (exit status %s)", elapsed, proc.returncode)
        return elapsed

    @property
    def stopped(self) -> bool:
        return self._proc is None or self._proc.poll() is not None

    @property
    def failed(self) -> bool:
        """The server ended with an error status (0 is a clean stop)."""
        return self._proc is not None and self._proc.returncode not in (None, 0)


def wait_for_health(base_url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/api/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"{base_url}/api/health did not answer ({last})")


def _screens() -> list[window_state.Rect]:
    try:
        import webview

        return [window_state.Rect(s.x, s.y, s.width, s.height) for s in webview.screens]
    except Exception:
        return []


class ToolkitMissing(Exception):
    """The window toolkit (pywebview, Qt WebEngine) cannot be loaded here."""


def run_window(
    settings: Settings,
    *,
    self_test: bool = False,
    screenshot: Path | None = None,
    fallback: Callable[[], int] | None = None,
) -> int:
    """`taskchat` with no command. Returns the process exit status."""
    from app.desktop import self_test as st
    from app.logging_setup import WINDOW_LOG_FILE_NAME, setup_logging

    log_path = setup_logging(settings, WINDOW_LOG_FILE_NAME)
    crash.install(str(log_path))
    report = st.Reporter(enabled=self_test)

    problem = backend.display_problem()
    if problem is None:
        instance = SingleInstance(settings.data_dir)
        try:
            instance.acquire()
        except AlreadyRunning as running:
            return _already_running(settings, running, report)
        try:
            return _run_locked(settings, instance, report, screenshot)
        except ToolkitMissing as exc:
            problem = str(exc)
        except Exception as exc:
            if self_test:
                log.exception("self-test crashed")
                return report.failed(f"{type(exc).__name__}: {exc}")
            crash.report(exc, where="the window")
            return 1
        finally:
            instance.release()
    if self_test:
        return report.failed(problem)
    print(
        f"TaskChat can't open its window: {problem}.\n"
        "Starting the server instead - open the link below in a web browser.",
        file=sys.stderr,
        flush=True,
    )
    return fallback() if fallback else 1


def _already_running(settings: Settings, running: AlreadyRunning, report: Any) -> int:
    if report.enabled:
        return report.failed("another TaskChat window is running for this data folder")
    pid = running.info.pid if running.info else "?"
    if focus_running_instance(settings.data_dir):
        print("TaskChat is already running: brought its window to the front.", flush=True)
        return 0
    print(
        f"TaskChat is already running (process {pid}) but did not answer. "
        "Close it, or end that process, and start TaskChat again.",
        file=sys.stderr,
        flush=True,
    )
    return 1


def _run_locked(
    settings: Settings,
    instance: SingleInstance,
    report: Any,
    screenshot: Path | None,
) -> int:
    # The server starts first: it runs on the other core while this process loads Qt.
    server = ServerProcess(settings)
    server.start()
    try:
        backend.prepare_environment()
        problem = backend.import_problem()
        if problem:
            raise ToolkitMissing(problem)
        _show_window(settings, instance, report, screenshot, server)
    finally:
        elapsed = server.stop()
    report.mark("shutdown", elapsed)
    if not server.stopped:
        return report.failed(f"the server did not stop within {SHUTDOWN_BUDGET_S:.0f} s")
    if server.error is not None or server.failed:
        return report.failed(f"the server failed: {server.error or 'exit status error'}")
    return report.finish()


def _show_window(
    settings: Settings,
    instance: SingleInstance,
    report: Any,
    screenshot: Path | None,
    server: ServerProcess,
) -> None:
    """Open the window on the launch URL and block until it is closed."""
    import webview

    state = window_state.load(settings.data_dir).normalised(_screens())
    tracker = window_state.Tracker(state)
    # The window opens at once on a local splash page; the UI replaces it as soon as the
    # server answers (see `loader` below).
    window = webview.create_window(
        TITLE,
        html=SPLASH_HTML,
        width=state.width,
        height=state.height,
        x=state.x,
        y=state.y,
        min_size=(window_state.MIN_WIDTH, window_state.MIN_HEIGHT),
        maximized=state.maximized,
        background_color=BACKGROUND,
        text_select=True,
    )
    assert window is not None
    window.events.resized += tracker.resized
    window.events.moved += tracker.moved
    window.events.maximized += tracker.maximized
    window.events.restored += tracker.restored

    invoker = backend.GuiInvoker()
    crash.set_gui_invoker(invoker)
    closing = threading.Event()

    def close_window(*_args: object) -> None:
        if not closing.is_set():
            closing.set()
            log.info("closing the window")
            with contextlib.suppress(Exception):
                window.destroy()

    def server_died(reason: str) -> None:
        # The UI cannot work without its server: say so instead of failing request by
        # request, and close (the next start gets a fresh server).
        report.fail_later(f"the server stopped unexpectedly ({reason})")
        if not report.enabled:
            crash.show_error_dialog(
                "TaskChat stopped working",
                f"The TaskChat server stopped unexpectedly ({reason}). Your data is saved; "
                f"start TaskChat again.\n\nDetails are in the log files in {settings.log_dir}.",
            )
        close_window()

    server.on_unexpected_exit = server_died

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(ValueError, OSError):
            previous[sig] = signal.signal(sig, close_window)

    then: Callable[[], None] | None = None
    if report.enabled:
        then = report.checker(window, invoker, server, screenshot, close_window)
    fault = os.environ.get("TASKCHAT_TEST_CRASH", "")
    if fault == "main":
        raise RuntimeError("test crash in the main thread (TASKCHAT_TEST_CRASH=main)")
    if fault == "thread":
        then = _crash_after_load(window)

    def loader() -> None:
        """pywebview's worker thread: swap the splash for the UI once the server answers."""
        try:
            server.wait_ready()
        except Exception as exc:
            log.error("%s", exc)
            report.fail_later(str(exc))
            if not report.enabled:
                crash.show_error_dialog(
                    "TaskChat could not start",
                    f"{exc}\n\nDetails are in the log file in {settings.log_dir}.",
                )
            close_window()
            return
        report.mark("health", time.time() - process_start())
        log.info("server answering at %s", server.base_url)
        instance.publish(server.port, on_focus=lambda: backend.bring_to_front(window, invoker))
        window.load_url(server.launch_url)
        if then is not None:
            then()

    icon = icon_path()
    try:
        webview.start(
            loader,
            gui=backend.gui_name(),
            private_mode=False,
            storage_path=str(settings.data_dir / "webview"),
            icon=str(icon) if icon else None,
        )
    finally:
        for sig, handler in previous.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(sig, handler)
        crash.set_gui_invoker(None)
        window_state.save(settings.data_dir, tracker.state)


def _crash_after_load(window: Any) -> Callable[[], None]:
    """Test hook (TASKCHAT_TEST_CRASH=thread): an unhandled error in a background thread."""

    def run() -> None:
        window.events.loaded.wait(30)
        raise RuntimeError("test crash in a background thread (TASKCHAT_TEST_CRASH=thread)")

    return run
