"""Abuse limits for the chat endpoint: a per-minute limit and a daily message cap.

Only ChatKit requests that make Gemini answer count (a new thread, a new message, a
retry, a client tool result, a custom action). The per-minute window is kept in memory;
the daily count is per user per UTC day in the database (`chat_usage`), so restarting
TaskChat does not reset it and a `serve` beside the window counts into the same rows.
The chat route checks both as a dependency, after it parsed the request's body.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.errors import RateLimited

# Daily cap: requests that add a person's message.
MESSAGE_TYPES = frozenset(
    {"threads.create", "threads.add_user_message", "threads.retry_after_item"}
)
# Per-minute limit: everything that makes the model run.
MODEL_TYPES = MESSAGE_TYPES | {
    "threads.add_client_tool_output",
    "threads.custom_action",
    "threads.sync_custom_action",
}
# Days of counts kept (older rows go when a day's first message is counted).
KEEP_DAYS = 7


class ChatUsage(SQLModel, table=True):
    """Messages a user sent on one UTC day (migration 0005_chat_undo)."""

    __tablename__ = "chat_usage"

    user_id: str = Field(primary_key=True, max_length=64)
    day: str = Field(primary_key=True, max_length=10)  # YYYY-MM-DD, UTC
    messages: int = Field(default=0, nullable=False)


USAGE: Table = ChatUsage.__table__  # type: ignore[attr-defined]  # SQLModel sets it at class creation


def _until_midnight(now: datetime) -> int:
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    return max(1, math.ceil((midnight - now).total_seconds()))


class UsageLimiter:
    """Per-user sliding one-minute window (in memory) and a durable daily counter."""

    def __init__(self, settings: Settings) -> None:
        # The app's Settings object: Settings edits (the daily cap) change it in place.
        self.settings = settings
        self._minute: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    async def used_today(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        user_id: str,
        now: datetime | None = None,
    ) -> int:
        day = (now or datetime.now(UTC)).date().isoformat()
        async with sessionmaker() as session:
            stmt = select(USAGE.c.messages).where(USAGE.c.user_id == user_id, USAGE.c.day == day)
            return int((await (await session.connection()).execute(stmt)).scalar() or 0)

    def _take_minute_slot(self, user_id: str) -> float:
        """Reserve one request in the user's window (before anything awaits, so parallel
        requests cannot all pass the same check); raises RateLimited when it is full."""
        mono = time.monotonic()
        per_minute = self.settings.chat_per_minute
        with self._lock:
            window = self._minute[user_id]
            while window and window[0] <= mono - 60:
                window.popleft()
            if per_minute > 0 and len(window) >= per_minute:
                wait = max(1, math.ceil(window[0] + 60 - mono))
                raise RateLimited(
                    f"You're sending messages too quickly (limit: {per_minute} a minute). "
                    f"Please wait {wait} seconds and try again.",
                    retry_after=wait,
                )
            window.append(mono)
        return mono

    def _give_back(self, user_id: str, slot: float) -> None:
        with self._lock:
            try:
                self._minute[user_id].remove(slot)
            except ValueError:
                pass

    async def check(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        user_id: str,
        request_type: str | None,
        now: datetime | None = None,
    ) -> None:
        """Count one request, or raise RateLimited without counting it."""
        if request_type not in MODEL_TYPES:
            return
        slot = self._take_minute_slot(user_id)
        if request_type not in MESSAGE_TYPES:
            return
        try:
            await self._count_message(sessionmaker, user_id, now or datetime.now(UTC))
        except BaseException:
            self._give_back(user_id, slot)
            raise

    async def _count_message(
        self, sessionmaker: async_sessionmaker[AsyncSession], user_id: str, now: datetime
    ) -> None:
        """One atomic check-and-count: `messages + 1 WHERE messages < cap` is a single
        statement, so two requests (or two processes) cannot both take the last one."""
        cap = self.settings.daily_message_cap
        day = now.date().isoformat()
        mine = (USAGE.c.user_id == user_id, USAGE.c.day == day)
        counted = update(USAGE).where(*mine).values(messages=USAGE.c.messages + 1)
        if cap > 0:
            counted = counted.where(USAGE.c.messages < cap)
        for _ in range(2):
            async with sessionmaker() as session:
                conn = await session.connection()
                if (await conn.execute(counted)).rowcount == 1:
                    await session.commit()
                    return
                if (await conn.execute(select(USAGE.c.day).where(*mine))).first():
                    hours, minutes = divmod(math.ceil(_until_midnight(now) / 60), 60)
                    raise RateLimited(
                        f"You've reached today's limit of {cap} messages. It resets at "
                        f"midnight UTC (in {hours} h {minutes} min); you can raise the "
                        "limit in Settings.",
                        retry_after=_until_midnight(now),
                    )
                oldest = (now.date() - timedelta(days=KEEP_DAYS)).isoformat()
                await conn.execute(delete(USAGE).where(USAGE.c.day < oldest))
                try:
                    await conn.execute(insert(USAGE).values(user_id=user_id, day=day, messages=1))
                    await session.commit()
                    return
                except IntegrityError:
                    await session.rollback()  # counted elsewhere meanwhile: count again
        raise RateLimited("Too many messages at once; try again.", retry_after=1)
