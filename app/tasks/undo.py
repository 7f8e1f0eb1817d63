"""Undo for changes the assistant made: before-images of the tasks a tool call touched.

Each tool call that changes tasks records one Change (the tasks as they were, or None for a
task the call created) and gets a change id, which the `tasks_changed` client effect carries
so the task panel can offer "Undo". `POST /api/tasks/undo/{change_id}` puts every touched
task back as it was: created tasks go, edited ones get their old fields, deleted ones come
back with their old id. Changes are kept in memory for UNDO_SECONDS (so a restart of the
app forgets them) and can be undone once.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.types import utcnow
from app.errors import Conflict, NotFound
from app.lists.models import TaskList
from app.tasks.models import TASK_DATA_COLUMNS, Task, TaskTag

UNDO_SECONDS = 15 * 60
MAX_CHANGES = 500  # per process; the oldest go first
_FIELDS = ("id", "user_id", *TASK_DATA_COLUMNS)


def snapshot(row: Task) -> dict[str, Any]:
    data = {name: getattr(row, name) for name in _FIELDS}
    data["tags"] = list(data["tags"] or [])
    return data


async def snapshots(
    session: AsyncSession, user_id: str, task_ids: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Before-images of the user's tasks among `task_ids` and of their steps (a change to
    a task can change its steps: deleting or completing it); missing ones are left out."""
    ids = [i for i in dict.fromkeys(task_ids) if isinstance(i, str) and i]
    if not ids:
        return {}
    rows = await session.exec(
        select(Task).where(
            Task.user_id == user_id, or_(col(Task.id).in_(ids), col(Task.parent_id).in_(ids))
        )
    )
    return {row.id: snapshot(row) for row in rows}


@dataclass
class Change:
    id: str
    user_id: str
    action: str
    before: dict[str, dict[str, Any] | None]
    at: float = field(default_factory=time.monotonic)
    undone: bool = False
    # Before-images of lists the change deleted (app/lists), put back first.
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)


class UndoLog:
    def __init__(self, seconds: float = UNDO_SECONDS, max_changes: int = MAX_CHANGES) -> None:
        self.seconds = seconds
        self.max_changes = max_changes
        self._changes: dict[str, Change] = {}
        self._lock = threading.Lock()

    def record(
        self,
        user_id: str,
        action: str,
        before: dict[str, dict[str, Any] | None],
        *,
        lists: dict[str, dict[str, Any]] | None = None,
    ) -> str:
        change = Change(f"chg_{uuid.uuid4().hex}", user_id, action, before, lists=lists or {})
        with self._lock:
            self._prune()
            self._changes[change.id] = change
            while len(self._changes) > self.max_changes:
                self._changes.pop(next(iter(self._changes)))
        return change.id

    def _prune(self) -> None:
        cutoff = time.monotonic() - self.seconds
        for key in [k for k, c in self._changes.items() if c.at < cutoff]:
            del self._changes[key]

    def _claim(self, user_id: str, change_id: str) -> Change:
        with self._lock:
            self._prune()
            change = self._changes.get(change_id)
            # Another user's change is reported exactly like a missing one.
            if change is None or change.user_id != user_id:
                raise NotFound("This change can no longer be undone.")
            if change.undone:
                raise Conflict("This change was already undone.")
            change.undone = True
            return change

    async def undo(self, session: AsyncSession, user_id: str, change_id: str) -> Change:
        change = self._claim(user_id, change_id)
        try:
            await restore(session, user_id, change.before, lists=change.lists)
        except BaseException:
            change.undone = False
            raise
        return change


async def restore(
    session: AsyncSession,
    user_id: str,
    before: dict[str, dict[str, Any] | None],
    *,
    lists: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Put the user's tasks (and deleted lists) back as they were, in one transaction."""
    for list_id, list_image in (lists or {}).items():
        existing = await session.get(TaskList, list_id)
        if existing is None:
            session.add(TaskList(**list_image))
        elif existing.user_id != user_id:
            continue
    if lists:
        await session.flush()
    ids = list(before)
    rows = {
        row.id: row
        for row in await session.exec(
            select(Task).where(Task.user_id == user_id, col(Task.id).in_(ids))
        )
    }
    gone = [i for i, image in before.items() if image is None and i in rows]
    if gone:
        await session.exec(delete(Task).where(col(Task.user_id) == user_id, col(Task.id).in_(gone)))
    now = utcnow()
    for task_id, image in before.items():
        if image is None:
            continue
        row = rows.get(task_id)
        if row is None:
            row = Task(**image)  # deleted by the change: back with its old id
            session.add(row)
        else:
            for name in _FIELDS:
                if name not in ("id", "user_id", "created_at"):
                    setattr(row, name, image[name])
            row.updated_at = now
            session.add(row)
        await session.flush()
        await session.exec(delete(TaskTag).where(col(TaskTag.task_id) == task_id))
        session.add_all(TaskTag(task_id=task_id, user_id=user_id, tag=t) for t in image["tags"])
    await session.commit()


undo_log = UndoLog()
