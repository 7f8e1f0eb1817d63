"""FastAPI dependencies: settings, database session and the current user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.db.engine import read_only_sessionmaker
from app.errors import Unauthorized


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for routes that only read: on SQLite it takes no write lock, so it never
    waits behind a writer (an import's batch) and sees the last commit."""
    state = request.app.state
    maker = getattr(state, "read_sessionmaker", None)
    if maker is None:
        maker = state.read_sessionmaker = read_only_sessionmaker(state.sessionmaker)
    async with maker() as session:
        yield session


async def get_current_user(request: Request) -> str:
    """The user id every query is scoped to, from the verified session (app/security).

    `async` though it never awaits: FastAPI runs a plain `def` dependency in its thread
    pool, a hop to a worker thread and back on every request (a chat turn waited for it
    before anything else)."""
    user = getattr(request.state, "user_id", None)
    if not user:
        # Fail closed: a route reached without the session middleware must not fall back
        # to any default user.
        raise Unauthorized("Sign in again: open TaskChat from its window or launch link.")
    return user


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session)]
CurrentUser = Annotated[str, Depends(get_current_user)]
