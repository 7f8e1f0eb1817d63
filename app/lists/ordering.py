"""Order keys (fractional indexing), the Inbox, and the invariants every task row keeps.

Siblings (tasks with the same list and parent, or lists of one person) are sorted by
`(position, id)`: `position` is a fractional-indexing key, so putting a row between two
others writes that one row and never renumbers the rest. Two devices may pick the same
key for different rows; the id then breaks the tie, so the order stays total.
"""

from __future__ import annotations

from collections.abc import Sequence

from fractional_indexing import generate_key_between, generate_n_keys_between
from sqlalchemy import event, func, insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper
from sqlmodel import select

from app.db.types import utcnow
from app.lists.models import INBOX_DEFAULTS, TaskList, inbox_id
from app.tasks.models import Task

_MEMO = "taskchat_order_keys"


def key_between(before: str | None, after: str | None) -> str:
    """A key sorting after `before` and before `after` (None: open end)."""
    before = before or None
    after = after or None
    if before is not None and after is not None and before >= after:
        # Equal keys (two devices chose the same one): land right after `before`.
        return generate_key_between(before, None) if before > after else before + "V"
    return generate_key_between(before, after)


def keys_after(last: str | None, n: int) -> list[str]:
    """`n` increasing keys after `last`: appending n rows writes n rows, nothing else."""
    return list(generate_n_keys_between(last or None, None, n)) if n else []


def _scope(user_id: str, list_id: str, parent_id: str | None):
    if parent_id is not None:
        return [Task.parent_id == parent_id, Task.user_id == user_id]
    return [
        Task.user_id == user_id,
        Task.list_id == list_id,
        Task.parent_id.is_(None),  # type: ignore[union-attr]
    ]


def last_key_stmt(user_id: str, list_id: str, parent_id: str | None, exclude: str | None = None):
    conditions = _scope(user_id, list_id, parent_id)
    if exclude is not None:
        conditions.append(Task.id != exclude)
    return select(func.max(Task.position)).where(*conditions)


def neighbour_stmt(
    user_id: str, list_id: str, parent_id: str | None, key: str, *, after: bool, exclude: str
):
    """The key right after (or right before) `key` among the siblings, itself left out."""
    conditions = [*_scope(user_id, list_id, parent_id), Task.id != exclude]
    if after:
        return select(func.min(Task.position)).where(*conditions, Task.position > key)
    return select(func.max(Task.position)).where(*conditions, Task.position < key)


def inbox_insert(conn: Connection, user_id: str):
    """INSERT of the person's Inbox that does nothing when it exists (either engine)."""
    now = utcnow()
    values = {
        "id": inbox_id(user_id),
        "user_id": user_id,
        **INBOX_DEFAULTS,
        "created_at": now,
        "updated_at": now,
    }
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return sqlite_insert(TaskList).values(**values).on_conflict_do_nothing()
    if dialect == "postgresql":
        # Here, not at the top: PostgreSQL's dialect (~15 ms) would load at every start.
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(TaskList).values(**values).on_conflict_do_nothing()
    return insert(TaskList).values(**values)  # pragma: no cover - only two engines


def ensure_inbox_sync(conn: Connection, user_id: str) -> str:
    conn.execute(inbox_insert(conn, user_id))
    return inbox_id(user_id)


@event.listens_for(Task, "before_insert")
def _task_defaults(mapper: Mapper, conn: Connection, target: Task) -> None:
    """Whatever code inserts a task (REST, chat, import, undo, other features) puts it in
    a list (the Inbox by default) and at the end of its siblings."""
    if not target.list_id:
        target.list_id = ensure_inbox_sync(conn, target.user_id)
    if not target.position:
        # One flush may insert many tasks before any is in the table (an import): remember
        # the keys handed out in this transaction so each goes after the one before.
        tx = conn.get_transaction()
        memo: tuple[object, dict[tuple[str, str, str | None], str]] | None = conn.info.get(_MEMO)
        if memo is None or memo[0] is not tx:
            memo = conn.info[_MEMO] = (tx, {})
        scope: tuple[str, str, str | None] = (target.user_id, target.list_id, target.parent_id)
        last = memo[1].get(scope)
        if last is None:
            last = conn.execute(last_key_stmt(*scope)).scalar()
        target.position = memo[1][scope] = key_between(last, None)


# ------------------------------------------------------------------- repair after sync


def repair(conn: Connection, user_id: str) -> int:
    """Restore the invariants after rows arrived from another device (plain SQL, SQLite).

    A list deleted there while a task was moved into it here: the task goes to the Inbox.
    A parent deleted there: its steps become top-level. A task made a step of a step (two
    devices nesting crosswise): top-level. A step in another list than its parent: it
    follows the parent. A row from a device that did not know order keys: placed last.
    Runs with the sync triggers on, so the fixes are pushed like any local edit.
    """
    inbox = ensure_inbox_sync(conn, user_id)
    now = utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")
    changed = 0
    changed += conn.exec_driver_sql(
        "UPDATE task SET list_id = ?, updated_at = ? WHERE user_id = ? AND (list_id IS NULL "
        "OR list_id NOT IN (SELECT id FROM task_list WHERE user_id = ?))",
        (inbox, now, user_id, user_id),
    ).rowcount
    changed += conn.exec_driver_sql(
        "UPDATE task SET parent_id = NULL, updated_at = ? WHERE user_id = ? "
        "AND parent_id IS NOT NULL AND parent_id NOT IN ("
        "SELECT id FROM task WHERE user_id = ? AND parent_id IS NULL)",
        (now, user_id, user_id),
    ).rowcount
    changed += conn.exec_driver_sql(
        "UPDATE task SET list_id = (SELECT p.list_id FROM task p WHERE p.id = task.parent_id), "
        "updated_at = ? WHERE user_id = ? AND parent_id IS NOT NULL AND list_id IS NOT "
        "(SELECT p.list_id FROM task p WHERE p.id = task.parent_id)",
        (now, user_id),
    ).rowcount
    unplaced = conn.exec_driver_sql(
        "SELECT id, list_id, parent_id FROM task WHERE user_id = ? AND position = '' "
        "ORDER BY created_at, id",
        (user_id,),
    ).all()
    for task_id, list_id, parent_id in unplaced:
        last = conn.execute(last_key_stmt(user_id, list_id, parent_id)).scalar()
        conn.exec_driver_sql(
            "UPDATE task SET position = ? WHERE id = ?", (key_between(last, None), task_id)
        )
        changed += 1
    return changed


def sorted_ids(rows: Sequence[tuple[str, str]]) -> list[str]:
    """Ids of (id, position) rows in sibling order."""
    return [i for i, _ in sorted(rows, key=lambda r: (r[1], r[0]))]
