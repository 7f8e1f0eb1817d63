"""DDL for the unified search index and the task ↔ message links (used by the migration).

SQLite: `search_doc` holds one plain-text document per task, thread title and chat message
(kind, ref_id, user_id, thread_id, title, body) with a stable INTEGER PRIMARY KEY, and the
external-content FTS5 table `search_fts` indexes it. Triggers on task / chat_thread /
chat_item keep `search_doc` in step whatever code writes those tables (ORM, Core bulk
statements, foreign-key cascades, the sync engine); triggers on `search_doc` keep
`search_fts` in step. A message's text is read from the item's JSON (`$.content[*].text`)
inside the trigger, so the chat store needs no extra column. One exception: an import
sets the insert triggers aside for each batch of new tasks and indexes the batch itself,
inside the same transaction (app/search/bulk.py).

PostgreSQL: no copy at all: GIN expression indexes over the same expressions the search
query uses (tasks already have `ix_task_fts`).
"""

from __future__ import annotations

from app.db.types import UTCDateTime

MESSAGE_TYPES = "('user_message', 'assistant_message')"
# The text of a ChatKit user/assistant item: its content parts' `text`, one per line.
SQLITE_ITEM_TEXT = (
    "(SELECT coalesce(group_concat(json_extract(value, '$.text'), char(10)), '') "
    "FROM json_each({row}.data, '$.content') WHERE json_extract(value, '$.text') IS NOT NULL)"
)
PG_ITEM_TEXT_JSONB = "jsonb_path_query_array(data::jsonb, '$.content[*].text')"


def _item_text(row: str) -> str:
    return SQLITE_ITEM_TEXT.format(row=row)


SQLITE_UP: list[str] = [
    "CREATE TABLE search_doc ("
    "id INTEGER PRIMARY KEY, kind TEXT NOT NULL, ref_id TEXT NOT NULL, "
    "user_id TEXT NOT NULL, thread_id TEXT, title TEXT NOT NULL DEFAULT '', "
    "body TEXT NOT NULL DEFAULT '', UNIQUE (kind, ref_id))",
    "CREATE INDEX ix_search_doc_thread ON search_doc (thread_id) WHERE thread_id IS NOT NULL",
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, body, content='search_doc', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
    # search_doc → search_fts
    "CREATE TRIGGER search_doc_ai AFTER INSERT ON search_doc BEGIN "
    "INSERT INTO search_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER search_doc_ad AFTER DELETE ON search_doc BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER search_doc_au AFTER UPDATE ON search_doc BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO search_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    # task → search_doc
    "CREATE TRIGGER search_task_ai AFTER INSERT ON task BEGIN "
    "DELETE FROM search_doc WHERE kind = 'task' AND ref_id = new.id; "
    "INSERT INTO search_doc (kind, ref_id, user_id, title, body) "
    "VALUES ('task', new.id, new.user_id, new.title, new.description); END",
    "CREATE TRIGGER search_task_au AFTER UPDATE OF title, description, user_id ON task BEGIN "
    "UPDATE search_doc SET title = new.title, body = new.description, user_id = new.user_id "
    "WHERE kind = 'task' AND ref_id = old.id; END",
    "CREATE TRIGGER search_task_ad AFTER DELETE ON task BEGIN "
    "DELETE FROM search_doc WHERE kind = 'task' AND ref_id = old.id; END",
    # chat_thread → search_doc (its title)
    "CREATE TRIGGER search_thread_ai AFTER INSERT ON chat_thread BEGIN "
    "DELETE FROM search_doc WHERE kind = 'thread' AND ref_id = new.id; "
    "INSERT INTO search_doc (kind, ref_id, user_id, thread_id, title) "
    "VALUES ('thread', new.id, new.user_id, new.id, coalesce(new.title, '')); END",
    "CREATE TRIGGER search_thread_au AFTER UPDATE OF title, user_id ON chat_thread BEGIN "
    "UPDATE search_doc SET title = coalesce(new.title, ''), user_id = new.user_id "
    "WHERE kind = 'thread' AND ref_id = old.id; END",
    "CREATE TRIGGER search_thread_ad AFTER DELETE ON chat_thread BEGIN "
    "DELETE FROM search_doc WHERE thread_id = old.id; END",
    # chat_item → search_doc (user and assistant messages only)
    f"CREATE TRIGGER search_item_ai AFTER INSERT ON chat_item "
    f"WHEN new.type IN {MESSAGE_TYPES} BEGIN "
    f"DELETE FROM search_doc WHERE kind = 'message' AND ref_id = new.id; "
    f"INSERT INTO search_doc (kind, ref_id, user_id, thread_id, body) "
    f"VALUES ('message', new.id, new.user_id, new.thread_id, {_item_text('new')}); END",
    f"CREATE TRIGGER search_item_au AFTER UPDATE OF data, type, user_id, thread_id "
    f"ON chat_item BEGIN "
    f"DELETE FROM search_doc WHERE kind = 'message' AND ref_id = old.id; "
    f"INSERT INTO search_doc (kind, ref_id, user_id, thread_id, body) "
    f"SELECT 'message', new.id, new.user_id, new.thread_id, {_item_text('new')} "
    f"WHERE new.type IN {MESSAGE_TYPES}; END",
    "CREATE TRIGGER search_item_ad AFTER DELETE ON chat_item BEGIN "
    "DELETE FROM search_doc WHERE kind = 'message' AND ref_id = old.id; END",
    # Backfill what exists already.
    "INSERT OR IGNORE INTO search_doc (kind, ref_id, user_id, title, body) "
    "SELECT 'task', id, user_id, title, description FROM task",
    "INSERT OR IGNORE INTO search_doc (kind, ref_id, user_id, thread_id, title) "
    "SELECT 'thread', id, user_id, id, coalesce(title, '') FROM chat_thread",
    f"INSERT OR IGNORE INTO search_doc (kind, ref_id, user_id, thread_id, body) "
    f"SELECT 'message', ci.id, ci.user_id, ci.thread_id, {_item_text('ci')} "
    f"FROM chat_item AS ci WHERE ci.type IN {MESSAGE_TYPES}",
]

SQLITE_DOWN: list[str] = [
    *(
        f"DROP TRIGGER IF EXISTS {name}"
        for name in (
            "search_doc_ai",
            "search_doc_ad",
            "search_doc_au",
            "search_task_ai",
            "search_task_au",
            "search_task_ad",
            "search_thread_ai",
            "search_thread_au",
            "search_thread_ad",
            "search_item_ai",
            "search_item_au",
            "search_item_ad",
        )
    ),
    "DROP TABLE IF EXISTS search_fts",
    "DROP TABLE IF EXISTS search_doc",
]

PG_UP: list[str] = [
    "CREATE INDEX ix_chat_thread_fts ON chat_thread USING GIN "
    "(to_tsvector('simple', coalesce(title, '')))",
    f"CREATE INDEX ix_chat_item_fts ON chat_item USING GIN "
    f"(to_tsvector('simple', {PG_ITEM_TEXT_JSONB})) WHERE type IN {MESSAGE_TYPES}",
]
PG_DOWN: list[str] = [
    "DROP INDEX IF EXISTS ix_chat_item_fts",
    "DROP INDEX IF EXISTS ix_chat_thread_fts",
]


def task_link_table(op, sa) -> None:
    """Which thread (and item) created or changed a task; the latest one is its source."""
    op.create_table(
        "task_link",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "task_id", sa.String(36), sa.ForeignKey("task.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column(
            "thread_id",
            sa.String(64),
            sa.ForeignKey("chat_thread.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("item_id", sa.String(64), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_task_link_task", "task_link", ["task_id", "id"])
    op.create_index("ix_task_link_thread", "task_link", ["thread_id"])
