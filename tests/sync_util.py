"""Helpers for sync tests: a "device" is its own SQLite data folder, engine, clock and
sync service, all in this process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text

from app.config import Settings
from app.db import migrate
from app.db.engine import create_engine, create_sessionmaker
from app.sync.clock import HLC, wall_ms
from app.sync.service import SyncService
from app.tasks import service as tasks
from app.tasks.models import TASK_DATA_COLUMNS, TaskCreate, TaskUpdate

TASK_FIELDS = TASK_DATA_COLUMNS


class Device:
    def __init__(
        self,
        root: Path,
        name: str,
        user_id: str,
        url: str,
        *,
        wall: Callable[[], int] = wall_ms,
        **service_kwargs: Any,
    ) -> None:
        self.name = name
        self.user_id = user_id
        self.url = url
        self.settings = Settings(data_dir=root / name, database_url=None)
        self.engine = create_engine(self.settings)
        self.sessionmaker = create_sessionmaker(self.engine)
        self.clock = HLC(name, wall=wall)
        self.service_kwargs = service_kwargs
        self.sync: SyncService | None = None

    async def open(self) -> Device:
        await migrate.upgrade(self.engine)
        self.sync = self.new_service()
        await self.sync.open()
        return self

    def new_service(self, url: str | None = None) -> SyncService:
        return SyncService(
            engine=self.engine,
            url=url or self.url,
            user_id=self.user_id,
            device_id=self.name,
            clock=self.clock,
            **self.service_kwargs,
        )

    async def restart_sync(self, url: str | None = None) -> None:
        """Like a process restart: drop the service (and its connection) for a new one."""
        if self.sync is not None:
            await self.sync.stop()
        self.sync = self.new_service(url)
        await self.sync.open()

    async def close(self) -> None:
        if self.sync is not None:
            await self.sync.stop()
        await self.engine.dispose()

    async def run(self):  # type: ignore[no-untyped-def]
        assert self.sync is not None
        return await self.sync.run_once()

    # -- task operations through the real service ----------------------------------
    async def create(self, **fields: Any):  # type: ignore[no-untyped-def]
        async with self.sessionmaker() as s:
            return await tasks.create_task(
                session=s, user_id=self.user_id, data=TaskCreate(**fields)
            )

    async def update(self, task_id: str, **fields: Any):  # type: ignore[no-untyped-def]
        async with self.sessionmaker() as s:
            return await tasks.update_task(
                session=s, user_id=self.user_id, task_id=task_id, data=TaskUpdate(**fields)
            )

    async def delete(self, task_id: str):  # type: ignore[no-untyped-def]
        async with self.sessionmaker() as s:
            return await tasks.delete_task(session=s, user_id=self.user_id, task_id=task_id)

    async def tasks(self) -> dict[str, dict[str, Any]]:
        cols = ", ".join(TASK_FIELDS)
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(f"SELECT id, {cols} FROM task WHERE user_id = :u"), {"u": self.user_id}
                )
            ).all()
        return {r[0]: dict(zip(TASK_FIELDS, r[1:], strict=True)) for r in rows}

    async def table(self, name: str, fields: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        cols = ", ".join(f'"{f}"' for f in fields)
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(f"SELECT id, {cols} FROM {name} WHERE user_id = :u"),
                    {"u": self.user_id},
                )
            ).all()
        return {r[0]: dict(zip(fields, r[1:], strict=True)) for r in rows}


@asynccontextmanager
async def device_maker(
    tmp_path: Path, url: str, user: str
) -> AsyncIterator[Callable[[str], Awaitable[Device]]]:
    """Opens devices of `user` (each its own data folder) on demand; closes them all after."""
    made: list[Device] = []

    async def make(name: str) -> Device:
        d = await Device(tmp_path, name, user, url).open()
        made.append(d)
        return d

    try:
        yield make
    finally:
        for d in made:
            await d.close()
