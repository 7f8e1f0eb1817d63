"""Recurring tasks and reminders: recurrence, remind_at and their bookkeeping columns.

The sync triggers of migration 0003 list the task's columns, so they are recreated here
from the table's actual columns (whatever other migrations added before this one).

Revision ID: 0007_reminders
Revises: 0005_chat_undo
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.db.types import UTCDateTime

revision = "0007_reminders"
down_revision = "0005_chat_undo"
branch_labels = None
depends_on = None

COLUMNS = (
    ("recurrence", sa.String(300)),
    ("remind_at", UTCDateTime()),
    ("remind_before_minutes", sa.Integer()),
    ("reminded_for", UTCDateTime()),
    ("recurrence_time", sa.String(8)),
    ("last_completed_at", UTCDateTime()),
)
QUIET = "(SELECT applying FROM sync_flag WHERE id = 1) = 0"


def _task_triggers(fields: list[str]) -> list[str]:
    """Migration 0003's task triggers, over `fields` (same SQL, same names)."""
    values = ", ".join(f"('task', NEW.id, NEW.user_id, '{f}')" for f in fields)
    changed = " UNION ALL ".join(
        f'SELECT \'{f}\' AS field WHERE OLD."{f}" IS NOT NEW."{f}"' for f in fields
    )
    head = "INSERT OR REPLACE INTO sync_outbox (entity, row_id, user_id, field)"
    return [
        f"CREATE TRIGGER sync_task_ai AFTER INSERT ON task WHEN {QUIET} BEGIN "
        f"{head} VALUES {values}; END",
        f"CREATE TRIGGER sync_task_au AFTER UPDATE ON task WHEN {QUIET} BEGIN "
        f"{head} SELECT 'task', NEW.id, NEW.user_id, field FROM ({changed}); END",
        f"CREATE TRIGGER sync_task_ad AFTER DELETE ON task WHEN {QUIET} BEGIN "
        f"{head} VALUES ('task', OLD.id, OLD.user_id, '_deleted'); END",
    ]


def _recreate_sync_triggers() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    has_outbox = bind.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sync_outbox'"
    ).first()
    if has_outbox is None:
        return
    fields = [
        row[1]
        for row in bind.exec_driver_sql("PRAGMA table_info(task)")
        if row[1] not in ("id", "user_id")
    ]
    for suffix in ("ai", "au", "ad"):
        op.execute(f"DROP TRIGGER IF EXISTS sync_task_{suffix}")
    for statement in _task_triggers(fields):
        op.execute(statement)


def upgrade() -> None:
    for name, type_ in COLUMNS:
        op.add_column("task", sa.Column(name, type_, nullable=True))
    op.create_index("ix_task_user_remind", "task", ["user_id", "completed", "remind_at"])
    _recreate_sync_triggers()


def downgrade() -> None:
    op.drop_index("ix_task_user_remind", table_name="task")
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for suffix in ("ai", "au", "ad"):
            op.execute(f"DROP TRIGGER IF EXISTS sync_task_{suffix}")
    # Plain ALTER TABLE DROP COLUMN (SQLite >= 3.35): a batch copy would drop the FTS triggers.
    for name, _ in reversed(COLUMNS):
        op.drop_column("task", name)
    _recreate_sync_triggers()
