"""Sync keeps the last values of a row deleted here until they are pushed (SQLite only).

A device that edits a row and deletes it before its next sync used to push only the
tombstone: the edit's value was gone with the row while its stamp stayed, and a later
edit elsewhere that brought the row back took the server's older value (issue 23,
finding 9). A BEFORE DELETE trigger now copies the row's synced columns, as JSON, into
`sync_graveyard`; the push sends them with the tombstone (app/sync/local.py) and forgets
them once pushed.

The column list is read from the table when this runs: a later migration that adds a
synced column must recreate these triggers (as with 0003's); so it runs after the
migrations that add task columns.

Revision ID: 0010_sync_graveyard
Revises: 0007_reminders
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0010_sync_graveyard"
down_revision = "0008_lists"
branch_labels = None
depends_on = None

TABLES = ("task", "chat_thread", "chat_item", "task_list")
QUIET = "(SELECT applying FROM sync_flag WHERE id = 1) = 0"


def _columns(table: str) -> list[str]:
    rows = op.get_bind().exec_driver_sql(f"PRAGMA table_info({table})").all()
    return [r[1] for r in rows if r[1] not in ("id", "user_id")]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # a PostgreSQL primary store does not sync
    op.execute(
        "CREATE TABLE IF NOT EXISTS sync_graveyard (entity TEXT NOT NULL, "
        "row_id TEXT NOT NULL, user_id TEXT NOT NULL, data TEXT NOT NULL, "
        "PRIMARY KEY (entity, row_id)) WITHOUT ROWID"
    )
    for table in TABLES:
        pairs = ", ".join(f"'{c}', OLD.\"{c}\"" for c in _columns(table))
        op.execute(f"DROP TRIGGER IF EXISTS sync_{table}_bd")
        op.execute(
            f"CREATE TRIGGER sync_{table}_bd BEFORE DELETE ON {table} WHEN {QUIET} BEGIN "
            "INSERT OR REPLACE INTO sync_graveyard (entity, row_id, user_id, data) "
            f"VALUES ('{table}', OLD.id, OLD.user_id, json_object({pairs})); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS sync_{table}_bd")
    op.execute("DROP TABLE IF EXISTS sync_graveyard")
