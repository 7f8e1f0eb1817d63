"""The task and list tools the model calls: flat Gemini-safe schemas over the services."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, get_args

from agents import FunctionTool
from agents.tool_context import ToolContext
from chatkit.agents import AgentContext
from chatkit.types import (
    ClientEffectEvent,
    HiddenContextItem,
    ProgressUpdateEvent,
    ThreadItemDoneEvent,
)
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.chat import budget, confirm
from app.chat.store import ChatContext
from app.chat.transaction import ToolTransaction
from app.config import get_settings
from app.db.uncancellable import run_to_end
from app.errors import DomainError
from app.lists import service as lists
from app.lists.models import ListCreate
from app.search import links
from app.tasks import service, undo
from app.tasks.models import SortKey, TaskCreate, TaskPublic, TaskQuery, TaskUpdate
from app.tasks.recurrence import describe, local_zone

log = logging.getLogger(__name__)

# Hidden items with this key hold one finished tool call, replayed into later turns.
TOOL_CALL_KEY = "tool_call"
TASKS_CHANGED = "tasks_changed"

_PRIORITY = {"type": "string", "enum": ["none", "low", "medium", "high"]}
_DUE = {
    "type": "string",
    "description": "A date YYYY-MM-DD (all day) or a date-time with offset, "
    "e.g. 2026-05-01T09:00:00+02:00. Resolve words like 'tomorrow' in the user's time zone.",
}
_TAGS = {"type": "array", "items": {"type": "string"}, "description": "Short lowercase labels."}
_RECURRENCE = {
    "type": "string",
    "description": "Repeat rule as an RFC 5545 RRULE without 'RRULE:', e.g. FREQ=WEEKLY;BYDAY=SU "
    "(every Sunday), FREQ=MONTHLY;BYMONTHDAY=1, FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR (weekdays), "
    "FREQ=DAILY;INTERVAL=2. The time of day comes from due. Empty string stops repeating.",
}
_REMIND_AT = {
    "type": "string",
    "description": "When to show a reminder: a date-time with offset, e.g. "
    "2026-05-01T17:00:00+02:00. Empty string clears the reminder.",
}
_REMIND_BEFORE = {
    "type": "integer",
    "description": "Remind this many minutes before the due time (moves with the due), "
    "e.g. 30. Use instead of remind_at.",
}
_TASK_ID = {"type": "string", "description": "The task's id, as returned by list_tasks."}
_TASK_IDS = {"type": "array", "items": {"type": "string"}, "description": "Task ids."}
_LIST = {"type": "string", "description": "A list's name (e.g. Travel) or id; Inbox when omitted."}
_PARENT_ID = {
    "type": "string",
    "description": "Make it a step (subtask) of this top-level task id; an empty string "
    "makes it a top-level task again.",
}


def _object(properties: dict[str, Any], *required: str) -> dict[str, Any]:
    # No additionalProperties, $defs or defaults: Gemini rejects them.
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


@dataclass
class Outcome:
    result: Any
    changed: list[str] = field(default_factory=list)
    action: str = ""
    # Tasks to delete only once the person confirms (app/chat/confirm.py).
    confirm: list[str] = field(default_factory=list)


Handler = Callable[[AsyncSession, str, dict[str, Any]], Awaitable[Outcome]]


def _present(args: dict[str, Any], *names: str) -> dict[str, Any]:
    # Models often send null for "not given"; only an explicit value counts.
    return {n: args[n] for n in names if args.get(n) is not None}


def _task(task: TaskPublic) -> dict[str, Any]:
    data = task.model_dump(mode="json", exclude={"created_at", "updated_at", "source", "position"})
    if not data["description"]:
        del data["description"]
    if not data["subtasks_total"]:
        del data["subtasks_total"], data["subtasks_done"]
    # Only what a task has: fewer tokens, and the model reads the rule in words too.
    for name in ("recurrence", "remind_at", "remind_before_minutes", "last_completed_at"):
        if data.get(name) is None:
            data.pop(name, None)
    if task.recurrence:
        data["repeats"] = describe(task.recurrence)
    return data


async def _placement(session: AsyncSession, user_id: str, args: dict[str, Any]) -> dict[str, Any]:
    """`list` (a name or id) and `parent_id` ("" for top-level) as task fields."""
    out: dict[str, Any] = {}
    if args.get("list") is not None:
        found = await lists.resolve_list(session=session, user_id=user_id, ref=str(args["list"]))
        out["list_id"] = found.id
    if args.get("parent_id") is not None:
        out["parent_id"] = args["parent_id"] or None
    return out


def _zone() -> tzinfo:
    return local_zone(get_settings().timezone)


def _cleared(changes: dict[str, Any], *names: str) -> dict[str, Any]:
    # An empty string is the documented way to clear these fields.
    for name in names:
        if changes.get(name) == "":
            changes[name] = None
    return changes


async def _create(session: AsyncSession, user_id: str, args: dict[str, Any]) -> Outcome:
    data = TaskCreate.model_validate(
        _cleared(
            _present(
                args,
                "title",
                "description",
                "priority",
                "due",
                "tags",
                "recurrence",
                "remind_at",
                "remind_before_minutes",
            ),
            "recurrence",
            "remind_at",
        )
        | await _placement(session, user_id, args)
    )
    task = await service.create_task(session=session, user_id=user_id, data=data, zone=_zone())
    return Outcome({"created": _task(task)}, [task.id], "created")


async def _list(session: AsyncSession, user_id: str, args: dict[str, Any]) -> Outcome:
    query = TaskQuery.model_validate(
        _present(
            args,
            "completed",
            "priority",
            "tag",
            "due_before",
            "due_after",
            "remind_before",
            "remind_after",
            "recurring",
            "q",
            "sort",
            "limit",
            "offset",
            "view",
        )
        | await _placement(session, user_id, args)
    )
    page = await service.list_tasks(session=session, user_id=user_id, query=query, zone=_zone())
    return Outcome({"total": page.total, "tasks": [_task(t) for t in page.items]})


async def _update(session: AsyncSession, user_id: str, args: dict[str, Any]) -> Outcome:
    changes = _present(
        args,
        "title",
        "description",
        "priority",
        "due",
        "tags",
        "completed",
        "recurrence",
        "remind_at",
        "remind_before_minutes",
    )
    _cleared(changes, "due", "recurrence", "remind_at")
    changes |= await _placement(session, user_id, args)
    task = await service.update_task(
        session=session,
        user_id=user_id,
        task_id=str(args.get("task_id") or ""),
        data=TaskUpdate.model_validate(changes),
        zone=_zone(),
    )
    return Outcome({"updated": _task(task)}, [task.id], "updated")


async def _delete(session: AsyncSession, user_id: str, args: dict[str, Any]) -> Outcome:
    task = await service.delete_task(
        session=session, user_id=user_id, task_id=str(args.get("task_id") or "")
    )
    return Outcome({"deleted": _task(task)}, [task.id], "deleted")


async def _complete(session: AsyncSession, user_id: str, args: dict[str, Any]) -> Outcome:
    completed = args.get("completed")
    task = await service.set_completed(
        session=session,
        user_id=user_id,
        task_id=str(args.get("task_id") or ""),
        completed=True if completed is None else bool(completed),
        zone=_zone(),
    )
    return Outcome({"task": _task(task)}, [task.id], "completed" if task.completed else "reopened")


def _ids(args: dict[str, Any]) -> list[str]:
    ids = args.get("task_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ValueError("task_ids must be a list of task id strings")
    return ids


async def _bulk_complete(session: AsyncSession, user_id: str, args: dict[str, Any]) -> Outcome:
    completed = args.get("completed")
    done = True if completed is None else bool(completed)
    result = await service.bulk_complete(
        session=session, user_id=user_id, task_ids=_ids(args), completed=done, zone=_zone()
    )
    action = "completed" if done else "reopened"
    return Outcome(result.model_dump(), result.succeeded, action)


async def _bulk_delete(session: AsyncSession, user_id: str, args: dict[str, Any]) -> Outcome:
    result = await service.bulk_delete(session=session, user_id=user_id, task_ids=_ids(args))
    return Outcome(result.model_dump(), result.succeeded, "deleted")


def _list_json(found: Any) -> dict[str, Any]:
    return found.model_dump(mode="json", include={"id", "name", "emoji", "archived", "is_inbox"})


async def _list_lists(session: AsyncSession, user_id: str, args: dict[str, Any]) -> Outcome:
    page = await lists.list_lists(
        session=session, user_id=user_id, include_archived=bool(args.get("include_archived"))
    )
    return Outcome({"lists": [_list_json(x) for x in page.items]})


async def _create_list(session: AsyncSession, user_id: str, args: dict[str, Any]) -> Outcome:
    data = ListCreate.model_validate(_present(args, "name", "color", "emoji"))
    found, created = await lists.get_or_create_list(session=session, user_id=user_id, data=data)
    return Outcome({"created" if created else "already_exists": _list_json(found)})


async def _move_tasks(session: AsyncSession, user_id: str, args: dict[str, Any]) -> Outcome:
    target = await lists.resolve_list(session=session, user_id=user_id, ref=str(args.get("list")))
    result = await lists.move_tasks(
        session=session, user_id=user_id, task_ids=_ids(args), list_id=target.id
    )
    return Outcome({**result.model_dump(), "list": _list_json(target)}, result.succeeded, "moved")


async def _delete_list(session: AsyncSession, user_id: str, args: dict[str, Any]) -> Outcome:
    """The list goes at once, its tasks to the Inbox (undoable); deleting those tasks waits
    for the person's confirmation (the same card as bulk_delete_tasks)."""
    target = await lists.resolve_list(session=session, user_id=user_id, ref=str(args.get("list")))
    result = await lists.delete_list(session=session, user_id=user_id, list_id=target.id)
    outcome = {"deleted_list": _list_json(target), "tasks_moved_to_inbox": result.tasks_moved}
    if result.change_id:
        outcome["undo_change_id"] = result.change_id
    # No `changed`: the list's own undo record (above) puts list and tasks back together.
    return Outcome(outcome, confirm=result.task_ids if args.get("delete_tasks") else [])


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    schema: dict[str, Any]
    progress: str
    handler: Handler


SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "create_task",
        "Create one task. Call once per task when the user names several.",
        _object(
            {
                "title": {"type": "string", "description": "Short task title."},
                "description": {"type": "string"},
                "priority": _PRIORITY,
                "due": _DUE,
                "tags": _TAGS,
                "list": _LIST,
                "parent_id": _PARENT_ID,
                "recurrence": _RECURRENCE,
                "remind_at": _REMIND_AT,
                "remind_before_minutes": _REMIND_BEFORE,
            },
            "title",
        ),
        "Adding a task…",
        _create,
    ),
    ToolSpec(
        "list_tasks",
        "List or search the user's tasks. Use it to find task ids before changing tasks.",
        _object(
            {
                "completed": {"type": "boolean", "description": "Only done (true) or open."},
                "priority": _PRIORITY,
                "tag": {"type": "string"},
                "due_before": _DUE,
                "due_after": _DUE,
                "remind_before": {
                    "type": "string",
                    "description": "Only tasks with a reminder before this date-time (offset).",
                },
                "remind_after": {
                    "type": "string",
                    "description": "Only tasks with a reminder at or after this date-time.",
                },
                "recurring": {"type": "boolean", "description": "Only repeating (true) or not."},
                "q": {"type": "string", "description": "Words to search in title/description."},
                "sort": {
                    "type": "string",
                    "enum": list(get_args(SortKey)),
                },
                "limit": {"type": "integer", "description": "1-200, 50 when omitted."},
                "offset": {"type": "integer"},
                "list": {"type": "string", "description": "Only tasks in this list (name or id)."},
                "view": {
                    "type": "string",
                    "enum": ["today", "upcoming"],
                    "description": "today: open tasks overdue or due today; upcoming: open "
                    "tasks due after today, soonest first.",
                },
                "parent_id": {
                    "type": "string",
                    "description": "A task id: list its steps (subtasks).",
                },
            }
        ),
        "Looking at your tasks…",
        _list,
    ),
    ToolSpec(
        "update_task",
        "Change a task's fields. Give only what changes; an empty string clears due, "
        "recurrence or remind_at.",
        _object(
            {
                "task_id": _TASK_ID,
                "title": {"type": "string"},
                "description": {"type": "string"},
                "priority": _PRIORITY,
                "due": _DUE,
                "tags": _TAGS,
                "completed": {"type": "boolean"},
                "list": _LIST,
                "parent_id": _PARENT_ID,
                "recurrence": _RECURRENCE,
                "remind_at": _REMIND_AT,
                "remind_before_minutes": _REMIND_BEFORE,
            },
            "task_id",
        ),
        "Updating a task…",
        _update,
    ),
    ToolSpec(
        "delete_task",
        "Delete one task for good.",
        _object({"task_id": _TASK_ID}, "task_id"),
        "Deleting a task…",
        _delete,
    ),
    ToolSpec(
        "complete_task",
        "Mark one task done (or not done again with completed=false). A repeating task "
        "stays open and moves to its next date.",
        _object({"task_id": _TASK_ID, "completed": {"type": "boolean"}}, "task_id"),
        "Completing a task…",
        _complete,
    ),
    ToolSpec(
        "bulk_complete_tasks",
        "Mark several tasks done (or not done with completed=false) at once.",
        _object({"task_ids": _TASK_IDS, "completed": {"type": "boolean"}}, "task_ids"),
        "Completing tasks…",
        _bulk_complete,
    ),
    ToolSpec(
        "bulk_delete_tasks",
        "Delete several tasks at once. Nothing is deleted until the user confirms with the "
        "buttons shown in the chat.",
        _object({"task_ids": _TASK_IDS}, "task_ids"),
        "Deleting tasks…",
        _bulk_delete,
    ),
    ToolSpec(
        "list_lists",
        "The user's lists (projects), Inbox first, in their order.",
        _object({"include_archived": {"type": "boolean"}}),
        "Looking at your lists…",
        _list_lists,
    ),
    ToolSpec(
        "create_list",
        "Create a list (project) to group tasks, e.g. Travel. If one with that name exists, "
        "it is returned instead.",
        _object(
            {
                "name": {"type": "string"},
                "color": {"type": "string", "description": "Hex colour like #3b82f6."},
                "emoji": {"type": "string", "description": "One emoji."},
            },
            "name",
        ),
        "Creating a list…",
        _create_list,
    ),
    ToolSpec(
        "move_tasks",
        "Move tasks (with their steps) to a list, at its end, keeping their order.",
        _object({"task_ids": _TASK_IDS, "list": _LIST}, "task_ids", "list"),
        "Moving tasks…",
        _move_tasks,
    ),
    ToolSpec(
        "delete_list",
        "Delete a list. Its tasks move to the Inbox; with delete_tasks=true the user is "
        "asked to confirm deleting them (buttons in the chat).",
        _object(
            {"list": _LIST, "delete_tasks": {"type": "boolean"}},
            "list",
        ),
        "Deleting a list…",
        _delete_list,
    ),
)


def _readable(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ())) or "arguments"
            parts.append(f"{where}: {err.get('msg', '').removeprefix('Value error, ')}")
        return "; ".join(parts)
    return str(exc)


def _parse(raw: str) -> dict[str, Any]:
    try:
        args = json.loads(raw or "{}")
    except ValueError:
        raise ValueError("the arguments were not valid JSON") from None
    if not isinstance(args, dict):
        raise ValueError("the arguments must be a JSON object")
    return args


def _targets(args: dict[str, Any]) -> list[str]:
    """The task ids a call names (to keep their before-images for undo)."""
    ids = args.get("task_ids")
    targets = [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []
    if isinstance(args.get("task_id"), str):
        targets.append(args["task_id"])
    return targets


async def link_changes(
    session: AsyncSession,
    *,
    user_id: str,
    thread_id: str,
    outcome: Outcome,
    before: dict[str, str],
) -> list[dict[str, str]]:
    """Link the changed tasks to the thread's current turn; `[{id, title}]` for the UI chips.
    In the caller's transaction: a failure here undoes the change too."""
    now_titles = await links.titles(session, user_id=user_id, task_ids=outcome.changed)
    if outcome.action != "deleted":
        await links.record(
            session,
            user_id=user_id,
            thread_id=thread_id,
            task_ids=outcome.changed,
            action=outcome.action,
        )
    return [{"id": i, "title": now_titles.get(i) or before.get(i) or ""} for i in outcome.changed]


NOT_SAVED = "The change could not be saved, so nothing was changed. Try again."


def task_tools(sessionmaker: async_sessionmaker[AsyncSession]) -> list[FunctionTool]:
    """The tools, each call one database transaction of its own."""

    def make(spec: ToolSpec) -> FunctionTool:
        async def run(
            chat: AgentContext, user_id: str, args: dict[str, Any], targets: list[str], ask: bool
        ) -> tuple[Outcome, str | None, list[dict[str, str]]]:
            """The call's reads and writes: one transaction, run to its end even if the
            turn is cancelled meanwhile (see app/db/uncancellable.py)."""
            change_id = None
            touched: list[dict[str, str]] = []
            async with ToolTransaction(**sessionmaker.kw) as session:
                if ask:
                    # Changes nothing: the person confirms in the chat (app/chat/confirm.py).
                    outcome = Outcome(
                        await confirm.request(chat, session, user_id, spec.name, targets, args)
                    )
                else:
                    before = await links.titles_before(session, user_id, args)
                    images = await undo.snapshots(session, user_id, targets)
                    outcome = await spec.handler(session, user_id, args)
                    if outcome.confirm:  # e.g. delete_list's tasks
                        outcome.result["confirmation"] = await confirm.request(
                            chat, session, user_id, "bulk_delete_tasks", outcome.confirm, {}
                        )
                    if outcome.changed:
                        # Tasks the call created have no before-image: undo removes them.
                        change_id = await undo.record(
                            session,
                            user_id=user_id,
                            action=outcome.action,
                            before={i: images.get(i) for i in outcome.changed},
                        )
                        touched = await link_changes(
                            session,
                            user_id=user_id,
                            thread_id=chat.thread.id,
                            outcome=outcome,
                            before=before,
                        )
                await session.finish()
            return outcome, change_id, touched

        async def invoke(ctx: ToolContext[AgentContext], raw: str) -> str:
            chat: AgentContext = ctx.context
            context: ChatContext = chat.request_context
            user_id = context.user_id
            await chat.stream(ProgressUpdateEvent(text=spec.progress))
            outcome = Outcome(None)
            touched: list[dict[str, str]] = []
            change_id = None
            taken: tuple[str, int] | None = None
            try:
                args = _parse(raw)
                targets = _ids(args) if spec.name.startswith("bulk_") else _targets(args)
                share = budget.cost(spec.name, targets)
                # Taken before anything awaits: parallel calls cannot race the budget.
                ask = spec.name == "bulk_delete_tasks" or (
                    share is not None and not context.budget.take(*share)
                )
                taken = None if ask else share
                outcome, change_id, touched = await run_to_end(
                    run(chat, user_id, args, targets, ask)
                )
                output = json.dumps(outcome.result, default=str)
            except (DomainError, ValidationError, ValueError) as exc:
                # The model reads this and can correct itself; the turn goes on.
                output = json.dumps({"error": _readable(exc)})
            except SQLAlchemyError as exc:
                log.warning("tool %s not saved: %s", spec.name, type(exc).__name__)
                output = json.dumps({"error": NOT_SAVED})
            if taken is not None and not outcome.changed:
                context.budget.give_back(*taken)  # nothing changed: nothing spent
            if outcome.changed:
                # Before the hidden item below: ChatKit stores that item before it passes
                # on the next event, and the task panel need not wait for that write.
                await chat.stream(
                    ClientEffectEvent(
                        name=TASKS_CHANGED,
                        # `tasks` ([{id, title}]) lets the chat show which tasks a reply touched.
                        # `change_id` lets the task panel undo it (POST /api/tasks/undo/{id}).
                        data={
                            "action": outcome.action,
                            "ids": outcome.changed,
                            "tasks": touched,
                            "change_id": change_id,
                        },
                    )
                )
            # Kept (hidden from the UI) so the next turn's history includes this call.
            await chat.stream(
                ThreadItemDoneEvent(
                    item=HiddenContextItem(
                        id=chat.generate_id("message"),
                        thread_id=chat.thread.id,
                        created_at=datetime.now(UTC),
                        content={
                            TOOL_CALL_KEY: {
                                "call_id": ctx.tool_call_id,
                                "name": spec.name,
                                "arguments": raw,
                                "output": output,
                            }
                        },
                    )
                )
            )
            return output

        return FunctionTool(
            name=spec.name,
            description=spec.description,
            params_json_schema=spec.schema,
            on_invoke_tool=invoke,
            strict_json_schema=False,
        )

    return [make(spec) for spec in SPECS]
