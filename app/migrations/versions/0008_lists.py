"""Lists, subtasks and manual order: task_list, task.list_id / parent_id / position.

Every existing task goes to its owner's Inbox (one per owner, with the id every device
derives from the owner) and gets an order key, oldest first. On SQLite the sync triggers
of `task` are recreated over all of its columns (see 0003_sync) and `task_list` gets its
own, so the new fields and lists sync field by field; the backfill below is noted in the
outbox by those triggers like any local edit.

Revision ID: 0008_lists
Revises: 0004_search_links
Create Date: 2026-12-04
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op
from fractional_indexing import generate_n_keys_between

from app.db.types import UTCDateTime

revision = "0008_lists"
down_revision = "0007_reminders"
branch_labels = None
depends_on = None

# Frozen copies of app/lists/models.py (a migration must not change when the app does).
INBOX_NAMESPACE = uuid.UUID("6f1c7a52-3b0e-4c39-9a43-7d3c2b8e1f10")
INBOX_POSITION = "a0"
QUIET = "(SELECT applying FROM sync_flag WHERE id = 1) = 0"
LIST_FIELDS = ("name", "color", "emoji", "archived", "position", "created_at", "updated_at")


def _key_type() -> sa.types.TypeEngine:
    return sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")


def _sync_triggers(table: str, fields: list[str]) -> list[str]:
    """Same triggers as 0003_sync's, over `fields`."""
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


def _has_sync(bind: sa.engine.Connection) -> bool:
    return bind.dialect.name == "sqlite" and sa.inspect(bind).has_table("sync_outbox")


def _recreate_task_triggers(bind: sa.engine.Connection) -> None:
    """Sync every column of `task` but its id and owner, whichever migrations added them."""
    for suffix in ("ai", "au", "ad"):
        op.execute(f"DROP TRIGGER IF EXISTS sync_task_{suffix}")
    columns = [c["name"] for c in sa.inspect(bind).get_columns("task")]
    for statement in _sync_triggers("task", [c for c in columns if c not in ("id", "user_id")]):
        op.execute(statement)


def _fts_triggers(owner: str, update_of: str) -> None:
    """(Re)create 0001's triggers over task_fts with `owner` as the owner column's text,
    and refill the (contentless) index to match."""
    for trigger in ("task_fts_ai", "task_fts_ad", "task_fts_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    new_row = f"new.rowid, new.title, new.description, {owner.format(row='new')}"
    old_row = f"old.rowid, old.title, old.description, {owner.format(row='old')}"
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
        f"CREATE TRIGGER task_fts_au AFTER UPDATE OF {update_of} ON task "
        "BEGIN INSERT INTO task_fts(task_fts, rowid, title, description, owner) "
        f"VALUES ('delete', {old_row}); "
        f"INSERT INTO task_fts(rowid, title, description, owner) VALUES ({new_row}); END"
    )
    op.execute("INSERT INTO task_fts(task_fts) VALUES ('delete-all')")
    op.execute(
        "INSERT INTO task_fts(rowid, title, description, owner) "
        f"SELECT rowid, title, description, {owner.format(row='task')} FROM task"
    )


# The owner column also carries the task's state (s0 open, s1 done), so "words + open"
# is counted inside the index (app/tasks/service.py _fts_match).
FTS_OWNER_STATE = "'u' || hex({row}.user_id) || ' s' || {row}.completed"
FTS_OWNER_0001 = "'u' || hex({row}.user_id)"


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "task_list",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("color", sa.String(16), nullable=False, server_default="#808080"),
        sa.Column("emoji", sa.String(16), nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("position", _key_type(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_task_list_user_position", "task_list", ["user_id", "position", "id"])
    op.add_column("task", sa.Column("list_id", sa.String(36), nullable=True))
    op.add_column("task", sa.Column("parent_id", sa.String(36), nullable=True))
    op.add_column("task", sa.Column("position", _key_type(), nullable=False, server_default=""))
    op.create_index(
        "ix_task_list_order",
        "task",
        ["user_id", "list_id", "parent_id", "position", "id", "completed"],
    )
    op.create_index("ix_task_parent_order", "task", ["parent_id", "position", "id", "completed"])
    op.create_index("ix_task_open_due", "task", ["user_id", "completed", "due_at", "due_all_day"])
    # A task's state by id without reading the row: counts driven from task_tag.
    op.create_index("ix_task_id_completed", "task", ["id", "completed"])
    if bind.dialect.name == "sqlite" and sa.inspect(bind).has_table("task_fts"):
        _fts_triggers(FTS_OWNER_STATE, "title, description, user_id, completed")
    sync = _has_sync(bind)
    if sync:
        _recreate_task_triggers(bind)
        for statement in _sync_triggers("task_list", list(LIST_FIELDS)):
            op.execute(statement)

    # Backfill: one Inbox per owner; their tasks go there, oldest first.
    task_list = sa.table(
        "task_list",
        *(sa.column(n) for n in ("id", "user_id", "name", "color", "archived", "position")),
        sa.column("created_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
    )
    task = sa.table(
        "task",
        sa.column("id"),
        sa.column("user_id"),
        sa.column("list_id"),
        sa.column("position"),
        sa.column("created_at", UTCDateTime()),
    )
    owners = [r[0] for r in bind.execute(sa.select(task.c.user_id).distinct())]
    for owner in owners:
        inbox = str(uuid.uuid5(INBOX_NAMESPACE, owner))
        first = bind.execute(
            sa.select(sa.func.min(task.c.created_at)).where(task.c.user_id == owner)
        ).scalar()
        bind.execute(
            task_list.insert().values(
                id=inbox,
                user_id=owner,
                name="Inbox",
                color="#808080",
                archived=False,
                position=INBOX_POSITION,
                created_at=first,
                updated_at=first,
            )
        )
        ids = [
            r[0]
            for r in bind.execute(
                sa.select(task.c.id)
                .where(task.c.user_id == owner)
                .order_by(task.c.created_at, task.c.id)
            )
        ]
        keys = generate_n_keys_between(None, None, len(ids)) if ids else []
        if ids:
            bind.execute(
                task.update()
                .where(task.c.id == sa.bindparam("b_id"))
                .values(list_id=inbox, position=sa.bindparam("b_pos")),
                [{"b_id": i, "b_pos": k} for i, k in zip(ids, keys, strict=True)],
            )


def downgrade() -> None:
    bind = op.get_bind()
    sync = _has_sync(bind)
    if sync:
        for suffix in ("ai", "au", "ad"):
            op.execute(f"DROP TRIGGER IF EXISTS sync_task_{suffix}")
            op.execute(f"DROP TRIGGER IF EXISTS sync_task_list_{suffix}")
        op.execute("DELETE FROM sync_outbox WHERE entity = 'task_list'")
        op.execute(
            "DELETE FROM sync_outbox WHERE entity = 'task' "
            "AND field IN ('list_id', 'parent_id', 'position')"
        )
    if bind.dialect.name == "sqlite" and sa.inspect(bind).has_table("task_fts"):
        _fts_triggers(FTS_OWNER_0001, "title, description, user_id")
    op.drop_index("ix_task_id_completed", table_name="task")
    op.drop_index("ix_task_open_due", table_name="task")
    op.drop_index("ix_task_parent_order", table_name="task")
    op.drop_index("ix_task_list_order", table_name="task")
    op.drop_column("task", "position")
    op.drop_column("task", "parent_id")
    op.drop_column("task", "list_id")
    op.drop_index("ix_task_list_user_position", table_name="task_list")
    op.drop_table("task_list")
    if sync:
        _recreate_task_triggers(bind)
