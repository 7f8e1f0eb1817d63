"""List service: lists, moving tasks between lists and under parents, manual order.

Keyword-only functions scoped to one user, used by the REST routes and the chat tools.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, literal_column, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.types import utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.lists.models import (
    INBOX_NAME,
    DeleteMode,
    ListCreate,
    ListDeleteResult,
    ListMove,
    ListPage,
    ListPublic,
    ListUpdate,
    TaskList,
    TaskMove,
    inbox_id,
)
from app.lists.ordering import (
    key_between,
    keys_after,
    last_key_stmt,
    neighbour_stmt,
)
from app.lists.placement import ensure_inbox, list_row, resolve
from app.tasks import undo
from app.tasks.models import BulkResult, Task, TaskPublic
from app.tasks.service import with_progress

MOVE_MAX = 500


async def list_lists(
    *, session: AsyncSession, user_id: str, include_archived: bool = True
) -> ListPage:
    await ensure_inbox(session=session, user_id=user_id)
    stmt = select(TaskList).where(TaskList.user_id == user_id)
    if not include_archived:
        stmt = stmt.where(col(TaskList.archived).is_(False))
    rows = (await session.exec(stmt.order_by(col(TaskList.position), col(TaskList.id)))).all()
    await session.commit()
    return ListPage(items=[ListPublic.from_row(r) for r in rows])


async def get_list(*, session: AsyncSession, user_id: str, list_id: str) -> ListPublic:
    return ListPublic.from_row(await list_row(session, user_id, list_id))


async def find_list(*, session: AsyncSession, user_id: str, name: str) -> ListPublic | None:
    """The list called `name` (case-insensitive), or None."""
    await ensure_inbox(session=session, user_id=user_id)
    row = (
        await session.exec(
            select(TaskList)
            .where(TaskList.user_id == user_id, func.lower(TaskList.name) == name.strip().lower())
            .order_by(col(TaskList.archived), col(TaskList.position))
        )
    ).first()
    return ListPublic.from_row(row) if row else None


async def _check_name_free(
    session: AsyncSession, user_id: str, name: str, own_id: str | None = None
) -> None:
    if name.strip().lower() == INBOX_NAME.lower() and own_id != inbox_id(user_id):
        raise Conflict(f"{INBOX_NAME} is the built-in list; choose another name.", field="name")
    clash = (
        await session.exec(
            select(TaskList.id).where(
                TaskList.user_id == user_id,
                func.lower(TaskList.name) == name.lower(),
                TaskList.id != (own_id or ""),
            )
        )
    ).first()
    if clash is not None:
        raise Conflict(f"There is already a list called {name!r}.", field="name")


async def create_list(*, session: AsyncSession, user_id: str, data: ListCreate) -> ListPublic:
    await ensure_inbox(session=session, user_id=user_id)
    await _check_name_free(session, user_id, data.name)
    last = (
        await session.exec(select(func.max(TaskList.position)).where(TaskList.user_id == user_id))
    ).one()
    now = utcnow()
    row = TaskList(
        user_id=user_id,
        name=data.name,
        color=data.color,
        emoji=data.emoji,
        archived=data.archived,
        position=key_between(last, None),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.commit()
    return ListPublic.from_row(row)


async def update_list(
    *, session: AsyncSession, user_id: str, list_id: str, data: ListUpdate
) -> ListPublic:
    row = await list_row(session, user_id, list_id)
    changes = data.model_dump(exclude_unset=True)
    is_inbox = row.id == inbox_id(user_id)
    if is_inbox and changes.get("archived"):
        raise InvalidInput(f"{INBOX_NAME} cannot be archived.", field="archived")
    if is_inbox and "name" in changes and changes["name"] != INBOX_NAME:
        raise InvalidInput(f"{INBOX_NAME} cannot be renamed.", field="name")
    if "name" in changes:
        await _check_name_free(session, user_id, changes["name"], row.id)
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    session.add(row)
    await session.commit()
    return ListPublic.from_row(row)


async def move_list(
    *, session: AsyncSession, user_id: str, list_id: str, data: ListMove
) -> ListPublic:
    row = await list_row(session, user_id, list_id)
    lower: str | None
    upper: str | None
    if data.after_id:
        lower = (await list_row(session, user_id, data.after_id)).position
        upper = (
            await session.exec(
                select(func.min(TaskList.position)).where(
                    TaskList.user_id == user_id, TaskList.id != row.id, TaskList.position > lower
                )
            )
        ).one()
    elif data.before_id:
        upper = (await list_row(session, user_id, data.before_id)).position
        lower = (
            await session.exec(
                select(func.max(TaskList.position)).where(
                    TaskList.user_id == user_id, TaskList.id != row.id, TaskList.position < upper
                )
            )
        ).one()
    else:
        lower = (
            await session.exec(
                select(func.max(TaskList.position)).where(
                    TaskList.user_id == user_id, TaskList.id != row.id
                )
            )
        ).one()
        upper = None
    row.position = key_between(lower, upper)
    row.updated_at = utcnow()
    session.add(row)
    await session.commit()
    return ListPublic.from_row(row)


async def delete_list(
    *,
    session: AsyncSession,
    user_id: str,
    list_id: str,
    mode: DeleteMode = "move_to_inbox",
) -> ListDeleteResult:
    """Delete a list; its tasks move to the Inbox (kept in their order, after the Inbox's
    own) or are deleted. The change can be undone (POST /api/tasks/undo/{change_id})."""
    row = await list_row(session, user_id, list_id)
    inbox = inbox_id(user_id)
    if row.id == inbox:
        raise InvalidInput(f"{INBOX_NAME} cannot be deleted.", field="list_id")
    public = ListPublic.from_row(row)
    ids = list(
        (
            await session.exec(
                select(Task.id)
                .where(Task.user_id == user_id, Task.list_id == row.id)
                .order_by(col(Task.parent_id).is_not(None), col(Task.position), col(Task.id))
            )
        ).all()
    )
    before = await undo.snapshots(session, user_id, ids)
    list_image = {name: getattr(row, name) for name in TaskList.model_fields}
    moved = deleted = 0
    now = utcnow()
    if mode == "delete_tasks":
        if ids:
            await session.exec(
                delete(Task).where(col(Task.user_id) == user_id, col(Task.list_id) == row.id)
            )
        deleted = len(ids)
    else:
        top = [i for i in ids if before[i]["parent_id"] is None]
        last = (await session.exec(last_key_stmt(user_id, inbox, None))).one()
        keys = keys_after(last, len(top))
        if top:
            await session.exec(
                update(Task),
                params=[{"id": i, "position": k} for i, k in zip(top, keys, strict=True)],
            )
        if ids:
            await session.exec(
                update(Task)
                .where(col(Task.user_id) == user_id, col(Task.list_id) == row.id)
                .values(list_id=inbox, updated_at=now)
                .execution_options(synchronize_session=False)
            )
        moved = len(ids)
    await session.delete(row)
    change_id = await undo.record(
        session,
        user_id=user_id,
        action="delete_list",
        before=dict(before),
        lists={row.id: list_image},
    )
    await session.commit()
    return ListDeleteResult(
        deleted=public,
        tasks_moved=moved,
        tasks_deleted=deleted,
        task_ids=ids,
        change_id=change_id,
    )


# ------------------------------------------------------------------- moving tasks


async def _task_row(session: AsyncSession, user_id: str, task_id: str) -> Task:
    row = await session.get(Task, task_id)
    if row is None or row.user_id != user_id:
        raise NotFound(f"No task with id {task_id!r}.")
    return row


async def move_task(
    *, session: AsyncSession, user_id: str, task_id: str, data: TaskMove
) -> TaskPublic:
    """Move one task to a list, under a parent, and/or between two siblings: one write
    (plus its steps' list when a parent changes list)."""
    row = await _task_row(session, user_id, task_id)
    given = data.model_fields_set
    parent_id = data.parent_id if "parent_id" in given else row.parent_id
    if "list_id" in given and "parent_id" not in given and data.list_id != row.list_id:
        parent_id = None  # moved to another list: leaves its parent
    list_id = data.list_id if "list_id" in given else row.list_id
    if not (row.list_id and list_id == row.list_id and parent_id == row.parent_id):
        # A new place: check it. (A reorder among the same siblings needs no check.)
        list_id, parent_id = await resolve(
            session=session,
            user_id=user_id,
            row=row,
            list_id=list_id,
            parent_id=parent_id,
        )
    assert list_id is not None
    lower: str | None
    upper: str | None

    async def sibling_key(other_id: str) -> str:
        other = await _task_row(session, user_id, other_id)
        if other.id == row.id:
            raise InvalidInput("A task cannot be placed next to itself.", field="after_id")
        if (other.list_id or inbox_id(user_id)) != list_id or other.parent_id != parent_id:
            raise InvalidInput(
                "after_id/before_id must name a task in the same list and under the same "
                "parent as where the task goes.",
                field="after_id",
            )
        return other.position

    if data.after_id:
        lower = await sibling_key(data.after_id)
        upper = (
            await session.exec(
                neighbour_stmt(user_id, list_id, parent_id, lower, after=True, exclude=row.id)
            )
        ).one()
    elif data.before_id:
        upper = await sibling_key(data.before_id)
        lower = (
            await session.exec(
                neighbour_stmt(user_id, list_id, parent_id, upper, after=False, exclude=row.id)
            )
        ).one()
    else:
        lower = (await session.exec(last_key_stmt(user_id, list_id, parent_id, row.id))).one()
        upper = None
    old_list = row.list_id
    row.list_id, row.parent_id = list_id, parent_id
    row.position = key_between(lower, upper)
    row.updated_at = utcnow()
    session.add(row)
    if old_list != list_id and parent_id is None:
        await session.exec(
            update(Task)
            .where(col(Task.parent_id) == row.id, col(Task.user_id) == user_id)
            .values(list_id=list_id, updated_at=row.updated_at)
            .execution_options(synchronize_session=False)
        )
    # Counted before the commit: a query after it would open a transaction (and, on
    # SQLite, hold the write lock) until the session closes.
    public = (await with_progress(session, user_id, [TaskPublic.from_row(row)]))[0]
    await session.commit()
    return public


async def move_tasks(
    *, session: AsyncSession, user_id: str, task_ids: Sequence[str], list_id: str
) -> BulkResult:
    """Move tasks (with their steps) to the end of a list, keeping their relative order.

    A step moved without its parent becomes a top-level task there."""
    ids = list(dict.fromkeys(task_ids))
    if not ids:
        raise InvalidInput("Give at least one task id.", field="task_ids")
    if len(ids) > MOVE_MAX:
        raise InvalidInput(f"At most {MOVE_MAX} tasks at once.", field="task_ids")
    await list_row(session, user_id, list_id)
    # By id alone (the owner is checked below): with a user_id condition the planner may
    # walk all the user's tasks instead of looking each id up.
    # By id, with the owner check kept off the indexes on SQLite: with it the planner may
    # walk all the user's tasks instead of looking each id up.
    sqlite = session.bind.dialect.name == "sqlite"  # type: ignore[union-attr]
    owner = literal_column("+task.user_id") if sqlite else col(Task.user_id)
    found = (
        await session.exec(
            select(Task.id, Task.list_id, Task.parent_id, Task.position).where(
                col(Task.id).in_(ids), owner == user_id
            )
        )
    ).all()
    owned = {r[0]: r for r in found}
    moving = set(owned)
    # Top-level rows in the target: every moved parent, and steps whose parent stays.
    top = sorted(
        (r for r in found if r[2] is None or r[2] not in moving),
        key=lambda r: (r[1] or "", r[3] or "", r[0]),
    )
    top = [r for r in top if not (r[1] == list_id and r[2] is None)]  # already there
    now = utcnow()
    if top:
        last = (await session.exec(last_key_stmt(user_id, list_id, None))).one()
        keys = keys_after(last, len(top))
        await session.exec(
            update(Task),
            params=[
                {
                    "id": r[0],
                    "list_id": list_id,
                    "parent_id": None,
                    "position": k,
                    "updated_at": now,
                }
                for r, k in zip(top, keys, strict=True)
            ],
        )
        # Their steps (moved or not) follow their parents.
        parents = [r[0] for r in top if r[2] is None]
        for start in range(0, len(parents), 400):
            await session.exec(
                update(Task)
                .where(
                    # The steps of the user's own tasks (by ix_task_parent_order alone).
                    col(Task.parent_id).in_(parents[start : start + 400]),
                    or_(col(Task.list_id) != list_id, col(Task.list_id).is_(None)),
                )
                .values(list_id=list_id, updated_at=now)
                .execution_options(synchronize_session=False)
            )
    await session.commit()
    return BulkResult(
        succeeded=[i for i in ids if i in owned], not_found=[i for i in ids if i not in owned]
    )


async def resolve_list(*, session: AsyncSession, user_id: str, ref: str) -> ListPublic:
    """A list named by its id or its name (case-insensitive), as the chat names them."""
    ref = (ref or "").strip()
    if not ref:
        raise InvalidInput("Name a list.", field="list")
    by_name = await find_list(session=session, user_id=user_id, name=ref)
    if by_name is not None:
        return by_name
    row = await session.get(TaskList, ref)
    if row is not None and row.user_id == user_id:
        return ListPublic.from_row(row)
    raise NotFound(
        f"No list called {ref!r}; create it with create_list or pick one from list_lists."
    )


async def get_or_create_list(
    *, session: AsyncSession, user_id: str, data: ListCreate
) -> tuple[ListPublic, bool]:
    """(the list called data.name, whether it was created now)."""
    existing = await find_list(session=session, user_id=user_id, name=data.name)
    if existing is not None:
        return existing, False
    return await create_list(session=session, user_id=user_id, data=data), True
