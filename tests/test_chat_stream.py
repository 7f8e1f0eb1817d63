"""Chat over real HTTP against the fake Gemini: streaming replies, titles, tools and history."""

from __future__ import annotations

from sqlmodel import select

from app.chat.models import ChatItem, ChatThread
from tests.fakes.chatkit import (
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
