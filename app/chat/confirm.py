"""Changes the person must confirm: bulk_delete_tasks, and changes past the turn's budget.

bulk_delete_tasks always asks; delete_task, complete_task, update_task and
bulk_complete_tasks ask once the turn's budget of unasked changes is spent
(app/chat/budget.py). The tool then changes nothing. It records the pending change in the
thread's metadata, shows a card listing the tasks with "Delete"/"Apply" and "Keep" buttons
(a ChatKit widget: the ChatKit web component renders its confirm/cancel actions, the
built-in view renders the same item), and tells the model to wait. The button sends
`threads.custom_action`; TaskChatServer.action then applies exactly the listed changes to
the tasks the person still owns (or keeps them), in one transaction with their undo
record, replaces the card with its outcome, tells the task panel (with an undo change id)
and leaves a note for the model's next turn. One pending change per thread: a newer one
takes over the older one's tasks, and the older card's buttons then do nothing.
"""

from __future__ import annotations

import uuid
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
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.chat.store import ChatContext, SqlStore
from app.chat.transaction import ToolTransaction
from app.db.uncancellable import run_to_end
from app.errors import DomainError
from app.tasks import service, undo
from app.tasks.models import TaskUpdate

CONFIRM = "tasks.delete.confirm"
CANCEL = "tasks.delete.cancel"
PENDING = "pending_deletion"  # key in the thread's metadata
TASKS_CHANGED = "tasks_changed"
SHOWN_TITLES = 20
# What a pending entry does once confirmed, by the tool that asked.
OPS = {
    "delete_task": "delete",
    "bulk_delete_tasks": "delete",
    "complete_task": "complete",
    "bulk_complete_tasks": "complete",
    "update_task": "update",
}
_VERBS = {"delete": "Delete", "complete": "Complete", "reopen": "Reopen", "update": "Change"}
UPDATE_FIELDS = ("title", "description", "priority", "due", "tags", "completed")


def _entries(
    tool: str, ids: list[str], images: dict[str, dict[str, Any]], args: dict[str, Any]
) -> list[dict[str, Any]]:
    """The pending entries a tool call asks for: one per existing task."""
    op = OPS.get(tool, "delete")
    if op == "complete" and args.get("completed") is False:
        op = "reopen"
    extra: dict[str, Any] = {}
    if op == "update":
        extra["changes"] = {k: args[k] for k in UPDATE_FIELDS if k in args and args[k] is not None}
    return [{"id": i, "title": images[i]["title"], "op": op, **extra} for i in ids if i in images]


def _only_deletes(entries: list[dict[str, Any]]) -> bool:
    return all(e.get("op", "delete") == "delete" for e in entries)


def _line(entry: dict[str, Any], *, deletes_only: bool) -> str:
    if deletes_only:
        return f"• {entry['title']}"
    verb = _VERBS.get(entry.get("op", "delete"), "Change")
    changes = entry.get("changes") or {}
    detail = ", ".join(f"{k}: {v}" for k, v in changes.items())
    return f"• {verb}: {entry['title']}" + (f" ({detail})" if detail else "")


def _card(pending: dict[str, Any], *, outcome: str | None = None) -> Card:
    entries = pending["tasks"]
    deletes_only = _only_deletes(entries)
    lines = [
        Text(value=_line(e, deletes_only=deletes_only), size="sm") for e in entries[:SHOWN_TITLES]
    ]
    if len(entries) > SHOWN_TITLES:
        lines.append(Text(value=f"… and {len(entries) - SHOWN_TITLES} more", size="sm"))
    n = len(entries)
    noun = "task" if n == 1 else "tasks"
    if outcome is not None:
        return Card(children=[Title(value=outcome, size="sm"), *lines], size="md")
    payload = {"confirmation_id": pending["id"]}
    title, label = (
        (f"Delete {n} {noun}?", f"Delete {n} {noun}")
        if deletes_only
        else (f"Change {n} {noun}?", f"Apply to {n} {noun}")
    )
    return Card(
        children=[Title(value=title, size="sm"), *lines],
        size="md",
        confirm=CardAction(label=label, action=ActionConfig(type=CONFIRM, payload=payload)),
        cancel=CardAction(label="Keep them", action=ActionConfig(type=CANCEL, payload=payload)),
    )


async def request(
    chat: AgentContext,
    session: AsyncSession,
    user_id: str,
    tool: str,
    task_ids: list[str],
    args: dict[str, Any],
) -> dict[str, Any]:
    """Record a pending change and show the card; the tool's result for the model."""
    ids = service._check_bulk_ids(task_ids)
    images = await undo.snapshots(session, user_id, ids)
    not_found = [i for i in ids if i not in images]
    # From here on nothing awaits until the pending change is in the thread's metadata:
    # parallel calls of one turn each add theirs to the one card.
    metadata = chat.thread.metadata
    earlier = metadata.get(PENDING)
    tasks = _entries(tool, ids, images, args)
    if isinstance(earlier, dict):
        # One pending change per thread: this one also asks for the earlier tasks, and
        # the earlier card goes (from the chat and from the store).
        mine = {(t["id"], t["op"]) for t in tasks}
        tasks = [
            t for t in earlier.get("tasks", []) if (t["id"], t.get("op", "delete")) not in mine
        ] + tasks
    if not tasks:
        return {"changed": [], "not_found": not_found, "note": "None of these tasks exist."}
    pending = {
        "id": f"cnf_{uuid.uuid4().hex}",
        "item_id": chat.generate_id("message"),
        "tasks": tasks,
    }
    metadata[PENDING] = pending  # saved with the thread by ChatKitServer
    if isinstance(earlier, dict):
        await chat.stream(ThreadItemRemovedEvent(item_id=earlier["item_id"]))
    summary = ", ".join(t["title"] for t in tasks)
    await chat.stream(
        ThreadItemDoneEvent(
            item=WidgetItem(
                id=pending["item_id"],
                thread_id=chat.thread.id,
                created_at=datetime.now(),
                widget=_card(pending),
                copy_text=("Delete: " if _only_deletes(tasks) else "Change: ") + summary,
            )
        )
    )
    waiting = [i for i in ids if i in images]
    return {
        "status": "awaiting_confirmation",
        "deleted" if OPS.get(tool) == "delete" else "changed": [],
        "awaiting_confirmation": waiting,
        "not_found": not_found,
        "note": "Nothing has been changed. The user sees these tasks with confirm and Keep "
        "buttons and decides; say so in one short sentence and do not call a tool for them "
        "again.",
    }


async def _apply(
    session: AsyncSession, user_id: str, entries: list[dict[str, Any]]
) -> dict[str, list[str]]:
    """Apply the confirmed entries to the tasks that still exist; ids changed, by op."""
    done: dict[str, list[str]] = {}
    by_op: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_op.setdefault(entry.get("op", "delete"), []).append(entry)
    for op, group in by_op.items():
        ids = [e["id"] for e in group]
        if op == "delete":
            result = await service.bulk_delete(session=session, user_id=user_id, task_ids=ids)
            done[op] = list(result.succeeded)
        elif op in ("complete", "reopen"):
            result = await service.bulk_complete(
                session=session, user_id=user_id, task_ids=ids, completed=op == "complete"
            )
            done[op] = list(result.succeeded)
        else:
            for entry in group:
                changes = dict(entry.get("changes") or {})
                if changes.get("due") == "":
                    changes["due"] = None
                try:
                    await service.update_task(
                        session=session,
                        user_id=user_id,
                        task_id=entry["id"],
                        data=TaskUpdate.model_validate(changes),
                    )
                except (DomainError, ValidationError):
                    continue  # gone meanwhile, or a change the task no longer takes
                done.setdefault(op, []).append(entry["id"])
    return done


async def _apply_and_record(
    sessionmaker: async_sessionmaker[AsyncSession], user_id: str, entries: list[dict[str, Any]]
) -> tuple[dict[str, list[str]], str | None]:
    """The confirmed changes and their undo record: one transaction, run to its end even
    if the request is cancelled meanwhile (see app/db/uncancellable.py)."""
    ids = list(dict.fromkeys(t["id"] for t in entries))
    async with ToolTransaction(**sessionmaker.kw) as session:
        images = await undo.snapshots(session, user_id, ids)
        done = await _apply(session, user_id, entries)
        changed = list(dict.fromkeys(i for group in done.values() for i in group))
        change_id = None
        if changed:
            change_id = await undo.record(
                session,
                user_id=user_id,
                action=_ACTIONS[next(op for op, group in done.items() if group)],
                before={i: images.get(i) for i in changed},
            )
        await session.finish()
    return done, change_id


_ACTIONS = {"delete": "deleted", "complete": "completed", "reopen": "reopened", "update": "updated"}
_PAST = {"delete": "Deleted", "complete": "Completed", "reopen": "Reopened", "update": "Changed"}


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
        what = "deleted" if _only_deletes(pending["tasks"]) else "changed"
        note = f"The user chose to keep these tasks; nothing was {what}: " + ", ".join(
            t["title"] for t in pending["tasks"]
        )
        yield _replace(thread, item_id, sender, _card(pending, outcome="Kept these tasks"))
        yield _hidden(store, thread, context, note, now)
        yield _say(store, thread, context, "Okay, I kept them.", now)
        return
    entries = pending["tasks"]
    done, change_id = await run_to_end(_apply_and_record(sessionmaker, context.user_id, entries))
    applied = [t for t in entries if t["id"] in done.get(t.get("op", "delete"), ())]
    n = len(applied)
    noun = f"task{'' if n == 1 else 's'}"
    if _only_deletes(entries):
        summary = f"Deleted {n} {noun}"
    else:
        summary = f"Changed {n} {noun}"
    yield _replace(thread, item_id, sender, _card(pending, outcome=summary))
    for op, group in done.items():
        if group:
            touched = [{"id": t["id"], "title": t["title"]} for t in entries if t["id"] in group]
            yield ClientEffectEvent(
                name=TASKS_CHANGED,
                data={"action": _ACTIONS[op], "ids": group, "tasks": touched,
                      "change_id": change_id},
            )  # fmt: skip
    if _only_deletes(entries):
        titles = ", ".join(t["title"] for t in applied) or "none (they were already gone)"
        note = f"The user confirmed. Deleted: {titles}."
    else:
        titles = "; ".join(
            f"{_PAST.get(t.get('op', 'delete'), 'Changed')} {t['title']}" for t in applied
        )
        note = f"The user confirmed. {titles or 'Nothing changed (the tasks were gone)'}."
    yield _hidden(store, thread, context, note, now)
    gone = len(entries) - n
    extra = f" ({gone} had already been deleted.)" if gone and _only_deletes(entries) else ""
    if gone and not _only_deletes(entries):
        extra = f" ({gone} could not be changed any more.)"
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
