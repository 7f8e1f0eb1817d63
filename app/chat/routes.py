"""POST /api/chatkit and /api/chat/prepare; ChatKit and agents load when the chat is used."""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import logging
import threading
from dataclasses import dataclass
from types import ModuleType
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from app import collector
from app.api.deps import CurrentUser
from app.security.limits import UsageLimiter

log = logging.getLogger(__name__)
router = APIRouter(tags=["chat"])

# Importing chatkit + agents takes ~1 s of CPU and ~50 MiB: it runs in a thread of its
# own, begun by `warm_up`'s starter when the chat is first used.
ENDPOINT = "app.chat.endpoint"
# Light: ChatKit's request types and the store, loaded by the first chat request. They
# parse every request and answer the listings the UI asks as it paints.
REQUESTS = "app.chat.requests"
LISTING = "app.chat.listing"


def warm_up(app: FastAPI) -> None:
    """Set up the chat machinery's import in a background thread (call from the lifespan),
    begun by the first chat request that needs it: the rehearsal the UI asks for at the
    first keystroke (POST /api/chat/prepare), a message, or any ChatKit request but the
    listings (app/chat/listing.py). A window that is only looked at never loads it.

    A daemon thread of its own, not the loop's default executor: asyncio.run() waits for
    that executor's threads at shutdown, so closing the window right after the first
    keystroke would wait for an import nobody needs any more.
    """
    pending: concurrent.futures.Future[ModuleType] = concurrent.futures.Future()
    started = threading.Lock()

    def load() -> None:
        try:
            module = importlib.import_module(ENDPOINT)
        except BaseException as exc:  # handed to the first chat request
            pending.set_exception(exc)
            return
        frozen = collector.freeze_import()  # it lives as long as the process
        if frozen is not None:
            log.info("chat machinery imported: %d objects frozen", frozen)
        pending.set_result(module)

    def start() -> None:
        if started.acquire(blocking=False):  # once
            threading.Thread(target=load, name="taskchat-chat-warm-up", daemon=True).start()

    app.state.chat_endpoint = pending
    app.state.start_chat_warm_up = start


async def _endpoint(app: FastAPI) -> ModuleType:
    pending = getattr(app.state, "chat_endpoint", None)
    start = getattr(app.state, "start_chat_warm_up", None)
    if start is not None:
        start()
    if pending is not None and pending.done() and pending.exception() is None:
        # Imported: no asyncio future to wrap it in, whose result arrives by a wake-up of
        # the event loop (call_soon_threadsafe) on every chat request.
        return pending.result()
    if pending is not None:
        # Wait without blocking the event loop while the warm-up import finishes.
        return await asyncio.shield(asyncio.wrap_future(pending))
    return importlib.import_module(ENDPOINT)


def _light(name: str) -> ModuleType:
    """app.chat.requests or app.chat.listing: imported by the first chat request, on the
    event loop (ChatKit's types and the store: ~0.15 s of CPU once, which that request
    waits for in any case); afterwards a dictionary lookup."""
    return importlib.import_module(name)


@dataclass(frozen=True)
class ChatRequest:
    """A /api/chatkit body and its one parse (a chatkit.types.ChatKitReq)."""

    body: bytes
    parsed: Any


async def chat_request(request: Request, _: CurrentUser) -> ChatRequest:
    """Read and parse the body once; a bad one is a 4xx from app/api/errors.py."""
    body = await request.body()
    return ChatRequest(body, _light(REQUESTS).parse(body))


async def within_limits(
    request: Request, user_id: CurrentUser, chat: Annotated[ChatRequest, Depends(chat_request)]
) -> ChatRequest:
    """The per-minute limit and the daily cap (app/security/limits.py), checked on the
    parsed request's type: 429 rate_limited with Retry-After when one is reached."""
    limiter: UsageLimiter = request.app.state.usage_limiter
    await limiter.check(
        sessionmaker=request.app.state.sessionmaker,
        user_id=user_id,
        request_type=chat.parsed.type,
    )
    return chat


@router.post("/api/chatkit")
async def chatkit(
    request: Request, user_id: CurrentUser, chat: Annotated[ChatRequest, Depends(within_limits)]
) -> Response:
    listing = _light(LISTING)
    if listing.serves(chat.parsed):
        # Answered from the store: looking at the chat does not load the machinery.
        answer = await listing.answer(listing.store_of(request.app), chat.parsed, user_id)
        return Response(answer, media_type="application/json")
    endpoint = await _endpoint(request.app)
    return await endpoint.handle(
        endpoint.chat_server(request.app),
        chat.body,
        chat.parsed,
        endpoint.context_for(user_id, chat.parsed),
    )


@router.post("/api/chat/prepare", status_code=202)
async def prepare(request: Request, _: CurrentUser) -> JSONResponse:
    """Get the next chat turn ready in the background, while the person types.

    The web UI calls this as they type (at most every 30 s). The first call rehearses a
    turn (app/chat/rehearsal.py), so the one-time cost of a first turn is paid before they
    send, then readies the key, the Gemini client and its connection; later calls reopen
    that connection if it sat unused (app/chat/gemini.py). The answer is the rehearsal's.
    """
    endpoint = await _endpoint(request.app)
    task = endpoint.chat_server(request.app).rehearse_soon()
    if not task.done():
        return JSONResponse({"status": "running"}, status_code=202)
    # The rehearsed events' types ([] if it failed or a real turn came first): a check
    # that the rehearsal walked the whole turn, model call, tool and answer.
    return JSONResponse({"status": "done", "events": task.result()}, status_code=202)


class MessageEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The length limit is the chat's own (requests.MESSAGE_MAX_CHARS, said plainly there).
    text: str = Field(max_length=100_000)


@router.put("/api/chat/threads/{thread_id}/items/{item_id}", status_code=204)
async def edit_message(
    request: Request, user_id: CurrentUser, thread_id: str, item_id: str, data: MessageEdit
) -> Response:
    """Edit the thread's last user message; then ask again with threads.retry_after_item."""
    endpoint = await _endpoint(request.app)
    await endpoint.edit_last_message(
        endpoint.chat_server(request.app),
        thread_id=thread_id,
        item_id=item_id,
        text=data.text,
        context=endpoint.ChatContext(user_id=user_id),
    )
    return Response(status_code=204)
