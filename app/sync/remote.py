"""The server side of sync, in a PostgreSQL/Neon database (plain asyncpg).

Schema (created on first use, idempotent):

    taskchat_sync_user (user_id PK, last_seq)          one row per profile: the sequence
    taskchat_sync_row  (user_id, entity, row_id) PK    the merged state of every row:
        fields jsonb  {field: [value, hlc, device]}    per-field winning write
        deleted jsonb [hlc, device] | null             tombstone
        hlc, device                                    the row's latest change and origin
        seq bigint                                     when the row last changed
        fseq jsonb {field: seq, "@": seq, "*": seq}    when each field last changed
    index (user_id, seq)

`fseq` lets a pull send only the fields changed after the puller's cursor (an edit of a
title pulled all 19 sealed fields of a task). It is trusted only while `fseq->>'@'`
equals the row's `seq`, i.e. the row's last change was made by code that keeps it;
a field missing from it changed at `fseq->>'*'` at the latest, so a row whose `*` is
past the cursor comes whole. A push by an older TaskChat (which knows nothing of the
column) leaves `@` behind: that row is then pulled whole, and the next push that keeps
`fseq` restarts it with `*` = the old seq.

Cursor safety: a push locks its user's `taskchat_sync_user` row (SELECT ... FOR UPDATE)
before it reads or numbers anything, and holds the lock until COMMIT. So for one user,
pushes are serialised and numbered in commit order: a transaction that gets seqs
n+1..m committed after every transaction with seqs <= n and before any with seqs > m.
A pull (one statement, one snapshot) therefore sees, for its user, every row with
seq <= some k and none above — a prefix — and `cursor = max seq seen` never skips a
change that commits later. (PostgreSQL releases row locks only after the commit is
visible to new snapshots.) Other users' pushes do not wait on each other.

Every statement runs inside an explicit transaction, so this works through PgBouncer in
transaction mode (Neon's -pooler URLs); no session state, no named statements.
"""

from __future__ import annotations

import asyncio
import functools
import json
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, ParamSpec, TypeVar

import asyncpg

from app.sync.merge import group_of, merge_rows, top_stamp

# Every call on the sync connection ends within this many seconds: a frozen connection
# (a stalled link, a suspended server that never answers) hung a round for good.
QUERY_TIMEOUT = 30.0
P = ParamSpec("P")
T = TypeVar("T")


class SyncStalled(RuntimeError):
    """The sync database stopped answering; the message is for the person (sync status)."""


def _bounded(fn: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    @functools.wraps(fn)
    async def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            async with asyncio.timeout(QUERY_TIMEOUT):
                return await fn(*args, **kwargs)
        except TimeoutError:
            raise SyncStalled(
                f"The sync database stopped answering (nothing for {QUERY_TIMEOUT:g} seconds), "
                "so TaskChat dropped the connection. Nothing was lost; it will try again."
            ) from None

    return call


SCHEMA_VERSION = "1"
_LOCK_KEY = 0x7A5C_5EC0  # advisory lock for creating the schema
DDL = (
    "CREATE TABLE IF NOT EXISTS taskchat_sync_meta (key text PRIMARY KEY, value text NOT NULL)",
    "CREATE TABLE IF NOT EXISTS taskchat_sync_user ("
    "user_id text PRIMARY KEY, last_seq bigint NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS taskchat_sync_row ("
    "user_id text NOT NULL, entity text NOT NULL, row_id text NOT NULL, "
    "fields jsonb NOT NULL, deleted jsonb, hlc text NOT NULL, device text NOT NULL, "
    "seq bigint NOT NULL, PRIMARY KEY (user_id, entity, row_id))",
    "CREATE INDEX IF NOT EXISTS ix_taskchat_sync_row_user_seq ON taskchat_sync_row (user_id, seq)",
    # Added later (same schema version: older TaskChats ignore it and keep working).
    "ALTER TABLE taskchat_sync_row ADD COLUMN IF NOT EXISTS fseq jsonb",
)


@_bounded
async def ensure_schema(conn: asyncpg.Connection) -> str:
    """Create the tables if needed; returns this sync database's id (cursors are kept
    per database id, so pointing a device at a new database starts from zero)."""
    ready = await conn.fetchval(
        "SELECT to_regclass('taskchat_sync_meta') IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = "
        "to_regclass('taskchat_sync_row') AND attname = 'fseq' AND NOT attisdropped)"
    )
    if ready:
        version = await conn.fetchval(
            "SELECT value FROM taskchat_sync_meta WHERE key = 'schema_version'"
        )
        server_id = await conn.fetchval(
            "SELECT value FROM taskchat_sync_meta WHERE key = 'server_id'"
        )
        if version == SCHEMA_VERSION and server_id:
            return server_id
        if version and int(version) > int(SCHEMA_VERSION):
            raise RuntimeError(
                f"The sync database was set up by a newer TaskChat (schema {version}); "
                "update TaskChat on this device."
            )
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        for statement in DDL:
            await conn.execute(statement)
        await conn.execute(
            "INSERT INTO taskchat_sync_meta (key, value) VALUES ('schema_version', $1) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            SCHEMA_VERSION,
        )
        await conn.execute(
            "INSERT INTO taskchat_sync_meta (key, value) VALUES ('server_id', $1) "
            "ON CONFLICT (key) DO NOTHING",
            uuid.uuid4().hex,
        )
        return await conn.fetchval("SELECT value FROM taskchat_sync_meta WHERE key = 'server_id'")


@_bounded
async def head(conn: asyncpg.Connection, user_id: str) -> int:
    value = await conn.fetchval(
        "SELECT last_seq FROM taskchat_sync_user WHERE user_id = $1", user_id
    )
    return int(value or 0)


@_bounded
async def push(
    conn: asyncpg.Connection, user_id: str, rows: list[dict[str, Any]]
) -> tuple[int, int]:
    """Merge `rows` into the server state in one transaction. Returns (base, last): the
    user's sequence before and after. Pushing the same rows again changes nothing."""
    if not rows:
        last = await head(conn, user_id)
        return last, last
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO taskchat_sync_user (user_id) VALUES ($1) ON CONFLICT DO NOTHING",
            user_id,
        )
        base = await conn.fetchval(
            "SELECT last_seq FROM taskchat_sync_user WHERE user_id = $1 FOR UPDATE", user_id
        )
        incoming: dict[tuple[str, str], dict[str, Any]] = {}
        for r in rows:
            key = (r["e"], r["id"])
            state = {"f": r.get("f") or {}, "d": r.get("d")}
            incoming[key] = (
                merge_rows(incoming[key], state, key[0])[0] if key in incoming else state
            )
        # The stored rows' stamps (their latest change) and tombstones: a pushed write newer
        # than a row's stamp beats every field of it, so the usual push (fresh edits) needs
        # nothing else. Only where some write is not newer are the stored stamps of the
        # pushed fields (and of their groups) read. The values (sealed, ~1.5 KB a task)
        # stay on the server either way.
        current: dict[tuple[str, str], dict[str, Any]] = {}
        tops: dict[tuple[str, str], tuple[str, str]] = {}
        older: list[tuple[str, str]] = []
        for rec in await conn.fetch(
            "SELECT entity, row_id, hlc, device, deleted::text AS d FROM taskchat_sync_row "
            f"WHERE {_BY_KEYS}",
            user_id,
            *_key_columns(incoming),
        ):
            key = (rec["entity"], rec["row_id"])
            tops[key] = top = (rec["hlc"], rec["device"])
            current[key] = {"f": {}, "d": json.loads(rec["d"]) if rec["d"] else None}
            if any((w[1], w[2]) <= top for w in incoming[key]["f"].values()):
                older.append(key)
        if older:
            names = {
                g for key in older for name in incoming[key]["f"] for g in group_of(key[0], name)
            }
            for rec in await conn.fetch(
                "SELECT entity, row_id, (SELECT jsonb_object_agg(key, CASE WHEN "
                "jsonb_typeof(value) = 'array' THEN value - 0 END) FROM jsonb_each(fields) "
                "WHERE key = ANY($4::text[]))::text AS f FROM taskchat_sync_row "
                f"WHERE {_BY_KEYS}",
                user_id,
                *_key_columns(older),
                sorted(names),
            ):
                stamps = json.loads(rec["f"]) if rec["f"] else {}
                current[(rec["entity"], rec["row_id"])]["f"] = {
                    n: [None, *st]
                    for n, st in stamps.items()
                    if isinstance(st, list) and len(st) == 2
                }
        out_e, out_id, out_f, out_d, out_h, out_dev, out_seq = [], [], [], [], [], [], []
        out_fs = []
        seq = base
        for key, state in incoming.items():
            merged, changed = merge_rows(current.get(key), state, key[0])
            if not changed:
                continue
            seq += 1
            # The stored row's stamp covers the fields not read; a write that won is newer.
            hlc, device = max(top_stamp(merged), tops.get(key, ("", "")))
            # Only the writes that won are sent: a stored row takes them over its other
            # fields (`||` below), a new row is exactly them. (A sealed task is ~1.5 KB;
            # an edit of two fields used to send and re-parse all of it.) The user row's
            # lock (above) means no other push changed the stored rows since they were read.
            theirs = state["f"]
            won = {n: w for n, w in theirs.items() if merged["f"].get(n) is w}
            out_e.append(key[0])
            out_id.append(key[1])
            out_f.append(json.dumps(won, separators=(",", ":")))
            out_d.append(json.dumps(merged["d"]) if merged["d"] else None)
            out_h.append(hlc)
            out_dev.append(device)
            out_seq.append(seq)
            # fseq (see the module docstring): a new row changed every field at its seq
            # ('*'); a stored one takes the fields that won over its old fseq, if kept up.
            out_fs.append(json.dumps({"@": seq, "*": seq, **dict.fromkeys(won, seq)}))
        if seq == base:
            return base, base
        await conn.execute(
            "INSERT INTO taskchat_sync_row "
            "(user_id, entity, row_id, fields, deleted, hlc, device, seq, fseq) "
            "SELECT $1, e, r, f::jsonb, d::jsonb, h, dv, s, fs::jsonb "
            "FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], "
            "$7::text[], $8::bigint[], $9::text[]) AS t(e, r, f, d, h, dv, s, fs) "
            "ON CONFLICT (user_id, entity, row_id) DO UPDATE SET "
            "fields = taskchat_sync_row.fields || EXCLUDED.fields, "
            "deleted = EXCLUDED.deleted, hlc = EXCLUDED.hlc, device = EXCLUDED.device, "
            "seq = EXCLUDED.seq, "
            "fseq = CASE WHEN taskchat_sync_row.fseq ->> '@' = taskchat_sync_row.seq::text "
            "THEN taskchat_sync_row.fseq "
            "ELSE jsonb_build_object('*', taskchat_sync_row.seq) END || (EXCLUDED.fseq - '*')",
            user_id,
            out_e,
            out_id,
            out_f,
            out_d,
            out_h,
            out_dev,
            out_seq,
            out_fs,
        )
        await conn.execute(
            "UPDATE taskchat_sync_user SET last_seq = $2 WHERE user_id = $1", user_id, seq
        )
        return base, seq


# Rows of user $1 whose (entity, row id) is one of the pairs $2[i], $3[i] (see _key_columns).
_BY_KEYS = "user_id = $1 AND (entity, row_id) IN (SELECT * FROM unnest($2::text[], $3::text[]))"


def _key_columns(keys: Iterable[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """(entity, row id) pairs as the two arrays _BY_KEYS takes."""
    pairs = list(keys)
    return [k[0] for k in pairs], [k[1] for k in pairs]


def _row(rec: asyncpg.Record, whole: bool = True) -> dict[str, Any]:
    return {
        "e": rec["entity"],
        "id": rec["row_id"],
        "f": json.loads(rec["f"]),
        "d": json.loads(rec["d"]) if rec["d"] else None,
        "seq": rec["seq"],
        "whole": whole,
    }


@_bounded
async def pull(
    conn: asyncpg.Connection, user_id: str, after: int, limit: int, changed_only: bool = False
) -> list[dict[str, Any]]:
    """Rows of `user_id` changed after `after`, oldest change first: whole, or with
    `changed_only`, where the server knows (fseq), only their fields changed after
    `after` (then `"whole": False`; the tombstone always comes)."""
    if not changed_only or after <= 0:
        records = await conn.fetch(
            "SELECT entity, row_id, fields::text AS f, deleted::text AS d, seq "
            "FROM taskchat_sync_row WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            user_id,
            after,
            limit,
        )
        return [_row(rec) for rec in records]
    # In part: rows whose fseq is kept up and whose unlisted fields ('*') are older than
    # the cursor; their fields listed as changed after it. Every other row comes whole.
    # (The fields are walked, not looked up one by one: `fields` is stored compressed,
    # and each lookup decompressed it again, ~40 us a row.)
    records = await conn.fetch(
        "SELECT entity, row_id, deleted::text AS d, seq, NOT kept AS whole, (CASE WHEN kept "
        "THEN (SELECT coalesce(jsonb_object_agg(w.key, w.value), '{}') "
        "FROM jsonb_each(fields) w WHERE w.key NOT IN ('@', '*') "
        "AND (fseq ->> w.key)::bigint > $2) "
        "ELSE fields END)::text AS f "
        "FROM (SELECT *, coalesce(fseq ->> '@' = seq::text "
        "AND (fseq ->> '*')::bigint <= $2, false) AS kept "
        "FROM taskchat_sync_row WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT $3) t "
        "ORDER BY seq",
        user_id,
        after,
        limit,
    )
    return [_row(rec, rec["whole"]) for rec in records]


@_bounded
async def whole_rows(
    conn: asyncpg.Connection, user_id: str, keys: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """The current, whole server rows `keys` ((entity, row id) pairs); missing ones are
    left out. (For a device that pulled part of a row it does not have.)"""
    if not keys:
        return []
    records = await conn.fetch(
        "SELECT entity, row_id, fields::text AS f, deleted::text AS d, seq "
        f"FROM taskchat_sync_row WHERE {_BY_KEYS}",
        user_id,
        *_key_columns(keys),
    )
    return [_row(rec) for rec in records]


@_bounded
async def snapshot(conn: asyncpg.Connection, user_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every row of a user (for checks and tools)."""
    records = await conn.fetch(
        "SELECT entity, row_id, fields::text AS f, deleted::text AS d FROM taskchat_sync_row "
        "WHERE user_id = $1",
        user_id,
    )
    return {
        (rec["entity"], rec["row_id"]): {
            "f": json.loads(rec["f"]),
            "d": json.loads(rec["d"]) if rec["d"] else None,
        }
        for rec in records
    }
