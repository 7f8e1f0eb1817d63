"""ChatKit protocol helpers for tests: request builders, SSE parsing and the chat fixtures."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from chatkit.types import ThreadStreamEvent
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.chat.models import ChatItem
from app.config import get_settings
from app.db.engine import create_engine, create_sessionmaker
from tests.fakes.gemini import FakeGemini

EVENTS: TypeAdapter[ThreadStreamEvent] = TypeAdapter(ThreadStreamEvent)
TEST_KEY = "AIzaTEST-key-never-shown-0123456789"


@pytest.fixture(name="app_env")
def app_env_fixture() -> dict[str, str]:
    """Extra env vars for the app; override with @pytest.mark.parametrize("app_env", [...])."""
    return {}


@pytest.fixture(name="gemini")
def gemini_fixture(
    monkeypatch: pytest.MonkeyPatch, app_env: dict[str, str]
) -> Iterator[FakeGemini]:
    """A running fake Gemini; the app (created after this) is pointed at it by env vars."""
    fake = FakeGemini().start()
    env = {
        "GEMINI_BASE_URL": fake.base_url,
        "GEMINI_API_KEY": TEST_KEY,
        "TASKCHAT_MAX_RETRIES": "0",
        **app_env,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield fake
    fake.stop()


@pytest.fixture(name="chat")
def chat_fixture(gemini: FakeGemini, request: pytest.FixtureRequest) -> Any:
    """The live server, started only after the fake Gemini's env vars are set, once its
    chat machinery is imported (as at the UI's first keystroke: on a loaded 2-core machine
    that took longer than a client's 5 s timeout)."""
    server = request.getfixturevalue("live_server")
    pending = getattr(server.app.state, "chat_endpoint", None)
    if pending is not None:
        server.app.state.start_chat_warm_up()
        pending.result(timeout=120)
    return server


@pytest.fixture(name="db")
async def db_fixture(live_server: Any) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the live server's database, from the test's own event loop."""
    engine = create_engine(get_settings())
    yield create_sessionmaker(engine)
    await engine.dispose()


async def items_of(db: async_sessionmaker[AsyncSession], thread: str) -> list[ChatItem]:
    async with db() as s:
        rows = (await s.exec(select(ChatItem).where(ChatItem.thread_id == thread))).all()
    return sorted(rows, key=lambda r: (r.created_at, r.seq))


def user_input(text: str) -> dict[str, Any]:
    return {
        "content": [{"type": "input_text", "text": text}],
        "attachments": [],
        "inference_options": {},
    }


def create_thread(text: str) -> dict[str, Any]:
    return {"type": "threads.create", "params": {"input": user_input(text)}}


def add_message(thread_id: str, text: str) -> dict[str, Any]:
    return {
        "type": "threads.add_user_message",
        "params": {"thread_id": thread_id, "input": user_input(text)},
    }


async def stream(client: httpx.AsyncClient, payload: dict[str, Any]) -> list[Any]:
    """POST a streaming request; every `data:` line parsed by the SDK's own event adapter."""
    events: list[Any] = []
    async with client.stream("POST", "/api/chatkit", content=json.dumps(payload)) as r:
        assert r.status_code == 200, await r.aread()
        assert r.headers["content-type"].startswith("text/event-stream")
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                events.append(EVENTS.validate_json(line[6:]))
    return events


async def call(client: httpx.AsyncClient, payload: dict[str, Any]) -> httpx.Response:
    return await client.post("/api/chatkit", content=json.dumps(payload))


def of_type(events: list[Any], kind: str) -> list[Any]:
    return [e for e in events if e.type == kind]


def thread_id(events: list[Any]) -> str:
    return of_type(events, "thread.created")[0].thread.id


def reply_text(events: list[Any]) -> str:
    done = [
        e.item for e in of_type(events, "thread.item.done") if e.item.type == "assistant_message"
    ]
    return "\n".join("".join(p.text for p in item.content) for item in done)


def confirmation_card(events: list[Any]) -> tuple[str, dict[str, Any]]:
    """(item id, widget JSON) of the one deletion card a turn left in the chat."""
    removed = {e.item_id for e in of_type(events, "thread.item.removed")}
    done = of_type(events, "thread.item.done")
    [item] = [e.item for e in done if e.item.type == "widget" and e.item.id not in removed]
    return item.id, item.widget.model_dump(mode="json", exclude_none=True)


def answer_card(thread: str, item_id: str, widget: dict[str, Any], which: str) -> dict[str, Any]:
    """The threads.custom_action a card's "confirm" or "cancel" button sends."""
    action = widget[which]["action"]
    return {
        "type": "threads.custom_action",
        "params": {
            "thread_id": thread,
            "item_id": item_id,
            "action": {"type": action["type"], "payload": action["payload"]},
        },
    }
