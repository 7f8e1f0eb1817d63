"""REST routes for the update notice: /api/updates (over app.updates)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict

from app import __version__
from app.api.deps import SettingsDep
from app.config import Settings
from app.updates import UpdateChecker, enabled, env_allows, read_state, write_state

router = APIRouter(prefix="/api/updates", tags=["updates"])


class UpdateOut(BaseModel):
    version: str
    url: str
    notes: str
    name: str
    published_at: str | None


class UpdatesOut(BaseModel):
    current_version: str
    enabled: bool
    # False when TASKCHAT_UPDATE_CHECK turns it off: the UI cannot turn it back on.
    can_enable: bool
    checked_at: str | None
    update: UpdateOut | None


class UpdatesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


def _checker(request: Request) -> UpdateChecker:
    checker = getattr(request.app.state, "updates", None)
    return checker if checker is not None else UpdateChecker(request.app.state.settings)


def _status(request: Request, settings: Settings) -> UpdatesOut:
    release = _checker(request).notice()
    checked = read_state(settings).get("checked_at")
    return UpdatesOut(
        current_version=__version__,
        enabled=enabled(settings),
        can_enable=env_allows(),
        checked_at=checked if isinstance(checked, str) else None,
        update=UpdateOut(**asdict(release)) if release else None,
    )


@router.get("", response_model=UpdatesOut)
def get_updates(request: Request, settings: SettingsDep) -> UpdatesOut:
    """Whether a newer TaskChat exists (from the last daily check; never asks the feed)."""
    return _status(request, settings)


@router.put("", response_model=UpdatesOut)
def put_updates(
    request: Request, settings: SettingsDep, data: Annotated[UpdatesIn, Body()]
) -> UpdatesOut:
    """Turn the daily check on or off (kept in updates.json)."""
    write_state(settings, enabled=data.enabled)
    return _status(request, settings)
