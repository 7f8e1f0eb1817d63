"""The tray with the GTK backend: an AppIndicator or a GTK status icon, and quick add in GTK.

Where a StatusNotifierItem host runs (KDE, GNOME with the AppIndicator extension, most
panels today) the icon is an Ayatana AppIndicator (libayatana-appindicator through
GObject introspection, apt gir1.2-ayatanaappindicator3-0.1); where an XEmbed tray manager
owns the X selection `_NET_SYSTEM_TRAY_S<screen>` (older panels, trayer, stalonetray) it is
a Gtk.StatusIcon; with neither there is no tray and closing the window quits, as with Qt.
Every GTK call runs on the main thread (GLib's main loop), through the GuiInvoker.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from typing import Any

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
gi.require_version("WebKit2", "4.1")
from gi.repository import Gdk, Gio, GLib, Gtk  # noqa: E402 (after require_version)

from app.desktop import backend  # noqa: E402
from app.desktop.tray import CHIPS, ICON, Tray, task_body  # noqa: E402
from app.tasks.recurrence import describe  # noqa: E402

log = logging.getLogger(__name__)

SNI_WATCHER = "org.kde.StatusNotifierWatcher"


def _session_bus() -> Gio.DBusConnection | None:
    # Only an existing bus: Gio would otherwise "autolaunch" a dbus-daemon for the X
    # display, which outlives TaskChat.
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return None
    try:
        return Gio.bus_get_sync(Gio.BusType.SESSION, None)
    except GLib.Error:
        return None


def status_notifier_host() -> bool:
    """True when a StatusNotifierItem watcher (a tray host for AppIndicators) is running."""
    bus = _session_bus()
    if bus is None:
        return False
    try:
        reply = bus.call_sync(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "NameHasOwner",
            GLib.Variant("(s)", (SNI_WATCHER,)),
            GLib.VariantType("(b)"),
            Gio.DBusCallFlags.NONE,
            1000,
            None,
        )
    except GLib.Error:
        return False
    return bool(reply.unpack()[0])


def xembed_tray() -> bool:
    """True when an XEmbed tray manager owns `_NET_SYSTEM_TRAY_S<screen>` on DISPLAY."""
    if not os.environ.get("DISPLAY"):
        return False
    try:
        x11 = ctypes.CDLL("libX11.so.6")
    except OSError:
        return False
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XDefaultScreen.argtypes = [ctypes.c_void_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XGetSelectionOwner.restype = ctypes.c_ulong
    x11.XGetSelectionOwner.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    display = x11.XOpenDisplay(None)
    if not display:
        return False
    try:
        name = f"_NET_SYSTEM_TRAY_S{x11.XDefaultScreen(display)}".encode()
        return bool(x11.XGetSelectionOwner(display, x11.XInternAtom(display, name, 0)))
    finally:
        x11.XCloseDisplay(display)


def _app_indicator() -> Any:
    try:
        gi.require_version("AyatanaAppIndicator3", "0.1")
        from gi.repository import AyatanaAppIndicator3
    except (ImportError, ValueError):
        return None
    return AyatanaAppIndicator3


class GtkTray(Tray):
    """Tray (GTK): the same menu, window hooks and requests as the Qt tray."""

    def _create(self) -> bool:
        menu = Gtk.Menu()
        for key, label, run in (
            ("open", "Open TaskChat", self.open_window),
            ("quick_add", "Quick add…", self.quick_add),
            ("pause", "Pause reminders for 1 hour", self.pause_reminders),
            ("quit", "Quit TaskChat", self.quit),
        ):
            item = Gtk.MenuItem(label=label)
            item.connect("activate", lambda _item, run=run: run())
            menu.append(item)
            self.actions[key] = item
        menu.show_all()
        indicator_lib = _app_indicator() if status_notifier_host() else None
        if indicator_lib is not None:
            indicator = indicator_lib.Indicator.new(
                "taskchat", str(ICON), indicator_lib.IndicatorCategory.APPLICATION_STATUS
            )
            indicator.set_title("TaskChat")
            indicator.set_menu(menu)
            indicator.set_secondary_activate_target(self.actions["open"])
            indicator.set_status(indicator_lib.IndicatorStatus.ACTIVE)
            self._icon, kind = indicator, "StatusNotifierItem"
        elif xembed_tray():
            icon = Gtk.StatusIcon.new_from_file(str(ICON))
            icon.set_tooltip_text("TaskChat")
            icon.set_title("TaskChat")
            icon.connect("activate", lambda _icon: self.open_window())
            icon.connect(
                "popup-menu",
                lambda icon, button, when: menu.popup(
                    None, None, Gtk.StatusIcon.position_menu, icon, button, when
                ),
            )
            icon.set_visible(True)
            self._icon, kind = icon, "XEmbed"
        else:
            log.info("no system tray: closing the window quits TaskChat")
            return False
        self._menu, self.active = menu, True
        log.info("tray icon shown (%s)", kind)
        return True

    def tell(self, title: str, text: str) -> None:
        """A desktop notification (org.freedesktop.Notifications), when a session bus is
        there; GTK's tray icons have no balloon of their own."""
        bus = _session_bus()
        if bus is None:
            return
        bus.call(
            "org.freedesktop.Notifications",
            "/org/freedesktop/Notifications",
            "org.freedesktop.Notifications",
            "Notify",
            GLib.Variant("(susssasa{sv}i)", ("TaskChat", 0, str(ICON), title, text, [], {}, -1)),
            None,
            Gio.DBusCallFlags.NONE,
            5000,
            None,
            None,
        )

    def open_window(self) -> None:
        native = self.window.native
        if native is not None:
            native.deiconify()
            native.show()
            native.present()

    def quick_add(self) -> None:
        if self._quick is None:
            self._quick = GtkQuickAddWindow(self)
        self._quick.open()

    def quit(self) -> None:
        log.info("quit from the tray")
        if isinstance(self._icon, Gtk.StatusIcon):
            self._icon.set_visible(False)
        elif self._icon is not None:
            lib = _app_indicator()
            if lib is not None:
                self._icon.set_status(lib.IndicatorStatus.PASSIVE)
        self.quit_app()

    def run_js(self, script: str, done: Any) -> None:
        view = backend.find_webkit_view(self.window.native)

        def finished(view: Any, result: Any) -> None:
            try:
                value = view.evaluate_javascript_finish(result)
                done(value.to_int32() if value.is_number() else None)
            except Exception as exc:
                log.warning("tray script failed: %s", exc)
                done(None)

        view.evaluate_javascript(script, -1, None, None, None, finished)

    # ------------------------------------------------------------------ test hooks

    def test_trigger(self, key: str) -> None:
        self.actions[key].activate()

    def test_type(self, text: str, *, enter: bool) -> None:
        self.actions["quick_add"].activate()
        self._quick.entry.set_text(text)
        if enter:
            self._quick.entry.activate()

    def test_quick_visible(self) -> bool:
        return bool(self._quick is not None and self._quick.window.get_visible())

    def test_close_window(self) -> None:
        self.window.native.close()

    def test_shot(self, path: str) -> bool:
        quick = self._quick
        if quick is not None and quick.window.get_visible():
            target = quick.window.get_window()
            width, height = target.get_width(), target.get_height()
        else:
            target = Gdk.get_default_root_window()
            width, height = target.get_width(), target.get_height()
        pixbuf = Gdk.pixbuf_get_from_window(target, 0, 0, width, height)
        return bool(pixbuf is not None and pixbuf.savev(path, "png", [], []))


class GtkQuickAddWindow:
    """A small window above the others: one line, its chips, what the line will create."""

    def __init__(self, tray: GtkTray) -> None:
        self.tray = tray
        window = Gtk.Window(title="TaskChat — Quick add")
        window.set_keep_above(True)
        window.set_type_hint(Gdk.WindowTypeHint.UTILITY)
        window.set_default_size(460, -1)
        window.set_border_width(10)
        window.connect("delete-event", lambda *_a: window.hide() or True)
        window.connect("key-press-event", self._key)
        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6)
        self.entry = Gtk.Entry()
        self.entry.set_placeholder_text("Add a task — e.g. water the plants every sunday at 6pm")
        self.entry.connect("changed", lambda entry: self._preview(entry.get_text()))
        self.entry.connect("activate", lambda _entry: self.submit())
        box.pack_start(self.entry, False, False, 0)
        chips = Gtk.Box(orientation=Gtk.Orientation.HORIZONTAL, spacing=4)
        for chip in CHIPS:
            button = Gtk.Button(label=chip)
            button.set_relief(Gtk.ReliefStyle.NONE)
            button.connect("clicked", lambda _b, c=chip: self.add_chip(c))
            chips.pack_start(button, False, False, 0)
        box.pack_start(chips, False, False, 0)
        self.hint = Gtk.Label(label="", xalign=0)
        box.pack_start(self.hint, False, False, 0)
        window.add(box)
        self.window = window

    def _key(self, _window: Gtk.Window, event: Gdk.EventKey) -> bool:
        if event.keyval == Gdk.KEY_Escape:
            self.window.hide()
            return True
        return False

    def open(self) -> None:
        self.entry.set_text("")
        self.hint.set_text("Enter adds the task; Esc closes.")
        self.window.show_all()
        self.window.present()
        self.entry.grab_focus()

    def add_chip(self, chip: str) -> None:
        self.entry.set_text((self.entry.get_text().rstrip() + " " + chip).strip())
        self.entry.grab_focus()
        self.entry.set_position(-1)

    def _preview(self, text: str) -> None:
        body = task_body(text, self.tray.settings)
        if body is None:
            self.hint.set_text("")
            return
        parts = [f"“{body['title']}”"]
        if body.get("recurrence"):
            parts.append(f"repeats {describe(body['recurrence'])}")
        if body.get("due"):
            parts.append(f"due {body['due'][:16].replace('T', ' ')}")
        self.hint.set_text(" · ".join(parts))

    def submit(self) -> None:
        body = task_body(self.entry.get_text(), self.tray.settings)
        if body is None:
            return
        self.hint.set_text("Adding…")

        def send() -> None:
            status = self.tray.post("/api/tasks", body)
            self.tray.invoker.call(lambda: self._sent(status))

        threading.Thread(target=send, daemon=True).start()

    def _sent(self, status: int) -> None:
        if status == 201:
            log.info("quick add created a task")
            self.window.hide()
        else:
            log.warning("quick add failed (HTTP status %s)", status or "none")
            self.hint.set_text("Could not add the task — is TaskChat still running?")
