"""Reminder routes: notices for in-app toasts, and pausing reminders for a while."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from app.api.deps import CurrentUser
from app.reminders.notices import NoticePage

router = APIRouter(prefix="/api/reminders", tags=["reminders"])


class PauseBody(BaseModel):
    minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 60


class PauseState(BaseModel):
    paused_until: datetime | None


@router.get("/notices", response_model=NoticePage)
def notices(
    request: Request, user_id: CurrentUser, after: Annotated[int, Query(ge=0)] = 0
) -> NoticePage:
    """Reminders shown since `after` (delivered "toast" ones are for the app to show)."""
    return request.app.state.reminder_notices.after(after)


@router.post("/pause", response_model=PauseState)
def pause(request: Request, user_id: CurrentUser, body: PauseBody) -> PauseState:
    """Hold reminders for `minutes` (0 resumes); held reminders show when it ends."""
    scheduler = getattr(request.app.state, "reminders", None)
    until = scheduler.pause(body.minutes) if scheduler is not None else None
    return PauseState(paused_until=until)
