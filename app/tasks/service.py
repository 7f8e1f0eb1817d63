"""Task service: keyword-only functions, scoped to one user, used by the REST API and chat tools."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, time, tzinfo
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
    check_date_range,
    due_to_columns,
)
from app.tasks.recurrence import (
    decrement_count,
    first_occurrence,
    local_zone,
    next_occurrence_wall,
    reminder_for_due,
)

BULK_MAX = 500
# The columns an edit of each writable field sets.
_COLUMNS_OF = {"due": ("due_at", "due_all_day"), "completed": ("completed", "completed_at")}
_WORD = re.compile(r"\w+", re.UNICODE)
# A WHERE term: a column expression, or raw SQL for the full-text index.
Condition = ColumnElement[bool] | TextClause
OrderTerm = ColumnElement[Any] | TextClause | Mapped[Any]


async def create_task(
    *, session: AsyncSession, user_id: str, data: TaskCreate, zone: tzinfo | None = None
) -> TaskPublic:
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
        recurrence=data.recurrence,
    )
    zone = zone or local_zone()
    _first_due(task, zone, now)
    _apply_reminder(task, data.model_dump(exclude_unset=True), zone)
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


def _apply_reminder(row: Task, changes: dict[str, object], zone: tzinfo) -> None:
    """Set remind_at / remind_before_minutes from the given changes and the row's due.

    A relative reminder ("30 min before") is recomputed from the due whenever either changes.
    """
    remind_at = changes.get("remind_at")
    before = changes.get("remind_before_minutes")
    if remind_at is not None and before is not None:
        raise InvalidInput(
            "Give remind_at or remind_before_minutes, not both.", field="remind_before_minutes"
        )
    if "remind_at" in changes:
        row.remind_at = remind_at  # type: ignore[assignment]
        row.remind_before_minutes = None
    if "remind_before_minutes" in changes:
        row.remind_before_minutes = before  # type: ignore[assignment]
        if before is None and "remind_at" not in changes:
            row.remind_at = None
    if row.remind_before_minutes is not None:
        if row.due is None:
            if "due" in changes:  # the due was cleared: its relative reminder goes with it
                row.remind_before_minutes = row.remind_at = None
                return
            raise InvalidInput(
                "A reminder before the due time needs a due date; set due or remind_at.",
                field="remind_before_minutes",
            )
        row.remind_at = _checked_reminder(row.due, row.remind_before_minutes, zone)


def _checked_reminder(due: Due, minutes: int, zone: tzinfo) -> datetime:
    """The reminder `minutes` before `due`, inside the dates TaskChat stores."""
    try:
        at = reminder_for_due(due, minutes, zone)
        check_date_range(at, "remind_at")
    except (ValueError, OverflowError):
        raise InvalidInput(
            "That reminder would fall outside the dates TaskChat can store.",
            field="remind_before_minutes",
        ) from None
    return at


def _first_due(row: Task, zone: tzinfo, now: datetime) -> None:
    """A repeating task given no due starts on the rule's first day from today (all day)."""
    if not row.recurrence or row.due_at is not None or row.completed:
        return
    today = now.astimezone(zone).date()
    first = first_occurrence(row.recurrence, start=datetime.combine(today, time(0)), zone=zone)
    if first is not None:
        row.due_at, row.due_all_day = due_to_columns(first.astimezone(zone).date())


def _wall(value: Due, zone: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(zone).replace(tzinfo=None)
    return datetime.combine(value, datetime.min.time())


def advance_recurring(row: Task, *, now: datetime, zone: tzinfo, record: bool) -> bool:
    """Move a repeating task to its next occurrence (due and reminder follow).

    Returns False when the rule has no further occurrence (the caller completes it).
    `record` notes the completion (last_completed_at); a skip does not.
    """
    assert row.recurrence
    old_due = row.due
    anchor: Due = old_due if old_due is not None else (row.remind_at or now)
    wall = time.fromisoformat(row.recurrence_time) if row.recurrence_time else None
    try:
        upcoming, gap_time = next_occurrence_wall(
            row.recurrence, anchor=anchor, after=now, zone=zone, wall_time=wall
        )
        if upcoming is not None:
            check_date_range(upcoming)
    except (ValueError, OverflowError):  # past year 9999: the series has ended
        return False
    remaining = decrement_count(row.recurrence)
    if upcoming is None or remaining is None:
        return False
    if row.remind_at is not None and row.remind_before_minutes is None:
        # Keep the reminder as far (in local wall-clock time) before the due as it was.
        lead = _wall(anchor, zone) - _wall(row.remind_at, zone)
        try:
            moved = (_wall(upcoming, zone) - lead).replace(tzinfo=zone).astimezone(UTC)
            row.remind_at = check_date_range(moved, "remind_at")  # type: ignore[assignment]
        except (ValueError, OverflowError):
            row.remind_at = None
    row.due_at, row.due_all_day = due_to_columns(upcoming)
    row.recurrence_time = gap_time.isoformat() if gap_time is not None else None
    if row.remind_before_minutes is not None:
        row.remind_at = _checked_reminder(upcoming, row.remind_before_minutes, zone)
    row.recurrence = remaining
    if record:
        row.last_completed_at = now
    return True


def _set_done(row: Task, done: bool, now: datetime, zone: tzinfo) -> None:
    if done and not row.completed and row.recurrence:
        if advance_recurring(row, now=now, zone=zone, record=True):
            return
        row.last_completed_at = now  # the last occurrence: done for good
    if done != row.completed:
        row.completed = done
        row.completed_at = now if done else None


async def update_task(
    *,
    session: AsyncSession,
    user_id: str,
    task_id: str,
    data: TaskUpdate,
    zone: tzinfo | None = None,
) -> TaskPublic:
    row = await _get_row(session, user_id, task_id)
    changes = data.model_dump(exclude_unset=True)
    zone = zone or local_zone()
    now = utcnow()
    for field in ("title", "description", "priority", "tags", "recurrence"):
        if field in changes:
            setattr(row, field, changes[field] if field != "description" else changes[field] or "")
    if "tags" in changes:
        await _reindex_tags(session, row)
    if "due" in changes:
        row.due_at, row.due_all_day = due_to_columns(data.due)
        row.recurrence_time = None  # a due set by hand is the series' new time of day
    if "recurrence" in changes or "due" in changes:
        _first_due(row, zone, now)
    _apply_reminder(row, changes, zone)
    if "completed" in changes:
        _set_done(row, bool(changes["completed"]), now, zone)
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
    *,
    session: AsyncSession,
    user_id: str,
    task_id: str,
    completed: bool = True,
    zone: tzinfo | None = None,
) -> TaskPublic:
    """Complete (or reopen) a task; a repeating task moves to its next occurrence instead."""
    return await update_task(
        session=session,
        user_id=user_id,
        task_id=task_id,
        data=TaskUpdate(completed=completed),
        zone=zone,
    )


async def skip_occurrence(
    *, session: AsyncSession, user_id: str, task_id: str, zone: tzinfo | None = None
) -> TaskPublic:
    """ "Skip this one": a repeating task moves to its next occurrence without a completion."""
    row = await _get_row(session, user_id, task_id)
    if not row.recurrence:
        raise InvalidInput("Only a repeating task can skip an occurrence.", field="recurrence")
    if row.completed:
        raise InvalidInput("This task is already done.", field="completed")
    now = utcnow()
    if not advance_recurring(row, now=now, zone=zone or local_zone(), record=False):
        # Skipping the last occurrence leaves nothing to do.
        row.completed, row.completed_at = True, now
    row.updated_at = now
    session.add(row)
    await session.commit()
    return TaskPublic.from_row(row)


async def snooze_reminder(
    *, session: AsyncSession, user_id: str, task_id: str, until: datetime
) -> TaskPublic:
    """Show the reminder again at `until` (a Snooze on a notification)."""
    row = await _get_row(session, user_id, task_id)
    row.remind_at = until
    row.remind_before_minutes = None
    row.updated_at = utcnow()
    session.add(row)
    await session.commit()
    return TaskPublic.from_row(row)


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
    *,
    session: AsyncSession,
    user_id: str,
    task_ids: Sequence[str],
    completed: bool = True,
    zone: tzinfo | None = None,
) -> BulkResult:
    """Complete (or reopen) every owned task in one transaction; unknown ids are reported.

    Repeating tasks move to their next occurrence, as a single completion does.
    """
    ids = _check_bulk_ids(task_ids)
    rows = await _owned_rows(session, user_id, ids)
    now = utcnow()
    zone = zone or local_zone()
    for row in rows.values():
        if row.completed != completed:
            _set_done(row, completed, now, zone)
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
    if query.remind_before is not None:
        conditions.append(col(Task.remind_at) < query.remind_before)
    if query.remind_after is not None:
        conditions.append(col(Task.remind_at) >= query.remind_after)
    if query.recurring is not None:
        rule = col(Task.recurrence)
        conditions.append(rule.is_not(None) if query.recurring else rule.is_(None))
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
