"""Task ↔ message links: which thread (and which item of it) created or changed a task.

The chat tools call `record` after every successful change; the REST layer calls
`with_sources` so every task it returns carries `source` (its latest link whose thread
still exists). Deleting a task deletes its links (foreign key, ON DELETE CASCADE); deleting
a thread deletes its links too, so the task's source becomes null (or an older thread's).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, String, func
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.chat.models import ChatItem, ChatThread
from app.db.types import UTCDateTime, utcnow
from app.tasks.models import Task, TaskPublic, TaskSource

log = logging.getLogger(__name__)
ACTIONS = ("created", "updated", "completed", "reopened", "deleted")


class TaskLink(SQLModel, table=True):
    __tablename__ = "task_link"
    __table_args__ = (
        Index("ix_task_link_task", "task_id", "id"),
        Index("ix_task_link_thread", "thread_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    task_id: str = Field(
        sa_column=Column(String(36), ForeignKey("task.id", ondelete="CASCADE"), nullable=False)
    )
    user_id: str = Field(max_length=64, nullable=False)
    thread_id: str = Field(
        sa_column=Column(
            String(64), ForeignKey("chat_thread.id", ondelete="CASCADE"), nullable=False
        )
    )
    item_id: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=16, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


async def turn_item_id(session: AsyncSession, *, user_id: str, thread_id: str) -> str | None:
    """The id of the thread's latest user message: the one whose turn is running now."""
    stmt = (
        select(ChatItem.id)
        .where(
            ChatItem.thread_id == thread_id,
            ChatItem.user_id == user_id,
            ChatItem.type == "user_message",
        )
        .order_by(col(ChatItem.created_at).desc(), col(ChatItem.seq).desc())
        .limit(1)
    )
    return (await session.exec(stmt)).first()


async def record(
    session: AsyncSession,
    *,
    user_id: str,
    thread_id: str,
    task_ids: Iterable[str],
    action: str,
    item_id: str | None = None,
) -> int:
    """Link every still existing, owned task in `task_ids` to the thread; returns how many."""
    ids = list(dict.fromkeys(task_ids))
    if not ids:
        return 0
    thread = await session.get(ChatThread, thread_id)
    if thread is None or thread.user_id != user_id:
        return 0
    owned = (
        await session.exec(select(Task.id).where(Task.user_id == user_id, col(Task.id).in_(ids)))
    ).all()
    if not owned:
        return 0
    if item_id is None:
        item_id = await turn_item_id(session, user_id=user_id, thread_id=thread_id)
    now = utcnow()
    owned_set = set(owned)
    session.add_all(
        TaskLink(
            task_id=task_id,
            user_id=user_id,
            thread_id=thread_id,
            item_id=item_id,
            action=action,
            created_at=now,
        )
        for task_id in ids
        if task_id in owned_set
    )
    await session.commit()
    return len(owned_set)


async def sources(
    session: AsyncSession, *, user_id: str, task_ids: Sequence[str]
) -> dict[str, TaskSource]:
    """The latest link of each task (whose thread still exists), by task id."""
    if not task_ids:
        return {}
    latest = (
        select(func.max(TaskLink.id))
        .join(ChatThread, col(ChatThread.id) == col(TaskLink.thread_id))
        .where(
            TaskLink.user_id == user_id,
            col(TaskLink.task_id).in_(list(task_ids)),
            ChatThread.user_id == user_id,
        )
        .group_by(col(TaskLink.task_id))
    )
    rows = (
        await session.exec(
            select(TaskLink.task_id, TaskLink.thread_id, ChatThread.title, TaskLink.item_id)
            .join(ChatThread, col(ChatThread.id) == col(TaskLink.thread_id))
            .where(col(TaskLink.id).in_(latest))
        )
    ).all()
    return {
        task_id: TaskSource(thread_id=thread_id, thread_title=title, item_id=item_id)
        for task_id, thread_id, title, item_id in rows
    }


async def with_sources(
    session: AsyncSession, *, user_id: str, tasks: Sequence[TaskPublic]
) -> list[TaskPublic]:
    found = await sources(session, user_id=user_id, task_ids=[t.id for t in tasks])
    return [t.model_copy(update={"source": found.get(t.id)}) for t in tasks]


async def with_source(session: AsyncSession, *, user_id: str, task: TaskPublic) -> TaskPublic:
    return (await with_sources(session, user_id=user_id, tasks=[task]))[0]


async def titles(session: AsyncSession, *, user_id: str, task_ids: Iterable[str]) -> dict[str, str]:
    ids = list(dict.fromkeys(task_ids))
    if not ids:
        return {}
    rows = (
        await session.exec(
            select(Task.id, Task.title).where(Task.user_id == user_id, col(Task.id).in_(ids))
        )
    ).all()
    return dict(rows)


def ids_in_arguments(args: Any) -> list[str]:
    """The task ids a tool call names (task_id / task_ids), to read titles before deletes."""
    if not isinstance(args, dict):
        return []
    ids: list[str] = []
    if isinstance(args.get("task_id"), str):
        ids.append(args["task_id"])
    if isinstance(args.get("task_ids"), list):
        ids.extend(i for i in args["task_ids"] if isinstance(i, str))
    return ids


async def titles_before(session: AsyncSession, user_id: str, args: Any) -> dict[str, str]:
    """Titles of the tasks a tool call names, read before it runs (deletes lose them)."""
    return await titles(session, user_id=user_id, task_ids=ids_in_arguments(args))


async def after_tool(
    session: AsyncSession,
    *,
    user_id: str,
    thread_id: str,
    changed: Sequence[str],
    action: str,
    before: dict[str, str],
) -> list[dict[str, str]]:
    """Link the changed tasks to the thread's current turn; `[{id, title}]` for the UI chips.

    A failure here is logged and swallowed: the task change itself is already committed.
    """
    if not changed:
        return []
    try:
        now_titles = await titles(session, user_id=user_id, task_ids=changed)
        if action != "deleted":
            await record(
                session, user_id=user_id, thread_id=thread_id, task_ids=changed, action=action
            )
    except Exception:  # pragma: no cover - defensive: links are secondary to the change
        log.exception("could not record task links")
        await session.rollback()
        now_titles = {}
    return [{"id": i, "title": now_titles.get(i) or before.get(i) or ""} for i in changed]


async def thread_links(
    session: AsyncSession, *, user_id: str, thread_id: str
) -> list[dict[str, str | None]]:
    """The tasks each turn of a thread touched (tasks that still exist), oldest first."""
    rows = (
        await session.exec(
            select(TaskLink.item_id, TaskLink.task_id, Task.title, TaskLink.action)
            .join(Task, col(Task.id) == col(TaskLink.task_id))
            .where(TaskLink.user_id == user_id, TaskLink.thread_id == thread_id)
            .order_by(col(TaskLink.id))
        )
    ).all()
    return [
        {"item_id": item_id, "task_id": task_id, "title": title, "action": action}
        for item_id, task_id, title, action in rows
    ]
