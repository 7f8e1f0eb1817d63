"""Many tasks written at once on SQLite (an import, a sync): their triggers set aside.

Every trigger that fires AFTER INSERT or UPDATE on `task` (the two full-text indexes' and
sync's, however quiet their WHEN makes them) makes SQLite keep a statement journal for
each row it writes: every page the row touches in the task table's ten indexes is copied
to a temporary file in case that one row must be undone, ~3 s of system time per 100k
tasks. So a big batch drops those triggers inside its own write transaction, writes, and
indexes the batch with one INSERT … SELECT per index, then creates the triggers again
from their own stored SQL before it commits. DDL is transactional in SQLite and there is
one writer at a time: no other connection ever sees them missing, and a failed batch
rolls back with them in place (a caller must roll back when a batch fails: its indexes
are half done). Two batches:

* new tasks (the importer, a device's first sync): `suspend_insert_triggers`, insert,
  `index_new_tasks`, `restore_triggers`;
* changed tasks (sync applying pulled edits): `suspend_triggers(conn,
  TASK_UPDATE_TRIGGERS)`, `unindex_tasks` (their old text, which the contentless task_fts
  needs to forget them), update, `reindex_tasks`, `restore_triggers`.

Sync's triggers are left to their owner's bookkeeping: the importer notes its new rows
itself (app/sync/capture.note_new_rows); an applied pull notes nothing (its triggers are
quiet while sync_flag.applying is set). On PostgreSQL (GIN expression indexes, no
triggers) nothing here does anything.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy.engine import Connection

# task → task_fts (0001/0008), task → search_doc and search_doc → search_fts (0004),
# task → sync_outbox (0003/0008; quiet during an import anyway).
TASK_INSERT_TRIGGERS = ("task_fts_ai", "search_task_ai", "search_doc_ai", "sync_task_ai")
# The same for updates; sync's is quiet while sync applies pulled rows.
TASK_UPDATE_TRIGGERS = ("task_fts_au", "search_task_au", "search_doc_au", "sync_task_au")
# The columns an index holds (task_fts_au fires on these, search_task_au on the first
# three): an update of other columns only leaves sync's note, so it needs none of this.
TASK_INDEXED_COLUMNS = frozenset({"title", "description", "user_id", "completed"})
# The same text the trigger writes (0008's task_fts owner column: user and open/done).
_OWNER = "'u' || hex(user_id) || ' s' || completed"
_IDS = "(SELECT value FROM json_each(?))"


def suspend_triggers(conn: Connection, names: Iterable[str]) -> dict[str, str]:
    """Drop triggers `names` (those that exist) for this transaction; returns {name: its
    CREATE statement} for the index functions below and `restore_triggers`."""
    if conn.dialect.name != "sqlite":
        return {}
    names = tuple(names)
    marks = ", ".join("?" for _ in names)
    saved = {
        name: sql
        for name, sql in conn.exec_driver_sql(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN ({marks})",
            names,
        ).all()
    }
    for name in saved:
        conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    return saved


def suspend_insert_triggers(conn: Connection) -> dict[str, str]:
    """Drop the insert triggers of `task` (and of `search_doc`) for this transaction."""
    return suspend_triggers(conn, TASK_INSERT_TRIGGERS)


def restore_triggers(conn: Connection, saved: dict[str, str]) -> None:
    for sql in saved.values():
        conn.exec_driver_sql(sql)


def _index_task_fts(conn: Connection, params: tuple[str]) -> None:
    # In rowid order: FTS5 writes out its pending terms whenever a rowid is not above the
    # last one, and the ids' index order would do that for nearly every row.
    conn.exec_driver_sql(
        "INSERT INTO task_fts (rowid, title, description, owner) "
        f"SELECT rowid, title, description, {_OWNER} FROM task WHERE id IN {_IDS} "
        "ORDER BY rowid",
        params,
    )


def index_new_tasks(conn: Connection, ids: list[str], suspended: dict[str, str]) -> None:
    """Index tasks inserted while the triggers in `suspended` were away: exactly the rows
    those triggers would have written, in one statement per index."""
    if not ids:
        return
    params = (json.dumps(ids),)
    if "task_fts_ai" in suspended:
        _index_task_fts(conn, params)
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


def unindex_tasks(conn: Connection, ids: list[str], suspended: dict[str, str]) -> None:
    """Before tasks `ids` are updated with the triggers in `suspended` away: take their
    current text out of the full-text indexes, as the first half of those triggers does
    (the contentless task_fts forgets a row only when told its old values)."""
    if not ids:
        return
    params = (json.dumps(ids),)
    if "task_fts_au" in suspended:
        conn.exec_driver_sql(
            "INSERT INTO task_fts (task_fts, rowid, title, description, owner) "
            f"SELECT 'delete', rowid, title, description, {_OWNER} FROM task "
            f"WHERE id IN {_IDS} ORDER BY rowid",
            params,
        )
    if "search_task_au" in suspended and "search_doc_au" in suspended:
        conn.exec_driver_sql(
            "INSERT INTO search_fts (search_fts, rowid, title, body) "
            "SELECT 'delete', id, title, body FROM search_doc "
            f"WHERE kind = 'task' AND ref_id IN {_IDS} ORDER BY id",
            params,
        )


def reindex_tasks(conn: Connection, ids: list[str], suspended: dict[str, str]) -> None:
    """After tasks `ids` were updated with the triggers in `suspended` away (and
    `unindex_tasks` before): index their new text, as the second half of those triggers
    does, in one statement per index."""
    if not ids:
        return
    params = (json.dumps(ids),)
    if "task_fts_au" in suspended:
        _index_task_fts(conn, params)
    if "search_task_au" in suspended:
        conn.exec_driver_sql(
            "UPDATE search_doc SET title = t.title, body = t.description, user_id = t.user_id "
            f"FROM task AS t WHERE t.id IN {_IDS} AND search_doc.kind = 'task' "
            "AND search_doc.ref_id = t.id",
            params,
        )
        if "search_doc_au" in suspended:
            conn.exec_driver_sql(
                "INSERT INTO search_fts (rowid, title, body) SELECT id, title, body "
                f"FROM search_doc WHERE kind = 'task' AND ref_id IN {_IDS} ORDER BY id",
                params,
            )
