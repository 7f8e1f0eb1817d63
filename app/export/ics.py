"""Calendar export: every task as an iCalendar VTODO with DUE, RRULE and VALARM (icalendar)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from icalendar import Alarm, Calendar, Todo, vRecur
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import __version__
from app.db.types import utcnow
from app.export.service import Scrubber
from app.tasks.models import Priority, Task

PRODID = f"-//TaskChat//TaskChat {__version__}//EN"
UID_DOMAIN = "taskchat.local"
# RFC 5545 PRIORITY: 1 highest, 9 lowest, 0 undefined.
_PRIORITY = {Priority.high: 1, Priority.medium: 5, Priority.low: 9, Priority.none: 0}


def task_uid(task_id: str) -> str:
    return f"{task_id}@{UID_DOMAIN}"


def _alarm(task: Task, scrub: Scrubber) -> Alarm | None:
    if task.remind_at is None:
        return None
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", scrub.text(task.title))
    if task.remind_before_minutes is not None and task.due is not None:
        # Relative to DUE, so a calendar moves it with the task as TaskChat does.
        alarm.add(
            "trigger",
            timedelta(minutes=-task.remind_before_minutes),
            parameters={"RELATED": "END"},
        )
    else:
        alarm.add("trigger", task.remind_at.astimezone(UTC))
    return alarm


def task_todo(task: Task, scrub: Scrubber, stamp: datetime) -> Todo:
    todo = Todo()
    todo.add("uid", task_uid(task.id))
    todo.add("dtstamp", stamp)
    todo.add("summary", scrub.text(task.title))
    if task.description:
        todo.add("description", scrub.text(task.description))
    todo.add("created", task.created_at.astimezone(UTC))
    todo.add("last-modified", task.updated_at.astimezone(UTC))
    if task.priority != Priority.none:
        todo.add("priority", _PRIORITY[Priority(task.priority)])
    if task.tags:
        todo.add("categories", list(task.tags))
    due: date | datetime | None = task.due
    if due is not None:
        value = due.astimezone(UTC) if isinstance(due, datetime) else due
        todo.add("due", value)
        if task.recurrence:
            # RFC 5545: a repeating VTODO needs DTSTART, the first occurrence.
            todo.add("dtstart", value)
    if task.recurrence:
        todo.add("rrule", vRecur.from_ical(task.recurrence))
    if task.completed:
        todo.add("status", "COMPLETED")
        if task.completed_at is not None:
            todo.add("completed", task.completed_at.astimezone(UTC))
    else:
        todo.add("status", "NEEDS-ACTION")
    alarm = _alarm(task, scrub)
    if alarm is not None:
        todo.add_component(alarm)
    return todo


async def export_ics(
    session: AsyncSession, *, user_id: str, secrets: list[str] | None = None
) -> bytes:
    """One VCALENDAR with a VTODO per task of `user_id` (credentials scrubbed as in export)."""
    scrub = Scrubber(secrets)
    tasks = (
        await session.exec(
            select(Task).where(Task.user_id == user_id).order_by(col(Task.created_at), col(Task.id))
        )
    ).all()
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "TaskChat")
    stamp = utcnow().replace(microsecond=0)
    for task in tasks:
        cal.add_component(task_todo(task, scrub, stamp))
    return cal.to_ical()
