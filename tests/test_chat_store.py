"""SqlStore on SQLite and on a real PostgreSQL: ownership, cursors, seq, titles, the turn view.

The store's statements fold the ownership check into the main query (rowcounts, user_id in
the WHERE clause) and look a second time only to tell "empty" from "not yours"; these tests
pin the behaviour that must not change with that: another user's ids act as missing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from chatkit.store import NotFoundError
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    InferenceOptions,
    LockedStatus,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTextContent,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from app.chat.models import ChatItem, ChatThread
from app.chat.store import ChatContext, NewThread, SqlStore
from app.db.engine import create_sessionmaker

A, B = ChatContext("user-a"), ChatContext("user-b")
BASE = datetime(2026, 11, 1, tzinfo=UTC)
_n = count()


@pytest.fixture
def store(db_session, storage) -> SqlStore:
    return SqlStore(create_sessionmaker(db_session.bind))


async def _thread(
    store: SqlStore, ctx: ChatContext, *, at: int = 0, title: str | None = None
) -> ThreadMetadata:
    meta = ThreadMetadata(
        id=store.generate_thread_id(ctx), title=title, created_at=BASE + timedelta(seconds=at)
    )
    await store.save_thread(meta, ctx)
    return meta


def _reply(thread_id: str, text: str, *, at: int = 0) -> AssistantMessageItem:
    return AssistantMessageItem(
        id=f"msg_{next(_n):04}",
        thread_id=thread_id,
        created_at=BASE + timedelta(seconds=at),
        content=[AssistantMessageContent(text=text)],
    )


def _said(thread_id: str, text: str) -> UserMessageItem:
    return UserMessageItem(
        id=f"msg_{next(_n):04}",
        thread_id=thread_id,
        created_at=BASE,
        content=[UserMessageTextContent(text=text)],
        attachments=[],
        inference_options=InferenceOptions(),
    )


async def _rows(store: SqlStore, thread_id: str) -> tuple[ChatThread | None, list[ChatItem]]:
    async with store.sessionmaker() as s:
        thread = await s.get(ChatThread, thread_id)
        items = (await s.exec(select(ChatItem).where(ChatItem.thread_id == thread_id))).all()
    return thread, sorted(items, key=lambda i: i.seq)


async def test_save_thread_inserts_then_updates_and_keeps_created_at(store):
    meta = await _thread(store, A, at=5)
    meta.title = "Groceries"
    meta.status = LockedStatus(reason="done")
    meta.metadata = {"k": "v"}
    await store.save_thread(meta.model_copy(update={"created_at": BASE}), A)
    loaded = await store.load_thread(meta.id, A)
    assert loaded.title == "Groceries"
    assert loaded.status.type == "locked"
    assert loaded.metadata == {"k": "v"}
    assert loaded.created_at == BASE + timedelta(seconds=5)  # an update keeps created_at


async def test_another_users_thread_acts_as_missing(store):
    mine = await _thread(store, A, title="mine")
    item = _reply(mine.id, "hello")
    await store.add_thread_item(mine.id, item, A)
    with pytest.raises(NotFoundError):
        await store.load_thread(mine.id, B)
    with pytest.raises(NotFoundError):
        await store.save_thread(mine.model_copy(update={"title": "stolen"}), B)
    with pytest.raises(NotFoundError):
        await store.add_thread_item(mine.id, _reply(mine.id, "x"), B)
    with pytest.raises(NotFoundError):
        await store.save_item(mine.id, item.model_copy(update={"content": []}), B)
    with pytest.raises(NotFoundError):
        await store.load_thread_items(mine.id, None, 10, "asc", B)
    with pytest.raises(NotFoundError):
        await store.load_item(mine.id, item.id, B)
    with pytest.raises(NotFoundError):
        await store.delete_thread(mine.id, B)
    with pytest.raises(NotFoundError):
        await store.load_threads(10, mine.id, "desc", B)
    await store.delete_thread_item(mine.id, item.id, B)  # a no-op, like a missing item
    thread, items = await _rows(store, mine.id)
    assert thread is not None and thread.title == "mine" and thread.user_id == "user-a"
    assert [i.id for i in items] == [item.id]
    assert (await store.load_item(mine.id, item.id, A)).content[0].text == "hello"


async def test_empty_thread_and_missing_ids(store):
    empty = await _thread(store, A)
    page = await store.load_thread_items(empty.id, None, 10, "desc", A)
    assert page.data == [] and not page.has_more
    with pytest.raises(NotFoundError):
        await store.load_thread_items("thr_missing", None, 10, "desc", A)
    with pytest.raises(NotFoundError):
        await store.load_thread_items(empty.id, "msg_missing", 10, "desc", A)
    with pytest.raises(NotFoundError):
        await store.add_thread_item("thr_missing", _reply("thr_missing", "x"), A)
    with pytest.raises(NotFoundError):
        await store.delete_thread("thr_missing", A)
    assert (await store.load_threads(10, None, "desc", B)).data == []


async def test_item_pages_follow_created_at_then_insertion_order(store):
    thread = await _thread(store, A)
    # Equal timestamps in runs of three; ids deliberately not in order.
    ids = []
    for n in range(10):
        item = _reply(thread.id, str(n), at=n // 3)
        item.id = f"msg_{'zyxwvutsrq'[n]}"
        await store.add_thread_item(thread.id, item, A)
        ids.append(item.id)
    _, rows = await _rows(store, thread.id)
    assert [r.seq for r in rows] == list(range(1, 11))
    for order, expected in (("asc", ids), ("desc", ids[::-1])):
        seen, after = [], None
        while True:
            page = await store.load_thread_items(thread.id, after, 3, order, A)
            seen += [i.id for i in page.data]
            assert page.has_more == (len(seen) < 10)
            if not page.has_more:
                assert page.after is None
                break
            after = page.after
        assert seen == expected
    # A cursor past the end is an empty page, not a 404; another thread's item is a 404.
    assert (await store.load_thread_items(thread.id, ids[-1], 3, "asc", A)).data == []
    other = await _thread(store, A)
    with pytest.raises(NotFoundError):
        await store.load_thread_items(other.id, ids[0], 3, "asc", A)


async def test_thread_pages_with_equal_created_at(store):
    made = [(await _thread(store, A, at=n // 3)).id for n in range(7)]
    await _thread(store, B)
    expected = sorted(made, key=lambda t: (made.index(t) // 3, t))
    seen, after = [], None
    while True:
        page = await store.load_threads(2, after, "asc", A)
        seen += [t.id for t in page.data]
        if not page.has_more:
            break
        after = page.after
    assert seen == expected
    assert (await store.load_threads(2, expected[-1], "asc", A)).data == []


async def test_title_is_stored_with_the_message(store):
    thread = await _thread(store, A)
    before = (await _rows(store, thread.id))[0].updated_at
    message = _said(thread.id, "Buy milk")
    await store.add_thread_item(thread.id, message, A, title="Buy milk")
    row, items = await _rows(store, thread.id)
    assert row.title == "Buy milk" and row.updated_at >= before
    assert [i.id for i in items] == [message.id]
    # Without a title the existing one stays.
    await store.add_thread_item(thread.id, _reply(thread.id, "ok"), A)
    assert (await store.load_thread(thread.id, A)).title == "Buy milk"


async def test_a_new_thread_is_stored_with_its_first_message(store):
    """threads.create: ChatKit saves the thread, then adds its message. The thread's row
    waits for the message and both go in one transaction, named after the message (no
    write of its own later in the turn); later saves in that request keep the name."""
    ctx = ChatContext("user-a", new_thread=NewThread("Plan the week's meals"))
    meta = ThreadMetadata(id=store.generate_thread_id(ctx), created_at=BASE)
    await store.save_thread(meta, ctx)
    assert ctx.created(meta.id) and not A.created(meta.id)
    assert (await _rows(store, meta.id))[0] is None  # waits for its message
    message = _said(meta.id, "  Plan   the week's meals ")
    await store.add_thread_item(meta.id, message, ctx)
    row, items = await _rows(store, meta.id)
    assert row is not None and row.user_id == "user-a"
    assert row.title == "Plan the week's meals"
    assert [(i.id, i.seq) for i in items] == [(message.id, 1)]
    # Its items as the turn loads them before asking the model (from memory, no read).
    page = await store.load_thread_items(meta.id, None, 100, "desc", ctx)
    assert page.data == [message] and not page.has_more
    reply = _reply(meta.id, "Sure.")
    await store.add_thread_item(meta.id, reply, ctx)
    page = await store.load_thread_items(meta.id, None, 100, "asc", ctx)  # read again
    assert [i.id for i in page.data] == [message.id, reply.id]
    await store.save_thread(meta, ctx)  # ChatKit's copy has no title: the name stays
    row, items = await _rows(store, meta.id)
    assert row.title == "Plan the week's meals"
    assert [(i.id, i.seq) for i in items] == [(message.id, 1), (reply.id, 2)]
    await store.save_thread(meta, A)  # another request's save of that copy: untitled
    assert (await store.load_thread(meta.id, A)).title is None


async def test_a_new_thread_and_its_message_are_stored_both_or_neither(store):
    # Its id taken by another user's thread: refused, and that thread is left alone.
    theirs = await _thread(store, B)
    ctx = ChatContext("user-a", new_thread=NewThread("mine"))
    await store.save_thread(ThreadMetadata(id=theirs.id, created_at=BASE), ctx)
    with pytest.raises(NotFoundError):
        await store.add_thread_item(theirs.id, _said(theirs.id, "mine"), ctx)
    row, items = await _rows(store, theirs.id)
    assert row.user_id == "user-b" and row.title is None and items == []
    # The message fails (its id is taken): the thread is not stored either.
    other = await _thread(store, A)
    taken = _said(other.id, "first")
    await store.add_thread_item(other.id, taken, A)
    ctx = ChatContext("user-a", new_thread=NewThread("lost"))
    meta = ThreadMetadata(id=store.generate_thread_id(ctx), created_at=BASE)
    await store.save_thread(meta, ctx)
    with pytest.raises(IntegrityError):
        await store.add_thread_item(meta.id, taken.model_copy(update={"thread_id": meta.id}), ctx)
    assert await _rows(store, meta.id) == (None, [])


async def test_save_item_edits_in_place_or_appends(store):
    thread = await _thread(store, A)
    first = _reply(thread.id, "draft")
    await store.save_item(thread.id, first, A)  # not there yet: appended
    second = _reply(thread.id, "next")
    await store.add_thread_item(thread.id, second, A)
    await store.save_item(thread.id, first.model_copy(update={"content": []}), A)
    _, rows = await _rows(store, thread.id)
    assert [(r.id, r.seq) for r in rows] == [(first.id, 1), (second.id, 2)]
    assert (await store.load_item(thread.id, first.id, A)).content == []
    # An id that belongs to another thread is not this thread's item.
    other = await _thread(store, A)
    with pytest.raises(NotFoundError):
        await store.save_item(other.id, second, A)


async def test_delete_thread_removes_its_items(store):
    thread = await _thread(store, A)
    await store.add_thread_item(thread.id, _reply(thread.id, "x"), A)
    await store.delete_thread(thread.id, A)
    row, items = await _rows(store, thread.id)
    assert row is None and items == []


def assert_write_lock_free(settings) -> None:
    """Nothing holds SQLite's write lock: another connection gets it without waiting."""
    import sqlite3

    other = sqlite3.connect(settings.sqlite_path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


async def test_a_write_cancelled_mid_transaction_runs_to_its_end(store, settings, storage):
    """A client that goes away cancels the store write it was waiting for, in the middle
    of an aiosqlite call. The transaction still commits (not half-done, no lock left
    behind) and the next write goes through."""
    import asyncio

    from sqlalchemy import event

    meta = await _thread(store, A)
    first = _reply(meta.id, "first")
    victim: asyncio.Task[None] | None = None

    def cancel_at_the_insert(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        # The transaction is open (BEGIN IMMEDIATE ran, the thread's row is updated); the
        # cancellation lands while the item's INSERT is on its way to aiosqlite's thread.
        if victim is not None and statement.startswith("INSERT INTO chat_item"):
            victim.cancel()

    engine = store.sessionmaker.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", cancel_at_the_insert)
    try:
        victim = asyncio.ensure_future(store.add_thread_item(meta.id, first, A))
        with pytest.raises(asyncio.CancelledError):
            await victim
    finally:
        victim = None
        event.remove(engine, "before_cursor_execute", cancel_at_the_insert)

    if storage == "sqlite":
        assert_write_lock_free(settings)
    second = _reply(meta.id, "second")
    await store.add_thread_item(meta.id, second, A)
    page = await store.load_thread_items(meta.id, None, 10, "asc", A)
    assert [i.id for i in page.data] == [first.id, second.id]
    _thread_row, rows = await _rows(store, meta.id)
    assert [r.seq for r in rows] == [1, 2]


async def test_a_failed_write_still_rolls_back_and_a_load_leaves_nothing_open(
    store, settings, storage
):
    """The engine skips the pool's ROLLBACK only when SQLite has nothing open (after a
    COMMIT, or a load that began no transaction): a write that fails halfway is still
    rolled back, and neither leaves SQLite's write lock held."""

    from sqlalchemy.exc import IntegrityError

    meta = await _thread(store, A)
    kept = _reply(meta.id, "kept")
    await store.add_thread_item(meta.id, kept, A)
    # The thread's row is updated first, then the INSERT fails on the taken id.
    with pytest.raises(IntegrityError):
        await store.add_thread_item(
            meta.id, _reply(meta.id, "dup").model_copy(update={"id": kept.id}), A
        )
    await store.load_thread_items(meta.id, None, 10, "asc", A)
    if storage == "sqlite":
        assert_write_lock_free(settings)
    _thread_row, rows = await _rows(store, meta.id)
    assert [r.data["content"][0]["text"] for r in rows] == ["kept"]
    await store.add_thread_item(meta.id, _reply(meta.id, "next"), A)
    assert len((await store.load_thread_items(meta.id, None, 10, "asc", A)).data) == 2
