"""The device side of sync (app/sync/local.py) on a real SQLite file, without a server:
pulled rows are merged with `apply_remote` exactly as a sync round does."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from contextlib import closing
from datetime import UTC, datetime

import pytest
from chatkit.types import ThreadMetadata

from app.chat.store import ChatContext, SqlStore
from app.config import Settings
from app.db import migrate
from app.db.engine import create_engine, create_sessionmaker
from app.export import service as export
from app.search import bulk
from app.search.service import search
from app.sync import local
from app.sync.capture import stamp_pending
from app.sync.clock import HLC
from app.sync.fields import ROW_NOTE
from app.tasks import service as tasks
from app.tasks.models import TaskQuery
from tests.sync_util import Device

USER = "user-local"
REMOTE = "remote-db-1"  # the sync database's id: cursors are kept per database
ITEM_FIELDS = local.SYNCED["chat_item"]
THREAD_FIELDS = local.SYNCED["chat_thread"]


@pytest.fixture
async def device(tmp_path):
    # The URL is never dialled: nothing here runs a round against a server.
    d = await Device(tmp_path, "dev-a", USER, "postgresql://unused@127.0.0.1:9/none").open()
    yield d
    await d.close()


async def new_thread(d: Device, title: str) -> str:
    store, ctx = SqlStore(d.sessionmaker), ChatContext(user_id=USER)
    meta = ThreadMetadata(
        id=store.generate_thread_id(ctx), title=title, created_at=datetime.now(UTC)
    )
    await store.save_thread(meta, ctx)
    return meta.id


async def delete_thread(d: Device, thread_id: str) -> None:
    await SqlStore(d.sessionmaker).delete_thread(thread_id, ChatContext(user_id=USER))


def pulled_item(item_id: str, thread_id: str, clock: HLC, seq: int) -> dict:
    """A chat item as the server hands it out: every field with its stamp."""
    stamp = clock.now()
    values = {
        "thread_id": thread_id,
        "type": "assistant_message",
        "created_at": "2026-12-01 10:00:00.000000",
        "seq": seq,
        "data": json.dumps(
            {
                "id": item_id,
                "thread_id": thread_id,
                "type": "assistant_message",
                "content": [{"type": "output_text", "text": f"item {seq}", "annotations": []}],
            }
        ),
    }
    return {
        "e": "chat_item",
        "id": item_id,
        "f": {n: [values[n], stamp, clock.device_id] for n in ITEM_FIELDS},
        "d": None,
    }


async def apply(d: Device, rows: list[dict], cursor: int) -> int:
    async with d.engine.begin() as conn:
        return await conn.run_sync(local.apply_remote, USER, d.clock, rows, REMOTE, cursor)


async def cursor(d: Device) -> int:
    async with d.engine.connect() as conn:
        return await conn.run_sync(local.get_cursor, REMOTE)


async def test_pulled_items_whose_threads_are_all_deleted_here_insert_nothing(device):
    """Another device wrote to threads this device has deleted meanwhile: the whole batch
    is dropped, and the round goes on (executemany with no rows used to raise 'Incorrect
    number of bindings' and failed every later round on that batch)."""
    gone = [await new_thread(device, f"old {i}") for i in range(2)]
    for thread_id in gone:
        await delete_thread(device, thread_id)
    other = HLC("dev-b")
    rows = [pulled_item(f"msg_{i}", gone[i % 2], other, i + 1) for i in range(3)]
    pending = await device.sync.pending()  # the local deletes, not pushed yet

    changed = await apply(device, rows, cursor=3)

    assert changed == 0
    assert await device.table("chat_item", ITEM_FIELDS) == {}
    assert await device.table("chat_thread", THREAD_FIELDS) == {}  # no stub brought back
    assert await cursor(device) == 3  # the batch counts as applied: not pulled again
    assert await device.sync.pending() == pending  # applying made nothing new to push


async def test_pulled_items_of_deleted_threads_are_dropped_beside_live_ones(device):
    gone = await new_thread(device, "deleted here")
    await delete_thread(device, gone)
    live = await new_thread(device, "still here")
    other = HLC("dev-b")
    rows = [
        pulled_item("msg_gone", gone, other, 1),
        pulled_item("msg_live", live, other, 1),
        pulled_item("msg_new_thread", "thr_not_seen_yet", other, 1),
    ]

    changed = await apply(device, rows, cursor=3)

    items = await device.table("chat_item", ITEM_FIELDS)
    assert set(items) == {"msg_live", "msg_new_thread"}
    assert changed == 2
    assert items["msg_live"]["thread_id"] == live
    # An item's thread not seen yet gets a stub (its own fields overwrite it later).
    assert set(await device.table("chat_thread", THREAD_FIELDS)) == {live, "thr_not_seen_yet"}
    assert await cursor(device) == 3


def _export_doc(ids: list[str]) -> dict:
    return {
        "format": "taskchat-export",
        "version": 1,
        "tasks": [
            {
                "id": task_id,
                "title": f"imported {n}",
                "tags": ["a"] if n % 2 else [],
                "due_at": "2027-02-01T00:00:00+00:00" if n % 2 else None,
                "due_all_day": bool(n % 2),
                "created_at": "2026-12-01T10:00:00+00:00",
                "updated_at": "2026-12-01T10:00:00+00:00",
            }
            for n, task_id in enumerate(ids)
        ],
    }


async def _notes(engine, ids: list[str]) -> dict[str, set[str]]:
    async with engine.connect() as conn:
        rows = (
            await conn.exec_driver_sql(
                "SELECT row_id, field FROM sync_outbox WHERE entity = 'task'"
            )
        ).all()
    out: dict[str, set[str]] = {i: set() for i in ids}
    for row_id, field in rows:
        if row_id in out:
            out[row_id].add(field)
    return out


async def test_imported_tasks_are_noted_for_sync_like_any_insert(tmp_path):
    """An import writes one whole-row note per new task (not one per field, which was most
    of a 100k import's time); stamping spreads it into exactly the notes and field stamps
    the insert trigger writes, so every field of every imported task is pushed."""

    engine = create_engine(Settings(data_dir=tmp_path / "bare", database_url=None))
    await migrate.upgrade(engine)
    ids = [f"00000000-0000-4000-8000-00000000000{n}" for n in range(4)]
    try:
        async with create_sessionmaker(engine)() as s:
            report = await export.import_data(s, user_id=USER, data=_export_doc(ids))
        assert report.inserted["tasks"] == 4
        assert await _notes(engine, ids) == {i: {ROW_NOTE} for i in ids}
        async with engine.begin() as conn:
            await conn.run_sync(stamp_pending, HLC("bare"))
        want = set(local.SYNCED["task"])
        assert await _notes(engine, ids) == {i: want for i in ids}
        async with engine.connect() as conn:
            stamped = (
                await conn.exec_driver_sql(
                    "SELECT row_id, count(*) FROM sync_clock WHERE entity = 'task' GROUP BY row_id"
                )
            ).all()
            unstamped = (
                await conn.exec_driver_sql("SELECT count(*) FROM sync_outbox WHERE hlc IS NULL")
            ).scalar()
            flag = (await conn.exec_driver_sql("SELECT applying FROM sync_flag")).scalar()
        assert dict(stamped) == {i: len(want) for i in ids}
        assert unstamped == 0
        assert flag == 0  # the triggers are loud again for everyone else
    finally:
        await engine.dispose()


async def test_import_on_a_syncing_device_is_stamped_at_commit(device):
    """With sync attached, each import batch's commit stamps its notes at once."""
    ids = [f"00000000-0000-4000-8000-0000000001{n:02d}" for n in range(3)]
    async with device.sessionmaker() as s:
        await export.import_data(s, user_id=USER, data=_export_doc(ids))
    want = set(local.SYNCED["task"])
    assert await _notes(device.engine, ids) == {i: want for i in ids}
    async with device.engine.begin() as conn:
        batch = await conn.run_sync(local.read_push_batch, USER, device.clock, 100)
    assert batch is not None
    pushed = {r["id"]: set(r["f"]) for r in batch.rows if r["e"] == "task"}
    assert pushed == {i: want for i in ids}


# ------------------------------------------------- a big pulled batch of edited tasks


def all_triggers(db_path: str) -> list[tuple[str, str]]:
    """(name, sql) of every trigger in the database file, as SQLite stores them."""
    with closing(sqlite3.connect(db_path)) as db:
        return db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
        ).fetchall()


def fts_differences(db_path: str) -> dict[str, int]:
    """How many index entries (term, row, column, offset) of task_fts and search_fts are
    missing or extra compared with indexes built afresh from the rows they index: a
    'delete' given wrong old values (or none) leaves the old words findable for good."""
    out = {}
    with closing(sqlite3.connect(db_path)) as db:
        owner = "'u' || hex(user_id) || ' s' || completed"
        opts = "content='', tokenize='unicode61 remove_diacritics 2', prefix='2 3'"
        for statement in (
            f"CREATE VIRTUAL TABLE temp.fresh_task USING fts5(title, description, owner, {opts})",
            "INSERT INTO temp.fresh_task (rowid, title, description, owner) "
            f"SELECT rowid, title, description, {owner} FROM task",
            f"CREATE VIRTUAL TABLE temp.fresh_search USING fts5(title, body, {opts})",
            "INSERT INTO temp.fresh_search (rowid, title, body) "
            "SELECT id, title, body FROM search_doc",
        ):
            db.execute(statement)
        for index, fresh in (("task_fts", "fresh_task"), ("search_fts", "fresh_search")):
            db.execute(
                f"CREATE VIRTUAL TABLE temp.v_{index} USING fts5vocab(main, {index}, instance)"
            )
            db.execute(
                f"CREATE VIRTUAL TABLE temp.v_{fresh} USING fts5vocab(temp, {fresh}, instance)"
            )
            held = Counter(db.execute(f"SELECT term, doc, col, offset FROM temp.v_{index}"))
            built = Counter(db.execute(f"SELECT term, doc, col, offset FROM temp.v_{fresh}"))
            out[index] = sum(((held - built) + (built - held)).values())
    return out


def _pantry(n: int) -> dict:
    """An export of `n` tasks: "quince jam", tagged pantry, some with a note."""
    return {
        "format": "taskchat-export",
        "version": 1,
        "tasks": [
            {
                "id": f"00000000-0000-4000-8000-{i:012d}",
                "title": f"quince jam {i}",
                "description": "grandma's recipe" if i % 5 == 0 else "",
                "tags": ["pantry"],
                "created_at": "2026-12-01T10:00:00+00:00",
                "updated_at": "2026-12-01T10:00:00+00:00",
            }
            for i in range(n)
        ],
    }


def pulled_edit(task_id: str, i: int, clock: HLC) -> dict:
    """Another device renamed, re-tagged, cleared the note of (and every 4th: completed)
    task `task_id`: only the changed fields, as a pull sends them."""
    stamp = clock.now()
    done = i % 4 == 0
    values = {
        "title": f"medlar pie {i}",
        "description": "",
        "tags": '["orchard"]',
        "completed": int(done),
        "completed_at": "2026-12-02 09:00:00.000000" if done else None,
        "updated_at": "2026-12-02 09:00:00.000000",
    }
    fields = {n: [v, stamp, clock.device_id] for n, v in values.items()}
    return {"e": "task", "id": task_id, "f": fields, "d": None, "whole": False}


async def _listed(d: Device, **query) -> set[str]:
    async with d.sessionmaker() as s:
        page = await tasks.list_tasks(session=s, user_id=USER, query=TaskQuery(limit=500, **query))
    return {t.id for t in page.items}


async def _found(d: Device, q: str) -> set[str]:
    async with d.sessionmaker() as s:
        return {r.id for r in (await search(session=s, user_id=USER, q=q, limit=100)).results}


@pytest.fixture
def reindexed(monkeypatch) -> list[int]:
    """Counts the batches applied with the task's update triggers set aside."""
    calls: list[int] = []
    real = bulk.reindex_tasks

    def counting(conn, ids, suspended) -> None:
        calls.append(len(ids))
        real(conn, ids, suspended)

    monkeypatch.setattr(bulk, "reindex_tasks", counting)
    return calls


@pytest.mark.parametrize("n", [20, local.BULK_MIN + 30])
async def test_pulled_edits_are_found_by_every_search_and_old_words_are_not(device, reindexed, n):
    """A pulled batch of edited tasks: from BULK_MIN on, applied with the task's
    update triggers set aside and indexed per index (app/search/bulk.py), below it row by
    row. Either way the task list's words and tag filters and the unified search find the
    new titles and tags, never the old ones; both full-text indexes hold exactly what
    indexes built afresh from the rows would; the triggers are back byte for byte; the
    apply noted nothing to push back; and later local edits are indexed as usual."""
    async with device.sessionmaker() as s:
        await export.import_data(s, user_id=USER, data=_pantry(n))
    db_path = device.engine.url.database
    triggers = all_triggers(db_path)
    async with device.engine.begin() as conn:  # the import's notes, as a round would
        await conn.run_sync(stamp_pending, device.clock)
    outbox = await _outbox(device)
    ids = sorted(await device.table("task", ("title",)))
    other = HLC("dev-b")

    assert await apply(device, [pulled_edit(t, i, other) for i, t in enumerate(ids)], 7) == n

    assert reindexed == ([n] if n >= local.BULK_MIN else [])
    assert all_triggers(db_path) == triggers
    assert fts_differences(db_path) == {"task_fts": 0, "search_fts": 0}
    assert await _outbox(device) == outbox
    done = {t for i, t in enumerate(ids) if i % 4 == 0}
    assert await _listed(device, q="medlar") == set(ids)
    assert await _listed(device, q="pie", completed=True) == done
    assert await _listed(device, q="medlar", completed=False) == set(ids) - done
    assert await _listed(device, q="quince") == set()
    assert await _listed(device, q="grandma") == set()
    assert await _listed(device, tag="orchard") == set(ids)
    assert await _listed(device, tag="pantry") == set()
    # (Words match as prefixes: "13" finds 130-139 too.)
    assert await _found(device, "medlar pie 13") == {
        t for t in ids if str(ids.index(t)).startswith("13")
    }
    assert await _found(device, "quince") == set()
    assert await _found(device, "grandma") == set()
    assert await cursor(device) == 7
    # The per-row triggers are back at work for the next local edit.
    await device.update(ids[3], title="rowan jelly")
    assert await _listed(device, q="rowan") == {ids[3]}
    assert await _found(device, "rowan") == {ids[3]}
    assert await _listed(device, q="medlar") == set(ids) - {ids[3]}
    assert fts_differences(db_path) == {"task_fts": 0, "search_fts": 0}


@pytest.fixture
def indexed_new(monkeypatch) -> list[int]:
    """Counts the batches of new tasks inserted with the task's insert triggers set aside."""
    calls: list[int] = []
    real = bulk.index_new_tasks

    def counting(conn, ids, suspended) -> None:
        calls.append(len(ids))
        real(conn, ids, suspended)

    monkeypatch.setattr(bulk, "index_new_tasks", counting)
    return calls


@pytest.mark.parametrize("n", [20, local.BULK_MIN + 30])
async def test_pulled_new_tasks_are_found_by_every_search(tmp_path, device, indexed_new, n):
    """A device's first sync: every task is new here. From BULK_MIN on they are
    inserted with the task's insert triggers set aside and indexed per index, below it row
    by row; either way searches and tag filters find them, both full-text indexes hold
    exactly what a rebuild would, the triggers are back, and nothing is noted to push."""
    other = await Device(tmp_path / "other", "dev-b", USER, device.url).open()
    try:
        async with other.sessionmaker() as s:
            await export.import_data(s, user_id=USER, data=_pantry(n))
        async with other.engine.begin() as conn:
            batch = await conn.run_sync(local.read_push_batch, USER, other.clock, n + 10)
    finally:
        await other.close()
    db_path = device.engine.url.database
    triggers = all_triggers(db_path)
    outbox = await _outbox(device)
    indexed_new.clear()  # (the import above indexes its tasks this way too)

    assert await apply(device, batch.rows, 3) == n + 1  # and the Inbox

    assert indexed_new == ([n] if n >= local.BULK_MIN else [])
    assert all_triggers(db_path) == triggers
    assert fts_differences(db_path) == {"task_fts": 0, "search_fts": 0}
    assert await _outbox(device) == outbox
    ids = set(await device.table("task", ("title",)))
    assert len(ids) == n
    assert await _listed(device, q="quince") == ids
    assert await _listed(device, q="jam", completed=False) == ids
    assert await _listed(device, tag="pantry") == ids
    assert len(await _found(device, "grandma")) == len(range(0, n, 5))
    # (Words match as prefixes: "13" finds 130-139 too.)
    titles = await device.table("task", ("title",))
    assert await _found(device, "quince jam 13") == {
        t for t, v in titles.items() if v["title"].startswith("quince jam 13")
    }
    one = sorted(ids)[0]
    await device.update(one, title="rowan jelly")
    assert await _listed(device, q="rowan") == {one}
    assert await _found(device, "rowan") == {one}
    assert await _listed(device, q="quince") == ids - {one}
    assert fts_differences(db_path) == {"task_fts": 0, "search_fts": 0}


async def test_a_big_apply_that_fails_midway_leaves_triggers_and_data_as_they_were(
    device, monkeypatch
):
    """The update triggers are dropped inside the apply's own transaction: an apply that
    fails after its UPDATEs ran (the indexes half done) rolls back whole, with the
    triggers, the rows, their indexes and the cursor as before; the next try applies."""
    n = local.BULK_MIN + 10
    async with device.sessionmaker() as s:
        await export.import_data(s, user_id=USER, data=_pantry(n))
    db_path = device.engine.url.database
    triggers = all_triggers(db_path)
    before = await device.table("task", local.SYNCED["task"])
    ids = sorted(before)
    other = HLC("dev-b")
    rows = [pulled_edit(t, i, other) for i, t in enumerate(ids)]
    real = bulk.reindex_tasks

    def index_then_fail(conn, ids, suspended) -> None:
        real(conn, ids, suspended)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(bulk, "reindex_tasks", index_then_fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        await apply(device, rows, 5)

    assert all_triggers(db_path) == triggers
    assert await device.table("task", local.SYNCED["task"]) == before
    assert fts_differences(db_path) == {"task_fts": 0, "search_fts": 0}
    assert await _listed(device, q="quince") == set(ids)
    assert await _found(device, "medlar") == set()
    assert await cursor(device) == 0

    monkeypatch.setattr(bulk, "reindex_tasks", real)
    assert await apply(device, rows, 5) == n
    assert all_triggers(db_path) == triggers
    assert fts_differences(db_path) == {"task_fts": 0, "search_fts": 0}
    assert await _listed(device, q="medlar") == set(ids)
    assert await cursor(device) == 5


async def _outbox(d: Device) -> list[tuple]:
    async with d.engine.connect() as conn:
        return [
            tuple(r)
            for r in (
                await conn.exec_driver_sql(
                    "SELECT entity, row_id, field, hlc FROM sync_outbox ORDER BY 1, 2, 3"
                )
            ).all()
        ]
