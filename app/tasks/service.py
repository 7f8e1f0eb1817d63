"""Task service: keyword-only functions, scoped to one user, used by the REST API and chat tools."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, literal_column, or_, text
from sqlalchemy.orm import Mapped
from sqlalchemy.sql import ColumnElement, Executable, TextClause
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.types import utcnow
from app.errors import InvalidInput, NotFound
from app.sync.capture import note_fields
from app.tasks.models import (
    PRIORITY_RANK_SQL,
    BulkResult,
    Due,
    Task,
    TaskCreate,
    TaskPage,
    TaskPublic,
    TaskQuery,
    TaskTag,
    TaskUpdate,
    due_to_columns,
)

BULK_MAX = 500
# The columns an edit of each writable field sets.
_COLUMNS_OF = {"due": ("due_at", "due_all_day"), "completed": ("completed", "completed_at")}
_WORD = re.compile(r"\w+", re.UNICODE)
# A WHERE term: a column expression, or raw SQL for the full-text index.
Condition = ColumnElement[bool] | TextClause
OrderTerm = ColumnElement[Any] | TextClause | Mapped[Any]


async def create_task(*, session: AsyncSession, user_id: str, data: TaskCreate) -> TaskPublic:
    now = utcnow()
    due_at, all_day = due_to_columns(data.due)
    task = Task(
        user_id=user_id,
        title=data.title,
        description=data.description,
        priority=data.priority,
        tags=data.tags,
        due_at=due_at,
        due_all_day=all_day,
        completed=data.completed,
        completed_at=now if data.completed else None,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    await session.flush()
    _index_tags(session, task)
    await session.commit()
    return TaskPublic.from_row(task)


def _index_tags(session: AsyncSession, task: Task) -> None:
    session.add_all(TaskTag(task_id=task.id, user_id=task.user_id, tag=t) for t in task.tags)


async def _reindex_tags(session: AsyncSession, task: Task) -> None:
    await session.exec(delete(TaskTag).where(col(TaskTag.task_id) == task.id))
    _index_tags(session, task)


async def _get_row(session: AsyncSession, user_id: str, task_id: str) -> Task:
    row = await session.get(Task, task_id)
    # Another user's task is reported exactly like a missing one: ids must not leak.
    if row is None or row.user_id != user_id:
        raise NotFound(f"No task with id {task_id!r}.")
    return row


async def get_task(*, session: AsyncSession, user_id: str, task_id: str) -> TaskPublic:
    return TaskPublic.from_row(await _get_row(session, user_id, task_id))


async def update_task(
    *, session: AsyncSession, user_id: str, task_id: str, data: TaskUpdate
) -> TaskPublic:
    row = await _get_row(session, user_id, task_id)
    changes = data.model_dump(exclude_unset=True)
    now = utcnow()
    for field in ("title", "description", "priority", "tags"):
        if field in changes:
            setattr(row, field, changes[field] if field != "description" else changes[field] or "")
    if "tags" in changes:
        await _reindex_tags(session, row)
    if "due" in changes:
        row.due_at, row.due_all_day = due_to_columns(data.due)
    if "completed" in changes and changes["completed"] != row.completed:
        row.completed = bool(changes["completed"])
        row.completed_at = now if row.completed else None
    row.updated_at = now
    session.add(row)
    await session.flush()
    # Every field the edit names is recorded, changed or not: "the later edit wins" then
    # holds for an edit that set the value this device already had (finding 12).
    given = [c for f in changes for c in _COLUMNS_OF.get(f, (f,))]
    conn = await session.connection()
    await conn.run_sync(note_fields, "task", row.id, user_id, given)
    await session.commit()
    return TaskPublic.from_row(row)


async def set_completed(
    *, session: AsyncSession, user_id: str, task_id: str, completed: bool = True
) -> TaskPublic:
    return await update_task(
        session=session, user_id=user_id, task_id=task_id, data=TaskUpdate(completed=completed)
    )


async def delete_task(*, session: AsyncSession, user_id: str, task_id: str) -> TaskPublic:
    row = await _get_row(session, user_id, task_id)
    public = TaskPublic.from_row(row)
    await session.delete(row)
    await session.commit()
    return public


def _check_bulk_ids(task_ids: Sequence[str]) -> list[str]:
    ids = list(dict.fromkeys(task_ids))  # de-duplicate, keep order
    if not ids:
        raise InvalidInput("Give at least one task id.", field="task_ids")
    if len(ids) > BULK_MAX:
        raise InvalidInput(f"At most {BULK_MAX} tasks at once.", field="task_ids")
    return ids


async def _owned_rows(session: AsyncSession, user_id: str, ids: list[str]) -> dict[str, Task]:
    result = await session.exec(select(Task).where(Task.user_id == user_id, col(Task.id).in_(ids)))
    return {row.id: row for row in result}


async def bulk_complete(
    *, session: AsyncSession, user_id: str, task_ids: Sequence[str], completed: bool = True
) -> BulkResult:
    """Complete (or reopen) every owned task in one transaction; unknown ids are reported."""
    ids = _check_bulk_ids(task_ids)
    rows = await _owned_rows(session, user_id, ids)
    now = utcnow()
    for row in rows.values():
        if row.completed != completed:
            row.completed = completed
            row.completed_at = now if completed else None
            row.updated_at = now
            session.add(row)
    await session.commit()
    return BulkResult(
        succeeded=[i for i in ids if i in rows], not_found=[i for i in ids if i not in rows]
    )


async def bulk_delete(
    *, session: AsyncSession, user_id: str, task_ids: Sequence[str]
) -> BulkResult:
    ids = _check_bulk_ids(task_ids)
    rows = await _owned_rows(session, user_id, ids)
    if rows:
        await session.exec(
            delete(Task).where(col(Task.user_id) == user_id, col(Task.id).in_(list(rows)))
        )
    await session.commit()
    return BulkResult(
        succeeded=[i for i in ids if i in rows], not_found=[i for i in ids if i not in rows]
    )


def _due_bound(value: Due) -> datetime:
    bound = due_to_columns(value)[0]
    assert bound is not None  # a due value always gives a due_at
    return bound


def _fts_match(user_id: str, words: list[str]) -> str:
    """An FTS5 query: the user's owner token AND every word as a prefix of title/description.

    Words are quoted, so FTS syntax typed by the person is only ever searched for.
    """
    owner = "u" + user_id.encode("utf-8").hex().upper()
    terms = " ".join('"' + w.replace('"', '""') + '"*' for w in words)
    return f"owner : {owner} AND {{title description}} : ({terms})"


def _text_filter(dialect: str, q: str, user_id: str) -> Condition:
    words = _WORD.findall(q)
    if not words:
        # Nothing a word index can match (only symbols or emoji): plain substring search.
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return or_(
            col(Task.title).like(pattern, escape="\\"),
            col(Task.description).like(pattern, escape="\\"),
        )
    if dialect == "sqlite":
        return text(
            "task.rowid IN (SELECT rowid FROM task_fts WHERE task_fts MATCH :fts_query)"
        ).bindparams(fts_query=_fts_match(user_id, words))
    tsquery = " & ".join(w.replace("'", "") + ":*" for w in words)
    return text(
        "to_tsvector('simple', task.title || ' ' || task.description) "
        "@@ to_tsquery('simple', :fts_query)"
    ).bindparams(fts_query=tsquery)


def _order_by(sort: str) -> list[OrderTerm]:
    due_missing = col(Task.due_at).is_(None)
    tiebreak: list[OrderTerm] = [col(Task.created_at).desc(), col(Task.id)]
    if sort == "smart":
        # Open first, then soonest due (undated last), then most important, then newest:
        # exactly the column list of the expression index ix_task_smart.
        return [
            col(Task.completed),
            due_missing,
            col(Task.due_at),
            text(f"{PRIORITY_RANK_SQL} DESC"),
            *tiebreak,
        ]
    desc = sort.startswith("-")
    key = sort.lstrip("-")
    if key == "priority":
        return [text(f"{PRIORITY_RANK_SQL} {'DESC' if desc else 'ASC'}"), *tiebreak]
    column = {
        "created_at": col(Task.created_at),
        "updated_at": col(Task.updated_at),
        "due": col(Task.due_at),
        "title": func.lower(Task.title),
    }[key]
    ordered = [due_missing, column.desc() if desc else column.asc()]
    if key != "due":
        ordered.pop(0)
    return [*ordered, *tiebreak]


async def list_tasks(*, session: AsyncSession, user_id: str, query: TaskQuery) -> TaskPage:
    dialect = session.bind.dialect.name  # type: ignore[union-attr]  # bound to the engine
    conditions: list[Condition] = [col(Task.user_id) == user_id]
    if query.completed is not None:
        conditions.append(col(Task.completed) == query.completed)
    if query.priority is not None:
        conditions.append(col(Task.priority) == query.priority)
    if query.tag:
        tagged = select(TaskTag.task_id).where(TaskTag.user_id == user_id, TaskTag.tag == query.tag)
        # On SQLite the unary + keeps the planner walking the sort index and probing the
        # (small) tag list, instead of fetching every tagged row by its text key and sorting.
        task_id = literal_column("+task.id") if dialect == "sqlite" else col(Task.id)
        conditions.append(task_id.in_(tagged))
    if query.due_before is not None:
        conditions.append(col(Task.due_at) < _due_bound(query.due_before))
    if query.due_after is not None:
        conditions.append(col(Task.due_at) >= _due_bound(query.due_after))
    if query.q and query.q.strip():
        conditions.append(_text_filter(dialect, query.q.strip(), user_id))

    count: Executable
    if query.tag and len(conditions) == 2:
        # Only the tag narrows the list: its index table alone knows the count.
        count = select(func.count()).where(TaskTag.user_id == user_id, TaskTag.tag == query.tag)
    elif query.q and dialect == "sqlite" and _WORD.search(query.q):
        if len(conditions) == 2:
            # Only the words narrow the list: the index (scoped by its owner column) counts.
            count = text("SELECT count(*) FROM task_fts WHERE task_fts MATCH :m").bindparams(
                m=_fts_match(user_id, _WORD.findall(query.q))
            )
        else:
            # Drive the count from the user's matches (each checked by primary key) rather
            # than walking every task they have; the unary + hides user_id's indexes.
            user_unindexed = literal_column("+task.user_id") == user_id
            count = select(func.count()).select_from(Task).where(user_unindexed, *conditions[1:])
    else:
        count = select(func.count()).select_from(Task).where(*conditions)
    total = (await session.scalar(count)) or 0
    stmt = (
        select(Task)
        .where(*conditions)
        .order_by(*_order_by(query.sort))
        .limit(query.limit)
        .offset(query.offset)
    )
    rows = (await session.exec(stmt)).all()
    return TaskPage(items=[TaskPublic.from_row(r) for r in rows], total=total)
