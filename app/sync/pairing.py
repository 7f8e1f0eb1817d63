"""Sync spaces and their devices in the sync database, and the local steps of pairing.

Remote tables (created on first use, idempotent, beside remote.py's):

    taskchat_sync_space  (space_id PK, profile, created_at)
        profile: the space's profile (its user id), sealed with the space's key
    taskchat_sync_device (space_id, device_id) PK, info, last_seen, removed
        info: the device's name, sealed; last_seen: the server's clock at its last round

The space id is derived from the sync key (app/sync/crypto.py), so a device that holds
the pairing code finds its space and a wrong code finds none: nothing is written then.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

import asyncpg
from sqlalchemy.engine import Connection

from app.lists.models import inbox_id
from app.lists.ordering import ensure_inbox_sync
from app.sync import local, remote
from app.sync.crypto import RowAuthError, RowCipher
from app.sync.merge import group_of

_LOCK_KEY = 0x7A5C_5EC1
DDL = (
    "CREATE TABLE IF NOT EXISTS taskchat_sync_space (space_id text PRIMARY KEY, "
    "profile text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE IF NOT EXISTS taskchat_sync_device (space_id text NOT NULL, "
    "device_id text NOT NULL, info text NOT NULL, "
    "last_seen timestamptz NOT NULL DEFAULT now(), removed boolean NOT NULL DEFAULT false, "
    "PRIMARY KEY (space_id, device_id))",
)
QUARANTINE = "quarantine:"
P = ParamSpec("P")
T = TypeVar("T")


def _bounded(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Like remote.py's calls: a frozen connection ends within remote.QUERY_TIMEOUT."""

    @functools.wraps(fn)
    async def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            async with asyncio.timeout(remote.QUERY_TIMEOUT):
                return await fn(*args, **kwargs)
        except TimeoutError:
            raise remote.SyncStalled(
                f"The sync database stopped answering (nothing for "
                f"{remote.QUERY_TIMEOUT:g} seconds), so TaskChat dropped the connection. "
                "Nothing was lost; it will try again."
            ) from None

    return call


@dataclass
class Device:
    id: str
    name: str
    last_seen: str
    removed: bool
    this_device: bool

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@_bounded
async def ensure_schema(conn: asyncpg.Connection) -> None:
    ready = await conn.fetchval(
        "SELECT to_regclass('taskchat_sync_space') IS NOT NULL "
        "AND to_regclass('taskchat_sync_device') IS NOT NULL"
    )
    if ready:
        return
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        for statement in DDL:
            await conn.execute(statement)


@_bounded
async def create_space(conn: asyncpg.Connection, cipher: RowCipher, *, user_id: str) -> None:
    profile = cipher.seal_blob(
        {"user_id": user_id, "created": datetime.now(UTC).isoformat()},
        f"profile:{cipher.space_id}",
    )
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO taskchat_sync_space (space_id, profile) VALUES ($1, $2)",
            cipher.space_id,
            profile,
        )


@_bounded
async def space_profile(conn: asyncpg.Connection, cipher: RowCipher) -> dict[str, Any] | None:
    """The space this key opens, or None when the database holds no such space.
    Raises RowAuthError when a space is there but its profile does not authenticate."""
    async with conn.transaction():
        sealed = await conn.fetchval(
            "SELECT profile FROM taskchat_sync_space WHERE space_id = $1", cipher.space_id
        )
    if sealed is None:
        return None
    profile = cipher.open_blob(sealed, f"profile:{cipher.space_id}")
    if not isinstance(profile, dict) or not isinstance(profile.get("user_id"), str):
        raise RowAuthError("the space profile is malformed")
    return profile


@_bounded
async def touch_device(
    conn: asyncpg.Connection, cipher: RowCipher, *, device_id: str, name: str
) -> bool:
    """Note this device's round (last seen now); False if it was removed from the space."""
    async with conn.transaction():
        removed = await conn.fetchval(
            "UPDATE taskchat_sync_device SET last_seen = now() "
            "WHERE space_id = $1 AND device_id = $2 RETURNING removed",
            cipher.space_id,
            device_id,
        )
        if removed is None:
            await register_device(conn, cipher, device_id=device_id, name=name)
            return True
    return not removed


@_bounded
async def register_device(
    conn: asyncpg.Connection, cipher: RowCipher, *, device_id: str, name: str
) -> None:
    info = cipher.seal_blob({"name": name}, f"device:{cipher.space_id}:{device_id}")
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO taskchat_sync_device (space_id, device_id, info) VALUES ($1, $2, $3) "
            "ON CONFLICT (space_id, device_id) DO UPDATE SET info = EXCLUDED.info, "
            "removed = false, last_seen = now()",
            cipher.space_id,
            device_id,
            info,
        )


@_bounded
async def list_devices(
    conn: asyncpg.Connection, cipher: RowCipher, *, this_device: str
) -> list[Device]:
    async with conn.transaction():
        records = await conn.fetch(
            "SELECT device_id, info, last_seen, removed FROM taskchat_sync_device "
            "WHERE space_id = $1 ORDER BY last_seen DESC",
            cipher.space_id,
        )
    out = []
    for rec in records:
        try:
            info = cipher.open_blob(rec["info"], f"device:{cipher.space_id}:{rec['device_id']}")
            name = str(info.get("name") or "Unnamed device")
        except (RowAuthError, AttributeError):
            name = "Unknown device (its name does not authenticate)"
        out.append(
            Device(
                id=rec["device_id"],
                name=name,
                last_seen=rec["last_seen"].astimezone(UTC).isoformat(timespec="seconds"),
                removed=bool(rec["removed"]),
                this_device=rec["device_id"] == this_device,
            )
        )
    return out


@_bounded
async def remove_device(conn: asyncpg.Connection, cipher: RowCipher, *, device_id: str) -> bool:
    async with conn.transaction():
        done = await conn.fetchval(
            "UPDATE taskchat_sync_device SET removed = true "
            "WHERE space_id = $1 AND device_id = $2 RETURNING device_id",
            cipher.space_id,
            device_id,
        )
    return done is not None


# ---------------------------------------------------------------- the plaintext format


@_bounded
async def plaintext_rows(conn: asyncpg.Connection, user_id: str) -> int:
    """How many rows the unencrypted format (rows filed under the user id) holds."""
    async with conn.transaction():
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM taskchat_sync_row WHERE user_id = $1", user_id
            )
        )


@_bounded
async def retire_plaintext(
    conn: asyncpg.Connection, *, user_id: str, space_id: str, seen_seq: int
) -> bool:
    """Delete the user's unencrypted rows once their content is in the encrypted space,
    and leave a note that points devices still on the old format to the space. False
    (nothing deleted) if a device pushed more plaintext since `seen_seq`: pull again."""
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO taskchat_sync_user (user_id) VALUES ($1) ON CONFLICT DO NOTHING",
            user_id,
        )
        last = await conn.fetchval(
            "SELECT last_seq FROM taskchat_sync_user WHERE user_id = $1 FOR UPDATE", user_id
        )
        if int(last or 0) != seen_seq:
            return False
        await conn.execute("DELETE FROM taskchat_sync_row WHERE user_id = $1", user_id)
        await conn.execute(
            "INSERT INTO taskchat_sync_meta (key, value) VALUES ($1, $2) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            f"upgraded:{user_id}",
            space_id,
        )
    return True


@_bounded
async def upgraded_to(conn: asyncpg.Connection, user_id: str) -> str | None:
    async with conn.transaction():
        return await conn.fetchval(
            "SELECT value FROM taskchat_sync_meta WHERE key = $1", f"upgraded:{user_id}"
        )


# ---------------------------------------------------------------------- local side


def enqueue_all(conn: Connection, user_id: str) -> int:
    """Note every row and tombstone of `user_id` for pushing (a new space has none of
    them). Fields already stamped keep their stamp; unstamped ones get one next round."""
    before = conn.exec_driver_sql("SELECT COUNT(*) FROM sync_outbox").scalar_one()
    for entity, fields in local.SYNCED.items():
        for field in fields:
            conn.exec_driver_sql(
                "INSERT OR IGNORE INTO sync_outbox (entity, row_id, user_id, field, hlc) "
                f"SELECT ?, t.id, t.user_id, ?, c.hlc FROM {entity} t "
                "LEFT JOIN sync_clock c ON c.entity = ? AND c.row_id = t.id AND c.field = ? "
                "WHERE t.user_id = ?",
                (entity, field, entity, field, user_id),
            )
        conn.exec_driver_sql(
            "INSERT OR IGNORE INTO sync_outbox (entity, row_id, user_id, field, hlc) "
            f"SELECT entity, row_id, ?, field, hlc FROM sync_clock c WHERE entity = ? "
            f"AND field = ? AND NOT EXISTS (SELECT 1 FROM {entity} t WHERE t.id = c.row_id)",
            (user_id, entity, local.DELETED),
        )
    after = conn.exec_driver_sql("SELECT COUNT(*) FROM sync_outbox").scalar_one()
    return int(after - before)


def _tables_with_user_id(conn: Connection) -> list[str]:
    names = [
        r[0]
        for r in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'"
        )
    ]
    out = []
    for name in names:
        cols = {r[1] for r in conn.exec_driver_sql(f'PRAGMA table_info("{name}")')}
        if "user_id" in cols:
            out.append(name)
    return out


def rescope(conn: Connection, old: str, new: str) -> dict[str, int]:
    """Give every local row of profile `old` to profile `new` (a joining device adopts
    the space's profile and keeps what it had). Sync triggers ignore user_id changes."""
    moved: dict[str, int] = {}
    if old == new:
        return moved
    # The space's Inbox takes this device's own (another id: it derives from the profile)
    # with its tasks; the old one never reached the space and goes without a trace.
    old_inbox = inbox_id(old)
    conn.exec_driver_sql(
        "UPDATE task SET list_id = ? WHERE user_id = ? AND list_id = ?",
        (inbox_id(new), old, old_inbox),
    )
    conn.exec_driver_sql("DELETE FROM task_list WHERE id = ?", (old_inbox,))
    for table in ("sync_outbox", "sync_clock", "sync_graveyard"):
        conn.exec_driver_sql(
            f"DELETE FROM {table} WHERE entity = 'task_list' AND row_id = ?", (old_inbox,)
        )
    for table in _tables_with_user_id(conn):
        n = conn.exec_driver_sql(
            f'UPDATE "{table}" SET user_id = ? WHERE user_id = ?', (new, old)
        ).rowcount
        if n:
            moved[table] = n
    ensure_inbox_sync(conn, new)
    return moved


def quarantine(conn: Connection, bad: list[tuple[str, str, str]]) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for entity, row_id, why in bad:
        local.set_state(conn, f"{QUARANTINE}{entity}:{row_id}", json.dumps({"why": why, "at": now}))


def quarantined(conn: Connection, limit: int = 20) -> tuple[int, list[dict[str, str]]]:
    total = conn.exec_driver_sql(
        "SELECT COUNT(*) FROM sync_state WHERE key LIKE ?", (QUARANTINE + "%",)
    ).scalar_one()
    rows = conn.exec_driver_sql(
        "SELECT key, value FROM sync_state WHERE key LIKE ? ORDER BY key LIMIT ?",
        (QUARANTINE + "%", limit),
    ).all()
    out = []
    for key, value in rows:
        entity, _, row_id = key[len(QUARANTINE) :].partition(":")
        try:
            info = json.loads(value)
        except ValueError:
            info = {}
        out.append({"entity": entity, "id": row_id, **{k: str(v) for k, v in info.items()}})
    return int(total), out


def wanted_fields(
    conn: Connection, rows: list[dict[str, Any]], known: local.Known | None = None
) -> dict[tuple[str, str], set[str] | None]:
    """Which fields of pulled rows need opening: every field of a row missing here, else
    only those whose stamp beats this device's (the rest cannot win, so stay sealed)."""
    if known is None:
        known = local.read_known(conn, rows)
    out: dict[tuple[str, str], set[str] | None] = {}
    for r in rows:
        entity = r["e"]
        if entity not in local.SYNCED:
            continue
        if r["id"] not in known.values.get(entity, {}):
            out[(entity, r["id"])] = None
            continue
        mine = known.clocks[entity].get(r["id"], {})
        want = set()
        for name, w in (r.get("f") or {}).items():
            have = mine.get(name)
            try:
                if have is None or (w[1], w[2]) > (have[0], have[1]):
                    want.add(name)
            except (TypeError, IndexError):
                want.add(name)  # malformed: opening it quarantines the row
        for name in list(want):  # a group wins as one (merge.GROUPS): open all of it
            want.update(group_of(entity, name))
        out[(entity, r["id"])] = want
    return out
