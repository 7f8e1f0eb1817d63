"""Builds the sync service for the running app (or says why sync is off)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.db.postgres import is_postgres_url
from app.sync.settings import device_id, load_sync_key, load_sync_url, read_space

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
            "Sync is off: no sync URL is set. Set it up in Settings → Sync (or run "
            "`taskchat sync setup`)."
        )
    return None


def build_sync_service(
    settings: Settings, engine: AsyncEngine, user_id: str
) -> tuple[SyncService | None, str | None]:
    reason = sync_off_reason(settings)
    if reason:
        return None, reason
    # Imported only when sync is on: asyncpg is ~60 ms of every start otherwise.
    from app.sync.crypto import RowCipher, parse_code
    from app.sync.service import SyncService

    url, _source = load_sync_url(settings)
    assert url
    interval = float(os.environ.get("TASKCHAT_SYNC_INTERVAL", "60") or 60)
    space = read_space(settings)
    cipher = None
    if space is not None:
        code = load_sync_key(settings)
        if not code:
            return None, (
                "Sync is off: this device belongs to a sync space, but its sync key could "
                "not be read (is the keyring locked?). Unlock it and restart TaskChat, or "
                "join the space again in Settings → Sync."
            )
        cipher = RowCipher(parse_code(code))
    service = SyncService(
        engine=engine,
        url=url,
        user_id=user_id,
        device_id=device_id(settings),
        interval=max(1.0, interval),
        cipher=cipher,
        device_name=(space or {}).get("device_name"),
    )
    if space is not None:
        service.status.space = {
            "id": space["space_id"],
            "role": space.get("role"),
            "recovery_hint": space.get("recovery_hint"),
        }
    else:
        service.status.message = (
            "Syncing in the old unencrypted format: the database host can read your "
            "tasks. Start a sync space in Settings → Sync to encrypt them end to end."
        )
    return service, None
