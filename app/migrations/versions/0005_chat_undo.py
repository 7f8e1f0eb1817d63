"""The assistant's undoable changes and the daily chat message count, in the database.

Revision ID: 0005_chat_undo
Revises: 0004_search_links
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.db.types import UTCDateTime

revision = "0005_chat_undo"
down_revision = "0004_search_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_undo",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("undone_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_chat_undo_user_created", "chat_undo", ["user_id", "created_at"])
    op.create_table(
        "chat_usage",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("messages", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("chat_usage")
    op.drop_index("ix_chat_undo_user_created", table_name="chat_undo")
    op.drop_table("chat_undo")
