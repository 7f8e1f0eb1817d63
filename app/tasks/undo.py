"""Undo for changes the assistant made: before-images of the tasks a tool call touched.

Each tool call that changes tasks records one change (the tasks as they were, or None for a
task the call created) in `chat_undo`, in the same transaction as the change itself, and
gets a change id, which the `tasks_changed` client effect carries so the task panel can
offer "Undo". `POST /api/tasks/undo/{change_id}` puts every touched task back as it was:
created tasks go, edited ones get their old fields, deleted ones come back with their old
id. Changes are kept in the database, so they survive a restart, for UNDO_SECONDS and at
most MAX_CHANGES per user (the oldest go first), and can be undone once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, Index, Table, delete, or_, select, update
from sqlmodel import Field, SQLModel, col
from sqlmodel import select as sql_select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.types import UTCDateTime, utcnow
from app.errors import Conflict, NotFound
from app.lists.models import TaskList
from app.tasks.models import TASK_DATA_COLUMNS, Task, TaskTag

UNDO_SECONDS = 24 * 3600
MAX_CHANGES = 500  # per user; the oldest go first
_FIELDS = ("id", "user_id", *TASK_DATA_COLUMNS)
_DATETIME = "$datetime"  # how a datetime field of a before-image is kept in JSON
_LISTS = "$lists"  # the key (never a task id) under which deleted lists' images are kept


class ChatUndo(SQLModel, table=True):
    """One undoable change the assistant made (migration 0005_chat_undo)."""

    __tablename__ = "chat_undo"
    __table_args__ = (Index("ix_chat_undo_user_created", "user_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(max_length=64, nullable=False)
    action: str = Field(max_length=32, nullable=False)
    # {task id: before-image or null (the change created it)}, see _encode.
    before: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    undone_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


UNDO: Table = ChatUndo.__table__  # type: ignore[attr-defined]  # SQLModel sets it at class creation


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
        sql_select(Task).where(
            Task.user_id == user_id, or_(col(Task.id).in_(ids), col(Task.parent_id).in_(ids))
        )
    )
    return {row.id: snapshot(row) for row in rows}


def _encode(image: dict[str, Any] | None) -> dict[str, Any] | None:
    if image is None:
        return None
    return {
        k: {_DATETIME: v.isoformat()} if isinstance(v, datetime) else v for k, v in image.items()
    }


def _decode(image: dict[str, Any] | None) -> dict[str, Any] | None:
    if image is None:
        return None
    return {
        k: datetime.fromisoformat(v[_DATETIME]) if isinstance(v, dict) and _DATETIME in v else v
        for k, v in image.items()
    }


def _stored(
    before: dict[str, dict[str, Any] | None], lists: dict[str, dict[str, Any]] | None
) -> dict[str, Any]:
    stored: dict[str, Any] = {k: _encode(v) for k, v in before.items()}
    if lists:
        # Before-images of lists the change deleted (app/lists): put back first.
        stored[_LISTS] = {k: _encode(v) for k, v in lists.items()}
    return stored


async def record(
    session: AsyncSession,
    *,
    user_id: str,
    action: str,
    before: dict[str, dict[str, Any] | None],
    lists: dict[str, dict[str, Any]] | None = None,
) -> str:
    """Add one change to the caller's transaction (it commits with the change itself);
    older changes past the retention limits go in the same transaction."""
    now = utcnow()
    change_id = f"chg_{uuid.uuid4().hex}"
    conn = await session.connection()
    await conn.execute(
        delete(UNDO).where(UNDO.c.created_at < now - timedelta(seconds=UNDO_SECONDS))
    )
    newest = (
        select(UNDO.c.id)
        .where(UNDO.c.user_id == user_id)
        .order_by(UNDO.c.created_at.desc())
        .limit(MAX_CHANGES - 1)
    )
    await conn.execute(delete(UNDO).where(UNDO.c.user_id == user_id, UNDO.c.id.not_in(newest)))
    await conn.execute(
        UNDO.insert().values(
            id=change_id,
            user_id=user_id,
            action=action,
            before=_stored(before, lists),
            created_at=now,
        )
    )
    return change_id


async def undo(session: AsyncSession, user_id: str, change_id: str) -> ChatUndo:
    """Claim the change and put its tasks back, in one transaction; once only."""
    now = utcnow()
    fresh = UNDO.c.created_at >= now - timedelta(seconds=UNDO_SECONDS)
    conn = await session.connection()
    claimed = await conn.execute(
        update(UNDO)
        .where(UNDO.c.id == change_id, UNDO.c.user_id == user_id, UNDO.c.undone_at.is_(None), fresh)
        .values(undone_at=now)
    )
    if claimed.rowcount != 1:
        found = (
            await conn.execute(
                select(UNDO.c.undone_at).where(
                    UNDO.c.id == change_id, UNDO.c.user_id == user_id, fresh
                )
            )
        ).first()
        await session.rollback()
        # Another user's change is reported exactly like a missing one.
        if found is None:
            raise NotFound("This change can no longer be undone.")
        raise Conflict("This change was already undone.")
    row = (
        await conn.execute(select(UNDO.c.action, UNDO.c.before).where(UNDO.c.id == change_id))
    ).one()
    stored = dict(row.before)
    list_images = stored.pop(_LISTS, None) or {}
    before = {k: _decode(v) for k, v in stored.items()}
    lists = {k: _decode(v) or {} for k, v in list_images.items()}
    await restore(session, user_id, before, lists=lists)
    await session.commit()
    return ChatUndo(id=change_id, user_id=user_id, action=row.action, before=before, created_at=now)


async def restore(
    session: AsyncSession,
    user_id: str,
    before: dict[str, dict[str, Any] | None],
    *,
    lists: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Put the user's tasks (and deleted lists) back to `before`, in the caller's
    transaction."""
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
            sql_select(Task).where(Task.user_id == user_id, col(Task.id).in_(ids))
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
    await session.flush()
