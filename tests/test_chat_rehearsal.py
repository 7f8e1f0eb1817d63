"""POST /api/chat/prepare: one rehearsed turn per process, which stores nothing and sends
Gemini only a model listing, to open the connection the first turn reuses."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from app.chat.models import ChatItem, ChatThread
from app.tasks.models import Task
from tests.fakes.chatkit import TEST_KEY, add_message, create_thread, reply_text, stream, thread_id
from tests.fakes.gemini import FakeGemini, Text


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


async def connection_opened(gemini: FakeGemini, times: int = 1) -> None:
    """Wait for the model listing(s) that prepare sends in the background."""
    for _ in range(200):
        if len(gemini.model_lists) >= times:
            # The fake records a request as it arrives: give its (tiny) answer time to
            # reach the app, whose pool has the connection back only then.
            await asyncio.sleep(0.3)
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no connection to Gemini was opened ahead in 10 s")


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
        # The rehearsal itself asked Gemini for nothing: no chat request reached it.
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


async def test_the_rehearsal_readies_the_gemini_client_and_its_connection(chat, gemini):
    gemini.push(Text(["Hello", "!"]))
    async with chat.client() as c:
        await prepared(c)
        clients = chat.app.state.chat_server.clients  # created with the first chat request
        # Key read and client built (its TLS trust store loaded) before the first turn...
        ready = clients.current
        assert ready is not None
        # ...and its connection opened, by listing the models with the person's key.
        await connection_opened(gemini)
        [listing] = gemini.model_lists
        assert listing.path == "/v1beta/openai/models"
        assert listing.headers["authorization"] == f"Bearer {TEST_KEY}"
        assert gemini.requests == []
        events = await stream(c, create_thread("Hi there"))
    # The turn uses that very client and connection, and sends only its own request.
    assert reply_text(events) == "Hello!"
    assert clients.current is ready
    [turn] = gemini.requests
    assert turn.peer == listing.peer
    assert len(gemini.model_lists) == 1


async def two_turns(chat, gemini: FakeGemini, pause: float) -> tuple[str, str]:
    """Two turns of one thread, `pause` seconds apart; their replies."""
    gemini.push(Text(["One"]), Text(["Two"]))
    async with chat.client() as c:
        first = await stream(c, create_thread("First"))
        await asyncio.sleep(pause)
        second = await stream(c, add_message(thread_id(first), "Second"))
    return reply_text(first), reply_text(second)


async def test_a_turn_a_while_after_the_last_reuses_its_connection(chat, gemini):
    # httpx drops an idle connection after 5 s by default, which made nearly every turn
    # (the person reads the reply, types the next) dial Gemini again: TCP and TLS anew.
    assert await two_turns(chat, gemini, pause=6) == ("One", "Two")
    assert gemini.requests[0].peer == gemini.requests[1].peer


async def test_a_connection_gemini_closed_while_idle_is_dialled_again(chat, gemini):
    # No retries here (TASKCHAT_MAX_RETRIES=0): the pool itself must notice the closed
    # connection rather than send the turn into it.
    gemini.idle_timeout = 0.5
    assert await two_turns(chat, gemini, pause=1.5) == ("One", "Two")
    assert gemini.requests[0].peer != gemini.requests[1].peer


@pytest.mark.parametrize("app_env", [{"TASKCHAT_GEMINI_KEEPALIVE": "2"}])
async def test_typing_after_a_pause_opens_the_connection_again(chat, gemini):
    gemini.push(Text(["One"]), Text(["Two"]))
    async with chat.client() as c:
        await prepared(c)
        await connection_opened(gemini)
        first = await stream(c, create_thread("First"))
        # Typing right after a turn: its connection is open, nothing is sent.
        assert (await c.post("/api/chat/prepare")).status_code == 202
        await asyncio.sleep(0.3)
        assert len(gemini.model_lists) == 1
        # After more than half the keep-alive (1 of 2 s) the next message opens one again,
        # and the turn uses it.
        await asyncio.sleep(1.2)
        assert (await c.post("/api/chat/prepare")).status_code == 202
        await connection_opened(gemini, times=2)
        second = await stream(c, add_message(thread_id(first), "Second"))
    assert (reply_text(first), reply_text(second)) == ("One", "Two")
    assert len(gemini.model_lists) == 2
    assert gemini.requests[1].peer == gemini.model_lists[1].peer


# Port 1 on loopback: nothing listens there, so every connection is refused (Gemini cannot
# be reached; the network itself is fine).
@pytest.mark.parametrize("app_env", [{"GEMINI_BASE_URL": "http://127.0.0.1:1/v1beta/openai/"}])
async def test_unreachable_the_rehearsal_still_readies_the_turn_which_says_so(chat, gemini):
    async with chat.client() as c:
        body = await prepared(c)
        assert body["events"]
        assert chat.app.state.chat_server.clients.current is not None
        events = await stream(c, create_thread("Hi"))
        again = await c.post("/api/chat/prepare")
    errors = [e for e in events if e.type == "error"]
    assert errors
    assert errors[0].message.startswith("Can't reach Gemini right now — your message is saved")
    assert again.json() == body
    assert await counts(chat) == (1, 1, 0)  # the thread and the person's message


@pytest.mark.parametrize("app_env", [{"GEMINI_API_KEY": ""}])
async def test_without_a_key_the_rehearsal_still_runs_and_the_turn_asks_for_one(chat, gemini):
    async with chat.client() as c:
        body = await prepared(c)
        assert body["events"]  # the rehearsal needs no key
        assert chat.app.state.chat_server.clients.current is None
        events = await stream(c, create_thread("Hi"))
    errors = [e for e in events if e.type == "error"]
    assert errors and errors[0].message.startswith("Add your Gemini API key in Settings")
    assert gemini.requests == []
    assert gemini.model_lists == []  # no connection opened without a key


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
