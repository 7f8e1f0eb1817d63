"""Many new tasks at once on SQLite (an import): their insert triggers set aside per batch.

Every trigger that fires AFTER INSERT on `task` (the two full-text indexes' and sync's,
however quiet their WHEN makes them) makes SQLite keep a statement journal for each row
it inserts: every page the row touches in the task table's ten indexes is copied to a
temporary file in case that one row must be undone, ~3 s of system time per 100k tasks.
So the importer drops those triggers inside its own write transaction, inserts its
batch, indexes it with one INSERT … SELECT per index (`index_new_tasks`), and creates
the triggers again from their own stored SQL before it commits. DDL is transactional in
SQLite and there is one writer at a time: no other connection ever sees them missing,
and a failed batch rolls back with them in place. Sync's trigger is left to its owner's
bookkeeping: the importer notes its new rows itself (app/sync/capture.note_new_rows).
On PostgreSQL (GIN expression indexes, no triggers) nothing here does anything.
"""

from __future__ import annotations

import json

from sqlalchemy.engine import Connection

# task → task_fts (0001/0008), task → search_doc and search_doc → search_fts (0004),
# task → sync_outbox (0003/0008; quiet during an import anyway).
TASK_INSERT_TRIGGERS = ("task_fts_ai", "search_task_ai", "search_doc_ai", "sync_task_ai")
# The same text the trigger writes (0008's task_fts owner column: user and open/done).
_OWNER = "'u' || hex(user_id) || ' s' || completed"
_IDS = "(SELECT value FROM json_each(?))"


def suspend_insert_triggers(conn: Connection) -> dict[str, str]:
    """Drop the insert triggers of `task` (and of `search_doc`) for this transaction;
    returns {name: its CREATE statement} for `index_new_tasks` and `restore_triggers`."""
    if conn.dialect.name != "sqlite":
        return {}
    marks = ", ".join("?" for _ in TASK_INSERT_TRIGGERS)
    saved = {
        name: sql
        for name, sql in conn.exec_driver_sql(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN ({marks})",
            TASK_INSERT_TRIGGERS,
        ).all()
    }
    for name in saved:
        conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    return saved


def restore_triggers(conn: Connection, saved: dict[str, str]) -> None:
    for sql in saved.values():
        conn.exec_driver_sql(sql)


def index_new_tasks(conn: Connection, ids: list[str], suspended: dict[str, str]) -> None:
    """Index tasks inserted while the triggers in `suspended` were away: exactly the rows
    those triggers would have written, in one statement per index."""
    if not ids:
        return
    params = (json.dumps(ids),)
    if "task_fts_ai" in suspended:
        # In rowid order: FTS5 writes out its pending terms whenever a rowid is not above
        # the last one, and the ids' index order would do that for nearly every row.
        conn.exec_driver_sql(
            "INSERT INTO task_fts (rowid, title, description, owner) "
            f"SELECT rowid, title, description, {_OWNER} FROM task WHERE id IN {_IDS} "
            "ORDER BY rowid",
            params,
        )
    if "search_task_ai" in suspended:
        conn.exec_driver_sql(
            f"DELETE FROM search_doc WHERE kind = 'task' AND ref_id IN {_IDS}", params
        )
        first = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM search_doc").scalar_one()
        conn.exec_driver_sql(
            "INSERT INTO search_doc (kind, ref_id, user_id, title, body) "
            f"SELECT 'task', id, user_id, title, description FROM task WHERE id IN {_IDS}",
            params,
        )
        if "search_doc_ai" in suspended:
            conn.exec_driver_sql(
                "INSERT INTO search_fts (rowid, title, body) "
                "SELECT id, title, body FROM search_doc WHERE id > ?",
                (first,),
            )
