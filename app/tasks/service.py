"""Task service: keyword-only functions, scoped to one user, used by the REST API and chat tools."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any, Literal

from sqlalchemy import and_, case, delete, func, literal_column, or_, text, update
from sqlalchemy.orm import Mapped
from sqlalchemy.sql import ColumnElement, Executable, TextClause
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.types import utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.lists import placement
from app.lists.ordering import key_between, last_key_stmt
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
WALK_ABOVE = 2000  # text matches above which a page walks the sort index (list_tasks)
# What completing a task with open steps does: "ask" refuses and names them (the caller
# asks the person), "complete" completes them too, "leave" leaves them open.
SubtaskPolicy = Literal["ask", "complete", "leave"]
# The columns an edit of each writable field sets.
_COLUMNS_OF = {
    "due": ("due_at", "due_all_day"),
    "completed": ("completed", "completed_at"),
    "list_id": ("list_id", "position"),
    "parent_id": ("parent_id", "position"),
}
_WORD = re.compile(r"\w+", re.UNICODE)
# A WHERE term: a column expression, or raw SQL for the full-text index.
Condition = ColumnElement[bool] | TextClause
OrderTerm = ColumnElement[Any] | TextClause | Mapped[Any]


async def create_task(
    *, session: AsyncSession, user_id: str, data: TaskCreate, zone: tzinfo | None = None
) -> TaskPublic:
    now = utcnow()
    due_at, all_day = due_to_columns(data.due)
    list_id: str | None = None
    if data.list_id is not None or data.parent_id is not None:
        list_id, _ = await placement.resolve(
            session=session,
            user_id=user_id,
            row=None,
            list_id=data.list_id,
            parent_id=data.parent_id,
        )
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
        list_id=list_id,
        parent_id=data.parent_id,
        recurrence=data.recurrence,
    )
    # The list (Inbox by default) and the order key at the end of its siblings are filled
    # in on insert (app/lists/ordering.py), whatever code inserts a task.
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


async def with_progress(
    session: AsyncSession, user_id: str, items: list[TaskPublic]
) -> list[TaskPublic]:
    """Fill each task's steps progress ("2/5") with one grouped query."""
    ids = [t.id for t in items if t.parent_id is None]
    if not ids:
        return items
    counts = {
        parent: (total, int(done or 0))
        for parent, total, done in (
            await session.exec(
                select(
                    Task.parent_id,
                    func.count(),
                    func.sum(case((col(Task.completed), 1), else_=0)),
                )
                # Only the parent index: the steps of the user's own tasks are theirs, and
                # a user_id condition lets the planner walk all of the user's tasks.
                .where(col(Task.parent_id).in_(ids))
                .group_by(col(Task.parent_id))
            )
        ).all()
    }
    for item in items:
        item.subtasks_total, item.subtasks_done = counts.get(item.id, (0, 0))
    return items


async def get_task(*, session: AsyncSession, user_id: str, task_id: str) -> TaskPublic:
    task = TaskPublic.from_row(await _get_row(session, user_id, task_id))
    return (await with_progress(session, user_id, [task]))[0]


async def open_children(session: AsyncSession, user_id: str, task_ids: list[str]) -> list[Task]:
    if not task_ids:
        return []
    rows = await session.exec(
        select(Task)
        .where(
            col(Task.parent_id).in_(task_ids),
            Task.user_id == user_id,
            col(Task.completed).is_(False),
        )
        .order_by(col(Task.position), col(Task.id))
    )
    return list(rows.all())


async def _complete_children(
    session: AsyncSession,
    user_id: str,
    parents: list[Task],
    policy: SubtaskPolicy,
    now: datetime,
) -> None:
    """Completing parents: with open steps, refuse and name them, or complete them too."""
    if policy == "leave":
        return
    children = await open_children(session, user_id, [p.id for p in parents])
    if not children:
        return
    if policy == "ask":
        titles = {p.id: p.title for p in parents}
        names = ", ".join(f"'{c.title}'" for c in children[:10])
        more = f" and {len(children) - 10} more" if len(children) > 10 else ""
        owners = ", ".join(
            f"'{titles[i]}'" for i in dict.fromkeys(c.parent_id or "" for c in children)
        )
        raise Conflict(
            f"{owners} still has {len(children)} open step(s): {names}{more}. Complete them "
            "too (subtasks=complete) or leave them open (subtasks=leave).",
            field="subtasks",
        )
    for child in children:
        child.completed = True
        child.completed_at = now
        child.updated_at = now
        session.add(child)


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
    subtasks: SubtaskPolicy = "ask",
    zone: tzinfo | None = None,
) -> TaskPublic:
    row = await _get_row(session, user_id, task_id)
    changes = data.model_dump(exclude_unset=True)
    zone = zone or local_zone()
    now = utcnow()
    if "list_id" in changes or "parent_id" in changes:
        await _place(session, user_id, row, changes, now)
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
        if changes["completed"] and not row.completed:
            await _complete_children(session, user_id, [row], subtasks, now)
        _set_done(row, bool(changes["completed"]), now, zone)
    row.updated_at = now
    session.add(row)
    await session.flush()
    # Every field the edit names is recorded, changed or not: "the later edit wins" then
    # holds for an edit that set the value this device already had (finding 12).
    given = [c for f in changes for c in _COLUMNS_OF.get(f, (f,))]
    conn = await session.connection()
    await conn.run_sync(note_fields, "task", row.id, user_id, given)
    # Counted before the commit: a query after it would open a transaction (and, on
    # SQLite, hold the write lock) until the session closes.
    public = (await with_progress(session, user_id, [TaskPublic.from_row(row)]))[0]
    await session.commit()
    return public


async def set_completed(
    *,
    session: AsyncSession,
    user_id: str,
    task_id: str,
    completed: bool = True,
    subtasks: SubtaskPolicy = "ask",
    zone: tzinfo | None = None,
) -> TaskPublic:
    """Complete (or reopen) a task; a repeating task moves to its next occurrence instead."""
    return await update_task(
        session=session,
        user_id=user_id,
        task_id=task_id,
        data=TaskUpdate(completed=completed),
        subtasks=subtasks,
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
    # Counted before the commit: a query after it would open a transaction (and, on
    # SQLite, hold the write lock) until the session closes.
    public = (await with_progress(session, user_id, [TaskPublic.from_row(row)]))[0]
    await session.commit()
    return public


async def _place(
    session: AsyncSession, user_id: str, row: Task, changes: dict, now: datetime
) -> None:
    """A PATCH of list_id/parent_id: the task goes last among its new siblings; a parent's
    steps follow it to its new list. (Exact places: app/lists/service.move_task.)"""
    parent_id = changes.get("parent_id", row.parent_id)
    list_id = changes.get("list_id", row.list_id)
    if "list_id" in changes and "parent_id" not in changes and list_id != row.list_id:
        parent_id = None  # moved to another list: it leaves its parent
    list_id, parent_id = await placement.resolve(
        session=session, user_id=user_id, row=row, list_id=list_id, parent_id=parent_id
    )
    if list_id == row.list_id and parent_id == row.parent_id:
        return
    last = (await session.exec(last_key_stmt(user_id, list_id, parent_id, row.id))).one()
    old_list = row.list_id
    row.list_id, row.parent_id = list_id, parent_id
    row.position = key_between(last, None)
    if old_list != list_id and parent_id is None:
        await session.exec(
            update(Task)
            .where(col(Task.parent_id) == row.id, col(Task.user_id) == user_id)
            .values(list_id=list_id, updated_at=now)
            .execution_options(synchronize_session=False)
        )


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
    """Delete a task and its steps."""
    row = await _get_row(session, user_id, task_id)
    public = TaskPublic.from_row(row)
    await session.exec(
        delete(Task).where(col(Task.parent_id) == row.id, col(Task.user_id) == user_id)
    )
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
    subtasks: SubtaskPolicy = "ask",
    zone: tzinfo | None = None,
) -> BulkResult:
    """Complete (or reopen) every owned task in one transaction; unknown ids are reported.

    Repeating tasks move to their next occurrence, as a single completion does.
    """
    ids = _check_bulk_ids(task_ids)
    rows = await _owned_rows(session, user_id, ids)
    now = utcnow()
    if completed:
        parents = [r for r in rows.values() if not r.completed and r.parent_id is None]
        if subtasks == "ask":
            # Steps completed in the same call are not "left open".
            open_steps = [
                c
                for c in await open_children(session, user_id, [p.id for p in parents])
                if c.id not in rows
            ]
            if open_steps:
                await _complete_children(
                    session,
                    user_id,
                    [p for p in parents if p.id in {c.parent_id for c in open_steps}],
                    "ask",
                    now,
                )
        else:
            await _complete_children(session, user_id, parents, subtasks, now)
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
            delete(Task).where(col(Task.user_id) == user_id, col(Task.parent_id).in_(list(rows)))
        )
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


def _fts_match(user_id: str, words: list[str], completed: bool | None = None) -> str:
    """An FTS5 query: the user's owner token (and state token: s0 open, s1 done, see
    migration 0008) AND every word as a prefix of title/description.

    Words are quoted, so FTS syntax typed by the person is only ever searched for.
    """
    owner = "u" + user_id.encode("utf-8").hex().upper()
    if completed is not None:
        owner += f" AND owner : s{int(completed)}"
    terms = " ".join('"' + w.replace('"', '""') + '"*' for w in words)
    return f"owner : {owner} AND {{title description}} : ({terms})"


def _text_filter(
    dialect: str, q: str, user_id: str, completed: bool | None = None, *, walk: bool = False
) -> Condition:
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
            ("+" if walk else "")
            + "task.rowid IN (SELECT rowid FROM task_fts WHERE task_fts MATCH :fts_query)"
        ).bindparams(fts_query=_fts_match(user_id, words, completed))
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
    if sort == "position":
        return [col(Task.position), col(Task.id)]
    if sort == "view":
        return [col(Task.due_at), text(f"{PRIORITY_RANK_SQL} DESC"), *tiebreak]
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


def day_bounds(zone: tzinfo, now: datetime | None = None) -> tuple[datetime, datetime]:
    """(timed, all_day): the instants where "after today" starts for a timed due date
    (local midnight, in UTC) and for an all-day one (stored as midnight UTC of its date)."""
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    tomorrow = today + timedelta(days=1)
    timed = datetime.combine(tomorrow, time(0, 0), tzinfo=zone).astimezone(UTC)
    return timed, datetime.combine(tomorrow, time(0, 0), tzinfo=UTC)


def _view_filter(view: str, zone: tzinfo, now: datetime | None) -> list[ColumnElement[bool]]:
    timed, all_day = day_bounds(zone, now)
    due, flag = col(Task.due_at), col(Task.due_all_day)
    if view == "today":  # overdue and due today
        return [
            col(Task.completed) == False,  # noqa: E712 (= 0, which an index can match)
            due < max(timed, all_day),
            or_(and_(flag, due < all_day), and_(~flag, due < timed)),
        ]
    return [  # upcoming: due after today
        col(Task.completed) == False,  # noqa: E712
        due >= min(timed, all_day),
        or_(and_(flag, due >= all_day), and_(~flag, due >= timed)),
    ]


async def list_tasks(
    *,
    session: AsyncSession,
    user_id: str,
    query: TaskQuery,
    zone: tzinfo = UTC,
    now: datetime | None = None,
) -> TaskPage:
    """A page of the user's tasks. `zone` is the person's time zone (views); `now` is for
    tests."""
    dialect = session.bind.dialect.name  # type: ignore[union-attr]
    conditions: list[Condition] = [col(Task.user_id) == user_id]
    tag_condition: Condition | None = None
    text_condition: Condition | None = None
    in_list = query.list_id is not None or query.parent_id not in (None, "null")
    if query.completed is not None:
        if in_list and dialect == "sqlite":
            # A list's or a parent's rows come from ix_task_list_order / ix_task_parent_order
            # (which carry `completed`); the unary + keeps the planner off the indexes that
            # start with (user_id, completed) and would walk every open task.
            conditions.append(literal_column("+task.completed") == query.completed)
        else:
            conditions.append(col(Task.completed) == query.completed)
    if query.list_id is not None:
        conditions.append(col(Task.list_id) == query.list_id)
    if query.parent_id == "null":
        conditions.append(col(Task.parent_id).is_(None))
    elif query.parent_id is not None:
        conditions.append(col(Task.parent_id) == query.parent_id)
    if query.view is not None:
        conditions.extend(_view_filter(query.view, zone, now))
    if query.priority is not None:
        conditions.append(col(Task.priority) == query.priority)
    if query.tag:
        tagged = select(TaskTag.task_id).where(TaskTag.user_id == user_id, TaskTag.tag == query.tag)
        # On SQLite the unary + keeps the planner walking the sort index and probing the
        # (small) tag list, instead of fetching every tagged row by its text key and sorting.
        task_id = literal_column("+task.id") if dialect == "sqlite" else col(Task.id)
        tag_condition = task_id.in_(tagged)
        conditions.append(tag_condition)
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
        text_condition = _text_filter(dialect, query.q.strip(), user_id, query.completed)
        conditions.append(text_condition)

    # Which filters narrow the list besides the owner (the count's shape depends on it).
    others = {
        name
        for name in ("priority", "due_before", "due_after", "list_id", "parent_id", "view")
        if getattr(query, name) is not None
    }
    count: Executable
    if query.tag and len(conditions) == 2:
        # Only the tag narrows the list: its index table alone knows the count.
        count = select(func.count()).where(TaskTag.user_id == user_id, TaskTag.tag == query.tag)
    elif query.tag and dialect == "sqlite" and not query.q:
        # Drive the count from the tag's rows, each checked by id (ix_task_id_completed
        # answers open/done without reading the task), not from every open task.
        count = (
            select(func.count())
            .select_from(TaskTag)
            .join(Task, col(Task.id) == col(TaskTag.task_id))
            .where(
                TaskTag.user_id == user_id,
                TaskTag.tag == query.tag,
                # task_tag's user_id is its task's: checking the task's too would read
                # each row (or, as an index condition, walk all the user's tasks).
                *(c for c in conditions[1:] if c is not tag_condition),
            )
        )
    elif query.q and dialect == "sqlite" and _WORD.search(query.q):
        if len(conditions) == 2 or (len(conditions) == 3 and not others and not query.tag):
            # Only the words (and open/done, a token of the owner column) narrow the list:
            # the index counts alone.
            count = text("SELECT count(*) FROM task_fts WHERE task_fts MATCH :m").bindparams(
                m=_fts_match(user_id, _WORD.findall(query.q), query.completed)
            )
        else:
            # Drive the count from the user's matches (each checked by primary key) rather
            # than walking every task they have; the unary + hides user_id's indexes.
            user_unindexed = literal_column("+task.user_id") == user_id
            count = select(func.count()).select_from(Task).where(user_unindexed, *conditions[1:])
    else:
        count = select(func.count()).select_from(Task).where(*conditions)
    total = (await session.scalar(count)) or 0
    if text_condition is not None and dialect == "sqlite" and total > WALK_ABOVE:
        # Many matches: walk the sort index and probe the match list (the unary + hides
        # the rowid), rather than fetch every match and sort them all, which the planner
        # picks once ANALYZE has run.
        words = (query.q or "").strip()
        walking = _text_filter(dialect, words, user_id, query.completed, walk=True)
        conditions = [walking if c is text_condition else c for c in conditions]
    sort: str = query.sort
    if query.view is not None and sort in ("smart", "due"):
        sort = "view"  # every row has a due date: the order ix_task_open_due walks
    elif "sort" not in query.model_fields_set:
        if query.list_id is not None or (query.parent_id not in (None, "null")):
            sort = "position"  # a list or a task's steps: the person's own order
    stmt = (
        select(Task)
        .where(*conditions)
        .order_by(*_order_by(sort))
        .limit(query.limit)
        .offset(query.offset)
    )
    rows = (await session.exec(stmt)).all()
    items = await with_progress(session, user_id, [TaskPublic.from_row(r) for r in rows])
    return TaskPage(items=items, total=total)
