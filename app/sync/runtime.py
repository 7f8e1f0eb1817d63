"""Builds the sync service for the running app (or says why sync is off)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.db.postgres import is_postgres_url
from app.sync.settings import device_id, load_sync_url

if TYPE_CHECKING:
    from app.sync.service import SyncService


def sync_off_reason(settings: Settings) -> str | None:
    if is_postgres_url(settings.database_url):
        return (
            "TaskChat keeps its data in PostgreSQL (TASKCHAT_DATABASE_URL), which every "
            "device already shares, so there is nothing to sync."
        )
    url, _source = load_sync_url(settings)
    if not url:
        return (
            "Sync is off: no sync URL is set (set TASKCHAT_SYNC_URL, or run "
            "`taskchat sync --set-url`)."
        )
    return None


def build_sync_service(
    settings: Settings, engine: AsyncEngine, user_id: str
) -> tuple[SyncService | None, str | None]:
    reason = sync_off_reason(settings)
    if reason:
        return None, reason
    # Imported only when sync is on: asyncpg is ~60 ms of every start otherwise.
    from app.sync.service import SyncService

    url, _source = load_sync_url(settings)
    assert url
    interval = float(os.environ.get("TASKCHAT_SYNC_INTERVAL", "60") or 60)
    return (
        SyncService(
            engine=engine,
            url=url,
            user_id=user_id,
            device_id=device_id(settings),
            interval=max(5.0, interval),
        ),
        None,
    )
