"""The chat's listings (threads.list, items.list) answered from the store, without ChatKit's
server: what the UI asks as it paints, so the chat machinery loads only when it is used.

`chatkit.server` imports the Agents SDK, openai and mcp at module level: ~60 MiB that the
window held from its first seconds because the conversation list (and the thread open
last time) is asked as the UI paints. These two read-only requests are answered here as
ChatKitServer answers them (the same store calls, the same `Page`/`Thread` models and the
same serialization: tests/test_chat_listing.py compares the bytes with the SDK's); every
other request goes to the SDK (app/chat/endpoint.py), loaded at the first keystroke.
"""

from __future__ import annotations

import logging

from chatkit.store import NotFoundError
from chatkit.types import (
    ChatKitReq,
    HiddenContextItem,
    ItemsListReq,
    Page,
    SDKHiddenContextItem,
    Thread,
    ThreadsListReq,
)
from fastapi import FastAPI
from pydantic import BaseModel

from app.chat.store import ChatContext, SqlStore
from app.errors import NotFound

log = logging.getLogger(__name__)

# ChatKitServer's page size when a request names none (chatkit.server.DEFAULT_PAGE_SIZE,
# which cannot be imported without the machinery this module avoids).
DEFAULT_PAGE_SIZE = 20


def serves(request: ChatKitReq) -> bool:
    return isinstance(request, ThreadsListReq | ItemsListReq)


def store_of(app: FastAPI) -> SqlStore:
    """The app's store for the listings, created on first use (after the lifespan opened
    the database); the ChatKit server keeps its own (app/chat/server.py)."""
    found = getattr(app.state, "chat_store", None)
    if found is None:
        found = app.state.chat_store = SqlStore(app.state.sessionmaker)
    return found


def _serialize(obj: BaseModel) -> bytes:
    # As ChatKitServer serializes its non-streaming answers.
    return obj.model_dump_json(
        by_alias=True, exclude_none=True, context={"exclude_metadata": True}
    ).encode("utf-8")


async def answer(store: SqlStore, request: ChatKitReq, user_id: str) -> bytes:
    """The JSON answer to a threads.list or items.list request (see `serves`) of `user_id`."""
    # As ChatKitServer logs every request it gets (benchmarks/bench_startup.py reads it).
    log.info("Received request op: %s (answered from the store)", request.type)
    context = ChatContext(user_id=user_id)
    try:
        if isinstance(request, ThreadsListReq):
            params = request.params
            threads = await store.load_threads(
                limit=params.limit or DEFAULT_PAGE_SIZE,
                after=params.after,
                order=params.order,
                context=context,
            )
            # A listed thread carries no items (ChatKit's thread response of metadata).
            data = [
                Thread(
                    id=thread.id,
                    title=thread.title,
                    created_at=thread.created_at,
                    items=Page(),
                    status=thread.status,
                    allowed_image_domains=thread.allowed_image_domains,
                )
                for thread in threads.data
            ]
            return _serialize(Page(has_more=threads.has_more, after=threads.after, data=data))
        if isinstance(request, ItemsListReq):
            items = await store.load_thread_items(
                request.params.thread_id,
                limit=request.params.limit or DEFAULT_PAGE_SIZE,
                order=request.params.order,
                after=request.params.after,
                context=context,
            )
            items.data = [
                item
                for item in items.data
                if not isinstance(item, HiddenContextItem | SDKHiddenContextItem)
            ]
            return _serialize(items)
    except NotFoundError:
        raise NotFound("No such thread or item.") from None
    raise ValueError(f"not a listing: {request.type}")
