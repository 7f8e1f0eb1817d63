"""Which native web view to use, whether a display is there, and toolkit helpers.

Linux: the system WebKitGTK through PyGObject (pywebview's GTK backend), or Qt WebEngine
through PySide6 (LGPL) with TASKCHAT_WEBVIEW=qt. Windows: the system Edge WebView2
(EdgeChromium). macOS: WKWebView (Cocoa). pywebview picks the implementation; this module
only names it, prepares the environment it needs and offers the few things pywebview
lacks (running code on the GUI thread, grabbing the window as an image, raising it).

Why GTK on Linux: the whole app holds ~40% less memory on WebKitGTK than on Qt WebEngine
(benchmarks/bench_footprint.py), and the web view comes with the system (a .deb depends
on it) instead of ~195 MB of Chromium in the build.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import re
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

GuiName = Literal["qt", "gtk", "edgechromium", "cocoa"]


def gui_name() -> GuiName:
    if sys.platform == "win32":
        return "edgechromium"
    if sys.platform == "darwin":
        return "cocoa"
    # TASKCHAT_WEBVIEW=qt: Qt WebEngine (PySide6, the `qt` extra) instead of WebKitGTK.
    if os.environ.get("TASKCHAT_WEBVIEW") == "qt":
        return "qt"
    return "gtk"


def display_problem() -> str | None:
    """Why no window can be opened here, or None when a display looks usable."""
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return "no display found (neither DISPLAY nor WAYLAND_DISPLAY is set)"
        platform = os.environ.get("QT_QPA_PLATFORM", "")
        if gui_name() == "qt" and platform.startswith(("offscreen", "minimal")):
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
            return missing_library_words(str(exc)) or (
                f"Qt WebEngine (PySide6) could not be loaded ({exc})"
            )
    if gui_name() == "gtk":
        return gtk_problem()
    return None


# The shared libraries behind the typelibs pywebview's GTK backend loads. GObject
# introspection only prints a warning when one cannot be loaded and fails later with an
# unrelated message; loading them first gives the loader's own words.
_GTK_LIBRARIES = ("libgtk-3.so.0", "libjavascriptcoregtk-4.1.so.0", "libwebkit2gtk-4.1.so.0")


def gtk_problem() -> str | None:
    """Why WebKitGTK cannot show a window here (library, typelib, display), or None.

    Unlike Qt, GTK 3 reports a display it cannot open (Gtk.init_check) instead of
    aborting, so this runs in the window process itself.
    """
    import ctypes

    for lib in _GTK_LIBRARIES:
        try:
            ctypes.CDLL(lib)
        except OSError as exc:
            return missing_library_words(str(exc)) or (
                f"a system library the window needs is missing or broken: {lib} ({exc})"
            )
    try:
        import gi

        gi.require_version("Gtk", "3.0")
        gi.require_version("WebKit2", "4.1")
        from gi.repository import Gtk, WebKit2

        WebKit2.get_major_version()
    except ImportError as exc:
        if "gi" in str(exc).split("'"):
            return (
                "PyGObject (the gi module) is not installed; from source: "
                "`pip install -e .` in the project folder"
            )
        return gi_words(str(exc))
    except Exception as exc:  # ValueError: a typelib is missing; GLib.Error
        return gi_words(str(exc))
    if not Gtk.init_check()[0]:
        return f"no display answers at {_display_name()}"
    return None


def gi_words(message: str) -> str:
    """A GObject introspection error ("Namespace WebKit2 not available") in plain words."""
    match = re.search(r"Namespace (\w+) not available(?: for version ([\d.]+))?", message)
    if match:
        name = f"{match.group(1)}-{match.group(2)}" if match.group(2) else match.group(1)
        package = _TYPELIB_PACKAGES.get(name)
        hint = f"; on Debian/Ubuntu: sudo apt install {package}" if package else ""
        return f"the window's web view is not installed: no {name} typelib{hint}"
    return missing_library_words(message) or f"WebKitGTK could not be loaded ({message})"


_TYPELIB_PACKAGES = {
    "WebKit2-4.1": "gir1.2-webkit2-4.1",
    "Gtk-3.0": "gir1.2-gtk-3.0",
    "Gdk-3.0": "gir1.2-gtk-3.0",
    "Soup-3.0": "gir1.2-soup-3.0",
    "JavaScriptCore-4.1": "gir1.2-javascriptcoregtk-4.1",
}


def missing_library_words(message: str) -> str | None:
    """A loader error ("libnss3.so: cannot open shared object file") in plain words."""
    match = _MISSING_LIBRARY.search(message)
    if not match:
        return None
    lib, detail = match.group(1), match.group(2).strip()
    package = _DEBIAN_PACKAGES.get(lib)
    hint = f"; on Debian/Ubuntu: sudo apt install {package}" if package else ""
    return f"a system library the window needs is missing or broken: {lib} ({detail}{hint})"


# What to install on Debian/Ubuntu when one of the window's libraries is missing.
_DEBIAN_PACKAGES = {
    "libwebkit2gtk-4.1.so.0": "libwebkit2gtk-4.1-0",
    "libjavascriptcoregtk-4.1.so.0": "libjavascriptcoregtk-4.1-0",
    "libgtk-3.so.0": "libgtk-3-0",
    "libgirepository-1.0.so.1": "libgirepository-1.0-1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libnss3.so": "libnss3",
    "libnssutil3.so": "libnss3",
    "libsmime3.so": "libnss3",
    "libnspr4.so": "libnspr4",
    "libxkbfile.so.1": "libxkbfile1",
    "libXcomposite.so.1": "libxcomposite1",
    "libXdamage.so.1": "libxdamage1",
    "libXrandr.so.2": "libxrandr2",
    "libXtst.so.6": "libxtst6",
    "libXi.so.6": "libxi6",
    "libXrender.so.1": "libxrender1",
    "libasound.so.2": "libasound2",
    "libgbm.so.1": "libgbm1",
    "libxshmfence.so.1": "libxshmfence1",
    "libdbus-1.so.3": "libdbus-1-3",
    "libfreetype.so.6": "libfreetype6",
}
_MISSING_LIBRARY = re.compile(r"([\w.+-]+\.so[\w.]*): (cannot open shared object file|[^:()]+)")
PROBE_TIMEOUT_S = 15.0


class DisplayProbe:
    """Opens Qt's display connection in a forked child, so a failure cannot abort us.

    Qt ends the process (abort(), exit status 134) when its platform plugin cannot load
    (a missing libxcb-cursor0, as on a fresh Ubuntu) or when DISPLAY names an X server that
    is not there; nothing in Python can catch that. The child does exactly that part,
    creating a QGuiApplication, and exits; the window process reads how it ended. A fork
    costs a few milliseconds and no second interpreter start, and the child runs while this
    process imports Qt WebEngine. Linux (the Qt backend) only.
    """

    def __init__(self, pid: int, fd: int) -> None:
        self._pid = pid
        self._fd = fd

    @classmethod
    def start(cls) -> DisplayProbe | None:
        if gui_name() != "qt" or not hasattr(os, "fork"):
            return None
        try:
            from PySide6.QtGui import QGuiApplication
        except Exception:
            return None  # import_problem() names it
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: only Qt's C++ start-up, then leave without cleanup
            try:
                os.close(read_fd)
                os.dup2(write_fd, 1)
                os.dup2(write_fd, 2)
                QGuiApplication(["taskchat"])
                os._exit(0)
            finally:
                os._exit(70)
        os.close(write_fd)
        return cls(pid, read_fd)

    def result(self, timeout: float = PROBE_TIMEOUT_S) -> str | None:
        """None when the display opened; otherwise why not, in plain words."""
        output = bytearray()
        deadline = time.monotonic() + timeout
        finished = False
        try:
            while not finished:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self._fd], [], [], left)[0]:
                    break
                chunk = os.read(self._fd, 65536)
                finished = not chunk  # end of output: the child has exited
                output += chunk[: max(0, 65536 - len(output))]
        finally:
            os.close(self._fd)
        if not finished:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
        _pid, status = os.waitpid(self._pid, 0)
        if not finished:
            return f"the display did not answer within {timeout:.0f} s ({_display_name()})"
        if os.waitstatus_to_exitcode(status) == 0:
            return None
        return explain_qt_failure(output.decode("utf-8", "replace"))


def _display_name() -> str:
    if os.environ.get("WAYLAND_DISPLAY"):
        return f"WAYLAND_DISPLAY={os.environ['WAYLAND_DISPLAY']}"
    return f"DISPLAY={os.environ.get('DISPLAY', '')}"


def explain_qt_failure(output: str) -> str:
    """Plain words for why Qt could not open a display, from what it printed."""
    if "could not connect to display" in output or "Failed to create wl_display" in output:
        return f"no display answers at {_display_name()}"
    missing = _missing_library()
    if missing:
        return missing_library_words(": ".join(missing)) or f"{missing[0]}: {missing[1]}"
    if "xcb-cursor0 or libxcb-cursor0 is needed" in output:
        return (
            "a system library the window needs is missing: libxcb-cursor.so.0"
            "; on Debian/Ubuntu: sudo apt install libxcb-cursor0"
        )
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    detail = next((ln for ln in lines if "qt.qpa" in ln), lines[0] if lines else "")
    return "Qt could not start its display connection" + (f" ({detail})" if detail else "")


def _missing_library() -> tuple[str, str] | None:
    """Which shared library keeps Qt's xcb plugin from loading (dlopen says it plainly)."""
    if os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY"):
        return None
    try:
        import ctypes

        from PySide6.QtCore import QLibraryInfo

        plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
        plugin = plugins / "platforms" / "libqxcb.so"
        if not plugin.is_file():
            return None
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        match = re.search(r"([\w.+-]+\.so[\w.]*): (.+)$", str(exc))
        if match and not match.group(1).startswith("libqxcb"):
            return match.group(1), match.group(2).strip()
        return None
    except Exception:
        return None
    return None


# What `prepare_environment` changed in this process's environment, with the values it
# found there (None: unset): a program the window starts for the person (their browser,
# app/desktop/links.py) gets their own environment back.
CHANGED_ENV: dict[str, str | None] = {}


def _set_env(name: str, value: str, *, unless_set: bool = False) -> None:
    if unless_set and name in os.environ:
        return  # the person's own setting wins
    CHANGED_ENV.setdefault(name, os.environ.get(name))
    os.environ[name] = value


def prepare_environment() -> None:
    """Environment the web view needs; must run before Qt is imported."""
    _set_env("PYWEBVIEW_GUI", gui_name())  # never probe GTK first
    if gui_name() == "gtk":
        # WebKitGTK's accelerated compositing costs ~80 MiB (benchmarks/bench_footprint.py)
        # and buys nothing a task list needs; TASKCHAT_WEBKIT_COMPOSITING=1 keeps it.
        if os.environ.get("TASKCHAT_WEBKIT_COMPOSITING") != "1":
            _set_env("WEBKIT_DISABLE_COMPOSITING_MODE", "1", unless_set=True)
        # JavaScriptCore's JIT holds ~12 MiB in the web process for this page and paints
        # it no sooner (bench_footprint); its interpreter is what Safari's Lockdown Mode
        # runs, and gives web content less to attack. TASKCHAT_WEBKIT_JIT=1 keeps the JIT.
        if os.environ.get("TASKCHAT_WEBKIT_JIT") != "1":
            _set_env("JSC_useJIT", "0", unless_set=True)
        return
    if gui_name() != "qt":
        return
    _set_env("QT_API", "pyside6", unless_set=True)  # qtpy: never pick PyQt
    # Chromium refuses to run its sandbox as root; only then is it switched off.
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        _set_env("QTWEBENGINE_DISABLE_SANDBOX", "1")
    # Keep Chromium from phoning home (it is a local app; the network may be closed).
    flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
    for flag in ("--disable-background-networking", "--disable-component-update"):
        if flag not in flags:
            flags = f"{flags} {flag}".strip()
    _set_env("QTWEBENGINE_CHROMIUM_FLAGS", flags)
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
    """Runs callables on the GUI thread from any thread (Qt: a queued signal; GTK: an idle
    callback on GLib's main loop, which runs on the main thread)."""

    def __init__(self) -> None:
        self._obj: Any = None
        self._glib: Any = None
        if gui_name() == "gtk":
            # GTK only in the window process
            from gi.repository import GLib

            self._glib = GLib
            return
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
        return self._obj is not None or self._glib is not None

    def call(self, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
        if self._glib is not None:
            if threading.current_thread() is threading.main_thread():
                return fn()
            future: concurrent.futures.Future[Any] = concurrent.futures.Future()

            def idle() -> bool:
                self._run((fn, future))
                return False  # once

            self._glib.idle_add(idle)
            return future.result(timeout)
        if self._obj is None:
            raise RuntimeError("no GUI thread to run on")
        # Qt only in the window process
        from PySide6.QtCore import QThread

        if QThread.currentThread() is self._obj.thread():
            return fn()
        future = concurrent.futures.Future()
        self._obj.call.emit((fn, future))
        return future.result(timeout)


def bring_to_front(window: Any, invoker: GuiInvoker) -> None:
    if invoker.available and window.native is not None:
        native = window.native

        def _raise_gtk() -> None:
            native.deiconify()
            native.show()
            native.present()

        def _raise_qt() -> None:
            # Qt only in the window process
            from PySide6.QtCore import Qt

            if native.windowState() & Qt.WindowState.WindowMinimized:
                native.setWindowState(native.windowState() & ~Qt.WindowState.WindowMinimized)
            native.show()
            native.raise_()
            native.activateWindow()

        invoker.call(_raise_gtk if gui_name() == "gtk" else _raise_qt)
        return
    with contextlib.suppress(Exception):
        window.restore()
    window.show()


def find_webkit_view(widget: Any) -> Any:
    """The WebKit2.WebView inside pywebview's GTK window (GTK thread)."""
    # GTK only in the window process
    from gi.repository import Gtk, WebKit2

    if isinstance(widget, WebKit2.WebView):
        return widget
    if isinstance(widget, Gtk.Container):
        for child in widget.get_children():
            found = find_webkit_view(child)
            if found is not None:
                return found
    return None


def tune_webkit(window: Any) -> None:
    """Before the first page loads (pywebview's `before_show`, GTK thread): a web view
    that holds less — WebKit's smallest cache model (a local app has nothing to cache),
    no GPU compositing, and no WebGL, Web Audio or camera/microphone, which pywebview
    switches on and TaskChat never uses; and one that loads the UI without starting a
    second web process for it (COOP, see `_disable_webkit_feature`)."""
    if gui_name() != "gtk" or window.native is None:
        return
    # GTK only in the window process
    from gi.repository import WebKit2

    view = find_webkit_view(window.native)
    if view is None:
        return
    if os.environ.get("TASKCHAT_WEBKIT_CACHE") != "default":
        view.get_context().set_cache_model(WebKit2.CacheModel.DOCUMENT_VIEWER)
    settings = view.get_settings()
    if os.environ.get("TASKCHAT_WEBKIT_COMPOSITING") != "1":
        settings.set_hardware_acceleration_policy(WebKit2.HardwareAccelerationPolicy.NEVER)
    settings.set_enable_webgl(False)
    settings.set_enable_webaudio(False)
    settings.set_enable_media_stream(False)
    _disable_webkit_feature(settings, "CrossOriginOpenerPolicy")


def _disable_webkit_feature(settings: Any, identifier: str) -> None:
    """Switch off one of WebKit's features (WebKitGTK 2.42+; older ones lack the API).

    CrossOriginOpenerPolicy: the server sends `Cross-Origin-Opener-Policy: same-origin`
    (for the browser `taskchat serve` is opened in), and WebKit honours it by moving the
    page into a new web process when its response arrives: a second WebKitWebProcess
    started on the launch's critical path (~120 ms on an idle 2-core machine, 0.3-0.5 s
    while the server starts beside it). The window needs no such isolation: its page is
    the only top-level document in its web view, which opens no popups (pywebview
    handles no `create` signal, so window.open gives null) and sends other links to the
    system browser; COOP does not govern iframes (ChatKit's) either way.
    """
    # GTK only in the window process
    from gi.repository import WebKit2

    get_all = getattr(WebKit2.Settings, "get_all_features", None)
    if get_all is None:
        return
    features = get_all()
    for i in range(features.get_length()):
        feature = features.get(i)
        if feature.get_identifier() == identifier:
            settings.set_feature_enabled(feature, False)
            return


def grab_window(window: Any, invoker: GuiInvoker, path: Path) -> None:
    """Save a PNG of the window's contents (Qt, GTK)."""
    if not invoker.available or window.native is None:
        raise NotImplementedError(f"screenshots are not supported with the {gui_name()} backend")
    path.parent.mkdir(parents=True, exist_ok=True)
    if gui_name() == "gtk":
        _grab_gtk(window, invoker, path)
        return

    def _grab() -> bool:
        native = window.native
        pixmap = native.grab()
        if pixmap.isNull():
            # Qt only in the window process
            from PySide6.QtWidgets import QApplication

            screen = native.screen() or QApplication.primaryScreen()
            pixmap = screen.grabWindow(int(native.winId()))
        return bool(pixmap.save(str(path), "PNG"))

    if not invoker.call(_grab):
        raise RuntimeError(f"could not write the screenshot to {path}")


def _grab_gtk(window: Any, invoker: GuiInvoker, path: Path, timeout: float = 20.0) -> None:
    """WebKit's own snapshot of what the page shows (WebView.get_snapshot), as a PNG."""
    done: concurrent.futures.Future[None] = concurrent.futures.Future()

    def finished(view: Any, result: Any) -> None:
        try:
            surface = view.get_snapshot_finish(result)
            surface.write_to_png(str(path))
            done.set_result(None)
        except Exception as exc:
            done.set_exception(exc)

    def start() -> None:
        # GTK only in the window process
        from gi.repository import WebKit2

        view = find_webkit_view(window.native)
        if view is None:
            raise RuntimeError("no web view in the window")
        view.get_snapshot(
            WebKit2.SnapshotRegion.VISIBLE, WebKit2.SnapshotOptions.NONE, None, finished
        )

    invoker.call(start)
    done.result(timeout)
