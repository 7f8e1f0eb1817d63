"""Unified search at scale: 10,000 threads / 100,000 messages (+ 10,000 tasks), one user.

Times `app.search.service.search` (limit 20, what GET /api/search runs) for common,
medium and rare words, two-word and short-prefix queries, and a query that matches
nothing. Message text is drawn from a Zipf-like vocabulary, so common words really match
tens of thousands of messages. Target: p95 <= 50 ms for every query kind.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from app.chat.models import ChatItem, ChatThread
from app.config import Settings
from app.db import migrate
from app.db.engine import create_engine, create_sessionmaker
from app.search.service import search
from app.tasks.models import Task
from benchmarks.report import Figure, print_table, time_async, write_json

USER = "bench-user"
REAL = (
    "buy milk bread eggs call mum dad dentist renew passport pay rent invoice taxes "
    "book flight hotel fix bike clean kitchen garage email boss report slides review "
    "budget plan trip water plants gym run groceries laundry meeting project deadline "
    "tomorrow friday monday week please remind add task done thanks ferry museum"
).split()
SYLLABLES = "ka lo mi ne ru sa ti vo be da fe gi ho ju ly ma no pe qu re so tu wa xe yo zu".split()


def vocabulary(rnd: random.Random, size: int = 3000) -> list[str]:
    words = list(REAL)
    while len(words) < size:
        w = "".join(rnd.choice(SYLLABLES) for _ in range(rnd.randint(2, 4)))
        if w not in words:
            words.append(w)
    return words


def sentence(rnd: random.Random, vocab: list[str], weights: list[float], n: int) -> str:
    return " ".join(rnd.choices(vocab, weights=weights, k=n)).capitalize() + "."


def build_rows(threads: int, per_thread: int, tasks: int, seed: int = 9):
    rnd = random.Random(seed)
    vocab = vocabulary(rnd)
    # Zipf-like: the i-th word is ~1/(i+1) as frequent.
    weights = [1 / (i + 1) for i in range(len(vocab))]
    rnd.shuffle(weights[: len(REAL)])  # real words spread over the frequent ranks
    start = datetime(2026, 1, 1, tzinfo=UTC)
    thread_rows, item_rows, task_rows = [], [], []
    for t in range(threads):
        tid = f"thr_{t:08d}"
        created = start + timedelta(minutes=t)
        thread_rows.append(
            {
                "id": tid,
                "user_id": USER,
                "title": sentence(rnd, vocab, weights, rnd.randint(2, 6)),
                "status": {"type": "active"},
                "metadata": {},
                "created_at": created,
                "updated_at": created,
            }
        )
        for k in range(per_thread):
            kind = "user_message" if k % 2 == 0 else "assistant_message"
            text = sentence(rnd, vocab, weights, rnd.randint(6, 40))
            part = {"type": "input_text" if k % 2 == 0 else "output_text", "text": text}
            item_rows.append(
                {
                    "id": f"msg_{t:08d}_{k:03d}",
                    "thread_id": tid,
                    "user_id": USER,
                    "type": kind,
                    "created_at": created + timedelta(seconds=k),
                    "seq": k + 1,
                    "data": {"type": kind, "thread_id": tid, "content": [part]},
                }
            )
    for i in range(tasks):
        created = start + timedelta(minutes=i)
        task_rows.append(
            {
                "id": f"task-{i:08d}",
                "user_id": USER,
                "title": sentence(rnd, vocab, weights, rnd.randint(2, 6)),
                "description": sentence(rnd, vocab, weights, rnd.randint(0, 12)),
                "priority": "none",
                "completed": False,
                "due_all_day": False,
                "tags": [],
                "created_at": created,
                "updated_at": created,
            }
        )
    return thread_rows, item_rows, task_rows, vocab


async def run(
    threads: int, per_thread: int, tasks: int, runs: int, database_url: str | None = None
) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=tmp, database_url=database_url or None)
        engine = create_engine(settings)
        sqlite = engine.dialect.name == "sqlite"
        await migrate.upgrade(engine)
        thread_rows, item_rows, task_rows, vocab = build_rows(threads, per_thread, tasks)
        began = time.perf_counter()
        async with engine.begin() as conn:
            for i in range(0, len(thread_rows), 5000):
                await conn.execute(insert(ChatThread), thread_rows[i : i + 5000])
            for i in range(0, len(item_rows), 5000):
                await conn.execute(insert(ChatItem), item_rows[i : i + 5000])
            for i in range(0, len(task_rows), 5000):
                await conn.execute(insert(Task), task_rows[i : i + 5000])
        fill_s = time.perf_counter() - began
        async with engine.begin() as conn:
            if sqlite:
                await conn.exec_driver_sql("INSERT INTO search_fts(search_fts) VALUES ('optimize')")
            await conn.exec_driver_sql("ANALYZE")
        sessionmaker = create_sessionmaker(engine)
        common, medium, rare = vocab[0], vocab[len(REAL) + 40], vocab[-1]
        queries = {
            f"common word ({common})": common,
            f"medium word ({medium})": medium,
            f"rare word ({rare})": rare,
            "two words (passport ferry)": "passport ferry",
            "two-letter prefix (ka)": "ka",
            "three words, prefixes (rem bud mee)": "rem bud mee",
            "no match": "zzzqqq",
        }
        figures = []
        async with sessionmaker() as session:
            for name, q in queries.items():
                hits = len((await search(session=session, user_id=USER, q=q, limit=20)).results)

                async def once(q=q):
                    return await search(session=session, user_id=USER, q=q, limit=20)

                samples = await time_async(once, runs=runs)
                figures.append(
                    Figure(
                        name=name,
                        samples=samples,
                        target="p95 <= 50 ms",
                        note=f"{hits} shown",
                    )
                )
        await engine.dispose()
        figures.append(
            Figure(
                name="fill incl. triggers (threads + items + tasks)",
                samples=[fill_s],
                unit="s",
                note=f"{len(item_rows):,} items",
            )
        )
        return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--items-per-thread", type=int, default=10)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="tiny run to check it works")
    parser.add_argument(
        "--database-url", help="an empty, migratable postgresql:// database (default: SQLite)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        threads, per, tasks, runs = 200, 10, 200, 5
    else:
        threads, per, tasks, runs = args.threads, args.items_per_thread, args.tasks, args.runs
    figures = asyncio.run(run(threads, per, tasks, runs, args.database_url))
    engine_name = "PostgreSQL" if args.database_url else "SQLite"
    print_table(
        f"Search, {engine_name} ({threads:,} threads, {threads * per:,} items, {tasks:,} tasks)",
        figures,
    )
    if not args.quick:
        path = write_json(
            "search-postgres" if args.database_url else "search",
            figures,
            engine=engine_name,
            threads=threads,
            items=threads * per,
            tasks=tasks,
            runs=runs,
        )
        print(f"written {path}")
    return {f.name: f.to_json() for f in figures}


if __name__ == "__main__":
    main()
