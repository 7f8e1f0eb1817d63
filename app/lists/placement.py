"""Where a task may go: its list and parent, checked (shared by the task and list services)."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import InvalidInput, NotFound
from app.lists.models import TaskList, inbox_id
from app.lists.ordering import inbox_insert
from app.tasks.models import Task


async def ensure_inbox(*, session: AsyncSession, user_id: str) -> str:
    """Create the person's Inbox if it is not there yet; returns its id."""
    conn = await session.connection()
    await conn.run_sync(lambda c: c.execute(inbox_insert(c, user_id)))
    return inbox_id(user_id)


async def list_row(session: AsyncSession, user_id: str, list_id: str) -> TaskList:
    if list_id == inbox_id(user_id):
        await ensure_inbox(session=session, user_id=user_id)
    row = await session.get(TaskList, list_id)
    # Another user's list is reported exactly like a missing one.
    if row is None or row.user_id != user_id:
        raise NotFound(f"No list with id {list_id!r}.")
    return row


async def has_children(session: AsyncSession, user_id: str, task_id: str) -> bool:
    found = await session.exec(
        select(Task.id).where(Task.parent_id == task_id, Task.user_id == user_id).limit(1)
    )
    return found.first() is not None


async def resolve(
    *,
    session: AsyncSession,
    user_id: str,
    row: Task | None,
    list_id: str | None,
    parent_id: str | None,
) -> tuple[str, str | None]:
    """The (list, parent) a new or moved task ends up in, checked: the parent must be the
    person's top-level task (steps are one level deep) and a step is in its parent's list."""
    if parent_id is not None:
        if row is not None and parent_id == row.id:
            raise InvalidInput("A task cannot be a step of itself.", field="parent_id")
        parent = await session.get(Task, parent_id)
        if parent is None or parent.user_id != user_id:
            raise NotFound(f"No task with id {parent_id!r}.")
        if parent.parent_id is not None:
            raise InvalidInput(
                "Steps are one level deep: choose a top-level task as the parent.",
                field="parent_id",
            )
        if row is not None and await has_children(session, user_id, row.id):
            raise InvalidInput(
                "This task has steps of its own, so it cannot become a step.", field="parent_id"
            )
        return parent.list_id or inbox_id(user_id), parent.id
    target = list_id or inbox_id(user_id)
    await list_row(session, user_id, target)
    return target, None
