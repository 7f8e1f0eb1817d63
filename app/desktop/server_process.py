"""The window's local server: a thread of the window (Linux) or a child process.

On Linux the server runs on a thread of the window process (`InProcessServer`): a second
Python process holds its own copy of the interpreter and of every module both import,
~30 MiB PSS more for the whole app (benchmarks/bench_footprint.py), which issue 29's
footprint target counts. Elsewhere, and with TASKCHAT_SERVER=process, it is a child
process, `taskchat serve --stdin-control` (`ServerProcess`): Python threads share one
interpreter lock, and with Qt the server's start-up (importing FastAPI, SQLAlchemy,
ChatKit, the Agents SDK) and Qt's slowed each other down (importing Qt WebEngine took
0.45 s alone and 3.4 s beside a busy thread); as a process the server starts on the other
core, and a crash in one process cannot take the other down halfway.

The child is started first of all (app/cli.py), before this process has even read its
settings, and its standard input controls it:
  * it does its imports, then waits for a `go` line before it touches the data folder —
    the window sends it once it holds the folder's single-instance lock;
  * it stops gracefully when stdin closes, which the OS also does when the window process
    dies however it dies, so no server outlives its window.

This module imports nothing heavy: it runs before the rest of the app is loaded.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)

SHUTDOWN_BUDGET_S = 3.0
# How long the in-process server's stop waits for requests it cancelled (see _serve).
LEFTOVER_WAIT_S = 0.5
# Where the window's server runs by default: on Linux a thread of the window (see
# InProcessServer; benchmarks/bench_footprint.py), elsewhere a child process.
IN_PROCESS_DEFAULT = sys.platform.startswith("linux")
# The options a window launch may have (anything else is a CLI command).
_WINDOW_FLAGS = ("--self-test",)
_WINDOW_OPTIONS = ("--screenshot",)


def is_window_launch(argv: Sequence[str]) -> bool:
    """True when `argv` opens the window: no command, only window options.

    Deliberately strict; anything unusual (a command, --help, --version, a typo) is left
    to argparse, and the server is then started the ordinary way if at all.
    """
    args = list(argv)
    screenshot = False
    while args:
        arg = args.pop(0)
        if arg in _WINDOW_FLAGS:
            continue
        if arg in _WINDOW_OPTIONS and args:
            args.pop(0)
            screenshot = True
        elif arg.startswith(tuple(f"{o}=" for o in _WINDOW_OPTIONS)):
            screenshot = True
        else:
            return False
    return not screenshot or "--self-test" in argv


class ServerProcess:
    """`taskchat serve --port 0 --stdin-control` with its URL, health and shutdown."""

    def __init__(self) -> None:
        self.port = 0
        self.launch_url = ""
        self.error: str | None = None
        self.on_unexpected_exit: Callable[[str], None] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._listening = threading.Event()  # the socket listens: the UI may load
        self._ready = threading.Event()  # the server serves (its lifespan has run)
        self._health: concurrent.futures.Future[float] | None = None
        self._stopping = False
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=20)

    @staticmethod
    def command() -> list[str]:
        args = ["serve", "--host", "127.0.0.1", "--port", "0", "--stdin-control"]
        if getattr(sys, "frozen", False):  # the PyInstaller binary is the CLI itself
            return [sys.executable, *args]
        return [sys.executable, "-m", "app", *args]

    def start(self) -> None:
        """Start the child; it imports, then waits for `go()` before opening any data."""
        # The child resolves the same data folder from the same environment.
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
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

    def go(self) -> None:
        """Let the child open the data folder (call while holding its instance lock)."""
        if self._proc is None:
            self.start()
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(b"go\n")
            self._proc.stdin.flush()
        except OSError as exc:  # the child died already; wait_ready() will say why
            log.warning("could not start the server: %s", exc)

    def _read_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for raw in self._proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            match = re.search(r"(listening|running) at (http://127\.0\.0\.1:(\d+)/\S*)", line)
            if match and not self._ready.is_set():
                if not self._listening.is_set():
                    self.launch_url, self.port = match.group(2), int(match.group(3))
                    self._listening.set()
                if match.group(1) == "running":
                    self._ready.set()
        code = self._proc.wait()
        if not self._ready.is_set():
            self.error = self._describe_exit(code)
            self._listening.set()
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

    def watch_health(self, timeout: float = 90.0) -> None:
        """Start waiting for /api/health in a thread of its own, right after `go()`.

        The window's GUI thread asks only once its toolkit is up, which can be after the
        server answered; this notes when it really did (the self-test's `health=`).
        """
        if self._health is not None:
            return
        future: concurrent.futures.Future[float] = concurrent.futures.Future()

        def watch() -> None:
            try:
                self._wait_ready(timeout)
                future.set_result(time.time())
            except BaseException as exc:
                future.set_exception(exc)

        self._health = future
        threading.Thread(target=watch, name="taskchat-server-health", daemon=True).start()

    def wait_listening(self, timeout: float = 90.0) -> str:
        """Block until the server's socket listens and return the launch URL; raise
        RuntimeError when the server failed first.

        The UI may load from then on: its first request waits in the socket's backlog
        while the server runs its lifespan, instead of starting only once /api/health
        answered (which the window then still waits for, see `wait_ready`).
        """
        if not self._listening.wait(timeout) or not self.port:
            reason = self.error or "timeout"
            raise RuntimeError(f"the TaskChat server did not start ({reason})")
        return self.launch_url

    def wait_ready(self, timeout: float = 90.0) -> float:
        """Block until /api/health answers and return when it did (time.time()); raise
        RuntimeError when the server failed."""
        if self._health is None:
            self._wait_ready(timeout)
            return time.time()
        return self._health.result(timeout)

    def _wait_ready(self, timeout: float) -> None:
        import urllib.request  # noqa: F401 - loaded while the child starts, not after

        # An error here: it stopped before it served (the port may be known already).
        if not self._ready.wait(timeout) or not self.port or self.error is not None:
            reason = self.error or "timeout"
            raise RuntimeError(f"the TaskChat server did not start ({reason})")
        wait_for_health(self.base_url, timeout=timeout)

    def stop(self, budget: float = SHUTDOWN_BUDGET_S) -> float:
        """Close the child's stdin (a graceful stop); force it when slow. Returns seconds."""
        t0 = time.perf_counter()
        proc = self._proc
        if proc is None or (self._stopping and proc.poll() is not None):
            return 0.0  # never started, or already stopped
        self._stopping = True
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
    def failure(self) -> str | None:
        """Why the server's run counts as failed (None: running, or stopped cleanly)."""
        if self.error is not None:
            return self.error
        code = self._proc.returncode if self._proc is not None else None
        return None if code in (None, 0) else f"exit status {code}"


def wait_for_health(base_url: str, timeout: float = 30.0) -> None:
    import urllib.request  # not at the top: the child is started before this (~20 ms) loads

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/api/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.02)
    raise RuntimeError(f"{base_url}/api/health did not answer ({last})")


class InProcessServer(ServerProcess):
    """The same server on a thread of the window process (uvicorn on its own event loop).

    Chosen for its footprint (benchmarks/bench_footprint.py): a second Python process
    holds its own copy of the interpreter and of every module both import (~100 MiB PSS),
    while a thread shares them. The thread imports the server while the main thread loads
    the web view, then waits for `go()` (the single-instance lock) before it opens the
    data folder; `stop()` asks uvicorn to exit, whose lifespan closes the database.
    When the thread ends without being asked, `on_unexpected_exit` says why.
    """

    def __init__(self) -> None:
        super().__init__()
        self._thread: threading.Thread | None = None
        self._go = threading.Event()
        self._uvicorn: Any = None
        self._exited = threading.Event()
        self._left_behind: set[Any] = set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="taskchat-server", daemon=True)
        self._thread.start()

    def go(self) -> None:
        if self._thread is None:
            self.start()
        self._go.set()

    def _run(self) -> None:
        try:
            # Here, not at the top: this module runs before the app is loaded, and the
            # server's imports are what the thread does while the window starts.
            from app import server as srv
            from app.config import get_settings

            self._go.wait()
            if self._stopping:
                return
            settings = get_settings()

            def listening(app: Any, port: int) -> None:
                self.launch_url = srv.launch_url(app, "127.0.0.1", port)
                self.port = port
                self._listening.set()

            def ready(app: Any, port: int) -> None:
                self._ready.set()
                crash_after = os.environ.get("TASKCHAT_TEST_CRASH") == "server"
                if crash_after:  # test hook: the server ends by itself once it answered
                    threading.Timer(3.0, self._test_crash).start()

            server, sock, _app = srv.build_server(
                settings,
                host="127.0.0.1",
                port=0,
                on_ready=ready,
                on_listening=listening,
                graceful_shutdown=0.5,
            )
            self._uvicorn = server
            # create_app pointed the log at the server's file; one process, one log file.
            from app.logging_setup import WINDOW_LOG_FILE_NAME, setup_logging

            setup_logging(settings, WINDOW_LOG_FILE_NAME)
            try:
                self._serve(server, sock)
            finally:
                sock.close()
            if not server.started and self.error is None:
                self.error = "it could not start (see the log file)"
        except BaseException as exc:
            log.exception("the server thread failed")
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._exited.set()
            if not self._ready.is_set():
                self.error = self.error or "it stopped before answering"
                self._listening.set()
                self._ready.set()
            elif not self._stopping:
                self.error = self.error or "it stopped"
                log.error("the server stopped unexpectedly: %s", self.error)
                if self.on_unexpected_exit is not None:
                    self.on_unexpected_exit(self.error)

    def _serve(self, server: Any, sock: Any) -> None:
        """`asyncio.run(server.serve(...))`, but with a bounded end.

        asyncio.run waits, after the server's stop, for every task it cancels. A request
        waiting on a thread (a worker thread's query, a module the chat import is still
        loading) cannot be cancelled before that thread returns: the window's close then
        waited for it beyond its 3 s (seen here: 1 one-dir self-test in ~20 under load).
        The lifespan has closed the database by then; what is still running is left to
        end with the process.
        """
        # Here, not at the top: this module runs before the app is loaded (app/boot.py).
        import asyncio

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)  # as asyncio.run does
        try:
            loop.run_until_complete(server.serve(sockets=[sock]))
        finally:
            try:
                left = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in left:
                    task.cancel()
                if left:
                    _done, pending = loop.run_until_complete(
                        asyncio.wait(left, timeout=LEFTOVER_WAIT_S)
                    )
                    if pending:
                        log.warning(
                            "stopping: %d request(s) still waiting on a thread, left behind",
                            len(pending),
                        )
                        self._left_behind = pending  # kept: no "destroyed but pending" noise
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    def _test_crash(self) -> None:
        self.error = "test crash of the server (TASKCHAT_TEST_CRASH=server)"
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True

    def stop(self, budget: float = SHUTDOWN_BUDGET_S) -> float:
        t0 = time.perf_counter()
        thread = self._thread
        if thread is None or (self._stopping and not thread.is_alive()):
            return 0.0
        self._stopping = True
        self._go.set()  # a thread still waiting for `go` ends without serving
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        thread.join(max(budget - 0.6, 0.1))
        if thread.is_alive() and self._uvicorn is not None:
            log.warning(
                "server still draining connections: forcing the exit; it was at:\n%s",
                _stack_of(thread),
            )
            self._uvicorn.force_exit = True
            thread.join(0.5)
        if thread.is_alive():
            log.error("the server thread did not stop; it is at:\n%s", _stack_of(thread))
        elapsed = time.perf_counter() - t0
        log.info("server stopped in %.2f s (in-process)", elapsed)
        return elapsed

    @property
    def stopped(self) -> bool:
        return self._thread is None or not self._thread.is_alive()

    @property
    def failure(self) -> str | None:
        return self.error


def _stack_of(thread: threading.Thread) -> str:
    """Where `thread` is now (for the log when it does not stop in time)."""
    import traceback

    frame = sys._current_frames().get(thread.ident or -1)
    return "".join(traceback.format_stack(frame)) if frame is not None else "(gone)"


def in_process_wanted() -> bool:
    """Whether the window runs its server on a thread (TASKCHAT_SERVER=thread|process)."""
    choice = os.environ.get("TASKCHAT_SERVER", "")
    if choice in ("thread", "process"):
        return choice == "thread"
    return IN_PROCESS_DEFAULT


def window_server() -> ServerProcess:
    return InProcessServer() if in_process_wanted() else ServerProcess()
