"""The chat's listings answered without ChatKit's server (app/chat/listing.py): the same
bytes as ChatKitServer.process for the same store, and no chat machinery loaded for them;
the first request that needs the machinery (the rehearsal asked at the first keystroke, a
message) starts its import."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    HiddenContextItem,
    InferenceOptions,
    SDKHiddenContextItem,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTextContent,
)
from fastapi import FastAPI

from app.chat import endpoint, listing, requests
from app.chat.store import ChatContext, SqlStore
from app.errors import NotFound

BASE = datetime(2026, 11, 1, tzinfo=UTC)
_n = count()


async def _thread_with_items(store: SqlStore, ctx: ChatContext, at: int, title: str | None):
    meta = ThreadMetadata(
        id=store.generate_thread_id(ctx), title=title, created_at=BASE + timedelta(seconds=at)
    )
    await store.save_thread(meta, ctx)
    when = BASE + timedelta(seconds=at)
    items = [
        UserMessageItem(
            id=f"msg_{next(_n):04}",
            thread_id=meta.id,
            created_at=when,
            content=[UserMessageTextContent(text=f"add task {at}")],
            attachments=[],
            inference_options=InferenceOptions(),
        ),
        SDKHiddenContextItem(
            id=f"shc_{next(_n):04}", thread_id=meta.id, created_at=when, content="tool call"
        ),
        HiddenContextItem(
            id=f"hc_{next(_n):04}", thread_id=meta.id, created_at=when, content={"k": 1}
        ),
        AssistantMessageItem(
            id=f"msg_{next(_n):04}",
            thread_id=meta.id,
            created_at=when,
            content=[AssistantMessageContent(text=f"Added task {at}.")],
        ),
    ]
    for item in items:
        await store.add_thread_item(meta.id, item, ctx)
    return meta


def _bodies(thread_id: str, first_item: str, second_thread: str) -> list[dict]:
    return [
        {"type": "threads.list", "params": {"limit": 50, "order": "desc"}},
        {"type": "threads.list", "params": {"order": "asc"}},  # ChatKit's default page size
        {"type": "threads.list", "params": {"limit": 2, "order": "desc"}},
        {"type": "threads.list", "params": {"limit": 2, "order": "desc", "after": second_thread}},
        {"type": "items.list", "params": {"thread_id": thread_id, "limit": 100, "order": "asc"}},
        {"type": "items.list", "params": {"thread_id": thread_id, "order": "desc"}},
        {"type": "items.list", "params": {"thread_id": thread_id, "limit": 1, "order": "asc"}},
        {
            "type": "items.list",
            "params": {"thread_id": thread_id, "limit": 2, "order": "asc", "after": first_item},
        },
    ]


async def test_listings_are_the_bytes_chatkit_server_answers(app: FastAPI, client):
    store = listing.store_of(app)
    me = ChatContext(user_id=app.state.local_user_id)
    threads = [await _thread_with_items(store, me, at, f"Thread {at}") for at in range(4)]
    await _thread_with_items(store, me, 9, None)  # untitled
    await _thread_with_items(store, ChatContext(user_id="someone-else"), 5, "Not mine")
    first_item = (await store.load_thread_items(threads[0].id, None, 1, "asc", me)).data[0].id
    server = endpoint.chat_server(app)  # the SDK's answer, from its own store on the same DB
    for body in _bodies(threads[0].id, first_item, threads[2].id):
        raw = json.dumps(body).encode()
        parsed = requests.parse(raw)
        assert listing.serves(parsed)
        ours = await listing.answer(store, parsed, me.user_id)
        theirs = (await server.process(raw, ChatContext(user_id=me.user_id))).json
        assert ours == theirs, body
        r = await client.post("/api/chatkit", content=raw)
        assert r.status_code == 200 and r.content == theirs, body
    whole = json.dumps(_bodies(threads[0].id, first_item, threads[2].id)[4])
    listed = json.loads(await listing.answer(store, requests.parse(whole), me.user_id))
    # The hidden context items are left out, as ChatKit does.
    assert [i["type"] for i in listed["data"]] == ["user_message", "assistant_message"]


async def test_a_missing_or_foreign_thread_is_a_404(app: FastAPI, client):
    store = listing.store_of(app)
    theirs = await _thread_with_items(store, ChatContext(user_id="someone-else"), 1, "Theirs")
    for thread_id in ("thr_missing", theirs.id):
        body = {"type": "items.list", "params": {"thread_id": thread_id, "order": "asc"}}
        r = await client.post("/api/chatkit", content=json.dumps(body))
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == "not_found"
        with pytest.raises(NotFound):
            await listing.answer(store, requests.parse(json.dumps(body)), app.state.local_user_id)


async def test_listings_leave_the_chat_machinery_unloaded_until_it_is_used(app: FastAPI, client):
    started: list[bool] = []
    start = app.state.start_chat_warm_up
    app.state.start_chat_warm_up = lambda: (started.append(True), start())
    thread = await _thread_with_items(
        listing.store_of(app), ChatContext(user_id=app.state.local_user_id), 1, "Groceries"
    )
    for body in (
        {"type": "threads.list", "params": {"limit": 50, "order": "desc"}},
        {"type": "items.list", "params": {"thread_id": thread.id, "order": "asc"}},
    ):
        assert (await client.post("/api/chatkit", content=json.dumps(body))).status_code == 200
    bad = await client.post("/api/chatkit", content=b'{"type": "threads.list"}')
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"
    assert started == [] and not app.state.chat_endpoint.done()  # nothing started it
    # The first keystroke's rehearsal request loads it (and waits for it).
    r = await client.post("/api/chat/prepare")
    assert r.status_code == 202, r.text
    assert started == [True] and app.state.chat_endpoint.done()
    assert app.state.chat_endpoint.exception() is None
