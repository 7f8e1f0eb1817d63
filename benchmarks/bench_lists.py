"""Lists at scale: 100k tasks in 200 lists; views, a long list, reorder and bulk move."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import insert

from app.config import Settings
from app.db import migrate
from app.db.engine import create_engine, create_sessionmaker
from app.lists import service as lists
from app.lists.models import TaskList, TaskMove, inbox_id
from app.lists.ordering import keys_after
from app.tasks import service
from app.tasks.models import Task, TaskQuery, TaskTag
from benchmarks.bench_tasks import USER, fake_rows
from benchmarks.report import Figure, print_table, time_async, write_json

CLOCK = {"clock": "wall"}


async def timed(fn, *, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    """Wall-clock samples (benchmarks/report.py), or with --clock cpu this process's CPU
    time per call: on a machine shared with other work, wall time measures the queue."""
    if CLOCK["clock"] == "wall":
        return await time_async(fn, runs=runs)
    for _ in range(3):
        await fn()
    samples = []
    for _ in range(runs):
        start = time.process_time()
        await fn()
        samples.append((time.process_time() - start) * 1000)
    return samples


N_LISTS = 200
BIG_LIST = 2_000  # tasks in the first list (the rest share the others)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def list_rows(n_lists: int) -> list[dict]:
    keys = keys_after("a0", n_lists - 1)
    rows = [
        {
            "id": inbox_id(USER),
            "user_id": USER,
            "name": "Inbox",
            "color": "#808080",
            "archived": False,
            "position": "a0",
            "created_at": NOW,
            "updated_at": NOW,
        }
    ]
    for i, key in enumerate(keys):
        rows.append(
            {
                "id": str(uuid.UUID(int=i + 1)),
                "user_id": USER,
                "name": f"List {i}",
                "color": "#3b82f6",
                "archived": False,
                "position": key,
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
    return rows


def place(tasks: list[dict], list_ids: list[str], seed: int = 11) -> None:
    """Spread the tasks over the lists (the first gets BIG_LIST), one in ten a step of the
    task before it, with order keys per (list, parent)."""
    rnd = random.Random(seed)
    mine = [t for t in tasks if t["user_id"] == USER]
    for t in tasks:
        t["list_id"], t["parent_id"] = inbox_id(t["user_id"]), None
    for i, t in enumerate(mine):
        t["list_id"] = list_ids[1] if i < BIG_LIST else rnd.choice(list_ids[2:])
    by_list: dict[str, list[dict]] = {}
    for t in mine:
        by_list.setdefault(t["list_id"], []).append(t)
    for members in by_list.values():
        for prev, t in itertools.pairwise(members):
            if prev["parent_id"] is None and rnd.random() < 0.1:
                t["parent_id"] = prev["id"]
    groups: dict[tuple, list[dict]] = {}
    for t in tasks:
        groups.setdefault((t["user_id"], t["list_id"], t["parent_id"]), []).append(t)
    for members in groups.values():
        for t, key in zip(members, keys_after(None, len(members)), strict=True):
            t["position"] = key


async def run(n: int, runs: int, n_lists: int) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=tmp)
        engine = create_engine(settings)
        await migrate.upgrade(engine)
        rows = fake_rows(n)
        lrows = list_rows(n_lists)
        list_ids = [r["id"] for r in lrows]
        place(rows, list_ids)
        async with engine.begin() as conn:
            await conn.execute(insert(TaskList), lrows)
            await conn.execute(
                insert(TaskList),
                [{**lrows[0], "id": inbox_id("someone-else"), "user_id": "someone-else"}],
            )
            for i in range(0, n, 5000):
                await conn.execute(insert(Task), rows[i : i + 5000])
            await conn.execute(
                insert(TaskTag),
                [
                    {"task_id": r["id"], "user_id": r["user_id"], "tag": t}
                    for r in rows
                    for t in r["tags"]
                ],
            )
            await conn.exec_driver_sql("ANALYZE")
        sessionmaker = create_sessionmaker(engine)
        big = list_ids[1]
        pages = {
            "Today (overdue + due today), first page": TaskQuery(view="today"),
            "Upcoming, first page": TaskQuery(view="upcoming"),
            f"list of {BIG_LIST:,} tasks, first page (open, top-level)": TaskQuery(
                list_id=big, parent_id="null", completed=False
            ),
            "tag + open, first page": TaskQuery(tag="groceries", completed=False),
            "text search + open, first page": TaskQuery(q="groceries", completed=False),
        }
        figures = []
        note = f"{n:,} tasks in {n_lists} lists" + (", CPU time" if CLOCK["clock"] == "cpu" else "")
        async with sessionmaker() as session:
            for name, query in pages.items():

                async def page(query=query):
                    return await service.list_tasks(
                        session=session, user_id=USER, query=query, now=NOW
                    )

                samples = await timed(page, runs=runs)
                figures.append(Figure(name=name, samples=samples, target="p95 <= 20 ms", note=note))

            first = await service.list_tasks(
                session=session,
                user_id=USER,
                query=TaskQuery(list_id=big, parent_id="null", limit=60),
            )
            ids = [t.id for t in first.items]
            rnd = random.Random(3)

            async def reorder():
                who, after = rnd.sample(ids, 2)
                await lists.move_task(
                    session=session, user_id=USER, task_id=who, data=TaskMove(after_id=after)
                )

            samples = await timed(reorder, runs=runs)
            figures.append(
                Figure(
                    name="reorder one task (one write, committed)",
                    samples=samples,
                    target="p95 <= 5 ms",
                    note=note,
                )
            )
            batches = []
            for target in list_ids[2:]:
                got = await service.list_tasks(
                    session=session,
                    user_id=USER,
                    query=TaskQuery(list_id=target, parent_id="null", limit=500),
                )
                batches.append(([t.id for t in got.items], target))
            cycle = iter(range(10**9))

            async def move500():
                k = next(cycle)
                batch, _ = batches[k % len(batches)]
                dest = list_ids[2 + (k + 1) % (len(list_ids) - 2)]
                await lists.move_tasks(session=session, user_id=USER, task_ids=batch, list_id=dest)

            # Each batch is the top of a list (a few hundred tasks, with their steps);
            # enough of them to move 500 in one call is gathered from two lists.
            merged = []
            for a, b in zip(batches[::2], batches[1::2], strict=False):
                merged.append(((a[0] + b[0])[:500], a[1]))
            batches = [m for m in merged if len(m[0]) == 500] or batches
            samples = await timed(move500, runs=max(5, runs // 10))
            figures.append(
                Figure(
                    name="move 500 tasks to another list (one call, committed)",
                    samples=samples,
                    target="p95 <= 200 ms",
                    note=note,
                )
            )
        await engine.dispose()
        return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--lists", type=int, default=N_LISTS)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="tiny run to check it works")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    args = parser.parse_args(argv)
    CLOCK["clock"] = args.clock
    n, runs, n_lists = (5_000, 10, 20) if args.quick else (args.tasks, args.runs, args.lists)
    figures = asyncio.run(run(n, runs, n_lists))
    print_table(f"Lists ({n:,} tasks in {n_lists} lists)", figures)
    if not args.quick:
        name = "lists" if args.clock == "wall" else "lists-cpu"
        print(f"written {write_json(name, figures, tasks=n, runs=runs)}")
    return {f.name: f.to_json() for f in figures}


if __name__ == "__main__":
    main()
