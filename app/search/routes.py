"""GET /api/search: threads, messages and tasks of the signed-in user, best first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CurrentUser, SessionDep
from app.search import links
from app.search.service import LIMIT_MAX, SearchResults, search

router = APIRouter(tags=["search"])


@router.get("/api/search", response_model=SearchResults)
async def search_route(
    session: SessionDep,
    user_id: CurrentUser,
    q: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=LIMIT_MAX)] = 20,
) -> SearchResults:
    return await search(session=session, user_id=user_id, q=q, limit=limit)


@router.get("/api/threads/{thread_id}/task-links")
async def thread_task_links(session: SessionDep, user_id: CurrentUser, thread_id: str) -> dict:
    """Which tasks each turn changed: chips under the replies after a reload."""
    return {"links": await links.thread_links(session, user_id=user_id, thread_id=thread_id)}
