"""Which native web view to use, whether a display is there, and Qt-specific helpers.

Linux: Qt WebEngine through PySide6 (LGPL). Windows: the system Edge WebView2
(EdgeChromium). macOS: WKWebView (Cocoa). pywebview picks the implementation; this module
only names it, prepares the environment it needs and offers the few things pywebview
lacks (running code on the GUI thread, grabbing the window as an image).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal


def gui_name() -> Literal["edgechromium", "cocoa", "qt"]:
    if sys.platform == "win32":
        return "edgechromium"
    if sys.platform == "darwin":
        return "cocoa"
    return "qt"


def display_problem() -> str | None:
    """Why no window can be opened here, or None when a display looks usable."""
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return "no display found (neither DISPLAY nor WAYLAND_DISPLAY is set)"
        platform = os.environ.get("QT_QPA_PLATFORM", "")
        if platform.startswith(("offscreen", "minimal")):
            return f"Qt is set to run without a screen (QT_QPA_PLATFORM={platform})"
    return None


def import_problem() -> str | None:
    """Why the window toolkit cannot be loaded, or None when it can."""
    try:
        import webview  # noqa: F401
    except Exception as exc:  # ImportError, or a broken native library
        return f"pywebview could not be loaded ({exc})"
    if gui_name() == "qt":
        try:
            from PySide6 import QtWebEngineWidgets  # noqa: F401
        except Exception as exc:
            return f"Qt WebEngine (PySide6) could not be loaded ({exc})"
    return None


def prepare_environment() -> None:
    """Environment the web view needs; must run before Qt is imported."""
    os.environ["PYWEBVIEW_GUI"] = gui_name()  # never probe GTK first
    if gui_name() != "qt":
        return
    os.environ.setdefault("QT_API", "pyside6")  # qtpy: never pick PyQt
    # Chromium refuses to run its sandbox as root; only then is it switched off.
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ["QTWEBENGINE_DISABLE_SANDBOX"] = "1"
    # Keep Chromium from phoning home (it is a local app; the network may be closed).
    flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
    for flag in ("--disable-background-networking", "--disable-component-update"):
        if flag not in flags:
            flags = f"{flags} {flag}".strip()
    os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = flags
    _register_bundled_qt()


def _register_bundled_qt() -> None:
    """In the PyInstaller binary: tell Qt where its bundled files are (an embedded qt.conf).

    PyInstaller's own runtime hook would do this in every process, `serve` included; the
    binary's hook (packaging/rthooks) leaves it to the window, the only user of Qt.
    """
    prefix = os.environ.get("TASKCHAT_QT_PREFIX")
    if not getattr(sys, "frozen", False) or not prefix:
        return
    try:
        from _pyi_rth_utils import qt as qt_rth_utils  # bundled by PyInstaller
    except ImportError:
        return
    qt_rth_utils.create_embedded_qt_conf("PySide6", prefix)


class GuiInvoker:
    """Runs callables on the Qt GUI thread from any thread (a queued signal)."""

    def __init__(self) -> None:
        self._obj: Any = None
        if gui_name() != "qt":
            return
        # Qt only in the window process
        from PySide6.QtCore import QObject, Signal

        class _Bridge(QObject):
            call = Signal(object)

        self._obj = _Bridge()
        self._obj.call.connect(self._run)

    @staticmethod
    def _run(job: tuple[Callable[[], Any], concurrent.futures.Future[Any]]) -> None:
        fn, future = job
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn())
        except BaseException as exc:
            future.set_exception(exc)

    @property
    def available(self) -> bool:
        return self._obj is not None

    def call(self, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
        if self._obj is None:
            raise RuntimeError("no Qt GUI thread to run on")
        # Qt only in the window process
        from PySide6.QtCore import QThread

        if QThread.currentThread() is self._obj.thread():
            return fn()
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._obj.call.emit((fn, future))
        return future.result(timeout)


def bring_to_front(window: Any, invoker: GuiInvoker) -> None:
    if invoker.available and window.native is not None:

        def _raise() -> None:
            # Qt only in the window process
            from PySide6.QtCore import Qt

            native = window.native
            if native.windowState() & Qt.WindowState.WindowMinimized:
                native.setWindowState(native.windowState() & ~Qt.WindowState.WindowMinimized)
            native.show()
            native.raise_()
            native.activateWindow()

        invoker.call(_raise)
        return
    with contextlib.suppress(Exception):
        window.restore()
    window.show()


def grab_window(window: Any, invoker: GuiInvoker, path: Path) -> None:
    """Save a PNG of the window's contents (Qt only)."""
    if not invoker.available or window.native is None:
        raise NotImplementedError(f"screenshots are not supported with the {gui_name()} backend")

    def _grab() -> bool:
        native = window.native
        pixmap = native.grab()
        if pixmap.isNull():
            # Qt only in the window process
            from PySide6.QtWidgets import QApplication

            screen = native.screen() or QApplication.primaryScreen()
            pixmap = screen.grabWindow(int(native.winId()))
        return bool(pixmap.save(str(path), "PNG"))

    path.parent.mkdir(parents=True, exist_ok=True)
    if not invoker.call(_grab):
        raise RuntimeError(f"could not write the screenshot to {path}")
