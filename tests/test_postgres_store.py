"""PostgreSQL as the primary store: Neon URLs, migrations, the REST API, PgBouncer in
transaction mode, and retrying while the server wakes up."""

from __future__ import annotations

import asyncio
import ssl

import httpx
import pytest
from sqlalchemy import text

from app.config import Settings
from app.db import migrate
from app.db.engine import create_engine, create_sessionmaker, normalise_postgres_url
from app.main import create_app
from app.tasks import service
from app.tasks.models import TaskCreate, TaskQuery, TaskUpdate
from tests.conftest import auth_headers
from tests.tcp_proxy import TcpProxy

NEON = (
    "postgresql://alex:AbC123dEf@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech/"
    "neondb?sslmode=require&channel_binding=require"
)


def test_neon_url_is_translated_for_asyncpg():
    url, args = normalise_postgres_url(NEON)
    assert url == (
        "postgresql+asyncpg://alex:AbC123dEf@ep-cool-darkness-123456-pooler.us-east-2.aws."
        "neon.tech/neondb"
    )
    ctx = args["ssl"]
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname  # system trust store
    assert args["statement_cache_size"] == 0 and args["prepared_statement_cache_size"] == 0
    names = {args["prepared_statement_name_func"]() for _ in range(3)}
    assert len(names) == 3  # unique names: safe behind PgBouncer
    assert 0 < args["timeout"] <= 10


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sslmode=disable", False),
        ("sslmode=prefer", "prefer"),
        ("ssl=require", "ctx"),
        ("sslmode=verify-full", "ctx"),
        ("", None),
    ],
)
def test_ssl_modes(query, expected):
    url, args = normalise_postgres_url(f"postgres://u:p@h:5432/db?{query}")
    assert url == "postgresql+asyncpg://u:p@h:5432/db"
    if expected == "ctx":
        assert isinstance(args["ssl"], ssl.SSLContext)
    elif expected is None:
        assert "ssl" not in args
    else:
        assert args["ssl"] == expected


def test_libpq_only_parameters_are_translated():
    url, args = normalise_postgres_url(
        "postgresql://u@h/db?connect_timeout=3&options=endpoint%3Dep-abc&application_name=x"
    )
    assert url == "postgresql+asyncpg://u@h/db?application_name=x"
    assert args["timeout"] == 3.0
    assert "server_settings" not in args  # Neon's endpoint= option is only for non-SNI clients


async def _engine(url: str, tmp_path):
    return create_engine(Settings(data_dir=tmp_path / "data", database_url=url))


@pytest.mark.postgres
async def test_migrations_upgrade_rerun_downgrade_on_postgres(pg_database, tmp_path):
    engine = await _engine(pg_database, tmp_path)
    try:
        await migrate.upgrade(engine)
        await migrate.upgrade(engine)  # no-op
        assert await migrate.current_revision(engine) == migrate.head_revision()
        async with engine.connect() as conn:
            indexes = {
                r[0]
                for r in await conn.execute(
                    text("SELECT indexname FROM pg_indexes WHERE tablename = 'task'")
                )
            }
            tables = {
                r[0]
                for r in await conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
            }
        assert {"ix_task_fts", "ix_task_smart", "ix_task_user_due"} <= indexes
        assert {"task", "task_tag", "chat_thread", "chat_item"} <= tables
        assert not any(t.startswith("sync_") for t in tables)  # local-only tables
        await migrate.downgrade(engine, "base")
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_smart_order_uses_the_expression_index(pg_migrated_database, tmp_path):
    engine = await _engine(pg_migrated_database, tmp_path)
    try:
        async with create_sessionmaker(engine)() as s:
            for i in range(30):
                await service.create_task(
                    session=s, user_id="u", data=TaskCreate(title=f"t{i}", priority="high")
                )
        async with engine.connect() as conn:
            await conn.execute(text("SET enable_seqscan = off"))
            await conn.execute(text("ANALYZE task"))
            plan = "\n".join(
                r[0]
                for r in await conn.execute(
                    text(
                        "EXPLAIN SELECT * FROM task WHERE user_id = 'u' ORDER BY completed, "
                        "(due_at IS NULL), due_at, (CASE priority WHEN 'high' THEN 3 WHEN "
                        "'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END) DESC, created_at DESC, "
                        "id LIMIT 10"
                    )
                )
            )
        assert "ix_task_smart" in plan
    finally:
        await engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("storage", ["postgres"], indirect=True)
async def test_rest_api_on_postgres(app, client, storage):
    assert app.state.engine.dialect.name == "postgresql"
    made = await client.post("/api/tasks", json={"title": "Renew passport", "tags": ["admin"]})
    assert made.status_code == 201, made.text
    task_id = made.json()["id"]
    await client.post(f"/api/tasks/{task_id}/complete")
    page = (await client.get("/api/tasks", params={"q": "passp"})).json()
    assert page["total"] == 1 and page["items"][0]["completed"] is True
    assert (await client.get("/api/tasks", params={"tag": "admin"})).json()["total"] == 1
    status = (await client.get("/api/sync/status")).json()
    assert status["enabled"] is False and "PostgreSQL" in status["message"]


@pytest.mark.postgres
async def test_pooled_url_through_pgbouncer_transaction_mode(pg_server, pgbouncer, tmp_path):
    name = pg_server.fresh_migrated_database()
    try:
        engine = await _engine(pgbouncer.url(name) + "?sslmode=disable", tmp_path)
        maker = create_sessionmaker(engine)

        async def worker(i: int) -> None:
            # Many client connections over 4 server connections: statements of different
            # clients interleave on one server connection (what breaks prepared statements).
            async with maker() as s:
                t = await service.create_task(
                    session=s, user_id="u", data=TaskCreate(title=f"pooled {i}", tags=["p"])
                )
                await service.update_task(
                    session=s, user_id="u", task_id=t.id, data=TaskUpdate(completed=True)
                )
                page = await service.list_tasks(
                    session=s, user_id="u", query=TaskQuery(tag="p", q="pooled")
                )
                assert page.total >= 1

        for _ in range(3):
            await asyncio.gather(*(worker(i) for i in range(16)))
        async with maker() as s:
            page = await service.list_tasks(session=s, user_id="u", query=TaskQuery(limit=200))
        assert page.total == 48 and all(t.completed for t in page.items)
        await migrate.upgrade(engine)  # Alembic through the pooler too
        await engine.dispose()
    finally:
        pg_server.drop_database(name)


@pytest.mark.postgres
async def test_connect_is_retried_while_the_server_wakes_up(pg_migrated_database, tmp_path):
    """Like a suspended Neon compute: nothing answers for a moment, then it does."""
    from tests.pg import free_port

    port = free_port()
    db = pg_migrated_database.rsplit("/", 1)[1]
    target = pg_migrated_database.split("@", 1)[1].split("/", 1)[0]
    host, pg_port = target.split(":")
    proxy = TcpProxy(host, int(pg_port))
    engine = await _engine(f"postgresql://postgres@127.0.0.1:{port}/{db}", tmp_path)

    async def wake_later() -> None:
        await asyncio.sleep(0.8)
        await proxy.start(port)

    waker = asyncio.create_task(wake_later())
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await waker
        await engine.dispose()
        await proxy.stop()


@pytest.mark.postgres
async def test_wrong_password_is_not_retried(pg_server, tmp_path):
    # Trust auth accepts any password, so use a database that does not exist instead.
    engine = await _engine(pg_server.url("no_such_db"), tmp_path)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(Exception, match="no_such_db"):
        async with engine.connect():
            pass
    assert loop.time() - started < 2
    await engine.dispose()


@pytest.mark.postgres
async def test_app_starts_on_a_fresh_postgres(pg_database, monkeypatch, tmp_path):
    monkeypatch.setenv("TASKCHAT_DATABASE_URL", pg_database)
    from app.config import get_settings

    get_settings.cache_clear()
    application = create_app(get_settings())
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1", headers=auth_headers(application)
        ) as c:
            r = await c.post("/api/tasks", json={"title": "on postgres"})
            assert r.status_code == 201
        assert await migrate.current_revision(application.state.engine) == migrate.head_revision()
