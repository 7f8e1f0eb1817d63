"""The reminder scheduler: sleeps until the next reminder, wakes on database changes.

It never polls. One query finds the earliest pending reminder; the loop then waits on an
event with that deadline. Every commit on the engine (REST, chat, sync, import) sets the
event, so a new or moved reminder is seen at once; commits that wrote no task row (chat
threads and items, counters) leave it asleep. Reminders that fell due while TaskChat
was closed are shown once, together, at start-up.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import event, or_, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.expression import TextClause, UpdateBase
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.engine import read_only_sessionmaker
from app.db.types import utcnow
from app.errors import DomainError
from app.reminders.notices import NoticeBoard
from app.reminders.notifier import Action, Notifier
from app.tasks import service
from app.tasks.models import Task
from app.tasks.recurrence import describe

log = logging.getLogger(__name__)

SNOOZE = timedelta(minutes=10)
# The loop also wakes at least this often: the monotonic clock asyncio sleeps on stops
# while a computer is suspended, so a long sleep could miss reminders after resume.
MAX_SLEEP = 300.0
BATCH = 50
# Connection-info key: this transaction wrote the task table (set per statement, read and
# cleared at commit or rollback).
_TASKS_WRITTEN = "taskchat_tasks_written"
# Raw SQL that writes the task table (compiled statements name their table instead).
_TASK_WRITE = re.compile(
    rf"\b(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+\"?{Task.__tablename__}\b",
    re.IGNORECASE,
)
# How long a shutdown waits for the loop to finish its step.
STOP_TIMEOUT = 5.0
CATCH_UP_LISTED = 5


def _pending(user_id: str) -> list[ColumnElement[bool]]:
    return [
        col(Task.user_id) == user_id,
        col(Task.completed).is_(False),
        col(Task.remind_at).is_not(None),
        or_(col(Task.reminded_for).is_(None), col(Task.reminded_for) != col(Task.remind_at)),
    ]


def _plural(n: int) -> str:
    return f"{n} reminder" + ("" if n == 1 else "s")


class ReminderScheduler:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        user_id: str,
        zone: Callable[[], tzinfo],
        notifier: Notifier,
        board: NoticeBoard,
    ) -> None:
        self.engine = engine
        self.sessionmaker = sessionmaker
        # Looking for what is due must not take SQLite's write lock: the scheduler wakes on
        # every commit, and a WAL reader blocks no one.
        self.reader = read_only_sessionmaker(sessionmaker)
        self.user_id = user_id
        self.zone = zone
        self.notifier = notifier
        self.board = board
        self.paused_until: datetime | None = None
        self.wakeups = 0  # loop passes, for the idle benchmark
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._actions: set[asyncio.Task[Any]] = set()
        self._stopping = False

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        sync_engine = self.engine.sync_engine
        event.listen(sync_engine, "before_cursor_execute", self._on_statement)
        event.listen(sync_engine, "commit", self._on_commit)
        event.listen(sync_engine, "rollback", self._on_rollback)
        self._task = asyncio.create_task(self._run(), name="reminders")

    async def stop(self) -> None:
        # Asked to end between steps rather than cancelled: a cancellation landing inside a
        # database call could leave the engine's write lock held and hang the shutdown.
        sync_engine = self.engine.sync_engine
        event.remove(sync_engine, "before_cursor_execute", self._on_statement)
        event.remove(sync_engine, "commit", self._on_commit)
        event.remove(sync_engine, "rollback", self._on_rollback)
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, STOP_TIMEOUT)
            except (TimeoutError, asyncio.CancelledError, Exception):
                pass
            self._task = None

    def poke(self) -> None:
        """Re-read the next reminder now (thread-safe)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    # Only commits that wrote the task table wake the loop: a chat turn commits three or
    # four times before its model request goes out, and each wake-up would run two
    # queries on the event loop in the middle of it.
    def _on_statement(
        self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        if not conn.info.get(_TASKS_WRITTEN) and _writes_tasks(statement, context):
            conn.info[_TASKS_WRITTEN] = True

    def _on_commit(self, conn: Any) -> None:
        if conn.info.pop(_TASKS_WRITTEN, False):
            self.poke()

    def _on_rollback(self, conn: Any) -> None:
        conn.info.pop(_TASKS_WRITTEN, None)

    def pause(self, minutes: int) -> datetime | None:
        """Hold reminders for `minutes` (0 resumes); held ones are shown afterwards."""
        self.paused_until = utcnow() + timedelta(minutes=minutes) if minutes > 0 else None
        self.poke()
        return self.paused_until

    # ----------------------------------------------------------------------- loop

    async def _run(self) -> None:
        try:
            await self._catch_up(utcnow())
        except Exception:
            log.exception("reminder catch-up failed")
        while not self._stopping:
            self.wakeups += 1
            self._wake.clear()
            try:
                timeout = await self._step()
            except Exception:
                log.exception("reminder scheduler step failed")
                timeout = MAX_SLEEP
            log.debug("reminder scheduler woke (%d); sleeping %.1f s", self.wakeups, timeout)
            if self._stopping:
                break
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    async def _step(self) -> float:
        """Deliver what is due; return the seconds until the next reminder."""
        now = utcnow()
        if self.paused_until is not None and now < self.paused_until:
            return min((self.paused_until - now).total_seconds(), MAX_SLEEP)
        self.paused_until = None
        while await self._deliver_due(now):
            now = utcnow()
        async with self.reader() as session:
            stmt = (
                select(Task.remind_at)
                .where(*_pending(self.user_id))
                .order_by(col(Task.remind_at))
                .limit(1)
            )
            upcoming = (await session.exec(stmt)).first()
        if upcoming is None:
            return MAX_SLEEP
        return min(max((upcoming - utcnow()).total_seconds(), 0.0), MAX_SLEEP)

    async def _due(self, session: AsyncSession, until: datetime) -> list[Task]:
        stmt = (
            select(Task)
            .where(*_pending(self.user_id), col(Task.remind_at) <= until)
            .order_by(col(Task.remind_at))
            .limit(BATCH)
        )
        return list((await session.exec(stmt)).all())

    async def _mark_shown(self, session: AsyncSession, tasks: list[Task]) -> None:
        for task in tasks:
            # Core UPDATE: updated_at stays (showing a reminder is not an edit); the sync
            # triggers still record reminded_for, so other devices do not show it again.
            await session.exec(
                update(Task)
                .where(col(Task.id) == task.id, col(Task.remind_at) == task.remind_at)
                .values(reminded_for=task.remind_at)
            )
        await session.commit()

    async def _deliver_due(self, now: datetime) -> bool:
        async with self.reader() as session:
            if not await self._due(session, now):
                return False
        async with self.sessionmaker() as session:
            tasks = await self._due(session, now)
            if not tasks:
                return False
            shown = [(t.id, t.title, self._body(t)) for t in tasks]
            await self._mark_shown(session, tasks)
        for task_id, title, body in shown:
            await self._show_reminder(task_id, title, body)
        return len(tasks) == BATCH

    def _body(self, task: Task) -> str:
        parts = []
        due = task.due
        if isinstance(due, datetime):
            parts.append(f"Due {due.astimezone(self.zone()):%a %d %b, %H:%M}")
        elif due is not None:
            parts.append(f"Due {due:%a %d %b}")
        if task.recurrence:
            parts.append(f"repeats {describe(task.recurrence)}")
        return " · ".join(parts) or "Reminder"

    async def _show_reminder(self, task_id: str, title: str, body: str) -> None:
        actions = [
            Action("done", "Done", lambda: self._done(task_id)),
            Action("snooze", "Snooze 10 min", lambda: self._snooze(task_id)),
        ]
        ok = await self.notifier.show(title=title, body=body, actions=actions)
        self._notice("reminder", title, body, [task_id], ok)

    def _notice(self, kind: Any, title: str, body: str, ids: list[str], ok: bool) -> None:
        self.board.add(
            kind=kind, title=title, body=body, task_ids=ids, delivered="desktop" if ok else "toast"
        )
        if not ok:
            log.warning(
                "no notification service: %s for %d task(s) shown in the app instead",
                kind,
                len(ids),
            )

    async def _catch_up(self, started: datetime) -> None:
        async with self.sessionmaker() as session:
            missed: list[Task] = []
            while batch := await self._due(session, started):
                missed += batch
                await self._mark_shown(session, batch)
            listed = [(t.id, t.title) for t in missed]
        if not listed:
            return
        title = f"{_plural(len(listed))} while TaskChat was closed"
        names = [name for _, name in listed[:CATCH_UP_LISTED]]
        more = len(listed) - len(names)
        body = "\n".join(names) + (f"\n…and {more} more" if more else "")
        ok = await self.notifier.show(title=title, body=body, actions=[])
        self._notice("catch_up", title, body, [i for i, _ in listed], ok)

    # -------------------------------------------------------------------- actions

    async def _act(self, name: str, task_id: str, body: Callable[[AsyncSession], Any]) -> None:
        try:
            async with self.sessionmaker() as session:
                await body(session)
            log.info("reminder action %s on task %s", name, task_id)
        except DomainError as exc:
            log.warning("reminder action %s on task %s: %s", name, task_id, exc.message)

    async def _done(self, task_id: str) -> None:
        await self._act(
            "done",
            task_id,
            lambda s: service.set_completed(
                session=s, user_id=self.user_id, task_id=task_id, zone=self.zone()
            ),
        )

    async def _snooze(self, task_id: str) -> None:
        await self._act(
            "snooze",
            task_id,
            lambda s: service.snooze_reminder(
                session=s, user_id=self.user_id, task_id=task_id, until=utcnow() + SNOOZE
            ),
        )


def _writes_tasks(statement: str, context: Any) -> bool:
    """Whether a statement about to run inserts, updates or deletes task rows.

    This runs before every statement on the engine, reads included: a compiled SELECT is
    answered from its type, and only raw SQL (sync's, migrations') is matched as text.
    """
    compiled = getattr(context, "compiled", None)
    clause = getattr(compiled, "statement", None)
    if isinstance(clause, UpdateBase):  # an ORM flush or a Core insert/update/delete
        return getattr(clause.table, "name", None) == Task.__tablename__
    if clause is not None and not isinstance(clause, TextClause):
        return False  # a compiled SELECT or DDL
    return bool(_TASK_WRITE.search(statement))
