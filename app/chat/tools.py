"""The seven task tools the model calls: flat Gemini-safe schemas over app/tasks/service.py."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
from app.db.uncancellable import run_to_end
from app.errors import DomainError
from app.search import links
from app.tasks import service, undo
from app.tasks.models import SortKey, TaskCreate, TaskPublic, TaskQuery, TaskUpdate

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
_TASK_ID = {"type": "string", "description": "The task's id, as returned by list_tasks."}
_TASK_IDS = {"type": "array", "items": {"type": "string"}, "description": "Task ids."}


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


Handler = Callable[[AsyncSession, str, dict[str, Any]], Awaitable[Outcome]]


def _present(args: dict[str, Any], *names: str) -> dict[str, Any]:
    # Models often send null for "not given"; only an explicit value counts.
    return {n: args[n] for n in names if args.get(n) is not None}


def _task(task: TaskPublic) -> dict[str, Any]:
    data = task.model_dump(mode="json", exclude={"created_at", "updated_at", "source"})
    if not data["description"]:
        del data["description"]
    return data


async def _create(session: AsyncSession, user_id: str, args: dict[str, Any]) -> Outcome:
    data = TaskCreate.model_validate(
        _present(args, "title", "description", "priority", "due", "tags")
    )
    task = await service.create_task(session=session, user_id=user_id, data=data)
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
            "q",
            "sort",
            "limit",
            "offset",
        )
    )
    page = await service.list_tasks(session=session, user_id=user_id, query=query)
    return Outcome({"total": page.total, "tasks": [_task(t) for t in page.items]})


async def _update(session: AsyncSession, user_id: str, args: dict[str, Any]) -> Outcome:
    changes = _present(args, "title", "description", "priority", "due", "tags", "completed")
    if "due" in changes and changes["due"] == "":
        changes["due"] = None  # the documented way to clear a due date
    task = await service.update_task(
        session=session,
        user_id=user_id,
        task_id=str(args.get("task_id") or ""),
        data=TaskUpdate.model_validate(changes),
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
        session=session, user_id=user_id, task_ids=_ids(args), completed=done
    )
    action = "completed" if done else "reopened"
    return Outcome(result.model_dump(), result.succeeded, action)


async def _bulk_delete(session: AsyncSession, user_id: str, args: dict[str, Any]) -> Outcome:
    result = await service.bulk_delete(session=session, user_id=user_id, task_ids=_ids(args))
    return Outcome(result.model_dump(), result.succeeded, "deleted")


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
                "q": {"type": "string", "description": "Words to search in title/description."},
                "sort": {
                    "type": "string",
                    "enum": list(get_args(SortKey)),
                },
                "limit": {"type": "integer", "description": "1-200, 50 when omitted."},
                "offset": {"type": "integer"},
            }
        ),
        "Looking at your tasks…",
        _list,
    ),
    ToolSpec(
        "update_task",
        "Change a task's fields. Give only what changes; due as an empty string clears it.",
        _object(
            {
                "task_id": _TASK_ID,
                "title": {"type": "string"},
                "description": {"type": "string"},
                "priority": _PRIORITY,
                "due": _DUE,
                "tags": _TAGS,
                "completed": {"type": "boolean"},
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
        "Mark one task done (or not done again with completed=false).",
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
