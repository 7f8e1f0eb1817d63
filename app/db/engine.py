"""Async engines and sessions for SQLite (default) and PostgreSQL/Neon."""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings

SQLITE_BUSY_TIMEOUT_MS = 10_000


def normalise_postgres_url(url: str) -> tuple[str, dict[str, Any]]:
    """Turn a URL as pasted from Neon's console into (asyncpg URL, connect_args).

    asyncpg rejects `sslmode` and `channel_binding` as keyword arguments, so TLS is
    passed as an SSLContext that verifies against the system trust store.
    """
    parts = urlsplit(url)
    scheme = "postgresql+asyncpg"
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    sslmode = query.pop("sslmode", None) or query.pop("ssl", None)
    query.pop("channel_binding", None)
    connect_args: dict[str, Any] = {
        # PgBouncer in transaction mode (Neon's -pooler hosts) breaks prepared statements.
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "timeout": 10,
    }
    if sslmode in ("require", "verify-ca", "verify-full"):
        connect_args["ssl"] = ssl.create_default_context()
    elif sslmode == "disable":
        connect_args["ssl"] = False
    clean = urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
    return clean, connect_args


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.effective_database_url()
    if url.startswith(("postgres://", "postgresql://", "postgresql+asyncpg://")):
        clean, connect_args = normalise_postgres_url(url)
        return create_async_engine(
            clean, connect_args=connect_args, pool_pre_ping=True, pool_recycle=300
        )
    settings.ensure_data_dir()
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, decide when transactions start (see _on_begin).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # BEGIN IMMEDIATE takes the write lock up front, so two concurrent writers wait on
        # busy_timeout instead of one failing with "database is locked" on lock upgrade.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
