"""TaskChatServer: the ChatKit server that answers each user message with a Gemini agent run."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any, cast

from agents import RunConfig, Runner, RunResultStreaming, set_trace_provider
from agents.models.fake_id import FAKE_RESPONSES_ID
from agents.tracing.provider import DefaultTraceProvider
from chatkit.agents import AgentContext, stream_agent_response
from chatkit.server import ChatKitServer, NonStreamingResult, StreamingResult
from chatkit.types import (
    Action,
    AssistantMessageContent,
    AssistantMessageContentPartDone,
    AssistantMessageContentPartTextDelta,
    AssistantMessageItem,
    ChatKitReq,
    ErrorEvent,
    Page,
    ProgressUpdateEvent,
    SDKHiddenContextItem,
    Thread,
    ThreadCreatedEvent,
    ThreadItem,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemUpdatedEvent,
    ThreadMetadata,
    ThreadsCreateReq,
    ThreadStreamEvent,
    ThreadUpdatedEvent,
    UserMessageItem,
    UserMessageTextContent,
    WidgetItem,
    is_streaming_req,
)
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.chat import confirm
from app.chat.agent import MAX_TURNS, build_agent
from app.chat.gemini import (
    Failure,
    GeminiClients,
    MissingApiKey,
    describe_for_log,
    explain,
    forget_key_if_rejected,
)
from app.chat.history import HistoryConverter
from app.chat.rehearsal import rehearse
from app.chat.store import ChatContext, SqlStore
from app.chat.tools import task_tools
from app.config import Settings

log = logging.getLogger(__name__)

CHATKIT_REQUEST: TypeAdapter[ChatKitReq] = TypeAdapter(ChatKitReq)
TITLE_MAX = 60
# How many of the latest items a turn sends as history.
HISTORY_ITEMS = 100
# How long a stop waits for cut-off replies to be stored: with uvicorn's graceful wait
# after it (0.5 s for the window's server), well inside the 3 s in which closing the
# window must have stopped the server.
CLOSE_TIMEOUT = 2.0
EMPTY_ANSWER = Failure("empty_answer", "Gemini sent an empty answer. Try again.", allow_retry=True)
PARTIAL_NOTE = (
    "The assistant reply above was cut off by an error before it was complete; "
    "it may be unfinished."
)


def title_from(message: UserMessageItem) -> str | None:
    """A short thread title: the first words of the first message."""
    text = " ".join(
        part.text for part in message.content if isinstance(part, UserMessageTextContent)
    )
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        return None
    if len(text) <= TITLE_MAX:
        return text
    cut = text[: TITLE_MAX - 1].rsplit(" ", 1)[0] or text[: TITLE_MAX - 1]
    return cut.rstrip(" ,.;:") + "…"


class MessageIds:
    """Gives each assistant message its own store id in place of agents' `__fake_id__`.

    Chat Completions models stream every message as "__fake_id__"; left alone, each reply
    overwrites the previous one in the client and the store. The id is swapped on the
    added event and reused for that message's updates and done event. It also keeps the
    open message's text, so a turn that fails halfway can still save what was said.
    """

    def __init__(self, new_id: Callable[[], str]) -> None:
        self._new_id = new_id
        self._current: str | None = None
        self.open: AssistantMessageItem | None = None

    def _id(self, raw: str) -> str:
        if raw != FAKE_RESPONSES_ID:
            return raw
        if self._current is None:
            self._current = self._new_id()
        return self._current

    def rewrite(self, event: ThreadStreamEvent) -> ThreadStreamEvent:
        if isinstance(event, ThreadItemAddedEvent) and isinstance(event.item, AssistantMessageItem):
            if event.item.id == FAKE_RESPONSES_ID:
                self._current = None  # a new message starts
            event.item.id = self._id(event.item.id)
            self.open = event.item.model_copy(deep=True)
        elif isinstance(event, ThreadItemUpdatedEvent):
            event.item_id = self._id(event.item_id)
            self._track(event)
        elif isinstance(event, ThreadItemDoneEvent) and isinstance(
            event.item, AssistantMessageItem
        ):
            event.item.id = self._id(event.item.id)
            self._current = None
            self.open = None
        return event

    def _track(self, event: ThreadItemUpdatedEvent) -> None:
        if self.open is None or event.item_id != self.open.id:
            return
        update = event.update
        if isinstance(
            update, AssistantMessageContentPartTextDelta | AssistantMessageContentPartDone
        ):
            while len(self.open.content) <= update.content_index:
                self.open.content.append(AssistantMessageContent(text=""))
            if isinstance(update, AssistantMessageContentPartTextDelta):
                self.open.content[update.content_index].text += update.delta
            else:
                self.open.content[update.content_index] = update.content

    def unfinished(self) -> AssistantMessageItem | None:
        """The message that was streaming when the turn stopped, if it said anything."""
        item, self.open, self._current = self.open, None, None
        if item is None or not any(part.text.strip() for part in item.content):
            return None
        return item


def error_event(failure: Failure) -> ErrorEvent:
    return ErrorEvent(code="custom", message=failure.message, allow_retry=failure.allow_retry)


class RunEvents:
    """A run's events, as stream_agent_response reads them (`stream_events()` is all it
    uses of the run result), and a read of them that can be let go (close()).

    ChatKit reads each event in a task of its own (chatkit.agents._merge_generators), and
    when its consumer stops early (the person pressed Stop or closed the window, the model
    failed) it leaves that read in flight and never collects it. Once the run is cancelled
    the read ends with StopAsyncIteration, and asyncio logs "Task exception was never
    retrieved" at ERROR, for every stopped reply. After close(), a read ends with None.
    """

    def __init__(self, result: RunResultStreaming) -> None:
        self._result = result
        self._events: AsyncIterator[Any] | None = None
        self._closed = False

    def stream_events(self) -> RunEvents:
        self._events = aiter(self._result.stream_events())
        return self

    def __aiter__(self) -> RunEvents:
        return self

    async def __anext__(self) -> Any:
        assert self._events is not None
        try:
            return await anext(self._events)
        except Exception:
            if self._closed:
                return None
            raise

    def close(self) -> None:
        self._closed = True


class Turn:
    """One agent run under way, stopped (cleanly, so its error event still goes out) once
    it passes the settings' turn timeout."""

    def __init__(
        self, result: RunResultStreaming, agent_context: AgentContext, settings: Settings
    ) -> None:
        self.result = result
        self.events = RunEvents(result)
        self.agent_context = agent_context
        self.settings = settings
        self.timed_out = False
        self._timer = asyncio.get_running_loop().call_later(settings.turn_timeout, self._stop)

    def _stop(self) -> None:
        self.timed_out = True
        self.result.cancel()

    def cancel(self) -> None:
        """Stop the run, if it still goes on: the turn is over, or must not start."""
        self._timer.cancel()
        self.events.close()
        if not self.result.is_complete:
            self.result.cancel()

    async def let_go(self) -> None:
        """After ChatKit's stream stopped early: end the two reads it left in flight (see
        RunEvents), the run's and its own AgentContext queue's (tool progress, client
        effects). An ended read with a value is not logged; the queue's own end marker
        would end it with StopAsyncIteration, which is. Nothing reads the queue any more."""
        self.events.close()
        await self.agent_context.stream(ProgressUpdateEvent(text=""))


class TaskChatServer(ChatKitServer[ChatContext]):
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Callable[[], Settings],
    ) -> None:
        store = SqlStore(sessionmaker)
        super().__init__(store)
        self._sql = store
        # Agents SDK tracing uploads to OpenAI; TaskChat only ever talks to Gemini. The
        # provider is ours, without processors: asking the SDK to disable its default one
        # first builds it, with an HTTP client for OpenAI's trace endpoint (TLS trust store
        # and all, ~2.5 MB of the server's memory), just to switch it off.
        provider = DefaultTraceProvider()
        provider.set_disabled(True)
        set_trace_provider(provider)
        self._settings = settings
        self._clients = GeminiClients()
        self._sessionmaker = sessionmaker
        self._tools = task_tools(sessionmaker)
        self._converter = HistoryConverter()
        # Store writes that must run to their end (a turn's, a cancelled reply's), the
        # replies being streamed (endpoint.EventStream), and what only readies the next
        # turn: close() waits for the first two and stops the last.
        self._cleanups: set[asyncio.Future[None]] = set()
        self._streams: set[asyncio.Task[None]] = set()
        self._background: set[asyncio.Task[Any]] = set()
        self._rehearsal: asyncio.Task[list[str]] | None = None
        self._turned = False  # a real turn has started: nothing left to rehearse

    def rehearse_soon(self) -> asyncio.Task[list[str]]:
        """Start the one rehearsal turn of this server (app/chat/rehearsal.py), if it has
        not run yet; the task's result is the rehearsed events' types, [] if it failed.

        Once it is over, each call readies the Gemini client again for the next turn
        (GeminiClients.prepare): a connection closed while the person was away is opened
        again as they start typing.
        """
        if self._rehearsal is None:
            self._rehearsal = asyncio.create_task(self._rehearse(), name="taskchat-rehearsal")
            self._keep(self._background, self._rehearsal)
        elif self._rehearsal.done():
            task = asyncio.create_task(self._prepare_gemini(), name="taskchat-gemini-prepare")
            self._keep(self._background, task)
        return self._rehearsal

    @staticmethod
    def _keep(tasks: set[Any], task: asyncio.Future[Any]) -> None:
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def track_stream(self, task: asyncio.Task[None]) -> None:
        """A reply being streamed to a client (endpoint.EventStream's producer task)."""
        self._keep(self._streams, task)

    async def close(self) -> None:
        """When the server stops (app/server.end_chat_streams, then the app's shutdown,
        before the database closes): stop the replies still streaming and wait, at most
        CLOSE_TIMEOUT, until what they store is stored — the partial reply of each, as
        when its client goes away — and the turns' writes in flight."""
        for task in self._background:
            task.cancel()
        for task in self._streams:
            if not task.cancelling():  # a second cancel would interrupt its cleanup
                task.cancel()
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                # A stream's cancellation starts the write of its partial reply: wait for
                # that one as well.
                while pending := self._streams | self._cleanups:
                    await asyncio.wait(pending)
        except TimeoutError:
            log.warning("chat: %d reply or write still running at shutdown", len(pending))

    async def _rehearse(self) -> list[str]:
        if self._turned:
            return []  # the turn did the work; later calls of rehearse_soon prepare again
        started = time.perf_counter()
        settings = self._settings()
        try:
            events = await rehearse(
                settings=settings, store=self._sql, tools=self._tools, serialize=self._serialize
            )
        except Exception as exc:
            # Only a head start is lost: the person's own first turn does the same work.
            log.warning("chat rehearsal failed: %s", describe_for_log(exc))
            events = []
        # The real client too (the rehearsal answered in memory): key, TLS, connection.
        ready = await self._prepare_gemini(settings)
        log.info(
            "chat turn rehearsed in %.0f ms (%d events; Gemini client %s)",
            (time.perf_counter() - started) * 1000,
            len(events),
            "ready" if ready else "not ready",
        )
        return events

    async def _prepare_gemini(self, settings: Settings | None = None) -> bool:
        try:
            return await self._clients.prepare(settings or self._settings())
        except Exception as exc:  # the turn reads the key again and reports what it finds
            log.warning("Gemini client not prepared: %s", describe_for_log(exc))
            return False

    async def process(
        self, request: str | bytes | bytearray, context: ChatContext
    ) -> StreamingResult | NonStreamingResult:
        # Same as ChatKitServer.process, but with one TypeAdapter for the process lifetime:
        # the SDK builds a new one per request, which costs ~2.5 ms of schema building.
        return await self.process_request(CHATKIT_REQUEST.validate_json(request), context)

    async def process_request(
        self, request: ChatKitReq, context: ChatContext
    ) -> StreamingResult | NonStreamingResult:
        """process() for a request the endpoint has already parsed (and checked)."""
        if is_streaming_req(request):
            return StreamingResult(self._process_streaming(request, context))
        return NonStreamingResult(await self._process_non_streaming(request, context))

    async def _process_streaming_impl(
        self, request: Any, context: ChatContext
    ) -> AsyncIterator[ThreadStreamEvent]:
        if not isinstance(request, ThreadsCreateReq):
            async for event in super()._process_streaming_impl(request, context):
                yield event
            return
        # ChatKitServer's threads.create, except that the thread, its title and the first
        # message are stored in one transaction (was save_thread, then add_thread_item),
        # and no history is read: a thread that did not exist has only that message. The
        # model is asked once that is committed: started beside the write, it shared the
        # event loop with it and put off thread.created by more than it saved on the first
        # delta. A follow-up message (below) also has its history read to overlap with.
        thread = Thread(
            id=self.store.generate_thread_id(context), created_at=datetime.now(), items=Page()
        )
        item = await self._build_user_message_item(request.params.input, thread, context)
        if item.attachments:
            raise NotImplementedError("Attachments are not supported.")
        title = title_from(item)
        await self._sql.create_thread_with_item(
            ThreadMetadata(**thread.model_dump()), item, context, title=title
        )
        yield ThreadCreatedEvent(thread=self._to_thread_response(thread))
        start = await self._start(thread, context, [item], Page(data=[item]))
        async for event in self._after_saved(thread, item, context, None, start, title):
            yield event

    async def _process_new_thread_item_respond(
        self, thread: ThreadMetadata, item: UserMessageItem, context: ChatContext
    ) -> AsyncIterator[ThreadStreamEvent]:
        # ChatKitServer's own version (threads.add_user_message), except that the history
        # is read and the model request sent while the message is being stored, and an
        # untitled thread is named in the same transaction (left to respond(), the title
        # cost a second save_thread right before the first text delta).
        if item.attachments:
            raise NotImplementedError("Attachments are not supported.")
        title = None if thread.title else title_from(item)
        saved = self._write(self._sql.add_thread_item(thread.id, item, context, title=title))
        start: Turn | Failure
        try:
            newest = await self._sql.load_thread_items(
                thread.id, None, HISTORY_ITEMS, "desc", context
            )
        except Exception as exc:
            # Reported once the write is done (a vanished thread fails that write too).
            log.warning("chat history could not be loaded: %s", describe_for_log(exc))
            start = explain(exc, model=self._settings().gemini_model)
        else:
            # The read ran beside the write: it may or may not hold the new message yet.
            older = [i for i in newest.data if i.id != item.id]
            seeded = Page(
                data=[item, *older[: HISTORY_ITEMS - 1]],
                has_more=newest.has_more or len(older) >= HISTORY_ITEMS,
            )
            if seeded.has_more:
                seeded.after = seeded.data[-1].id
            start = await self._start(
                thread, context, list(reversed(seeded.data)), seeded, gate=saved
            )
        async for event in self._after_saved(thread, item, context, saved, start, title):
            yield event

    def _write(self, write: Awaitable[None]) -> asyncio.Future[None]:
        """The turn's store write in a task of its own, so the model request can go out
        meanwhile, and a cancelled request (the client went away) cannot stop it halfway."""
        task = asyncio.ensure_future(write)
        self._keep(self._cleanups, task)
        task.add_done_callback(self._write_done)
        return task

    def _write_done(self, task: asyncio.Future[None]) -> None:
        # Read here, so a write nobody waits for any more (its request failed or was
        # cancelled) is logged instead of warned about as a never-retrieved exception.
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning("chat write failed: %s", describe_for_log(exc))

    @staticmethod
    async def _until_saved(saved: asyncio.Future[None], start: Turn | Failure) -> None:
        """Wait for the turn's write; if it fails or the request is cancelled meanwhile,
        the model run it was gating is stopped (the write itself goes on to its end)."""
        try:
            await asyncio.shield(saved)
        except BaseException:
            if isinstance(start, Turn):
                start.cancel()
            raise

    async def _after_saved(
        self,
        thread: ThreadMetadata,
        item: UserMessageItem,
        context: ChatContext,
        saved: asyncio.Future[None] | None,
        start: Turn | Failure,
        title: str | None,
    ) -> AsyncIterator[ThreadStreamEvent]:
        """Once the message is stored (`saved`, if it is still being written): its done
        event, then the model's answer (or the failure that kept the turn from starting).
        Nothing can fail before the write."""
        if saved is not None:
            await self._until_saved(saved, start)
        yield ThreadItemDoneEvent(item=item)
        if title:
            # Set before _process_events snapshots the thread, so it sees nothing to save.
            thread.title = title
            yield ThreadUpdatedEvent(thread=self._to_thread_response(thread))
        async for event in self._process_events(
            thread, context, lambda: self._stream(thread, context, start)
        ):
            yield event

    async def respond(
        self,
        thread: ThreadMetadata,
        input_user_message: UserMessageItem | None,
        context: ChatContext,
    ) -> AsyncIterator[ThreadStreamEvent]:
        # Retries and client tool output; new messages start their turn earlier (above).
        if input_user_message is not None and not thread.title:
            # The fallback should a ChatKit upgrade stop calling the methods above:
            # ChatKitServer then saves the changed thread and streams thread.updated itself.
            thread.title = title_from(input_user_message)
        try:
            newest = await self._sql.load_thread_items(
                thread.id, None, HISTORY_ITEMS, "desc", context
            )
        except Exception as exc:
            log.warning("chat history could not be loaded: %s", describe_for_log(exc))
            yield error_event(explain(exc, model=self._settings().gemini_model))
            return
        start = await self._start(thread, context, list(reversed(newest.data)), newest)
        async for event in self._stream(thread, context, start):
            yield event

    async def _start(
        self,
        thread: ThreadMetadata,
        context: ChatContext,
        items: list[ThreadItem],
        newest: Page[ThreadItem],
        *,
        gate: asyncio.Future[None] | None = None,
    ) -> Turn | Failure:
        """Send the model request for a turn over `items` (oldest first), or say why not.

        A failure here is only reported by _stream, that is after the message is stored.
        """
        settings = self._settings()
        try:
            model = await self._clients.turn_model(settings, gate=gate)
        except MissingApiKey as exc:
            return explain(exc, model=settings.gemini_model)
        try:
            history = await self._converter.to_agent_input(items)
        except Exception as exc:
            # A stored item the converter cannot turn into model input: say so plainly
            # instead of the SDK's bare stream.error.
            log.warning("chat history could not be converted: %s", describe_for_log(exc))
            return explain(exc, model=settings.gemini_model)
        agent_context = AgentContext(
            thread=thread, store=self._sql.with_newest(thread.id, newest), request_context=context
        )
        try:
            result = Runner.run_streamed(
                build_agent(settings, model=model, tools=self._tools),
                history,
                context=agent_context,
                max_turns=MAX_TURNS,
                run_config=RunConfig(tracing_disabled=True),
            )
        except Exception as exc:  # reported after the message is stored, like any failure
            log.warning("chat turn could not start: %s", describe_for_log(exc))
            return explain(exc, model=settings.gemini_model)
        self._turned = True
        return Turn(result, agent_context, settings)

    async def _stream(
        self, thread: ThreadMetadata, context: ChatContext, start: Turn | Failure
    ) -> AsyncIterator[ThreadStreamEvent]:
        """A started turn's events, with its failures as error events the person can act on."""
        if isinstance(start, Failure):
            yield error_event(start)
            return
        turn, settings = start, start.settings
        ids = MessageIds(lambda: self.store.generate_item_id("message", thread, context))
        failure: Failure | None = None
        answered = finished = False
        try:
            # RunEvents stands in for the run result, of which ChatKit reads only the events.
            events = cast(RunResultStreaming, turn.events)
            async for event in stream_agent_response(turn.agent_context, events):
                if isinstance(event, ThreadItemAddedEvent | ThreadItemDoneEvent):
                    answered = True
                yield ids.rewrite(event)
            finished = True
        except Exception as exc:
            log.warning("chat turn failed: %s", describe_for_log(exc))
            failure = explain(exc, model=settings.gemini_model)
        finally:
            if not finished:
                await turn.let_go()
            turn.cancel()
        if turn.timed_out and failure is None:
            failure = explain(
                TimeoutError(), model=settings.gemini_model, turn_timeout=settings.turn_timeout
            )
        if failure is None and not answered and not turn.timed_out:
            # A stream that ended cleanly with nothing in it (seen from Gemini under load):
            # without this the person's message just sits there unanswered.
            failure = EMPTY_ANSWER
        if failure is not None:
            forget_key_if_rejected(failure)
            partial = ids.unfinished()
            if partial is not None:
                yield ThreadItemDoneEvent(item=partial)
                # Stored (never shown) after the partial reply, so the next turn's model
                # knows that reply was not finished rather than continuing it blindly.
                yield ThreadItemDoneEvent(
                    item=SDKHiddenContextItem(
                        id=self.store.generate_item_id("sdk_hidden_context", thread, context),
                        thread_id=thread.id,
                        created_at=datetime.now(),
                        content=PARTIAL_NOTE,
                    )
                )
            yield error_event(failure)

    async def action(
        self,
        thread: ThreadMetadata,
        action: Action[str, Any],
        sender: WidgetItem | None,
        context: ChatContext,
    ) -> AsyncIterator[ThreadStreamEvent]:
        # Confirm or keep a pending deletion (the card's buttons); nothing else is an action.
        async for event in confirm.resolve(
            thread=thread,
            action=action,
            sender=sender,
            context=context,
            store=self.store,
            sessionmaker=self._sessionmaker,
        ):
            yield event

    async def handle_stream_cancelled(
        self, thread: ThreadMetadata, pending_items: list[ThreadItem], context: ChatContext
    ) -> None:
        # The partial reply is saved in its own task: a second cancellation of the request
        # (server shutdown) must not interrupt the write halfway.
        task = asyncio.ensure_future(self._save_cancelled(thread, pending_items, context))
        self._keep(self._cleanups, task)
        await asyncio.shield(task)

    async def _save_cancelled(
        self, thread: ThreadMetadata, pending_items: list[ThreadItem], context: ChatContext
    ) -> None:
        # ChatKitServer.handle_stream_cancelled, with save_item in place of add_thread_item:
        # a message whose done event was being stored when the cancellation came is still
        # "pending" here, but the store finished that write (its writes run to their end),
        # and a second add of the same id would fail before the note below is stored.
        for item in pending_items:
            if isinstance(item, AssistantMessageItem) and any(
                part.text.strip() for part in item.content
            ):
                await self.store.save_item(thread.id, item, context)
        await self.store.add_thread_item(
            thread.id,
            SDKHiddenContextItem(
                thread_id=thread.id,
                created_at=datetime.now(),
                id=self.store.generate_item_id("sdk_hidden_context", thread, context),
                content="The user cancelled the stream. Stop responding to the prior request.",
            ),
            context,
        )
