"""Indexing many new tasks for search in one statement per index (SQLite import path).

Migration 0011 lets the per-row insert triggers of the full-text indexes stand aside
while `search_flag.bulk` is 1. `quiet_indexing` sets it inside the caller's write
transaction; the caller inserts its rows, then `index_new_tasks` indexes them all with
one INSERT … SELECT per index, and `loud_indexing` clears the flag before the commit.
SQLite has one writer at a time, so no other connection ever sees the flag set. On
PostgreSQL (GIN expression indexes, no triggers) every function here does nothing.
"""

from __future__ import annotations

import json

from sqlalchemy.engine import Connection

# The same text the triggers write (0008's task_fts owner column: user and open/done).
_OWNER = "'u' || hex(user_id) || ' s' || completed"
_IDS = "(SELECT value FROM json_each(?))"


def quiet_indexing(conn: Connection) -> bool:
    """Stop the per-row insert triggers for this transaction; True if they were (the
    caller must then call `index_new_tasks` and `loud_indexing` before committing)."""
    if conn.dialect.name != "sqlite" or not _has_flag(conn):
        return False
    conn.exec_driver_sql("UPDATE search_flag SET bulk = 1 WHERE id = 1")
    return True


def loud_indexing(conn: Connection) -> None:
    conn.exec_driver_sql("UPDATE search_flag SET bulk = 0 WHERE id = 1")


def index_new_tasks(conn: Connection, ids: list[str]) -> None:
    """Index tasks inserted while the triggers were quiet: exactly the rows the insert
    triggers would have written, in one statement per index."""
    if not ids:
        return
    params = (json.dumps(ids),)
    # In rowid order: FTS5 writes out its pending terms whenever a rowid is not above the
    # last one, and the ids' index order would do that for nearly every row (3.3x slower).
    conn.exec_driver_sql(
        "INSERT INTO task_fts (rowid, title, description, owner) "
        f"SELECT rowid, title, description, {_OWNER} FROM task WHERE id IN {_IDS} "
        "ORDER BY rowid",
        params,
    )
    conn.exec_driver_sql(f"DELETE FROM search_doc WHERE kind = 'task' AND ref_id IN {_IDS}", params)
    first = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM search_doc").scalar_one()
    conn.exec_driver_sql(
        "INSERT INTO search_doc (kind, ref_id, user_id, title, body) "
        f"SELECT 'task', id, user_id, title, description FROM task WHERE id IN {_IDS}",
        params,
    )
    conn.exec_driver_sql(
        "INSERT INTO search_fts (rowid, title, body) "
        "SELECT id, title, body FROM search_doc WHERE id > ?",
        (first,),
    )


def _has_flag(conn: Connection) -> bool:
    return (
        conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'search_flag'"
        ).first()
        is not None
    )
