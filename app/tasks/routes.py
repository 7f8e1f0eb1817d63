"""REST routes for tasks: thin wrappers over app.tasks.service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status
from pydantic import BaseModel

from app.api.deps import CurrentUser, SessionDep, SettingsDep
from app.localtime import local_zone
from app.search.links import with_source, with_sources
from app.tasks import service
from app.tasks.models import TaskCreate, TaskPage, TaskPublic, TaskQuery, TaskUpdate
from app.tasks.service import SubtaskPolicy

router = APIRouter(prefix="/api/tasks", tags=["tasks"])


class CompleteBody(BaseModel):
    completed: bool = True
    # With open steps: "ask" (409 naming them), "complete" them too, or "leave" them open.
    subtasks: SubtaskPolicy = "ask"


@router.get("", response_model=TaskPage)
async def list_tasks(
    session: SessionDep,
    user_id: CurrentUser,
    settings: SettingsDep,
    query: Annotated[TaskQuery, Query()],
) -> TaskPage:
    zone, _ = local_zone(settings)
    page = await service.list_tasks(session=session, user_id=user_id, query=query, zone=zone)
    page.items = await with_sources(session, user_id=user_id, tasks=page.items)
    return page


@router.post("", response_model=TaskPublic, status_code=status.HTTP_201_CREATED)
async def create_task(session: SessionDep, user_id: CurrentUser, data: TaskCreate) -> TaskPublic:
    return await service.create_task(session=session, user_id=user_id, data=data)


@router.get("/{task_id}", response_model=TaskPublic)
async def get_task(session: SessionDep, user_id: CurrentUser, task_id: str) -> TaskPublic:
    task = await service.get_task(session=session, user_id=user_id, task_id=task_id)
    return await with_source(session, user_id=user_id, task=task)


@router.patch("/{task_id}", response_model=TaskPublic)
async def update_task(
    session: SessionDep,
    user_id: CurrentUser,
    task_id: str,
    data: TaskUpdate,
    subtasks: Annotated[SubtaskPolicy, Query()] = "ask",
) -> TaskPublic:
    task = await service.update_task(
        session=session, user_id=user_id, task_id=task_id, data=data, subtasks=subtasks
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
    task_id: str,
    body: Annotated[CompleteBody | None, Body()] = None,
) -> TaskPublic:
    body = body or CompleteBody()
    task = await service.set_completed(
        session=session,
        user_id=user_id,
        task_id=task_id,
        completed=body.completed,
        subtasks=body.subtasks,
    )
    return await with_source(session, user_id=user_id, task=task)
