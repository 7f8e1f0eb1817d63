"""Chat over real HTTP against the fake Gemini: streaming replies, titles, tools and history."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from sqlmodel import select

from app.chat.models import ChatItem, ChatThread
from app.chat.store import SqlStore
from tests.fakes.chatkit import (
    add_message,
    create_thread,
    of_type,
    reply_text,
    stream,
    thread_id,
)
from tests.fakes.gemini import Text


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


async def test_title_is_committed_with_the_first_message_before_gemini_is_asked(
    chat, gemini, monkeypatch
):
    """One write transaction names the thread and stores the message; none mid-stream."""
    saves: list[str | None] = []
    save_thread = SqlStore.save_thread

    async def counted(self, thread, context):
        saves.append(thread.title)
        await save_thread(self, thread, context)

    monkeypatch.setattr(SqlStore, "save_thread", counted)
    seen_by_model: list[tuple] = []

    def route(recorded):
        # What another connection sees once the model is asked: both already committed.
        with sqlite3.connect(chat.app.state.settings.sqlite_path) as db:
            seen_by_model.append(
                db.execute(
                    "SELECT t.title, i.type FROM chat_thread t JOIN chat_item i "
                    "ON i.thread_id = t.id"
                ).fetchall()
            )
        return Text(["Sure."])

    gemini.route = route
    async with chat.client() as c:
        events = await stream(c, create_thread("  Plan   the week's meals "))
    assert seen_by_model == [[("Plan the week's meals", "user_message")]]
    assert saves == [None]  # only threads.create's own save; the title needed none
    kinds = [e.type for e in events]
    [updated] = of_type(events, "thread.updated")
    assert updated.thread.title == "Plan the week's meals"
    # Streamed as before: after the user's message, before the reply.
    assert kinds.index("thread.item.done") < kinds.index("thread.updated")
    assert kinds.index("thread.updated") < kinds.index("thread.item.added")
    assert reply_text(events) == "Sure."

    # A later message in the titled thread leaves the title alone and streams no update.
    gemini.route = None
    gemini.push(Text(["Again."]))
    async with chat.client() as c:
        more = await stream(c, add_message(thread_id(events), "and the shopping list"))
    assert of_type(more, "thread.updated") == [] and saves == [None]
    async with chat.app.state.sessionmaker() as s:
        assert (await s.get(ChatThread, thread_id(events))).title == "Plan the week's meals"


def test_agents_tracing_is_off_and_builds_nothing_for_openai(data_dir) -> None:
    """No trace is recorded, and no HTTP client for OpenAI's trace endpoint is even built
    (the SDK's default provider would make one just to be switched off)."""
    script = (
        "import sys\n"
        "from agents.tracing import trace\n"
        "from agents.tracing.traces import NoOpTrace\n"
        "from app.chat.server import TaskChatServer\n"
        "from app.config import get_settings\n"
        "from app.db.engine import create_engine, create_sessionmaker\n"
        "sessions = create_sessionmaker(create_engine(get_settings()))\n"
        "TaskChatServer(sessionmaker=sessions, settings=get_settings)\n"
        "print(isinstance(trace('turn'), NoOpTrace), 'httpcore2' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.split() == ["True", "False"]
