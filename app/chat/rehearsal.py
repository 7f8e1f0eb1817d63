"""A chat turn rehearsed against a canned Gemini answer, so the person's first turn is fast.

The first chat turn of a process costs several hundred milliseconds more than the rest:
openai, openai-agents and ChatKit build their pydantic models' validators and
serializers the first time each is used (request params, stream chunks, run items, tool
calls, thread events). None of that can be built ahead by importing. Rehearsing walks
the same code a real turn does — the Gemini model class with its stream fix-up, the
agent with the real task tools, ChatKit's stream conversion and event serialization —
over an in-memory transport that answers with one `list_tasks` call and then a short
text, in Gemini's wire format. Nothing is stored, nothing leaves the process, no key is
read; the one tool call is a read-only query for a user id no real user has.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx2
from agents import FunctionTool, OpenAIChatCompletionsModel, RunConfig, Runner
from chatkit.agents import AgentContext, stream_agent_response
from chatkit.types import Page, ThreadItem, ThreadMetadata, ThreadStreamEvent
from openai import AsyncOpenAI
from pydantic import BaseModel

from app.chat.agent import MAX_TURNS, build_agent
from app.chat.store import ChatContext, SqlStore
from app.chat.wire import GeminiTransport, SignatureBook
from app.config import Settings

log = logging.getLogger(__name__)

# Not a uuid, so no real user (whose ids are uuids) can own anything it reads.
USER_ID = "rehearsal"
THREAD_ID = "thr_rehearsal"
ANSWER = "Ready."
# A reserved name (RFC 2606): should the transport ever be bypassed, nothing resolves it.
BASE_URL = "http://rehearsal.invalid/v1/"


def _chunk(delta: dict[str, object], finish: str) -> bytes:
    body = {
        "choices": [{"delta": delta, "finish_reason": finish, "index": 0}],
        "created": int(time.time()),
        "id": "rehearsal",
        "model": "models/rehearsal",
        "object": "chat.completion.chunk",
        "usage": {"completion_tokens": 1, "prompt_tokens": 1, "total_tokens": 2},
    }
    return b"data: " + json.dumps(body).encode() + b"\n\ndata: [DONE]\n\n"


# Gemini's shapes: a tool call without `index`, then text with finish_reason "stop".
_TOOL_CALL = _chunk(
    {
        "role": "assistant",
        "tool_calls": [
            {
                "function": {"arguments": "{}", "name": "list_tasks"},
                "id": "function-call-rehearsal",
                "type": "function",
            }
        ],
    },
    "tool_calls",
)
_TEXT = _chunk({"role": "assistant", "content": ANSWER}, "stop")


def _answer(request: httpx2.Request) -> httpx2.Response:
    """The canned Gemini: a tool call first, text once the tool's result is in the history."""
    messages = json.loads(request.content or b"{}").get("messages", [])
    answered = any(message.get("role") == "tool" for message in messages)
    return httpx2.Response(
        200,
        headers={"content-type": "text/event-stream"},
        content=_TEXT if answered else _TOOL_CALL,
    )


class _EmptyThreadStore(SqlStore):
    """The store, for a thread that exists only in the rehearsal: it has no items."""

    async def load_thread_items(
        self, thread_id: str, after: str | None, limit: int, order: str, context: ChatContext
    ) -> Page[ThreadItem]:
        return Page(data=[], has_more=False)


async def rehearse(
    *,
    settings: Settings,
    store: SqlStore,
    tools: list[FunctionTool],
    serialize: Callable[[BaseModel], bytes],
) -> list[str]:
    """Run one rehearsal turn; returns the types of the events it produced (and serialized)."""
    client = AsyncOpenAI(
        base_url=BASE_URL,
        api_key="rehearsal",
        max_retries=0,
        # The turn's own wire fixes (app/chat/wire.py) over a transport that answers here.
        http_client=httpx2.AsyncClient(
            transport=GeminiTransport(httpx2.MockTransport(_answer), SignatureBook())
        ),
    )
    try:
        model = OpenAIChatCompletionsModel(model=settings.gemini_model, openai_client=client)
        thread = ThreadMetadata(id=THREAD_ID, created_at=datetime.now())
        context: AgentContext[Any] = AgentContext(
            thread=thread,
            store=_EmptyThreadStore(store.sessionmaker),
            request_context=ChatContext(user_id=USER_ID),
        )
        result = Runner.run_streamed(
            build_agent(settings, model=model, tools=tools),
            [{"role": "user", "content": "What is on my list?"}],
            context=context,
            max_turns=MAX_TURNS,
            run_config=RunConfig(tracing_disabled=True),
        )
        seen: list[str] = []
        event: ThreadStreamEvent
        async for event in stream_agent_response(context, result):
            serialize(event)
            seen.append(event.type)
        return seen
    finally:
        await client.close()
