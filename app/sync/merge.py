"""Field-level last-writer-wins with tombstones.

A row state is {"f": {field: [value, hlc, device]}, "d": [hlc, device] | None}.
Every field keeps the write with the highest (hlc, device); the tombstone keeps the highest
delete. A row is deleted while its tombstone is newer than all of its field writes, so a
later write (an undo putting a task back with its old id) revives it. The merge is
commutative, associative and idempotent, so pushes may be retried, duplicated and
reordered freely.
"""

from __future__ import annotations

from typing import Any

Stamp = tuple[str, str]
Row = dict[str, Any]


def newer(a: Stamp | list[str], b: Stamp | list[str] | None) -> bool:
    return b is None or (a[0], a[1]) > (b[0], b[1])


def merge_rows(current: Row | None, incoming: Row) -> tuple[Row, bool]:
    """(merged state, whether it differs from `current`)."""
    if current is None:
        return {"f": dict(incoming.get("f") or {}), "d": incoming.get("d")}, True
    changed = False
    fields = dict(current.get("f") or {})
    for name, write in (incoming.get("f") or {}).items():
        have = fields.get(name)
        if have is None or newer((write[1], write[2]), (have[1], have[2])):
            fields[name] = write
            changed = True
    deleted = current.get("d")
    theirs = incoming.get("d")
    if theirs and newer(theirs, deleted):
        deleted = theirs
        changed = True
    return {"f": fields, "d": deleted}, changed


def top_stamp(row: Row) -> Stamp:
    """The row's highest (hlc, device): its last change and the device that made it."""
    best: Stamp = ("", "")
    for write in (row.get("f") or {}).values():
        best = max(best, (write[1], write[2]))
    if row.get("d"):
        best = max(best, (row["d"][0], row["d"][1]))
    return best
