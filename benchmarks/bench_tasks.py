"""Task store at scale: fill N tasks (default 100,000), time filtered pages and text search."""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from app.config import Settings
from app.db import migrate
from app.db.engine import create_engine, create_sessionmaker
from app.tasks import service
from app.tasks.models import Task, TaskQuery, TaskTag
from benchmarks.report import Figure, print_table, time_async, write_json

WORDS = (
    "buy milk bread eggs call mum dad dentist renew passport pay rent invoice taxes "
    "book flight hotel fix bike clean kitchen garage email boss report slides review "
    "budget plan trip water plants gym run groceries laundry"
).split()
TAGS = ["work", "home", "groceries", "admin", "health", "money", "travel", "errands"]
USER = "bench-user"


def fake_rows(n: int, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(n):
        created = start + timedelta(seconds=i * 30)
        due = start + timedelta(days=rnd.randint(0, 400)) if rnd.random() < 0.6 else None
        done = rnd.random() < 0.5
        rows.append(
            {
                "id": str(uuid.UUID(int=rnd.getrandbits(128))),
                "user_id": USER if i % 10 else "someone-else",
                "title": " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(2, 6))) + f" {i}",
                "description": " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(0, 15))),
                "priority": rnd.choice(["none", "low", "medium", "high"]),
                "completed": done,
                "completed_at": created if done else None,
                "due_at": due,
                "due_all_day": due is not None,
                "tags": rnd.sample(TAGS, rnd.randint(0, 3)),
                "created_at": created,
                "updated_at": created,
            }
        )
    return rows


async def run(n: int, runs: int) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=tmp)
        engine = create_engine(settings)
        await migrate.upgrade(engine)
        rows = fake_rows(n)
        async with engine.begin() as conn:
            for i in range(0, n, 5000):
                await conn.execute(insert(Task), rows[i : i + 5000])
            tag_rows = [
                {"task_id": r["id"], "user_id": r["user_id"], "tag": t}
                for r in rows
                for t in r["tags"]
            ]
            await conn.execute(insert(TaskTag), tag_rows)
        sessionmaker = create_sessionmaker(engine)
        queries = {
            "page of 50: open tasks (smart sort)": TaskQuery(completed=False),
            "page of 50: open + high priority": TaskQuery(completed=False, priority="high"),
            "page of 50: tag filter": TaskQuery(tag="groceries"),
            "page of 50: tag + open": TaskQuery(tag="groceries", completed=False),
            "page of 50: due this month": TaskQuery(
                due_after="2026-03-01", due_before="2026-04-01", sort="due"
            ),
            "text search: 1 word": TaskQuery(q="passport"),
            "text search: 2 word prefixes": TaskQuery(q="ren pass"),
            "text search + open filter": TaskQuery(q="groceries", completed=False),
        }
        figures = []
        async with sessionmaker() as session:
            for name, query in queries.items():

                async def once(query=query):
                    return await service.list_tasks(session=session, user_id=USER, query=query)

                samples = await time_async(once, runs=runs)
                figures.append(
                    Figure(name=name, samples=samples, target="p95 <= 20 ms", note=f"{n:,} tasks")
                )
        await engine.dispose()
        return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="tiny run to check it works")
    args = parser.parse_args(argv)
    n, runs = (2_000, 10) if args.quick else (args.tasks, args.runs)
    figures = asyncio.run(run(n, runs))
    print_table(f"Task store ({n:,} tasks)", figures)
    if not args.quick:  # a quick run must not overwrite the real figures
        print(f"written {write_json('tasks', figures, tasks=n, runs=runs)}")
    return {f.name: f.to_json() for f in figures}


if __name__ == "__main__":
    main()
