"""Async engines and sessions for SQLite (default) and PostgreSQL/Neon."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import stat
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.util import await_only
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.db.postgres import is_postgres_url, normalise_postgres_url, retrying_connect

__all__ = [
    "create_engine",
    "create_sessionmaker",
    "normalise_postgres_url",
    "secure_data_dir",
]
log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Page cache per connection (KiB; SQLite's default is 2 MB). Pages are cached only once
# read, so a small database costs no more; on a large one (an import of 100k tasks: the
# task table's ten indexes, the search index, the outbox) 2 MB made every batch re-read
# and re-write the same index pages: ~30% more system time.
SQLITE_CACHE_KIB = 32 * 1024
# Execution option marking an engine (and its sessions) as only reading: on SQLite such a
# transaction starts with a plain BEGIN, takes no write lock and never waits for writers.
READ_ONLY = "taskchat_read_only"
# Execution option for reads that need no snapshot across their statements: no BEGIN at
# all, so each SELECT is its own implicit read transaction and there is nothing to roll
# back after it. On aiosqlite that is four fewer hops to the worker thread per load.
STATEMENT_READS = "taskchat_statement_reads"
_HOLDS_WRITE_LOCK = "taskchat_write_lock"
# Set on a connection record while SQLite has no transaction open on it (see do_rollback).
_NOTHING_OPEN = "taskchat_nothing_open"


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.effective_database_url()
    secure_data_dir(settings.ensure_data_dir())  # logs and config live here either way
    if is_postgres_url(url):
        clean, connect_args = normalise_postgres_url(url)
        engine = create_async_engine(
            clean, connect_args=connect_args, pool_pre_ping=True, pool_recycle=300
        )
        _retry_connects(engine)
        return engine
    if settings.sqlite_path.parent == settings.data_dir and not settings.sqlite_path.exists():
        # SQLite gives the -wal and -shm files the database file's mode: create it 0600.
        os.close(os.open(settings.sqlite_path, os.O_WRONLY | os.O_CREAT, 0o600))
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    _configure_sqlite(engine)
    return engine


def secure_data_dir(data_dir: Path) -> list[Path]:
    """The start-up check: the data folder and its folders 0700, every file in it 0600.

    Also sets this process's umask to 077, so every file TaskChat creates later (the
    database's -wal/-shm, rotated logs, sync state) is private from birth. Returns the
    paths whose modes it had to fix (files written by an older TaskChat were 0644).
    """
    if os.name != "posix":
        return []
    os.umask(0o077)
    fixed: list[Path] = []
    try:
        paths = [data_dir, *data_dir.rglob("*")]
    except OSError:
        return fixed
    for path in paths:
        try:
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                continue
            mode = stat.S_IMODE(info.st_mode)
            want = 0o700 if stat.S_ISDIR(info.st_mode) else mode & 0o700
            if mode != want:
                os.chmod(path, want)
                fixed.append(path)
        except OSError:
            continue  # vanished meanwhile, or not ours to change
    if fixed:
        log.info("made %d file(s) in the data folder private (0600/0700)", len(fixed))
    return fixed


def _retry_connects(engine: AsyncEngine) -> None:
    """Retry a new connection while the server wakes up (Neon suspends idle computes)."""

    def sleep(seconds: float) -> None:
        await_only(asyncio.sleep(seconds))  # this hook runs in SQLAlchemy's greenlet

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect, _record, cargs, cparams):
        connect = retrying_connect(dialect.loaded_dbapi.connect, what="database", sleep=sleep)
        return connect(*cargs, **cparams)


async def _acquire(lock: asyncio.Lock, seconds: float) -> None:
    # Not asyncio.wait_for: on Python 3.11 a cancellation that lands just as the lock is
    # granted loses the grant, and the lock stays held for good (every later write then
    # fails with "database is locked"). Cancelling acquire() inside the task is safe.
    async with asyncio.timeout(seconds):
        await lock.acquire()


def _configure_sqlite(engine: AsyncEngine) -> None:
    # One FIFO lock per event loop in front of SQLite's write lock. Writers of this process
    # queue on it and get the lock the moment the previous writer is done; left to SQLite
    # alone they poll with its busy handler's growing sleeps (up to 100 ms each), which
    # under 50 concurrent chat turns gave waits of a second and more for a 2 ms write.
    # Other processes (the CLI) still meet SQLite's busy_timeout as before.
    locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
        weakref.WeakKeyDictionary()
    )

    def write_lock() -> asyncio.Lock | None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        lock = locks.get(loop)
        if lock is None:
            lock = locks[loop] = asyncio.Lock()
        return lock

    def release(info: dict[str, Any]) -> None:
        lock = info.pop(_HOLDS_WRITE_LOCK, None)
        if lock is not None and lock.locked():
            lock.release()

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not the driver, decide when transactions start (see _on_begin).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn):
        options = conn.get_execution_options()
        if options.get(STATEMENT_READS):
            conn.info[_NOTHING_OPEN] = True
            return
        conn.info.pop(_NOTHING_OPEN, None)
        if options.get(READ_ONLY):
            # WAL readers see the last commit and block no one.
            conn.exec_driver_sql("BEGIN")
            return
        lock = write_lock()
        if lock is not None and _HOLDS_WRITE_LOCK not in conn.info:
            try:
                await_only(_acquire(lock, SQLITE_BUSY_TIMEOUT_MS / 1000))
            except TimeoutError:
                raise sqlite3.OperationalError("database is locked") from None
            conn.info[_HOLDS_WRITE_LOCK] = lock
        try:
            # BEGIN IMMEDIATE takes the write lock up front, so two concurrent writers wait
            # on busy_timeout instead of one failing with "database is locked" on upgrade.
            # Sent straight to aiosqlite: one hop to its thread, where SQLAlchemy's cursor
            # (open, execute, close) takes three, and a statement without rows needs none.
            await_only(conn.connection.driver_connection.execute("BEGIN IMMEDIATE"))
        except BaseException:
            release(conn.info)
            raise

    # SQLAlchemy rolls back every connection it returns to the pool, right after a COMMIT
    # too: on aiosqlite one more hop per write. The dialect of this engine (only) skips
    # that ROLLBACK when SQLite has nothing open: after a COMMIT that went through, or a
    # statement read that never began a transaction. Anything else still rolls back.
    dialect = engine.sync_engine.dialect
    plain_commit, plain_rollback = dialect.do_commit, dialect.do_rollback

    def record_info(dbapi_connection: Any) -> dict[str, Any] | None:
        try:  # a pooled connection; the ad-hoc one of the first connect has no info
            info = dbapi_connection.info
        except (AttributeError, NotImplementedError):
            return None
        return info if isinstance(info, dict) else None

    def do_commit(dbapi_connection: Any) -> None:
        plain_commit(dbapi_connection)
        info = record_info(dbapi_connection)
        if info is not None:
            info[_NOTHING_OPEN] = True

    def do_rollback(dbapi_connection: Any) -> None:
        info = record_info(dbapi_connection)
        if info is not None and info.pop(_NOTHING_OPEN, False):
            return
        plain_rollback(dbapi_connection)

    # SQLAlchemy has no event for these: this engine's dialect gets its own methods.
    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]

    # The lock is held until the connection goes back to the pool, after its COMMIT or
    # ROLLBACK has run (sessions return their connection at the end of each transaction).
    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _on_checkin(_dbapi_conn, record):
        release(record.info)

    @event.listens_for(engine.sync_engine.pool, "invalidate")
    def _on_invalidate(_dbapi_conn, record, _exc):
        release(record.info)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def read_only_sessionmaker(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> async_sessionmaker[AsyncSession]:
    """Sessions on the same pool for transactions that only read (see READ_ONLY)."""
    bind = sessionmaker.kw.get("bind")
    if not isinstance(bind, AsyncEngine):
        return sessionmaker
    return async_sessionmaker(
        bind.execution_options(**{READ_ONLY: True}), class_=AsyncSession, expire_on_commit=False
    )
