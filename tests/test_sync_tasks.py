"""Task sync between SQLite devices through a real PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from app.db.postgres import connect
from app.sync import remote
from tests.sync_util import Device

pytestmark = pytest.mark.postgres
USER = "user-sync"


@pytest.fixture
async def devices(tmp_path, pg_database):
    made: list[Device] = []

    async def make(name: str, **kw) -> Device:
        d = await Device(tmp_path, name, USER, kw.pop("url", pg_database), **kw).open()
        made.append(d)
        return d

    yield make
    for d in made:
        await d.close()


async def test_create_on_one_device_appears_on_the_other(devices):
    a, b = await devices("dev-a"), await devices("dev-b")
    t = await a.create(title="Buy milk", tags=["groceries"], due="2026-12-01")
    await a.run()
    await b.run()
    assert await b.tasks() == await a.tasks()
    assert (await b.tasks())[t.id]["title"] == "Buy milk"


async def test_a_first_push_to_an_empty_server_is_not_pulled_back(devices):
    a = await devices("dev-a", batch_size=7)  # several batches, each acknowledged
    for i in range(20):
        await a.create(title=f"task {i}")
    first = await a.run()
    assert first.pushed == 21 and first.pulled == 0  # 20 tasks and the Inbox
    b = await devices("dev-b")
    await b.create(title="on B")
    await b.run()
    # The server had A's rows before B's push: B pulls them (and A then pulls B's).
    assert len(await b.tasks()) == 21
    again = await a.run()
    assert again.pushed == 0 and again.pulled == 2  # B's task and B's Inbox
    assert await a.tasks() == await b.tasks()


async def test_field_level_lww_rename_and_complete_both_survive(devices):
    a, b = await devices("dev-a"), await devices("dev-b")
    t = await a.create(title="Draft")
    await a.run()
    await b.run()
    await a.update(t.id, completed=True)  # offline on A
    await b.update(t.id, title="Final report")  # offline on B
    await a.run()
    await b.run()
    await a.run()
    ta, tb = (await a.tasks())[t.id], (await b.tasks())[t.id]
    assert ta == tb
    assert ta["title"] == "Final report" and ta["completed"] == 1


async def test_delete_beats_earlier_edits_and_is_synced(devices):
    a, b = await devices("dev-a"), await devices("dev-b")
    t = await a.create(title="Temp")
    await a.run()
    await b.run()
    await b.update(t.id, title="Renamed before A deleted it")  # offline on B
    await a.delete(t.id)
    for d in (a, b, a):
        await d.run()
    assert t.id not in await a.tasks() and t.id not in await b.tasks()


async def test_task_put_back_with_its_old_id_comes_back_everywhere(devices):
    """What undo does after a delete: the same id again, with newer stamps."""
    from app.tasks.models import Task

    a, b = await devices("dev-a"), await devices("dev-b")
    t = await a.create(title="Keep me", tags=["x"])
    await a.run()
    await b.run()
    async with a.sessionmaker() as s:
        image = (await s.get(Task, t.id)).model_dump()
    await a.delete(t.id)
    await a.run()
    await b.run()
    assert t.id not in await b.tasks()
    async with a.sessionmaker() as s:
        s.add(Task(**image))
        await s.commit()
    await a.run()
    await b.run()
    assert (await b.tasks())[t.id] == (await a.tasks())[t.id]
    assert (await b.tasks())[t.id]["title"] == "Keep me"


async def test_push_is_idempotent_and_noop_round_changes_nothing(devices):
    a = await devices("dev-a")
    await a.create(title="x")
    r1 = await a.run()
    assert r1.pushed == 2  # the task and the Inbox list it went into
    r2 = await a.run()
    assert (r2.pushed, r2.pulled) == (0, 0)
    status = await a.sync.get_status()
    assert status["pending_changes"] == 0 and status["last_error"] is None


async def test_rows_are_scoped_by_user(devices, pg_database):
    a = await devices("dev-a")
    other = await Device(a.settings.data_dir.parent, "dev-x", "someone-else", pg_database).open()
    try:
        await other.create(title="not yours")
        await other.run()
        await a.run()
        assert await a.tasks() == {}
    finally:
        await other.close()


async def test_background_loop_syncs_after_a_local_change(devices):
    a = await devices("dev-a", debounce=0.05, interval=30)
    b = await devices("dev-b")
    await a.sync.start()
    t = await a.create(title="pushed by the loop")
    for _ in range(100):
        await asyncio.sleep(0.05)
        if (await a.sync.get_status())["pending_changes"] == 0:
            break
    await b.run()
    assert t.id in await b.tasks()


async def test_server_merge_sends_only_winning_writes_and_keeps_the_rest(pg_database):
    """A push writes only the writes that won over the stored ones;
    the stored row keeps every other field (value and stamp) as it was."""
    conn = await connect(pg_database)
    try:
        await remote.ensure_schema(conn)
        first = {
            "e": "task",
            "id": "t1",
            "f": {
                "title": ["one", "0000000000010000", "a"],
                "priority": ["low", "0000000000010000", "a"],
                "due_at": ["2027-01-01 00:00:00.000000", "0000000000010000", "a"],
                "due_all_day": [1, "0000000000010000", "a"],
            },
            "d": None,
        }
        assert await remote.push(conn, USER, [first]) == (0, 1)
        later = {
            "e": "task",
            "id": "t1",
            "f": {
                "title": ["two", "0000000000020000", "b"],  # newer: wins
                "priority": ["high", "0000000000005000", "b"],  # older: loses
                "due_at": [None, "0000000000030000", "b"],  # a group wins as one
            },
            "d": None,
        }
        assert await remote.push(conn, USER, [later]) == (1, 2)
        assert await remote.push(conn, USER, [later]) == (2, 2)  # again: nothing changes
        rows = await remote.pull(conn, USER, 0, 10)
    finally:
        await conn.close()
    assert len(rows) == 1 and rows[0]["seq"] == 2
    assert rows[0]["f"] == {
        "title": ["two", "0000000000020000", "b"],
        "priority": ["low", "0000000000010000", "a"],
        "due_at": [None, "0000000000030000", "b"],
        "due_all_day": [1, "0000000000010000", "a"],
    }


async def test_pull_sends_only_changed_fields_and_whole_rows_where_needed(devices, pg_database):
    a, b = await devices("dev-a"), await devices("dev-b")
    t = await a.create(title="Draft", description="the blue folder", tags=["work"], priority="high")
    await a.run()
    await b.run()
    await b.delete(t.id)  # offline on B ...
    await asyncio.sleep(0.01)
    await a.update(t.id, title="Final")  # ... and A's later edit brings the task back
    await a.run()
    conn = await connect(pg_database)
    try:
        head = await remote.head(conn, USER)
        rows = await remote.pull(conn, USER, head - 1, 10, changed_only=True)
        assert [r["whole"] for r in rows] == [False]
        # Only what the edit changed (the title and its updated_at), not the 19 fields.
        assert set(rows[0]["f"]) == {"title", "updated_at"}
        (whole,) = [r for r in await remote.pull(conn, USER, 0, 10, True) if r["id"] == t.id]
        assert whole["whole"] and {"description", "tags"} < set(whole["f"])
    finally:
        await conn.close()
    # B lacks the row (deleted here): it must take it whole, not the two fields over defaults.
    await b.run()
    await a.run()
    assert (await b.tasks())[t.id] == (await a.tasks())[t.id]
    assert (await b.tasks())[t.id]["description"] == "the blue folder"
    # A device that never saw the row gets it whole too.
    c = await devices("dev-c")
    await c.run()
    assert await c.tasks() == await a.tasks()


async def test_rows_changed_by_an_older_taskchat_are_pulled_whole(pg_database):
    """An older TaskChat pushes without keeping `fseq`: its rows must come whole, and the
    next push that keeps it must not hide the older client's change."""

    def w(value, hlc):
        return [value, hlc, "a"]

    conn = await connect(pg_database)
    try:
        await remote.ensure_schema(conn)
        row = {
            "e": "task",
            "id": "t1",
            "f": {"title": w("one", "0000000000010000"), "priority": w("low", "0000000000010000")},
            "d": None,
        }
        assert await remote.push(conn, USER, [row]) == (0, 1)
        # The older client: merges the same way, knows nothing of fseq.
        async with conn.transaction():
            await conn.execute(
                "UPDATE taskchat_sync_row SET fields = fields || $2::jsonb, seq = 2 "
                "WHERE user_id = $1",
                USER,
                '{"priority": ["high", "0000000000020000", "b"]}',
            )
            await conn.execute(
                "UPDATE taskchat_sync_user SET last_seq = 2 WHERE user_id = $1", USER
            )
        (pulled,) = await remote.pull(conn, USER, 1, 10, changed_only=True)
        assert pulled["whole"] and pulled["f"]["priority"][0] == "high"
        later = {"e": "task", "id": "t1", "f": {"title": w("two", "0000000000030000")}, "d": None}
        assert await remote.push(conn, USER, [later]) == (2, 3)
        # Seen from before the older client's push: whole (its change is not listed).
        (pulled,) = await remote.pull(conn, USER, 1, 10, changed_only=True)
        assert pulled["whole"] and pulled["f"]["priority"][0] == "high"
        # Seen from after it: only the title.
        (pulled,) = await remote.pull(conn, USER, 2, 10, changed_only=True)
        assert not pulled["whole"] and pulled["f"] == {"title": w("two", "0000000000030000")}
    finally:
        await conn.close()
