"""Running a database transaction to its end even when its caller is cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def run_to_end(transaction: Coroutine[Any, Any, T]) -> T:
    """Await `transaction` in a task of its own; a cancellation waits for it, then raises.

    Cancelled in the middle of an aiosqlite call, SQLAlchemy drops the connection without
    closing it, and its open write transaction then holds SQLite's lock for good: every
    later write fails with "database is locked". Here the cancellation never reaches the
    transaction, and is passed on only once it has committed or rolled back, so whoever
    awaits the cancelled caller (a shutdown, the engine's disposal) finds it finished.
    `asyncio.shield` alone would raise at once and leave the transaction running.
    """
    task = asyncio.ensure_future(transaction)
    cancelled: asyncio.CancelledError | None = None
    while not task.done():
        try:
            await asyncio.wait([task])  # unlike shield(), waits on when cancelled
        except asyncio.CancelledError as exc:
            cancelled = exc
    if cancelled is not None:
        if not task.cancelled():
            task.exception()  # retrieved: the cancellation is what the caller gets
        raise cancelled
    return task.result()
