"""REST routes for lists and for moving tasks: thin wrappers over app.lists.service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import CurrentUser, SessionDep
from app.lists import service
from app.lists.models import (
    BulkMove,
    DeleteMode,
    ListCreate,
    ListDeleteResult,
    ListMove,
    ListPage,
    ListPublic,
    ListUpdate,
    TaskMove,
)
from app.search.links import with_source
from app.tasks.models import BulkResult, TaskPublic

router = APIRouter(tags=["lists"])


@router.get("/api/lists", response_model=ListPage)
async def list_lists(
    session: SessionDep, user_id: CurrentUser, include_archived: bool = True
) -> ListPage:
    return await service.list_lists(
        session=session, user_id=user_id, include_archived=include_archived
    )


@router.post("/api/lists", response_model=ListPublic, status_code=status.HTTP_201_CREATED)
async def create_list(session: SessionDep, user_id: CurrentUser, data: ListCreate) -> ListPublic:
    return await service.create_list(session=session, user_id=user_id, data=data)


@router.get("/api/lists/{list_id}", response_model=ListPublic)
async def get_list(session: SessionDep, user_id: CurrentUser, list_id: str) -> ListPublic:
    return await service.get_list(session=session, user_id=user_id, list_id=list_id)


@router.patch("/api/lists/{list_id}", response_model=ListPublic)
async def update_list(
    session: SessionDep, user_id: CurrentUser, list_id: str, data: ListUpdate
) -> ListPublic:
    return await service.update_list(session=session, user_id=user_id, list_id=list_id, data=data)


@router.post("/api/lists/{list_id}/move", response_model=ListPublic)
async def move_list(
    session: SessionDep, user_id: CurrentUser, list_id: str, data: ListMove
) -> ListPublic:
    return await service.move_list(session=session, user_id=user_id, list_id=list_id, data=data)


@router.delete("/api/lists/{list_id}", response_model=ListDeleteResult)
async def delete_list(
    session: SessionDep,
    user_id: CurrentUser,
    list_id: str,
    tasks: Annotated[DeleteMode, Query()] = "move_to_inbox",
) -> ListDeleteResult:
    return await service.delete_list(session=session, user_id=user_id, list_id=list_id, mode=tasks)


@router.post("/api/tasks/move", response_model=BulkResult)
async def move_tasks(session: SessionDep, user_id: CurrentUser, data: BulkMove) -> BulkResult:
    return await service.move_tasks(
        session=session, user_id=user_id, task_ids=data.task_ids, list_id=data.list_id
    )


@router.post("/api/tasks/{task_id}/move", response_model=TaskPublic)
async def move_task(
    session: SessionDep, user_id: CurrentUser, task_id: str, data: TaskMove
) -> TaskPublic:
    task = await service.move_task(session=session, user_id=user_id, task_id=task_id, data=data)
    return await with_source(session, user_id=user_id, task=task)
