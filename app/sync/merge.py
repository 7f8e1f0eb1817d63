"""Field-level last-writer-wins with tombstones.

A row state is {"f": {field: [value, hlc, device]}, "d": [hlc, device] | None}.
Every field keeps the write with the highest (hlc, device); the tombstone keeps the highest
delete. A row is deleted while its tombstone is newer than all of its field writes, so a
later write (an undo putting a task back with its old id) revives it. The merge is
commutative, associative and idempotent, so pushes may be retried, duplicated and
reordered freely.

What "the later edit wins" means: later is the higher (hlc, device) stamp, i.e. wall-clock
order where device clocks agree, causal order where they do not (a device that has seen an
edit always stamps its own next edit after it). Every edit that names a field counts, even
one that sets the value the device already shows (app/tasks/service.py records it). Fields
that mean one thing together (GROUPS) win or lose as one. A delete wins over edits stamped
before it; an edit stamped after it brings the row back, with each field's latest write
(the deleting device pushes the row's last values with its tombstone).
"""

from __future__ import annotations

from typing import Any

Stamp = tuple[str, str]
Row = dict[str, Any]

# Fields that mean one thing together: written together (app/sync/capture.py stamps the
# whole group whenever one of them changes) and merged as one, by the group's newest
# stamp. Merged one by one, B's "no due date" and A's later "all day on 2027-02-01"
# gave everyone 2027-02-01T00:00Z, a value nobody wrote.
GROUPS: dict[str, tuple[tuple[str, ...], ...]] = {
    "task": (("due_at", "due_all_day"), ("completed", "completed_at")),
}
_GROUP_OF: dict[tuple[str, str], tuple[str, ...]] = {
    (entity, name): group for entity, groups in GROUPS.items() for group in groups for name in group
}


def group_of(entity: str, name: str) -> tuple[str, ...]:
    return _GROUP_OF.get((entity, name), (name,))


def newer(a: Stamp | list[str], b: Stamp | list[str] | None) -> bool:
    return b is None or (a[0], a[1]) > (b[0], b[1])


def _group_stamp(fields: dict[str, Any], group: tuple[str, ...]) -> Stamp | None:
    return max(((fields[g][1], fields[g][2]) for g in group if g in fields), default=None)


def merge_rows(current: Row | None, incoming: Row, entity: str = "") -> tuple[Row, bool]:
    """(merged state, whether it differs from `current`)."""
    if current is None:
        return {"f": dict(incoming.get("f") or {}), "d": incoming.get("d")}, True
    changed = False
    have_fields = current.get("f") or {}
    fields = dict(have_fields)
    theirs = incoming.get("f") or {}
    for name, write in theirs.items():
        group = group_of(entity, name)
        if len(group) > 1:
            win = newer(_group_stamp(theirs, group), _group_stamp(have_fields, group))  # type: ignore[arg-type]
        else:
            have = have_fields.get(name)
            win = have is None or newer((write[1], write[2]), (have[1], have[2]))
        if win and fields.get(name) != write:
            fields[name] = write
            changed = True
    deleted = current.get("d")
    tomb = incoming.get("d")
    if tomb and newer(tomb, deleted):
        deleted = tomb
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
