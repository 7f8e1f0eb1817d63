"""Import indexes its new tasks for search once per batch, not once per row (SQLite).

The AFTER INSERT triggers that copy a new task into the two full-text indexes (0001's
`task_fts`, 0004's `search_doc` → `search_fts`) now skip their work while the one-row
table `search_flag` has `bulk = 1`. Only an import sets it, inside its own write
transaction, and indexes the batch itself with one INSERT … SELECT per index before it
sets it back (app/search/bulk.py); no other connection ever sees it set, so every other
way a task is written (REST, chat tools, sync, cascades) keeps the per-row triggers.
Delete and update triggers are untouched: an external-content index must hear of every
change to its rows.

Revision ID: 0011_search_bulk_index
Revises: 0010_sync_graveyard
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0011_search_bulk_index"
down_revision = "0010_sync_graveyard"
branch_labels = None
depends_on = None

# Frozen copies (a migration must not change when the app does): 0008's task_fts owner
# column text and 0004's insert triggers.
OWNER = "'u' || hex(new.user_id) || ' s' || new.completed"
INDEXING = "(SELECT bulk FROM search_flag WHERE id = 1) = 0"


def _triggers(when: str) -> list[str]:
    return [
        f"CREATE TRIGGER task_fts_ai AFTER INSERT ON task {when}BEGIN "
        "INSERT INTO task_fts(rowid, title, description, owner) "
        f"VALUES (new.rowid, new.title, new.description, {OWNER}); END",
        f"CREATE TRIGGER search_task_ai AFTER INSERT ON task {when}BEGIN "
        "DELETE FROM search_doc WHERE kind = 'task' AND ref_id = new.id; "
        "INSERT INTO search_doc (kind, ref_id, user_id, title, body) "
        "VALUES ('task', new.id, new.user_id, new.title, new.description); END",
        f"CREATE TRIGGER search_doc_ai AFTER INSERT ON search_doc {when}BEGIN "
        "INSERT INTO search_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    ]


def _replace_triggers(when: str) -> None:
    for name in ("task_fts_ai", "search_task_ai", "search_doc_ai"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for statement in _triggers(when):
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL indexes tasks with GIN expression indexes, no triggers
    op.execute(
        "CREATE TABLE search_flag (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "bulk INTEGER NOT NULL DEFAULT 0)"
    )
    op.execute("INSERT INTO search_flag (id, bulk) VALUES (1, 0)")
    _replace_triggers(f"WHEN {INDEXING} ")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _replace_triggers("")
    op.execute("DROP TABLE IF EXISTS search_flag")
