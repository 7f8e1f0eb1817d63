"""REST routes for tasks: thin wrappers over app.tasks.service (and app.tasks.undo)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status
from pydantic import BaseModel
from sqlmodel import col, select

from app.api.deps import CurrentUser, SessionDep, SettingsDep
from app.localtime import local_zone as view_zone
from app.search.links import with_source, with_sources
from app.tasks import service, undo
from app.tasks.models import Task, TaskCreate, TaskPage, TaskPublic, TaskQuery, TaskUpdate
from app.tasks.recurrence import local_zone
from app.tasks.service import SubtaskPolicy

router = APIRouter(prefix="/api/tasks", tags=["tasks"])


class CompleteBody(BaseModel):
    completed: bool = True
    # With open steps: "ask" (409 naming them), "complete" them too, or "leave" them open.
    subtasks: SubtaskPolicy = "ask"


class UndoResult(BaseModel):
    change_id: str
    action: str
    ids: list[str]
    tasks: list[TaskPublic]


# First: /undo/{change_id} must win over /{task_id}/… (it did as its own router, included first).
@router.post("/undo/{change_id}", response_model=UndoResult)
async def undo_change(session: SessionDep, user_id: CurrentUser, change_id: str) -> UndoResult:
    change = await undo.undo(session, user_id, change_id)
    restored: Sequence[Task] = (
        await session.exec(
            select(Task).where(Task.user_id == user_id, col(Task.id).in_(list(change.before)))
        )
    ).all()
    return UndoResult(
        change_id=change.id,
        action=change.action,
        ids=list(change.before),
        tasks=[TaskPublic.from_row(r) for r in restored],
    )


@router.get("", response_model=TaskPage)
async def list_tasks(
    session: SessionDep,
    user_id: CurrentUser,
    settings: SettingsDep,
    query: Annotated[TaskQuery, Query()],
) -> TaskPage:
    zone, _ = view_zone(settings)
    page = await service.list_tasks(session=session, user_id=user_id, query=query, zone=zone)
    page.items = await with_sources(session, user_id=user_id, tasks=page.items)
    return page


@router.post("", response_model=TaskPublic, status_code=status.HTTP_201_CREATED)
async def create_task(
    session: SessionDep, user_id: CurrentUser, settings: SettingsDep, data: TaskCreate
) -> TaskPublic:
    return await service.create_task(
        session=session, user_id=user_id, data=data, zone=local_zone(settings.timezone)
    )


@router.get("/{task_id}", response_model=TaskPublic)
async def get_task(session: SessionDep, user_id: CurrentUser, task_id: str) -> TaskPublic:
    task = await service.get_task(session=session, user_id=user_id, task_id=task_id)
    return await with_source(session, user_id=user_id, task=task)


@router.patch("/{task_id}", response_model=TaskPublic)
async def update_task(
    session: SessionDep,
    user_id: CurrentUser,
    settings: SettingsDep,
    task_id: str,
    data: TaskUpdate,
    subtasks: Annotated[SubtaskPolicy, Query()] = "ask",
) -> TaskPublic:
    task = await service.update_task(
        session=session,
        user_id=user_id,
        task_id=task_id,
        data=data,
        subtasks=subtasks,
        zone=local_zone(settings.timezone),
    )
    return await with_source(session, user_id=user_id, task=task)


@router.delete("/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_task(session: SessionDep, user_id: CurrentUser, task_id: str) -> Response:
    await service.delete_task(session=session, user_id=user_id, task_id=task_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{task_id}/complete", response_model=TaskPublic)
async def complete_task(
    session: SessionDep,
    user_id: CurrentUser,
    settings: SettingsDep,
    task_id: str,
    body: Annotated[CompleteBody | None, Body()] = None,
) -> TaskPublic:
    """A repeating task answers open again, due at its next occurrence."""
    body = body or CompleteBody()
    task = await service.set_completed(
        session=session,
        user_id=user_id,
        task_id=task_id,
        completed=body.completed,
        subtasks=body.subtasks,
        zone=local_zone(settings.timezone),
    )
    return await with_source(session, user_id=user_id, task=task)


@router.post("/{task_id}/skip", response_model=TaskPublic)
async def skip_task(
    session: SessionDep, user_id: CurrentUser, settings: SettingsDep, task_id: str
) -> TaskPublic:
    """ "Skip this one": a repeating task moves to its next occurrence, not completed."""
    task = await service.skip_occurrence(
        session=session, user_id=user_id, task_id=task_id, zone=local_zone(settings.timezone)
    )
    return await with_source(session, user_id=user_id, task=task)
