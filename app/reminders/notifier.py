"""Native notifications through desktop-notifier (D-Bus on Linux, the OS centre elsewhere)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

ICON = Path(__file__).resolve().parent.parent / "desktop" / "assets" / "taskchat.png"
# How long to wait for the notification service to take a notification.
SEND_TIMEOUT = 10.0


@dataclass(frozen=True)
class Action:
    key: str
    label: str
    run: Callable[[], Coroutine[Any, Any, Any]]


class Notifier(Protocol):
    async def show(self, *, title: str, body: str, actions: list[Action]) -> bool:
        """Show a notification; False when no notification service took it."""
        ...


class DesktopNotifier:
    """desktop-notifier's DesktopNotifier, created on first use.

    Importing it (and dbus-fast) costs ~175 ms, measured: a start-up with no reminder due
    never pays it.
    """

    def __init__(self, app_name: str = "TaskChat") -> None:
        self.app_name = app_name
        self._notifier: Any = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def _get(self) -> Any:
        if self._notifier is None:
            from desktop_notifier import DesktopNotifier as Native
            from desktop_notifier import Icon

            self._notifier = Native(app_name=self.app_name, app_icon=Icon(path=ICON))
        return self._notifier

    def _run(self, action: Action) -> None:
        # Button callbacks are plain functions called from the D-Bus signal handler.
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(action.run())
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _presser(self, action: Action) -> Callable[[], None]:
        return lambda: self._run(action)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("a notification action failed: %s", task.exception())

    async def show(self, *, title: str, body: str, actions: list[Action]) -> bool:
        try:
            from desktop_notifier import Button, Notification

            notifier = self._get()
        except Exception as exc:  # no backend for this platform
            log.warning("notifications unavailable: %s", exc)
            return False
        taken = asyncio.Event()
        buttons = tuple(
            Button(title=a.label, identifier=a.key, on_pressed=self._presser(a)) for a in actions
        )
        note = Notification(title=title, message=body, buttons=buttons, on_dispatched=taken.set)
        try:
            # desktop-notifier logs (and swallows) a failure; on_dispatched says it worked.
            await asyncio.wait_for(notifier.send_notification(note), SEND_TIMEOUT)
        except Exception as exc:
            log.warning("notification failed: %s", exc)
            return False
        return taken.is_set()
