"""Sync loses nothing: deterministic three-device scripts for issue 23's findings 9-12,
and rows from another device or an old import that the app would refuse (findings 2, 4)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from app.sync import local, remote
from tests.sync_util import Device
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres
USER = "user-integrity"


@pytest.fixture
async def devices(tmp_path, pg_database):
    made: list[Device] = []

    async def make(*names: str, url: str | None = None) -> list[Device]:
        for name in names:
            made.append(await Device(tmp_path, name, USER, url or pg_database).open())
        return made[-len(names) :]

    yield make
    for d in made:
        await d.close()


async def sync_all(*ds: Device, rounds: int = 2) -> None:
    for _ in range(rounds):
        for d in ds:
            await d.run()


async def view(ds: tuple[Device, ...] | list[Device], task_id: str, field: str) -> dict:
    return {d.name: (await d.tasks()).get(task_id, {}).get(field) for d in ds}


async def stamps(d: Device, task_id: str) -> dict[str, tuple[str, str]]:
    async with d.engine.connect() as conn:
        rows = (
            await conn.exec_driver_sql(
                "SELECT field, hlc, device FROM sync_clock WHERE row_id = ?", (task_id,)
            )
        ).all()
    return {f: (h, dev) for f, h, dev in rows}


async def test_9_task_revived_by_a_later_edit_has_the_later_edit_everywhere(devices):
    """C edits, syncs, deletes, syncs; A (not told yet) edits later, which revives it."""
    a, b, c = await devices("dev-a", "dev-b", "dev-c")
    t = await a.create(title="orig")
    await sync_all(a, b, c)
    await c.update(t.id, title="title-from-C")
    await c.run()
    await b.run()
    await c.delete(t.id)
    await c.run()
    await a.update(t.id, title="title-from-A")
    await a.run()
    await sync_all(b, c, a)
    assert set((await view((a, b, c), t.id, "title")).values()) == {"title-from-A"}


async def test_9_revived_row_never_keeps_a_stamp_without_its_value(devices):
    """C edits and deletes in one go (its title value never leaves C), then A's later
    edit of another field revives the task: every device must end with one state, and
    A's next edit must not bring back a stale value anywhere."""
    a, b, c = await devices("dev-a", "dev-b", "dev-c")
    t = await a.create(title="orig", description="d0")
    await sync_all(a, b, c)
    await c.update(t.id, title="title-from-C")
    await c.delete(t.id)
    await c.run()
    await b.run()
    await a.update(t.id, description="from A")
    await a.run()
    await sync_all(b, c, a)
    states = [await d.tasks() for d in (a, b, c)]
    assert states[0] == states[1] == states[2]
    assert states[0][t.id]["description"] == "from A"
    # C's rename went out with its tombstone: the later of the two title writes.
    assert states[0][t.id]["title"] == "title-from-C"
    # The stamps each device keeps for the task agree with the values it shows.
    assert (await stamps(a, t.id)) == (await stamps(b, t.id)) == (await stamps(c, t.id))
    await b.update(t.id, title="title-from-B")
    await a.update(t.id, priority="high")
    await sync_all(a, b, c)
    assert set((await view((a, b, c), t.id, "title")).values()) == {"title-from-B"}
    assert set((await view((a, b, c), t.id, "priority")).values()) == {"high"}


async def test_9_an_edit_just_before_a_delete_survives_a_revival_pulled_first(devices):
    """C edits and deletes, and pulls A's reviving edit before it could push: the pull
    must keep C's newer title (from its graveyard) and push it afterwards."""
    a, b, c = await devices("dev-a", "dev-b", "dev-c")
    t = await a.create(title="orig", description="d0")
    await sync_all(a, b, c)
    await c.update(t.id, title="title-from-C")
    await c.delete(t.id)
    await asyncio.sleep(0.01)
    await a.update(t.id, description="from A")
    await a.run()
    assert c.sync is not None
    await c.sync._pull_all(
        await c.sync._connection(), __import__("app.sync.service").sync.service.RoundResult()
    )
    assert (await c.tasks())[t.id]["title"] == "title-from-C"
    await sync_all(c, a, b)
    assert set((await view((a, b, c), t.id, "title")).values()) == {"title-from-C"}
    assert set((await view((a, b, c), t.id, "description")).values()) == {"from A"}


async def test_10_due_date_and_all_day_flag_merge_as_one(devices):
    a, b, c = await devices("dev-a", "dev-b", "dev-c")
    t = await a.create(title="Trip", due="2027-01-01")
    await sync_all(a, b, c)
    await b.update(t.id, due=None)  # B clears the due date...
    await asyncio.sleep(0.01)
    await a.update(t.id, due="2027-02-01")  # ...then A (offline) sets an all-day date
    await b.run()
    await a.run()
    await sync_all(c, b, a)
    for d in (a, b, c):
        row = (await d.tasks())[t.id]
        assert (row["due_at"][:10], row["due_all_day"]) == ("2027-02-01", 1), d.name
    # And the other way round: the later "no due date" clears both halves.
    await a.update(t.id, due="2027-03-01T09:00:00Z")
    await asyncio.sleep(0.01)
    await c.update(t.id, due=None)
    await a.run()
    await c.run()
    await sync_all(b, a, c)
    for d in (a, b, c):
        row = (await d.tasks())[t.id]
        assert (row["due_at"], row["due_all_day"]) == (None, 0), d.name


async def test_11_a_frozen_connection_ends_the_round_with_a_plain_problem(
    devices, pg_server, pg_database, monkeypatch
):
    monkeypatch.setattr(remote, "QUERY_TIMEOUT", 1.0)
    host, port = pg_server.host, pg_server.port
    proxy = await TcpProxy(host, port).start()
    try:
        dbname = pg_database.rsplit("/", 1)[1]
        user = pg_database.split("://", 1)[1].split("@", 1)[0].split(":", 1)[0]
        (a,) = await devices("dev-a", url=proxy.url(dbname, user))
        await a.create(title="before the stall")
        await a.run()  # the connection is now open and kept
        await a.create(title="during the stall")
        proxy.frozen = True
        started = time.monotonic()
        with pytest.raises(remote.SyncStalled):
            await a.run()
        assert time.monotonic() - started < 10
        status = await a.sync.get_status()
        assert status["running"] is False
        assert "stopped answering" in status["last_error"]
        assert status["pending_changes"] == 1
        proxy.frozen = False
        proxy.cut_all()
        await a.run()
        status = await a.sync.get_status()
        assert status["last_error"] is None and status["pending_changes"] == 0
    finally:
        proxy.frozen = False
        await proxy.stop()


async def test_12_an_edit_to_the_value_a_device_already_has_still_wins(devices):
    """B renames; A (offline, slower) then sets the title A already shows: A's edit is the
    later one, so everyone ends with A's title."""
    a, b, c = await devices("dev-a", "dev-b", "dev-c")
    t = await a.create(title="Same")
    await sync_all(a, b, c)
    await b.update(t.id, title="From B")
    await asyncio.sleep(0.01)
    await a.update(t.id, title="Same")  # a no-op here, but the latest word
    await b.run()
    await a.run()
    await sync_all(c, b, a)
    assert set((await view((a, b, c), t.id, "title")).values()) == {"Same"}


async def test_2_a_bad_row_stored_earlier_does_not_stop_sync(devices):
    """A NUL stored by an old import: that task waits (quarantined, in the status); every
    other change still reaches the other devices."""
    a, b, c = await devices("dev-a", "dev-b", "dev-c")
    bad = await a.create(title="will be damaged")
    async with a.engine.begin() as conn:
        await conn.exec_driver_sql(
            "UPDATE task SET title = ? WHERE id = ?", ("nul\u0000here", bad.id)
        )
    good = await a.create(title="made after")
    await a.run()
    await a.update(good.id, title="edited after")
    await a.run()
    await sync_all(b, c)
    for d in (b, c):
        tasks = await d.tasks()
        assert bad.id not in tasks and tasks[good.id]["title"] == "edited after"
    status = await a.sync.get_status()
    assert status["quarantined"] == 1 and "could not" in status["problem"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "x" * 300),
        ("priority", "bogus"),
        ("tags", '["a", "A"]'),
        ("tags", "not json"),
        ("due_at", "0001-01-01 00:00:00"),
        ("title", "nul\u0000"),
    ],
)
async def test_4_remote_rows_the_app_would_refuse_are_quarantined(devices, field, value):
    """A remote row the REST model would refuse is never stored: the task list, the chat's
    list_tasks and deleting keep working, and the other rows of the batch are applied."""
    (a,) = await devices("dev-a")
    from app.sync.clock import HLC

    other = HLC("dev-z")
    good_fields = {
        "title": "fine",
        "description": "",
        "priority": "none",
        "completed": 0,
        "completed_at": None,
        "due_at": None,
        "due_all_day": 0,
        "tags": "[]",
        "created_at": "2026-12-01 10:00:00.000000",
        "updated_at": "2026-12-01 10:00:00.000000",
    }

    def row(row_id: str, **over) -> dict:
        stamp = other.now()
        values = {**good_fields, **over}
        return {
            "e": "task",
            "id": row_id,
            "f": {n: [v, stamp, "dev-z"] for n, v in values.items()},
            "d": None,
        }

    rows = [row("bad-1", **{field: value}), row("good-1")]
    async with a.engine.begin() as conn:
        await conn.run_sync(local.apply_remote, USER, a.clock, rows, "srv", 2)
    tasks = await a.tasks()
    assert "bad-1" not in tasks and tasks["good-1"]["title"] == "fine"
    async with a.engine.connect() as conn:
        problems = await conn.run_sync(local.quarantined)
    assert list(problems) == ["task:bad-1"]


async def test_4_a_stamp_past_the_clock_format_is_refused(devices):
    (a,) = await devices("dev-a")
    before = a.clock.last
    row = {
        "e": "task",
        "id": "far-future",
        "f": {"title": ["x", "ffffffffffffffff", "dev-z"]},
        "d": None,
    }
    async with a.engine.begin() as conn:
        await conn.run_sync(local.apply_remote, USER, a.clock, [row], "srv", 1)
    assert a.clock.last == before
    assert len(a.clock.now()) == 16
    assert "far-future" not in await a.tasks()
    a.clock.observe("ffffffffffffffff")
    assert len(a.clock.now()) == 16 and a.clock.now() < "f"


async def test_4_a_bad_thread_status_never_reaches_threads_list(devices):
    (a,) = await devices("dev-a")
    from app.chat.store import ChatContext, SqlStore
    from app.sync.clock import HLC

    other = HLC("dev-z")
    stamp = other.now()
    values = {
        "title": "t",
        "status": json.dumps({"type": "exploded"}),
        "metadata": json.dumps([1, 2]),
        "created_at": "2026-12-01 10:00:00.000000",
        "updated_at": "2026-12-01 10:00:00.000000",
    }
    row = {
        "e": "chat_thread",
        "id": "thr_bad",
        "f": {n: [v, stamp, "dev-z"] for n, v in values.items()},
        "d": None,
    }
    async with a.engine.begin() as conn:
        await conn.run_sync(local.apply_remote, USER, a.clock, [row], "srv", 1)
    page = await SqlStore(a.sessionmaker).load_threads(10, None, "desc", ChatContext(USER))
    assert page.data == []
