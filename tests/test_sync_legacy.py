"""`taskchat import-legacy`: the web version's tasks and conversations, idempotently."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

from app.chat.store import ChatContext, SqlStore
from app.db import migrate
from app.db.engine import create_engine, create_sessionmaker
from app.errors import InvalidInput
from app.sync.legacy import import_legacy
from tests.pg import run_sync

SCHEMA = (
    "CREATE TABLE tasks (id INTEGER PRIMARY KEY, user_id TEXT, title TEXT, description TEXT, "
    "completed BOOLEAN, created_at TIMESTAMP, updated_at TIMESTAMP)",
    "CREATE TABLE messages (id INTEGER PRIMARY KEY, conversation_id TEXT, user_id TEXT, "
    "role TEXT, content TEXT, created_at TIMESTAMP)",
)


def legacy_sqlite(path, user="web-user-1"):
    with sqlite3.connect(path) as conn:
        for s in SCHEMA:
            conn.execute(s)
        conn.executemany(
            "INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (1, user, "Buy milk", None, 0, "2025-03-01 10:00:00", "2025-03-01 10:00:00"),
                (
                    2,
                    user,
                    "File taxes",
                    "by April",
                    1,
                    "2025-03-02 09:00:00",
                    "2025-03-05 12:00:00",
                ),
            ],
        )
        conn.executemany(
            "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)",
            [
                (1, "conv-a", user, "user", "add buy milk", "2025-03-01 10:00:00"),
                (2, "conv-a", user, "assistant", "Added Buy milk.", "2025-03-01 10:00:02"),
                (3, "conv-b", user, "user", "what is due?", "2025-03-03 08:00:00"),
                (4, "conv-b", user, "system", "ignored", "2025-03-03 08:00:00"),
            ],
        )
    return path


async def test_import_is_complete_and_idempotent(settings, tmp_path):
    src = legacy_sqlite(tmp_path / "web.db")
    engine = create_engine(settings)
    await migrate.upgrade(engine)
    try:
        first = await import_legacy(engine, str(src), local_user="me")
        assert (first.tasks_added, first.threads_added, first.items_added) == (2, 2, 3)
        again = await import_legacy(engine, str(src), local_user="me")
        assert (again.tasks_added, again.threads_added, again.items_added) == (0, 0, 0)
        async with engine.connect() as conn:
            rows = (
                await conn.execute(text("SELECT title, completed FROM task ORDER BY title"))
            ).all()
        assert [tuple(r) for r in rows] == [("Buy milk", 0), ("File taxes", 1)]
        store = SqlStore(create_sessionmaker(engine))
        ctx = ChatContext(user_id="me")
        threads = (await store.load_threads(10, None, "asc", ctx)).data
        assert [t.title for t in threads] == ["add buy milk", "what is due?"]
        items = (await store.load_thread_items(threads[0].id, None, 10, "asc", ctx)).data
        assert [i.type for i in items] == ["user_message", "assistant_message"]
    finally:
        await engine.dispose()


async def test_several_legacy_users_need_a_choice(settings, tmp_path):
    src = legacy_sqlite(tmp_path / "web.db")
    with sqlite3.connect(src) as conn:
        conn.execute(
            "INSERT INTO tasks VALUES (3, 'other', 'x', '', 0, '2025-01-01', '2025-01-01')"
        )
    engine = create_engine(settings)
    await migrate.upgrade(engine)
    try:
        with pytest.raises(InvalidInput, match="several users"):
            await import_legacy(engine, str(src), local_user="me")
        report = await import_legacy(engine, str(src), local_user="me", only_user="other")
        assert report.tasks_added == 1 and report.items_added == 0
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_import_from_a_postgres_web_database(settings, pg_database):
    import asyncpg

    async def fill() -> None:
        conn = await asyncpg.connect(pg_database)
        await conn.execute(
            "CREATE TABLE tasks (id serial PRIMARY KEY, user_id text, title text, "
            "description text, completed boolean, created_at timestamptz, updated_at timestamptz);"
            "CREATE TABLE messages (id serial PRIMARY KEY, conversation_id text, user_id text, "
            "role text, content text, created_at timestamptz);"
            "INSERT INTO tasks (user_id, title, description, completed, created_at, updated_at) "
            "VALUES ('u', 'From Postgres', '', false, now(), now());"
            "INSERT INTO messages (conversation_id, user_id, role, content, created_at) "
            "VALUES ('c1', 'u', 'user', 'hello', now());"
        )
        await conn.close()

    run_sync(fill())
    engine = create_engine(settings)
    await migrate.upgrade(engine)
    try:
        report = await import_legacy(engine, pg_database, local_user="me")
        assert (report.tasks_added, report.threads_added, report.items_added) == (1, 1, 1)
    finally:
        await engine.dispose()
