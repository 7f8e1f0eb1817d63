"""A sync round cancelled inside one of its local write transactions (TaskChat stopping,
a device killed mid-sync) must not leave that transaction open.

The cancellation is placed deterministically: a hook of this test on the device's engine
notes the moment the round sends a chosen statement to SQLite, and the test, woken by it
before the round can take another step, cancels the round while it awaits that aiosqlite
call. Then, the moment the round's caller sees the CancelledError, SQLite's write lock
must be free (checked without any busy wait), the batch applied whole or not at all, and a
new service must converge with the server.

Cancelled mid-executemany without protection, SQLAlchemy drops the connection and its
write transaction keeps SQLite's lock for good ("database is locked" for every later
write). With `asyncio.shield` alone the round raises at once while its transaction is
still running in the background, so its caller (`stop()`, then the engine's disposal at
shutdown) does not find it finished. `SyncService._local` waits for the transaction, then
passes the cancellation on.

Real parts only: SQLite files of their own, the suite's real PostgreSQL.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import event, text

from app.db.postgres import connect
from app.sync import remote
from tests.sync_util import Device, device_maker

pytestmark = pytest.mark.postgres
USER = "user-cancel"
TASKS = 30
HANG = 60  # seconds: only a guard against a hang, never a measured time


@pytest.fixture
async def devices(tmp_path, pg_database):
    async with device_maker(tmp_path, pg_database, USER) as make:
        yield make


def write_lock_free(path: Path) -> bool:
    """Whether another connection takes SQLite's write lock right now (no busy wait)."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE sync_flag SET applying = applying WHERE id = 1")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return False
    finally:
        other.close()


def assert_write_lock_free(path: Path) -> None:
    assert write_lock_free(path), "the cancelled round left SQLite's write lock taken"


async def cancel_round_at(d: Device, statement: str) -> None:
    """Run one round of `d` and cancel it while it executes `statement...` on SQLite.

    Returns once the round's caller (this test) has seen the round end with
    CancelledError.
    """
    reached = asyncio.Event()
    seen: list[str] = []

    def before_execute(_conn, _cursor, sql, _params, _context, _many):  # type: ignore[no-untyped-def]
        if sql.startswith(statement) and not seen:
            seen.append(sql)
            # Wakes this test before the round can go on: the round is about to await
            # aiosqlite for this statement, and the test runs (and cancels it) first.
            reached.set()

    event.listen(d.engine.sync_engine, "before_cursor_execute", before_execute)
    round_ = asyncio.create_task(d.run())
    round_.add_done_callback(lambda _t: reached.set())  # never wait for a hook that won't fire
    try:
        async with asyncio.timeout(HANG):
            await reached.wait()
        assert seen, f"the round ended without executing {statement!r}: {round_}"
        assert not round_.done()
        # The round really is inside a write transaction it has not finished.
        assert not write_lock_free(d.settings.sqlite_path)
        round_.cancel()
        with pytest.raises(asyncio.CancelledError):
            async with asyncio.timeout(HANG):
                await round_
    finally:
        event.remove(d.engine.sync_engine, "before_cursor_execute", before_execute)


async def sqlite_state(d: Device) -> dict[str, object]:
    async with d.engine.connect() as conn:
        cursors = (
            await conn.execute(text("SELECT value FROM sync_state WHERE key LIKE 'cursor:%'"))
        ).all()
        applying = (
            await conn.execute(text("SELECT applying FROM sync_flag WHERE id = 1"))
        ).scalar_one()
        clocks = (
            await conn.execute(text("SELECT COUNT(*) FROM sync_clock WHERE entity = 'task'"))
        ).scalar_one()
    return {
        "cursor": int(cursors[0][0]) if cursors else 0,
        "applying": applying,
        "task_clocks": clocks,
    }


async def server_tasks(url: str) -> dict[str, dict[str, object]]:
    conn = await connect(url)
    try:
        snap = await remote.snapshot(conn, USER)
    finally:
        await conn.close()
    # Tasks only: the space also carries the person's lists (the Inbox at least).
    return {
        rid: {n: w[0] for n, w in row["f"].items()}
        for (entity, rid), row in snap.items()
        if entity == "task"
    }


@pytest.mark.parametrize(
    "statement",
    [
        # The transaction's first write: all of the merge is still to come.
        "UPDATE sync_flag SET applying = 1",
        # One executemany for the whole batch (cancelled unprotected, its lock stays).
        "INSERT INTO task ",
    ],
)
async def test_round_cancelled_while_applying_a_pulled_batch(devices, pg_database, statement):
    b = await devices("dev-b")
    made = {(await b.create(title=f"from b {i}", tags=["x"])).id for i in range(TASKS)}
    await b.run()
    a = await devices("dev-a")

    # The pull's one batch is being merged into A's tables when the round is cancelled.
    await cancel_round_at(a, statement)

    assert_write_lock_free(a.settings.sqlite_path)
    # The batch and the cursor that covers it are applied together or not at all.
    have = set(await a.tasks())
    state = await sqlite_state(a)
    assert state["applying"] == 0
    if have:
        assert have == made
        assert state["cursor"] > 0
        assert state["task_clocks"] >= TASKS
    else:
        assert state == {"cursor": 0, "applying": 0, "task_clocks": 0}

    # A keeps writing, and a new service (a restarted TaskChat) converges with the server.
    async with asyncio.timeout(HANG):
        late = await a.create(title="after the cancelled round")
        await a.restart_sync()
        await a.run()
        await b.run()
    assert set(await a.tasks()) == made | {late.id}
    assert await a.tasks() == await b.tasks()
    assert set(await server_tasks(pg_database)) == made | {late.id}
    for d in (a, b):
        assert (await d.sync.get_status())["pending_changes"] == 0


async def test_round_cancelled_while_forgetting_pushed_changes(devices, pg_database):
    a = await devices("dev-a")
    made = {(await a.create(title=f"from a {i}")).id for i in range(TASKS)}
    # The tasks wait to be pushed, and the Inbox list they went into.
    assert (await a.sync.get_status())["pending_changes"] == TASKS + 1

    # The server has taken the push; A's local transaction that forgets the pushed notes
    # is under way when the round is cancelled.
    await cancel_round_at(a, "DELETE FROM sync_outbox")

    assert_write_lock_free(a.settings.sqlite_path)
    assert set(await server_tasks(pg_database)) == made
    # All notes forgotten or all kept (kept ones are pushed again, harmlessly).
    assert (await a.sync.get_status())["pending_changes"] in (0, TASKS + 1)

    async with asyncio.timeout(HANG):
        late = await a.create(title="after the cancelled round")
        await a.restart_sync()
        await a.run()
        b = await devices("dev-b")
        await b.run()
    assert set(await a.tasks()) == made | {late.id}
    assert await b.tasks() == await a.tasks()
    assert set(await server_tasks(pg_database)) == made | {late.id}
    for d in (a, b):
        assert (await d.sync.get_status())["pending_changes"] == 0
