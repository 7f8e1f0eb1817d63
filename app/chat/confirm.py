"""Deletions the person must confirm: bulk_delete_tasks, and delete_task past the third in a turn.

The tool deletes nothing. It records the pending deletion in the thread's metadata, shows
a card listing the tasks with "Delete" and "Keep" buttons (a ChatKit widget: the ChatKit
web component renders its confirm/cancel actions, the built-in view renders the same item),
and tells the model to wait. The button sends `threads.custom_action`; TaskChatServer.action
then deletes exactly the listed tasks the person still owns (or keeps them), replaces the
card with its outcome, tells the task panel (with an undo change id) and leaves a note for
the model's next turn. One pending deletion per thread: a newer one takes over the older
one's tasks, and the older card's buttons then do nothing.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from chatkit.actions import ActionConfig
from chatkit.agents import AgentContext
from chatkit.types import (
    Action,
    AssistantMessageContent,
    AssistantMessageItem,
    ClientEffectEvent,
    HiddenContextItem,
    NoticeEvent,
    ThreadItemDoneEvent,
    ThreadItemRemovedEvent,
    ThreadItemReplacedEvent,
    ThreadMetadata,
    ThreadStreamEvent,
    WidgetItem,
)
from chatkit.widgets import Card, CardAction, Text, Title
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.chat.store import ChatContext, SqlStore
from app.tasks import service, undo

CONFIRM = "tasks.delete.confirm"
CANCEL = "tasks.delete.cancel"
PENDING = "pending_deletion"  # key in the thread's metadata
FREE_DELETES_PER_TURN = 3
TASKS_CHANGED = "tasks_changed"
SHOWN_TITLES = 20

_deletes_this_turn: dict[int, int] = {}


def needs_confirmation(chat: AgentContext, tool: str) -> bool:
    """bulk_delete_tasks always; delete_task once three were deleted in this turn."""
    if tool == "bulk_delete_tasks":
        return True
    return tool == "delete_task" and deletes_this_turn(chat) >= FREE_DELETES_PER_TURN


def deletes_this_turn(chat: AgentContext) -> int:
    return _deletes_this_turn.get(id(chat.request_context), 0)


def count_delete(chat: AgentContext) -> None:
    """Count one immediate delete_task in this turn (the request context lives one turn)."""
    key = id(chat.request_context)
    if key not in _deletes_this_turn:
        weakref.finalize(chat.request_context, _deletes_this_turn.pop, key, None)
    _deletes_this_turn[key] = _deletes_this_turn.get(key, 0) + 1


def _card(pending: dict[str, Any], *, outcome: str | None = None) -> Card:
    titles = [t["title"] for t in pending["tasks"]]
    lines = [Text(value=f"• {t}", size="sm") for t in titles[:SHOWN_TITLES]]
    if len(titles) > SHOWN_TITLES:
        lines.append(Text(value=f"… and {len(titles) - SHOWN_TITLES} more", size="sm"))
    n = len(titles)
    noun = "task" if n == 1 else "tasks"
    if outcome is not None:
        return Card(children=[Title(value=outcome, size="sm"), *lines], size="md")
    payload = {"confirmation_id": pending["id"]}
    return Card(
        children=[Title(value=f"Delete {n} {noun}?", size="sm"), *lines],
        size="md",
        confirm=CardAction(
            label=f"Delete {n} {noun}", action=ActionConfig(type=CONFIRM, payload=payload)
        ),
        cancel=CardAction(label="Keep them", action=ActionConfig(type=CANCEL, payload=payload)),
    )


async def request(
    chat: AgentContext, session: AsyncSession, user_id: str, task_ids: list[str]
) -> dict[str, Any]:
    """Record a pending deletion and show the card; the tool's result for the model."""
    ids = service._check_bulk_ids(task_ids)
    images = await undo.snapshots(session, user_id, ids)
    not_found = [i for i in ids if i not in images]
    metadata = chat.thread.metadata
    earlier = metadata.get(PENDING)
    tasks = [{"id": i, "title": images[i]["title"]} for i in ids if i in images]
    if isinstance(earlier, dict):
        # One pending deletion per thread: this one also asks for the earlier tasks, and
        # the earlier card goes (from the chat and from the store).
        known = {t["id"] for t in tasks}
        tasks = [t for t in earlier.get("tasks", []) if t["id"] not in known] + tasks
        await chat.stream(ThreadItemRemovedEvent(item_id=earlier["item_id"]))
    if not tasks:
        return {"deleted": [], "not_found": not_found, "note": "None of these tasks exist."}
    pending = {
        "id": f"del_{uuid.uuid4().hex}",
        "item_id": chat.generate_id("message"),
        "tasks": tasks,
    }
    metadata[PENDING] = pending  # saved with the thread at the end of the turn
    await chat.stream(
        ThreadItemDoneEvent(
            item=WidgetItem(
                id=pending["item_id"],
                thread_id=chat.thread.id,
                created_at=datetime.now(),
                widget=_card(pending),
                copy_text="Delete: " + ", ".join(t["title"] for t in tasks),
            )
        )
    )
    return {
        "status": "awaiting_confirmation",
        "deleted": [],
        "awaiting_confirmation": [t["id"] for t in tasks],
        "not_found": not_found,
        "note": "Nothing has been deleted. The user sees these tasks with Delete and Keep "
        "buttons and decides; say so in one short sentence and do not call a delete tool "
        "for them again.",
    }


async def resolve(
    *,
    thread: ThreadMetadata,
    action: Action[str, Any],
    sender: WidgetItem | None,
    context: ChatContext,
    store: SqlStore,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[ThreadStreamEvent]:
    """The person pressed Delete or Keep on a confirmation card."""
    if action.type not in (CONFIRM, CANCEL):
        yield NoticeEvent(level="warning", message="TaskChat does not know that action.")
        return
    pending = thread.metadata.get(PENDING)
    payload = action.payload if isinstance(action.payload, dict) else {}
    if not isinstance(pending, dict) or payload.get("confirmation_id") != pending.get("id"):
        yield NoticeEvent(
            level="info",
            message="That request was already answered or replaced by a newer one; "
            "nothing was changed.",
        )
        return
    del thread.metadata[PENDING]  # ChatKitServer saves the thread and streams thread.updated
    item_id = pending["item_id"]
    now = datetime.now()
    if action.type == CANCEL:
        note = "The user chose to keep these tasks; nothing was deleted: " + ", ".join(
            t["title"] for t in pending["tasks"]
        )
        yield _replace(thread, item_id, sender, _card(pending, outcome="Kept these tasks"))
        yield _hidden(store, thread, context, note, now)
        yield _say(store, thread, context, "Okay, I kept them.", now)
        return
    ids = [t["id"] for t in pending["tasks"]]
    async with sessionmaker() as session:
        images = await undo.snapshots(session, context.user_id, ids)
        result = await service.bulk_delete(session=session, user_id=context.user_id, task_ids=ids)
    deleted = [t for t in pending["tasks"] if t["id"] in result.succeeded]
    n = len(deleted)
    summary = f"Deleted {n} task{'' if n == 1 else 's'}"
    yield _replace(thread, item_id, sender, _card(pending, outcome=summary))
    if deleted:
        change_id = undo.undo_log.record(
            context.user_id, "deleted", {t["id"]: images.get(t["id"]) for t in deleted}
        )
        yield ClientEffectEvent(
            name=TASKS_CHANGED,
            data={"action": "deleted", "ids": [t["id"] for t in deleted], "tasks": deleted,
                  "change_id": change_id},
        )  # fmt: skip
    titles = ", ".join(t["title"] for t in deleted) or "none (they were already gone)"
    yield _hidden(store, thread, context, f"The user confirmed. Deleted: {titles}.", now)
    gone = len(ids) - n
    extra = f" ({gone} had already been deleted.)" if gone else ""
    yield _say(store, thread, context, f"{summary}.{extra}", now)


def _replace(
    thread: ThreadMetadata, item_id: str, sender: WidgetItem | None, card: Card
) -> ThreadItemReplacedEvent:
    item = (
        sender.model_copy(update={"widget": card})
        if sender is not None and sender.id == item_id
        else WidgetItem(id=item_id, thread_id=thread.id, created_at=datetime.now(), widget=card)
    )
    return ThreadItemReplacedEvent(item=item)


def _hidden(
    store: SqlStore, thread: ThreadMetadata, context: ChatContext, text: str, now: datetime
) -> ThreadItemDoneEvent:
    return ThreadItemDoneEvent(
        item=HiddenContextItem(
            id=store.generate_item_id("message", thread, context),
            thread_id=thread.id,
            created_at=now,
            content=text,
        )
    )


def _say(
    store: SqlStore, thread: ThreadMetadata, context: ChatContext, text: str, now: datetime
) -> ThreadItemDoneEvent:
    return ThreadItemDoneEvent(
        item=AssistantMessageItem(
            id=store.generate_item_id("message", thread, context),
            thread_id=thread.id,
            created_at=now,
            content=[AssistantMessageContent(text=text)],
        )
    )
