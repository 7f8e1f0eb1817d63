"""Chat threads and thread items.

Revision ID: 0002_chat
Revises: 0001_tasks
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.db.types import UTCDateTime

revision = "0002_chat"
down_revision = "0001_tasks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_thread",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(255), nullable=True),
        sa.Column("status", sa.JSON(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_chat_thread_user_created", "chat_thread", ["user_id", "created_at", "id"])
    op.create_table(
        "chat_item",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "thread_id",
            sa.String(64),
            sa.ForeignKey("chat_thread.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_chat_item_thread_created", "chat_item", ["thread_id", "created_at", "seq"])
    op.create_index("ix_chat_item_user_created", "chat_item", ["user_id", "created_at"])


def downgrade() -> None:
    op.drop_table("chat_item")
    op.drop_table("chat_thread")
