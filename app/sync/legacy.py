"""`taskchat import-legacy PATH_OR_URL`: tasks and conversations from the TaskChat web app.

The web version's schema (SQLite file or PostgreSQL database) is taken to be:

    tasks    (id, user_id, title, description, completed, created_at, updated_at)
    messages (id, conversation_id, user_id, role, content, created_at)

`id` may be an integer or text; `conversation_id` is a string; `role` is user, assistant,
system or tool (system and tool messages are skipped); timestamps without a zone are UTC.
Tasks keep their title, description, completion and dates; each conversation becomes a
thread (titled after its first user message) whose messages become thread items.

Imported rows get ids derived from the legacy ids (uuid5 / hashes), so running the import
again adds only what is new: it is idempotent. Imported rows are ordinary local changes,
so they sync like any other.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    InferenceOptions,
    UserMessageItem,
    UserMessageTextContent,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from app.chat.models import ChatItem, ChatThread
from app.db.engine import create_sessionmaker
from app.db.postgres import connect, is_postgres_url
from app.errors import InvalidInput
from app.tasks.models import DESCRIPTION_MAX, TITLE_MAX, Task, TaskTag

LEGACY_NS = uuid.UUID("6f1d2c1e-8a4b-4e7a-9a51-7c3b0d5e9f10")
TASK_COLS = ("id", "user_id", "title", "description", "completed", "created_at", "updated_at")
MSG_COLS = ("id", "conversation_id", "user_id", "role", "content", "created_at")


@dataclass
class ImportReport:
    tasks_added: int = 0
    tasks_skipped: int = 0
    threads_added: int = 0
    items_added: int = 0
    items_skipped: int = 0

    def summary(self) -> str:
        return (
            f"Imported {self.tasks_added} tasks ({self.tasks_skipped} already there), "
            f"{self.threads_added} conversations and {self.items_added} messages "
            f"({self.items_skipped} already there)."
        )


def _ts(value: Any) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _read_sqlite(path: str) -> tuple[list[dict], list[dict]]:
    if not Path(path).is_file():
        raise InvalidInput(f"No such file: {path}")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        tasks = (
            [
                dict(zip(TASK_COLS, r, strict=True))
                for r in conn.execute(f"SELECT {', '.join(TASK_COLS)} FROM tasks")
            ]
            if "tasks" in tables
            else []
        )
        messages = (
            [
                dict(zip(MSG_COLS, r, strict=True))
                for r in conn.execute(f"SELECT {', '.join(MSG_COLS)} FROM messages")
            ]
            if "messages" in tables
            else []
        )
    finally:
        conn.close()
    if "tasks" not in tables and "messages" not in tables:
        raise InvalidInput("That database has neither a `tasks` nor a `messages` table.")
    return tasks, messages


async def _read_postgres(url: str) -> tuple[list[dict], list[dict]]:
    conn = await connect(url)
    try:
        out = []
        for table, cols in (("tasks", TASK_COLS), ("messages", MSG_COLS)):
            exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table)
            rows = await conn.fetch(f"SELECT {', '.join(cols)} FROM {table}") if exists else []
            out.append([dict(r) for r in rows])
        return out[0], out[1]
    finally:
        await conn.close()


def _item(item_id: str, thread_id: str, role: str, text: str, created: datetime) -> dict | None:
    if role == "user":
        item: Any = UserMessageItem(
            id=item_id,
            thread_id=thread_id,
            created_at=created,
            content=[UserMessageTextContent(text=text)],
            inference_options=InferenceOptions(),
        )
    elif role == "assistant":
        item = AssistantMessageItem(
            id=item_id,
            thread_id=thread_id,
            created_at=created,
            content=[AssistantMessageContent(text=text)],
        )
    else:
        return None
    return item.model_dump(mode="json")


def _hash(*parts: Any) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:32]


async def import_legacy(
    engine: AsyncEngine, source: str, *, local_user: str, only_user: str | None = None
) -> ImportReport:
    if is_postgres_url(source):
        tasks, messages = await _read_postgres(source)
    else:
        tasks, messages = await asyncio.to_thread(_read_sqlite, source)
    users = {str(r["user_id"]) for r in tasks + messages if r.get("user_id") is not None}
    if only_user is None and len(users) > 1:
        raise InvalidInput(
            "The legacy database has several users; choose one with --user "
            f"({', '.join(sorted(users)[:10])})."
        )
    if only_user is not None:
        tasks = [r for r in tasks if str(r["user_id"]) == only_user]
        messages = [r for r in messages if str(r["user_id"]) == only_user]
    report = ImportReport()
    maker = create_sessionmaker(engine)
    async with maker() as session:
        task_ids = {str(uuid.uuid5(LEGACY_NS, f"task:{r['id']}")): r for r in tasks}
        existing = (
            set((await session.exec(select(Task.id).where(col(Task.id).in_(list(task_ids))))).all())
            if task_ids
            else set()
        )
        for tid, r in task_ids.items():
            if tid in existing:
                report.tasks_skipped += 1
                continue
            created = _ts(r["created_at"])
            done = bool(r["completed"])
            session.add(
                Task(
                    id=tid,
                    user_id=local_user,
                    title=(str(r["title"] or "").strip() or "(untitled)")[:TITLE_MAX],
                    description=str(r["description"] or "")[:DESCRIPTION_MAX],
                    completed=done,
                    completed_at=_ts(r["updated_at"]) if done else None,
                    tags=[],
                    created_at=created,
                    updated_at=_ts(r["updated_at"] or r["created_at"]),
                )
            )
            report.tasks_added += 1
        await session.flush()
        conversations: dict[str, list[dict]] = {}
        for m in messages:
            conversations.setdefault(str(m["conversation_id"]), []).append(m)
        for conv_id, msgs in conversations.items():
            msgs.sort(key=lambda m: (_ts(m["created_at"]), str(m["id"])))
            thread_id = f"thr_legacy_{_hash('thread', conv_id)}"
            thread = await session.get(ChatThread, thread_id)
            if thread is None:
                first_user = next((m for m in msgs if m["role"] == "user"), msgs[0])
                thread = ChatThread(
                    id=thread_id,
                    user_id=local_user,
                    title=(str(first_user["content"] or "").strip()[:60] or "Imported chat"),
                    status={"type": "active"},
                    meta={"legacy_conversation_id": conv_id},
                    created_at=_ts(msgs[0]["created_at"]),
                    updated_at=_ts(msgs[-1]["created_at"]),
                )
                session.add(thread)
                await session.flush()
                report.threads_added += 1
            have = set(
                (
                    await session.exec(select(ChatItem.id).where(ChatItem.thread_id == thread_id))
                ).all()
            )
            seq = len(have)
            for m in msgs:
                item_id = f"msg_legacy_{_hash('message', conv_id, m['id'])}"
                if item_id in have:
                    report.items_skipped += 1
                    continue
                created = _ts(m["created_at"])
                data = _item(item_id, thread_id, str(m["role"]), str(m["content"] or ""), created)
                if data is None:
                    continue
                seq += 1
                session.add(
                    ChatItem(
                        id=item_id,
                        thread_id=thread_id,
                        user_id=local_user,
                        type=data["type"],
                        created_at=created,
                        seq=seq,
                        data=data,
                    )
                )
                report.items_added += 1
        await session.commit()
    _ = TaskTag  # tags: the web version had none
    return report
