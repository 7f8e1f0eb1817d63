"""The ChatKit Store over the app database: threads and items, every query scoped to one user.

Every call is one short transaction of as few statements as the semantics allow, in
SQLAlchemy Core rather than ORM objects: on SQLite each statement is several hops to
aiosqlite's worker thread (cursor, execute, fetch, close), and those hops, not SQLite,
were most of a chat turn's time before the model request. Ownership checks ride inside
the main statement (`WHERE ... AND user_id = :me` and its rowcount) instead of a
separate lookup; a second query runs only to tell "empty" from "not yours".
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chatkit.store import NotFoundError, Store, StoreItemType
from chatkit.types import (
    ActiveStatus,
    Attachment,
    Page,
    ThreadItem,
    ThreadMetadata,
    ThreadStatus,
    UserMessageContent,
    UserMessageTextContent,
)
from pydantic import TypeAdapter
from sqlalchemy import Row, Table, and_, delete, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlalchemy.sql import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

from app.chat.budget import TurnBudget
from app.chat.models import ChatItem, ChatThread
from app.db.engine import READ_ONLY, STATEMENT_READS
from app.db.types import utcnow
from app.db.uncancellable import run_to_end
from app.tasks.models import CONTROL_CHARS

PAGE_MAX = 500
TITLE_MAX = 48
# Where a first sentence ends: ., ! or ? before a space, or a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n")
_ITEM_ADAPTER: TypeAdapter[ThreadItem] = TypeAdapter(ThreadItem)
_STATUS_ADAPTER: TypeAdapter[ThreadStatus] = TypeAdapter(ThreadStatus)
# The SDK's own ids carry 32 random bits, which collide within a long-lived install.
_ID_PREFIXES: dict[str, str] = {
    "thread": "thr",
    "message": "msg",
    "tool_call": "tc",
    "workflow": "wf",
    "task": "tsk",
    "attachment": "atc",
    "sdk_hidden_context": "shcx",
}
THREADS: Table = ChatThread.__table__  # type: ignore[attr-defined]  # set by SQLModel
ITEMS: Table = ChatItem.__table__  # type: ignore[attr-defined]  # set by SQLModel
_THREAD_COLUMNS = (
    THREADS.c.id,
    THREADS.c.title,
    THREADS.c.created_at,
    THREADS.c.status,
    THREADS.c["metadata"],
)
# The `after` item of an items.list page, looked up inside the page's own query.
_CURSOR_ITEM = ITEMS.alias("after_item")


@dataclass
class NewThread:
    """The thread a threads.create request makes: named after its message up front, and
    stored together with that message (SqlStore.save_thread keeps its row until
    add_thread_item writes both in one transaction)."""

    title: str | None
    id: str | None = None
    row: dict[str, Any] | None = None
    # Its first message while that is its only item: a load of its items needs no read
    # (ChatKit's agent helper loads the latest items as the model request goes out).
    only_item: ThreadItem | None = None


@dataclass(frozen=True)
class ChatContext:
    """What the route hands to every ChatKit call: whose data this request may touch,
    (one request is one turn) what is left of the turn's budget of unasked changes, and
    the thread it creates, if it is a threads.create."""

    user_id: str
    budget: TurnBudget = field(default_factory=TurnBudget, compare=False)
    new_thread: NewThread | None = field(default=None, compare=False)

    def created(self, thread_id: str) -> bool:
        """Whether this request created the thread (threads.create)."""
        return self.new_thread is not None and self.new_thread.id == thread_id

    def changes(self, thread_id: str) -> None:
        """A write to a thread's items: a new thread's first message may not be its only
        item any more."""
        if self.new_thread is not None and self.new_thread.id == thread_id:
            self.new_thread.only_item = None


def title_from(content: Sequence[UserMessageContent]) -> str | None:
    """A short thread title: the first message's first sentence (or line), cut at a word
    boundary, so that threads started alike still read apart in the list."""
    text = " ".join(part.text for part in content if isinstance(part, UserMessageTextContent))
    first = _SENTENCE_END.split(text.strip(), maxsplit=1)[0]
    # A title is one plain line: the thread's own checks refuse control characters.
    text = CONTROL_CHARS.sub("", re.sub(r"\s+", " ", first)).strip().rstrip(".")
    if not text:
        return None
    if len(text) <= TITLE_MAX:
        return text
    cut = text[: TITLE_MAX - 1].rsplit(" ", 1)[0] or text[: TITLE_MAX - 1]
    return cut.rstrip(" ,.;:-") + "…"


def as_utc(value: datetime) -> datetime:
    """ChatKit stamps items with naive local `datetime.now()`; store them as UTC instants."""
    return value.astimezone(UTC)


def _after(keys: tuple[Any, Any], values: tuple[Any, Any], *, desc: bool) -> ColumnElement[bool]:
    """Keyset condition `(k1, k2) > (v1, v2)` (or `<`), spelled portably."""
    (k1, k2), (v1, v2) = keys, values
    if desc:
        return or_(k1 < v1, and_(k1 == v1, k2 < v2))
    return or_(k1 > v1, and_(k1 == v1, k2 > v2))


def _page_size(limit: int) -> int:
    """A page of 1..PAGE_MAX: a request's `limit` reaches here unchecked (0, -1 or 10**30
    broke the paging arithmetic or overflowed SQLite's integer: a 500)."""
    return max(1, min(limit, PAGE_MAX))


def _order(keys: tuple[Any, Any], *, desc: bool) -> list[Any]:
    return [k.desc() for k in keys] if desc else [k.asc() for k in keys]


def _page(data: list[Any], limit: int) -> Page[Any]:
    has_more = len(data) > limit
    data = data[:limit]
    return Page(data=data, has_more=has_more, after=data[-1].id if has_more else None)


def _owns_thread(thread_id: str, user_id: str) -> ColumnElement[bool]:
    return and_(THREADS.c.id == thread_id, THREADS.c.user_id == user_id)


def _insert_new_thread(row: dict[str, Any]) -> Any:
    """INSERT ... SELECT ... WHERE NOT EXISTS: inserts a thread only if the id is free.

    The common save is the first one (threads.create): one statement instead of a lookup
    and an insert. Not an `ON CONFLICT DO UPDATE` upsert: on SQLite that clause overrides
    the `INSERT OR REPLACE` inside the sync triggers (migration 0003), which then fail.
    """
    taken = select(THREADS.c.id).where(THREADS.c.id == row["id"]).exists()
    values = select(*(literal(v, THREADS.c[k].type) for k, v in row.items())).where(~taken)
    return insert(THREADS).from_select(list(row), values)


class SqlStore(Store[ChatContext]):
    """Threads and items in `chat_thread` / `chat_item`; another user's ids act as missing.

    Items carry their thread's user_id, so an item row that matches `user_id = :me` also
    proves the thread is the caller's.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        # Writes go through Sessions: the sync capture hook stamps changes at their commit.
        self.sessionmaker = sessionmaker
        bind = sessionmaker.kw.get("bind")
        if not isinstance(bind, AsyncEngine):
            raise TypeError("SqlStore needs a sessionmaker bound to an AsyncEngine")
        # Loads take no write lock, so 50 streaming turns do not queue behind each other;
        # and no Session either (nothing to flush or stamp), which saves its bookkeeping
        # and a second rollback per load. No transaction at all on SQLite: a load is one
        # statement (a second only tells an empty page from a missing thread), so the
        # statement's own snapshot is enough, and BEGIN and ROLLBACK were 4 of its 7 hops.
        self._read_engine = bind.execution_options(**{READ_ONLY: True, STATEMENT_READS: True})

    async def _write(self, work: Callable[[AsyncConnection], Awaitable[None]]) -> None:
        """`work(conn)` in one write transaction that runs to its end, even when the
        caller is cancelled (a client that goes away mid-reply cancels its stream).

        Cancelled in the middle of an aiosqlite call, SQLAlchemy drops the connection
        without closing it, and its open write transaction then holds SQLite's lock (and
        the engine's in-process write lock) for good: every later write fails with
        "database is locked". So the transaction runs in a task the cancellation does not
        reach, and the cancellation is passed on once it has committed or rolled back, as
        SyncService._local does for the sync engine. A Session, not a bare connection: the
        sync capture hook stamps changes at its commit.
        """

        async def transaction() -> None:
            async with self.sessionmaker() as session:
                await work(await session.connection())
                await session.commit()

        await run_to_end(transaction())

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        async with self._read_engine.connect() as conn:
            yield conn

    def generate_thread_id(self, context: ChatContext) -> str:
        return f"thr_{uuid.uuid4().hex}"

    def generate_item_id(
        self, item_type: StoreItemType, thread: ThreadMetadata, context: ChatContext
    ) -> str:
        return f"{_ID_PREFIXES.get(item_type, 'itm')}_{uuid.uuid4().hex}"

    # -- threads -------------------------------------------------------------------------

    @staticmethod
    def _to_metadata(row: Row[*tuple[Any, ...]]) -> ThreadMetadata:
        return ThreadMetadata(
            id=row.id,
            title=row.title,
            created_at=row.created_at,
            status=_STATUS_ADAPTER.validate_python(row.status) if row.status else ActiveStatus(),
            # A row stored before imports were checked may hold a non-object (issue 23).
            metadata=dict(row.metadata) if isinstance(row.metadata, dict) else {},
        )

    async def load_thread(self, thread_id: str, context: ChatContext) -> ThreadMetadata:
        async with self._reading() as conn:
            stmt = select(*_THREAD_COLUMNS).where(_owns_thread(thread_id, context.user_id))
            row = (await conn.execute(stmt)).first()
        if row is None:
            raise NotFoundError(f"Thread {thread_id} not found")
        return self._to_metadata(row)

    async def save_thread(self, thread: ThreadMetadata, context: ChatContext) -> None:
        new = context.new_thread
        title = thread.title
        if new is not None and new.id in (None, thread.id):
            # ChatKit's copy of the thread this request creates has no title: its
            # message's first words, stored at once, so no write of its own runs during
            # the turn.
            title = title or new.title
            if new.id is None or new.row is not None:
                # threads.create: ChatKit saves the thread, sends thread.created, then
                # adds the message. The thread's row waits for that message and goes into
                # the same transaction (add_thread_item): one write fewer before the
                # model is asked.
                new.id, new.row = thread.id, self._thread_row(thread, context, title=title)
                return
        row = self._thread_row(thread, context, title=title)

        async def work(conn: AsyncConnection) -> None:
            if (await conn.execute(_insert_new_thread(row))).rowcount == 0:
                # The id exists: update it, if it is this user's (created_at is kept).
                changes = {k: row[k] for k in ("title", "status", "metadata", "updated_at")}
                stmt = update(THREADS).where(_owns_thread(thread.id, context.user_id))
                if (await conn.execute(stmt.values(**changes))).rowcount == 0:
                    raise NotFoundError(f"Thread {thread.id} not found")

        await self._write(work)

    @staticmethod
    def _thread_row(
        thread: ThreadMetadata, context: ChatContext, *, title: str | None
    ) -> dict[str, Any]:
        return {
            "id": thread.id,
            "user_id": context.user_id,
            "title": title[:255] if title else None,
            "status": thread.status.model_dump(mode="json"),
            "metadata": thread.metadata,
            "created_at": as_utc(thread.created_at),
            "updated_at": utcnow(),
        }

    async def load_threads(
        self, limit: int, after: str | None, order: str, context: ChatContext
    ) -> Page[ThreadMetadata]:
        desc = order == "desc"
        limit = _page_size(limit)
        keys = (THREADS.c.created_at, THREADS.c.id)
        stmt = select(*_THREAD_COLUMNS).where(THREADS.c.user_id == context.user_id)
        if after:
            # The cursor's own id is the tiebreak value; only its created_at is looked up.
            at = (
                select(THREADS.c.created_at)
                .where(_owns_thread(after, context.user_id))
                .scalar_subquery()
            )
            stmt = stmt.where(_after(keys, (at, after), desc=desc))
        stmt = stmt.order_by(*_order(keys, desc=desc)).limit(limit + 1)
        async with self._reading() as conn:
            rows = (await conn.execute(stmt)).all()
            if not rows and after:
                # An empty page: past the end, or a cursor that is missing or not yours.
                owned = select(THREADS.c.id).where(_owns_thread(after, context.user_id))
                if (await conn.execute(owned)).first() is None:
                    raise NotFoundError(f"Thread {after} not found")
        return _page([self._to_metadata(r) for r in rows], limit)

    async def delete_thread(self, thread_id: str, context: ChatContext) -> None:
        context.changes(thread_id)

        async def work(conn: AsyncConnection) -> None:
            # Items go first and explicitly: PostgreSQL and SQLite both cascade, but only
            # if the foreign key was enforced when the row was written.
            await conn.execute(
                delete(ITEMS).where(
                    ITEMS.c.thread_id == thread_id, ITEMS.c.user_id == context.user_id
                )
            )
            gone = await conn.execute(
                delete(THREADS).where(_owns_thread(thread_id, context.user_id))
            )
            if gone.rowcount == 0:
                raise NotFoundError(f"Thread {thread_id} not found")  # rolls back

        await self._write(work)

    # -- items ---------------------------------------------------------------------------

    @staticmethod
    def _to_item(row: Row[*tuple[Any, ...]]) -> ThreadItem:
        return _ITEM_ADAPTER.validate_python({**row.data, "created_at": row.created_at})

    async def load_thread_items(
        self,
        thread_id: str,
        after: str | None,
        limit: int,
        order: str,
        context: ChatContext,
    ) -> Page[ThreadItem]:
        new = context.new_thread
        if after is None and new is not None and new.id == thread_id and new.only_item:
            return Page(data=[new.only_item], has_more=False)
        limit = _page_size(limit)
        desc = order == "desc"
        keys = (ITEMS.c.created_at, ITEMS.c.seq)
        stmt = select(ITEMS.c.data, ITEMS.c.created_at).where(
            ITEMS.c.thread_id == thread_id, ITEMS.c.user_id == context.user_id
        )
        cursor = _CURSOR_ITEM
        in_thread = and_(cursor.c.id == after, cursor.c.thread_id == thread_id)
        if after:
            at = select(cursor.c.created_at).where(in_thread).scalar_subquery()
            seq = select(cursor.c.seq).where(in_thread).scalar_subquery()
            stmt = stmt.where(_after(keys, (at, seq), desc=desc))
        stmt = stmt.order_by(*_order(keys, desc=desc)).limit(limit + 1)
        async with self._reading() as conn:
            rows = (await conn.execute(stmt)).all()
            if not rows:
                # Nothing matched: an empty thread or page, or an id that is not yours.
                checks = [select(THREADS.c.id).where(_owns_thread(thread_id, context.user_id))]
                if after:
                    checks.append(select(cursor.c.id).where(in_thread))
                found = (await conn.execute(select(*(c.exists() for c in checks)))).one()
                if not found[0]:
                    raise NotFoundError(f"Thread {thread_id} not found")
                if not all(found):
                    raise NotFoundError(f"Item {after} not found")
        return _page([self._to_item(r) for r in rows], limit)

    async def add_thread_item(
        self,
        thread_id: str,
        item: ThreadItem,
        context: ChatContext,
        *,
        title: str | None = None,
    ) -> None:
        """Append an item; `title`, if given, names the thread in the same transaction.

        The first item of a thread this request creates stores the thread too (see
        save_thread)."""
        new = context.new_thread
        thread_row = new.row if new is not None and new.id == thread_id else None

        async def work(conn: AsyncConnection) -> None:
            if thread_row is None:
                await self._insert(conn, thread_id, item, context, title)
                return
            if (await conn.execute(_insert_new_thread(thread_row))).rowcount == 0:
                raise NotFoundError(f"Thread {thread_id} not found")  # the id is taken
            # A thread inserted just now needs no ownership check or touch, and its first
            # item no max(seq).
            row = self._item_row(thread_id, item, context, 1)
            await conn.execute(insert(ITEMS).values(**row))

        context.changes(thread_id)
        await self._write(work)
        if thread_row is not None and new is not None:
            new.row, new.only_item = None, item  # stored, with its first message

    @staticmethod
    async def _insert(
        conn: AsyncConnection,
        thread_id: str,
        item: ThreadItem,
        context: ChatContext,
        title: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"updated_at": utcnow()}
        if title:
            values["title"] = title[:255]
        # The thread's row first: its rowcount is the ownership check, and on PostgreSQL
        # its row lock queues concurrent appends to one thread, so max(seq) below sees
        # the previous append's committed row instead of computing the same seq twice.
        touched = await conn.execute(
            update(THREADS).where(_owns_thread(thread_id, context.user_id)).values(**values)
        )
        if touched.rowcount == 0:
            raise NotFoundError(f"Thread {thread_id} not found")
        next_seq = (
            select(func.coalesce(func.max(ITEMS.c.seq), 0) + 1)
            .where(ITEMS.c.thread_id == thread_id)
            .scalar_subquery()
        )
        await conn.execute(
            insert(ITEMS).values(**SqlStore._item_row(thread_id, item, context, next_seq))
        )

    @staticmethod
    def _item_row(thread_id: str, item: ThreadItem, context: ChatContext, seq: Any) -> dict:
        return {
            "id": item.id,
            "thread_id": thread_id,
            "user_id": context.user_id,
            "type": item.type,
            "created_at": as_utc(item.created_at),
            "seq": seq,
            "data": item.model_dump(mode="json"),
        }

    async def save_item(self, thread_id: str, item: ThreadItem, context: ChatContext) -> None:
        context.changes(thread_id)

        async def work(conn: AsyncConnection) -> None:
            # Keep created_at and seq: an edited item keeps its place in the thread.
            edited = await conn.execute(
                update(ITEMS)
                .where(
                    ITEMS.c.id == item.id,
                    ITEMS.c.thread_id == thread_id,
                    ITEMS.c.user_id == context.user_id,
                )
                .values(type=item.type, data=item.model_dump(mode="json"))
            )
            if edited.rowcount == 0:
                try:
                    await self._insert(conn, thread_id, item, context)
                except IntegrityError:
                    # The id is taken by another thread's or user's item: not this one.
                    raise NotFoundError(f"Item {item.id} not found") from None

        await self._write(work)

    async def load_item(self, thread_id: str, item_id: str, context: ChatContext) -> ThreadItem:
        stmt = select(ITEMS.c.data, ITEMS.c.created_at).where(
            ITEMS.c.id == item_id,
            ITEMS.c.thread_id == thread_id,
            ITEMS.c.user_id == context.user_id,
        )
        async with self._reading() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            raise NotFoundError(f"Item {item_id} not found")
        return self._to_item(row)

    async def delete_thread_item(self, thread_id: str, item_id: str, context: ChatContext) -> None:
        context.changes(thread_id)

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(
                delete(ITEMS).where(
                    ITEMS.c.id == item_id,
                    ITEMS.c.thread_id == thread_id,
                    ITEMS.c.user_id == context.user_id,
                )
            )
            await conn.execute(
                update(THREADS)
                .where(_owns_thread(thread_id, context.user_id))
                .values(updated_at=utcnow())
            )

        await self._write(work)

    # -- attachments: TaskChat has no file uploads ----------------------------------------

    async def save_attachment(self, attachment: Attachment, context: ChatContext) -> None:
        raise NotImplementedError("Attachments are not supported.")

    async def load_attachment(self, attachment_id: str, context: ChatContext) -> Attachment:
        raise NotImplementedError("Attachments are not supported.")

    async def delete_attachment(self, attachment_id: str, context: ChatContext) -> None:
        raise NotImplementedError("Attachments are not supported.")
