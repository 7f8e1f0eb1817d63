"""FastAPI dependencies: settings, database session and the current user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


def get_current_user(request: Request) -> str:
    """The user id every query is scoped to.

    The session layer (app/security) puts it on request.state; until then the local
    profile's id is the only user.
    """
    user = getattr(request.state, "user_id", None)
    return user or request.app.state.local_user_id


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
CurrentUser = Annotated[str, Depends(get_current_user)]
