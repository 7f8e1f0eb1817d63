"""The ChatKit protocol on /api/chatkit: history across turns, paging, ownership, bad requests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    ThreadMetadata,
)

from app.chat.store import ChatContext, SqlStore
from tests.fakes.chatkit import (
    add_message,
    call,
    create_thread,
    items_of,
    reply_text,
    stream,
    thread_id,
    user_input,
)
from tests.fakes.gemini import Text, ToolCalls


async def test_follow_up_turn_sees_earlier_tool_results(chat, gemini, db):
    gemini.push(
        ToolCalls([("create_task", {"title": "eggs"}), ("create_task", {"title": "bread"})]),
        Text(["Added ", "both."]),
        Text(["You have eggs and bread."]),
    )
    async with chat.client() as c:
        first = await stream(c, create_thread("Add tasks eggs and bread"))
        tid = thread_id(first)
        second = await stream(c, add_message(tid, "What did you add?"))
    assert reply_text(second) == "You have eggs and bread."
    messages = gemini.requests[2].messages
    roles = [m["role"] for m in messages]
    assert roles == ["system", "user", "assistant", "tool", "tool", "assistant", "user"]
    assert [c["function"]["name"] for c in messages[2]["tool_calls"]] == ["create_task"] * 2
    assert {json.loads(m["content"])["created"]["title"] for m in messages[3:5]} == {
        "eggs",
        "bread",
    }
    # Earlier replies go back as plain strings (output_text parts break openai-agents).
    assert messages[5]["content"] == "Added both."
    assert "Today is" in messages[0]["content"]
    items = await items_of(db, tid)
    assert [i.type for i in items] == [
        "user_message",
        "hidden_context_item",
        "hidden_context_item",
        "assistant_message",
        "user_message",
        "assistant_message",
    ]
    ids = [i.id for i in items if i.type == "assistant_message"]
    assert len(set(ids)) == 2 and "__fake_id__" not in ids
    # Hidden items never reach the client.
    async with chat.client() as c:
        listed = (await call(c, {"type": "items.list", "params": {"thread_id": tid}})).json()
    assert {i["type"] for i in listed["data"]} == {"user_message", "assistant_message"}


async def _seed(db, user_id: str, *, threads: int, items: int) -> tuple[list[str], list[str]]:
    """Threads and items with many equal timestamps, written through the store."""
    store = SqlStore(db)
    ctx = ChatContext(user_id=user_id)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    thread_ids = []
    for n in range(threads):
        meta = ThreadMetadata(id=f"thr_{n:03}", created_at=base + timedelta(seconds=n // 3))
        await store.save_thread(meta, ctx)
        thread_ids.append(meta.id)
    item_ids = []
    for n in range(items):
        item = AssistantMessageItem(
            id=f"msg_{n:03}_{'zyxwvu'[n % 6]}",  # ids not in time order: the tiebreak is seq
            thread_id=thread_ids[0],
            created_at=base + timedelta(seconds=n // 4),
            content=[AssistantMessageContent(text=str(n))],
        )
        await store.add_thread_item(thread_ids[0], item, ctx)
        item_ids.append(item.id)
    return thread_ids, item_ids


async def _pages(c, kind: str, params: dict, limit: int) -> tuple[list[str], list[dict]]:
    seen, pages, after = [], [], None
    while True:
        body = (
            await call(c, {"type": kind, "params": {**params, "limit": limit, "after": after}})
        ).json()
        pages.append(body)
        seen += [x["id"] for x in body["data"]]
        if not body["has_more"]:
            return seen, pages
        after = body["after"]


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_paging_matches_sdk_semantics(chat, gemini, db, order):
    user = chat.app.state.local_user_id
    thread_ids, item_ids = await _seed(db, user, threads=25, items=100)
    expect_items = item_ids if order == "asc" else item_ids[::-1]
    async with chat.client() as c:
        seen, pages = await _pages(c, "items.list", {"thread_id": thread_ids[0], "order": order}, 7)
        assert seen == expect_items
        assert [len(p["data"]) for p in pages] == [7] * 14 + [2]
        assert all(p["after"] == p["data"][-1]["id"] for p in pages[:-1])
        assert pages[-1].get("after") is None and pages[-1]["has_more"] is False

        seen, _ = await _pages(c, "threads.list", {"order": order}, 10)
        expect_threads = sorted(thread_ids) if order == "asc" else sorted(thread_ids)[::-1]
        assert seen == expect_threads

        exact, _ = await _pages(c, "items.list", {"thread_id": thread_ids[0], "order": order}, 100)
        assert exact == expect_items


async def test_another_user_cannot_read_or_write_a_thread(chat, gemini):
    async with chat.client() as c:
        tid = thread_id(await stream(c, create_thread("my private thread")))
        item = (await call(c, {"type": "items.list", "params": {"thread_id": tid}})).json()
    item_id = item["data"][0]["id"]
    attempts = [
        {"type": "threads.get_by_id", "params": {"thread_id": tid}},
        {"type": "items.list", "params": {"thread_id": tid}},
        {"type": "threads.update", "params": {"thread_id": tid, "title": "mine now"}},
        {"type": "threads.delete", "params": {"thread_id": tid}},
        add_message(tid, "hello from B"),
        {"type": "threads.retry_after_item", "params": {"thread_id": tid, "item_id": item_id}},
    ]
    async with chat.client(user_id="other-user") as other:
        for payload in attempts:
            r = await call(other, payload)
            assert r.status_code == 404, (payload["type"], r.text)
            assert r.json()["error"]["code"] == "not_found"
        listed = (await call(other, {"type": "threads.list", "params": {}})).json()
        assert listed["data"] == []
    async with chat.client() as c:
        thread = (await call(c, {"type": "threads.get_by_id", "params": {"thread_id": tid}})).json()
    assert thread["title"] == "my private thread"
    assert len(gemini.requests) == 1  # B's message never reached the model


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("not json at all", 400, "bad_request"),
        (json.dumps({"type": "threads.explode", "params": {}}), 400, "bad_request"),
        (json.dumps({"type": "threads.create", "params": {}}), 400, "bad_request"),
        (json.dumps([1, 2, 3]), 400, "bad_request"),
        (
            json.dumps(
                {"type": "attachments.create",
                 "params": {"name": "a.png", "size": 1, "mime_type": "image/png"}}
            ),
            400,
            "not_supported",
        ),
        (
            json.dumps(
                {"type": "input.transcribe", "params": {"audio_base64": "", "mime_type": "a/b"}}
            ),
            400,
            "not_supported",
        ),
        (
            json.dumps(
                {"type": "threads.create",
                 "params": {"input": {**user_input("hi"), "attachments": ["atc_1"]}}}
            ),
            400,
            "not_supported",
        ),
        (json.dumps({"type": "threads.get_by_id", "params": {"thread_id": "thr_x"}}), 404,
         "not_found"),
        (json.dumps({"type": "items.list", "params": {"thread_id": "thr_x"}}), 404, "not_found"),
        (json.dumps(add_message("thr_x", "hello")), 404, "not_found"),
    ],
)  # fmt: skip
async def test_bad_requests_get_the_error_shape(chat, gemini, body, status, code):
    async with chat.client() as c:
        r = await c.post("/api/chatkit", content=body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["message"]


async def test_unknown_item_ids_are_404(chat, gemini):
    async with chat.client() as c:
        tid = thread_id(await stream(c, create_thread("hello")))
        for payload in (
            {"type": "items.list", "params": {"thread_id": tid, "after": "msg_nope"}},
            {"type": "threads.retry_after_item", "params": {"thread_id": tid, "item_id": "nope"}},
        ):
            r = await call(c, payload)
            assert r.status_code == 404, r.text


async def test_non_streaming_requests(chat, gemini):
    async with chat.client() as c:
        tid = thread_id(await stream(c, create_thread("first")))
        r = await call(c, {"type": "threads.update", "params": {"thread_id": tid, "title": "T"}})
        assert r.status_code == 200 and r.json()["title"] == "T"
        items = (await call(c, {"type": "items.list", "params": {"thread_id": tid}})).json()
        first_id = items["data"][0]["id"]
        feedback = {"thread_id": tid, "item_ids": [first_id], "kind": "positive"}
        r = await call(c, {"type": "items.feedback", "params": feedback})
        assert r.status_code == 200
        r = await call(c, {"type": "threads.delete", "params": {"thread_id": tid}})
        assert r.status_code == 200
        r = await call(c, {"type": "threads.get_by_id", "params": {"thread_id": tid}})
        assert r.status_code == 404


async def test_sse_headers(chat, gemini):
    async with chat.client() as c:
        async with c.stream("POST", "/api/chatkit", content=json.dumps(create_thread("hi"))) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            assert r.headers["cache-control"] == "no-cache"
            assert r.headers["x-accel-buffering"] == "no"
            await r.aread()


async def test_overlong_message_is_refused_before_anything_is_stored(chat, gemini, db):
    async with chat.client() as c:
        r = await c.post("/api/chatkit", content=json.dumps(create_thread("x" * 20_001)))
        assert r.status_code == 413
        error = r.json()["error"]
        assert error["code"] == "message_too_long"
        assert "20,001 characters" in error["message"] and "20,000" in error["message"]
        threads = await call(c, {"type": "threads.list", "params": {"limit": 10}})
    assert threads.json()["data"] == []
    assert gemini.requests == []
    # Exactly at the limit is fine.
    gemini.push(Text(["ok"]))
    async with chat.client() as c:
        events = await stream(c, create_thread("y" * 20_000))
    assert reply_text(events) == "ok"


async def test_edit_the_last_message_and_ask_again(chat, gemini):
    """PUT /api/chat/threads/{t}/items/{i} replaces the last user message's text; the
    retry after it answers the new text and drops the old answer."""
    gemini.push(Text(["Added milk."]), Text(["Added oat milk."]))
    async with chat.client() as c:
        tid = thread_id(await stream(c, create_thread("add milk")))
        items = (
            await call(c, {"type": "items.list", "params": {"thread_id": tid, "order": "asc"}})
        ).json()
        first = items["data"][0]["id"]
        url = f"/api/chat/threads/{tid}/items/{first}"
        r = await c.put(url, json={"text": "  add oat milk "})
        assert r.status_code == 204, r.text
        events = await stream(
            c, {"type": "threads.retry_after_item", "params": {"thread_id": tid, "item_id": first}}
        )
        assert reply_text(events) == "Added oat milk."
        items = (
            await call(c, {"type": "items.list", "params": {"thread_id": tid, "order": "asc"}})
        ).json()
        shown = [i for i in items["data"] if i["type"] in ("user_message", "assistant_message")]
        assert [i["content"][0]["text"] for i in shown] == ["add oat milk", "Added oat milk."]
        assert shown[0]["id"] == first
        last_user = [m for m in gemini.requests[-1].messages if m["role"] == "user"]
        assert len(last_user) == 1 and "add oat milk" in str(last_user[0]["content"])

        # Only the last message; not empty; not another user's; not a reply.
        gemini.push(Text(["Done."]))
        await stream(c, add_message(tid, "and bread"))
        r = await c.put(url, json={"text": "changed"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
        assert (await c.put(url, json={"text": "  "})).status_code == 422
        assert (await c.put(url, json={"text": "x", "extra": 1})).status_code == 422
        assert (
            await c.put(f"/api/chat/threads/{tid}/items/nope", json={"text": "x"})
        ).status_code == 404
        too_long = await c.put(url, json={"text": "x" * 20_001})
        assert too_long.status_code == 413
    async with chat.client(user_id="other-user") as other:
        r = await other.put(url, json={"text": "mine"})
        assert r.status_code == 404
