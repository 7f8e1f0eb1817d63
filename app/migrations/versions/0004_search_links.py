"""Unified full-text search (threads, messages, tasks) and task ↔ message links.

Revision ID: 0004_search_links
Revises: 0003_sync
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.search import schema

revision = "0004_search_links"
down_revision = "0003_sync"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema.task_link_table(op, sa)
    dialect = op.get_bind().dialect.name
    statements = schema.SQLITE_UP if dialect == "sqlite" else schema.PG_UP
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in schema.SQLITE_DOWN if dialect == "sqlite" else schema.PG_DOWN:
        op.execute(statement)
    op.drop_table("task_link")
