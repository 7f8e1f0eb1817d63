"""Sync: time to carry N changed tasks (default 10,000) from one device to another through
a local PostgreSQL (push on A + pull on B), and the cost of a no-op sync round.

Starts its own throwaway PostgreSQL (Debian's postgresql, as in the test suite), or uses
TASKCHAT_BENCH_PG_URL (an empty database you own).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from app.config import Settings
from app.db import migrate
from app.db.engine import create_engine, create_sessionmaker
from app.sync.clock import HLC
from app.sync.service import SyncService
from app.tasks.models import Task, TaskTag
from benchmarks.report import Figure, print_table, time_async, write_json

USER = "bench-sync-user"


class Dev:
    def __init__(self, root: Path, name: str, url: str) -> None:
        self.engine = create_engine(Settings(data_dir=root / name, database_url=None))
        self.maker = create_sessionmaker(self.engine)
        self.sync = SyncService(
            engine=self.engine, url=url, user_id=USER, device_id=name, clock=HLC(name)
        )

    async def open(self) -> Dev:
        await migrate.upgrade(self.engine)
        await self.sync.open()
        return self

    async def close(self) -> None:
        await self.sync.stop()
        await self.engine.dispose()


async def fill(dev: Dev, n: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    async with dev.maker() as s:
        for i in range(n):
            tid = str(uuid.uuid4())
            s.add(
                Task(
                    id=tid,
                    user_id=USER,
                    title=f"task {i}",
                    description="some words " * 4,
                    tags=["work", "home"][: i % 3],
                    due_at=start + timedelta(days=i % 300) if i % 2 else None,
                    created_at=start + timedelta(seconds=i),
                    updated_at=start + timedelta(seconds=i),
                )
            )
            for tag in ["work", "home"][: i % 3]:
                s.add(TaskTag(task_id=tid, tag=tag, user_id=USER))
        await s.commit()


async def touch_all(dev: Dev, round_no: int) -> None:
    async with dev.maker() as s:
        await s.exec(  # type: ignore[call-overload]
            update(Task)
            .where(Task.user_id == USER)
            .values(title=Task.title + f" r{round_no}", updated_at=datetime.now(UTC))
        )
        await s.commit()


async def run(url: str, n: int, runs: int, noop_runs: int) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="taskchat-bench-sync-") as tmp:
        a = await Dev(Path(tmp), "device-a", url).open()
        b = await Dev(Path(tmp), "device-b", url).open()
        try:
            await fill(a, n)
            total, push, pull = [], [], []
            for r in range(runs):
                if r:
                    await touch_all(a, r)
                t0 = time.perf_counter()
                pushed = await a.sync.run_once()
                t1 = time.perf_counter()
                pulled = await b.sync.run_once()
                t2 = time.perf_counter()
                assert pushed.pushed == n and pulled.pulled == n, (pushed, pulled)
                push.append((t1 - t0) * 1000)
                pull.append((t2 - t1) * 1000)
                total.append((t2 - t0) * 1000)
            noop = await time_async(b.sync.run_once, runs=noop_runs)
        finally:
            await a.close()
            await b.close()
    label = f"{n:,} tasks"
    return [
        Figure("sync changed tasks A→B (push + pull)", total, target="<= 3000 ms", note=label),
        Figure("  push on A", push, note=label),
        Figure("  pull + apply on B", pull, note=label),
        Figure("no-op sync round", noop, note="nothing changed; connection kept open"),
    ]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="tiny run to check it works")
    args = parser.parse_args(argv)
    n, runs, noop_runs = (500, 2, 20) if args.quick else (args.tasks, args.runs, 300)
    server = None
    url = os.environ.get("TASKCHAT_BENCH_PG_URL")
    if not url:
        from tests import pg

        server = pg.start_postgres()
        if server is None:
            raise SystemExit("no PostgreSQL binaries found; set TASKCHAT_BENCH_PG_URL")
        url = server.url(server.create_database(prefix="bench"))
    try:
        figures = asyncio.run(run(url, n, runs, noop_runs))
    finally:
        if server is not None:
            from tests import pg

            pg.stop_postgres(server)
    print_table(f"Sync ({n:,} changed tasks, local PostgreSQL)", figures)
    if not args.quick:
        print(f"written {write_json('sync', figures, tasks=n, runs=runs)}")
    return {f.name.strip(): f.to_json() for f in figures}


if __name__ == "__main__":
    main()
