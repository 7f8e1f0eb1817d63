"""Unified search: ranking, snippets, user scoping, and the index following every write.

Runs on SQLite (FTS5 + triggers) and on a real PostgreSQL (expression indexes)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    InferenceOptions,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTextContent,
)
from sqlalchemy import delete, text

from app.chat.models import ChatItem
from app.chat.store import ChatContext, SqlStore
from app.db.engine import create_sessionmaker
from app.export import service as export
from app.search import bulk
from app.search.service import search
from app.tasks import service as tasks
from app.tasks.models import TaskCreate, TaskQuery, TaskUpdate
from tests.conftest import auth_headers

A, B = ChatContext("user-a"), ChatContext("user-b")
_clock = count()


def _at() -> datetime:
    return datetime(2026, 11, 1, tzinfo=UTC) + timedelta(seconds=next(_clock))


@pytest.fixture
def store(db_session, storage) -> SqlStore:
    return SqlStore(create_sessionmaker(db_session.bind))


async def thread(store: SqlStore, ctx: ChatContext, title: str | None) -> str:
    thread_id = store.generate_thread_id(ctx)
    await store.save_thread(ThreadMetadata(id=thread_id, title=title, created_at=_at()), ctx)
    return thread_id


async def user_msg(store: SqlStore, ctx: ChatContext, thread_id: str, text_: str) -> str:
    item = UserMessageItem(
        id=f"msg_{next(_clock)}_{ctx.user_id}",
        thread_id=thread_id,
        created_at=_at(),
        content=[UserMessageTextContent(text=text_)],
        attachments=[],
        inference_options=InferenceOptions(),
    )
    await store.add_thread_item(thread_id, item, ctx)
    return item.id


async def bot_msg(store: SqlStore, ctx: ChatContext, thread_id: str, text_: str) -> str:
    item = AssistantMessageItem(
        id=f"msg_{next(_clock)}_bot",
        thread_id=thread_id,
        created_at=_at(),
        content=[AssistantMessageContent(text=text_)],
    )
    await store.add_thread_item(thread_id, item, ctx)
    return item.id


async def find(session, user: str, q: str, limit: int = 20) -> list:
    """Searches in a session of its own (an open read would hold SQLite's write lock)."""
    async with create_sessionmaker(session.bind)() as own:
        return (await search(session=own, user_id=user, q=q, limit=limit)).results


async def test_finds_threads_messages_and_tasks_with_marked_snippets(db_session, store):
    t = await thread(store, A, "Holiday planning")
    m = await user_msg(store, A, t, "We should book the ferry to Texel before March")
    b = await bot_msg(store, A, t, "Sure — I added a task to book the ferry.")
    task = await tasks.create_task(
        session=db_session,
        user_id="user-a",
        data=TaskCreate(title="Book ferry", description="Texel, two bikes"),
    )
    results = await find(db_session, "user-a", "ferry")
    by_kind = {(r.kind, r.item_id or r.id) for r in results}
    assert by_kind == {("message", m), ("message", b), ("task", task.id)}
    msg = next(r for r in results if r.item_id == m)
    assert msg.thread_id == t and msg.id == m and msg.title == "Holiday planning"
    assert "<mark>ferry</mark>" in msg.snippet
    task_hit = next(r for r in results if r.kind == "task")
    assert task_hit.title == "Book ferry" and task_hit.thread_id is None
    assert "<mark>" in task_hit.snippet
    [hit] = await find(db_session, "user-a", "holiday")
    assert (hit.kind, hit.id, hit.thread_id, hit.item_id) == ("thread", t, t, None)
    assert hit.snippet == "<mark>Holiday</mark> planning"


async def test_prefixes_and_every_word_must_match(db_session, store):
    t = await thread(store, A, "Groceries")
    m = await user_msg(store, A, t, "remember the oat milk and the sourdough")
    await user_msg(store, A, t, "remember the dentist")
    assert [r.item_id for r in await find(db_session, "user-a", "sourd milk")] == [m]
    assert await find(db_session, "user-a", "sourdough dentist") == []


async def test_ranking_title_hits_and_dense_hits_first(db_session, store):
    for title, description in [
        ("Call the bank", "ask about the passport fee"),
        ("Passport renewal", "photo booth first"),
        ("Misc", "nothing relevant here at all " * 5),
    ]:
        await tasks.create_task(
            session=db_session,
            user_id="user-a",
            data=TaskCreate(title=title, description=description),
        )
    t = await thread(store, A, "Chatter")
    sparse = await user_msg(
        store, A, t, "a long message about many things, " * 8 + "and once the passport"
    )
    dense = await user_msg(store, A, t, "passport passport: where is my passport?")
    results = await find(db_session, "user-a", "passport")
    assert results[0].kind == "task" and results[0].title == "Passport renewal"
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True)
    order = [r.item_id for r in results if r.kind == "message"]
    assert order == [dense, sparse]
    assert len(await find(db_session, "user-a", "passport", limit=2)) == 2


async def test_user_b_never_sees_user_a(db_session, store, storage):
    ta = await thread(store, A, "Secret plans of A")
    await user_msg(store, A, ta, "the launch code is zebra")
    await tasks.create_task(
        session=db_session, user_id="user-a", data=TaskCreate(title="zebra secret task")
    )
    tb = await thread(store, B, "B's thread")
    mb = await user_msg(store, B, tb, "my own zebra note")
    assert {r.item_id for r in await find(db_session, "user-b", "zebra")} == {mb}
    assert await find(db_session, "user-b", "secret") == []
    assert len(await find(db_session, "user-a", "zebra")) == 2
    assert await find(db_session, "nobody", "zebra") == []


async def test_index_follows_edits_and_deletes(db_session, store):
    t = await thread(store, A, None)
    m = await user_msg(store, A, t, "pick up the parcel")
    assert [r.item_id for r in await find(db_session, "user-a", "parcel")] == [m]
    # The store rewrites an item in place (e.g. a streamed reply finishing).
    item = await store.load_item(t, m, A)
    item.content = [UserMessageTextContent(text="pick up the package")]
    await store.save_item(t, item, A)
    assert await find(db_session, "user-a", "parcel") == []
    assert [r.item_id for r in await find(db_session, "user-a", "package")] == [m]
    # Thread renamed.
    meta = await store.load_thread(t, A)
    meta.title = "Errands list"
    await store.save_thread(meta, A)
    assert [r.id for r in await find(db_session, "user-a", "errands")] == [t]
    # Item deleted, then the whole thread.
    await store.delete_thread_item(t, m, A)
    assert await find(db_session, "user-a", "package") == []
    m2 = await user_msg(store, A, t, "another errand")
    assert {r.item_id or r.id for r in await find(db_session, "user-a", "errand")} == {t, m2}
    await store.delete_thread(t, A)
    assert await find(db_session, "user-a", "errand") == []
    # Tasks: created, renamed, bulk deleted (a Core statement, not the ORM).
    task = await tasks.create_task(
        session=db_session, user_id="user-a", data=TaskCreate(title="water plants")
    )
    await tasks.update_task(
        session=db_session, user_id="user-a", task_id=task.id, data=TaskUpdate(title="feed cat")
    )
    assert await find(db_session, "user-a", "plants") == []
    assert [r.id for r in await find(db_session, "user-a", "cat")] == [task.id]
    await tasks.bulk_delete(session=db_session, user_id="user-a", task_ids=[task.id])
    assert await find(db_session, "user-a", "cat") == []


async def test_raw_writes_are_indexed_too(db_session, store, storage):
    """Rows written without the store (sync, imports) are found and forgotten alike."""
    t = await thread(store, A, "Raw")
    db_session.add(
        ChatItem(
            id="raw-1",
            thread_id=t,
            user_id="user-a",
            type="assistant_message",
            created_at=_at(),
            seq=1,
            data={
                "type": "assistant_message",
                "content": [{"type": "output_text", "text": "kumquat"}],
            },
        )
    )
    db_session.add(
        ChatItem(
            id="raw-2",
            thread_id=t,
            user_id="user-a",
            type="hidden_context_item",
            created_at=_at(),
            seq=2,
            data={"type": "hidden_context_item", "content": {"tool_call": "kumquat"}},
        )
    )
    await db_session.commit()
    assert [r.item_id for r in await find(db_session, "user-a", "kumquat")] == ["raw-1"]
    await db_session.exec(delete(ChatItem).where(ChatItem.id == "raw-1"))  # type: ignore[call-overload]
    await db_session.commit()
    assert await find(db_session, "user-a", "kumquat") == []


@pytest.mark.parametrize(
    "q", ['"', "a OR b", "NEAR(a b)", "*", "title:x", "x' OR 1=1 --", "(", "&|!", "", "   "]
)
async def test_query_syntax_cannot_be_injected(db_session, store, q):
    t = await thread(store, A, "a b x title")
    await user_msg(store, A, t, "a b x OR NEAR")
    assert isinstance(await find(db_session, "user-a", q), list)


async def test_literal_mark_in_text_cannot_fake_highlights(db_session, store):
    t = await thread(store, A, None)
    await user_msg(store, A, t, "look <mark>here</mark> for the walrus")
    [hit] = await find(db_session, "user-a", "walrus")
    assert hit.snippet.count("<mark>") == 1 and "<mark>walrus</mark>" in hit.snippet


async def test_search_api_is_scoped_to_the_session_user(app, client):
    r = await client.post("/api/tasks", json={"title": "Renew passport"})
    assert r.status_code == 201
    r = await client.get("/api/search", params={"q": "passport"})
    assert r.status_code == 200
    [hit] = r.json()["results"]
    assert set(hit) == {
        "kind",
        "id",
        "thread_id",
        "item_id",
        "title",
        "snippet",
        "score",
        "recurrence",
        "remind_at",
    }
    assert hit["kind"] == "task" and hit["snippet"] == "Renew <mark>passport</mark>"
    other = await client.get(
        "/api/search", params={"q": "passport"}, headers=auth_headers(app, "someone-else")
    )
    assert other.status_code == 200 and other.json() == {"results": []}
    assert (await client.get("/api/search", params={"q": "x", "limit": 0})).status_code == 422
    anon = await client.get("/api/search", params={"q": "x"}, headers={"Authorization": ""})
    assert anon.status_code == 401


async def test_sqlite_query_plan_uses_fts_order(db_session, storage):
    if storage != "sqlite":
        pytest.skip("SQLite only")
    from app.search.service import _SQLITE

    plan = (
        await db_session.exec(
            text("EXPLAIN QUERY PLAN " + str(_SQLITE)),
            params={"match": '"a"*', "user_id": "u", "limit": 5, "lo": 0},
        )
    ).all()
    details = " | ".join(str(r[-1]) for r in plan)
    assert "TEMP B-TREE" not in details, details


async def test_very_common_words_rank_only_the_newest_matches(
    db_session, store, monkeypatch, storage
):
    """SQLite: above RANK_CAP matches the newest are ranked; too few → the window widens."""
    import app.search.service as svc

    if storage != "sqlite":
        pytest.skip("PostgreSQL ranks every match (ts_rank over the GIN index hits)")

    monkeypatch.setattr(svc, "RANK_CAP", 3)
    t = await thread(store, A, None)
    old = [await user_msg(store, A, t, f"common word number {i}") for i in range(6)]
    filler = [await user_msg(store, A, t, f"filler text {i}") for i in range(30)]
    assert len(filler) == 30
    results = await find(db_session, "user-a", "common", limit=5)
    assert len(results) == 5 and {r.item_id for r in results} <= set(old)
    new = [await user_msg(store, A, t, f"common again {i}") for i in range(6)]
    results = await find(db_session, "user-a", "common", limit=3)
    assert {r.item_id for r in results} <= set(new)


async def insert_triggers(session) -> list[tuple]:
    """(name, sql) of the insert triggers on `task` the import sets aside per batch."""
    rows = await session.exec(  # type: ignore[call-overload]
        text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND name IN ('task_fts_ai', 'search_task_ai', 'search_doc_ai', "
            "'sync_task_ai') ORDER BY name"
        )
    )
    return [tuple(t) for t in rows.all()]


async def test_imported_tasks_are_found_by_both_searches(db_session, storage, monkeypatch):
    """An import indexes its new tasks per batch with the insert triggers set aside
    (SQLite: app/search/bulk.py); the tasks' titles, notes and tags are found like any
    other task's, the triggers are back afterwards, and later writes are indexed row by
    row again."""
    rows = [
        {
            "id": f"00000000-0000-4000-8000-{i:012d}",
            "title": f"quince jam {i}" if i % 2 else f"medlar pie {i}",
            "description": "grandma's recipe" if i == 3 else "",
            "tags": ["pantry"] if i < 4 else [],
            "created_at": "2026-11-01T10:00:00+00:00",
            "updated_at": "2026-11-01T10:00:00+00:00",
        }
        for i in range(10)
    ]
    data = {"format": "taskchat-export", "version": 1, "tasks": rows}
    monkeypatch.setattr(export, "TASK_BATCH", 3)  # several batches, the last one short
    maker = create_sessionmaker(db_session.bind)
    before_triggers: list[tuple] = []
    if storage == "sqlite":
        before_triggers = await insert_triggers(db_session)
        await db_session.rollback()
        assert len(before_triggers) == 4
    async with maker() as s:
        report = await export.import_data(s, user_id="user-a", data=data)
    assert report.inserted["tasks"] == 10 and report.skipped == 0
    ids = {r["id"] for r in rows}
    quince = {r["id"] for r in rows if "quince" in r["title"]}
    assert {r.id for r in await find(db_session, "user-a", "quince")} == quince
    assert [r.id for r in await find(db_session, "user-a", "grandma recipe")] == [rows[3]["id"]]
    assert await find(db_session, "user-b", "quince") == []

    async def listed(**query) -> set[str]:
        async with maker() as s:
            page = await tasks.list_tasks(
                session=s, user_id="user-a", query=TaskQuery(limit=500, **query)
            )
        return {t.id for t in page.items}

    assert await listed(q="quince") == quince
    assert await listed(q="medl") == ids - quince
    assert await listed(q="grandma") == {rows[3]["id"]}
    assert await listed(tag="pantry") == {r["id"] for r in rows[:4]}
    # Importing again changes nothing and indexes nothing twice.
    async with maker() as s:
        again = await export.import_data(s, user_id="user-a", data=data)
    assert again.inserted["tasks"] == 0
    assert {r.id for r in await find(db_session, "user-a", "quince")} == quince
    assert await listed(q="quince") == quince
    if storage == "sqlite":
        # The insert triggers the import set aside per batch are all back, unchanged.
        assert await insert_triggers(db_session) == before_triggers
        counts = (
            await db_session.exec(  # type: ignore[call-overload]
                text(
                    "SELECT (SELECT count(*) FROM search_doc WHERE kind = 'task'), "
                    "(SELECT count(*) FROM task)"
                )
            )
        ).one()
        assert tuple(counts) == (10, 10)
        await db_session.rollback()
    # The per-row triggers index the next task written any other way.
    task = await tasks.create_task(
        session=db_session, user_id="user-a", data=TaskCreate(title="quince tart")
    )
    assert task.id in {r.id for r in await find(db_session, "user-a", "tart")}
    assert await listed(q="tart") == {task.id}
    # And an imported task's edits and deletion reach the index like any other's.
    await tasks.update_task(
        session=db_session,
        user_id="user-a",
        task_id=rows[1]["id"],
        data=TaskUpdate(title="rhubarb crumble"),
    )
    await tasks.bulk_delete(session=db_session, user_id="user-a", task_ids=[rows[3]["id"]])
    assert [r.id for r in await find(db_session, "user-a", "rhubarb")] == [rows[1]["id"]]
    assert await find(db_session, "user-a", "grandma") == []
    assert await listed(q="rhubarb") == {rows[1]["id"]}
    assert await listed(q="grandma") == set()


async def test_a_failed_import_batch_leaves_the_triggers_in_place(db_session, storage, monkeypatch):
    """The insert triggers an import sets aside are dropped inside the batch's own
    transaction: a batch that fails rolls back with them there, and what earlier batches
    committed stays indexed."""
    if storage != "sqlite":
        pytest.skip("SQLite only: PostgreSQL has no triggers to set aside")

    def triggers() -> list[tuple]:
        return [
            tuple(r)
            for r in sqlite3.connect(db_session.bind.url.database).execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
            )
        ]

    before = triggers()
    calls = count()
    real_index = bulk.index_new_tasks

    def index_then_fail(conn, ids, suspended) -> None:
        real_index(conn, ids, suspended)
        if next(calls) == 1:
            raise RuntimeError("disk on fire")

    monkeypatch.setattr(bulk, "index_new_tasks", index_then_fail)
    monkeypatch.setattr(export, "TASK_BATCH", 2)
    rows = [
        {
            "id": f"00000000-0000-4000-8000-{i:012d}",
            "title": f"persimmon {i}",
            "created_at": "2026-11-01T10:00:00+00:00",
        }
        for i in range(4)
    ]
    data = {"format": "taskchat-export", "version": 1, "tasks": rows}
    async with create_sessionmaker(db_session.bind)() as s:
        with pytest.raises(RuntimeError):
            await export.import_data(s, user_id="user-a", data=data)
    assert triggers() == before
    first_batch = {rows[0]["id"], rows[1]["id"]}
    assert {r.id for r in await find(db_session, "user-a", "persimmon")} == first_batch
    # The per-row triggers still index what is written next.
    task = await tasks.create_task(
        session=db_session, user_id="user-a", data=TaskCreate(title="persimmon bread")
    )
    assert {r.id for r in await find(db_session, "user-a", "persimmon")} == first_batch | {task.id}
