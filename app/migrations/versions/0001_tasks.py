"""Tasks table, its indexes and full-text search.

Revision ID: 0001_tasks
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.db.types import UTCDateTime

revision = "0001_tasks"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("description", sa.String(2000), nullable=False, server_default=""),
        sa.Column(
            "priority",
            sa.Enum("none", "low", "medium", "high", name="priority", native_enum=False, length=6),
            nullable=False,
            server_default="none",
        ),
        sa.Column("completed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.Column("due_all_day", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_task_user_completed_created", "task", ["user_id", "completed", "created_at"]
    )
    op.create_index("ix_task_user_due", "task", ["user_id", "due_at"])
    op.create_index("ix_task_user_completed_priority", "task", ["user_id", "completed", "priority"])
    op.create_index("ix_task_user_updated", "task", ["user_id", "updated_at"])
    op.create_index(
        "ix_task_smart",
        "task",
        [
            "user_id",
            "completed",
            sa.text("(due_at IS NULL)"),
            "due_at",
            sa.text(
                "(CASE priority WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 "
                "ELSE 0 END) DESC"
            ),
            sa.text("created_at DESC"),
            "id",
        ],
    )
    op.create_table(
        "task_tag",
        sa.Column(
            "task_id",
            sa.String(36),
            sa.ForeignKey("task.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("tag", sa.String(40), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_task_tag_user_tag", "task_tag", ["user_id", "tag", "task_id"])

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        # Contentless FTS5 index over title + description, kept in step by triggers. The
        # `owner` column holds one token per user ('u' + hex of the user id) so a search is
        # scoped inside the index: counting a user's matches never touches the task rows.
        op.execute(
            "CREATE VIRTUAL TABLE task_fts USING fts5("
            "title, description, owner, content='', "
            "tokenize='unicode61 remove_diacritics 2', prefix='2 3')"
        )
        new_row = "new.rowid, new.title, new.description, 'u' || hex(new.user_id)"
        old_row = "old.rowid, old.title, old.description, 'u' || hex(old.user_id)"
        op.execute(
            "CREATE TRIGGER task_fts_ai AFTER INSERT ON task BEGIN "
            f"INSERT INTO task_fts(rowid, title, description, owner) VALUES ({new_row}); END"
        )
        op.execute(
            "CREATE TRIGGER task_fts_ad AFTER DELETE ON task BEGIN "
            "INSERT INTO task_fts(task_fts, rowid, title, description, owner) "
            f"VALUES ('delete', {old_row}); END"
        )
        op.execute(
            "CREATE TRIGGER task_fts_au AFTER UPDATE OF title, description, user_id ON task "
            "BEGIN INSERT INTO task_fts(task_fts, rowid, title, description, owner) "
            f"VALUES ('delete', {old_row}); "
            f"INSERT INTO task_fts(rowid, title, description, owner) VALUES ({new_row}); END"
        )
    elif dialect == "postgresql":
        op.execute(
            "CREATE INDEX ix_task_fts ON task USING GIN "
            "(to_tsvector('simple', title || ' ' || description))"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("task_fts_ai", "task_fts_ad", "task_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS task_fts")
    op.drop_table("task_tag")
    op.drop_table("task")
