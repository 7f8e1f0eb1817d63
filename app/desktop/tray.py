"""Tray icon: closing the window keeps TaskChat running; quick add, pause reminders, quit.

Only where a system tray exists; elsewhere closing the window quits as before. This module
holds what every toolkit shares and the Qt tray (QSystemTrayIcon: an XEmbed tray or a
StatusNotifierItem host); app/desktop/tray_gtk.py the GTK one; the window picks. The tray talks to
the server through the (possibly hidden) main window's page, which holds the session:
a request with the page's own cookie, so this process never handles a session token.
PySide6 is imported inside the methods: Qt may only load after
backend.prepare_environment(), as everywhere in app/desktop.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from app.config import Settings
from app.desktop import backend
from app.tasks.quickadd import parse
from app.tasks.recurrence import describe, local_zone

log = logging.getLogger(__name__)

PREFS_FILE = "tray.json"
ICON = Path(__file__).resolve().parent / "assets" / "taskchat.png"
CHIPS = ("today", "tomorrow", "every day", "every weekday", "every week", "every month")
JS_TIMEOUT = 10.0  # seconds the quick-add window waits for its task


@dataclass
class TrayPrefs:
    close_to_tray: bool = True  # the setting; on by default where a tray exists
    told: bool = False  # the person was told once that closing keeps TaskChat running

    @classmethod
    def load(cls, data_dir: Path) -> TrayPrefs:
        try:
            raw = json.loads((data_dir / PREFS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(raw, dict):
            return cls()
        return cls(
            close_to_tray=bool(raw.get("close_to_tray", True)), told=bool(raw.get("told", False))
        )

    def save(self, data_dir: Path) -> None:
        path = data_dir / PREFS_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(self), fh)


def task_body(text: str, settings: Settings) -> dict[str, Any] | None:
    """The POST /api/tasks body for a quick-add line (None for an empty line)."""
    text = text.strip()
    if not text:
        return None
    zone = local_zone(settings.timezone)
    now = datetime.now(zone)
    parsed = parse(text, now=now, zone=zone)
    body: dict[str, Any] = {"title": parsed.title}
    due: date | datetime | None = parsed.due
    if parsed.recurrence:
        body["recurrence"] = parsed.recurrence
    else:
        for word, days in (("today", 0), ("tomorrow", 1)):
            if f" {word}" in f" {text.lower()}":
                due = date.fromordinal(now.date().toordinal() + days)
                title = " ".join(w for w in parsed.title.split() if w.lower() != word)
                body["title"] = title or parsed.title
    if due is not None:
        body["due"] = due.isoformat()
    return body


class Tray:
    """Owns the tray icon and the quick-add window; every Qt call runs on the GUI thread."""

    def __init__(
        self,
        *,
        settings: Settings,
        window: Any,
        invoker: backend.GuiInvoker,
        quit_app: Callable[..., None],
        quitting: threading.Event,
    ) -> None:
        self.settings = settings
        self.window = window
        self.invoker = invoker
        self.quit_app = quit_app
        self.quitting = quitting
        self.prefs = TrayPrefs.load(settings.data_dir)
        self.active = False
        self._icon: Any = None
        self._menu: Any = None
        self._quick: Any = None
        self.actions: dict[str, Any] = {}  # the menu's QActions by key

    # --------------------------------------------------------------- window hooks

    def on_closing(self) -> bool:
        """pywebview's `closing` handler (GUI thread): False keeps the app in the tray."""
        if self.quitting.is_set() or not self.active or not self.prefs.close_to_tray:
            return True
        native = self.window.native
        if native is not None:
            native.hide()
        log.info("window hidden; TaskChat keeps running in the tray")
        if not self.prefs.told:
            self.tell(
                "TaskChat is still running",
                "Reminders keep working while the window is closed. Open TaskChat or quit it "
                "from this icon.",
            )
            self.prefs.told = True
            with contextlib.suppress(OSError):
                self.prefs.save(self.settings.data_dir)
        return False

    def start(self) -> bool:
        """Show the tray icon if this desktop has a tray (from any thread)."""
        if not self.invoker.available:
            return False
        return bool(self.invoker.call(self._create))

    # ------------------------------------------------------------------ GUI thread

    def _create(self) -> bool:
        from PySide6.QtGui import QIcon
        from PySide6.QtWidgets import QMenu, QSystemTrayIcon

        if not QSystemTrayIcon.isSystemTrayAvailable():
            log.info("no system tray: closing the window quits TaskChat")
            return False
        icon = QSystemTrayIcon(QIcon(str(ICON)))
        icon.setToolTip("TaskChat")
        menu = QMenu()
        for key, label, run in (
            ("open", "Open TaskChat", self.open_window),
            ("quick_add", "Quick add…", self.quick_add),
            ("pause", "Pause reminders for 1 hour", self.pause_reminders),
            ("quit", "Quit TaskChat", self.quit),
        ):
            action = menu.addAction(label)
            action.triggered.connect(run)
            self.actions[key] = action
        icon.setContextMenu(menu)
        icon.activated.connect(self._activated)
        icon.show()
        self._icon, self._menu, self.active = icon, menu, True
        log.info("tray icon shown")
        return True

    def tell(self, title: str, text: str) -> None:
        self._icon.showMessage(title, text)

    def _activated(self, reason: Any) -> None:
        from PySide6.QtWidgets import QSystemTrayIcon

        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.open_window()

    def open_window(self) -> None:
        native = self.window.native
        if native is not None:
            native.show()
            native.raise_()
            native.activateWindow()

    def quick_add(self) -> None:
        if self._quick is None:
            self._quick = QuickAddWindow(self)
        self._quick.open()

    def pause_reminders(self) -> None:
        threading.Thread(
            target=self.post, args=("/api/reminders/pause", {"minutes": 60}), daemon=True
        ).start()
        log.info("reminders paused for an hour from the tray")

    def quit(self) -> None:
        log.info("quit from the tray")
        if self._icon is not None:
            self._icon.hide()
        self.quit_app()

    # ---------------------------------------------- test hooks (GUI thread, see below)

    def test_trigger(self, key: str) -> None:
        self.actions[key].trigger()

    def test_type(self, text: str, *, enter: bool) -> None:
        self.actions["quick_add"].trigger()
        self._quick.line.setText(text)
        if enter:
            self._quick.line.returnPressed.emit()

    def test_quick_visible(self) -> bool:
        return bool(self._quick is not None and self._quick.widget.isVisible())

    def test_close_window(self) -> None:
        self.window.native.close()

    def test_shot(self, path: str) -> bool:
        from PySide6.QtWidgets import QApplication

        quick = self._quick
        if quick is not None and quick.widget.isVisible():
            # The window itself (a bare X server without a window manager may not have
            # composed it onto the root window yet).
            return bool(quick.widget.grab().save(path, "PNG"))
        return bool(QApplication.primaryScreen().grabWindow(0).save(path, "PNG"))

    # ------------------------------------------------------------- worker threads

    def run_js(self, script: str, done: Callable[[Any], None]) -> None:
        """Run `script` in the page (GUI thread); `done` gets its value."""
        self.window.native.webview.page().runJavaScript(script, 0, done)

    def post(self, path: str, body: dict[str, Any]) -> int:
        """POST JSON through the window's page (its session cookie); the HTTP status or 0.

        The web view's own script call (Qt's runJavaScript, WebKit's evaluate_javascript),
        not pywebview's evaluate_js: that wraps the script in eval(), which the app's
        Content-Security-Policy (rightly) forbids.
        """
        done = threading.Event()
        result: list[Any] = []

        def got(value: Any) -> None:
            result.append(value)
            done.set()

        script = (
            "(function () { var x = new XMLHttpRequest(); "
            f"x.open('POST', {json.dumps(path)}, false); "
            "x.setRequestHeader('Content-Type', 'application/json'); "
            f"try {{ x.send({json.dumps(json.dumps(body))}); }} catch (e) {{ return 0; }} "
            "return x.status; })()"
        )

        try:
            self.invoker.call(lambda: self.run_js(script, got))
        except Exception as exc:
            log.warning("tray request %s failed: %s", path, exc)
            return 0
        if not done.wait(JS_TIMEOUT) or not result:
            return 0
        try:
            return int(result[0])
        except (TypeError, ValueError):
            return 0


class QuickAddWindow:
    """A small always-on-top window: one line, its chips, and what the line will create."""

    def __init__(self, tray: Tray) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import (
            QHBoxLayout,
            QLabel,
            QLineEdit,
            QPushButton,
            QVBoxLayout,
            QWidget,
        )

        self.tray = tray
        widget = QWidget(None, Qt.WindowType.Tool | Qt.WindowType.WindowStaysOnTopHint)
        widget.setWindowTitle("TaskChat — Quick add")
        widget.setMinimumWidth(460)
        layout = QVBoxLayout(widget)
        self.line = QLineEdit()
        self.line.setPlaceholderText("Add a task — e.g. water the plants every sunday at 6pm")
        layout.addWidget(self.line)
        chips = QHBoxLayout()
        for chip in CHIPS:
            button = QPushButton(chip)
            button.setFlat(True)
            button.clicked.connect(lambda _=False, c=chip: self.add_chip(c))
            chips.addWidget(button)
        layout.addLayout(chips)
        self.hint = QLabel("")
        layout.addWidget(self.hint)
        self.line.textChanged.connect(self._preview)
        self.line.returnPressed.connect(self.submit)
        self.widget = widget

    def open(self) -> None:
        self.line.clear()
        self.hint.setText("Enter adds the task; Esc closes.")
        self.widget.show()
        self.widget.raise_()
        self.widget.activateWindow()
        self.line.setFocus()

    def add_chip(self, chip: str) -> None:
        self.line.setText((self.line.text().rstrip() + " " + chip).strip())
        self.line.setFocus()

    def _preview(self, text: str) -> None:
        body = task_body(text, self.tray.settings)
        if body is None:
            self.hint.setText("")
            return
        parts = [f"“{body['title']}”"]
        if body.get("recurrence"):
            parts.append(f"repeats {describe(body['recurrence'])}")
        if body.get("due"):
            parts.append(f"due {body['due'][:16].replace('T', ' ')}")
        self.hint.setText(" · ".join(parts))

    def submit(self) -> None:
        body = task_body(self.line.text(), self.tray.settings)
        if body is None:
            return
        self.hint.setText("Adding…")

        def send() -> None:
            status = self.tray.post("/api/tasks", body)
            self.tray.invoker.call(lambda: self._sent(status))

        threading.Thread(target=send, daemon=True).start()

    def _sent(self, status: int) -> None:
        if status == 201:
            log.info("quick add created a task")
            self.widget.hide()
        else:
            log.warning("quick add failed (HTTP status %s)", status or "none")
            self.hint.setText("Could not add the task — is TaskChat still running?")


def run_test_script(tray: Tray, script: str) -> None:
    """Test hook (TASKCHAT_TEST_TRAY): steps separated by ';' run as the menu would run them:
    `quickadd=TEXT` (menu, type, Enter), `quicktype=TEXT` (menu, type), `close` (the
    window's close button), `pause`, `quit`, `wait=SECONDS`, `shot=PATH` (the screen)."""
    for step in filter(None, (s.strip() for s in script.split(";"))):
        name, _, arg = step.partition("=")
        log.info("tray test step: %s", name)
        if name == "quicktype":
            tray.invoker.call(functools.partial(tray.test_type, arg, enter=False))
            time.sleep(0.5)
        elif name == "quickadd":
            tray.invoker.call(functools.partial(tray.test_type, arg, enter=True))
            deadline = time.monotonic() + 2 * JS_TIMEOUT
            while tray.invoker.call(tray.test_quick_visible) and time.monotonic() < deadline:
                time.sleep(0.1)  # until the task is added (the window hides) or it failed
        elif name == "close":
            tray.invoker.call(tray.test_close_window)
            time.sleep(1)
        elif name == "wait":
            time.sleep(float(arg or 1))
        elif name == "shot":
            Path(arg).parent.mkdir(parents=True, exist_ok=True)
            tray.invoker.call(functools.partial(tray.test_shot, arg))
        elif name in ("pause", "quit"):
            tray.invoker.call(functools.partial(tray.test_trigger, name))
            time.sleep(1)
