"""POST /api/chat/prepare: one rehearsed turn per process, which stores and sends nothing."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from app.chat.models import ChatItem, ChatThread
from app.tasks.models import Task
from tests.fakes.chatkit import create_thread, reply_text, stream
from tests.fakes.gemini import Text


async def prepared(client: httpx.AsyncClient) -> dict:
    """Ask for the rehearsal, then wait until the server says it is done."""
    for _ in range(200):
        r = await client.post("/api/chat/prepare")
        assert r.status_code == 202, r.text
        body = r.json()
        if body["status"] == "done":
            return body
        assert body == {"status": "running"}
        await asyncio.sleep(0.05)
    raise AssertionError("the rehearsal did not finish in 10 s")


async def counts(chat) -> tuple[int, int, int]:
    found = []
    async with chat.app.state.sessionmaker() as s:
        for table in (ChatThread, ChatItem, Task):
            found.append((await s.exec(select(func.count()).select_from(table))).one())
    return tuple(found)


async def test_rehearsal_walks_a_whole_turn_and_stores_nothing(chat, gemini):
    async with chat.client() as c:
        before = await counts(chat)
        body = await prepared(c)
        # The canned answer: a list_tasks call (its progress update and hidden tool item),
        # then the "Ready." message streamed and finished.
        assert body["events"] == [
            "progress_update",
            "thread.item.done",  # the hidden tool-call item
            "thread.item.added",
            "thread.item.updated",
            "thread.item.updated",
            "thread.item.done",  # "Ready."
        ]
        assert await counts(chat) == before
        # No key read, nothing sent: the fake Gemini saw no request at all.
        assert gemini.requests == []
        # Once per process: asking again returns the same finished rehearsal.
        assert await prepared(c) == body


async def test_a_real_turn_after_the_rehearsal_is_unchanged(chat, gemini):
    gemini.push(Text(["Hello", "!"]))
    async with chat.client() as c:
        await prepared(c)
        events = await stream(c, create_thread("Hi there"))
    assert reply_text(events) == "Hello!"
    assert len(gemini.requests) == 1
    assert await counts(chat) == (1, 2, 0)


async def test_the_rehearsal_readies_the_real_gemini_client_and_sends_nothing(chat, gemini):
    gemini.push(Text(["Hello", "!"]))
    async with chat.client() as c:
        await prepared(c)
        clients = chat.app.state.chat_server._clients  # created with the first chat request
        # Key read and client built (its TLS trust store loaded) before the first turn...
        ready = clients._client
        assert ready is not None
        assert gemini.requests == []
        events = await stream(c, create_thread("Hi there"))
    # ...which uses that very client, and sends Gemini only its own request.
    assert reply_text(events) == "Hello!"
    assert clients._client is ready
    assert len(gemini.requests) == 1


@pytest.mark.parametrize("app_env", [{"GEMINI_API_KEY": ""}])
async def test_without_a_key_the_rehearsal_still_runs_and_the_turn_asks_for_one(chat, gemini):
    async with chat.client() as c:
        body = await prepared(c)
        assert body["events"]  # the rehearsal needs no key
        assert chat.app.state.chat_server._clients._client is None
        events = await stream(c, create_thread("Hi"))
    errors = [e for e in events if e.type == "error"]
    assert errors and errors[0].message.startswith("Add your Gemini API key in Settings")
    assert gemini.requests == []


async def test_no_rehearsal_once_a_real_turn_has_run(chat, gemini):
    gemini.push(Text(["Hello"]))
    async with chat.client() as c:
        await stream(c, create_thread("Hi"))
        assert await prepared(c) == {"status": "done", "events": []}


async def test_prepare_runs_beside_a_turn_that_starts_meanwhile(chat, gemini):
    gemini.push(Text(["One", " two"]))
    async with chat.client() as c:
        first = await c.post("/api/chat/prepare")
        assert first.status_code == 202
        events = await stream(c, create_thread("Count to two"))
        await prepared(c)
    assert reply_text(events) == "One two"
    assert await counts(chat) == (1, 2, 0)


async def test_prepare_needs_a_session(chat):
    async with httpx.AsyncClient(base_url=chat.url) as c:
        r = await c.post("/api/chat/prepare")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"
