"""The ChatKit Store over the app database: threads and items, every query scoped to one user."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
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
)
from pydantic import TypeAdapter
from sqlalchemy import and_, delete, func, or_, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.sql import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.chat.models import ChatItem, ChatThread
from app.db.engine import read_only_sessionmaker
from app.db.types import utcnow

PAGE_MAX = 500
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


@dataclass(frozen=True)
class ChatContext:
    """What the route hands to every ChatKit call: whose data this request may touch."""

    user_id: str


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


class SqlStore(Store[ChatContext]):
    """Threads and items in `chat_thread` / `chat_item`; another user's ids act as missing."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        # Loads take no write lock, so 50 streaming turns do not queue behind each other.
        self.reader = read_only_sessionmaker(sessionmaker)

    def generate_thread_id(self, context: ChatContext) -> str:
        return f"thr_{uuid.uuid4().hex}"

    def generate_item_id(
        self, item_type: StoreItemType, thread: ThreadMetadata, context: ChatContext
    ) -> str:
        return f"{_ID_PREFIXES.get(item_type, 'itm')}_{uuid.uuid4().hex}"

    # -- threads -------------------------------------------------------------------------

    @staticmethod
    async def _thread_row(session: AsyncSession, thread_id: str, user_id: str) -> ChatThread:
        row = await session.get(ChatThread, thread_id)
        if row is None or row.user_id != user_id:
            raise NotFoundError(f"Thread {thread_id} not found")
        return row

    @staticmethod
    def _to_metadata(row: ChatThread) -> ThreadMetadata:
        return ThreadMetadata(
            id=row.id,
            title=row.title,
            created_at=row.created_at,
            status=_STATUS_ADAPTER.validate_python(row.status) if row.status else ActiveStatus(),
            metadata=dict(row.meta or {}),
        )

    async def load_thread(self, thread_id: str, context: ChatContext) -> ThreadMetadata:
        async with self.reader() as session:
            return self._to_metadata(await self._thread_row(session, thread_id, context.user_id))

    async def save_thread(self, thread: ThreadMetadata, context: ChatContext) -> None:
        async with self.sessionmaker() as session:
            row = await session.get(ChatThread, thread.id)
            if row is not None and row.user_id != context.user_id:
                raise NotFoundError(f"Thread {thread.id} not found")
            now = utcnow()
            if row is None:
                row = ChatThread(
                    id=thread.id,
                    user_id=context.user_id,
                    created_at=as_utc(thread.created_at),
                    updated_at=now,
                )
            row.title = thread.title[:255] if thread.title else None
            row.status = thread.status.model_dump(mode="json")
            row.meta = thread.metadata
            row.updated_at = now
            session.add(row)
            await session.commit()

    async def load_threads(
        self, limit: int, after: str | None, order: str, context: ChatContext
    ) -> Page[ThreadMetadata]:
        desc = order == "desc"
        limit = _page_size(limit)
        keys = (col(ChatThread.created_at), col(ChatThread.id))
        async with self.reader() as session:
            stmt = select(ChatThread).where(ChatThread.user_id == context.user_id)
            if after:
                cursor = await self._thread_row(session, after, context.user_id)
                stmt = stmt.where(_after(keys, (cursor.created_at, cursor.id), desc=desc))
            rows = (
                await session.exec(stmt.order_by(*_order(keys, desc=desc)).limit(limit + 1))
            ).all()
        has_more = len(rows) > limit
        data = [self._to_metadata(r) for r in rows[:limit]]
        return Page(data=data, has_more=has_more, after=data[-1].id if has_more else None)

    async def delete_thread(self, thread_id: str, context: ChatContext) -> None:
        async with self.sessionmaker() as session:
            await self._thread_row(session, thread_id, context.user_id)
            # Items go first and explicitly: PostgreSQL and SQLite both cascade, but only
            # if the foreign key was enforced when the row was written.
            await session.exec(
                delete(ChatItem).where(
                    col(ChatItem.thread_id) == thread_id, col(ChatItem.user_id) == context.user_id
                )
            )  # type: ignore[call-overload]
            await session.exec(
                delete(ChatThread).where(
                    col(ChatThread.id) == thread_id, col(ChatThread.user_id) == context.user_id
                )
            )  # type: ignore[call-overload]
            await session.commit()

    # -- items ---------------------------------------------------------------------------

    @staticmethod
    def _to_item(row: ChatItem) -> ThreadItem:
        item = _ITEM_ADAPTER.validate_python(row.data)
        return item.model_copy(update={"created_at": row.created_at})

    async def load_thread_items(
        self,
        thread_id: str,
        after: str | None,
        limit: int,
        order: str,
        context: ChatContext,
    ) -> Page[ThreadItem]:
        desc = order == "desc"
        limit = _page_size(limit)
        keys = (col(ChatItem.created_at), col(ChatItem.seq))
        async with self.reader() as session:
            await self._thread_row(session, thread_id, context.user_id)
            stmt = select(ChatItem).where(
                ChatItem.thread_id == thread_id, ChatItem.user_id == context.user_id
            )
            if after:
                cursor = await session.get(ChatItem, after)
                if cursor is None or cursor.thread_id != thread_id:
                    raise NotFoundError(f"Item {after} not found")
                stmt = stmt.where(_after(keys, (cursor.created_at, cursor.seq), desc=desc))
            rows = (
                await session.exec(stmt.order_by(*_order(keys, desc=desc)).limit(limit + 1))
            ).all()
        has_more = len(rows) > limit
        data = [self._to_item(r) for r in rows[:limit]]
        return Page(data=data, has_more=has_more, after=data[-1].id if has_more else None)

    async def add_thread_item(self, thread_id: str, item: ThreadItem, context: ChatContext) -> None:
        async with self.sessionmaker() as session:
            thread = await self._thread_row(session, thread_id, context.user_id)
            await self._insert(session, thread, item, context)
            await session.commit()

    @staticmethod
    async def _insert(
        session: AsyncSession, thread: ChatThread, item: ThreadItem, context: ChatContext
    ) -> None:
        last = (
            await session.exec(
                select(func.max(ChatItem.seq)).where(ChatItem.thread_id == thread.id)
            )
        ).one()
        session.add(
            ChatItem(
                id=item.id,
                thread_id=thread.id,
                user_id=context.user_id,
                type=item.type,
                created_at=as_utc(item.created_at),
                seq=(last or 0) + 1,
                data=item.model_dump(mode="json"),
            )
        )
        thread.updated_at = utcnow()
        session.add(thread)

    async def save_item(self, thread_id: str, item: ThreadItem, context: ChatContext) -> None:
        async with self.sessionmaker() as session:
            thread = await self._thread_row(session, thread_id, context.user_id)
            row = await session.get(ChatItem, item.id)
            if row is None:
                await self._insert(session, thread, item, context)
            elif row.thread_id != thread_id or row.user_id != context.user_id:
                raise NotFoundError(f"Item {item.id} not found")
            else:
                # Keep created_at and seq: an edited item keeps its place in the thread.
                row.type = item.type
                row.data = item.model_dump(mode="json")
                session.add(row)
            await session.commit()

    async def load_item(self, thread_id: str, item_id: str, context: ChatContext) -> ThreadItem:
        async with self.reader() as session:
            row = await session.get(ChatItem, item_id)
            if row is None or row.thread_id != thread_id or row.user_id != context.user_id:
                raise NotFoundError(f"Item {item_id} not found")
            return self._to_item(row)

    async def delete_thread_item(self, thread_id: str, item_id: str, context: ChatContext) -> None:
        async with self.sessionmaker() as session:
            await session.exec(
                delete(ChatItem).where(
                    col(ChatItem.id) == item_id,
                    col(ChatItem.thread_id) == thread_id,
                    col(ChatItem.user_id) == context.user_id,
                )
            )  # type: ignore[call-overload]
            await session.exec(
                update(ChatThread)
                .where(col(ChatThread.id) == thread_id, col(ChatThread.user_id) == context.user_id)
                .values(updated_at=utcnow())
            )  # type: ignore[call-overload]
            await session.commit()

    # -- attachments: TaskChat has no file uploads ----------------------------------------

    async def save_attachment(self, attachment: Attachment, context: ChatContext) -> None:
        raise NotImplementedError("Attachments are not supported.")

    async def load_attachment(self, attachment_id: str, context: ChatContext) -> Attachment:
        raise NotImplementedError("Attachments are not supported.")

    async def delete_attachment(self, attachment_id: str, context: ChatContext) -> None:
        raise NotImplementedError("Attachments are not supported.")
