"""The desktop window: the UI in a web view, the local server beside it.

`run_window()` is what `taskchat` with no command does:

1. take the data folder's single-instance lock (a second launch focuses the first window);
2. let the server (started by app/boot.py before anything else: on Linux a thread of this
   process, elsewhere a child process on 127.0.0.1 with a free port; see
   app/desktop/server_process.py) open the data folder;
3. open a pywebview window ("TaskChat", remembered size/position, minimum 420x560) on a
   splash page, and load the one-time launch URL, which signs the window in, as soon as
   the server's socket listens (the request waits until it serves); then wait until
   /api/health answers;
4. when the window closes (or SIGTERM/SIGINT arrives) stop the server: uvicorn exits (the
   child: when its stdin closes), the lifespan disposes the engine, so SQLite is closed
   cleanly; within 3 s.

With `self_test=True` the same window is checked instead (see app/desktop/self_test.py).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import boot
from app.desktop import backend, crash, links, window_state
from app.desktop import self_test as st
from app.desktop.server_process import SHUTDOWN_BUDGET_S, ServerProcess, window_server
from app.desktop.single_instance import AlreadyRunning, SingleInstance, focus_running_instance
from app.desktop.tray import Tray, run_test_script
from app.logging_setup import WINDOW_LOG_FILE_NAME, setup_logging

if TYPE_CHECKING:
    from app.config import Settings

log = logging.getLogger(__name__)

TITLE = "TaskChat"
BACKGROUND = "#f6f7f9"
# At most this long the UI waits for pywebview to finish with the splash page (see `loader`).
SPLASH_BRIDGE_WAIT_S = 2.0
SPLASH_HTML = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{TITLE}</title><style>
html,body{{height:100%;margin:0;background:{BACKGROUND};color:#5b6170;
font:15px system-ui,-apple-system,"Segoe UI",sans-serif}}
body{{display:flex;align-items:center;justify-content:center}}
@media (prefers-color-scheme: dark){{html,body{{background:#17181c;color:#a3a8b5}}}}
</style></head><body><p>Starting TaskChat…</p></body></html>"""


def icon_path() -> Path | None:
    path = Path(__file__).resolve().parent / "assets" / "taskchat.png"
    return path if path.is_file() else None


def _screens() -> list[window_state.Rect]:
    try:
        # Qt only in the window: pywebview loads it
        import webview

        return [window_state.Rect(s.x, s.y, s.width, s.height) for s in webview.screens]
    except Exception:
        return []


class ToolkitMissing(Exception):
    """The window toolkit (pywebview, WebKitGTK or Qt WebEngine) cannot be loaded here."""


def run_window(
    settings: Settings,
    *,
    self_test: bool = False,
    screenshot: Path | None = None,
    fallback: Callable[[], int] | None = None,
    server: ServerProcess | None = None,
) -> int:
    """`taskchat` with no command. Returns the process exit status.

    `server` is the child that app/cli.py started before anything else; it has not
    touched the data folder yet, and is stopped unused if this launch does not need it.
    """
    log_path = setup_logging(settings, WINDOW_LOG_FILE_NAME)
    crash.install(str(log_path))
    report = st.Reporter(enabled=self_test)
    server = server or window_server()

    problem = backend.display_problem()
    if problem is None:
        instance = SingleInstance(settings.data_dir)
        try:
            instance.acquire()
        except AlreadyRunning as running:
            server.stop()
            return _already_running(settings, running, report)
        try:
            return _run_locked(settings, instance, report, screenshot, server)
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
    server.stop()
    if self_test:
        return report.failed(problem)
    log.warning("no window: %s", problem)
    print(
        f"TaskChat can't open its window: {problem}.\n"
        "Run `taskchat doctor` to see what this computer is missing.\n"
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
    server: ServerProcess,
) -> int:
    server.go()  # this process holds the lock: the server may open the data folder
    server.watch_health()
    try:
        # The toolkit loads here while the server starts.
        backend.prepare_environment()
        # Qt aborts the process when it cannot open the display: try that in a forked
        # child first, while this process imports Qt WebEngine (GTK reports it instead:
        # import_problem() checks it in this process).
        probe = backend.DisplayProbe.start()
        problem = backend.import_problem()
        display = probe.result() if probe is not None else None  # always reaps the child
        problem = problem or display
        if problem:
            raise ToolkitMissing(problem)
        _show_window(settings, instance, report, screenshot, server)
    finally:
        elapsed = server.stop()
    report.mark("shutdown", elapsed)
    if not server.stopped:
        return report.failed(f"the server did not stop within {SHUTDOWN_BUDGET_S:.0f} s")
    if server.failure is not None:
        return report.failed(f"the server failed: {server.failure}")
    return report.finish()


def _show_window(
    settings: Settings,
    instance: SingleInstance,
    report: Any,
    screenshot: Path | None,
    server: ServerProcess,
) -> None:
    """Open the window on the launch URL and block until it is closed."""
    # Qt only in the window: pywebview loads it
    import webview

    links.use_persons_browser()
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
    window.events.before_show += backend.tune_webkit
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
    # Where a system tray exists, closing the window hides it (app/desktop/tray.py).
    tray = make_tray(
        settings=settings, window=window, invoker=invoker, quit_app=close_window, quitting=closing
    )
    window.events.closing += tray.on_closing

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

    def could_not_start(exc: Exception) -> None:
        log.error("%s", exc)
        report.fail_later(str(exc))
        if not report.enabled:
            crash.show_error_dialog(
                "TaskChat could not start",
                f"{exc}\n\nDetails are in the log file in {settings.log_dir}.",
            )
        close_window()

    def loader() -> None:
        """pywebview's worker thread: swap the splash for the UI as soon as the server's
        socket listens: the page's first request waits in its backlog while the server
        opens the database, instead of starting only once /api/health answered."""
        try:
            url = server.wait_listening()
            # pywebview injects its bridge into every page that finishes loading, in two
            # scripts run from a thread of its own. Swapping the page between them runs the
            # second on the UI's page, where it fails (a logged TypeError, seen under load):
            # if the splash's injection is under way, it finishes first (no cost to the
            # launch that bench_footprint can see).
            if window.events.before_load.is_set():
                window.events.loaded.wait(SPLASH_BRIDGE_WAIT_S)
            window.load_url(url)
            answered_at = server.wait_ready()
        except Exception as exc:
            could_not_start(exc)
            return
        report.mark("health", answered_at - st.process_start())
        log.info("server answering at %s", server.base_url)
        instance.publish(server.port, on_focus=lambda: backend.bring_to_front(window, invoker))
        tray.start()
        if os.environ.get("TASKCHAT_TEST_TRAY"):
            window.events.loaded.wait(30)
            run_test_script(tray, os.environ["TASKCHAT_TEST_TRAY"])
        boot.started()  # the GC, paused since the process began (app/boot.py), runs again
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


def make_tray(**kwargs: Any) -> Tray:
    """The tray for the window's toolkit (GTK: app/desktop/tray_gtk.py, else Qt)."""
    if backend.gui_name() == "gtk":
        # GTK's tray loads gi: only in a window process that runs the GTK backend
        from app.desktop.tray_gtk import GtkTray

        return GtkTray(**kwargs)
    return Tray(**kwargs)


def _crash_after_load(window: Any) -> Callable[[], None]:
    """Test hook (TASKCHAT_TEST_CRASH=thread): an unhandled error in a background thread."""

    def run() -> None:
        window.events.loaded.wait(30)
        raise RuntimeError("test crash in a background thread (TASKCHAT_TEST_CRASH=thread)")

    return run
