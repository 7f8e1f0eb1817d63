"""Async engines and sessions for SQLite (default) and PostgreSQL/Neon."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.db.postgres import (
    backoff_delays,
    is_postgres_url,
    is_retryable_connect_error,
    normalise_postgres_url,
)

__all__ = ["create_engine", "create_sessionmaker", "normalise_postgres_url"]
log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.effective_database_url()
    if is_postgres_url(url):
        clean, connect_args = normalise_postgres_url(url)
        engine = create_async_engine(
            clean, connect_args=connect_args, pool_pre_ping=True, pool_recycle=300
        )
        _retry_connects(engine)
        return engine
    settings.ensure_data_dir()
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    _configure_sqlite(engine)
    return engine


def _retry_connects(engine: AsyncEngine) -> None:
    """Retry a new connection while the server wakes up (Neon suspends idle computes)."""
    from sqlalchemy.util import await_only

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect, _record, cargs, cparams):  # type: ignore[no-untyped-def]
        delays = backoff_delays()
        for attempt in range(len(delays) + 1):
            try:
                return dialect.loaded_dbapi.connect(*cargs, **cparams)
            except Exception as exc:
                if attempt == len(delays) or not is_retryable_connect_error(exc):
                    raise
                log.info("database not reachable yet (%s); retrying", type(exc).__name__)
                await_only(asyncio.sleep(delays[attempt]))
        return None  # pragma: no cover


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
