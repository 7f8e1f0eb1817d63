"""Unhandled exceptions in the window process: logged (redacted) and shown, never silent.

`install()` hooks sys.excepthook and threading.excepthook. An error is written to the
rotating log in the data folder (app/logging_setup.py, secrets redacted) and shown in a
dialog: a GTK message dialog or a Qt message box on the GUI thread (whichever toolkit
the window runs), the system's message box on Windows and macOS, and stderr as the last
resort. Setting
TASKCHAT_DIALOG_TIMEOUT (seconds) closes the dialog by itself (used by tests).
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
import traceback
from types import TracebackType

from app.desktop import backend
from app.desktop.backend import GuiInvoker
from app.security.redact import redact

log = logging.getLogger("taskchat.crash")

_invoker: GuiInvoker | None = None
_log_path: str | None = None
_shown = threading.Event()


def set_gui_invoker(invoker: GuiInvoker | None) -> None:
    global _invoker
    _invoker = invoker


def install(log_path: str | None) -> None:
    global _log_path
    _log_path = log_path
    sys.excepthook = _sys_hook
    threading.excepthook = _thread_hook


def _sys_hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    report(exc, where="main thread")


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    name = args.thread.name if args.thread else "a background thread"
    report(args.exc_value, where=name)


def report(exc: BaseException, where: str = "") -> None:
    """Log an unexpected error and tell the person about it."""
    log.critical("unhandled error in %s", where or "TaskChat", exc_info=exc)
    summary = redact(f"{type(exc).__name__}: {exc}")
    details = redact("".join(traceback.format_exception(exc)[-6:]))
    print(f"TaskChat: unexpected error: {summary}", file=sys.stderr, flush=True)
    where_log = f"\n\nDetails were written to {_log_path}." if _log_path else ""
    show_error_dialog(
        "TaskChat ran into a problem",
        f"Something went wrong: {summary}{where_log}\n\n{details}",
    )


def show_error_dialog(title: str, message: str) -> None:
    # One dialog per process: a burst of errors must not bury the screen in message boxes.
    if _shown.is_set():
        return
    _shown.set()
    try:
        if backend.gui_name() == "gtk" and _gtk_dialog(title, message):
            return
        if backend.gui_name() == "qt" and _qt_dialog(title, message):
            return
        if sys.platform == "win32":
            import ctypes  # Windows only, and only for this last-resort dialog

            ctypes.windll.user32.MessageBoxW(None, message, title, 0x10)  # MB_ICONERROR
            return
        if sys.platform == "darwin":
            script = f"display alert {_applescript(title)} message {_applescript(message)}"
            subprocess.run(["osascript", "-e", script], check=False, timeout=600)
            return
    except Exception:
        log.exception("could not show the error dialog")


def _qt_dialog(title: str, message: str) -> bool:
    try:
        # Qt only in the window process (and only if it is already up).
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication, QMessageBox
    except Exception:
        return False
    app = QApplication.instance()
    timeout = float(os.environ.get("TASKCHAT_DIALOG_TIMEOUT") or 0)

    def _show() -> None:
        box = QMessageBox(QMessageBox.Icon.Critical, title, message)
        box.setObjectName("taskchat-error-dialog")
        if timeout:
            QTimer.singleShot(int(timeout * 1000), box.accept)
        log.info("error dialog shown")
        box.exec()
        log.info("error dialog closed")

    if app is not None and _invoker is not None and _invoker.available:
        with contextlib.suppress(Exception):
            _invoker.call(_show, timeout=timeout + 5 if timeout else 3600)
            return True
    if threading.current_thread() is not threading.main_thread():
        return False
    if app is None:
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return False
        app = QApplication([sys.argv[0]])
    _show()
    return True


def _gtk_dialog(title: str, message: str) -> bool:
    try:
        # GTK only in the window process (and only if it loads here).
        import gi

        gi.require_version("Gtk", "3.0")
        from gi.repository import GLib, Gtk
    except Exception:
        return False
    timeout = float(os.environ.get("TASKCHAT_DIALOG_TIMEOUT") or 0)

    def _show() -> None:
        dialog = Gtk.MessageDialog(
            message_type=Gtk.MessageType.ERROR, buttons=Gtk.ButtonsType.CLOSE, text=title
        )
        dialog.format_secondary_text(message)
        dialog.set_title(title)
        dialog.set_keep_above(True)
        if timeout:
            GLib.timeout_add(int(timeout * 1000), lambda: dialog.response(Gtk.ResponseType.CLOSE))
        log.info("error dialog shown")
        dialog.run()  # a main loop of its own: works with or without the window's
        dialog.destroy()
        log.info("error dialog closed")

    if _invoker is not None and _invoker.available:
        with contextlib.suppress(Exception):
            _invoker.call(_show, timeout=timeout + 5 if timeout else 3600)
            return True
    if threading.current_thread() is not threading.main_thread():
        return False
    if not Gtk.init_check()[0]:
        return False
    _show()
    return True


def _applescript(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
