"""One tool call (or one confirmed card), one database transaction."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession


class ToolTransaction(AsyncSession):
    """A session all of whose writes commit together or not at all.

    The task service functions commit their own change; inside a tool call that commit
    only flushes, so the change, its task-message link and its undo record are one
    transaction, committed by finish(). Closing without finish() rolls everything back.
    Open one with the app's sessionmaker settings: `ToolTransaction(**sessionmaker.kw)`.
    """

    async def commit(self) -> None:
        await self.flush()

    async def finish(self) -> None:
        await super().commit()
