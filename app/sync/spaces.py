"""Setting up sync without files: check a URL, start a sync space, join one, leave it.

Starting creates a sync key and shows it as a pairing code; joining takes the URL and
the code, adopts the space's profile (user id) and keeps — re-scoped to that profile and
pushed into the space — every task and conversation the device already had. A wrong
code is refused before anything is written, here or in the database.

A device that synced in the old, unencrypted format upgrades its rows in place when it
starts a space on the same database: it pulls every unencrypted row first, pushes them
all sealed into the new space, and only then deletes the unencrypted copies.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg
import segno
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.db import postgres
from app.errors import DomainError, InvalidInput
from app.profile import adopt_user_id
from app.sync import pairing, remote
from app.sync import settings as sync_settings
from app.sync.crypto import RowAuthError, RowCipher, format_code, new_sync_key, parse_code
from app.sync.crypto import recovery_hint as hint_for
from app.sync.service import SyncService, explain

log = logging.getLogger(__name__)
UPGRADE_ATTEMPTS = 5


class SyncUnreachable(DomainError):
    """The sync database could not be reached or refused the connection."""

    code = "sync_unreachable"
    status = 502


class WrongPairingCode(DomainError):
    code = "wrong_pairing_code"
    status = 403


@dataclass
class SetupResult:
    role: str  # "started" | "joined"
    space_id: str
    recovery_hint: str
    user_id: str
    target: str
    secrets: str  # "keyring" | "file"
    code: str | None = None  # shown once, to the device that started the space
    qr: str | None = None  # the code as a QR code (SVG data URI)
    kept: dict[str, int] = field(default_factory=dict)  # rows re-scoped on joining
    upgraded_rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_device_name() -> str:
    return (socket.gethostname() or "").strip() or "This device"


def qr_svg(code: str) -> str:
    """The pairing code as a QR code (an SVG data URI) for a phone's camera."""
    return segno.make(code, error="m").svg_data_uri(scale=4, border=2)


def _check_url(url: str) -> str:
    url = (url or "").strip()
    if not postgres.is_postgres_url(url):
        raise InvalidInput(
            "The sync URL must be a postgresql:// URL. In Neon: open your project, press "
            "Connect, and copy the connection string (pooled is fine).",
            field="url",
        )
    return url


async def _open(url: str) -> asyncpg.Connection:
    """A connection with the schemas in place (retried while a Neon compute wakes up)."""
    target = sync_settings.describe_url(url)
    conn = None
    try:
        conn = await postgres.connect(url)
        await remote.ensure_schema(conn)
        await pairing.ensure_schema(conn)
        return conn
    except Exception as exc:
        if conn is not None:
            conn.terminate()
        raise SyncUnreachable(explain(exc, target)) from None


async def check_connection(*, url: str) -> dict[str, Any]:
    """Connect once (cold starts and TLS handled) and say so in plain words."""
    url = _check_url(url)
    conn = await _open(url)
    try:
        version = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    target = sync_settings.describe_url(url)
    return {
        "ok": True,
        "target": target,
        "server_version": str(version),
        "message": f"Connected to {target} (PostgreSQL {str(version).split()[0]}).",
    }


async def start_space(
    *,
    settings: Settings,
    engine: AsyncEngine,
    url: str,
    user_id: str,
    device_id: str,
    device_name: str | None = None,
    allow_plaintext_file: bool = False,
) -> SetupResult:
    url = _check_url(url)
    sync_settings.secrets_storable(settings, allow_plaintext_file=allow_plaintext_file)
    name = (device_name or "").strip()[:80] or default_device_name()
    conn = await _open(url)
    try:
        legacy = await pairing.plaintext_rows(conn, user_id)
        key = new_sync_key()
        cipher = RowCipher(key)
        await pairing.create_space(conn, cipher, user_id=user_id)
        await pairing.register_device(conn, cipher, device_id=device_id, name=name)
    finally:
        await conn.close()
    code = format_code(key)
    place = sync_settings.store_space_secrets(
        settings, url=url, key_code=code, allow_plaintext_file=allow_plaintext_file
    )
    sync_settings.write_space(
        settings,
        {
            "space_id": cipher.space_id,
            "role": "started",
            "recovery_hint": hint_for(key),
            "device_name": name,
        },
    )
    async with engine.begin() as lconn:
        await lconn.run_sync(pairing.enqueue_all, user_id)
    if legacy:
        await _upgrade_plaintext(engine, url, user_id, device_id, name, cipher)
    return SetupResult(
        role="started",
        space_id=cipher.space_id,
        recovery_hint=hint_for(key),
        user_id=user_id,
        target=sync_settings.describe_url(url),
        secrets=place,
        code=code,
        qr=qr_svg(code),
        upgraded_rows=legacy,
    )


async def _upgrade_plaintext(
    engine: AsyncEngine, url: str, user_id: str, device_id: str, name: str, cipher: RowCipher
) -> None:
    """Bring the unencrypted rows of `user_id` here, push them sealed, then delete them."""
    plain = SyncService(engine=engine, url=url, user_id=user_id, device_id=device_id)
    sealed = SyncService(
        engine=engine,
        url=url,
        user_id=user_id,
        device_id=device_id,
        clock=plain.clock,
        cipher=cipher,
        device_name=name,
    )
    try:
        for _ in range(UPGRADE_ATTEMPTS):
            await plain.run_once()  # every unencrypted row is here now
            conn = await plain._connection()
            seen = await remote.head(conn, user_id)
            async with engine.begin() as lconn:
                await lconn.run_sync(pairing.enqueue_all, user_id)
            await sealed.run_once()  # ... and sealed in the space
            if await pairing.retire_plaintext(
                conn, user_id=user_id, space_id=cipher.space_id, seen_seq=seen
            ):
                log.info("sync: unencrypted rows upgraded into the encrypted space")
                return
        raise SyncUnreachable(
            "Other devices kept writing unencrypted rows while this one upgraded them; "
            "the encrypted space has everything so far. Try again."
        )
    finally:
        await sealed.stop()
        await plain.stop()


async def join_space(
    *,
    settings: Settings,
    engine: AsyncEngine,
    url: str,
    code: str,
    user_id: str,
    device_id: str,
    device_name: str | None = None,
    allow_plaintext_file: bool = False,
) -> SetupResult:
    key = parse_code(code)
    url = _check_url(url)
    sync_settings.secrets_storable(settings, allow_plaintext_file=allow_plaintext_file)
    name = (device_name or "").strip()[:80] or default_device_name()
    cipher = RowCipher(key)
    refused = WrongPairingCode(
        "No sync space in this database opens with that pairing code. Check the code "
        "shown on the first device (Settings → Sync) and that both devices use the same "
        "database URL. Nothing was changed on this device.",
        field="code",
    )
    conn = await _open(url)
    try:
        try:
            profile = await pairing.space_profile(conn, cipher)
        except RowAuthError:
            profile = None
        if profile is None:
            raise refused
        await pairing.register_device(conn, cipher, device_id=device_id, name=name)
    finally:
        await conn.close()
    space_user = profile["user_id"]
    place = sync_settings.store_space_secrets(
        settings, url=url, key_code=format_code(key), allow_plaintext_file=allow_plaintext_file
    )
    sync_settings.write_space(
        settings,
        {
            "space_id": cipher.space_id,
            "role": "joined",
            "recovery_hint": hint_for(key),
            "device_name": name,
        },
    )

    def adopt(conn: Any) -> dict[str, int]:
        moved = pairing.rescope(conn, user_id, space_user)
        pairing.enqueue_all(conn, space_user)
        return moved

    async with engine.begin() as lconn:
        kept = await lconn.run_sync(adopt)
    if space_user != user_id:
        adopt_user_id(settings, space_user)
    return SetupResult(
        role="joined",
        space_id=cipher.space_id,
        recovery_hint=hint_for(key),
        user_id=space_user,
        target=sync_settings.describe_url(url),
        secrets=place,
        kept=kept,
    )


async def leave_space(*, settings: Settings, url: str | None, key_code: str | None) -> None:
    """Stop syncing on this device: mark it removed in the space (best effort) and forget
    the URL and key here. The data on this device stays."""
    if url and key_code:
        try:
            cipher = RowCipher(parse_code(key_code))
            conn = await postgres.connect(url, attempts=2)
            try:
                await pairing.ensure_schema(conn)
                await pairing.remove_device(
                    conn, cipher, device_id=sync_settings.device_id(settings)
                )
            finally:
                await conn.close()
        except Exception as exc:  # offline: the others see it as not seen for a while
            log.info("could not mark this device as gone: %s", type(exc).__name__)
    sync_settings.clear_space(settings)


def cipher_for(settings: Settings) -> RowCipher | None:
    code = sync_settings.load_sync_key(settings)
    if not code:
        return None
    try:
        return RowCipher(parse_code(code))
    except InvalidInput:
        return None


async def devices(*, url: str, cipher: RowCipher, this_device: str) -> list[dict[str, Any]]:
    conn = await _open(url)
    try:
        found = await pairing.list_devices(conn, cipher, this_device=this_device)
    finally:
        await conn.close()
    return [d.as_dict() for d in found]


async def remove_device(*, url: str, cipher: RowCipher, device_id: str) -> bool:
    conn = await _open(url)
    try:
        return await pairing.remove_device(conn, cipher, device_id=device_id)
    finally:
        await conn.close()
