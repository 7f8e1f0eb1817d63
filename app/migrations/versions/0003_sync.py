"""Local change tracking for sync (SQLite only): outbox, field clocks, state.

Triggers on task / chat_thread / chat_item note every changed field (and every delete)
in `sync_outbox`, whatever code made the change (ORM, Core bulk statements, cascades).
The app stamps those notes with a hybrid logical clock in the same transaction
(app/sync/capture.py); the winning stamp of every field lives in `sync_clock`.
While the sync engine applies remote changes it sets `sync_flag.applying = 1` inside its
own transaction, so the triggers stay quiet for those writes.

A later migration that adds a column to a synced table must recreate these triggers.

Revision ID: 0003_sync
Revises: 0002_chat
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0003_sync"
down_revision = "0002_chat"
branch_labels = None
depends_on = None

# Synced columns (besides the primary key `id` and the scope `user_id`).
SYNCED = {
    "task": (
        "title",
        "description",
        "priority",
        "completed",
        "completed_at",
        "due_at",
        "due_all_day",
        "tags",
        "created_at",
        "updated_at",
    ),
    "chat_thread": ("title", "status", "metadata", "created_at", "updated_at"),
    "chat_item": ("thread_id", "type", "created_at", "seq", "data"),
}
QUIET = "(SELECT applying FROM sync_flag WHERE id = 1) = 0"


def _triggers(table: str, fields: tuple[str, ...]) -> list[str]:
    values = ", ".join(f"('{table}', NEW.id, NEW.user_id, '{f}')" for f in fields)
    changed = " UNION ALL ".join(
        f'SELECT \'{f}\' AS field WHERE OLD."{f}" IS NOT NEW."{f}"' for f in fields
    )
    head = "INSERT OR REPLACE INTO sync_outbox (entity, row_id, user_id, field)"
    return [
        f"CREATE TRIGGER sync_{table}_ai AFTER INSERT ON {table} WHEN {QUIET} BEGIN "
        f"{head} VALUES {values}; END",
        f"CREATE TRIGGER sync_{table}_au AFTER UPDATE ON {table} WHEN {QUIET} BEGIN "
        f"{head} SELECT '{table}', NEW.id, NEW.user_id, field FROM ({changed}); END",
        f"CREATE TRIGGER sync_{table}_ad AFTER DELETE ON {table} WHEN {QUIET} BEGIN "
        f"{head} VALUES ('{table}', OLD.id, OLD.user_id, '_deleted'); END",
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # a PostgreSQL primary store is already shared; it does not sync
    op.execute(
        "CREATE TABLE sync_flag (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "applying INTEGER NOT NULL DEFAULT 0)"
    )
    op.execute("INSERT INTO sync_flag (id, applying) VALUES (1, 0)")
    # One note per (row, field) still to push; re-dirtying a field replaces its note
    # (new seq), so the outbox never grows past rows x fields.
    op.execute(
        "CREATE TABLE sync_outbox ("
        "seq INTEGER PRIMARY KEY AUTOINCREMENT, entity TEXT NOT NULL, row_id TEXT NOT NULL, "
        "user_id TEXT NOT NULL, field TEXT NOT NULL, hlc TEXT, "
        "UNIQUE (entity, row_id, field))"
    )
    op.execute("CREATE INDEX ix_sync_outbox_unstamped ON sync_outbox (seq) WHERE hlc IS NULL")
    # The winning (hlc, device) of every field of every synced row; field `_deleted`
    # is a tombstone.
    op.execute(
        "CREATE TABLE sync_clock (entity TEXT NOT NULL, row_id TEXT NOT NULL, "
        "field TEXT NOT NULL, hlc TEXT NOT NULL, device TEXT NOT NULL, "
        "PRIMARY KEY (entity, row_id, field)) WITHOUT ROWID"
    )
    op.execute("CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    for table, fields in SYNCED.items():
        for statement in _triggers(table, fields):
            op.execute(statement)
    # Rows written before this migration are pending too (stamped on first sync).
    for table, fields in SYNCED.items():
        for field in (*fields,):
            op.execute(
                "INSERT OR IGNORE INTO sync_outbox (entity, row_id, user_id, field) "
                f"SELECT '{table}', id, user_id, '{field}' FROM {table}"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in SYNCED:
        for suffix in ("ai", "au", "ad"):
            op.execute(f"DROP TRIGGER IF EXISTS sync_{table}_{suffix}")
    for table in ("sync_state", "sync_clock", "sync_outbox", "sync_flag"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
