"""Task sync between SQLite devices through a real PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

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
