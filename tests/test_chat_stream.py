"""Chat over real HTTP against the fake Gemini: streaming replies, titles, tools and history."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
from chatkit.types import InferenceOptions, UserMessageItem, UserMessageTextContent
from sqlmodel import select

from app.chat.models import ChatItem, ChatThread
from app.chat.store import TITLE_MAX, title_from
from tests.fakes.chatkit import (
    add_message,
    create_thread,
    of_type,
    reply_text,
    stream,
    thread_id,
)
from tests.fakes.gemini import Fail, Text


async def test_new_thread_streams_reply_and_saves_it(chat, gemini):
    gemini.push(Text(["Hello", " there", "!"]))
    async with chat.client() as c:
        events = await stream(c, create_thread("Hi, what can you do for me today?"))
    kinds = [e.type for e in events]
    assert kinds[0] == "thread.created"
    deltas = [
        e.update.delta
        for e in of_type(events, "thread.item.updated")
        if e.update.type == "assistant_message.content_part.text_delta"
    ]
    assert deltas == ["Hello", " there", "!"]
    assert reply_text(events) == "Hello there!"
    tid = thread_id(events)
    async with chat.app.state.sessionmaker() as s:
        items = (await s.exec(select(ChatItem).where(ChatItem.thread_id == tid))).all()
        thread = await s.get(ChatThread, tid)
    assert [i.type for i in sorted(items, key=lambda i: i.seq)] == [
        "user_message",
        "assistant_message",
    ]
    assert thread.title == "Hi, what can you do for me today?"
    assert "__fake_id__" not in str([e.model_dump() for e in events])


async def test_new_thread_is_named_after_its_first_message(chat, gemini):
    """threads.create names the thread after the message; the title is stored and streamed."""
    seen_by_model: list[tuple] = []

    def route(recorded):
        # What another connection sees once the model is asked: the message is committed,
        # and the title with it (one transaction; no write of its own during the turn).
        with sqlite3.connect(chat.app.state.settings.sqlite_path) as db:
            seen_by_model.append(
                db.execute(
                    "SELECT t.title, i.type FROM chat_thread t "
                    "JOIN chat_item i ON i.thread_id = t.id"
                ).fetchall()
            )
        return Text(["Sure."])

    gemini.route = route
    async with chat.client() as c:
        events = await stream(c, create_thread("  Plan   the week's meals "))
    assert seen_by_model == [[("Plan the week's meals", "user_message")]]
    # The history of the new thread, its one message, as the store would have read it.
    assert [m["content"] for m in gemini.requests[0].messages if m["role"] == "user"] == [
        [{"type": "text", "text": "  Plan   the week's meals "}]
    ]
    kinds = [e.type for e in events]
    updates = of_type(events, "thread.updated")
    assert updates and {u.thread.title for u in updates} == {"Plan the week's meals"}
    # After the user's message, before the reply.
    assert kinds.index("thread.created") < kinds.index("thread.item.done")
    assert kinds.index("thread.item.done") < kinds.index("thread.updated")
    assert kinds.index("thread.updated") < kinds.index("thread.item.added")
    assert reply_text(events) == "Sure."
    async with chat.app.state.sessionmaker() as s:
        assert (await s.get(ChatThread, thread_id(events))).title == "Plan the week's meals"

    # A later message in the titled thread leaves the title alone and streams no update.
    gemini.route = None
    gemini.push(Text(["Again."]))
    async with chat.client() as c:
        more = await stream(c, add_message(thread_id(events), "and the shopping list"))
    assert of_type(more, "thread.updated") == []
    async with chat.app.state.sessionmaker() as s:
        assert (await s.get(ChatThread, thread_id(events))).title == "Plan the week's meals"


async def test_the_agent_kept_between_turns_follows_settings(chat, gemini):
    """The agent is built once, but each turn's instructions are written then, and a
    model chosen in Settings is used from the next turn on."""
    gemini.push(Text(["One."]), Text(["Two."]))
    async with chat.client() as c:
        await stream(c, create_thread("hi"))
        r = await c.put("/api/settings", json={"timezone": "Asia/Tokyo", "model": "gemini-x"})
        assert r.status_code == 200
        await stream(c, create_thread("hi again"))
    first, second = gemini.requests[-2:]
    assert "Today is" in first.messages[0]["content"]
    assert "Asia/Tokyo" not in first.messages[0]["content"]
    assert "(Asia/Tokyo, UTC+0900)" in second.messages[0]["content"]
    assert first.body["model"] != "gemini-x" and second.body["model"] == "gemini-x"


async def test_chat_turns_leave_the_reminder_scheduler_asleep(chat, gemini):
    """The chat store's and the daily count's commits cannot change a reminder, so they
    do not wake the scheduler (two queries on the event loop per wake-up, in the middle
    of the turn); a task change still does."""
    scheduler = chat.app.state.reminders
    assert scheduler is not None
    gemini.push(Text(["Hi."]), Text(["Hi again."]))
    async with chat.client() as c:
        await asyncio.sleep(0.3)  # start-up's own wake-ups are over
        before = scheduler.wakeups
        events = await stream(c, create_thread("hello"))
        await stream(c, add_message(thread_id(events), "hello again"))
        await asyncio.sleep(0.3)
        assert scheduler.wakeups == before
        r = await c.post("/api/tasks", json={"title": "Call the dentist"})
        assert r.status_code == 201
        for _ in range(50):
            if scheduler.wakeups > before:
                break
            await asyncio.sleep(0.1)
    assert scheduler.wakeups > before


def test_agents_tracing_is_off(data_dir) -> None:
    """No trace is recorded: tracing is switched off through the SDK's public API."""
    script = (
        "from agents.tracing import trace\n"
        "from agents.tracing.traces import NoOpTrace\n"
        "from app.chat.server import TaskChatServer\n"
        "from app.config import get_settings\n"
        "from app.db.engine import create_engine, create_sessionmaker\n"
        "sessions = create_sessionmaker(create_engine(get_settings()))\n"
        "TaskChatServer(sessionmaker=sessions, settings=get_settings)\n"
        "print(isinstance(trace('turn'), NoOpTrace))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.split() == ["True"]


@contextmanager
def write_lock_held(path) -> Iterator[sqlite3.Connection]:
    """Another connection holds SQLite's write lock: the app's writes wait for its end."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        yield db
        db.execute("ROLLBACK")
    finally:
        db.close()


async def requested(gemini, count: int) -> None:
    """Wait until the fake has been asked `count` times (bounded, never a timing check)."""
    async with asyncio.timeout(10):
        while len(gemini.requests) < count:  # noqa: ASYNC110 (recorded by the fake's thread)
            await asyncio.sleep(0.01)


def text_of(message: dict) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "".join(p["text"] for p in content)


def user_rows(path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT t.title, i.data FROM chat_thread t JOIN chat_item i ON i.thread_id = t.id "
            "WHERE i.type = 'user_message' ORDER BY i.seq"
        ).fetchall()


async def test_a_follow_up_is_stored_before_gemini_is_asked(chat, gemini):
    """ChatKit's own order: the message is committed, then the model is asked with a history
    that holds it once."""
    path = chat.app.state.settings.sqlite_path
    gemini.push(Text(["First answer."]), Text(["Second answer."]))
    async with chat.client() as c:
        first = await stream(c, create_thread("first question"))
        with write_lock_held(path) as db:
            turn = asyncio.create_task(stream(c, add_message(thread_id(first), "second one")))
            await asyncio.sleep(0.5)
            # The write waits for the lock; nothing was sent to Gemini meanwhile.
            assert len(gemini.requests) == 1 and not turn.done()
            assert db.execute("SELECT count(*) FROM chat_item").fetchone() == (2,)
        events = await turn
    kinds = [e.type for e in events]
    assert kinds[0] == "thread.item.done" and events[0].item.type == "user_message"
    history = [(m["role"], text_of(m)) for m in gemini.requests[1].messages[1:]]
    assert history == [
        ("user", "first question"),
        ("assistant", "First answer."),
        ("user", "second one"),
    ]
    assert reply_text(events) == "Second answer."
    assert len(user_rows(path)) == 2


async def test_a_model_failure_is_reported_after_the_message_is_saved(chat, gemini):
    path = chat.app.state.settings.sqlite_path
    gemini.push(
        Text(["First."]),
        Fail(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT"),
    )
    async with chat.client() as c:
        first = await stream(c, create_thread("Family"))
        events = await stream(c, add_message(thread_id(first), "Call mum"))
    kinds = [e.type for e in events]
    assert kinds.index("thread.item.done") < kinds.index("error")
    assert of_type(events, "error")[0].message.startswith("Gemini rejected your API key")
    assert len(user_rows(path)) == 2


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("add a task to renew my passport. Also call mom", "add a task to renew my passport"),
        ("what is due today?  and tomorrow?", "what is due today?"),
        ("first line\nsecond line", "first line"),
        (
            "Please add these tasks for my kitchen renovation project that starts soon",
            "Please add these tasks for my kitchen…",
        ),
        ("   ", None),
    ],
)
def test_title_is_the_first_sentence_cut_at_a_word(text: str, title: str | None) -> None:
    message = UserMessageItem(
        id="m",
        thread_id="t",
        created_at=datetime.now(),
        content=[UserMessageTextContent(text=text)],
        inference_options=InferenceOptions(),
    )
    got = title_from(message.content)
    assert got == title
    assert got is None or len(got) <= TITLE_MAX
