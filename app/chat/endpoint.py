"""The /api/chatkit machinery: ChatKit requests in, JSON or an SSE event stream out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from chatkit.server import NonStreamingResult
from chatkit.store import NotFoundError
from chatkit.types import (
    ChatKitReq,
    ThreadsCreateReq,
    ThreadsRetryAfterItemReq,
    UserMessageItem,
    UserMessageTextContent,
)
from fastapi import FastAPI
from fastapi.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from app.chat.requests import MESSAGE_MAX_CHARS, BadChatRequest, MessageTooLong
from app.chat.server import TaskChatServer
from app.chat.store import ChatContext, NewThread, title_from
from app.errors import Conflict, InvalidInput, NotFound

log = logging.getLogger(__name__)

TEXT_DELTA = b'"assistant_message.content_part.text_delta"'
STREAM_FAILED = b'data: {"type":"error","code":"stream.error","allow_retry":true}\n\n'


def chat_server(app: FastAPI) -> TaskChatServer:
    """The app's ChatKit server, created on first use (after the lifespan opened the DB)."""
    server = getattr(app.state, "chat_server", None)
    if server is None:
        server = TaskChatServer(
            sessionmaker=app.state.sessionmaker, settings=lambda: app.state.settings
        )
        app.state.chat_server = server
    return server


class EventStream(StreamingResponse):
    """SSE response whose producer runs in its own task, decoupled from the socket.

    The ChatKit stream is pumped into a queue by a separate task; a client disconnect
    cancels that task, so the cancellation lands inside the ChatKit server (which then keeps
    the partial reply) rather than at a socket write outside it.
    """

    def __init__(
        self,
        first: bytes | None,
        rest: AsyncIterator[bytes],
        track: Callable[[asyncio.Task[None]], None] | None = None,
    ) -> None:
        """`track` is handed the producer task (TaskChatServer.track_stream, so that a
        shutdown can wait for the partial reply to be stored)."""
        super().__init__(
            rest,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._first = first
        self._rest = rest
        self._track = track

    async def _pump(self, queue: asyncio.Queue[bytes | None]) -> None:
        try:
            async for chunk in self._rest:
                queue.put_nowait(chunk)
                if TEXT_DELTA in chunk:
                    # Let the writer send the text now: the producer goes on without a
                    # pause while the model's next chunks are already there (the rest of
                    # the reply, its done event, the store write), and the person would
                    # see the first words only after all that.
                    await asyncio.sleep(0)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("chat stream failed")
            queue.put_nowait(STREAM_FAILED)
        finally:
            queue.put_nowait(None)

    @staticmethod
    async def _disconnected(receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        if self._first is not None:
            queue.put_nowait(self._first)
        producer = asyncio.create_task(self._pump(queue))
        if self._track is not None:
            self._track(producer)
        watcher = asyncio.create_task(self._disconnected(receive))
        watcher.add_done_callback(lambda _: producer.cancel())
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            ended = False
            while not ended and (chunk := await queue.get()) is not None:
                # Whatever the producer queued meanwhile goes out in the same write: the
                # first chunk of a reply is three or four events, and a write apiece cost
                # a syscall and a trip through every middleware before the first delta.
                chunks = [chunk]
                while not queue.empty():
                    more = queue.get_nowait()
                    if more is None:
                        ended = True
                        break
                    chunks.append(more)
                body = b"".join(chunks)
                await send({"type": "http.response.body", "body": body, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client went away mid-write
        finally:
            watcher.cancel()
            producer.cancel()
            # Let the producer finish its cleanup (saving the partial reply) first.
            await asyncio.wait({producer})


def context_for(user_id: str, request: ChatKitReq) -> ChatContext:
    """The ChatContext of one request; a threads.create names its thread up front."""
    if isinstance(request, ThreadsCreateReq):
        title = title_from(request.params.input.content)
        return ChatContext(user_id=user_id, new_thread=NewThread(title))
    return ChatContext(user_id=user_id)


async def handle(
    server: TaskChatServer, body: bytes, request: ChatKitReq, context: ChatContext
) -> Response:
    """Dispatch a parsed request to ChatKit; map the SDK's exceptions to HTTP errors."""
    try:
        if isinstance(request, ThreadsRetryAfterItemReq):
            # The SDK silently streams nothing for an unknown item; say so instead.
            params = request.params
            await server.store.load_item(params.thread_id, params.item_id, context)
        result = await server.process(body, context)
        if isinstance(result, NonStreamingResult):
            return Response(result.json, media_type="application/json")
        events = aiter(result.json_events)
        # Run up to the first event here, so a missing thread is a 404, not a broken stream.
        try:
            first: bytes | None = await anext(events)
        except StopAsyncIteration:
            first = None
        return EventStream(first, events, track=server.track_stream)
    except NotFoundError:
        raise NotFound("No such thread or item.") from None
    except (ValueError, NotImplementedError) as exc:
        raise BadChatRequest(str(exc) or "This request cannot be handled.") from None


async def edit_last_message(
    server: TaskChatServer, *, thread_id: str, item_id: str, text: str, context: ChatContext
) -> None:
    """Replace the text of a thread's last user message (edit and resend: the client then
    asks again with threads.retry_after_item, which drops the answer to the old text)."""
    text = text.strip()
    if not text:
        raise InvalidInput("The message is empty.", field="text")
    if len(text) > MESSAGE_MAX_CHARS:
        raise MessageTooLong(
            f"Your message is {len(text):,} characters long; the limit is "
            f"{MESSAGE_MAX_CHARS:,}. Shorten it or split it into parts."
        )
    try:
        item = await server.store.load_item(thread_id, item_id, context)
        newest = await server.store.load_thread_items(thread_id, None, 50, "desc", context)
    except NotFoundError:
        raise NotFound("No such thread or item.") from None
    last = next((i for i in newest.data if isinstance(i, UserMessageItem)), None)
    if not isinstance(item, UserMessageItem) or last is None or last.id != item.id:
        raise Conflict("Only the last message you sent can be edited.")
    item.content = [UserMessageTextContent(text=text)]
    await server.store.save_item(thread_id, item, context)
