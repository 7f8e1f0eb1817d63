"""TaskChatServer: the ChatKit server that answers each user message with a Gemini agent run."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any, cast

from agents import (
    Agent,
    OpenAIChatCompletionsModel,
    RunConfig,
    Runner,
    RunResultStreaming,
    set_tracing_disabled,
)
from chatkit.agents import AgentContext, stream_agent_response
from chatkit.server import ChatKitServer
from chatkit.types import (
    Action,
    AssistantMessageContent,
    AssistantMessageContentPartDone,
    AssistantMessageContentPartTextDelta,
    AssistantMessageItem,
    ClientEffectEvent,
    ErrorEvent,
    Page,
    ProgressUpdateEvent,
    SDKHiddenContextItem,
    Thread,
    ThreadItem,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemUpdatedEvent,
    ThreadMetadata,
    ThreadStreamEvent,
    ThreadUpdatedEvent,
    UserMessageItem,
    WidgetItem,
)
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.chat import confirm
from app.chat.agent import MAX_TURNS, lasting_agent
from app.chat.gemini import (
    Failure,
    GeminiClients,
    MissingApiKey,
    describe_for_log,
    explain,
    forget_key_if_rejected,
)
from app.chat.history import PlainStringHistory, stored_tool_call
from app.chat.rehearsal import rehearse
from app.chat.store import ChatContext, SqlStore, title_from
from app.chat.tools import task_tools
from app.chat.wire import SignatureBook, remember_signatures
from app.config import Settings

log = logging.getLogger(__name__)

# How many of the latest items a turn sends as history.
HISTORY_ITEMS = 100
# How long a stop waits for cut-off replies to be stored: with uvicorn's graceful wait
# after it (0.5 s for the window's server), well inside the 3 s in which closing the
# window must have stopped the server.
CLOSE_TIMEOUT = 2.0
# The id openai-agents gives every message of a Chat Completions model.
FAKE_MESSAGE_ID = "__fake_id__"
EMPTY_ANSWER = Failure("empty_answer", "Gemini sent an empty answer. Try again.", allow_retry=True)
PARTIAL_NOTE = (
    "The assistant reply above was cut off by an error before it was complete; "
    "it may be unfinished."
)


class StoreIdsForFakeIds:
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
        if raw != FAKE_MESSAGE_ID:
            return raw
        if self._current is None:
            self._current = self._new_id()
        return self._current

    def rewrite(self, event: ThreadStreamEvent) -> ThreadStreamEvent:
        if isinstance(event, ThreadItemAddedEvent) and isinstance(event.item, AssistantMessageItem):
            if event.item.id == FAKE_MESSAGE_ID:
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


def serialize_event(event: BaseModel) -> bytes:
    """An event as ChatKitServer writes it to the stream (its serializer is private)."""
    return event.model_dump_json(
        by_alias=True, exclude_none=True, context={"exclude_metadata": True}
    ).encode("utf-8")


def failure_events(failure: Failure) -> tuple[ClientEffectEvent, ErrorEvent]:
    """A failed turn's events: ChatKit's ErrorEvent takes no code of ours, so the failure's
    code and wait (a quota's countdown, "Open key settings") go ahead in a client effect."""
    return (
        ClientEffectEvent(name="turn_failed", data=failure.effect_data()),
        ErrorEvent(code="custom", message=failure.message, allow_retry=failure.allow_retry),
    )


class LetGoRunEvents:
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

    def stream_events(self) -> LetGoRunEvents:
        self._events = aiter(self._result.stream_events())
        return self

    def __aiter__(self) -> LetGoRunEvents:
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
        self.events = LetGoRunEvents(result)
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
        LetGoRunEvents), the run's and its own AgentContext queue's (tool progress, client
        effects). An ended read with a value is not logged; the queue's own end marker
        would end it with StopAsyncIteration, which is. Nothing reads the queue any more."""
        self.events.close()
        await self.agent_context.stream(ProgressUpdateEvent(text=""))


class TaskChatServer(ChatKitServer[ChatContext]):
    """ChatKit's server with TaskChat's turn: it overrides only ChatKitServer's public
    hooks (respond, action, handle_stream_cancelled); the store is app/chat/store.py."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Callable[[], Settings],
    ) -> None:
        store = SqlStore(sessionmaker)
        super().__init__(store)
        self._sql = store
        # Agents SDK tracing uploads to OpenAI; TaskChat only ever talks to Gemini.
        set_tracing_disabled(True)
        self._settings = settings
        # Public for tests and diagnostics: which Gemini client (and pool) is current.
        self.clients = GeminiClients()
        self._sessionmaker = sessionmaker
        self._tools = task_tools(sessionmaker)
        self._converter = PlainStringHistory()
        self._agent: tuple[Settings, OpenAIChatCompletionsModel, Agent] | None = None
        # What close() waits for: the replies being streamed (endpoint.EventStream's
        # producers) and the writes of replies cut off by a stop.
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._rehearsal: asyncio.Task[list[str]] | None = None
        self._prepare: asyncio.Task[bool] | None = None
        self._turned = False  # a real turn has started: nothing left to rehearse

    @property
    def signatures(self) -> SignatureBook:
        """Thought signatures of the tool calls seen (app/chat/wire.py)."""
        return self.clients.signatures

    def rehearse_soon(self) -> asyncio.Task[list[str]]:
        """Start the one rehearsal turn of this server (app/chat/rehearsal.py), if it has
        not run yet; the task's result is the rehearsed events' types, [] if it failed.

        Once it is over, each call readies the Gemini client again for the next turn
        (GeminiClients.prepare): a connection closed while the person was away is opened
        again as they start typing.
        """
        if self._rehearsal is None:
            self._rehearsal = asyncio.create_task(self._rehearse(), name="taskchat-rehearsal")
        elif self._rehearsal.done() and (self._prepare is None or self._prepare.done()):
            self._prepare = asyncio.create_task(
                self._prepare_gemini(), name="taskchat-gemini-prepare"
            )
        return self._rehearsal

    def track_stream(self, task: asyncio.Task[None]) -> None:
        """A reply being streamed to a client (endpoint.EventStream's producer task)."""
        self._keep(task)

    def _keep(self, task: asyncio.Task[Any]) -> None:
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def close(self) -> None:
        """When the server stops (app/server.end_chat_streams, then the app's shutdown,
        before the database closes): stop the replies still streaming and wait, at most
        CLOSE_TIMEOUT, until what they store is stored — the partial reply of each, as
        when its client goes away."""
        for job in (self._rehearsal, self._prepare):
            if job is not None:
                job.cancel()
        for task in self._in_flight:
            if not task.cancelling():  # a second cancel would interrupt its cleanup
                task.cancel()
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                # A stream's cancellation starts the write of its partial reply: wait for
                # that one as well.
                while pending := set(self._in_flight):
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
                settings=settings, store=self._sql, tools=self._tools, serialize=serialize_event
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
            return await self.clients.prepare(settings or self._settings())
        except Exception as exc:  # the turn reads the key again and reports what it finds
            log.warning("Gemini client not prepared: %s", describe_for_log(exc))
            return False

    async def respond(
        self,
        thread: ThreadMetadata,
        input_user_message: UserMessageItem | None,
        context: ChatContext,
    ) -> AsyncIterator[ThreadStreamEvent]:
        start = await self._start(thread, context)
        if input_user_message is not None and not thread.title:
            title = title_from(input_user_message.content)
            if title:
                titled = {**thread.model_dump(), "title": title, "items": Page()}
                if not context.created(thread.id):
                    # An older thread without a title: ChatKitServer stores the renamed
                    # thread after the next event. A thread this request created was
                    # stored with its title (SqlStore.save_thread), and `thread` stays as
                    # it is: changed, ChatKitServer would store it once more, a write that
                    # ran while the model request was getting out.
                    thread.title = title
                yield ThreadUpdatedEvent(thread=Thread.model_validate(titled))
        async for event in self._stream(thread, context, start):
            yield event

    async def _start(self, thread: ThreadMetadata, context: ChatContext) -> Turn | Failure:
        """Send the model request for a turn over the thread's newest items, or say why not."""
        settings = self._settings()
        try:
            model = await self.clients.turn_model(settings)
            # A thread this request created answers from memory (NewThread.only_item).
            newest = await self.store.load_thread_items(
                thread.id, None, HISTORY_ITEMS, "desc", context
            )
            items = list(reversed(newest.data))
            # Earlier turns' tool calls go back to Gemini with their thought signatures.
            remember_signatures(self.signatures, filter(None, (stored_tool_call(i) for i in items)))
            history = await self._converter.to_agent_input(items)
            agent_context: AgentContext[ChatContext] = AgentContext(
                thread=thread, store=self.store, request_context=context
            )
            result = Runner.run_streamed(
                self._agent_for(settings, model),
                history,
                context=agent_context,
                max_turns=MAX_TURNS,
                run_config=RunConfig(tracing_disabled=True),
            )
        except Exception as exc:
            # No key, a history that cannot be read or converted: said plainly instead of
            # the SDK's bare stream.error.
            if not isinstance(exc, MissingApiKey):
                log.warning("chat turn could not start: %s", describe_for_log(exc))
            return explain(exc, model=settings.gemini_model)
        self._turned = True
        return Turn(result, agent_context, settings)

    def _agent_for(self, settings: Settings, model: OpenAIChatCompletionsModel) -> Agent:
        """The agent, built once per model object and Settings object (~0.2 ms a turn)."""
        if self._agent is None or self._agent[0] is not settings or self._agent[1] is not model:
            agent = lasting_agent(settings, model=model, tools=self._tools)
            self._agent = (settings, model, agent)
        return self._agent[2]

    def _with_signature(self, event: ThreadStreamEvent) -> ThreadStreamEvent:
        """A tool call's hidden item is stored with the call's thought signature, so that
        later turns replay the call as Gemini sent it."""
        if isinstance(event, ThreadItemDoneEvent):
            call = stored_tool_call(event.item)
            if call is not None and "thought_signature" not in call:
                signature = self.signatures.get(call["call_id"])
                if signature:
                    call["thought_signature"] = signature
        return event

    async def _stream(
        self, thread: ThreadMetadata, context: ChatContext, start: Turn | Failure
    ) -> AsyncIterator[ThreadStreamEvent]:
        """A started turn's events, with its failures as error events the person can act on."""
        if isinstance(start, Failure):
            for failed in failure_events(start):
                yield failed
            return
        turn, settings = start, start.settings
        ids = StoreIdsForFakeIds(lambda: self.store.generate_item_id("message", thread, context))
        failure: Failure | None = None
        answered = finished = False
        try:
            # LetGoRunEvents stands in for the run result, of which ChatKit reads only the events.
            events = cast(RunResultStreaming, turn.events)
            async for event in stream_agent_response(turn.agent_context, events):
                if isinstance(event, ThreadItemAddedEvent | ThreadItemDoneEvent):
                    answered = True
                yield self._with_signature(ids.rewrite(event))
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
            for failed in failure_events(failure):
                yield failed

    async def action(
        self,
        thread: ThreadMetadata,
        action: Action[str, Any],
        sender: WidgetItem | None,
        context: ChatContext,
    ) -> AsyncIterator[ThreadStreamEvent]:
        # Confirm or keep a pending change (the card's buttons); nothing else is an action.
        async for event in confirm.resolve(
            thread=thread,
            action=action,
            sender=sender,
            context=context,
            store=self._sql,
            sessionmaker=self._sessionmaker,
        ):
            yield event

    async def handle_stream_cancelled(
        self, thread: ThreadMetadata, pending_items: list[ThreadItem], context: ChatContext
    ) -> None:
        """Keep the partial reply of a stopped turn (Stop, a closed window, a shutdown).

        Saved in a task of its own that close() waits for: a second cancellation of the
        request (the server stopping) must not interrupt the writes halfway.
        """
        task = asyncio.create_task(self._keep_partial_reply(thread, pending_items, context))
        self._keep(task)
        await asyncio.shield(task)

    async def _keep_partial_reply(
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
