"""The device side of sync, on the local SQLite database (sync Connection functions).

Values travel as SQLite stores them (TEXT/INTEGER/NULL; JSON columns as their text), so a
row read here and written back on another device is byte-for-byte the same.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.engine import Connection

from app.chat.records import ItemRecord, ThreadRecord
from app.lists.models import ListRecord
from app.lists.ordering import repair
from app.search import bulk
from app.sync.capture import stamp_pending
from app.sync.clock import HLC, valid_stamp
from app.sync.fields import DELETED, SYNCED
from app.sync.merge import Row, group_of, newer
from app.tasks.models import TaskRecord, record_problem

# Applied in this order inside a batch: an item needs its thread (foreign key); lists
# before tasks, so a task's list is there when app/lists/ordering.repair looks.
APPLY_ORDER = {"chat_thread": 0, "task_list": 1, "task": 2, "chat_item": 3}
MAX_FIELDS = max(len(f) for f in SYNCED.values())
CHUNK = 400
# From this many new tasks, or tasks with a changed title, note or done flag, a batch
# writes them with the task's insert or update triggers set aside (`_insert_rows`,
# `_update_rows`). Measured (a batch of changed titles into 10k tasks, apply_remote's
# whole transaction): 100 rows 35 ms either way, 200 47 vs 46 ms, 1,000 238 vs 149 ms.
# Below it, small syncs (the usual ones) keep the plain per-row triggers and no DDL.
BULK_MIN = 200
# The domain check every synced row passes before it is stored (and before it is pushed).
RECORDS: dict[str, type[BaseModel]] = {
    "task": TaskRecord,
    "chat_thread": ThreadRecord,
    "chat_item": ItemRecord,
    "task_list": ListRecord,
}
QUARANTINE_KEY = "quarantine"
QUARANTINE_MAX = 200
DEVICE_MAX = 64


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _marks(n: int) -> str:
    return ",".join("?" * n)


# ------------------------------------------------------------------------------ state


def get_state(conn: Connection, key: str, default: str | None = None) -> str | None:
    row = conn.exec_driver_sql("SELECT value FROM sync_state WHERE key = ?", (key,)).first()
    return row[0] if row else default


def set_state(conn: Connection, key: str, value: str) -> None:
    conn.exec_driver_sql(
        "INSERT INTO sync_state (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def cursor_key(remote_id: str) -> str:
    return f"cursor:{remote_id}"


def restore_clock(conn: Connection, clock: HLC) -> None:
    clock.observe(get_state(conn, "hlc_last"))


def pending_rows(conn: Connection, user_id: str) -> int:
    return conn.exec_driver_sql(
        "SELECT COUNT(*) FROM (SELECT DISTINCT entity, row_id FROM sync_outbox WHERE user_id = ?)",
        (user_id,),
    ).scalar_one()


def row_problem(entity: str, row_id: Any, values: dict[str, Any]) -> str | None:
    """Why a row (values as SQLite stores them) may not be stored or pushed, or None."""
    problem = record_problem(RECORDS[entity], {"id": row_id, **values})
    if problem is None and entity == "chat_item":
        try:
            ItemRecord.model_validate({"id": row_id, **values}).check_item()
        except ValueError as exc:
            problem = str(exc)
    return problem


def quarantined(conn: Connection) -> dict[str, dict[str, str]]:
    """Rows this device could not apply or push: {"entity:id": {"reason", "side"}}."""
    try:
        value = json.loads(get_state(conn, QUARANTINE_KEY) or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def describe_quarantine(held: dict[str, dict[str, str]]) -> str | None:
    """The quarantine in plain words, for the sync status."""
    if not held:
        return None
    mine = sum(1 for v in held.values() if v.get("side") == "local")
    theirs = len(held) - mine
    parts = []
    if theirs:
        parts.append(
            f"{theirs} change(s) from another device could not be applied here: "
            "they hold values TaskChat does not accept"
        )
    if mine:
        parts.append(
            f"{mine} item(s) on this device could not be sent: they hold values TaskChat "
            "does not accept (edit or delete them to sync them again)"
        )
    first_key, first = next(iter(held.items()))
    return "; ".join(parts) + f". First: {first_key.split(':', 1)[0]}: {first.get('reason')}."


def _set_quarantine(conn: Connection, add: dict[str, dict[str, str]], clear: Iterable[str]) -> None:
    clear = list(clear)
    if not add and not clear:
        return
    current = quarantined(conn)
    if clear and not add and not any(k in current for k in clear):
        return
    for key in clear:
        current.pop(key, None)
    current.update(add)
    # Bounded: the newest problems are the ones worth showing.
    keep = dict(list(current.items())[-QUARANTINE_MAX:])
    set_state(conn, QUARANTINE_KEY, json.dumps(keep, separators=(",", ":")))


def _stamp_problem(write: Any, wall_ms: int | None = None) -> str | None:
    if not isinstance(write, list | tuple) or len(write) < 2:
        return "malformed stamp"
    hlc, device = write[-2], write[-1]
    if not valid_stamp(hlc, wall_ms):
        return f"stamp {str(hlc)[:20]!r} is not a clock value TaskChat accepts"
    if not isinstance(device, str) or not device or len(device) > DEVICE_MAX:
        return "malformed device id"
    return None


# ------------------------------------------------------------------------------- push


@dataclass
class PushBatch:
    upto: int  # highest outbox seq covered
    rows: list[dict[str, Any]]  # [{"e", "id", "f": {...}, "d": [...] | None}]


def _clocks(
    conn: Connection, entity: str, ids: Sequence[str], names: Iterable[str] | None = None
) -> dict[str, dict[str, list[str]]]:
    """The stamps of rows `ids`: of every field, or only of fields `names`. (A row has a
    stamp per field: reading all of them for 10k rows read 200k rows, most never used.)"""
    out: dict[str, dict[str, list[str]]] = defaultdict(dict)
    only = sorted(set(names)) if names is not None else None
    if only == []:
        return out
    if only is not None and set(only).issuperset(SYNCED[entity]):
        only = None  # all of them: one range per row beats a lookup per field
    which = f" AND field IN ({_marks(len(only))})" if only else ""
    for chunk in _chunks(ids):
        for row_id, field, hlc, device in conn.exec_driver_sql(
            "SELECT row_id, field, hlc, device FROM sync_clock "
            f"WHERE entity = ? AND row_id IN ({_marks(len(chunk))}){which}",
            (entity, *chunk, *(only or ())),
        ):
            out[row_id][field] = [hlc, device]
    return out


def _values(conn: Connection, entity: str, ids: Sequence[str]) -> dict[str, tuple[str, tuple]]:
    fields = SYNCED[entity]
    cols = ", ".join(f'"{f}"' for f in fields)
    out: dict[str, tuple[str, tuple]] = {}
    for chunk in _chunks(ids):
        for row in conn.exec_driver_sql(
            f"SELECT id, user_id, {cols} FROM {entity} WHERE id IN ({_marks(len(chunk))})",
            tuple(chunk),
        ):
            out[row[0]] = (row[1], tuple(row[2:]))
    return out


def _graveyard(conn: Connection, entity: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The last values of rows deleted here and not pushed since (migration 0006)."""
    out: dict[str, dict[str, Any]] = {}
    if not ids or not _has_graveyard(conn):
        return out
    for chunk in _chunks(ids):
        for row_id, data in conn.exec_driver_sql(
            f"SELECT row_id, data FROM sync_graveyard WHERE entity = ? "
            f"AND row_id IN ({_marks(len(chunk))})",
            (entity, *chunk),
        ):
            try:
                values = json.loads(data)
            except ValueError:
                continue
            if isinstance(values, dict):
                out[row_id] = values
    return out


def _has_graveyard(conn: Connection) -> bool:
    return (
        conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sync_graveyard'"
        ).first()
        is not None
    )


@dataclass
class Known:
    """This device's stamps and values of a pulled batch's rows, read once: deciding which
    sealed fields to open and merging need the same (read after `stamp_pending`, in the
    transaction that applies the batch)."""

    clocks: dict[str, dict[str, dict[str, list[str]]]]
    values: dict[str, dict[str, tuple[str, tuple]]]


def read_known(conn: Connection, rows: Sequence[dict[str, Any]]) -> Known:
    by_entity: dict[str, dict[str, None]] = defaultdict(dict)
    names: dict[str, set[str]] = defaultdict(lambda: {DELETED})
    tombed: set[tuple[str, str]] = set()
    for r in rows:
        entity, row_id = r.get("e"), r.get("id")
        if entity not in SYNCED or not isinstance(row_id, str):
            continue
        by_entity[entity][row_id] = None
        writes = r.get("f")
        if isinstance(writes, dict):
            for name in writes:
                if name in SYNCED[entity]:
                    names[entity].update(group_of(entity, name))
        if r.get("d") is not None:
            tombed.add((entity, row_id))
    known = Known({}, {})
    for entity, unique in by_entity.items():
        ids = list(unique)
        values = _values(conn, entity, ids)
        # Only the stamps of the fields that came (and of their groups) decide what wins.
        clocks = _clocks(conn, entity, ids, names[entity])
        if not names[entity].issuperset(SYNCED[entity]):
            # Whether a row is visible (a tombstone here or there) and what a row missing
            # here keeps depend on all of its stamps: those rows are read whole.
            whole = [
                i
                for i in ids
                if i not in values or (entity, i) in tombed or DELETED in clocks.get(i, {})
            ]
            if whole:
                clocks.update(_clocks(conn, entity, whole))
        known.clocks[entity] = clocks
        known.values[entity] = values
    return known


def need_whole(conn: Connection, rows: Sequence[dict[str, Any]], known: Known) -> list[Any]:
    """Keys (entity, id) of pulled rows that came in part (only their changed fields) but
    must be applied whole: missing here, or held back when they came before (their
    earlier fields were never applied here)."""
    held = {k for k, v in quarantined(conn).items() if v.get("side") == "remote"}
    out = []
    for r in rows:
        if r.get("whole", True) or r.get("e") not in SYNCED:
            continue
        entity, row_id = r["e"], r.get("id")
        if row_id not in known.values.get(entity, {}) or f"{entity}:{row_id}" in held:
            out.append((entity, row_id))
    return out


def read_push_batch(
    conn: Connection,
    user_id: str,
    clock: HLC,
    limit: int,
    after: int = 0,
    only_noted: bool = False,
) -> PushBatch | None:
    """The next rows to push (from the notes after outbox seq `after`): every field with
    its value and winning stamp, or with `only_noted`, only the fields noted in the
    outbox (what changed here since the last acknowledged push; the server keeps the
    others) and the tombstone."""
    stamp_pending(conn, clock)
    # `limit` rows; a row has up to one note per field.
    notes = conn.exec_driver_sql(
        "SELECT seq, entity, row_id, user_id, field FROM sync_outbox WHERE seq > ? "
        "ORDER BY seq LIMIT ?",
        (after, limit * (MAX_FIELDS + 1)),
    ).all()
    if not notes:
        return None
    upto = 0
    wanted: dict[str, list[str]] = defaultdict(list)
    noted: dict[tuple[str, str], set[str]] = defaultdict(set)
    for seq, entity, row_id, owner, field in notes:
        key = (entity, row_id)
        if key not in noted:
            if len(noted) >= limit:
                break  # every note up to `upto` belongs to a row in this batch
            # Another profile's rows (several users in one file) never leave this device.
            if owner == user_id and entity in SYNCED:
                wanted[entity].append(row_id)
        noted[key].add(field)
        upto = seq
    rows: list[dict[str, Any]] = []
    bad: dict[str, dict[str, str]] = {}
    good: list[str] = []
    for entity, ids in wanted.items():
        fields = SYNCED[entity]
        names: set[str] | None = None
        if only_noted:
            names = {DELETED}
            for row_id in ids:
                names |= noted[(entity, row_id)]
        clocks = _clocks(conn, entity, ids, names)
        values = _values(conn, entity, ids)
        buried = _graveyard(conn, entity, [i for i in ids if i not in values])
        if names is not None and buried:
            clocks.update(_clocks(conn, entity, list(buried)))  # checked whole, below
        for row_id in ids:
            stamps = clocks.get(row_id, {})
            deleted = stamps.get(DELETED)
            sent = noted[(entity, row_id)] if only_noted else stamps
            payload: dict[str, Any] = {"e": entity, "id": row_id, "f": {}, "d": deleted}
            current = values.get(row_id)
            last = buried.get(row_id)
            if current is None and last is not None and deleted:
                # Deleted here: the tombstone goes out with the row's last values, so an
                # edit made just before the delete is not lost if a later write elsewhere
                # brings the row back (finding 9).
                kept = {n: last[n] for n in fields if n in last and n in stamps}
                if row_problem(entity, row_id, {**dict.fromkeys(fields), **kept}) is None:
                    payload["f"] = {n: [v, *stamps[n]] for n, v in kept.items() if n in sent}
            if current is not None and current[0] == user_id:
                row = dict(zip(fields, current[1], strict=True))
                problem = row_problem(entity, row_id, row)
                if problem is not None:
                    # Stored before the checks existed (an old import): pushing it would
                    # fail the server's transaction for good (a NUL is not PostgreSQL
                    # text) and hold back every later change. It waits here instead.
                    bad[f"{entity}:{row_id}"] = {"side": "local", "reason": problem}
                    continue
                good.append(f"{entity}:{row_id}")
                for name, value in row.items():
                    if name in stamps and name in sent:
                        payload["f"][name] = [value, *stamps[name]]
            if payload["f"] or deleted:
                rows.append(payload)
    _set_quarantine(conn, bad, good)
    return PushBatch(upto=upto, rows=rows)


def ack_push(conn: Connection, upto: int, remote_id: str, base: int, last: int) -> None:
    """Forget pushed notes; if nothing else reached the server between our last pull and
    this push (`cursor == base`), the new server rows are exactly ours: skip them."""
    conn.exec_driver_sql("DELETE FROM sync_outbox WHERE seq <= ? AND hlc IS NOT NULL", (upto,))
    if _has_graveyard(conn):
        # A deleted row's last values are kept only until all its notes are pushed.
        conn.exec_driver_sql(
            "DELETE FROM sync_graveyard WHERE NOT EXISTS (SELECT 1 FROM sync_outbox o "
            "WHERE o.entity = sync_graveyard.entity AND o.row_id = sync_graveyard.row_id)"
        )
    # A device that never pulled from this server has no cursor yet: it is at 0, and
    # its first push to an empty server is all the server has (a new space: pushing
    # 10k tasks then pulled all 10k back).
    if last > base and get_cursor(conn, remote_id) == base:
        set_state(conn, cursor_key(remote_id), str(last))


# ------------------------------------------------------------------------------- pull


def get_cursor(conn: Connection, remote_id: str) -> int:
    value = get_state(conn, cursor_key(remote_id))
    if value is None:
        set_state(conn, cursor_key(remote_id), "0")
        return 0
    return int(value)


def apply_remote(
    conn: Connection,
    user_id: str,
    clock: HLC,
    rows: list[dict[str, Any]],
    remote_id: str,
    cursor: int,
    known: Known | None = None,
) -> int:
    """Merge server rows into the local tables and move the cursor, in one transaction.

    `known`: what `read_known` read about these rows in this transaction (else read
    here). Returns how many local rows changed.
    """
    stamp_pending(conn, clock)  # local edits not yet stamped must keep their claim
    conn.exec_driver_sql("UPDATE sync_flag SET applying = 1 WHERE id = 1")
    changed = 0
    top = ""
    by_entity: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["e"] in SYNCED:
            by_entity[row["e"]].append(row)
    for entity in sorted(by_entity, key=APPLY_ORDER.__getitem__):
        n, t = _apply_entity(conn, user_id, entity, by_entity[entity], known)
        changed += n
        top = max(top, t)
    clock.observe(top or None)
    conn.exec_driver_sql("UPDATE sync_flag SET applying = 0 WHERE id = 1")
    if "task" in by_entity or "task_list" in by_entity:
        # Merged rows can break what each device kept true (a task in a list deleted
        # elsewhere, a step whose parent is gone): fixed as local edits, pushed next.
        changed += repair(conn, user_id)
    set_state(conn, cursor_key(remote_id), str(cursor))
    set_state(conn, "hlc_last", max(clock.last, get_state(conn, "hlc_last") or ""))
    return changed


def is_visible(tomb: list[str] | None, field_stamps: list[tuple[str, str]]) -> bool:
    """A row is deleted while its tombstone is newer than every field write; a later write
    (an undo that puts the row back with its old id, an edit made after the delete on
    another device) brings it back."""
    return tomb is None or (bool(field_stamps) and max(field_stamps) > (tomb[0], tomb[1]))


def _apply_entity(
    conn: Connection,
    user_id: str,
    entity: str,
    rows: list[dict[str, Any]],
    known: Known | None = None,
) -> tuple[int, str]:
    fields = SYNCED[entity]
    bad: dict[str, dict[str, str]] = {}
    merged: dict[str, Row] = {}
    # The fields of a row mostly share one stamp: each distinct one is checked once.
    checked: dict[tuple[Any, Any], str | None] = {}
    for r in rows:  # several versions of a row in one batch: merge them first
        problem = _remote_problem(entity, r, fields, checked)
        if problem is not None:
            bad[f"{entity}:{str(r.get('id'))[:80]}"] = {"side": "remote", "reason": problem}
            continue
        prev = merged.get(r["id"])
        if prev is None:
            merged[r["id"]] = {"f": dict(r.get("f") or {}), "d": r.get("d")}
        else:
            for name, w in (r.get("f") or {}).items():
                if name not in prev["f"] or newer(
                    (w[1], w[2]), (prev["f"][name][1], prev["f"][name][2])
                ):
                    prev["f"][name] = w
            if r.get("d") and newer(r["d"], prev["d"]):
                prev["d"] = r["d"]
    ids = list(merged)
    if known is not None and entity in known.clocks:
        clocks, existing = known.clocks[entity], known.values[entity]
    else:
        clocks, existing = _clocks(conn, entity, ids), _values(conn, entity, ids)
    buried = _graveyard(conn, entity, [i for i in ids if i not in existing])
    unburied: list[tuple[str, str]] = []
    top = ""
    changed = 0
    clock_rows: list[tuple[str, str, str, Any, Any]] = []
    forget: list[tuple[str, str, str]] = []
    deletes: list[str] = []
    inserts: list[tuple[Any, ...]] = []
    updates: dict[tuple[str, ...], list[tuple[Any, ...]]] = defaultdict(list)
    retag: list[str] = []
    applied: list[str] = []
    for row_id, r in merged.items():
        local = clocks.get(row_id, {})
        current = existing.get(row_id)
        if current is not None and current[0] != user_id:
            continue  # an id owned by another local profile: never touch it
        row_clock: list[tuple[str, str, str, str, str]] = []
        tomb = local.get(DELETED)
        theirs = r.get("d")
        if theirs and newer(theirs, tomb):
            row_clock.append((entity, row_id, DELETED, theirs[0], theirs[1]))
            tomb = theirs
        remote_fields = {n: w for n, w in (r.get("f") or {}).items() if n in fields}
        stamps = [(w[1], w[2]) for w in remote_fields.values()]
        stamps += [(v[0], v[1]) for k, v in local.items() if k != DELETED]
        if not is_visible(tomb, stamps):
            clock_rows += row_clock
            top = max([top, *(c[3] for c in row_clock)])
            if current is not None:
                deletes.append(row_id)
            continue
        if current is None:
            if not remote_fields:
                clock_rows += row_clock
                continue
            # Missing here (never seen, or deleted and now revived by a later write): the
            # server's merged row has every field, and each value travels with its own
            # stamp. A newer local stamp whose value this device no longer has (the row
            # was deleted here) is dropped, never kept beside the server's value: that
            # pair would claim a write nobody can see, and win over later ones for good.
            values = dict.fromkeys(fields)
            values.update({n: w[0] for n, w in remote_fields.items()})
            last = buried.get(row_id, {})
            ours = {
                n: local[n]
                for n in fields
                if n in last and n in local and newer(local[n], _stamp_of(remote_fields.get(n)))
            }
            values.update({n: last[n] for n in ours})  # not pushed yet: still the latest
            row = _fill_defaults(entity, fields, (row_id, user_id, *(values[f] for f in fields)))
            problem = row_problem(entity, row_id, dict(zip(fields, row[2:], strict=True)))
            if problem is not None:
                bad[f"{entity}:{row_id}"] = {"side": "remote", "reason": problem}
                continue
            inserts.append(row)
            for n, w in remote_fields.items():
                if n not in ours:
                    row_clock.append((entity, row_id, n, w[1], w[2]))
            if row_id in buried:
                unburied.append((entity, row_id))
            forget += [
                (entity, row_id, n)
                for n in local
                if n != DELETED and n not in remote_fields and n not in ours
            ]
            clock_rows += row_clock
            top = max([top, *(c[3] for c in row_clock)])
            applied.append(f"{entity}:{row_id}")
            if entity == "task":
                retag.append(row_id)
            continue
        wins = _winning_fields(entity, remote_fields, local)
        if not wins:
            clock_rows += row_clock
            continue
        after = dict(zip(fields, current[1], strict=True))
        after.update({n: w[0] for n, w in wins.items()})
        problem = row_problem(entity, row_id, after)
        if problem is not None:
            bad[f"{entity}:{row_id}"] = {"side": "remote", "reason": problem}
            continue
        for name, w in wins.items():
            row_clock.append((entity, row_id, name, w[1], w[2]))
        clock_rows += row_clock
        top = max([top, *(c[3] for c in row_clock)])
        applied.append(f"{entity}:{row_id}")
        names = tuple(sorted(wins))
        updates[names].append((*(wins[n][0] for n in names), row_id))
        if entity == "task" and "tags" in wins:
            retag.append(row_id)
    _set_quarantine(conn, bad, applied)
    if unburied:
        conn.exec_driver_sql("DELETE FROM sync_graveyard WHERE entity = ? AND row_id = ?", unburied)
    if forget:
        conn.exec_driver_sql(
            "DELETE FROM sync_clock WHERE entity = ? AND row_id = ? AND field = ?", forget
        )
    if deletes:
        for chunk in _chunks(deletes):
            conn.exec_driver_sql(
                f"DELETE FROM {entity} WHERE id IN ({_marks(len(chunk))})", tuple(chunk)
            )
        changed += len(deletes)
    if inserts and entity == "chat_item":
        # May drop every row (all their threads deleted here): then there is nothing to
        # insert, and executemany with no rows is an error, not a no-op.
        inserts = _ensure_threads(conn, user_id, inserts, fields)
    if inserts:
        inserts = [_fill_defaults(entity, fields, row) for row in inserts]
        _insert_rows(conn, entity, inserts)
        changed += len(inserts)
    changed += _update_rows(conn, entity, updates)
    if clock_rows:
        conn.exec_driver_sql(
            "INSERT INTO sync_clock (entity, row_id, field, hlc, device) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (entity, row_id, field) DO UPDATE SET hlc = excluded.hlc, "
            "device = excluded.device",
            clock_rows,
        )
    if retag:
        _reindex_tags(conn, user_id, retag)
    return changed, top


def _insert_rows(conn: Connection, entity: str, rows: list[tuple[Any, ...]]) -> None:
    """Insert pulled rows (id, user_id, *SYNCED[entity]); many new tasks (a device's first
    sync) with their insert triggers set aside, as the importer does (app/search/bulk.py)."""
    fields = SYNCED[entity]
    cols = ", ".join(f'"{f}"' for f in fields)
    suspended: dict[str, str] = {}
    if entity == "task" and len(rows) >= BULK_MIN:
        suspended = bulk.suspend_insert_triggers(conn)
    conn.exec_driver_sql(
        f"INSERT INTO {entity} (id, user_id, {cols}) VALUES ({_marks(len(fields) + 2)})", rows
    )
    if suspended:
        bulk.index_new_tasks(conn, [row[0] for row in rows], suspended)
        bulk.restore_triggers(conn, suspended)


def _update_rows(
    conn: Connection, entity: str, updates: dict[tuple[str, ...], list[tuple[Any, ...]]]
) -> int:
    """Run the merged updates: {column names: [(*values, id)]}. Many changed tasks are
    updated with their update triggers set aside and indexed in one statement per index
    (app/search/bulk.py; sync's own trigger is quiet here anyway, see `apply_remote`)."""
    reindex: list[str] = []
    if entity == "task":
        reindex = [
            params[-1]
            for names, rows in updates.items()
            if bulk.TASK_INDEXED_COLUMNS.intersection(names)
            for params in rows
        ]
    suspended: dict[str, str] = {}
    if len(reindex) >= BULK_MIN:
        suspended = bulk.suspend_triggers(conn, bulk.TASK_UPDATE_TRIGGERS)
        bulk.unindex_tasks(conn, reindex, suspended)
    changed = 0
    for names, rows in updates.items():
        assign = ", ".join(f'"{n}" = ?' for n in names)
        conn.exec_driver_sql(f"UPDATE {entity} SET {assign} WHERE id = ?", rows)
        changed += len(rows)
    if suspended:
        bulk.reindex_tasks(conn, reindex, suspended)
        bulk.restore_triggers(conn, suspended)
    return changed


def _stamp_of(write: list[Any] | None) -> tuple[str, str] | None:
    return None if write is None else (write[1], write[2])


def _remote_problem(
    entity: str,
    r: Any,
    fields: tuple[str, ...],
    checked: dict[tuple[Any, Any], str | None],
) -> str | None:
    """A pulled row's shape and stamps (its values are checked once merged); `checked`
    remembers the verdict on each stamp seen in this batch."""
    if not isinstance(r, dict) or not isinstance(r.get("id"), str):
        return "malformed row"
    writes = r.get("f") or {}
    if not isinstance(writes, dict):
        return "malformed fields"
    for name, w in writes.items():
        if name not in fields:
            continue
        if not isinstance(w, list) or len(w) != 3:
            return f"{name}: malformed write"
        key = (w[1], w[2])
        try:
            problem = checked[key]
        except (KeyError, TypeError):  # not seen yet, or unhashable (then not a stamp)
            problem = _stamp_problem(w)
            if isinstance(w[1], str) and isinstance(w[2], str):
                checked[key] = problem
        if problem:
            return f"{name}: {problem}"
    if r.get("d") is not None:
        d = r["d"]
        if not isinstance(d, list) or len(d) != 2:
            return "malformed tombstone"
        return _stamp_problem(d)
    return None


def _winning_fields(
    entity: str, remote: dict[str, list[Any]], local: dict[str, list[str]]
) -> dict[str, list[Any]]:
    """Remote writes newer than this device's; fields that mean one thing together (a due
    date and its all-day flag) win or lose as one, by the newest stamp of the group."""
    wins: dict[str, list[Any]] = {}
    for name, w in remote.items():
        group = group_of(entity, name)
        if len(group) == 1:
            if newer((w[1], w[2]), local.get(name)):
                wins[name] = w
            continue
        theirs = max((remote[g][1], remote[g][2]) for g in group if g in remote)
        ours = max(((local[g][0], local[g][1]) for g in group if g in local), default=None)
        if newer(theirs, ours):
            wins[name] = w
    return wins


_DEFAULTS: dict[str, dict[str, Any]] = {
    "task": {
        "title": "",
        "description": "",
        "priority": "none",
        "completed": 0,
        "due_all_day": 0,
        "tags": "[]",
        "position": "",  # placed last by app/lists/ordering.repair
    },
    "chat_thread": {"status": "{}", "metadata": "{}"},
    "task_list": {"name": "List", "color": "#808080", "archived": 0, "position": "a0"},
    "chat_item": {"type": "unknown", "seq": 0, "data": "{}"},
}
_NOW_FIELDS = ("created_at", "updated_at")


def _fill_defaults(entity: str, fields: tuple[str, ...], row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Fields a partial row lacks (only after a device was cut off mid-row) get defaults."""
    values = list(row)
    defaults = _DEFAULTS[entity]
    for i, name in enumerate(fields, start=2):
        if values[i] is None:
            if name in defaults:
                values[i] = defaults[name]
            elif name in _NOW_FIELDS:
                values[i] = "1970-01-01 00:00:00.000000"
    return tuple(values)


def _ensure_threads(
    conn: Connection, user_id: str, inserts: list[tuple[Any, ...]], fields: tuple[str, ...]
) -> list[tuple[Any, ...]]:
    """Items need their thread: drop items of deleted threads, stub threads not seen yet
    (the thread's own fields, stamped, overwrite the stub when they arrive)."""
    t_idx = 2 + fields.index("thread_id")
    c_idx = 2 + fields.index("created_at")
    thread_ids = list({row[t_idx] for row in inserts if row[t_idx]})
    present = set(_values(conn, "chat_thread", thread_ids))
    tombs = {
        row_id
        for row_id, stamps in _clocks(conn, "chat_thread", thread_ids).items()
        if DELETED in stamps
    }
    kept = []
    for row in inserts:
        tid = row[t_idx]
        if not tid or (tid not in present and tid in tombs):
            continue  # the thread is deleted here (a live thread would be present)
        if tid not in present:
            created = row[c_idx] or "1970-01-01 00:00:00.000000"
            conn.exec_driver_sql(
                "INSERT INTO chat_thread (id, user_id, title, status, metadata, created_at, "
                "updated_at) VALUES (?, ?, NULL, '{}', '{}', ?, ?)",
                (tid, user_id, created, created),
            )
            present.add(tid)
        kept.append(row)
    return kept


def _reindex_tags(conn: Connection, user_id: str, task_ids: list[str]) -> None:
    for chunk in _chunks(task_ids):
        conn.exec_driver_sql(
            f"DELETE FROM task_tag WHERE task_id IN ({_marks(len(chunk))})", tuple(chunk)
        )
        tag_rows: list[tuple[str, str, str]] = []
        for task_id, tags in conn.exec_driver_sql(
            f"SELECT id, tags FROM task WHERE id IN ({_marks(len(chunk))})", tuple(chunk)
        ):
            try:
                parsed = json.loads(tags or "[]")
            except ValueError:
                parsed = []
            for tag in dict.fromkeys(t for t in parsed if isinstance(t, str)):
                tag_rows.append((task_id, tag, user_id))
        if tag_rows:
            conn.exec_driver_sql(
                "INSERT OR IGNORE INTO task_tag (task_id, tag, user_id) VALUES (?, ?, ?)", tag_rows
            )
