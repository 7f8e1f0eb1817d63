"""Stamps every committed local change with a hybrid logical clock, in the same transaction.

Triggers (migration 0003) note each changed field in `sync_outbox` with no stamp. Just
before a Session commits, `stamp_pending` gives all unstamped notes one new HLC stamp and
records it as the field's winning stamp in `sync_clock`. Writes made outside a Session
(plain `engine.begin()`) are stamped by the sync loop before it pushes or pulls.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from app.lists.models import INBOX_DEFAULTS, inbox_id
from app.sync.clock import HLC, ZERO
from app.sync.fields import ROW_NOTE, SYNCED
from app.sync.merge import GROUPS


@dataclass
class Attachment:
    clock: HLC
    on_change: Callable[[], None] | None = None


_attached: weakref.WeakKeyDictionary[Engine, Attachment] = weakref.WeakKeyDictionary()


def attach(engine: AsyncEngine, clock: HLC, on_change: Callable[[], None] | None = None) -> None:
    """Stamp commits on `engine` (a migrated SQLite engine) with `clock`."""
    _attached[engine.sync_engine] = Attachment(clock, on_change)


def detach(engine: AsyncEngine) -> None:
    _attached.pop(engine.sync_engine, None)


def attachment(engine: AsyncEngine) -> Attachment | None:
    return _attached.get(engine.sync_engine)


def stamp_pending(conn: Connection, clock: HLC) -> int:
    """Give every unstamped outbox note one fresh stamp; returns how many were stamped."""
    if _nothing_unstamped(conn):
        return 0
    _spread_row_notes(conn)
    _note_groups(conn)
    floor = _stamp_untouched_inboxes(conn, clock.device_id)
    if floor and _nothing_unstamped(conn):
        return floor
    stamp = clock.now()
    conn.exec_driver_sql(
        "INSERT INTO sync_clock (entity, row_id, field, hlc, device) "
        "SELECT entity, row_id, field, ?, ? FROM sync_outbox WHERE hlc IS NULL "
        "ON CONFLICT (entity, row_id, field) DO UPDATE SET hlc = excluded.hlc, "
        "device = excluded.device",
        (stamp, clock.device_id),
    )
    count = conn.exec_driver_sql(
        "UPDATE sync_outbox SET hlc = ? WHERE hlc IS NULL", (stamp,)
    ).rowcount
    conn.exec_driver_sql(
        "INSERT INTO sync_state (key, value) VALUES ('hlc_last', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (stamp,),
    )
    return floor + count


def _nothing_unstamped(conn: Connection) -> bool:
    found = conn.exec_driver_sql("SELECT 1 FROM sync_outbox WHERE hlc IS NULL LIMIT 1")
    return found.first() is None


def _stamp_untouched_inboxes(conn: Connection, device_id: str) -> int:
    """Every device makes its own Inbox (same id everywhere) when it first needs one. Until
    the person changes it there, it claims nothing: its notes get the lowest stamp. So an
    edit of the Inbox made on any device wins over an Inbox another device makes later
    (a device joining the space), and the devices' own converge on one (by device id)."""
    cols = ", ".join(f"l.{name}" for name in INBOX_DEFAULTS)  # constant column names
    found = conn.exec_driver_sql(
        f"SELECT DISTINCT l.id, l.user_id, {cols} FROM sync_outbox o "
        "JOIN task_list l ON l.id = o.row_id WHERE o.entity = 'task_list' AND o.hlc IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM sync_clock c "
        "WHERE c.entity = 'task_list' AND c.row_id = o.row_id)"
    ).all()
    defaults = tuple(INBOX_DEFAULTS.values())
    fresh = [
        row_id
        for row_id, user_id, *values in found
        if row_id == inbox_id(user_id) and tuple(values) == defaults
    ]
    if not fresh:
        return 0
    conn.exec_driver_sql(
        "INSERT INTO sync_clock (entity, row_id, field, hlc, device) "
        "SELECT entity, row_id, field, ?, ? FROM sync_outbox "
        "WHERE entity = 'task_list' AND row_id = ? AND hlc IS NULL "
        "ON CONFLICT (entity, row_id, field) DO UPDATE SET hlc = excluded.hlc, "
        "device = excluded.device",
        [(ZERO, device_id, row_id) for row_id in fresh],
    )
    return conn.exec_driver_sql(
        "UPDATE sync_outbox SET hlc = ? WHERE entity = 'task_list' AND row_id = ? AND hlc IS NULL",
        [(ZERO, row_id) for row_id in fresh],
    ).rowcount


def _spread_row_notes(conn: Connection) -> None:
    """Whole-row notes (ROW_NOTE, from `note_new_rows`) become one note per synced field,
    exactly what the insert triggers would have written."""
    if (
        conn.exec_driver_sql(
            "SELECT 1 FROM sync_outbox WHERE hlc IS NULL AND field = ? LIMIT 1", (ROW_NOTE,)
        ).first()
        is None
    ):
        return
    for entity, fields in SYNCED.items():
        names = ", ".join(f"('{name}')" for name in fields)  # constant column names
        conn.exec_driver_sql(
            "INSERT OR REPLACE INTO sync_outbox (entity, row_id, user_id, field) "
            "SELECT o.entity, o.row_id, o.user_id, f.column1 "
            f"FROM sync_outbox o, (VALUES {names}) f "
            "WHERE o.entity = ? AND o.field = ? AND o.hlc IS NULL",
            (entity, ROW_NOTE),
        )
    conn.exec_driver_sql("DELETE FROM sync_outbox WHERE field = ? AND hlc IS NULL", (ROW_NOTE,))


def quiet_triggers(conn: Connection) -> bool:
    """Silence the sync triggers for the rest of this transaction (SQLite, where they
    exist); True if they were. The caller notes its rows itself (`note_new_rows`) and
    must call `loud_triggers` before it commits: other connections never see the flag,
    since only the one writer of a SQLite database can change it."""
    if conn.dialect.name != "sqlite" or not _has_outbox(conn):
        return False
    conn.exec_driver_sql("UPDATE sync_flag SET applying = 1 WHERE id = 1")
    return True


def loud_triggers(conn: Connection) -> None:
    conn.exec_driver_sql("UPDATE sync_flag SET applying = 0 WHERE id = 1")


def note_new_rows(conn: Connection, entity: str, user_id: str, ids: list[str]) -> None:
    """Note rows just inserted while the triggers were quiet: one whole-row note each
    (ROW_NOTE), spread into per-field notes when they are stamped."""
    if ids:
        conn.exec_driver_sql(
            "INSERT OR REPLACE INTO sync_outbox (entity, row_id, user_id, field) "
            "VALUES (?, ?, ?, ?)",
            [(entity, row_id, user_id, ROW_NOTE) for row_id in ids],
        )


def _has_outbox(conn: Connection) -> bool:
    return (
        conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sync_outbox'"
        ).first()
        is not None
    )


def _note_groups(conn: Connection) -> None:
    """A changed field of a group (app/sync/merge.py GROUPS) notes its whole group, so the
    group is stamped and pushed as one write."""
    for entity, groups in GROUPS.items():
        for group in groups:
            for name in group:
                for sibling in group:
                    if sibling == name:
                        continue
                    # `+`: no index on entity, so SQLite walks the few unstamped notes
                    # (ix_sync_outbox_unstamped) rather than every note of the entity,
                    # stamped and waiting to be pushed (38k notes: 17 ms every commit).
                    conn.exec_driver_sql(
                        "INSERT OR REPLACE INTO sync_outbox (entity, row_id, user_id, field) "
                        "SELECT o.entity, o.row_id, o.user_id, ? FROM sync_outbox o "
                        "WHERE o.hlc IS NULL AND +o.entity = ? AND +o.field = ? "
                        "AND NOT EXISTS (SELECT 1 FROM sync_outbox s WHERE s.entity = o.entity "
                        "AND s.row_id = o.row_id AND s.field = ? AND s.hlc IS NULL)",
                        (sibling, entity, name, sibling),
                    )


def note_fields(
    conn: Connection, entity: str, row_id: str, user_id: str, fields: list[str]
) -> None:
    """Record an edit that left a field's value as it was (the triggers note only changes):
    it is still the latest word on that field, and must win over older writes elsewhere."""
    if not fields or conn.dialect.name != "sqlite" or not _has_outbox(conn):
        return
    conn.exec_driver_sql(
        "INSERT OR REPLACE INTO sync_outbox (entity, row_id, user_id, field) VALUES (?, ?, ?, ?)",
        [(entity, row_id, user_id, f) for f in fields],
    )


def _engine_of(session: Session) -> Engine | None:
    try:
        bind = session.get_bind()
    except Exception:
        return None
    return bind if isinstance(bind, Engine) else getattr(bind, "engine", None)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    engine = _engine_of(session)
    att = _attached.get(engine) if engine is not None else None
    if att is None or not session.in_transaction():
        return
    if session.new or session.dirty or session.deleted:
        session.flush()
    if stamp_pending(session.connection(), att.clock):
        session.info["sync_changed"] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if not session.info.pop("sync_changed", False):
        return
    engine = _engine_of(session)
    att = _attached.get(engine) if engine is not None else None
    if att is not None and att.on_change is not None:
        att.on_change()
