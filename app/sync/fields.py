"""Which columns of which tables sync, and the outbox's special field names."""

from __future__ import annotations

from app.lists.models import LIST_DATA_COLUMNS
from app.tasks.models import TASK_DATA_COLUMNS

# Synced columns besides `id` and `user_id` (must match the sync triggers of migrations
# 0003_sync and 0008_lists).
SYNCED: dict[str, tuple[str, ...]] = {
    "chat_thread": ("title", "status", "metadata", "created_at", "updated_at"),
    "task": TASK_DATA_COLUMNS,
    "chat_item": ("thread_id", "type", "created_at", "seq", "data"),
    "task_list": LIST_DATA_COLUMNS,  # migration 0008_lists
}
# The outbox note (and clock entry) of a delete.
DELETED = "_deleted"
# An outbox note naming every synced field of a new row at once, written by bulk writers
# (an import of 100k tasks noted 19 fields each: 1.9M outbox rows, most of its time).
# app/sync/capture.py spreads it into one note per field before it stamps anything, so
# nothing downstream ever sees it.
ROW_NOTE = "*"
